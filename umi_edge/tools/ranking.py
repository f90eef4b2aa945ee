"""Ranking tools for a request with BM25 (``rank_bm25.BM25Plus`` with ``delta=0``: Okapi BM25 with the BM25+ IDF
``log((N + 1) / n)``), so prompts can carry the top-k tools and the caller's tool prior can weigh them.
Okapi's own IDF is 0 for a word that half the documents hold, so among two tools (BFCL's ``multiple`` entries) a word
of one of them would score nothing; the BM25+ IDF is positive for every word a tool holds.

Each tool is one document: its name (snake_case and camelCase split into words, counted twice), its description,
and its parameters' names and descriptions.  Words are lower-cased runs of letters and digits, with a few English
stop words dropped and a plural ``s`` cut, the same way for the request and the tools.  No model is involved.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from umi_edge.tools.registry import Tool

_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")
_WORD = re.compile(r"[a-z0-9]+")
STOP_WORDS = frozenset(
    "a an and are as at be by can could do does for from get give how i in is it me my of on or please show "
    "tell than that the this to was what when where which who why will with would you your".split()
)
NAME_WEIGHT = 2
"""A tool's name words count this many times (a name says more than a word of its description)."""


def words(text: str) -> list[str]:
    """The ranking words of ``text``: camelCase and snake_case split, lower-cased, stop words out, plurals cut."""
    out = []
    for w in _WORD.findall(_CAMEL.sub(" ", text).lower()):
        if w in STOP_WORDS:
            continue
        if len(w) > 3 and w.endswith("s") and not w.endswith("ss"):
            w = w[:-1]
        out.append(w)
    return out


def tool_words(t: Tool) -> list[str]:
    """The document of ``t``: name words (weighted), description, parameter names and descriptions."""
    parts = [t.description]
    for name, spec in t.parameters.get("properties", {}).items():
        parts.append(name)
        if isinstance(spec, dict):
            parts.append(str(spec.get("description", "")))
    return words(t.name) * NAME_WEIGHT + words(" ".join(parts))


def scores(documents: Sequence[list[str]], query: str, *, length_norm: bool = True) -> list[float]:
    """The BM25 score of each document (a list of :func:`words`) for ``query`` (all 0 when it has no ranking word).

    ``length_norm=False`` (BM25's ``b = 0``): a word counts the same in a short document as in a longer one, for
    documents of a few words (the words around a number, a JSON key), where one more word is noise."""
    from rank_bm25 import BM25Plus

    q = words(query)
    if not q or not documents:
        return [0.0] * len(documents)
    bm25 = BM25Plus([d or ["_"] for d in documents], b=0.75 if length_norm else 0.0, delta=0.0)
    return [float(x) for x in bm25.get_scores(q)]


def tool_scores(tools: Sequence[Tool], query: str) -> list[float]:
    """The BM25 score of each of ``tools`` for ``query`` (all 0 when the query has no ranking word)."""
    return scores([tool_words(t) for t in tools], query)


def rank_tools(tools: Sequence[Tool], query: str) -> list[Tool]:
    """``tools`` from most to least relevant to ``query``; equal scores keep their registry order."""
    if len(tools) < 2:
        return list(tools)
    scores = tool_scores(tools, query)
    order = sorted(range(len(tools)), key=lambda i: (-scores[i], i))
    return [tools[i] for i in order]
