"""`umi-edge data synth`: trajectories whose observations are real tool output, per-role samples, held-out tasks."""

from __future__ import annotations

import json
import random
import tempfile
from pathlib import Path

import pytest

from umi_edge.cli import main
from umi_edge.eval.matching import matches
from umi_edge.formats.parse import PLAN_MARKERS, parse_call
from umi_edge.formats.samples import role_samples
from umi_edge.formats.taskfile import load_tasks, write_fixture
from umi_edge.synth.families import FAMILIES
from umi_edge.synth.generate import draw_task, select_families, synthesize, trajectory_record
from umi_edge.synth.pools import in_split
from umi_edge.tools import builtin_registry

ROLES = ("backbone", "planner", "caller", "summarizer")
NO_PYTHON = [f.name for f in FAMILIES if "python" not in f.needs]  # the sandboxed python tool takes ~1 s a call
BRINGS_TOOLS = {f.name for f in FAMILIES if f.brings_tools}  # their episodes are not written to --tasks-out


def _read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


@pytest.fixture(scope="module")
def synth_runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, Path]]:
    """One train and one held-out run through the CLI, each with its executable task file."""
    base = tmp_path_factory.mktemp("synth")
    out = {}
    for split, n, seed in (("train", 40, 11), ("heldout", 30, 12)):
        d, tasks = base / split, base / f"{split}-tasks.jsonl"
        rc = main(
            [
                "data",
                "synth",
                "-o",
                str(d),
                "--n",
                str(n),
                "--seed",
                str(seed),
                "--split",
                split,
                "--tasks-out",
                str(tasks),
                "--augment",  # the samples as role_records builds them from the trajectories (tests/test_augment.py
                "off",  # covers the variation)
            ]
        )
        assert rc == 0
        out[split] = (d, tasks)
    return out


def test_output_layout_and_report(synth_runs):
    d, _ = synth_runs["train"]
    assert sorted(p.name for p in d.iterdir()) == sorted(
        ["trajectories.jsonl", "synth_report.json", *(f"{r}.jsonl" for r in ROLES)]
    )
    trajs = _read_jsonl(d / "trajectories.jsonl")
    report = json.loads((d / "synth_report.json").read_text())
    assert len(trajs) == report["trajectories"] == 40
    assert sum(report["families"].values()) == 40
    for role in ROLES:
        recs = _read_jsonl(d / f"{role}.jsonl")
        assert report["lengths"][role]["samples"] == len(recs) > 0
    # the per-role files are exactly what the formats module derives from the trajectories
    expected = {r: [] for r in ROLES}
    for t in trajs:
        for role, recs in role_samples(t).items():
            expected[role].extend(recs)
    for role in ROLES:
        assert _read_jsonl(d / f"{role}.jsonl") == expected[role]


def test_output_passes_the_importer(synth_runs, tmp_path):
    """`data import-toolbench` reads our trajectories and derives byte-identical per-role files."""
    d, _ = synth_runs["train"]
    again = tmp_path / "again"
    assert main(["data", "import-toolbench", str(d / "trajectories.jsonl"), "-o", str(again)]) == 0
    for role in ROLES:
        assert (again / f"{role}.jsonl").read_bytes() == (d / f"{role}.jsonl").read_bytes()


@pytest.mark.parametrize("split", ["train", "heldout"])
def test_observations_equal_re_executing_the_calls(synth_runs, split):
    """Rebuild each task's workspace from the exported task file and replay every call with the real tools."""
    d, tasks_file = synth_runs[split]
    tasks = {t["query"]: t for t in _read_jsonl(tasks_file)}  # an alternative solution shares its task's query
    registry = builtin_registry()
    replayed = 0
    for traj in _read_jsonl(d / "trajectories.jsonl"):
        if traj["family"] in BRINGS_TOOLS:  # its tools are the task's own (test_synth_formulas / _multipart run them)
            continue
        task = tasks[traj["instruction"]]
        assert task["id"] == traj["id"] or traj["alternative"]
        assert [t["Name"] for t in traj["tools"]] == task["tools"]
        turns = traj["conversations"]
        with tempfile.TemporaryDirectory() as ws:
            write_fixture(Path(ws), task["files"], task["sqlite"])
            for i, turn in enumerate(turns):
                if turn["from"] != "caller":
                    continue
                call = parse_call(turn["value"])
                result = registry.call(call.name, call.arguments, workspace=ws)
                assert turns[i + 1] == {"from": "observation", "value": result.content}
                replayed += 1
    assert replayed >= 30


@pytest.mark.parametrize("split", ["train", "heldout"])
def test_caller_targets_parse_and_validate(synth_runs, split):
    d, _ = synth_runs[split]
    registry = builtin_registry()
    recs = _read_jsonl(d / "caller.jsonl")
    assert recs
    for rec in recs:
        call = parse_call(rec["target"])
        assert rec["target"] == f"Action: {call.name}\nAction Input: {json.dumps(call.arguments)}"
        assert call.name in [t["Name"] for t in rec["tools"]]
        if call.name in registry:  # a formula task's own tools are checked in tests/test_synth_formulas.py
            assert registry.validate(call.name, call.arguments) is None


def test_planner_targets_end_with_exactly_one_marker(synth_runs):
    d, _ = synth_runs["train"]
    labels = set()
    for rec in _read_jsonl(d / "planner.jsonl"):
        target = rec["target"]
        found = [label for label, m in PLAN_MARKERS.items() if target.endswith("\n " + m)]
        assert len(found) == 1, target
        assert sum(target.count(m) for m in PLAN_MARKERS.values()) == 1, target
        thought = target[: -len("\n " + PLAN_MARKERS[found[0]])]
        # (a multipart step states the answer of the part before it, then its own thought)
        assert thought.strip() and "\n" not in thought and len(thought) < (400 if " part" in thought else 200)
        labels.add(found[0])
    assert labels == {"call", "finish", "give_up"}


@pytest.mark.parametrize("split", ["train", "heldout"])
def test_task_file_validates_and_answers_come_from_the_tools(synth_runs, split):
    d, tasks_file = synth_runs[split]
    tasks = {t.query: t for t in load_tasks(tasks_file)}  # the eval's own validation
    trajs = [
        t for t in _read_jsonl(d / "trajectories.jsonl") if t["family"] not in BRINGS_TOOLS
    ]  # not exported as tasks
    assert len(tasks) == len([t for t in trajs if not t["alternative"]])
    for traj in trajs:
        task = tasks[traj["instruction"]]
        turns = traj["conversations"]
        last = turns[-1]
        if last["from"] == "assistant":  # give up
            assert last["value"].endswith(PLAN_MARKERS["give_up"]) and task.answers == ["give up"]
            continue
        assert last["from"] == "conclusion"
        assert matches(last["value"], task.answers, task.match), (last, task.answers)
        observations = [t["value"] for t in turns if t["from"] == "observation"]
        if observations:  # the answer is read off a real observation, not invented
            assert any(matches(o, task.answers, task.match) for o in observations), (observations, task.answers)
        # a numeric answer is never one of the numbers the query itself states
        if task.match == "number":
            assert not matches(task.query, task.answers, "number")


def test_alternative_solutions_use_a_different_action_sequence():
    eps = synthesize(40, 2, families=["calc_percent", "calc_arith"])
    alts = [i for i, e in enumerate(eps) if e.alternative]
    assert alts
    for i in alts:
        main_ep, alt_ep = eps[i - 1], eps[i]
        assert main_ep.recipe.query == alt_ep.recipe.query and main_ep.tools == alt_ep.tools
        assert parse_call(main_ep.conversations[2]["value"]).name == "calculator"
        assert parse_call(alt_ep.conversations[2]["value"]).name == "python"
        assert matches(alt_ep.conversations[-1]["value"], [main_ep.answer], "number")
    assert not any(e.alternative for e in synthesize(40, 2, "heldout", families=["calc_percent", "calc_arith"]))


def test_deterministic_per_seed():
    fams = ["calc_percent", "dates", "sql", "chain_file_calc", "give_up", "direct", "recover"]
    a = [trajectory_record(e, "x") for e in synthesize(25, 5, families=fams)]
    b = [trajectory_record(e, "x") for e in synthesize(25, 5, families=fams)]
    c = [trajectory_record(e, "x") for e in synthesize(25, 6, families=fams)]
    assert a == b
    assert a != c
    # a prefix of a longer run is the shorter run
    assert [trajectory_record(e, "x") for e in synthesize(10, 5, families=fams)] == a[:10]


def _draw(split: str, n: int, seed: int):
    available = builtin_registry().names()
    fams = select_families(available)
    weights = [f.weight for f in fams]
    out = []
    for i in range(n):
        rng = random.Random(f"test:{seed}:{split}:{i}")
        out.append(draw_task(rng, fams, weights, split, available))
    return out


def test_train_and_heldout_share_no_instance():
    train = _draw("train", 1500, 1)
    held = _draw("heldout", 600, 2)
    assert not {t.key for t in train} & {t.key for t in held}
    assert not {t.query for t in train} & {t.query for t in held}
    # held-out paraphrases exist and never occur in train
    train_templates = {t.template for t in train}
    held_only = {t.template for t in held} - train_templates
    assert len(held_only) >= 20
    assert sum(t.template in held_only for t in held) > len(held) // 5
    # fixture contents differ too: no held-out file text occurs in train
    train_files = {text for t in train for text in t.files.values() if "Project:" in text}
    assert not train_files & {text for t in held for text in t.files.values() if "Project:" in text}


def test_every_family_generates_and_runs_in_both_splits():
    for name in NO_PYTHON:
        for split in ("train", "heldout"):
            eps = synthesize(3, 3, split, families=[name])
            assert [e.recipe.family for e in eps] == [name] * 3


def test_pools_partition_values():
    assert all(in_split(x, "train") != in_split(x, "heldout") for x in range(1000))
    assert 150 < sum(in_split(x, "heldout") for x in range(1000)) < 250


def test_tools_option_limits_families_and_offers(tmp_path):
    d = tmp_path / "calc"
    assert main(["data", "synth", "-o", str(d), "--n", "12", "--tools", "calculator,date_calc"]) == 0
    for t in _read_jsonl(d / "trajectories.jsonl"):
        assert {x["Name"] for x in t["tools"]} <= {"calculator", "date_calc"}
        assert t["family"] in {"calc_percent", "calc_arith", "calc_word", "dates", "direct", "give_up", "multipart"}


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--n", "0"], "--n"),
        (["--tools", "calculator,nosuch"], "unknown tool 'nosuch'"),
        (["--families", "nosuch"], "unknown family 'nosuch'"),
        (["--tools", "write_file", "--families", "sql"], "no task family"),
        (["--tools", " , "], "--tools"),
        (["--style", "toolalpaca", "--families", "give_up"], "give_up"),
    ],
)
def test_bad_options_exit_2_with_one_line(tmp_path, capsys, argv, message):
    out = tmp_path / "out"
    assert main(["data", "synth", "-o", str(out), *argv]) == 2
    err = capsys.readouterr().err
    assert err.startswith("umi-edge: error: ") and err.count("\n") == 1 and message in err
    assert not out.exists()


def test_existing_output_needs_force(tmp_path, capsys):
    out = tmp_path / "out"
    out.mkdir()
    (out / "keep.txt").write_text("x")
    assert main(["data", "synth", "-o", str(out), "--n", "3", "--families", "give_up"]) == 2
    assert "--force" in capsys.readouterr().err
    assert (out / "keep.txt").exists()
    assert main(["data", "synth", "-o", str(out), "--n", "3", "--families", "give_up", "--force"]) == 0
    assert not (out / "keep.txt").exists() and (out / "trajectories.jsonl").exists()


def test_python_probe_reports_why_the_tool_cannot_run():
    from umi_edge.synth.command import python_problem
    from umi_edge.tools import ToolError, tool

    assert python_problem(builtin_registry()) is None  # the sandbox works here

    @tool(name="python", effect="exec")
    def broken(code: str) -> dict:
        """A python tool on a machine without isolation.

        Args:
            code: Python source.
        """
        raise ToolError("no isolation layer works on this machine")

    reg = builtin_registry()
    reg.add(broken, replace=True)
    assert "no isolation layer" in python_problem(reg)


def test_call_arguments_follow_the_schema_order():
    """The Caller learns to write arguments in the tool schema's order (recover once wrote recursive first)."""
    registry = builtin_registry()
    order = {t.name: list(t.parameters["properties"]) for t in registry.tools()}
    eps = synthesize(6, 5, families=["recover", "file_list", "file_search", "dates", "sql"])
    seen = 0
    for ep in eps:
        for turn in ep.conversations:
            if turn["from"] == "caller":
                call = parse_call(turn["value"])
                ranks = [order[call.name].index(k) for k in call.arguments]
                assert ranks == sorted(ranks), turn["value"]
                seen += len(ranks) > 1
    assert seen  # calls with more than one argument were checked
    recover = synthesize(2, 7, families=["recover"])
    calls = [parse_call(t["value"]) for ep in recover for t in ep.conversations if t["from"] == "caller"]
    assert any(list(c.arguments) == ["pattern", "recursive"] for c in calls if c.name == "list_files")
