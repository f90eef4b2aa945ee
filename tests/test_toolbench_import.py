"""Conformance with the α-UMi release: stage 1 → stage 2 → per-role samples, byte for byte, on the shared example.

Where the released scripts are defective (stage 1 keeps only 20 trajectories; backbone give-up samples reuse the
previous step's input) the tests assert our behaviour and that the release indeed shows the defect.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path

import pytest

from umi_edge.errors import UserError
from umi_edge.formats import build_input, load_trajectories, render_doc, role_samples, serialize_history, tool_names
from umi_edge.formats.parse import parse_plan
from umi_edge.formats.toolbench import import_records, read_input, stage1_to_stage2
from umi_edge.formats.trajectory import read_records

pytestmark = pytest.mark.shared
ROLES = ("backbone", "planner", "caller", "summarizer")


def _load(path: Path):
    return json.loads(path.read_text(encoding="utf-8"))


@functools.cache
def _import(d: Path):
    trajs, kind = import_records(read_input(d / "raw_data_stage_1.json"))
    samples = {r: [] for r in ROLES}
    for t in trajs:
        for role, recs in role_samples(t).items():
            samples[role].extend(recs)
    return d, trajs, kind, samples


@pytest.fixture
def imported(train_example: Path):
    """The shared stage-1 example imported once per session: (dir, trajectories, kind, samples by role)."""
    return _import(train_example)


def test_stage1_to_stage2_equals_released(imported) -> None:
    d, trajs, kind, _ = imported
    assert kind == "stage1"
    released = _load(d / "raw_data_stage_2.json")
    assert len(trajs) == len(released) == 20
    for i, (ours, theirs) in enumerate(zip(trajs, released, strict=True)):
        assert ours.to_dict() == theirs, f"trajectory {i} differs"


def _give_up_indices(released: list[dict]) -> list[int]:
    return [i for i, r in enumerate(released) if r["target"].endswith("\nconclusion: give up.")]


@pytest.mark.parametrize("role", ROLES)
def test_per_role_records_equal_released(imported, role: str) -> None:
    d, _, _, samples = imported
    released = _load(d / f"train_{role}.json")
    ours = samples[role]
    assert len(ours) == len(released)
    defects = set(_give_up_indices(released)) if role == "backbone" else set()
    for i, (a, b) in enumerate(zip(ours, released, strict=True)):
        assert a["target"] == b["target"], f"{role}[{i}] target"
        assert a["history"] == b["history"] and a["tools"] == b["tools"], f"{role}[{i}] history/tools"
        if i in defects:
            assert a["input"] != b["input"], f"{role}[{i}]: expected the released give-up defect"
        else:
            assert a["input"] == b["input"], f"{role}[{i}] input"


def test_backbone_give_up_defect_and_our_fix(imported) -> None:
    """The release gives a give-up step the previous step's input; ours is built from the give-up step's history."""
    d, _, _, samples = imported
    released = _load(d / "train_backbone.json")
    give_ups = _give_up_indices(released)
    assert len(give_ups) == 6
    for i in give_ups:
        assert released[i]["input"] == released[i - 1]["input"]  # the defect, as released
        ours = samples["backbone"][i]
        assert ours["input"] != samples["backbone"][i - 1]["input"]
        # Ours: the backbone history up to this step, with planner + caller turns merged as the backbone sees them.
        turns, merged = ours["history"], []
        for j, u in enumerate(turns):
            if u["from"] in ("user", "observation"):
                merged.append(u)
            elif u["from"] == "assistant":
                thought = u["value"].replace("Next: caller.", "").strip()
                nxt = turns[j + 1]["value"] if j + 1 < len(turns) else ""
                merged.append({"from": "assistant", "value": thought + "\n" + nxt})
        tools = ours["tools"]
        expected = build_input(
            "backbone", doc=render_doc(tools), history=serialize_history(merged), tool_names=tool_names(tools)
        )
        assert ours["input"] == expected
        # The last observation before giving up is in our prompt, not in the released one.
        last_obs = [u["value"] for u in turns if u["from"] == "observation"][-1]
        assert "observation: " + last_obs in ours["input"]


def test_stage1_keeps_every_trajectory(imported, tmp_path: Path) -> None:
    """The released stage-1 script writes data[:20]; we convert all records."""
    d, _, _, _ = imported
    stage1 = _load(d / "raw_data_stage_1.json")
    big = stage1 + stage1[:7]
    f = tmp_path / "stage1.json"
    f.write_text(json.dumps(big), encoding="utf-8")
    trajs, _ = import_records(read_input(f))
    assert len(trajs) == 27
    assert trajs[25].to_dict() == trajs[5].to_dict()


def test_stage2_input_is_accepted_as_is(imported) -> None:
    d, trajs, _, _ = imported
    again, kind = import_records(read_input(d / "raw_data_stage_2.json"))
    assert kind == "stage2"
    assert [t.to_dict() for t in again] == [t.to_dict() for t in trajs]


def test_planner_targets_parse_to_their_labels(imported) -> None:
    _, trajs, _, samples = imported
    labels = [parse_plan(r["target"]).label for r in samples["planner"]]
    assert labels.count("call") == 59 and labels.count("finish") == 14 and labels.count("give_up") == 6
    for r in samples["planner"]:
        assert parse_plan(r["target"]).text == r["target"]  # cut after the marker = the whole target


def test_raw_toolbench_answer_file(tmp_path: Path) -> None:
    """A raw ToolBench answer file is converted through stage 1 with the released cuts, Finish left out."""
    raw = {
        "answer_generation": {
            "query": "What is the weather?",
            "function": [
                {
                    "name": "x" * 70,
                    "description": "d" * 300,
                    "parameters": {"properties": {"city": {"type": "string", "description": "c" * 300}}},
                },
                {"name": "Finish", "description": "end", "parameters": {"properties": {}}},
            ],
            "train_messages": [
                [
                    {"role": "system", "content": "sys"},
                    {"role": "user", "content": "What is the weather?"},
                    {
                        "role": "assistant",
                        "content": "I will look.",
                        "function_call": {"name": "x" * 64, "arguments": '{"city": "Paris"}'},
                    },
                    {"role": "function", "name": "x", "content": '{"error": "", "response": "sunny"}'},
                    {
                        "role": "assistant",
                        "content": None,
                        "function_call": {
                            "name": "Finish",
                            "arguments": '{"return_type": "give_answer", "final_answer": "Sunny."}',
                        },
                    },
                ]
            ],
        }
    }
    f = tmp_path / "answer.json"
    f.write_text(json.dumps(raw, indent=2), encoding="utf-8")
    (traj,), kind = import_records(read_input(tmp_path))
    assert kind == "raw"
    assert traj.tools == [{"Name": "x" * 64, "function": "d" * 256, "input": {"city": "string, " + "c" * 256}}]
    assert traj.conversations == [
        {"from": "user", "value": "What is the weather?"},
        {"from": "assistant", "value": "I will look.\n Next: caller."},
        {"from": "caller", "value": "Action: " + "x" * 64 + '\nAction Input: {"city": "Paris"}'},
        {"from": "observation", "value": "sunny"},
        {"from": "assistant", "value": " Next: conclusion."},
        {"from": "conclusion", "value": "Sunny."},
    ]


@pytest.mark.parametrize(
    ("arguments", "turns"),
    [
        ('{"return_type": "give_up_and_restart"}', [("assistant", "t\n Next: give up.")]),
        ('{"return_type": "give_answer"}', [("assistant", "t\n Next: conclusion."), ("conclusion", "none")]),
        # Malformed JSON: the released fallbacks (text after "final_answer": ; the give-up keyword; the content).
        (
            '{"return_type": "give_answer", "final_answer": "A "b"}',
            [("assistant", "t\n Next: conclusion."), ("conclusion", 'A "b')],
        ),
        ("{give_up_and_restart", [("assistant", "t\n Next: give up.")]),
        ("{oops", [("assistant", "t\n Next: conclusion."), ("conclusion", "t")]),
    ],
)
def test_finish_recovery_rules(arguments: str, turns: list[tuple[str, str]]) -> None:
    rec = {
        "tools": [],
        "instruction": "q",
        "chains": [
            {"role": "system", "content": "s"},
            {"role": "user", "content": "q"},
            {"role": "assistant", "content": "t", "function_call": {"name": "Finish", "arguments": arguments}},
        ],
    }
    got = stage1_to_stage2(rec).conversations[1:]
    assert [(u["from"], u["value"]) for u in got] == turns


def test_observation_fallbacks() -> None:
    rec = {
        "tools": [],
        "instruction": "q",
        "chains": [
            {"role": "system", "content": "s"},
            {"role": "user", "content": "q"},
            {"role": "function", "name": "f", "content": '{"error": "", "response": {"a": 1}}'},
            {"role": "function", "name": "f", "content": '{"error": "", "response": "cut'},
            {"role": "function", "name": "f", "content": "plain text"},
        ],
    }
    values = [u["value"] for u in stage1_to_stage2(rec).conversations[1:]]
    assert values == ['{"a": 1}', ' "cut', ""]


def test_mixed_stages_are_rejected(imported, tmp_path: Path) -> None:
    d, _, _, _ = imported
    s1, s2 = _load(d / "raw_data_stage_1.json"), _load(d / "raw_data_stage_2.json")
    f = tmp_path / "mixed.jsonl"
    f.write_text(json.dumps(s1[0]) + "\n" + json.dumps(s2[0]) + "\n", encoding="utf-8")
    with pytest.raises(UserError, match=r"mixed\.jsonl:2: expected stage 1"):
        import_records(read_records(f))


def test_out_of_domain_test_set_loads(out_of_domain: Path) -> None:
    """The out-of-domain file (evaluation only, never training data) loads as trajectories and yields samples."""
    trajs = load_trajectories(out_of_domain)
    assert len(trajs) == 400
    planner_steps = sum(len(role_samples(t)["planner"]) for t in trajs)
    calls = sum(1 for t in trajs for u in t.conversations if u["from"] == "caller")
    assert calls == 1146  # the count the paper's reference notes give for this file
    assert planner_steps == 1547  # "1146 of 1547 gold steps are calls" (Plan ACC of an always-call planner: 74.1)
