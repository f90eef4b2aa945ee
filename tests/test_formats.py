"""The α-UMi format module: templates, role cues, history, tool docs, trajectories and per-role samples."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from umi_edge.errors import UserError
from umi_edge.formats import (
    END_OF_TURN,
    PLAN_LABELS,
    PLAN_MARKERS,
    ROLE_CUES,
    SYSTEM_PREFIX,
    Trajectory,
    build_input,
    from_json_schema,
    from_toolbench,
    load_trajectories,
    model_prompt,
    render_doc,
    role_samples,
    serialize_history,
    stop_sequences,
    template_parts,
    to_json_schema,
    tool_names,
    write_trajectories,
)
from umi_edge.formats.prompts import TEMPLATES
from umi_edge.formats.taskfile import FixtureError, Task, write_fixture
from umi_edge.formats.tooldoc import from_toolbench_functions, parse_arg_text

ROLES = ("planner", "caller", "summarizer", "backbone")
TOOLS = [
    {"Name": "get_weather", "function": "Weather for a city — ünïcode", "input": {"city": "string, the city"}},
    {"Name": "add", "function": "Add numbers", "input": {}},
]


def test_templates_keep_the_released_bytes() -> None:
    planner = TEMPLATES[("toolbench", "planner")]
    assert planner.startswith("You have assess to the following apis:\n{doc}\nThe conversation history is:\n")
    assert planner.endswith("followed by Next: caller or conclusion or give up.")
    assert TEMPLATES[("toolalpaca", "planner")].endswith("followed by Next: caller or conclusion.")
    assert "\nBase on the thought make an api call" in TEMPLATES[("toolbench", "caller")]
    assert TEMPLATES[("toolbench", "summarizer")] == "Make a conclusion based on the conversation history:\n{history}"
    assert TEMPLATES[("toolbench", "backbone")].endswith("or give up if you think you cannot answer this question.\n")
    assert TEMPLATES[("toolalpaca", "backbone")].endswith("the final answer of the question.\n")
    assert ROLE_CUES == {"planner": " assistant: ", "backbone": " assistant: ", "caller": " caller: ",
                         "summarizer": " conclusion: "}  # fmt: skip
    assert SYSTEM_PREFIX == "system: "
    assert model_prompt("x") == "system: x"


def test_build_input_fills_every_placeholder() -> None:
    doc, names = render_doc(TOOLS), tool_names(TOOLS)
    hist = "user: hi</s>"
    caller = build_input("caller", doc=doc, history=hist, tool_names=names, thought="T\n Next: caller.")
    assert caller == (
        "You have assess to the following apis:\n" + doc + "\nThe conversation history is:\n" + hist
        + "\nThe thought of this step is:\nT\n Next: caller.\nBase on the thought make an api call in the following "
        "format:\nAction: the name of api that should be called in this step, should be exactly in "
        "[get_weather, add],\nAction Input: the api call request. caller: "
    )  # fmt: skip
    for role in ROLES:
        text = build_input(role, doc=doc, history=hist, tool_names=names, thought="T")
        assert "{" + "history}" not in text and "{doc}" not in text and "{tool_names}" not in text
        assert text.endswith(ROLE_CUES[role])
    assert build_input("summarizer", doc=doc, history=hist) == (
        "Make a conclusion based on the conversation history:\nuser: hi</s> conclusion: "
    )


def test_values_are_not_substituted_again() -> None:
    """A tool doc or history containing placeholder text is inserted verbatim (no str.format, no re-filling)."""
    doc = '{"Name": "t", "function": "uses {history} and {thought} and {0}", "input": {}}\n'
    text = build_input("caller", doc=doc, history="user: {doc}</s>", tool_names="t", thought="x")
    assert "uses {history} and {thought} and {0}" in text and "user: {doc}</s>" in text


@given(
    role=st.sampled_from(ROLES),
    style=st.sampled_from(["toolbench", "toolalpaca"]),
    doc=st.text(max_size=40),
    history=st.text(max_size=40),
    names=st.text(max_size=20),
    thought=st.text(max_size=20),
)
def test_template_parts_split_around_history(role, style, doc, history, names, thought) -> None:
    prefix, suffix = template_parts(role, doc=doc, tool_names=names, thought=thought, style=style)
    full = build_input(role, doc=doc, history=history, tool_names=names, thought=thought, style=style)
    assert prefix + history + suffix == full


def test_unknown_role_or_style() -> None:
    with pytest.raises(ValueError, match="unknown role 'judge'"):
        build_input("judge", doc="", history="")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="unknown prompt style"):
        build_input("planner", doc="", history="", style="gpt")  # type: ignore[arg-type]


def test_history_serialisation() -> None:
    turns = [
        {"from": "user", "value": "Q"},
        {"from": "assistant", "value": "T\n Next: caller."},
        {"from": "caller", "value": "Action: f\nAction Input: {}"},
        {"from": "observation", "value": "{...}"},
        {"from": "assistant", "value": "done\n Next: conclusion."},
        {"from": "conclusion", "value": "A"},
    ]
    assert END_OF_TURN == "</s>"
    assert serialize_history(turns) == (
        "user: Q</s>assistant: T\n Next: caller.</s>caller: Action: f\nAction Input: {}</s>observation: {...}"
        "assistant: done\n Next: conclusion.</s>conclusion: A</s>"
    )
    with pytest.raises(ValueError, match="unknown role 'tool'"):
        serialize_history([{"from": "tool", "value": "x"}])


def test_stop_sequences_add_a_different_chat_eos_once() -> None:
    assert stop_sequences() == stop_sequences("") == stop_sequences(END_OF_TURN) == (END_OF_TURN,)
    assert stop_sequences("<|im_end|>") == (END_OF_TURN, "<|im_end|>")


def test_plan_labels_are_the_labels_of_the_markers() -> None:
    assert PLAN_LABELS == tuple(PLAN_MARKERS) == ("call", "finish", "give_up")


def test_task_record_and_fixture(tmp_path: Path) -> None:
    """The executable task's JSON (every fixture field written, a single answer as a scalar) and its workspace."""
    task = Task("a", "q", [1.5], "number", tools=["calculator"])
    assert task.to_json() == {
        "id": "a",
        "query": "q",
        "answer": 1.5,
        "match": "number",
        "files": {},
        "sqlite": {},
        "tools": ["calculator"],
    }
    assert Task("b", "q", ["x", "y"], "contains").to_json()["answer"] == ["x", "y"]
    ws = write_fixture(
        tmp_path / "ws", {"d/n.txt": "héllo"}, {"db/s.db": ["CREATE TABLE t(x)", "INSERT INTO t VALUES (2)"]}
    )
    assert (ws / "d/n.txt").read_text(encoding="utf-8") == "héllo"
    con = sqlite3.connect(ws / "db/s.db")
    assert con.execute("SELECT x FROM t").fetchall() == [(2,)]
    con.close()
    with pytest.raises(FixtureError, match=r"^'s.db' statement 2 failed: .*\('NOPE'\)$"):
        write_fixture(tmp_path / "ws2", {}, {"s.db": ["CREATE TABLE t(x)", "NOPE"]})


def test_render_doc_and_tool_names() -> None:
    doc = render_doc(TOOLS)
    lines = doc.split("\n")
    assert lines[-1] == "" and len(lines) == 3
    assert lines[0] == (
        '{"Name": "get_weather", "function": "Weather for a city \\u2014 \\u00fcn\\u00efcode", '
        '"input": {"city": "string, the city"}}'
    )  # json.dumps defaults: ", " / ": " separators, ASCII escapes, key order kept
    assert tool_names(TOOLS) == "get_weather, add"
    assert render_doc([]) == "" and tool_names([]) == ""


def test_from_toolbench_applies_the_released_cuts() -> None:
    api = {
        "name": "n" * 10 + "m" * 64,
        "description": "a" * 256 + "b" * 10,
        "parameters": {
            "type": "object",
            "properties": {"q": {"type": "string", "description": "x" * 10 + "y" * 256}, "k": {"type": "number"}},
        },
    }
    assert from_toolbench(api) == {"Name": "m" * 64, "function": "a" * 256, "input": {"q": "string, " + "y" * 256,
                                                                                       "k": "number"}}  # fmt: skip
    finish = {"name": "Finish", "description": "", "parameters": {"properties": {}}}
    assert from_toolbench_functions([api, finish]) == [from_toolbench(api)]
    with pytest.raises(ValueError, match="field 'name': missing"):
        from_toolbench({"description": "x"})
    with pytest.raises(ValueError, match=r"field 'parameters.properties.q.type': expected a string, got int"):
        from_toolbench({"name": "t", "parameters": {"properties": {"q": {"type": 3}}}})


def test_from_json_schema_text() -> None:
    tool = from_json_schema(
        "get_weather",
        "Current weather.",
        {
            "type": "object",
            "properties": {
                "city": {"type": "string", "description": "City name, e.g. Paris."},
                "unit": {"type": "string", "enum": ["C", "F"], "default": "C", "description": "Unit."},
                "days": {"type": "integer"},
            },
            "required": ["city"],
        },
    )
    assert tool == {
        "Name": "get_weather",
        "function": "Current weather.",
        "input": {
            "city": "string, required, City name, e.g. Paris.",
            "unit": 'string, optional; one of ["C", "F"]; default "C", Unit.',
            "days": "integer, optional",
        },
    }
    with pytest.raises(ValueError, match="expected 'required' or 'optional'"):
        parse_arg_text("string, the city")


json_scalars = st.none() | st.booleans() | st.integers(-1000, 1000) | st.text(max_size=8)
prop = st.fixed_dictionaries(
    {"type": st.sampled_from(["string", "integer", "number", "boolean", "array", "object", ["string", "null"]])},
    optional={
        "description": st.text(min_size=1, max_size=40),
        "enum": st.lists(json_scalars, min_size=1, max_size=4),
        "default": json_scalars,
    },
)


@given(
    name=st.from_regex(r"[a-z_][a-z0-9_]{0,20}", fullmatch=True),
    description=st.text(max_size=40),
    props=st.dictionaries(st.from_regex(r"[a-z_][a-z0-9_]{0,10}", fullmatch=True), prop, max_size=5),
    data=st.data(),
)
def test_json_schema_round_trip(name, description, props, data) -> None:
    required = data.draw(st.lists(st.sampled_from(sorted(props)), unique=True) if props else st.just([]))
    params = {"type": "object", "properties": props, "required": required}
    tool = from_json_schema(name, description, params)
    json.dumps(tool)  # a plain JSON tool doc
    name2, desc2, params2 = to_json_schema(tool)
    assert (name2, desc2) == (name, description)
    assert params2["properties"] == props
    assert sorted(params2["required"]) == sorted(required)


def _traj_record(**over):
    rec = {
        "tools": TOOLS,
        "instruction": "Q",
        "conversations": [
            {"from": "user", "value": "Q"},
            {"from": "assistant", "value": "T\n Next: caller."},
            {"from": "caller", "value": 'Action: get_weather\nAction Input: {"city": "Paris"}'},
            {"from": "observation", "value": "sunny"},
            {"from": "assistant", "value": "Done\n Next: conclusion."},
            {"from": "conclusion", "value": "It is sunny."},
        ],
    }
    rec.update(over)
    return rec


def test_load_trajectories_json_jsonl_and_python_literals(tmp_path: Path) -> None:
    rec = _traj_record()
    a = tmp_path / "a.json"
    a.write_text(json.dumps([rec, rec], indent=2), encoding="utf-8")
    b = tmp_path / "b.jsonl"
    b.write_text(json.dumps(rec) + "\n\n" + json.dumps(rec) + "\n", encoding="utf-8")
    c = tmp_path / "c.json"  # tools / conversations as Python-literal strings, as some released files store them
    c.write_text(json.dumps([{**rec, "tools": repr(rec["tools"]), "conversations": repr(rec["conversations"])}]))
    expected = Trajectory(rec["tools"], "Q", rec["conversations"])
    assert load_trajectories(a) == [expected, expected]
    assert load_trajectories(b) == [expected, expected]
    assert load_trajectories(c) == [expected]
    out = tmp_path / "out" / "t.jsonl"
    assert write_trajectories(out, load_trajectories(a)) == 2
    assert load_trajectories(out) == [expected, expected]
    assert out.read_text(encoding="utf-8").count("\n") == 2


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("", r"x\.jsonl: file is empty"),
        ("[]", r"x\.jsonl: the JSON array is empty"),
        ('{"tools": [}\n', r"x\.jsonl:1:12: invalid JSON: Expecting value"),
        (json.dumps(_traj_record()) + "\n" + '{"a": \n', r"x\.jsonl:2:\d+: invalid JSON"),
        (json.dumps({"tools": [], "conversations": []}),
         r":1: field 'instruction': missing \(expected a stage-2 record \{tools, instruction, conversations\}\)$"),
        (json.dumps(_traj_record(tools={"a": 1})), r"field 'tools': expected a list of tool docs, got object"),
        (json.dumps(_traj_record(tools=[{"function": "f"}])), r"field 'tools\[0\]\.Name': expected a string, got null"),
        (json.dumps(_traj_record(instruction=3)), r"field 'instruction': expected a string, got int"),
        (json.dumps(_traj_record(conversations=[{"from": "user", "value": "Q"}, {"from": "planner", "value": "x"}])),
         r"field 'conversations\[1\]\.from': unknown role 'planner'"),
        (json.dumps(_traj_record(conversations=[{"from": "user", "value": 5}])),
         r"field 'conversations\[0\]\.value': expected a string, got int"),
        (json.dumps(_traj_record(conversations=[{"from": "user", "value": "Q"}, {"from": "caller", "value": "x"}])),
         r"field 'conversations\[1\]': a caller turn must follow an assistant"),
        (json.dumps(_traj_record(conversations=[])), r"field 'conversations': expected at least one turn"),
        (json.dumps(_traj_record(conversations="[oops")), r"field 'conversations': expected a list .* unparsable"),
        ("hello", r"x\.jsonl:1: expected a JSON array or JSONL objects"),
    ],
)  # fmt: skip
def test_load_trajectories_errors_name_where_and_what(tmp_path: Path, content: str, message: str) -> None:
    f = tmp_path / "x.jsonl"
    f.write_text(content, encoding="utf-8")
    with pytest.raises(UserError, match=message) as info:
        load_trajectories(f)
    assert "\n" not in str(info.value)


def test_array_errors_name_the_record(tmp_path: Path) -> None:
    f = tmp_path / "x.json"
    f.write_text(json.dumps([_traj_record(), _traj_record(instruction=None)], indent=2), encoding="utf-8")
    with pytest.raises(UserError, match=r"x\.json: record 1: field 'instruction': expected a string, got null"):
        load_trajectories(f)


def test_role_samples_of_a_small_trajectory() -> None:
    rec = _traj_record()
    s = role_samples(rec)
    assert {k: len(v) for k, v in s.items()} == {"backbone": 2, "planner": 2, "caller": 1, "summarizer": 1}
    doc, names = render_doc(TOOLS), tool_names(TOOLS)
    turns = rec["conversations"]
    assert s["planner"][1] == {
        "tools": TOOLS,
        "history": turns[:4],
        "input": build_input("planner", doc=doc, history=serialize_history(turns[:4]), tool_names=names),
        "target": "Done\n Next: conclusion.",
    }
    assert s["caller"][0]["input"] == build_input(
        "caller", doc=doc, history=serialize_history(turns[:2]), tool_names=names, thought=turns[1]["value"]
    )
    assert s["summarizer"][0]["input"].endswith(
        "observation: sunnyassistant: Done\n Next: conclusion.</s> conclusion: "
    )
    assert [r["target"] for r in s["backbone"]] == [
        'T\nAction: get_weather\nAction Input: {"city": "Paris"}',
        "Done\nconclusion: It is sunny.",
    ]
    # The backbone history merges planner and caller turns into one assistant turn.
    assert (
        'assistant: T\nAction: get_weather\nAction Input: {"city": "Paris"}</s>observation: sunny'
        in (s["backbone"][1]["input"])
    )
    alpaca = role_samples(rec, style="toolalpaca")
    assert alpaca["planner"][0]["input"].endswith("followed by Next: caller or conclusion. assistant: ")


def test_role_samples_skip_hallucinated_calls_and_none_conclusions() -> None:
    turns = [
        {"from": "user", "value": "Q"},
        {"from": "assistant", "value": "T\n Next: caller."},
        {"from": "caller", "value": "Action: invalid_hallucination_function_name\nAction Input: {}"},
        {"from": "observation", "value": "no such function"},
        {"from": "assistant", "value": "Stop\n Next: conclusion."},
        {"from": "conclusion", "value": "none"},
    ]
    s = role_samples(_traj_record(conversations=turns))
    assert [r["target"] for r in s["planner"]] == ["Stop\n Next: conclusion."]
    assert s["caller"] == [] and s["summarizer"] == []
    # A trailing assistant turn without marker is not a sample (the released script would crash on it).
    s = role_samples(_traj_record(conversations=[{"from": "user", "value": "Q"}, {"from": "assistant", "value": "hm"}]))
    assert s["planner"] == [] and s["backbone"] == []
