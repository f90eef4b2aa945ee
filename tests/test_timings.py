"""The one timing aggregate (umi_edge.agent.timings) and the three places that read it: ``run --json``'s
"timings" (Agent.timings), the chat's /stats (SessionStats) and bench's agent steps (per-step totals)."""

from __future__ import annotations

import json

from umi_edge.agent.events import Event, FinalAnswer, Observation, PlanDecided, RunFinished, Timing, ToolCall
from umi_edge.agent.timings import Timings, TimingTotals
from umi_edge.tui.app import SessionStats

EVENTS: list[Event] = [
    PlanDecided(1, "call", "t", "t\n Next: caller."),
    Timing(1, "planner", 400, 400, 0, 10, 0.123456, 0.5, 410, 1024),
    ToolCall(1, "calculator", {"expression": "1+1"}, "raw"),
    Timing(1, "caller", 500, 100, 400, 20, 0.05, 0.25, 520, 1024),
    Observation(1, "calculator", '{"result": 2}'),
    Timing(2, "planner", 520, 30, 490, 5, 0.01, 0.0, 525, 1024),
    FinalAnswer(2, "2"),
    Timing(2, "summarizer", 300, 300, 0, 0, 0.2, 0.0, 300, 1024),
    RunFinished(2, "finished", "2"),
]

# What `run --json` printed for these events before the aggregate existed (same keys, order, rounding).
RUN_JSON_ROLES = {
    "planner": {
        "calls": 2,
        "prompt_tokens": 920,
        "prompt_evaluated": 430,
        "prompt_reused": 490,
        "generated_tokens": 15,
        "prompt_seconds": 0.1335,
        "generate_seconds": 0.5,
        "tokens_per_second": 30.0,
    },
    "caller": {
        "calls": 1,
        "prompt_tokens": 500,
        "prompt_evaluated": 100,
        "prompt_reused": 400,
        "generated_tokens": 20,
        "prompt_seconds": 0.05,
        "generate_seconds": 0.25,
        "tokens_per_second": 80.0,
    },
    "summarizer": {
        "calls": 1,
        "prompt_tokens": 300,
        "prompt_evaluated": 300,
        "prompt_reused": 0,
        "generated_tokens": 0,
        "prompt_seconds": 0.2,
        "generate_seconds": 0.0,
        "tokens_per_second": 0.0,
    },
}


def test_per_role_document_keeps_its_shape_and_values() -> None:
    roles = Timings.of(EVENTS).roles_dict()
    assert json.dumps(roles) == json.dumps(RUN_JSON_ROLES)  # also the key order


def test_totals_and_steps() -> None:
    agg = Timings.of(EVENTS)
    assert agg.total.calls == 4 and agg.total.generated_tokens == 35 and agg.total.prompt_reused == 890
    assert agg.total.tokens_per_second == 35 / 0.75
    assert (agg.step(1).prompt_tokens, agg.step(1).prompt_evaluated) == (900, 500)
    assert (agg.step(2).prompt_tokens, agg.step(2).prompt_evaluated) == (820, 330)
    assert agg.step(3) == TimingTotals()


def test_session_stats_rows() -> None:
    stats = SessionStats()
    for event in EVENTS:
        stats.add(event)
    assert dict(stats.rows()) == {
        "generations": "4",
        "generated tokens": "35 (planner 15, caller 20, summarizer 0)",
        "decode speed": "46.7 tok/s",
        "prompt tokens": "1720: 830 evaluated, 890 reused (52%)",
        "time": "prompt 0.38s, generation 0.75s",
        "tool calls": "1",
        "answers": "1",
    }
    assert dict(SessionStats().rows())["decode speed"] == "0.0 tok/s"
