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
role's timings; its other events (choices it made) are not shown. No library does this (it is a rule about our own
roles), so it is written here.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Generator
from typing import TypeVar

from umi_edge.agent.acting import parse_and_check
from umi_edge.agent.events import CallChecked, Event, Timing, ToolCall
from umi_edge.agent.state import RunState
from umi_edge.bundle import CHECKER
from umi_edge.engine import Generation

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


def _quiet(gen: Generator[Event, None, T]) -> Generator[Event, None, T]:
    """``gen``'s result, yielding only its timings (as the checker's)."""
    while True:
        try:
            ev = next(gen)
        except StopIteration as done:
            return done.value
        if isinstance(ev, Timing):
            yield dataclasses.replace(ev, role=CHECKER)
