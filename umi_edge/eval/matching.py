"""Checking an agent's final answer against a task's expected answer(s).

- ``contains``: some alternative occurs in the answer, case-insensitively, with runs of whitespace collapsed.
- ``exact``: the answer equals some alternative after the same normalisation and stripping.
- ``number``: some number written in the answer (``1,234.5``, ``-3``, ``2e-5``…) is within relative tolerance
  1e-6 of some alternative (absolute 1e-9 around zero).

Hand-written: the rules are this project's own task format.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from umi_edge.formats.taskfile import Match
from umi_edge.numbers import NUMBER, decimals, numbers_in, rounds_to

REL_TOL = 1e-6
ABS_TOL = 1e-9


def _norm(text: str) -> str:
    return " ".join(text.casefold().split())


def ungrounded_numbers(answer: str, sources: Sequence[str]) -> list[float]:
    """The numbers ``answer`` states that none of ``sources`` (the request, the observations) holds.

    A number counts as held when a source writes the same value (``441`` and ``441.0`` alike, thousands separators
    ignored) or a value that rounds to it at the precision the answer writes (``3.14`` from ``3.14159``)."""
    held = [x for s in sources for x in numbers_in(s)]
    out: list[float] = []
    for m in NUMBER.finditer(answer):
        text = m.group(0)
        if not any(c.isdigit() for c in text):
            continue
        try:
            x = float(text.replace(",", ""))
        except ValueError:
            continue
        if not rounds_to(x, decimals(text), held, REL_TOL, ABS_TOL):
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
