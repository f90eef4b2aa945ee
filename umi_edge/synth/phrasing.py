"""Plain-words variation of a synthetic request: polite, indirect and terse forms, small numbers as words, synonyms
and typos (issue 17, point 3), so the planner meets requests that do not look like the family templates.

:func:`vary` rewrites the query text only; the values the task needs (numbers, names, file names, quoted text and
the expected answer's words) stay intact, except that a small whole number may be written as a word, which the
planner must read back. Hand-written: no library makes these α-UMi-specific, value-preserving rewrites.
"""

from __future__ import annotations

import random
import re

from umi_edge.numbers import NUMBER_WORDS
from umi_edge.synth.pools import Split

POLITE = [
    "Please {q}",
    "Could you {q}",
    "Can you {q}",
    "Would you mind helping me: {q}",
    "Hey, quick question. {Q}",
    "I need some help. {Q}",
    "Hi! {Q}",
    "I was wondering, {q}",
    "For a project I'm doing: {Q}",
    "{Q} Thanks!",
    "{Q} Thank you in advance.",
    "{Q} Cheers.",
]
HELDOUT_POLITE = [
    "Sorry to bother you, but {q}",
    "{Q} Much appreciated.",
    "Quick one: {Q}",
]
SYNONYMS = {
    "calculate": ["work out", "figure out", "compute"],
    "compute": ["work out", "calculate"],
    "what is": ["what's"],
    "how many": ["how many", "what number of"],
    "show me": ["give me", "let me see"],
    "find": ["look for", "locate"],
    "convert": ["change"],
    "file": ["file", "document"],
}
_PROTECTED = re.compile(r"""("[^"]*"|'[^']*'|\S*[\d._/\\@:-]\S*|\b[A-Z][a-zA-Z]*\b)""")
_QUESTION = re.compile(r"(?i)(what|how|which|who|when|where|is|are|do|does)\b")
_SMALL_INT = re.compile(r"(?<![\d.,/:-])\b([0-9]|1[0-9]|20)\b(?![\d.,/:%-])")


def _lower_first(q: str) -> str:
    return q[:1].lower() + q[1:] if q[:2] != q[:2].upper() else q


def _typo(word: str, rng: random.Random) -> str:
    i = rng.randrange(1, len(word) - 2)
    kind = rng.randrange(3)
    if kind == 0:  # swap two letters
        return word[:i] + word[i + 1] + word[i] + word[i + 2 :]
    if kind == 1:  # drop one
        return word[:i] + word[i + 1 :]
    return word[:i] + word[i] + word[i:]  # double one


def _safe_spans(q: str, keep: set[str]) -> list[tuple[int, int]]:
    spans = [m.span() for m in _PROTECTED.finditer(q)]
    for w in keep:
        spans += [m.span() for m in re.finditer(r"\b" + re.escape(w) + r"\b", q)]
    return spans


def _outside(spans: list[tuple[int, int]], start: int, end: int) -> bool:
    return all(end <= a or start >= b for a, b in spans)


def vary(query: str, rng: random.Random, split: Split, keep: str = "") -> str:
    """A variant of ``query`` (about half are left as they are); ``keep``'s words are never changed."""
    if rng.random() < 0.45:
        return query
    keep_words = {w for w in re.findall(r"[A-Za-z]+", keep) if len(w) > 1}
    q = query
    if rng.random() < 0.35:  # synonyms
        for phrase, alts in SYNONYMS.items():
            m = re.search(r"\b" + phrase + r"\b", q, flags=re.IGNORECASE)
            if m and phrase not in keep.lower() and _outside(_safe_spans(q, keep_words), *m.span()):
                alt = rng.choice(alts)
                alt = alt[:1].upper() + alt[1:] if m.group(0)[:1].isupper() else alt
                q = q[: m.start()] + alt + q[m.end() :]
    if rng.random() < 0.3:  # a small whole number as a word (the number itself is its own protected span)
        spans = _safe_spans(q, keep_words)
        numbers = [m for m in _SMALL_INT.finditer(q) if all(s == m.span() or _outside([s], *m.span()) for s in spans)]
        if numbers:
            m = rng.choice(numbers)
            q = q[: m.start()] + NUMBER_WORDS[int(m.group(1))] + q[m.end() :]
    r = rng.random()
    if r < 0.4:  # polite / indirect; "Could you {q}" only before an imperative
        imperative = not q.rstrip().endswith("?") and not _QUESTION.match(q)
        forms = [f for f in POLITE + (HELDOUT_POLITE if split == "heldout" else []) if imperative or "{q}" not in f]
        form = rng.choice(forms)
        body = q.rstrip()
        q = form.replace("{Q}", body).replace("{q}", _lower_first(body))
        if form.startswith(("Could", "Can", "Would")) and q.endswith("."):
            q = q[:-1] + "?"
    elif r < 0.6:  # terse: lower case, no closing punctuation, no leading pleasantry
        spans = _safe_spans(q, keep_words)
        q = "".join(c.lower() if _outside(spans, i, i + 1) else c for i, c in enumerate(q)).rstrip(".?! ")
    if rng.random() < 0.25:  # one typo in a plain word
        spans = _safe_spans(q, keep_words)
        words = [
            m for m in re.finditer(r"\b[a-z]{5,}\b", q) if _outside(spans, *m.span()) and m.group(0) not in NUMBER_WORDS
        ]
        if words:
            m = rng.choice(words)
            q = q[: m.start()] + _typo(m.group(0), rng) + q[m.end() :]
    return q
