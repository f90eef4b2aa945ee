"""Checking an agent's final answer against a task's expected answer(s).

- ``contains``: some alternative occurs in the answer, case-insensitively, with runs of whitespace collapsed.
- ``exact``: the answer equals some alternative after the same normalisation and stripping.
- ``number``: some number written in the answer (``1,234.5``, ``-3``, ``2e-5``…) is within relative tolerance
  1e-6 of some alternative (absolute 1e-9 around zero).

Hand-written: the rules are this project's own task format.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence

from umi_edge.formats.taskfile import Match

REL_TOL = 1e-6
ABS_TOL = 1e-9
_NUMBER = re.compile(r"(?<![\w.])[-+]?(?:\d{1,3}(?:,\d{3})+|\d+)?(?:\.\d+)?(?:[eE][-+]?\d+)?")


def _norm(text: str) -> str:
    return " ".join(text.casefold().split())


def numbers_in(text: str) -> list[float]:
    """Every number written in ``text``, thousands separators removed."""
    out: list[float] = []
    for m in _NUMBER.finditer(text):
        s = m.group(0)
        if not any(c.isdigit() for c in s):
            continue
        try:
            out.append(float(s.replace(",", "")))
        except ValueError:
            continue
    return out


def _decimals(text: str) -> int:
    """Digits after the decimal point of a written number (``"3.14"`` → 2, ``"1,200"`` → 0)."""
    body = text.lower().split("e")[0]
    return len(body.split(".")[1]) if "." in body else 0


def ungrounded_numbers(answer: str, sources: Sequence[str]) -> list[float]:
    """The numbers ``answer`` states that none of ``sources`` (the request, the observations) holds.

    A number counts as held when a source writes the same value (``441`` and ``441.0`` alike, thousands separators
    ignored) or a value that rounds to it at the precision the answer writes (``3.14`` from ``3.14159``)."""
    held = [x for s in sources for x in numbers_in(s)]
    out: list[float] = []
    for m in _NUMBER.finditer(answer):
        text = m.group(0)
        if not any(c.isdigit() for c in text):
            continue
        try:
            x = float(text.replace(",", ""))
        except ValueError:
            continue
        places = _decimals(text)
        if not any(
            math.isclose(x, y, rel_tol=REL_TOL, abs_tol=ABS_TOL)
            or math.isclose(x, round(y, places), rel_tol=REL_TOL, abs_tol=ABS_TOL)
            for y in held
        ):
            out.append(x)
    return out


def matches(answer: str, expected: Sequence[str | float | int], match: Match) -> bool:
    """True when ``answer`` satisfies one of the ``expected`` alternatives under ``match``."""
    if match == "number":
        found = numbers_in(answer)
        targets = [float(str(e).replace(",", "")) if isinstance(e, str) else float(e) for e in expected]
        return any(math.isclose(x, t, rel_tol=REL_TOL, abs_tol=ABS_TOL) for x in found for t in targets)
    got = _norm(answer)
    if match == "exact":
        return any(got == _norm(str(e)) for e in expected)
    return any(_norm(str(e)) in got for e in expected)
