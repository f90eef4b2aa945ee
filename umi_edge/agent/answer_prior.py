"""The answer prior: an answer's number chosen again by the summarizer's likelihood plus the tool result's relevance.

A small summarizer often restates a number of the request instead of the result ("My car uses 6.5 litres per 100 km. How
much fuel for 340 km?" → observation ``{"litres": 22.1}`` → "6.5 litres of fuel are needed."), or picks the wrong field
of a result (``{"litres": 9.0, "tins": 4}`` for "How many tins …?" → "9.0 tins"). The grounded grammar cannot catch
either: both numbers are held. With a weight ``w > 0`` (``--answer-prior W``), once the summarizer has written its
answer, the numbers of the latest tool result (the JSON observation of the current question) are ranked for the question
by BM25 over their keys (:func:`umi_edge.tools.ranking.scores`: ``tins`` for "How many tins"; all :data:`NEUTRAL` when
no key matches). A number is chosen again when the answer states no number of the observation at all (its first number),
or states only results whose keys the question does not name while another's it does (the first of those). Each
candidate, the summarizer's own number and the best-ranked result numbers, gets the summarizer's log-probability of
writing it there (:meth:`Engine.continuation_logprobs`, with the word that follows) plus ``w`` times its relevance (0
for a number that is not a result). When another number wins, it replaces the summarizer's; the rest of the answer is
kept as written. A free-text observation (a file, a listing) is left alone: its numbers have no keys to rank.

Enforced at run time, not trained; the weight is chosen on held-out synthetic tasks and the unseen-tools benchmark,
never on a test set (models/README.md). No library does this (it is a rule about our own events), so it is written here.
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Generator, Iterator
from dataclasses import dataclass
from typing import Any

from umi_edge.agent.events import AnswerNumberChosen, Event
from umi_edge.agent.grounding import allowed_numbers
from umi_edge.agent.state import RunState
from umi_edge.engine import Generation
from umi_edge.numbers import NUMBER, decimals, rounds_to
from umi_edge.tools.ranking import scores, words

MAX_CANDIDATES = 16
"""At most this many result numbers (the best-ranked) are scored."""
_FOLLOW = re.compile(r"\s*[^\s\d]*")
"""What follows a number up to the end of the next word (scored with each candidate)."""


@dataclass(frozen=True)
class Result:
    """A number of a tool result: as the observation writes it, its value, and its key path (``items 0 price``)."""

    text: str
    value: float
    key: str


def _numbers(data: Any, path: tuple[str, ...] = ()) -> Iterator[Result]:
    if isinstance(data, dict):
        for k, v in data.items():
            yield from _numbers(v, (*path, str(k)))
    elif isinstance(data, list):
        for i, v in enumerate(data):
            yield from _numbers(v, (*path, str(i)))
    elif isinstance(data, int | float) and not isinstance(data, bool):
        yield Result(json.dumps(data), float(data), " ".join(path))
    elif isinstance(data, str) and NUMBER.fullmatch(s := data.strip()) and any(c.isdigit() for c in s):
        try:
            yield Result(s, float(s.replace(",", "")), " ".join(path))
        except ValueError:
            pass


def results(state: RunState) -> list[Result]:
    """The numbers of the current question's latest observation, when it is a JSON result and not an error."""
    current = state.turns[state.earlier :]
    obs = next((t["value"] for t in reversed(current) if t["from"] == "observation"), None)
    if obs is None:
        return []
    try:
        data = json.loads(obs)
    except ValueError:
        return []
    if isinstance(data, dict) and "error" in data:
        return []
    out: dict[float, Result] = {}
    for r in _numbers(data):
        out.setdefault(r.value, r)
    return list(out.values())


NEUTRAL = 0.5
"""The relevance of every result number when no key matches the question (a weaker push than a matching key's 1)."""


def relevance(found: list[Result], question: str) -> list[float]:
    """Each result number's BM25 relevance (its key's words) to ``question``, over the best; all :data:`NEUTRAL`
    when no key scores."""
    s = scores([words(r.key) for r in found], question, length_norm=False)
    best = max(s, default=0.0)
    return [x / best if best > 0 else NEUTRAL for x in s]


def _value(m: re.Match[str]) -> float:
    return float(m.group(0).replace(",", ""))


def _target(text: str, found: list[Result], rel: list[float], observed: set[str]) -> re.Match[str] | None:
    """The number of ``text`` to choose again, or None when the answer states the result the question asks for.

    An answer that states no number of the observation has its first number chosen again; one that states only
    results whose key the question does not name (while another's it does) has the first of those chosen again.
    A number the observation holds outside its results (a date inside a string) counts as stating it."""
    spans = [m for m in NUMBER.finditer(text) if any(c.isdigit() for c in m.group(0))]
    held = [m for m in spans if m.group(0).lstrip("+-") in observed]
    if not held:
        return spans[0] if spans else None
    if max(rel) < 1.0:
        return None  # no key is named: any number of the observation will do
    best = [r.value for r, x in zip(found, rel, strict=True) if x >= 1.0]
    stated = [
        (m, x)
        for m in held
        for r, x in zip(found, rel, strict=True)
        if rounds_to(_value(m), decimals(m.group(0)), [r.value])
    ]
    if len(stated) < len(held) or any(rounds_to(_value(m), decimals(m.group(0)), best) for m in held):
        return None
    return stated[0][0]


def restate_result(state: RunState, step: int, prompt: str, gen: Generation) -> Generator[Event, None, Generation]:
    """``gen`` (the summarizer's answer to ``prompt``), or the answer whose number the prior chose again; yields
    :class:`AnswerNumberChosen` when it scored candidates."""
    weight = state.config.answer_prior
    if weight <= 0:
        return gen
    found = results(state)
    if not found:
        return gen
    rel = relevance(found, state.request)
    observed = allowed_numbers([t for t in state.turns[state.earlier :] if t["from"] == "observation"][-1:]) or set()
    text = gen.text
    target = _target(text, found, rel, observed)
    if target is None:
        return gen
    cut = len(text[: target.start()].rstrip())
    prefix, sep, own = text[:cut], text[cut : target.start()], target.group(0)
    follow = _FOLLOW.match(text, target.end())
    top = max(rel)
    best = [(r, x) for r, x in zip(found, rel, strict=True) if x >= top][:MAX_CANDIDATES]
    candidates = {own: max((x for r, x in best if rounds_to(_value(target), decimals(own), [r.value])), default=0.0)}
    for r, x in best:  # the best-matching results only: the prior moves the number towards them, not elsewhere
        if not rounds_to(_value(target), decimals(own), [r.value]):
            candidates.setdefault(r.text, x)
    names = list(candidates)
    role = state.engine_role("summarizer")
    # each number is scored with the word that follows it ("1" must not win as a prefix of "11058")
    tail = follow.group(0) if follow and follow.group(0) else "."
    logprobs = state.engine.continuation_logprobs(role, prompt + prefix, [sep + c + tail for c in names])
    chosen = max(range(len(names)), key=lambda i: logprobs[i] + weight * candidates[names[i]])
    yield AnswerNumberChosen(
        step,
        names[chosen],
        own,
        weight,
        {n: round(x, 4) for n, x in zip(names, logprobs, strict=True)},
        {n: round(x, 4) for n, x in candidates.items()},
    )
    if names[chosen] == own:
        return gen
    # the rest of the answer is kept as written: written again after the new number, the small summarizer
    # restates its own number ("The answer is 4 9.0 tins")
    return dataclasses.replace(gen, text=prefix + sep + names[chosen] + text[target.end() :])
