"""Numbers as people and tools write them: finding them in text, and the spellings of one value.

Shared by the answer checks of ``eval`` (:mod:`umi_edge.eval.matching`) and the grounded summarizer
(:mod:`umi_edge.agent.grounding`). Hand-written: a regular expression and string formatting suffice.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from dataclasses import dataclass

NUMBER = re.compile(r"(?<![\w.])[-+]?(?:\d{1,3}(?:,\d{3})+|\d+)?(?:\.\d+)?(?:[eE][-+]?\d+)?")
"""A written number: optional sign, thousands separators, decimals, exponent."""
NUMBER_WORDS = [
    "zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
    "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen", "twenty",
]  # fmt: skip
"""Small whole numbers as words (index = value): the synthetic phrasing writes them, the grounded calls read them."""
_WORD_VALUES = {
    **{w: float(i) for i, w in enumerate(NUMBER_WORDS)},
    **{w: float(10 * i) for i, w in enumerate(("thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"), 3)},
    "dozen": 12.0, "hundred": 100.0, "thousand": 1000.0, "million": 1e6, "half": 0.5, "quarter": 0.25,
    "twice": 2.0, "double": 2.0, "triple": 3.0, "once": 1.0, "a couple": 2.0, "pair": 2.0,
}  # fmt: skip
WORDS_OF_NUMBERS = frozenset(w for key in _WORD_VALUES for w in key.split())
"""Every word that writes a number here ("forty", "dozen", "half", "couple"; "a" of "a couple" too)."""
_TENS = "twenty|thirty|forty|fifty|sixty|seventy|eighty|ninety"
_UNITS = "one|two|three|four|five|six|seven|eight|nine"
_WORD = re.compile(
    rf"\b(?:({_TENS})[- ]({_UNITS})|("
    + "|".join(sorted(_WORD_VALUES, key=len, reverse=True))
    + r"))\b(?: and a (half|quarter))?",
    re.I,
)
MAX_PLACES = 3
"""Roundings a grounded answer may write: an observed value rounded to 0 … MAX_PLACES decimals."""


def number_texts(text: str) -> list[str]:
    """The written numbers of ``text``, as written (those holding a digit)."""
    return [m.group(0) for m in NUMBER.finditer(text) if any(c.isdigit() for c in m.group(0))]


def numbers_in(text: str) -> list[float]:
    """Every number written in ``text``, thousands separators removed."""
    out: list[float] = []
    for s in number_texts(text):
        try:
            out.append(float(s.replace(",", "")))
        except ValueError:
            continue
    return out


def word_numbers(text: str) -> list[float]:
    """The values of the number words of ``text`` (``"three"`` → 3, ``"forty-two"`` → 42, ``"two and a half"`` →
    2.5, ``"dozen"`` → 12); no longer compounds such as "three hundred and five" (each word counts alone)."""
    out: list[float] = []
    for m in _WORD.finditer(text):
        tens, units, word, frac = m.groups()
        x = _WORD_VALUES[tens.lower()] + _WORD_VALUES[units.lower()] if tens else _WORD_VALUES[word.lower()]
        out.append(x + _WORD_VALUES[frac.lower()] if frac else x)
    return out


@dataclass(frozen=True)
class Mention:
    """A number written in a text, in digits or words: as written, its value, and where it stands."""

    text: str
    value: float
    start: int
    end: int


def mentions(text: str) -> list[Mention]:
    """The numbers of ``text`` in digits (thousands separators removed) and in words (:func:`word_numbers`), in
    order of position."""
    out: list[Mention] = []
    for m in NUMBER.finditer(text):
        if any(c.isdigit() for c in m.group(0)):
            try:
                out.append(Mention(m.group(0), float(m.group(0).replace(",", "")), m.start(), m.end()))
            except ValueError:
                continue
    for m in _WORD.finditer(text):
        (value,) = word_numbers(m.group(0))
        out.append(Mention(m.group(0), value, m.start(), m.end()))
    return sorted(out, key=lambda x: x.start)


def rounds_to(x: float, places: int, held: Iterable[float], rel_tol: float = 1e-6, abs_tol: float = 1e-9) -> bool:
    """Some value of ``held`` is ``x``, or rounds to ``x`` at ``places`` decimals (``3.14`` from ``3.14159``): how a
    stated number is checked against the numbers its sources hold."""
    return any(
        math.isclose(x, y, rel_tol=rel_tol, abs_tol=abs_tol)
        or math.isclose(x, round(y, places), rel_tol=rel_tol, abs_tol=abs_tol)
        for y in held
    )


def decimals(text: str) -> int:
    """Digits after the decimal point of a written number (``"3.14"`` → 2, ``"1,200"`` → 0)."""
    body = text.lower().split("e")[0]
    return len(body.split(".")[1]) if "." in body else 0


def spellings(text: str) -> set[str]:
    """The unsigned spellings of the number written as ``text``: as written, without / with thousands separators,
    and rounded to 0 … :data:`MAX_PLACES` decimals (trailing zeros kept and dropped)."""
    bare = text.lstrip("+-")
    out = {bare}
    try:
        x = abs(float(bare.replace(",", "")))
    except ValueError:
        return out
    if x.is_integer() and x < 1e16:
        out |= {str(int(x)), f"{int(x):,}"}
    for places in range(MAX_PLACES + 1):
        for fmt in (f"{{:.{places}f}}", f"{{:,.{places}f}}"):
            s = fmt.format(x)
            out.add(s)
            if "." in s:
                out.add(s.rstrip("0").rstrip("."))
    return {s for s in out if s and any(c.isdigit() for c in s)}
