"""The Summarizer: writes the final answer from the conversation history (numbers grounded, see ``grounding``; the
first number checked against the latest tool result, see ``answer_prior``)."""

from __future__ import annotations

from collections.abc import Generator

from umi_edge.agent.answer_prior import restate_result
from umi_edge.agent.events import Event
from umi_edge.agent.generation import fit, generate
from umi_edge.agent.grounding import allowed_numbers
from umi_edge.agent.state import RunState
from umi_edge.engine import Generation
from umi_edge.formats.prompts import build_input, model_prompt


def summarize(state: RunState, step: int) -> Generator[Event, None, Generation]:
    """Generate the conclusion; returns the generation (its ``text`` is the answer)."""
    style = state.style

    def render(history: str) -> str:
        return model_prompt(build_input("summarizer", doc="", history=history, style=style))

    grammar = None
    if state.config.grounded_answers:
        allowed = allowed_numbers(state.turns)
        if allowed is not None:
            grammar = state.engine.text_grammar(allowed, role=state.engine_role("summarizer"))
    prompt = yield from fit(state, "summarizer", step, render)
    gen = yield from generate(state, "summarizer", step, render, grammar=grammar, prompt=prompt)
    return (yield from restate_result(state, step, prompt, gen))
