"""Planner and caller output parsing: render → parse round-trips (hypothesis), routing rules, precise errors."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from umi_edge.formats.parse import (
    PLAN_MARKERS,
    Call,
    CallParseError,
    Plan,
    action_name,
    parse_call,
    parse_plan,
    render_call,
    render_plan,
)

LABELS = list(PLAN_MARKERS)

# Thoughts: any text without a plan marker in it (a marker inside the thought would end the turn there).
thoughts = st.text(st.characters(blacklist_categories=("Cs",)), max_size=200).filter(
    lambda t: not any(m in t for m in PLAN_MARKERS.values())
)
tool_name = st.from_regex(r"[A-Za-z_][A-Za-z0-9_.\-]{0,63}", fullmatch=True)
json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(10**12), 10**12)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=30),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4),
    max_leaves=12,
)
arguments = st.dictionaries(st.text(max_size=15), json_values, max_size=6)


@given(thought=thoughts, label=st.sampled_from(LABELS))
def test_plan_round_trip(thought: str, label: str) -> None:
    text = render_plan(thought, label)
    assert parse_plan(text) == Plan(label, thought, text)


@given(thought=thoughts, label=st.sampled_from(LABELS), tail=st.text(max_size=50))
def test_plan_cut_right_after_first_marker(thought: str, label: str, tail: str) -> None:
    text = render_plan(thought, label)
    plan = parse_plan(text + tail)
    assert plan.label == label and plan.thought == thought and plan.text == text


@given(thought=thoughts)
def test_plan_without_marker_is_a_call(thought: str) -> None:
    plan = parse_plan(thought)
    assert plan.label == "call"
    assert plan.text == render_plan(thought.rstrip(), "call")


def test_plan_formats_of_the_training_data() -> None:
    assert render_plan("I will search.", "call") == "I will search.\n Next: caller."
    assert render_plan("", "give_up") == " Next: give up."
    assert parse_plan(" Next: conclusion.") == Plan("finish", "", " Next: conclusion.")
    # The first marker wins and everything after it is cut.
    p = parse_plan("Done.\n Next: conclusion. Next: give up. more")
    assert p == Plan("finish", "Done.", "Done.\n Next: conclusion.")
    # Capitalised markers from some write-ups are not markers: such output goes to the caller.
    assert parse_plan("Next: Caller").label == "call"
    assert parse_plan("x Next: give up.").thought == "x"


@given(name=tool_name, args=arguments)
def test_call_round_trip(name: str, args: dict) -> None:
    assert parse_call(render_call(name, args)) == Call(name, args)


@settings(max_examples=50)
@given(
    name=tool_name,
    args=arguments,
    pre=st.sampled_from(["", "  \n", "Sure.\n", "```\n", "```text\n"]),
    post=st.sampled_from(["", "\n", "  \n\n", "\n```", "\nThought: next I will"]),
    indent=st.sampled_from([None, 2]),
)
def test_call_tolerates_whitespace_fences_and_trailing_text(name, args, pre, post, indent) -> None:
    text = f"{pre}Action:  {name} \nAction Input:   {json.dumps(args, indent=indent)}{post}"
    assert parse_call(text) == Call(name, args)


def test_call_with_fenced_json_and_released_spacing() -> None:
    assert parse_call('Action: f\nAction Input: ```json\n{"a": [1, 2]}\n```') == Call("f", {"a": [1, 2]})
    assert parse_call('Action: quiz_for_moodring\nAction Input: {\n  "quizid": "1"\n}') == Call(
        "quiz_for_moodring", {"quizid": "1"}
    )
    assert parse_call("Action: `f`\nAction Input: {}") == Call("f", {})
    assert parse_call('Action: f Action Input: {"a": 1}') == Call("f", {"a": 1})  # one line


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("I would call the weather tool", r"no 'Action:' line"),
        ("Action:   \nAction Input: {}", r"'Action:' line has no tool name"),
        ("Action: get_weather", r"no 'Action Input:' line after 'Action: get_weather'"),
        ("Action: get_weather\nAction Input:   ", r"'Action Input:' of 'get_weather' is empty"),
        ('Action: f\nAction Input: {"city": Paris}', r"not valid JSON: Expecting value at char 9"),
        ('Action: f\nAction Input: {"a": 1', r"not valid JSON: Expecting ',' delimiter at char 7"),
        ('Action: f\nAction Input: ["Paris"]', r"is a JSON array, expected an object"),
        ('Action: f\nAction Input: "Paris"', r"is a JSON string, expected an object"),
    ],
)
def test_call_errors_say_what_is_wrong(text: str, message: str) -> None:
    with pytest.raises(CallParseError, match=message):
        parse_call(text)


def test_call_parse_error_is_a_value_error() -> None:
    assert issubclass(CallParseError, ValueError)


@pytest.mark.parametrize(
    "marker",
    ["Next: Caller.", "NEXT: CALLER.", "next: conclusion.", "Next: Conclusion.", "Next: Give up.", "NEXT: GIVE UP."],
)
def test_wrong_case_markers_are_not_markers(marker: str) -> None:
    """Markers match case-sensitively: a wrong-case one is text of the thought, and the turn goes to the caller
    (no KeyError from a label lookup that only knows the exact markers)."""
    text = f"I will look it up.\n {marker} More text"
    plan = parse_plan(text)
    assert plan == Plan("call", text.rstrip(), render_plan(text.rstrip(), "call"))
    # a real marker after the wrong-case one still ends the turn there
    plan = parse_plan(f"{text} Next: conclusion. tail")
    assert plan.label == "finish" and plan.thought == text and plan.text == f"{text} Next: conclusion."


def test_action_name_reads_the_name_as_parse_call_does_without_needing_the_input() -> None:
    assert action_name('Action: get_weather\nAction Input: {"city": "Paris"}') == "get_weather"
    assert action_name("```\nAction: `lookup`\nAction Input: {not json\n```") == "lookup"
    assert action_name('Action: f Action Input: {"x": 1}') == "f"
    assert action_name("I will call the tool.") is None and action_name("Action:   \nAction Input: {}") is None
