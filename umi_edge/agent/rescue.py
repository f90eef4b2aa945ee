"""The rescue: a call that holds made-up values, written again from the request's own values.

The grounded-calls check (:func:`~umi_edge.agent.grounding.made_up_values`) stops a call that holds a value neither the
request, an observation nor the tool's doc holds, and the run gives up. That is right when no offered tool fits the
request (the caller has nothing to copy), and wrong when one does and the small caller only misspelled or invented a
value (``"weather.com"`` for "the temperature in Bangkok, Thailand", ``"I will add the task"`` for "add todo with
content go to sleep at 9 pm"). With a margin ``m`` (``rescue_margin``, not None), each argument holding a made-up value
is written again:

- an optional one is left out (the tool's default applies);
- a required string of a free string parameter (no enum) is chosen among the request's spans
  (:func:`~umi_edge.agent.string_prior.spans`), a required number among the request's numbers
  (:func:`~umi_edge.numbers.mentions`), by the caller's log-probability of writing it there (with the character that
  follows, :meth:`Engine.continuation_logprobs`);
- any other (inside an object or a list, an enum) cannot be, and the call stops as before.

A call whose made-up values all narrate the agent's plan (``"I will add the task to my list"`` for "add todo with
content go to sleep at 9 pm", :data:`~umi_edge.agent.grounding.NARRATION`) is rescued whatever the margin and share,
also with the rescue off (``rescue_narration``, on by default): the caller copied the thought, which says nothing
about whether the tool fits. Otherwise the call so written is made only when it holds no made-up value, the best
candidate of every argument is at most ``m`` below the caller's own value in log-probability (the caller found it
nearly as likely), and at least ``rescue_share`` of the request's content words are held by an offered tool's doc
(:func:`~umi_edge.agent.relevance.held_share`; a request about something else offers values too, but shares few words
with the docs). Otherwise the call stays as the caller wrote it, and the check stops it. Enforced at run time, not
trained; measured on BFCL live data, never on a test set (docs/default-bundle/issue17/keep-rules-session24.md): no
margin and share kept the refusals lost small enough, so the rescue is off by default. No library does this
(it is a rule about our own prompts), so it is written here.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Generator
from typing import Any

from umi_edge.agent.argument_prior import number_literal
from umi_edge.agent.events import ArgumentChosen, ArgumentDropped, CallRescued, Event
from umi_edge.agent.grounding import NARRATION, made_up_values
from umi_edge.agent.relevance import held_share
from umi_edge.agent.state import RunState
from umi_edge.agent.string_prior import SHOWN, free_string, spans
from umi_edge.engine import ContextOverflow
from umi_edge.formats.parse import render_call
from umi_edge.numbers import mentions

_DECODER = json.JSONDecoder()


def _value_at(text: str, name: str, start: int) -> tuple[int, int] | None:
    """Where the top-level argument ``name``'s JSON value stands in ``text`` (from ``start``, the Action Input)."""
    k = re.compile(r'"' + re.escape(name) + r'"\s*:\s*').search(text, start)
    if k is None:
        return None
    try:
        _, end = _DECODER.raw_decode(text, k.end())
    except json.JSONDecodeError:
        return None
    return k.end(), end


def _candidates(value: Any, spec: Any, request: str) -> list[str] | None:
    """The JSON literals a made-up ``value`` may become (the request's spans or numbers), or None when it cannot be
    chosen again."""
    if isinstance(value, str) and free_string(spec):
        return [json.dumps(s, ensure_ascii=False) for s in spans(request)]
    if isinstance(value, int | float) and not isinstance(value, bool):
        kind = spec.get("type") if isinstance(spec, dict) else None
        found = [m.value for m in mentions(request)]
        if kind == "integer":
            found = [v for v in found if v == int(v)]
        return list(dict.fromkeys(number_literal(v, spec) for v in found))
    return None


def _narrating(made_up: list[str]) -> bool:
    """Every made-up value (JSON texts) is a string narrating the agent's plan (``"I will add the task"``): the caller
    copied the thought, which says nothing about whether the tool fits."""
    values = [json.loads(v) for v in made_up]
    return all(isinstance(v, str) and NARRATION.match(v) for v in values)


def rescue(state: RunState, step: int, prompt: str, text: str) -> Generator[Event, None, str]:
    """``text`` (the caller's call after ``prompt``), written again without its made-up values where the rescue
    applies (see the module doc); yields :class:`ArgumentChosen` / :class:`ArgumentDropped` for each argument and
    :class:`CallRescued` when it does."""
    if not state.config.grounded_calls:
        return text
    found = state.written_call(text)
    if found is None:
        return text
    call, tool = found
    doc = {"description": tool.description, "parameters": tool.parameters}
    made_up = made_up_values(call.arguments, state.turns, doc)
    if not made_up:
        return text
    narrating = state.config.rescue_narration and _narrating(made_up)
    margin = math.inf if narrating else state.config.rescue_margin
    if margin is None:
        return text
    share = held_share(state.request, state.registry.tools())
    if not narrating and (share or 0.0) < state.config.rescue_share:
        return text
    props = tool.parameters.get("properties", {})
    required = set(tool.parameters.get("required", []))
    culprits = [k for k, v in call.arguments.items() if made_up_values({k: v}, state.turns, doc)]
    if not culprits:
        return text  # only the pair is made up (two parameters holding one string): nothing to choose again
    start = text.find("Action Input:")
    role = state.engine_role("caller")
    arguments = dict(call.arguments)
    events: list[Event] = []
    gaps: list[float] = []
    for name in culprits:
        value = arguments[name]
        if name not in required:
            del arguments[name]
            events.append(ArgumentDropped(step, name, str(value), "made_up"))
            continue
        where = _value_at(text, name, start)
        literals = _candidates(value, props.get(name), state.request)
        if where is None or not literals:
            return text
        own = text[where[0] : where[1]]
        if isinstance(value, str):  # a string is scored with its closing quote, a number with what follows it
            head, tails = text[: where[0] + 1], [own[1:], *(c[1:] for c in literals)]
        else:
            after = text[where[1] : where[1] + 1]
            head, tails = text[: where[0]], [own + after, *(c + after for c in literals)]
        try:
            logprobs = state.engine.continuation_logprobs(role, prompt + head, tails)
        except ContextOverflow:
            return text
        best = max(range(1, len(tails)), key=lambda i: logprobs[i])
        gaps.append(logprobs[0] - logprobs[best])
        shown = list(dict.fromkeys([0, *sorted(range(1, len(tails)), key=lambda i: -logprobs[i])[:SHOWN]]))
        labels = [own, *literals]
        events.append(
            ArgumentChosen(
                step,
                name,
                literals[best - 1],
                own,
                0.0,
                {labels[i]: round(logprobs[i], 4) for i in shown},
                {labels[i]: float(i > 0) for i in shown},
            )
        )
        arguments[name] = json.loads(literals[best - 1])
    gap = max(gaps, default=0.0)  # only optionals left out: nothing was chosen against the caller's own value
    if gap > margin or made_up_values(arguments, state.turns, doc):
        return text
    yield from events
    yield CallRescued(step, made_up, None if share is None else round(share, 4), round(gap, 4))
    return " " + render_call(call.name, arguments)
