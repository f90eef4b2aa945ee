"""The grounded Summarizer: its answer may only state numbers that the request or an observation holds.

With ``grounded_answers`` on, the summarizer decodes under a grammar (``Engine.text_grammar``) whose only
numbers are the spellings (:func:`umi_edge.numbers.spellings`: as written, with or without thousands
separators, rounded to 0-3 decimals) of every number in the session's user turns and observations. Words are
free, so a number may still be spelled out; digits that no source holds cannot be written. Enforced in decoding,
not trained: ``eval tasks`` counts what remains (``ungrounded_answers``), and models/README.md reports what it costs
and saves.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

from umi_edge.numbers import number_texts, spellings

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
