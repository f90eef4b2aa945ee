"""Earlier questions of a session as the roles see them (issue 17, point 5).

A chat or a ``--resume``d session asks the agent a new question after finished ones. With ``history = "full"`` the
roles' prompts hold every earlier turn (thoughts, calls, observations); with ``"compact"`` each earlier question is
kept as its request and its final answer only, so the new question's planner does not copy the calls of an earlier
trajectory; with ``"planner"`` only the planner sees that compact record (it is the role that resolves "and for 5
days?"), while the caller works from the planner's thought and the summarizer from the new question's
observations; with ``"none"`` no role sees earlier questions. Which is the default is chosen by measurement
(``eval tasks --second``, see models/README.md). The transcript keeps every turn whatever the mode; only the prompts
change.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Literal

from umi_edge.formats.parse import PLAN_MARKERS

HistoryMode = Literal["compact", "planner", "full", "none"]
HISTORY_MODES: tuple[str, ...] = ("compact", "planner", "full", "none")
DEFAULT_HISTORY: HistoryMode = "none"
PLANNING_ROLES = ("planner", "backbone")
"""The roles that see the compact record in ``"planner"`` mode (the backbone plans in a single-LLM run)."""
GAVE_UP = "give up."
"""The answer an earlier question that ended in a give-up gets in the compact record."""


def compact(turns: Sequence[Mapping[str, str]]) -> list[dict[str, str]]:
    """Each question of ``turns`` as ``user`` + its last ``conclusion`` (or ``give up.``); questions that got
    neither (cancelled, failed) keep only their request."""
    out: list[dict[str, str]] = []
    answer: dict[str, str] | None = None
    for t in turns:
        role, value = t["from"], t["value"]
        if role == "user":
            if answer is not None:
                out.append(answer)
            out.append({"from": "user", "value": value})
            answer = None
        elif role == "conclusion":
            answer = {"from": "conclusion", "value": value}
        elif role == "assistant" and PLAN_MARKERS["give_up"] in value:
            answer = {"from": "conclusion", "value": GAVE_UP}
    if answer is not None:
        out.append(answer)
    return out


def prompt_turns(
    turns: Sequence[Mapping[str, str]], earlier: int, mode: HistoryMode, role: str = "planner"
) -> list[dict[str, str]]:
    """The turns ``role``'s prompt is built from: the first ``earlier`` turns (finished questions) per ``mode``,
    then the current question's turns as they are."""
    head = [dict(t) for t in turns[:earlier]]
    if mode == "none" or (mode == "planner" and role not in PLANNING_ROLES):
        head = []
    elif mode in ("compact", "planner"):
        head = compact(head)
    return head + [dict(t) for t in turns[earlier:]]
