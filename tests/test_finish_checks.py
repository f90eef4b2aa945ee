"""Finish checks: a conclusion right after a failed call, or while an offered tool the request speaks of is uncalled,
becomes another call (or a give-up after three failures in a row). The rules read only turns and docs, so each
outcome follows from them; the runtime step runs on a real RunState, and ``eval static --finish-checks`` on a real
llama.cpp engine (untrained SmolLM2) over a stage-2 file written here."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest
from flows import drain
from test_eval_static import _bundle, smol_available  # noqa: F401  (a fixture)

from umi_edge.agent import AgentConfig
from umi_edge.agent import events as ev
from umi_edge.agent.relevance import doc_words
from umi_edge.agent.state import RunState
from umi_edge.agent.unfinished import (
    FAILURES_BEFORE_GIVING_UP,
    alpha_doc_words,
    failed,
    keep_going,
    unfinished,
    withdrawn,
)
from umi_edge.cli import main
from umi_edge.eval.static import finish_check, gold_steps
from umi_edge.formats import Trajectory
from umi_edge.formats.parse import Plan, render_call, render_plan
from umi_edge.tools.loading import tools_from_spec
from umi_edge.tools.registry import ToolRegistry

WEATHER = {
    "name": "get_weather",
    "description": "The current weather of a city.",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
}
EXCHANGE = {
    "name": "convert_currency",
    "description": "Convert an amount of money from one currency to another at today's exchange rate.",
    "parameters": {
        "type": "object",
        "properties": {"amount": {"type": "number"}, "source": {"type": "string"}, "target": {"type": "string"}},
        "required": ["amount", "source", "target"],
    },
}
REQUEST = "What is the weather in Paris, and how much is 20 EUR in dollars at the current exchange rate?"
FINISH = Plan("finish", "I have the weather.", render_plan("I have the weather.", "finish"))
DOCS = {t["name"]: doc_words(tools_from_spec([t])[0]) for t in (WEATHER, EXCHANGE)}


def _turns(*observations: str, tool: str = "get_weather") -> list[dict[str, str]]:
    turns = [{"from": "user", "value": REQUEST}]
    for obs in observations:
        turns += [
            {"from": "assistant", "value": render_plan("I will call the tool.", "call")},
            {"from": "caller", "value": render_call(tool, {"city": "Paris"})},
            {"from": "observation", "value": obs},
        ]
    return turns


def test_what_counts_as_a_failed_call() -> None:
    assert failed("") and failed("  \n") and failed('{"error": "no such city"}')
    assert not failed('{"error": ""}') and not failed('{"temp": 21}') and not failed("sunny") and not failed("[]")


@pytest.mark.parametrize(
    "observation",
    [
        "{'error': 'Request timed out'}",  # a Python literal, as ToolBench's services answer
        "{'message': \"Endpoint '/search/shows' does not exist\"}",
        "{'message': 'This endpoint is disabled for your subscription'}",
        '{"detail": [{"loc": ["header", "Authorization"], "msg": "field required", "type": "value_error.missing"}]}',
        '{"messages": "The request to the API has timed out. Please try again later."}',
        '{"success": false, "message": "Invalid API key"}',
        "\"{'message': 'Blocked User. Please contact your API provider.'}\"",  # a quoted string holding one
        "<!DOCTYPE html><html><head><title>Heroku | Application Error</title></head><body></body></html>",
        "503 Service Unavailable",
        "{'message': 'unknown service prime_video'}",
        "{'type': 'https://tools.ietf.org/html/rfc7231#section-6.5.1', 'title': 'Bad Request', 'status': 400, "
        "'traceId': '|b1da66ad-47a57f57d8b1a7d2.'}",  # an HTTP problem report (RFC 7807)
    ],
)
def test_a_service_message_that_the_call_did_not_work_is_a_failure(observation: str) -> None:
    assert failed(observation)
    why = unfinished(REQUEST, DOCS, _turns(observation))
    assert why is not None and why.reason == "failed" and why.plan().label == "call"  # tried again, not given up


@pytest.mark.parametrize(
    "observation",
    [
        '{"error": "", "response": "[1, 2]"}',  # ToolBench's wrapper with an empty error
        "{'status': 'ok', 'data': {'valid': False, 'reason': 'invalid domain'}}",  # data that mentions "invalid"
        '{"message": "Success", "count": 3}',
        '{"status": "up", "api_name": "contests"}',
        '{"title": "Unknown Pleasures", "type": "album"}',  # problem-report keys, but no failure word in a title
        "<html><head><title>27coupons.com</title></head></html>",  # a page, but not an error page
        "Required documents: passport, visa. " + "The embassy is open on weekdays. " * 12,  # long text is data
        '"Osteospermum"',
    ],
)
def test_data_is_not_a_failure_even_when_it_holds_an_error_word(observation: str) -> None:
    assert not failed(observation)


def test_no_call_yet_leaves_the_conclusion() -> None:
    assert unfinished(REQUEST, DOCS, _turns()) is None  # a direct answer stands


def test_an_uncalled_tool_the_request_speaks_of_is_called() -> None:
    why = unfinished(REQUEST, DOCS, _turns('{"temp": 21, "sky": "sunny"}'))
    assert why is not None and why.reason == "unasked" and why.tool == "convert_currency"
    assert "exchange" in why.words and "paris" not in why.words  # get_weather's doc holds no "paris", but it was called
    plan = why.plan()
    assert plan.label == "call" and "convert_currency" in plan.thought
    # once that tool is called, or already asked for, the conclusion stands
    done = _turns('{"temp": 21}') + _turns('{"result": 21.6}', tool="convert_currency")[1:]
    assert unfinished(REQUEST, DOCS, done) is None
    assert unfinished(REQUEST, DOCS, _turns('{"temp": 21}'), asked={"convert_currency"}) is None
    # a tool asked for and then called still covers its words: a look-alike tool is not asked for next
    twin = {**DOCS, "currency_rates": DOCS["convert_currency"]}
    called_after_asking = _turns('{"temp": 21}') + _turns('{"result": 21.6}', tool="convert_currency")[1:]
    assert unfinished(REQUEST, twin, called_after_asking, asked={"convert_currency"}) is None


def test_words_an_observation_or_a_called_tool_holds_ask_for_nothing() -> None:
    observed = _turns('{"temp": 21, "note": "exchange rate 1.08 dollars per EUR, currency amount 21.6"}')
    assert unfinished(REQUEST, DOCS, observed) is None
    only_weather = {"get_weather": DOCS["get_weather"], "weather_alerts": DOCS["get_weather"]}
    assert unfinished("What is the weather in Paris?", only_weather, _turns('{"temp": 21}')) is None


def test_a_failed_call_is_tried_again_then_given_up() -> None:
    why = unfinished(REQUEST, DOCS, _turns('{"temp": 21}', '{"error": "timeout"}'))
    assert why is not None and (why.reason, why.tool, why.failures) == ("failed", "get_weather", 1)
    assert why.plan().label == "call" and not why.gives_up
    errors = ['{"error": "timeout"}'] * (FAILURES_BEFORE_GIVING_UP - 1) + [""]
    why = unfinished(REQUEST, DOCS, _turns(*errors))
    assert why is not None and why.failures == FAILURES_BEFORE_GIVING_UP and why.plan().label == "give_up"
    # after an earlier call that succeeded, its results may answer: the conclusion stands
    assert unfinished(REQUEST, DOCS, _turns('{"temp": 21}', *errors)) is None


def _state(turns: list[dict[str, str]], config: AgentConfig | None = None) -> RunState:
    registry = ToolRegistry(tools_from_spec([WEATHER, EXCHANGE]))
    state = RunState(None, registry, config or AgentConfig(), Path.cwd(), threading.Event())  # type: ignore[arg-type]
    state.turns = turns
    return state


def test_the_runtime_step_overrules_once_per_tool_and_can_be_turned_off() -> None:
    state = _state(_turns('{"temp": 21}'))
    events, plan = drain(keep_going(state, 2, FINISH))
    assert plan.label == "call" and plan.text.endswith("Next: caller.")
    assert events == [ev.FinishOverruled(2, "unasked", "convert_currency", list(events[0].words), 0, "call")]
    assert "convert_currency" in events[0].note
    assert drain(keep_going(state, 3, FINISH)) == ([], FINISH)  # asked for once: the caller chose otherwise
    off = _state(_turns('{"error": "timeout"}'), AgentConfig(finish_checks=False))
    assert drain(keep_going(off, 2, FINISH)) == ([], FINISH)
    give_up = Plan("give_up", "", render_plan("", "give_up"))
    assert drain(keep_going(_state(_turns('{"error": "x"}')), 2, give_up)) == ([], give_up)
    gives_up = _state(_turns(*[""] * FAILURES_BEFORE_GIVING_UP))
    events, plan = drain(keep_going(gives_up, 4, FINISH))
    assert plan.label == "give_up" and events[0].label == "give_up" and "gives up" in events[0].note


def _stage2(path: Path) -> Path:
    def doc(t: dict) -> dict:
        return {
            "Name": t["name"],
            "function": t["description"],
            "input": dict.fromkeys(t["parameters"]["properties"], "string, "),
        }

    tools = [doc(t) for t in (WEATHER, EXCHANGE)]
    conversations = [
        {"from": "user", "value": REQUEST},
        {"from": "assistant", "value": render_plan("I will get the weather.", "call")},
        {"from": "caller", "value": 'Action: get_weather\nAction Input: {"city": "Paris"}'},
        {"from": "observation", "value": '{"temp": 21}'},
        {"from": "assistant", "value": render_plan("Now the money.", "call")},
        {"from": "caller", "value": 'Action: convert_currency\nAction Input: {"amount": 20}'},
        {"from": "observation", "value": '{"result": 21.6}'},
        {"from": "assistant", "value": render_plan("I have both.", "finish")},
        {"from": "conclusion", "value": "It is 21 degrees in Paris; 20 EUR is 21.6 dollars."},
    ]
    path.write_text(json.dumps([{"tools": tools, "instruction": "", "conversations": conversations}]))
    return path


def test_static_steps_are_checked_on_their_gold_history(tmp_path: Path) -> None:
    traj = json.loads(_stage2(tmp_path / "d.json").read_text())[0]
    steps = gold_steps(Trajectory(traj["tools"], "", traj["conversations"]), 0)
    assert [s.plan for s in steps] == ["call", "call", "finish"]
    assert finish_check(steps[0]) is None
    why = finish_check(steps[1])
    assert why is not None and why.tool == "convert_currency"
    assert finish_check(steps[2]) is None
    assert "exchange" in alpha_doc_words(traj["tools"][1])


def test_eval_static_finish_checks_on_smollm2(
    smol_available: None,  # noqa: F811
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    bundle = _bundle(tmp_path / "bundle", "merged")
    preds = tmp_path / "p.jsonl"
    argv = ["eval", "static", str(_stage2(tmp_path / "d.json")), "--bundle", str(bundle), "--finish-checks"]
    argv += ["--max-tokens", "24", "--threads", "1", "--predictions-out", str(preds), "--json", "--no-progress"]
    assert main(argv) == 0
    summary = json.loads(capsys.readouterr().out)
    records = [json.loads(line) for line in preds.read_text().splitlines()]
    checked = [r for r in records if "finish_check" in r["raw"]]
    assert summary["finish_checks"]["overruled"] == len(checked)
    for r in checked:  # only the planner's conclusions are checked, and each became a call or a give-up
        assert "Next: conclusion." in r["raw"]["planner"] and r["pred_plan"] != "finish"
    own = [("finish" if "finish_check" in r["raw"] else r["pred_plan"]) == r["gold_plan"] for r in records]
    assert summary["finish_checks"]["planner_plan_acc"] == pytest.approx(100 * sum(own) / len(records), abs=0.01)
    assert main(argv[:3] + ["--single", "--finish-checks", "--bundle", str(bundle)]) == 2
    assert "multi-LLM planner" in capsys.readouterr().err


def test_an_asked_for_call_that_is_not_made_restores_the_conclusion_or_gives_up() -> None:
    state = _state(_turns('{"temp": 21}'))
    _, plan = drain(keep_going(state, 2, FINISH))
    assert plan.label == "call" and state.overruled == FINISH
    events, restored = drain(withdrawn(state, 2, "made_up"))
    assert restored == FINISH and events == [ev.FinishRestored(2, "made_up", "finish")] and state.overruled is None
    assert "conclusion stands" in events[0].note
    nothing = _state(_turns('{"error": "timeout"}'))
    _, plan = drain(keep_going(nothing, 2, FINISH))
    assert plan.label == "call"  # a retry
    events, restored = drain(withdrawn(nothing, 2, "repeated"))
    assert restored.label == "give_up" and events == [ev.FinishRestored(2, "repeated", "give_up")]
    _, plan = drain(keep_going(nothing, 3, plan))  # a call the planner chose itself is not optional
    assert nothing.overruled is None


def test_the_switch_is_an_agent_option_and_an_eval_bfcl_option() -> None:
    from umi_edge.cli import build_parser
    from umi_edge.commands import _options as opt

    parser = build_parser()
    for argv in (["run", "hi", "--no-finish-checks"], ["eval", "bfcl", "parallel", "--no-finish-checks"]):
        assert opt.agent_config(parser.parse_args(argv)).finish_checks is False
    assert opt.agent_config(parser.parse_args(["run", "hi"])).finish_checks is True
