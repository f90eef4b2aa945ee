"""Doc formats: a string argument completed to the two-part format its parameter's doc gives.

Tool docs often say how a value is written: "The city, in the format of 'City, State', such as 'Berkeley, CA'". A
small caller copies the request's words ("Find a salon in Pinole" → ``city: "Pinole"``) and leaves the second part
out. With ``complete_arguments`` on (``--no-complete-arguments`` turns it off), once the caller has written its call,
each string argument whose parameter doc quotes an example of two comma-separated capitalised parts, but whose value
has no comma, is completed by the caller itself: it writes on after ``"Pinole, `` under a grammar of one to three
words and the closing quote, greedy, as it would have written them. The completion is kept only when the caller is
sure of it (:data:`MIN_LOGPROB`); the rest of the call is kept. Only the doc is read, never a list of places, so the
second part is the caller's own knowledge ("Pinole, CA"). Enforced at run time, not trained; models/README.md reports
what it changes on BFCL's live data. No library does this (it is a rule about tool docs and our own prompts), so it
is written here.
"""

from __future__ import annotations

import json
import re
from collections.abc import Generator
from typing import Any

from umi_edge.agent.events import ArgumentCompleted, Event
from umi_edge.agent.state import RunState

_EXAMPLE = re.compile(r"""['"]([A-Z][^'",]*), ([A-Z][^'",]*)['"]""")
"""A quoted example of two comma-separated parts: ``'City, State'``, ``'Berkeley, CA'``."""
SECOND_PART = r"""root ::= [A-Z] [A-Za-z.]* (" " [A-Za-z] [A-Za-z.]*)? (" " [A-Za-z] [A-Za-z.]*)? "\""
"""
"""The grammar of what the caller writes after ``value, ``: one to three words, the first capitalised, then the
closing quote."""
MAX_TOKENS = 12
MIN_LOGPROB = -1.5
"""The least mean log-probability per token of the written second part for it to be kept: below it the caller is
guessing ("Moscow, Carskaben"), and the value stays as written. Chosen on BFCL's live data (models/README.md)."""


def two_part_format(spec: Any) -> bool:
    """The parameter schema ``spec`` documents a two-part format: a string whose description quotes an example of
    two comma-separated capitalised parts (``'City, State'``, ``'New York, NY'``), and is not a list."""
    if not isinstance(spec, dict) or spec.get("type", "string") != "string" or "enum" in spec:
        return False
    doc = str(spec.get("description", ""))
    return not re.search(r"separated|\blist\b", doc, re.I) and _EXAMPLE.search(doc) is not None


PLACEHOLDERS = ("city", "state", "country", "location", "place", "town")
"""Words that name the format's parts, not a place: ``"City, Ireland"`` is the format copied."""
TIME_WORDS = frozenset(
    "monday tuesday wednesday thursday friday saturday sunday today tomorrow tonight weekend".split()
)
"""Words of a time, not a place ("Friday" for "if Friday is okay")."""
_NAME_PREFIX = re.compile(r"(?:Mc|Mac|De|Di|Du|La|Le|Van|Von|O')[A-Z]")
"""Capitals inside a place name's word ("McAllen", "DeKalb", "O'Fallon"); other inner capitals make a brand
("VirusTotal")."""


def _no_place_name(first: str) -> bool:
    """``first`` (a value's first part) is written as no place name is: a word with an inner capital ("VirusTotal"),
    a time word ("Friday", "Emile go out this Friday night"), an IP address ("IP 192.168.1.1") or one word three times
    ("bla bla bla")."""
    ws = first.split()
    if not ws:
        return False
    brand = any(re.search(r"[a-z][A-Z]", w) and not _NAME_PREFIX.match(w) for w in ws)
    time = any(w.lower().strip(".!?") in TIME_WORDS for w in ws)
    repeated = len(ws) > 2 and len({w.lower() for w in ws}) == 1  # "Walla Walla" is a place
    return brand or time or repeated or re.search(r"\d+(?:\.\d+){3}", first) is not None


def misfits_format(value: str, spec: Any, sources: str) -> bool:
    """``value`` cannot be a value of the :func:`two_part_format` parameter ``spec``: it is one of the doc's own
    examples that the sources (lower-cased request and observations) do not name ("San Francisco, CA" for "Who are
    you?"), its first part is a placeholder word, or it is no place name: a domain, an IP address, a key or a path
    (``twitter.com``, ``192.168.1.1``, ``api12345``; an ordinal such as ``3rd`` is fine), or is written as no place
    name is (:func:`_no_place_name`)."""
    if not two_part_format(spec):
        return False
    v = value.strip()
    first = v.split(",")[0].strip()
    examples = {m.group(0)[1:-1] for m in _EXAMPLE.finditer(str(spec.get("description", "")))}
    if v in examples and first.lower() not in sources:
        return True
    if first.lower() in PLACEHOLDERS:
        return True
    mixed = any(
        re.search(r"\d", t) and re.search(r"[^\W\d_]", t) and not re.fullmatch(r"\d+(?:st|nd|rd|th)", t, re.I)
        for t in first.split()
    )
    if mixed or _no_place_name(first) or not re.search(r"[^\W\d_]{2}", first):
        return True
    return re.search(r"[^\W\d_]\.[^\W\d_]|[_@/]", first) is not None


def complete_formats(state: RunState, step: int, prompt: str, text: str) -> Generator[Event, None, str]:
    """``text`` (the caller's call after ``prompt``), with each string argument of a :func:`two_part_format`
    parameter that lacks its second part completed by the caller; yields :class:`ArgumentCompleted` for each."""
    if not state.config.complete_arguments:
        return text
    found = state.written_call(text)
    if found is None:
        return text
    call, tool = found
    props = tool.parameters.get("properties", {})
    role = state.engine_role("caller")
    start = text.find("Action Input:")
    for name, value in call.arguments.items():
        if not isinstance(value, str) or "," in value or not value.strip() or not two_part_format(props.get(name)):
            continue
        literal = re.compile(r'"' + re.escape(name) + r'"\s*:\s*' + re.escape(json.dumps(value, ensure_ascii=False)))
        m = literal.search(text, start)
        if m is None:
            continue
        head = text[: m.end() - 1]  # the value without its closing quote
        gen = state.engine.complete(
            role, prompt + head + ", ", grammar=state.engine.grammar(SECOND_PART, role), max_tokens=MAX_TOKENS
        )
        second = gen.text.strip()
        if not second.endswith('"') or len(second) < 2 or second[:-1].lower() in PLACEHOLDERS:
            continue  # cut off by the token budget, or the format's own word ("LA, City"): leave the value as written
        scored = " " + second + text[m.end() : m.end() + 1]  # with the character after the value, as tokenized
        logprob = state.engine.continuation_logprobs(role, prompt + head + ",", [scored])[0]
        per_token = logprob / max(1, state.engine.count_tokens(role, scored))
        accepted = per_token >= MIN_LOGPROB
        yield ArgumentCompleted(step, name, f"{value}, {second[:-1]}", value, round(per_token, 3), accepted)
        if accepted:
            text = head + ", " + second + text[m.end() :]
    return text
