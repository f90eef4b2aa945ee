"""Helpers for tests that drive one agent step directly: drain its event generator, build the caller's prompt."""

from __future__ import annotations

from collections.abc import Generator
from typing import TypeVar

from umi_edge.agent import events as ev
from umi_edge.agent.generation import fit
from umi_edge.agent.state import RunState
from umi_edge.formats.prompts import build_input, model_prompt

T = TypeVar("T")


def drain(flow: Generator[ev.Event, None, T]) -> tuple[list[ev.Event], T]:
    """Every event ``flow`` yields, and the value it returns."""
    events = []
    while True:
        try:
            events.append(next(flow))
        except StopIteration as done:
            return events, done.value


def caller_prompt(state: RunState, thought: str, step: int = 1) -> str:
    """The caller's prompt for ``thought`` over ``state``'s conversation, fitted as the caller fits it."""

    def render(history: str) -> str:
        return model_prompt(
            build_input("caller", doc=state.doc_text, history=history, tool_names=state.names_text,
                        thought=thought, style=state.style)
        )  # fmt: skip

    return drain(fit(state, "caller", step, render))[1]
