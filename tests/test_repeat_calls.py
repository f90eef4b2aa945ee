"""A call that already failed in the run is never run again: the rule over the run's events, and one real run
(SmolLM2 on real llama.cpp, the caller under the registry's grammar, a real tool that raises)."""

from __future__ import annotations

import json
from pathlib import Path

from edge_bundles import merged_bundle

from umi_edge.agent import Agent, AgentConfig
from umi_edge.agent import events as ev
from umi_edge.agent.repeats import MAX_REPEATED_FAILURES, answered_before, call_key, check_repeat
from umi_edge.engine import Engine, EngineOptions
from umi_edge.formats import parse_call
from umi_edge.tools.registry import Tool, ToolRegistry, tool

CALC = {"expression": "1/0"}


def _call(step: int, args: dict, name: str = "calculator", valid: bool = True) -> ev.ToolCall:
    return ev.ToolCall(step, name, args, raw="", valid=valid, problem=None if valid else "bad")


def _failed(step: int, args: dict = CALC, **kw: bool) -> list[ev.Event]:
    return [_call(step, args), ev.Observation(step, "calculator", '{"error": "ZeroDivisionError"}', True, **kw)]


def test_same_call_after_json_normalisation_is_a_repeat() -> None:
    a = parse_call('Action: calculator\nAction Input: {"x": 1, "y": [1, 2]}').arguments
    b = parse_call('Action: calculator\nAction Input: {"y":[1,2],   "x":1}').arguments
    assert call_key("calculator", a) == call_key("calculator", b) != call_key("calculator", {"x": 1})
    verdict = check_repeat(_failed(1, a), _call(2, b))
    assert verdict.blocked and verdict.first_step == 1 and verdict.repeats == 1 and not verdict.give_up


def test_what_is_not_a_repeat() -> None:
    ok = [_call(1, CALC), ev.Observation(1, "calculator", '{"result": 1}')]
    assert not check_repeat(ok, _call(2, CALC)).blocked  # it succeeded
    assert not check_repeat(_failed(1, denied=True), _call(2, CALC)).blocked  # the user denied it: not a failure
    invalid = [_call(1, CALC, valid=False), ev.Observation(1, "calculator", '{"error": "bad"}', True)]
    assert not check_repeat(invalid, _call(2, CALC)).blocked  # never ran
    assert not check_repeat(_failed(1), _call(2, {"expression": "1/1"})).blocked  # corrected arguments
    assert not check_repeat(_failed(1), _call(2, CALC, name="other")).blocked
    assert not check_repeat(_failed(1), _call(2, CALC, valid=False)).blocked


def test_repeats_count_over_the_run_and_the_limit_gives_up() -> None:
    events: list[ev.Event] = [*_failed(1), *_failed(2, {"expression": "2/0"})]
    for n in range(1, MAX_REPEATED_FAILURES + 1):
        call = _call(2 + n, CALC if n % 2 else {"expression": "2/0"})
        events.append(call)  # the agent records the call before it decides
        verdict = check_repeat(events, call)
        assert verdict.blocked and verdict.repeats == n and verdict.give_up == (n == MAX_REPEATED_FAILURES)
        events += [
            ev.RepeatedCall(call.step, call.name, call.arguments, verdict.first_step or 0, n),
            ev.Observation(call.step, call.name, '{"error": "already failed"}', True),
        ]


RAN: list[dict] = []


def _run_untrained(tmp_path: Path, only: Tool, query: str) -> tuple[Agent, list[ev.Event]]:
    """The untrained merged SmolLM2 bundle with ``only`` as its one tool: the planner's 8 tokens write no marker (so
    the caller is asked every step) and the caller's grammar allows only ``only`` with no arguments."""
    engine = Engine.from_bundle(merged_bundle(tmp_path / "bundle", context_length=1024), EngineOptions(threads=1))
    RAN.clear()
    with engine:
        config = AgentConfig(max_steps=6, max_new_tokens={"planner": 8, "caller": 24, "summarizer": 8})
        agent = Agent(engine, ToolRegistry([only]), workspace=tmp_path, config=config)
        events = [e for e in agent.run(query) if not isinstance(e, ev.TokenDelta)]
    return agent, events


@tool(effect="read")
def fetch_report() -> dict:
    """Fetch today's sales report."""
    RAN.append({})
    raise RuntimeError("the report service is down")


def test_agent_never_runs_a_failed_call_twice(tmp_path: Path) -> None:
    """The constrained caller can only write ``fetch_report {}``: the first call fails for real, the next two are
    not run (error observations, RepeatedCall events), and the second repeat ends the run as given up."""
    agent, events = _run_untrained(tmp_path, fetch_report, "Get me today's sales report.")
    assert [e.label for e in events if isinstance(e, ev.PlanDecided)] == ["call"] * (MAX_REPEATED_FAILURES + 1)
    calls = [e for e in events if isinstance(e, ev.ToolCall)]
    assert [(c.name, c.arguments, c.valid) for c in calls] == [("fetch_report", {}, True)] * len(calls)
    assert len(RAN) == 1  # the tool ran once
    obs = [e for e in events if isinstance(e, ev.Observation)]
    assert all(o.is_error for o in obs) and "the report service is down" in obs[0].content
    for o in obs[1:]:
        assert "this exact call already failed at step 1" in json.loads(o.content)["error"]
    repeats = [e for e in events if isinstance(e, ev.RepeatedCall)]
    assert [(r.step, r.first_step, r.repeats, r.gives_up) for r in repeats] == [(2, 1, 1, False), (3, 1, 2, True)]
    gave_up = [e for e in events if isinstance(e, ev.GaveUp)]
    assert len(gave_up) == 1 and "repeated calls that already failed" in gave_up[0].reason
    assert agent.status == "gave_up" and events[-1].status == "gave_up" and events[-1].step == 3
    assert [t["from"] for t in agent.conversation].count("observation") == 3
    # the events survive the transcript round trip
    assert ev.from_dict(ev.to_dict(repeats[0])) == repeats[0]


def _ran(step: int, args: dict, effect: str = "read", error: bool = False) -> list[ev.Event]:
    call = ev.ToolCall(step, "calculator", args, raw="", effect=effect)
    return [call, ev.Observation(step, "calculator", '{"error": "x"}' if error else '{"result": 1}', error)]


def test_a_read_call_that_already_succeeded_is_answered() -> None:
    again = ev.ToolCall(3, "calculator", {"expression": "1+1"}, raw="", effect="read")
    assert answered_before(_ran(1, {"expression": "1+1"}), again) == 1
    assert answered_before([*_ran(1, {"expression": "1+1"}), *_ran(2, {"expression": "2"})], again) == 1
    assert answered_before(_ran(1, {"expression": "1+2"}), again) is None  # other arguments
    assert answered_before(_ran(1, {"expression": "1+1"}, error=True), again) is None  # failed: check_repeat's case
    # a write or exec call in between may change what a read returns
    assert answered_before([*_ran(1, {"expression": "1+1"}), *_ran(2, {"p": "a"}, effect="write")], again) is None
    assert answered_before([*_ran(1, {"expression": "1+1"}), *_ran(2, {"c": "x"}, effect="exec")], again) is None
    write = ev.ToolCall(3, "calculator", {"expression": "1+1"}, raw="", effect="write")
    assert answered_before(_ran(1, {"expression": "1+1"}, effect="write"), write) is None  # writes always run


@tool(effect="read")
def todays_total() -> dict:
    """Today's sales total."""
    RAN.append({})
    return {"total": 4312}


def test_agent_answers_a_repeated_lookup_from_the_first_observation(tmp_path: Path) -> None:
    """The untrained planner keeps asking for the caller, which can only write ``todays_total {}``: the call runs
    once; its repeat is not run and the summarizer answers at step 2 (RepeatedCall with ``succeeded``)."""
    agent, events = _run_untrained(tmp_path, todays_total, "What are today's sales?")
    assert len(RAN) == 1
    assert [(c.step, c.name) for c in events if isinstance(c, ev.ToolCall)] == [
        (1, "todays_total"),
        (2, "todays_total"),
    ]
    repeats = [e for e in events if isinstance(e, ev.RepeatedCall)]
    assert [(r.step, r.first_step, r.succeeded, r.gives_up) for r in repeats] == [(2, 1, True, False)]
    assert agent.status == "finished" and isinstance(events[-2], ev.FinalAnswer) and events[-1].step == 2
    froms = [t["from"] for t in agent.conversation]
    assert froms == ["user", "assistant", "caller", "observation", "assistant", "conclusion"]
    assert agent.conversation[4]["value"].endswith("Next: conclusion.")
    assert ev.from_dict(ev.to_dict(repeats[0])) == repeats[0]
