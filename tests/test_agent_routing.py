"""The agent's routing on a tiny model trained in the test to reproduce α-UMi trajectories exactly (real llama.cpp):
caller then conclusion, give up, a tool error observed and recovered from, a planner turn without marker."""

from __future__ import annotations

from pathlib import Path

import pytest
from edge_trained import QUERY_FINISH, QUERY_GIVE_UP, QUERY_NO_MARKER, QUERY_RECOVER, build_trained_bundle, episodes

from umi_edge.agent import Agent, AgentConfig
from umi_edge.agent import events as ev
from umi_edge.engine import Engine, EngineOptions
from umi_edge.tools.registry import builtin_registry

pytest.importorskip("torch")

REG = builtin_registry().subset(["calculator"])


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Engine:
    bundle = build_trained_bundle(tmp_path_factory.mktemp("trained"), REG)
    eng = Engine.from_bundle(bundle, EngineOptions(threads=1))
    yield eng
    eng.close()


def _run(engine: Engine, query: str, tmp_path: Path, max_steps: int = 4) -> tuple[Agent, list]:
    config = AgentConfig(max_steps=max_steps, relevance_gate=False)  # the scripted queries say nothing of the tools
    agent = Agent(engine, REG, workspace=tmp_path, config=config)
    events = [e for e in agent.run(query) if not isinstance(e, ev.TokenDelta)]
    return agent, events


def _gold(query: str) -> list[dict]:
    return next(e["conversations"] for e in episodes(REG) if e["instruction"] == query)


def test_caller_then_conclusion(engine: Engine, tmp_path: Path) -> None:
    agent, events = _run(engine, QUERY_FINISH, tmp_path)
    assert agent.conversation == _gold(QUERY_FINISH)
    assert [e.label for e in events if isinstance(e, ev.PlanDecided)] == ["call", "finish"]
    call = next(e for e in events if isinstance(e, ev.ToolCall))
    assert (call.name, call.arguments, call.valid) == ("calculator", {"expression": "6*7"}, True)
    assert agent.status == "finished" and agent.answer == "6 times 7 is 42."
    assert isinstance(events[-2], ev.FinalAnswer) and events[-1].status == "finished"
    # the caller ran under the grammar; the second planner step reused the first one's prompt
    assert all(e.extra["constrained"] for e in events if isinstance(e, ev.Timing) and e.role == "caller")
    planner = [e for e in events if isinstance(e, ev.Timing) and e.role == "planner"]
    assert planner[1].prompt_evaluated < planner[1].prompt_tokens / 3


def test_give_up(engine: Engine, tmp_path: Path) -> None:
    agent, events = _run(engine, QUERY_GIVE_UP, tmp_path)
    assert agent.conversation == _gold(QUERY_GIVE_UP)
    assert agent.status == "gave_up" and agent.answer is None
    assert [type(e).__name__ for e in events if not isinstance(e, ev.Timing)] == [
        "PlanDecided",
        "GaveUp",
        "RunFinished",
    ]


def test_tool_error_observed_and_recovered(engine: Engine, tmp_path: Path) -> None:
    agent, events = _run(engine, QUERY_RECOVER, tmp_path)
    assert agent.conversation == _gold(QUERY_RECOVER)
    obs = [e for e in events if isinstance(e, ev.Observation)]
    assert obs[0].is_error and "division by zero" in obs[0].content
    assert not obs[1].is_error and '"result": 8' in obs[1].content
    assert agent.status == "finished" and "8" in (agent.answer or "")


def test_no_marker_routes_to_caller_and_max_steps(engine: Engine, tmp_path: Path) -> None:
    agent, events = _run(engine, QUERY_NO_MARKER, tmp_path, max_steps=1)
    plan = next(e for e in events if isinstance(e, ev.PlanDecided))
    assert plan.label == "call" and plan.thought == "Hello there friend"
    assert agent.conversation == _gold(QUERY_NO_MARKER)
    assert agent.status == "max_steps" and events[-1].step == 1
