"""The Planner: decides the next step and routes it (caller / conclusion / give up), cut after the first marker."""

from __future__ import annotations

from collections.abc import Generator

from umi_edge.agent.events import Event, PlanDecided
from umi_edge.agent.generation import generate
from umi_edge.agent.parallel_values import extend_plan
from umi_edge.agent.state import RunState
from umi_edge.agent.unfinished import keep_going
from umi_edge.engine import Generation
from umi_edge.formats.parse import MARKER_SEPARATOR, PLAN_MARKERS, Plan, parse_plan
from umi_edge.formats.prompts import build_input, model_prompt

STOP_AFTER = tuple(MARKER_SEPARATOR + m for m in PLAN_MARKERS.values())
"""The planner's output is cut right after the first marker (official routing), so generation stops there."""


def plan(state: RunState, step: int) -> Generator[Event, None, tuple[Plan, Generation]]:
    """Generate one planner turn; yields its events and returns the parsed :class:`Plan` and the generation."""
    doc, names, style = state.doc_text, state.names_text, state.style

    def render(history: str) -> str:
        return model_prompt(build_input("planner", doc=doc, history=history, tool_names=names, style=style))

    gen = yield from generate(state, "planner", step, render, stop_after=STOP_AFTER)
    p = parse_plan(gen.text.lstrip())  # a SentencePiece model may start with the space after the cue
    p = yield from extend_plan(state, step, p)
    p = yield from keep_going(state, step, p)
    yield PlanDecided(step, p.label, p.thought, p.text)
    return p, gen
