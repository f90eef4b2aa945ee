"""Follow-up questions read as questions that stand alone (issue 17, point 5).

By default the roles see no earlier question of a session (``history = "none"``, chosen by measurement: with any
record of earlier questions the 135M planner copies their calls, models/README.md). A follow-up such as "And 30
miles?" or "Now multiply that by 3." then means nothing to them. With ``follow_ups`` on (``--no-follow-ups`` turns
it off), a later question of a session is first rewritten from the question before it (``before``, itself already
standalone) and that question's answer, when it is one of three kinds:

- **a fragment that replaces part of the question before** (it starts with "and", "what about", "how about", ...):
  the run of words of ``before`` that lines up best with the fragment (the same words, or words of the same shape:
  a number, a percentage, a date, a capitalised name, a word with the same ending) is replaced by it. "And 30
  miles?" after "Convert 12 miles to kilometres." → "Convert 30 miles to kilometres."; "And 20% of it?" after "What
  is 15% of 360?" → "What is 20% of 360?" (a pronoun keeps the word it lines up with);
- **an operation on the answer before** ("Now multiply that by 3.", "Divide it by 5."): the pronoun becomes the
  number of the answer that the question before did not hold ("1250 divided by 4 is 312.5." → 312.5);
- **a question about the same source** ("What is its budget?", "From which platform?", "What time is checkout?"):
  a short question that names no file, number or name of its own, after one that named a file or database, and
  that refers back (a pronoun, a bare "from which ...", or words that the earlier question's tool results hold,
  :func:`asks_about_results`), is asked "According to <that file>, ...", and "its" / "it" become the name the
  question before asked about ("project Titan").

Anything else is left as the user wrote it, so independent second questions are unchanged. The run's user turn
holds the rewritten question (so a later follow-up builds on it) and :class:`FollowUpRead` shows both. A library
for this would be a coreference or query-rewriting model, which needs a download; these rules read only the text.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from umi_edge.agent.grounding import leaves
from umi_edge.agent.relevance import content_words, match_keys
from umi_edge.numbers import mentions
from umi_edge.tools.ranking import words

CONNECTIVE = re.compile(
    r"^\s*(?:and\s+(?:what|how)\s+about|what\s+about|how\s+about|and\s+also|and|also|now|then)\b[\s,]*", re.I
)
"""How a follow-up begins."""
OPERATION = re.compile(
    r"^(?:multiply|divide|add|subtract|double|halve|square|cube|round|increase|decrease|raise)\b", re.I
)
"""Verbs of an operation on a number."""
BACK = re.compile(
    r"\b(?:that|it|this|the result|the answer)\b"
    r"(?=\s*(?:$|[.?!,]|by\b|from\b|to\b|and\b|plus\b|minus\b|times\b|over\b))",
    re.I,
)
"""A pronoun standing for the answer before: the end of a clause, or before an operation's preposition."""
REFERS = re.compile(r"\bits\b|\b(?:it|that|this)\b(?=\s*(?:$|[.?!,]|(?:in|on|at|from|of|for|about)\b))", re.I)
"""Words that refer back to what the question before was about ("its budget", "which room is it in?"; not "is it
sunny")."""
ASKS_WHICH = re.compile(r"(?:from|in|at|on|to|for|by|with)\s+(?:which|what|whom)\b", re.I)
"""A question that is only a preposition, a question word and a noun ("From which platform?")."""
SOURCE = re.compile(r"[\w./-]*\w\.(?:txt|md|csv|json|db|sqlite|log|py|yaml|yml|toml|ini|html|xml)\b")
"""A file or database the question names."""
PRONOUNS = {"it", "that", "this", "its", "them", "those", "they"}
STOP = {"a", "an", "the", "of", "in", "to", "is", "are", "what", "how", "many", "much", "me", "for", "on", "at", "by"}
WORD = re.compile(r"[\w%/:-]+(?:\.[\w%/:-]+)*|[^\w\s]")
"""Words of a question; a number with ``%`` or a decimal point, a path or a date is one word, and a sentence's
full stop is not part of its last word."""

SHORT_WORDS = 8
"""A follow-up is one short sentence; a longer question is a question of its own."""
Kind = Literal["fragment", "answer", "source"]


@dataclass(frozen=True)
class Reading:
    """How a follow-up was read: ``kind`` of rewrite and the ``text`` asked instead."""

    kind: Kind
    text: str


def _shape(word: str) -> str:
    """A word's shape: ``number``, ``percent``, ``date``, ``name`` (capitalised), ``path``, or the word itself."""
    w = word.rstrip(".,?!")
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", w):
        return "date"
    if re.fullmatch(r"[-+]?\d[\d,]*(?:\.\d+)?%", w):
        return "percent"
    if re.fullmatch(r"[-+]?\d[\d,]*(?:\.\d+)?", w):
        return "number"
    if SOURCE.fullmatch(w):
        return "path"
    if w[:1].isupper() and w[1:].islower():
        return "name"
    return w.lower()


def _pair(a: str, b: str) -> float:
    """How well word ``a`` of a fragment lines up with word ``b`` of the question before: 2 the same word, 1 the
    same shape or ending (a different value: what the fragment changes), 0.5 a pronoun, else 0."""
    if a.lower() == b.lower():
        return 2.0
    if a.lower() in PRONOUNS:
        return 0.5
    sa, sb = _shape(a), _shape(b)
    if sa == sb and sa in ("date", "percent", "number", "name", "path"):
        return 1.0
    if len(a) > 3 and len(b) > 3 and a[-2:].lower() == b[-2:].lower() and b.lower() not in STOP:
        return 1.0
    return 0.0


def _tokens(text: str) -> list[str]:
    return WORD.findall(text)


def _join(tokens: Sequence[str]) -> str:
    out = ""
    for t in tokens:
        out += t if (not out or re.fullmatch(r"[^\w\s%]", t) and t not in "(\"'") else f" {t}"
    return out


def _fragment(rest: str, before: str) -> str | None:
    """``before`` with its best-aligned run of words replaced by the fragment ``rest``, or None."""
    frag = [t for t in _tokens(rest) if re.match(r"[\w%]", t)]
    if not frag or len(frag) > 8:
        return None
    prev = _tokens(before)
    best: tuple[float, int] | None = None
    for start in range(len(prev) - len(frag) + 1):
        window = prev[start : start + len(frag)]
        if not all(re.match(r"[\w%]", t) for t in window):
            continue
        pairs = [_pair(a, b) for a, b in zip(frag, window, strict=True)]
        changed = sum(1 for p, a, b in zip(pairs, frag, window, strict=True) if p == 1.0 and a.lower() != b.lower())
        if changed == 0 or min(pairs) == 0.0:
            continue
        score = sum(pairs) + start / 100  # ties: the later run (what a follow-up changes comes last)
        if best is None or score > best[0]:
            best = (score, start)
    if best is None:
        return None
    start = best[1]
    window = prev[start : start + len(frag)]
    new = [b if a.lower() in PRONOUNS else a for a, b in zip(frag, window, strict=True)]
    return _join(prev[:start] + new + prev[start + len(frag) :])


def _answer_number(before: str, answer: str) -> str | None:
    """The one number of ``answer`` that ``before`` does not hold, as written; None when there is not exactly one."""
    held = {m.value for m in mentions(before)}
    found = [m for m in mentions(answer) if m.value not in held]
    values = {m.value for m in found}
    if len(values) != 1:
        return None
    return found[-1].text.strip()


def _subject(before: str) -> str | None:
    """What the question before asked about: its last capitalised name (with the word before it when that is a
    lower-case noun such as "project"), not its first word or a file."""
    tokens = _tokens(before)
    for i in range(len(tokens) - 1, 0, -1):
        t = tokens[i]
        if _shape(t) == "name" and not SOURCE.fullmatch(t):
            prev = tokens[i - 1]
            if prev.isalpha() and prev.islower() and prev not in STOP and prev not in {"owns", "about", "does"}:
                return f"{prev} {t}"
            return t
    return None


def _values(observation: str) -> str:
    """The text of an observation's values (a JSON result's keys, such as ``content`` or ``path``, left out)."""
    try:
        data = json.loads(observation)
    except ValueError:
        return observation
    return " ".join(str(v) for v in leaves(data))


def asks_about_results(question: str, observations: Sequence[str]) -> bool:
    """Whether at least half of the content words of ``question`` (and one or more) are held by the values of
    ``observations``, the tool results of the question before ("What time is checkout?" after a read of
    ``Checkout: 11:00``)."""
    asked = content_words(question)
    if not asked or not observations:
        return False
    held: set[str] = set()
    for text in observations:
        for w in words(_values(text)):
            held |= match_keys(w)
    hits = sum(1 for w in asked if match_keys(w) & held)
    return hits >= 1 and 2 * hits >= len(asked)


def read_follow_up(question: str, before: str, answer: str | None, observations: Sequence[str] = ()) -> Reading | None:
    """``question`` rewritten to stand alone after ``before`` (answered ``answer``, None when it was not; its tool
    results ``observations``), or None when it is not a follow-up this module reads."""
    text = question.strip()
    if not text or not before.strip():
        return None
    lead = CONNECTIVE.match(text)
    rest = text[lead.end() :] if lead else text
    if lead and rest and not OPERATION.match(rest) and not re.match(r"(?:what|which|who|how|when|where)\b", rest, re.I):
        new = _fragment(rest, before)
        if new is not None:
            return Reading("fragment", new)
    short = len(rest.split()) <= SHORT_WORDS and not re.search(r"[.?!]\s+\S", rest)
    if OPERATION.match(rest) and answer and short and not SOURCE.search(text):
        number = _answer_number(before, answer)
        found = BACK.search(rest)
        if number is not None and found:
            new = rest[: found.start()] + number + rest[found.end() :]
            return Reading("answer", new[:1].upper() + new[1:])
    sources = SOURCE.findall(before)
    refers = (
        lead
        or REFERS.search(text)
        or (ASKS_WHICH.match(text) and len(text.split()) <= 4)
        or asks_about_results(text, observations)
    )
    names = [t for t in _tokens(rest)[1:] if _shape(t) == "name"]
    if sources and refers and short and not names and not SOURCE.search(text) and not mentions(text):
        subject = _subject(before)
        body = rest.rstrip()
        if subject:
            body = re.sub(r"\bits\s+(\w+)", rf"the \1 of {subject}", body, count=1, flags=re.I)
            body = re.sub(r"\bit\b", subject, body, count=1, flags=re.I)
        body = body[:1].lower() + body[1:] if body[:2] != body[:2].upper() else body
        return Reading("source", f"According to {sources[0]}, {body}")
    return None


def standalone(turns: Sequence[Mapping[str, str]], question: str) -> Reading | None:
    """:func:`read_follow_up` of ``question`` after the last question of ``turns`` (a session's earlier turns),
    that question's conclusion and its tool results."""
    before: str | None = None
    answer: str | None = None
    observations: list[str] = []
    for t in turns:
        if t["from"] == "user":
            before, answer, observations = t["value"], None, []
        elif t["from"] == "conclusion":
            answer = t["value"]
        elif t["from"] == "observation":
            observations.append(t["value"])
    return None if before is None else read_follow_up(question, before, answer, observations)
