"""The backbone (single-LLM) mode: one model writes thought + action, or thought + conclusion, per turn.

Its output forms (α-UMi global fine-tuning targets): ``<thought>\\nAction: X\\nAction Input: {...}``,
``<thought>\\nconclusion: <answer>``, ``<thought>\\nconclusion: give up.``.  Parsing is hand-written here (the
format module parses the planner and caller forms); calls are parsed and validated, not grammar-constrained.
"""

from __future__ import annotations

import re
from collections.abc import Generator
from dataclasses import dataclass

from umi_edge.agent.events import Event, PlanDecided
from umi_edge.agent.generation import generate
from umi_edge.agent.state import RunState
from umi_edge.engine import Generation
from umi_edge.formats.parse import PlanLabel
from umi_edge.formats.prompts import build_input, model_prompt

_CONCLUSION_RE = re.compile(r"(?:^|\n)[ \t]*conclusion[ \t]*:[ \t]*", re.IGNORECASE)
_ACTION_RE = re.compile(r"(?:^|\n)[ \t]*Action[ \t]*:", re.MULTILINE)
_GIVE_UP_RE = re.compile(r"^\s*give\s+up\.?\s*$", re.IGNORECASE)


@dataclass(frozen=True)
class BackboneTurn:
    """A parsed backbone turn: ``label`` call / finish / give_up, the thought, and the answer or call text."""

    label: PlanLabel
    thought: str
    answer: str = ""
    call_text: str = ""


def parse_backbone(text: str) -> BackboneTurn:
    """Parse backbone output. Whichever of ``Action:`` / ``conclusion:`` comes first decides the turn; with
    neither, the turn is a call attempt (it then fails validation and the model sees why)."""
    c = _CONCLUSION_RE.search(text)
    a = _ACTION_RE.search(text)
    if c is not None and (a is None or c.start() < a.start()):
        answer = text[c.end() :].strip()
        thought = text[: c.start()].strip()
        if _GIVE_UP_RE.match(answer):
            return BackboneTurn("give_up", thought)
        return BackboneTurn("finish", thought, answer=answer)
    if a is not None:
        start = a.start() + (1 if text[a.start()] == "\n" else 0)
        return BackboneTurn("call", text[: a.start()].strip(), call_text=text[start:].strip())
    return BackboneTurn("call", text.strip(), call_text=text.strip())


def backbone_turn(state: RunState, step: int) -> Generator[Event, None, tuple[BackboneTurn, Generation]]:
    """Generate one backbone turn and yield its PlanDecided."""
    doc, names, style = state.doc_text, state.names_text, state.style

    def render(history: str) -> str:
        return model_prompt(build_input("backbone", doc=doc, history=history, tool_names=names, style=style))

    gen = yield from generate(state, "backbone", step, render)
    turn = parse_backbone(gen.text)
    yield PlanDecided(step, turn.label, turn.thought, gen.text.strip())
    return turn, gen
