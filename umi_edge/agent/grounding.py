"""Grounded answers and calls: the numbers the agent states must come from the request or an observation.

**Answers.**
With ``grounded_answers`` on, the summarizer decodes under a grammar (``Engine.text_grammar``) whose only
numbers are the spellings (:func:`umi_edge.numbers.spellings`: as written, with or without thousands
separators, rounded to 0-3 decimals) of every number in the session's user turns and observations. Words are
free, so a number may still be spelled out; digits that no source holds cannot be written. Enforced in decoding,
not trained: ``eval tasks`` counts what remains (``ungrounded_answers``), and models/README.md reports what it costs
and saves.

**Calls.** With ``grounded_calls`` on, a call whose arguments hold a JSON number that neither the request, an
observation nor the called tool's own doc (defaults, ranges) holds is not run: the caller made the value up, which
is what a small caller does when no offered tool fits ("What is the capital of France?" →
``paint_tins_needed(wall_area_m2=100, coats=2)``). The run ends as given up (:func:`made_up_numbers`). A value
counts as held when it equals a held number rounded to the value's own decimals, or that number as a percent
(15 ↔ 0.15), or a number word of the request (``"two and a half"``). Only numbers are checked: strings and
expressions (``calculator``) are free, since a call may rightly rephrase the request's words. 0 and 1 are always
allowed. Enforced at run time, not trained; models/README.md reports what it costs and saves.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from umi_edge.numbers import decimals, number_texts, numbers_in, rounds_to, spellings, word_numbers

MAX_SPELLINGS = 2000
"""Above this many allowed spellings (an observation full of numbers) the answer is left unconstrained."""
SOURCES = ("user", "observation")


_DIGITS = re.compile(r"\d+(?:[.,:/-]\d+)*")
"""Every run of digits, also inside a word or code (``C385``, ``v2``, ``2019-12-03``, ``14:30``)."""


def allowed_numbers(turns: Iterable[Mapping[str, str]]) -> set[str] | None:
    """The number spellings the answer may use, or None when there are too many to constrain: every number of the
    sources in its spellings, and every digit run as written (a room ``C385`` lets the answer write ``385``)."""
    out: set[str] = set()
    for t in turns:
        if t["from"] in SOURCES:
            for text in number_texts(t["value"]):
                out |= spellings(text)
            for m in _DIGITS.finditer(t["value"]):
                out.add(m.group(0))
                out |= {part for part in re.split(r"[.,:/-]", m.group(0)) if part}
            if len(out) > MAX_SPELLINGS:
                return None
    return out


ALWAYS_HELD = (0.0, 1.0)


def _call_numbers(value: Any) -> Iterator[int | float]:
    """The JSON numbers inside an argument value (booleans are not numbers)."""
    if isinstance(value, bool):
        return
    if isinstance(value, int | float):
        yield value
    elif isinstance(value, Mapping):
        for v in value.values():
            yield from _call_numbers(v)
    elif isinstance(value, list | tuple):
        for v in value:
            yield from _call_numbers(v)


def held_values(turns: Iterable[Mapping[str, str]], doc: str = "") -> set[float]:
    """Every number the request(s), the observations and ``doc`` hold, with the request's number words."""
    out: set[float] = set()
    for t in turns:
        if t["from"] in SOURCES:
            out.update(numbers_in(t["value"]))
            out.update(float(m.group(0)) for m in re.finditer(r"\d+", t["value"]))  # digit runs (C385 → 385)
            if t["from"] == "user":
                out.update(word_numbers(t["value"]))
    out.update(numbers_in(doc))
    return out


def made_up_numbers(
    arguments: Mapping[str, Any], turns: Iterable[Mapping[str, str]], doc: Mapping[str, Any] | None = None
) -> list[str]:
    """The numbers of ``arguments`` that no source holds (as JSON texts, in order, without repeats); ``doc``: the
    called tool's doc (its parameters schema and description)."""
    held = held_values(turns, json.dumps(doc, ensure_ascii=False) if doc else "")
    held |= {w for v in held for w in (v / 100, v * 100)}  # each held number as a percent too (15 and 0.15)
    out: list[str] = []
    for x in _call_numbers(arguments):
        text = json.dumps(x)
        if text not in out and x not in ALWAYS_HELD and not rounds_to(float(x), decimals(text), held):
            out.append(text)
    return out
