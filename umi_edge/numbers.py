"""Numbers as people and tools write them: finding them in text, and the spellings of one value.

Shared by the answer checks of ``eval`` (:mod:`umi_edge.eval.matching`) and the grounded summarizer
(:mod:`umi_edge.agent.grounding`). Hand-written: a regular expression and string formatting suffice.
"""

from __future__ import annotations

import re

NUMBER = re.compile(r"(?<![\w.])[-+]?(?:\d{1,3}(?:,\d{3})+|\d+)?(?:\.\d+)?(?:[eE][-+]?\d+)?")
"""A written number: optional sign, thousands separators, decimals, exponent."""
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
