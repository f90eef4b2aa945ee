"""The tool retry: a call holding made-up values is written once more for the tool the prior ranks next, and made
only when that call holds none. Real llama.cpp (the untrained SmolLM2 bundle) ranks the tools; the second call's text
is given, so each case is decided by the rule alone."""

from __future__ import annotations

import threading
from collections.abc import Generator
from pathlib import Path

import pytest
from edge_bundles import merged_bundle
from flows import caller_prompt, drain

from umi_edge.agent import AgentConfig
from umi_edge.agent import events as ev
from umi_edge.agent.acting import parse_and_check
from umi_edge.agent.state import RunState
from umi_edge.agent.tool_retry import retry_other_tool
from umi_edge.engine import Engine, EngineOptions, Generation
from umi_edge.tools.registry import Tool, ToolRegistry, tool

REQUEST = "Order three large pizzas for the party."
THOUGHT = "I will order the pizzas.\nNext: caller."


@tool
def weather(city: str) -> dict:
    """The weather in a city.

    Args:
        city: The city.
    """
    return {"sky": "clear"}


@tool
def order_pizzas(count: int, size: str) -> dict:
    """Order pizzas.

    Args:
        count: How many pizzas.
        size: The pizzas' size.
    """
    return {"ordered": True}


@tool
def book_table(people: int) -> dict:
    """Book a table at a restaurant.

    Args:
        people: How many people.
    """
    return {"booked": True}


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Engine:
    bundle = merged_bundle(tmp_path_factory.mktemp("retry") / "bundle", context_length=1024)
    with Engine.from_bundle(bundle, EngineOptions(threads=1)) as e:
        yield e


def _retry(
    engine: Engine, second: str, tools: list[Tool] | None = None, **config: object
) -> tuple[list[ev.Event], tuple[ev.ToolCall, Generation] | None, list[str]]:
    """Retry the made-up call ``weather {"city": "Paris"}``; the caller's second call is ``second`` (for whatever
    tool it is asked for, whose name is recorded)."""
    registry = ToolRegistry(tools or [weather, order_pizzas, book_table])
    settings = {"tool_retry": True, **config}
    state = RunState(engine, registry, AgentConfig(**settings), Path.cwd(), threading.Event())  # type: ignore[arg-type]
    state.add_turn("user", REQUEST)
    state.add_turn("assistant", THOUGHT)
    prompt = caller_prompt(state, THOUGHT)
    first = parse_and_check(state, 1, 'Action: weather\nAction Input: {"city": "Paris"}')
    assert first.ungrounded == ['"Paris"']
    asked: list[str] = []

    def write(t: Tool | None) -> Generator[ev.Event, None, tuple[Generation, str]]:
        asked.append(t.name if t else "")
        yield from ()
        return Generation("caller", second, "stop", 0, 0, 0, 0, 0.0, 0.0, 0, 0), " " + second

    events, result = drain(retry_other_tool(state, 1, prompt, THOUGHT, first, write))
    return [e for e in events if not isinstance(e, ev.TokenDelta | ev.Timing)], result, asked


GROUNDED = 'Action: order_pizzas\nAction Input: {"count": 3, "size": "large"}'


def test_a_grounded_call_for_another_tool_is_made(engine: Engine) -> None:
    events, result, asked = _retry(engine, GROUNDED)
    assert asked and asked[0] in ("order_pizzas", "book_table")  # never the tool that was tried
    chosen, retried = events
    assert isinstance(chosen, ev.ToolChosen) and "weather" not in chosen.logprobs
    assert retried == ev.ToolRetried(1, "order_pizzas", "weather", ['"Paris"'])
    assert (
        result is not None and result[0].name == "order_pizzas" and result[0].arguments == {"count": 3, "size": "large"}
    )


def test_a_second_made_up_or_invalid_call_keeps_the_stop(engine: Engine) -> None:
    made_up = 'Action: order_pizzas\nAction Input: {"count": 12, "size": "large"}'
    events, result, _ = _retry(engine, made_up)
    assert result is None and not any(isinstance(e, ev.ToolRetried) for e in events)
    invalid = 'Action: order_pizzas\nAction Input: {"size": "large"}'  # count is required
    assert _retry(engine, invalid)[1] is None


def test_nothing_to_retry(engine: Engine) -> None:
    assert _retry(engine, GROUNDED, tool_retry=False)[1:] == (None, [])  # off
    assert _retry(engine, GROUNDED, tool_prior=0.0)[1:] == (None, [])  # no prior to rank the others
    assert _retry(engine, GROUNDED, tools=[weather])[1:] == (None, [])  # one tool offered
