"""The argument prior: a call's number arguments chosen by the caller's likelihood plus the request's words around them.

A small caller often copies the wrong number of the request into a parameter ("how much petrol for a 95 km trip, my car
does 5.8 l/100km" → ``distance_km: 5.8``), or keeps a default the request overrides ("60 m2 of wall, one coat only" →
``coats: 2``). Both values are held, so the grounded-calls check lets them through. With a weight ``w > 0``
(``--argument-prior W``), once the caller has written its call, each number argument is compared with the numbers of the
current request (in digits or words, :func:`umi_edge.numbers.mentions`): each mention is ranked for the parameter by
BM25 (:func:`umi_edge.tools.ranking.scores`) over the words just around it (one before, :data:`AFTER` after: the unit
usually follows, "95 km trip"), the parameter's name and description being the query. When the call's value is not one
of the best-ranked mentions, the value is chosen again: each candidate (the caller's own value and every best-matching
mention) gets the caller's log-probability of writing it there (:meth:`Engine.continuation_logprobs`, with the character
that follows) plus ``w`` times its relevance (over the best; 0 for a value no mention holds). A parameter no mention's
words match is left alone. The rest of the call is kept as written. Enforced at run time, not trained; the weight is
chosen on BFCL's live validation split and the unseen-tools benchmark, never on a test set (models/README.md). No
library does this (it is a rule about our own prompts), so it is written here.
"""

from __future__ import annotations

import json
import re
from collections.abc import Generator
from typing import Any

from umi_edge.agent.events import ArgumentChosen, Event
from umi_edge.agent.state import RunState
from umi_edge.numbers import NUMBER, Mention, mentions, rounds_to
from umi_edge.tools.ranking import scores, words

AFTER = 2
"""Words after a number that describe it (its unit and what it counts)."""
BEFORE = 1
"""Words before a number that describe it."""


def _context(text: str, m: Mention, found: list[Mention]) -> list[str]:
    """The ranking words around mention ``m`` of ``text``: :data:`BEFORE` before it, and up to :data:`AFTER` after it
    but not past the next number ("6.5 litres per 100 km": ``litre per`` for 6.5, ``km`` for 100)."""
    end = next((x.start for x in found if x.start >= m.end), len(text))
    left = [w for w in words(text[: m.start]) if not w.isdigit()]
    right = [w for w in words(text[m.end : end]) if not w.isdigit()]
    return left[-BEFORE:] + right[:AFTER]


def relevance(parameter: str, spec: Any, request: str) -> list[tuple[Mention, float]]:
    """The request's number mentions with their relevance to ``parameter`` (over the best); [] when none scores."""
    found = mentions(request)
    if not found:
        return []
    doc = str(spec.get("description", "")) if isinstance(spec, dict) else ""
    query = " ".join([parameter, parameter, doc])
    s = scores([_context(request, m, found) for m in found], query, length_norm=False)
    best = max(s)
    if best <= 0:
        return []
    return [(m, x / best) for m, x in zip(found, s, strict=True)]


def number_literal(value: float, spec: Any) -> str:
    """The JSON literal of a candidate value for a parameter of schema ``spec``."""
    if value.is_integer() and (not isinstance(spec, dict) or spec.get("type") != "number" or abs(value) < 1e15):
        return str(int(value))
    return json.dumps(value)


def choose_numbers(state: RunState, step: int, prompt: str, text: str) -> Generator[Event, None, str]:
    """``text`` (the caller's call after ``prompt``), with its number arguments chosen again where the prior says
    so; yields :class:`ArgumentChosen` for each argument it scored."""
    weight = state.config.argument_prior
    if weight <= 0:
        return text
    found = state.written_call(text)
    if found is None:
        return text
    call, tool = found
    request = state.request
    props = tool.parameters.get("properties", {})
    role = state.engine_role("caller")
    start = text.find("Action Input:")
    for name, value in call.arguments.items():
        if isinstance(value, bool) or not isinstance(value, int | float):
            continue
        ranked = relevance(name, props.get(name), request)
        if not ranked or any(x >= 1.0 and rounds_to(float(value), 9, [m.value]) for m, x in ranked):
            continue
        key = re.compile(r'"' + re.escape(name) + r'"\s*:\s*')
        k = key.search(text, start)
        if k is None:
            continue
        v = NUMBER.match(text, k.end())
        if v is None or not v.group(0):
            continue
        own = v.group(0)
        after = text[v.end() : v.end() + 1]
        candidates = {own: max((x for m, x in ranked if rounds_to(float(value), 9, [m.value])), default=0.0)}
        for m, x in ranked:
            if x >= 1.0:  # the best-matching mentions only: the prior moves a value towards them, not elsewhere
                candidates.setdefault(number_literal(m.value, props.get(name)), x)
        names = list(candidates)
        logprobs = state.engine.continuation_logprobs(role, prompt + text[: v.start()], [c + after for c in names])
        chosen = max(range(len(names)), key=lambda i: logprobs[i] + weight * candidates[names[i]])
        yield ArgumentChosen(
            step,
            name,
            names[chosen],
            own,
            weight,
            {n: round(x, 4) for n, x in zip(names, logprobs, strict=True)},
            {n: round(x, 4) for n, x in candidates.items()},
        )
        if names[chosen] != own:
            text = text[: v.start()] + names[chosen] + text[v.end() :]
    return text
