"""BFCL: function docs → JSON Schema / α-UMi docs, live entries → α-UMi steps, the train/test rule, the held-out
split, and `eval bfcl` end to end with bfcl-eval's own AST checker (real package data, real model, real checker)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("bfcl_eval", reason="bfcl-eval is not installed (pip install --no-deps bfcl-eval==2026.3.23)")

from edge_bundles import merged_bundle  # noqa: E402

from umi_edge import bfcl_data  # noqa: E402
from umi_edge.augment import AugmentOptions, augment  # noqa: E402
from umi_edge.cli import main  # noqa: E402
from umi_edge.errors import UserError  # noqa: E402
from umi_edge.eval.bfcl import entry_registry, score  # noqa: E402
from umi_edge.formats.bfcl import (  # noqa: E402
    LIVE_CATEGORIES,
    RELEVANCE_THOUGHT,
    call_thought,
    entry_record,
    is_call_thought,
    is_validation,
    record_samples,
    to_json_schema,
    tool_doc,
)
from umi_edge.formats.parse import parse_call  # noqa: E402
from umi_edge.tools.registry import Tool  # noqa: E402

TEST_SETS = (
    "simple_python",
    "simple_java",
    "simple_javascript",
    "multiple",
    "parallel",
    "parallel_multiple",
    "irrelevance",
    "multi_turn_base",
    "multi_turn_miss_func",
    "multi_turn_miss_param",
    "multi_turn_long_context",
    "memory",
    "web_search",
    "format_sensitivity",
)


def _entry(category: str, entry_id: str) -> bfcl_data.Entry:
    return next(e for e in bfcl_data.load(category) if e.id == entry_id)


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "umi_edge", *args], capture_output=True, text=True, timeout=120)


# ------------------------------------------------------------------------------------------------- function docs
FUNCTION = {
    "name": "uber.ride",
    "description": "Finds a ride.",
    "parameters": {
        "type": "dict",
        "required": ["loc", "time"],
        "properties": {
            "loc": {"type": "string", "description": "Where from."},
            "type": {"type": "string", "enum": ["plus", "comfort"], "default": "plus"},
            "time": {"type": "integer", "description": "Seconds."},
            "ratio": {"type": "float"},
            "point": {"type": "tuple", "items": {"type": "float"}},
            "extra": {"type": "any", "description": "Anything."},
            "shared": {"type": "boolean", "default": False},
            "stops": {
                "type": "array",
                "items": {"type": "dict", "properties": {"name": {"type": "string"}}, "required": ["name"]},
            },
            "metrics": {"type": "array", "items": {"type": "string"}, "enum": ["a", "b"]},
            "opts": {"type": "dict", "properties": {"fast": {"type": "boolean"}}, "format": "x", "maximum": 3},
        },
    },
}


def test_function_doc_conversion() -> None:
    name, description, schema = to_json_schema(FUNCTION)
    assert (name, description) == ("uber.ride", "Finds a ride.")
    p = schema["properties"]
    assert schema["type"] == "object" and schema["required"] == ["loc", "time"]
    assert p["loc"] == {"type": "string", "description": "Where from."}
    assert p["type"] == {"type": "string", "enum": ["plus", "comfort"], "default": "plus"}
    assert p["time"] == {"type": "integer", "description": "Seconds."}
    assert p["ratio"] == {"type": "number"}
    assert p["point"] == {"type": "array", "items": {"type": "number"}}
    assert p["extra"]["type"] == ["string", "number", "boolean", "array", "object", "null"]
    assert p["shared"] == {"type": "boolean", "default": False}
    assert p["stops"]["items"] == {"type": "object", "properties": {"name": {"type": "string"}}, "required": ["name"]}
    assert p["metrics"] == {"type": "array", "items": {"type": "string", "enum": ["a", "b"]}}
    assert p["opts"] == {"type": "object", "properties": {"fast": {"type": "boolean"}}}  # format, maximum dropped
    tool = Tool(name, description, schema)  # a valid JSON Schema for the registry
    assert tool.validator.is_valid({"loc": "x", "time": 3, "point": [1.5, 2], "metrics": ["b"], "extra": [1]})
    assert not tool.validator.is_valid({"loc": "x", "time": 3, "metrics": ["c"]})
    doc = tool_doc(FUNCTION)
    assert doc["Name"] == "uber.ride"
    assert doc["input"]["type"] == 'string, optional; one of ["plus", "comfort"]; default "plus"'
    assert doc["input"]["ratio"] == "number, optional"
    assert doc["input"]["extra"].startswith("string|number|boolean|array|object|null, optional")
    with pytest.raises(ValueError, match="unknown BFCL type 'str'"):
        to_json_schema({"name": "f", "parameters": {"type": "dict", "properties": {"a": {"type": "str"}}}})


def test_dotted_names_are_kept_and_parsed() -> None:
    reg = entry_registry([FUNCTION])
    assert reg.names() == ["uber.ride"]
    call = parse_call('Action: uber.ride\nAction Input: {"loc": "Berkeley", "time": 600}')
    assert call.name == "uber.ride" and reg.validate(call.name, call.arguments) is None
    assert reg.alpha_umi_docs() == [tool_doc(FUNCTION)]  # eval prompts show the training data's doc bytes


# ------------------------------------------------------------------------------------------------- mapping
def test_call_entry_maps_to_planner_and_first_caller_step() -> None:
    e = _entry("live_simple", "live_simple_2-2-0")  # uber.ride, a dotted name
    rec = entry_record(e.entry, e.answer, "live_simple")
    assert rec is not None
    turns = rec["conversations"]
    assert [t["from"] for t in turns] == ["user", "assistant", "caller"]
    assert turns[0]["value"].startswith("I need a Comfort Uber ride from 2020 Addison Street")
    assert turns[1]["value"].startswith("This needs a tool for this: ") and turns[1]["value"].endswith(
        "\n Next: caller."
    )
    assert "That is uber.ride;" in turns[1]["value"]  # the name comes after what the function does
    assert "600" not in turns[1]["value"]  # the thought holds no argument values
    assert turns[2]["value"] == (
        'Action: uber.ride\nAction Input: {"loc": "2020 Addison Street, Berkeley, CA, USA", "type": "comfort", '
        '"time": 600}'
    )
    samples = record_samples(rec)
    assert {r: len(v) for r, v in samples.items()} == {"backbone": 1, "planner": 1, "caller": 1, "summarizer": 0}
    assert samples["caller"][0]["target"] == turns[2]["value"]


def test_call_thoughts_are_recognised_by_their_shape() -> None:
    one = call_thought("uber.ride", "Finds an Uber ride (any type). Also more.")
    assert one == (
        "This needs a tool for this: finds an Uber ride (any type). That is uber.ride; I will call it with the details "
        "the request gives."
    )
    assert is_call_thought(one, "uber.ride") == 1
    old = "I will call uber.ride (finds an Uber ride (any type)) with the details the request gives."
    assert is_call_thought(old, "uber.ride") == 1  # the name-first shape of folders imported before session 29
    assert is_call_thought("This needs 2 calls. First I will call f (does it).", "f") == 2
    assert is_call_thought(call_thought("f", "Does it.", 3), "f") == 3
    assert is_call_thought(call_thought("f", ""), "f") == 1
    assert is_call_thought(one, "uber") is None  # another function's name
    assert is_call_thought("I will ask the calculator for 2750 / 18.", "calculator") is None  # a synthetic thought


def test_unnamed_thoughts_leave_the_caller_to_choose_from_the_docs() -> None:
    e = _entry("live_simple", "live_simple_2-2-0")
    rec = entry_record(e.entry, e.answer, "live_simple")
    assert rec is not None
    plain = AugmentOptions(shuffle=False, distractors=0, drop_share=0.0, mask_share=0.0, irrelevant_share=0.0)
    assert augment(rec, plain)["conversations"] == rec["conversations"]
    out = augment(rec, AugmentOptions(**{**plain.__dict__, "unnamed_share": 1.0}))
    turns = out["conversations"]
    assert turns[1]["value"] == RELEVANCE_THOUGHT + "\n Next: caller."
    assert turns[2] == rec["conversations"][2] and turns[0] == rec["conversations"][0]
    caller = record_samples(out)["caller"][0]
    assert caller["target"] == rec["conversations"][2]["value"]
    assert "uber" not in caller["input"].split("The thought of this step is:")[1].split("Action:")[0]


def test_import_bfcl_unnamed_thoughts_option(tmp_path: Path) -> None:
    out = tmp_path / "bfcl"
    assert main(["data", "import-bfcl", "live_simple", "-o", str(out), "--unnamed-thoughts", "1"]) == 0
    planner = [json.loads(line)["target"] for line in (out / "planner.jsonl").read_text().splitlines()]
    calls = [t for t in planner if t.endswith("Next: caller.")]
    assert calls and all(t.startswith(RELEVANCE_THOUGHT) for t in calls)
    give_ups = [t for t in planner if t.endswith("Next: give up.")]  # irrelevant twins, named by their tools
    assert give_ups and not any("(None" in t for t in give_ups)
    proc = _cli("data", "import-bfcl", "live_simple", "-o", str(tmp_path / "bad"), "--unnamed-thoughts", "1.5")
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert proc.stderr.strip() == "umi-edge: error: --unnamed-thoughts: expected a share from 0 to 1, got 1.5"
    assert not (tmp_path / "bad").exists()


def test_parallel_entry_first_call_only_optional_left_out() -> None:
    e = _entry("live_parallel", "live_parallel_0-0-0")  # Beijing and Shanghai; unit allowed ["", "fahrenheit"]
    assert len(e.answer["ground_truth"]) == 2  # type: ignore[index]
    rec = entry_record(e.entry, e.answer, "live_parallel")
    assert rec is not None
    turns = rec["conversations"]
    assert [t["from"] for t in turns] == ["user", "assistant", "caller"]  # no second call: no observation invented
    assert turns[1]["value"].startswith("This needs 2 calls. The first needs a tool for this: ")
    assert "That is get_current_weather." in turns[1]["value"]
    assert turns[2]["value"] == 'Action: get_current_weather\nAction Input: {"location": "Beijing, China"}'


def test_irrelevance_gives_up_and_no_record_has_an_observation() -> None:
    e = _entry("live_irrelevance", "live_irrelevance_0-0-0")
    rec = entry_record(e.entry, None, "live_irrelevance")
    assert rec is not None
    assert [t["from"] for t in rec["conversations"]] == ["user", "assistant"]
    assert rec["conversations"][1]["value"].endswith("\n Next: give up.")
    samples = record_samples(rec)
    assert len(samples["planner"]) == 1 and samples["caller"] == []
    assert samples["planner"][0]["target"].endswith("Next: give up.")
    relevance = bfcl_data.load("live_relevance")[0]
    rel = entry_record(relevance.entry, None, "live_relevance")
    assert rel is not None and [t["from"] for t in rel["conversations"]] == ["user", "assistant"]
    assert [len(v) for v in record_samples(rel).values()] == [0, 1, 0, 0]  # backbone, planner, caller, summarizer
    for category in LIVE_CATEGORIES:
        for entry in bfcl_data.load(category):
            r = entry_record(entry.entry, entry.answer, category)
            if r is not None:
                assert all(t["from"] in ("user", "assistant", "caller") for t in r["conversations"]), entry.id
                assert len(r["conversations"]) <= 3


# ------------------------------------------------------------------------------------------------- the rule
@pytest.mark.parametrize("category", TEST_SETS)
def test_test_sets_are_refused(category: str) -> None:
    with pytest.raises(UserError, match="a BFCL test set"):
        bfcl_data.check_importable(["live_simple", category])


def test_import_cli_refuses_test_set_in_one_line(tmp_path: Path) -> None:
    proc = _cli("data", "import-bfcl", "live_simple", "irrelevance", "-o", str(tmp_path / "out"))
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert proc.stderr.strip().count("\n") == 0 and "irrelevance: a BFCL test set" in proc.stderr
    assert not (tmp_path / "out").exists()


def test_held_out_split_is_stable(tmp_path: Path) -> None:
    ids = [e.id for e in bfcl_data.load("live_simple")][:40]
    assert [i for i in ids if is_validation(i)] == [
        "live_simple_18-3-14",
        "live_simple_23-5-1",
        "live_simple_35-12-0",
        "live_simple_36-13-0",
    ]
    everything = [e.id for c in LIVE_CATEGORIES for e in bfcl_data.load(c)]
    assert (len(everything), sum(map(is_validation, everything))) == (2251, 225)  # 10% of the ids, fixed
    out = tmp_path / "bfcl"
    assert main(["data", "import-bfcl", "live_simple", "live_parallel", "-o", str(out)]) == 0
    train = [json.loads(line)["id"] for line in (out / "trajectories.jsonl").read_text().splitlines()]
    held = [json.loads(line)["id"] for line in (out / "validation" / "trajectories.jsonl").read_text().splitlines()]
    assert held and train and not set(train) & set(held)
    assert all(is_validation(i) for i in held) and not any(is_validation(i) for i in train)
    caller = [json.loads(line) for line in (out / "caller.jsonl").read_text().splitlines()]
    assert len(caller) == len(train)  # one caller step per call entry
    assert {"tools", "history", "input", "target"} == set(caller[0])


# ------------------------------------------------------------------------------------------------- scoring
def test_score_uses_bfcl_checker_without_sdks() -> None:
    e = _entry("simple_python", "simple_python_1")  # math.factorial, number 5
    functions = e.entry["function"]
    before = set(sys.modules)  # other test modules (the serve tests) may have imported openai already
    assert score("simple_python", functions, [{"math.factorial": {"number": 5}}], e.answer)["valid"]
    wrong = score("simple_python", functions, [{"math.factorial": {"number": 6}}], e.answer)
    assert not wrong["valid"] and wrong["error_type"] == "value_error:others"
    assert not score("simple_python", functions, [], e.answer)["valid"]
    assert score("irrelevance", functions, [], None)["valid"]
    assert not score("irrelevance", functions, [{"math.factorial": {"number": 5}}], None)["valid"]
    loaded = set(sys.modules) - before
    assert not any(m.split(".")[0] in ("openai", "anthropic", "vllm") for m in loaded)
    assert "bfcl_eval.model_handler" not in sys.modules


def test_eval_bfcl_end_to_end(tmp_path: Path) -> None:
    from umi_edge.agent.config import AgentConfig
    from umi_edge.engine import Engine, EngineOptions
    from umi_edge.eval.bfcl import bfcl_markdown, run_bfcl

    bundle = merged_bundle(tmp_path / "b", context_length=1024)
    config = AgentConfig(max_steps=2)  # an untrained model may plan on and on: two turns show the routing
    config.max_new_tokens = dict.fromkeys(config.max_new_tokens, 32)
    with Engine.from_bundle(bundle, EngineOptions(threads=2)) as engine:
        run = run_bfcl(["simple_python", "parallel", "irrelevance"], engine, config=config, limit=1, max_calls=2)
    out = run.to_json()
    assert list(out["categories"]) == ["simple_python", "parallel", "irrelevance"]
    for s in out["categories"].values():
        assert s["scored"] == 1 and s["skipped"] == 0 and 0 <= s["right"] <= 1
        assert s["accuracy"] == pytest.approx(100 * s["right"])
    assert out["categories"]["irrelevance"]["refused"] == out["categories"]["irrelevance"]["accuracy"]
    assert out["observation_between_calls"] == {"status": "ok"} and out["parallel_max_calls"] == 2
    assert out["grounded_calls"] is True and out["relevance_gate"] is True
    for c, s in out["categories"].items():
        gated = [e for e in out["entries"] if e["category"] == c and e["no_tool_fits"] is not None]
        assert s["no_tool_fits"] == len(gated) and all(not e["calls"] and e["no_tool_fits"] for e in gated)
    assert [e["id"] for e in out["entries"]] == ["simple_python_0", "parallel_0", "irrelevance_0"]
    for rec in out["entries"]:
        e = _entry(rec["category"], rec["id"])
        names = {f["name"] for f in e.entry["function"]}
        assert rec["agent_error"] is None  # the grammar over the entry's names (parallel_0: spotify.play) was accepted
        assert all(set(c) <= names for c in rec["calls"])  # only offered names, dotted ones as they are
        assert len(rec["calls"]) <= (2 if rec["category"] == "parallel" else 1)
        if rec["made_up"] is not None:  # a call with made-up numbers was stopped: it is not scored as made
            assert rec["made_up"] not in rec["calls"] and rec["category"] == "parallel" or not rec["calls"]
        assert rec["valid"] == score(rec["category"], e.entry["function"], rec["calls"], e.answer)["valid"]
    md = bfcl_markdown(out, label="tiny")
    assert "| category | entries | right | accuracy |" in md and "| simple_python | 1 |" in md
    assert "refused" in md and "`{'status': 'ok'}`" in md and "grounded calls: on" in md
    assert "`--no-relevance-gate`: off" in md and "`--no-finish-checks`: off" in md
    assert out["finish_checks"] is True


def test_eval_bfcl_validation_runs_held_out_live_entries_only(tmp_path: Path) -> None:
    from umi_edge.agent.config import AgentConfig
    from umi_edge.engine import Engine, EngineOptions
    from umi_edge.eval.bfcl import bfcl_markdown, run_bfcl
    from umi_edge.formats.bfcl import is_validation

    with pytest.raises(UserError, match="--validation takes live categories only"):
        run_bfcl(["simple_python"], None, validation=True)  # type: ignore[arg-type]  # refused before any model
    bundle = merged_bundle(tmp_path / "b", context_length=2048)
    config = AgentConfig(max_steps=1, tool_prior=5.0)
    config.max_new_tokens = dict.fromkeys(config.max_new_tokens, 32)
    with Engine.from_bundle(bundle, EngineOptions(threads=2)) as engine:
        run = run_bfcl(["live_multiple"], engine, config=config, limit=2, validation=True)
    out = run.to_json()
    first = [e.id for e in bfcl_data.load("live_multiple") if is_validation(e.id)][:2]
    assert [e["id"] for e in out["entries"]] == first  # the held-out ones, in file order
    assert out["validation_only"] is True and out["tool_prior"] == 5.0
    md = bfcl_markdown(out, label="tiny")
    assert "live validation entries only" in md and "tool prior: weight 5" in md
