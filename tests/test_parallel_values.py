"""Parallel values: a value the request lists with one of the last call's arguments gets a call of its own before the
run concludes. The siblings are read from the request alone; the owed call goes through the real caller step (a real
llama.cpp engine on the untrained SmolLM2 bundle), which only checks it, so each outcome follows from the rule."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from edge_bundles import merged_bundle
from flows import drain

from umi_edge.agent import AgentConfig, caller
from umi_edge.agent import events as ev
from umi_edge.agent.parallel_values import extend_plan, instead_of_repeat, pending_call, siblings
from umi_edge.agent.state import RunState
from umi_edge.engine import Engine, EngineOptions
from umi_edge.formats.parse import Plan, render_call, render_plan
from umi_edge.tools.loading import tools_from_spec
from umi_edge.tools.registry import ToolRegistry

WEATHER = {
    "name": "get_weather",
    "description": "The current weather of a city.",
    "parameters": {
        "type": "object",
        "properties": {
            "city": {"type": "string", "description": "The city."},
            "kind": {"type": "string", "enum": ["Music", "Theater"], "description": "Kind of event."},
        },
        "required": ["city"],
    },
}
ROUTE = {
    "name": "route",
    "description": "The fastest route between two cities.",
    "parameters": {
        "type": "object",
        "properties": {"start": {"type": "string"}, "end": {"type": "string"}},
        "required": ["start", "end"],
    },
}
FINISH = Plan("finish", "I have the weather.", render_plan("I have the weather.", "finish"))


def test_siblings_are_read_from_the_request() -> None:
    assert siblings("Boston", "What's the weather like in the two cities of Boston and San Francisco?") == [
        "San Francisco"
    ]
    assert siblings("Boston, MA", "the weather for Boston, MA and also for San Francisco?") == ["San Francisco"]
    assert siblings("Paris", "Weather in Paris, London and Rome, please") == ["London", "Rome"]
    assert siblings("Boston, USA", "weather in Boston, USA and also in San Francisco, USA?") == ["San Francisco, USA"]
    # a two-part value's siblings are the two-part ones where there are any
    assert siblings("Paris, France", "news for Paris, France, in English and also for Letterkenny, Ireland") == [
        "Letterkenny, Ireland"
    ]
    # a value that modifies the one before it (", in English") is not listed with what that one is listed with
    assert siblings("English", "news for Paris, France, in English and also for Letterkenny, Ireland") == []
    assert siblings("Celsius", "the weather in Boston, in Celsius and Fahrenheit") == ["Fahrenheit"]
    assert siblings("Rio de Janeiro", "Rio de Janeiro or São Paulo") == ["São Paulo"]
    assert siblings(2, "What's the cost of 2 and 4 gb ram machines?") == [4]
    assert siblings("pending", "all pending and active mandates") == ["active"]
    assert siblings("Python", "interviewers for Python and Java") == ["Java"]
    # nothing listed with the value
    assert siblings("Boston", "What's the weather in Boston?") == []
    assert siblings(5, "Convert 5 km to miles and add 3") == []
    assert siblings("music", "music and the theater") == []  # "the theater" is no value of one word
    assert siblings(True, "yes and no") == []


def _state(engine: Engine, tool: dict, request: str, call: dict, config: AgentConfig | None = None) -> RunState:
    registry = ToolRegistry(tools_from_spec([tool]))
    state = RunState(engine, registry, config or AgentConfig(), Path.cwd(), threading.Event())
    state.add_turn("user", request)
    state.add_turn("assistant", render_plan("I will call the tool.", "call"))
    state.add_turn("caller", render_call(tool["name"], call))
    state.add_turn("observation", '{"status": "ok"}')
    return state


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Engine:
    bundle = merged_bundle(tmp_path_factory.mktemp("parallel") / "bundle", context_length=1024)
    with Engine.from_bundle(bundle, EngineOptions(threads=1)) as e:
        yield e


def test_a_listed_value_gets_its_own_call(engine: Engine) -> None:
    state = _state(engine, WEATHER, "What's the weather in Boston and San Francisco?", {"city": "Boston"})
    events, plan = drain(extend_plan(state, 2, FINISH))
    assert events == [ev.ValuesPending(2, "city", '"San Francisco"')]
    assert plan.label == "call" and plan.thought == "The same for San Francisco."
    state.add_turn("assistant", plan.text)
    events, (tc, _) = drain(caller.call(state, 2, plan.text))
    assert tc.name == "get_weather" and tc.arguments == {"city": "San Francisco"} and tc.problem is None
    assert state.pending is None  # used once
    state.add_turn("caller", caller.history_text(tc))
    state.add_turn("observation", '{"status": "ok"}')
    assert drain(extend_plan(state, 3, FINISH)) == ([], FINISH)  # both cities called: the run may conclude


def test_no_call_is_owed_after_an_error_when_off_or_when_a_call_holds_the_value(engine: Engine) -> None:
    request = "What's the weather in Boston and San Francisco?"
    failed = _state(engine, WEATHER, request, {"city": "Boston"})
    failed.last_call_failed = True
    assert pending_call(failed) is None
    off = _state(engine, WEATHER, request, {"city": "Boston"}, AgentConfig(parallel_calls=False))
    assert drain(extend_plan(off, 2, FINISH)) == ([], FINISH)
    route = _state(engine, ROUTE, "Find the route between Boston and New York", {"start": "Boston", "end": "New York"})
    assert pending_call(route) is None  # "New York" is already the end
    give_up = Plan("give_up", "", render_plan("", "give_up"))
    assert drain(extend_plan(_state(engine, WEATHER, request, {"city": "Boston"}), 2, give_up)) == ([], give_up)


def test_an_enum_sibling_is_written_as_the_schema_writes_it(engine: Engine) -> None:
    state = _state(engine, WEATHER, "music or theater events in Austin", {"city": "Austin", "kind": "Music"})
    owed = pending_call(state)
    assert owed is not None and owed[1:] == ("kind", "Theater")
    state = _state(engine, WEATHER, "music or opera events in Austin", {"city": "Austin", "kind": "Music"})
    assert pending_call(state) is None  # "opera" is no value of the enum


def test_a_repeated_call_becomes_the_owed_one(engine: Engine) -> None:
    state = _state(engine, WEATHER, "What's the weather in Boston and San Francisco?", {"city": "Boston"})
    state.add_turn("assistant", render_plan("And the next city.", "call"))
    assert drain(instead_of_repeat(state, 2, "get_weather", {"city": "Paris"})) == ([], False)  # no repeat
    assert state.pending is None
    events, swapped = drain(instead_of_repeat(state, 2, "get_weather", {"city": "Boston"}))
    assert swapped and events == [ev.ValuesPending(2, "city", '"San Francisco"')]
    assert state.pending == render_call("get_weather", {"city": "San Francisco"})
