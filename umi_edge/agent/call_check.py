"""The call check: a second caller writes the question's first call too, and a made-up value in its call stops the run.

The grounded-calls check (:func:`~umi_edge.agent.grounding.made_up_values`) stops a call holding a value that neither
the request, an observation nor the tool's doc holds, and the run gives up. For the shipped round-4 caller those stops
are most of the refusals: when no offered tool fits a request, it has nothing to copy and writes made-up values. A
caller trained to copy the request's values into any doc writes better calls, and also fewer made-up ones for requests
no tool fits, so it loses refusals (rounds 11-13 in models/README.md). A bundle may therefore carry a ``checker`` role:
another caller adapter (the earlier one). When it is there and ``call_check`` is on, the checker writes the question's
first call from the same prompt, through the same runtime choices (:func:`~umi_edge.agent.caller.write_call`); if its
call holds made-up values, the caller's call is not made and the run gives up (:class:`CallChecked`). Later calls,
after an observation, are not checked: the tools fit by then. The checker's generations count as the ``checker``
role's timings; its other events (choices it made) are not shown.

With ``call_vote`` on, a check that passes also chooses the call (:func:`vote`): when the checker's call is grounded,
valid and not the caller's, the call made is the one whose log-probability, summed over the caller's and the
checker's models, is higher (a product of the two experts), and :class:`CallVoted` says which and why.

No library does this (it is a rule about our own roles), so it is written here.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Generator
from typing import TypeVar

from umi_edge.agent.acting import parse_and_check
from umi_edge.agent.events import CallChecked, CallVoted, Event, Timing, ToolCall
from umi_edge.agent.generation import fit
from umi_edge.agent.state import RunState
from umi_edge.bundle import CHECKER
from umi_edge.engine import Generation
from umi_edge.formats.parse import render_call

T = TypeVar("T")


def applies(state: RunState, tc: ToolCall) -> bool:
    """Whether ``tc`` is checked: the check is on, the bundle has a checker, the call is valid and holds no made-up
    value itself, and it is the question's first (no observation since the question)."""
    return (
        state.config.call_check
        and state.config.grounded_calls
        and CHECKER in state.engine.roles
        and tc.valid
        and not tc.ungrounded
        and not state.observed
    )


WriteCall = Callable[[RunState, int, str], Generator[Event, None, tuple[str, Generation]]]


def check_call(
    state: RunState, step: int, thought: str, tc: ToolCall, write_call: WriteCall
) -> Generator[Event, None, CallChecked | None]:
    """The checker's verdict on ``tc`` (None when the check does not apply, see :func:`applies`): its call, written by
    ``write_call`` (:func:`umi_edge.agent.caller.write_call`) with the checker's model."""
    if not applies(state, tc):
        return None
    state.caller_model = CHECKER
    try:
        text, _ = yield from _quiet(write_call(state, step, thought))
    finally:
        state.caller_model = "caller"
    written = parse_and_check(state, step, text.strip())
    verdict = CallChecked(step, written.name, written.arguments, written.ungrounded)
    yield verdict
    return verdict


def vote(
    state: RunState, step: int, render: Callable[[str], str], tc: ToolCall, verdict: CallChecked | None
) -> Generator[Event, None, ToolCall]:
    """The call to make after a check that passed (``verdict`` without made-up values): ``tc``, or, with
    ``call_vote`` on, the checker's call when it is valid, grounded, other than ``tc`` and likelier summed over both
    models (``render``: the caller prompt around a history; ties keep ``tc``)."""
    if not state.config.call_vote or verdict is None or verdict.made_up:
        return tc
    if (verdict.tool, verdict.arguments) == (tc.name, tc.arguments):
        return tc
    theirs = parse_and_check(state, step, render_call(verdict.tool, verdict.arguments))
    if not theirs.valid or theirs.ungrounded:
        return tc
    prompt = yield from _quiet(fit(state, "caller", step, render))
    texts = [" " + render_call(tc.name, tc.arguments), " " + theirs.raw]
    per_model = [state.engine.continuation_logprobs(role, prompt, texts) for role in ("caller", CHECKER)]
    scores = [round(sum(s), 3) for s in zip(*per_model, strict=True)]
    chosen, other = (theirs, tc) if scores[1] > scores[0] else (tc, theirs)
    yield CallVoted(step, CHECKER if chosen is theirs else "caller", scores, other.name, other.arguments)
    return chosen


def _quiet(gen: Generator[Event, None, T]) -> Generator[Event, None, T]:
    """``gen``'s result, yielding only its timings (as the checker's)."""
    while True:
        try:
            ev = next(gen)
        except StopIteration as done:
            return done.value
        if isinstance(ev, Timing):
            yield dataclasses.replace(ev, role=CHECKER)
