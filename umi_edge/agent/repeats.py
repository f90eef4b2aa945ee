"""Never run a call that already failed in this run: the rule, enforced at run time (no model is trained for it).

A call *failed* when the tool ran (the call was valid and allowed) and its observation is an error: an exception,
a timeout, a limit, an ``{"error": ...}`` result.  Calls are the same when their tool names are equal and their
arguments are equal after JSON normalisation (:func:`call_key`: keys sorted, no whitespace).  A call identical to
one that failed is not run: the planner sees an error observation saying so (:func:`repeat_observation`) and the
agent emits :class:`~umi_edge.agent.events.RepeatedCall`; the ``MAX_REPEATED_FAILURES``-th such repeat in a run
ends it as given up.  Invalid calls (never run) and denied ones (the user may allow them next time) are not
failures here.  :func:`check_repeat` decides from the run's events alone (a pure function).

A read call identical to one that *succeeded*, with no write or exec call run since, cannot tell anything new (small
planners loop on such calls, re-running the same lookup until the step limit): :func:`answered_before` finds the
earlier step, and the agent goes to the summarizer instead of running the call again.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from umi_edge.agent.events import Event, Observation, RepeatedCall, ToolCall

MAX_REPEATED_FAILURES = 2
"""Repeats of failed calls a run tolerates: each is answered with an error observation; this many end the run."""


def call_key(name: str, arguments: Any) -> str:
    """The identity of a call: its name and its arguments as canonical JSON."""
    return json.dumps([name, arguments], sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


@dataclass(frozen=True)
class RepeatVerdict:
    """``first_step``: the step whose identical call failed (None: the call is new, run it); ``repeats``: the
    repeats of failed calls in the run, this one included; ``give_up``: this repeat ends the run."""

    first_step: int | None = None
    repeats: int = 0

    @property
    def blocked(self) -> bool:
        return self.first_step is not None

    @property
    def give_up(self) -> bool:
        return self.blocked and self.repeats >= MAX_REPEATED_FAILURES


def _ran(events: Iterable[Event]) -> Iterator[tuple[ToolCall, Observation]]:
    """Each valid call of ``events`` that reached the tool step, with the Observation that follows it (a call
    answered by a RepeatedCall was not run; an unpaired last call is still being decided)."""
    last: ToolCall | None = None
    for ev in events:
        if isinstance(ev, ToolCall):
            last = ev
        elif isinstance(ev, RepeatedCall):
            last = None
        elif isinstance(ev, Observation) and last is not None:
            if last.valid:
                yield last, ev
            last = None


def check_repeat(events: Iterable[Event], call: ToolCall) -> RepeatVerdict:
    """Whether ``call`` repeats a call that failed earlier in the run whose events (so far) are ``events``.

    ``call`` itself may already be among ``events`` (the agent records it before acting); each ToolCall pairs with
    the Observation that follows it, and a call answered by a RepeatedCall was not run.
    """
    events = list(events)
    failed: dict[str, int] = {}
    for ran, obs in _ran(events):
        if obs.is_error and not obs.denied:
            failed.setdefault(call_key(ran.name, ran.arguments), ran.step)
    repeats = sum(isinstance(ev, RepeatedCall) and not ev.succeeded for ev in events)
    if not call.valid:
        return RepeatVerdict()
    first = failed.get(call_key(call.name, call.arguments))
    return RepeatVerdict() if first is None else RepeatVerdict(first, repeats + 1)


def answered_before(events: Iterable[Event], call: ToolCall) -> int | None:
    """The step of an identical read call that succeeded in this run with no write or exec call run after it, or
    None (``call`` itself may be the last of ``events``; a call answered by a RepeatedCall was not run)."""
    if not call.valid or call.effect != "read":
        return None
    done: dict[str, int] = {}
    for ran, obs in _ran(events):
        if ran.effect != "read":
            if not obs.denied:
                done.clear()  # a write or exec call may have changed what a read returns
        elif not obs.is_error:
            done.setdefault(call_key(ran.name, ran.arguments), ran.step)
    return done.get(call_key(call.name, call.arguments))


def repeated_event(call: ToolCall, verdict: RepeatVerdict) -> RepeatedCall:
    assert verdict.first_step is not None
    return RepeatedCall(call.step, call.name, call.arguments, verdict.first_step, verdict.repeats, verdict.give_up)


def repeat_observation(call: ToolCall, verdict: RepeatVerdict) -> Observation:
    """The error observation that replaces running a repeated failed call."""
    args = json.dumps(call.arguments, ensure_ascii=False, sort_keys=True)
    message = (
        f"this exact call already failed at step {verdict.first_step}: {call.name} {args}; it was not run again. "
        "Change the arguments, use another tool, or give up."
    )
    if verdict.give_up:
        message += f" This is repeat {verdict.repeats} of a failed call: the run ends."
    return Observation(call.step, call.name, json.dumps({"error": message}, ensure_ascii=False), is_error=True)


def give_up_reason(call: ToolCall, verdict: RepeatVerdict) -> str:
    return (
        f"the caller repeated calls that already failed {verdict.repeats} times "
        f"(last: {call.name} {json.dumps(call.arguments, ensure_ascii=False, sort_keys=True)}, "
        f"first failed at step {verdict.first_step})"
    )
