"""Grounded answers and calls: the values the agent states must come from the request or an observation.

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
(15 ↔ 0.15), or a number word of the request (``"two and a half"``). 0 and 1 are always allowed.

Short strings are checked too (:func:`made_up_strings`): a string value of at most :data:`MAX_CHECKED_WORDS` words none
of which the request, an observation or the parameter's own doc (description, enum, default) holds is made up
(``"AAPL"`` for "What is the capital of Australia?", a date ``"2023-04-15"`` that no one gave). A word is held when a
source has a word with the same first four letters (``dict`` / ``dictionary``); a shorter word when a source has it, or
a word it abbreviates (``kg`` / ``kilograms``); digits count as words (number words of the request too; 0 and 1 are
always held), and a word in a script without spaces (Chinese) is held when a source text contains it. Longer strings
(code, queries, sentences) are free: a call may rightly rephrase the request's words. Three shapes are checked as
written, whatever their length, since a small caller builds them from held words: a name (``order_id``,
``help.display``, ``user@example.com``, the tool's own name), which a source or the parameter's doc must hold as it
is; a code without spaces or operators (``2023-04-15``), each of whose digit runs must be a source's number (a month
name of the request holds its number); and a URL or path, each of whose name-like parts must be held as written.
A value of a parameter whose doc gives a two-part place format ('City, State') must fit it
(:func:`~umi_edge.agent.doc_formats.misfits_format`: not the doc's own example unasked, not a domain, an IP address or
a key). A string that is one of its doc's quoted examples ("e.g. 'cactus'") while the sources hold none of its words
is made up (:func:`copied_examples`), and so are two parameters holding the same string and a string that narrates
the agent's plan ("I will add …") (:func:`confused_strings`). An optional parameter whose string value only its doc
holds is left out of the call instead (:func:`unasked_optionals`): the user made no such choice; so is an optional
flag the first call sets to ``true`` unasked (:func:`unasked_flags`).

No library does this (it is a rule about our own sources), so it is written here. Enforced at run time, not trained;
models/README.md reports what it costs and saves.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from umi_edge.agent.doc_formats import misfits_format
from umi_edge.agent.relevance import match_keys
from umi_edge.numbers import decimals, number_texts, numbers_in, rounds_to, spellings, word_numbers
from umi_edge.tools import ranking

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


def leaves(value: Any) -> Iterator[Any]:
    """The scalar values inside an argument value (through objects and arrays)."""
    if isinstance(value, Mapping):
        for v in value.values():
            yield from leaves(v)
    elif isinstance(value, list | tuple):
        for v in value:
            yield from leaves(v)
    else:
        yield value


def _call_numbers(value: Any) -> Iterator[int | float]:
    """The JSON numbers inside an argument value (booleans are not numbers)."""
    return (v for v in leaves(value) if isinstance(v, int | float) and not isinstance(v, bool))


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


MAX_CHECKED_WORDS = 4
"""Strings of more words than this (code, queries, sentences) are not checked."""
_WORDS = re.compile(r"\w+")


def _string_words(text: str) -> list[str]:
    """The words a string check compares: lower-cased runs of letters or digits (``_`` splits), single letters
    left out."""
    return [w for m in _WORDS.finditer(text.lower()) for w in m.group(0).split("_") if len(w) > 1 or w.isdigit()]


def _abbreviates(short: str, word: str) -> bool:
    """``short`` (2-3 letters) is an abbreviation of ``word``: same first letter, its letters in order (``kg`` /
    ``kilograms``, ``min`` / ``minutes``, ``GiB`` / ``gibibytes``)."""
    if not short.isalpha() or len(word) <= len(short) or word[0] != short[0]:
        return False
    rest = iter(word[1:])
    return all(c in rest for c in short[1:])


def _word_held(word: str, held: set[str], stems: set[str], texts: str) -> bool:
    if not word.isascii():
        return word in texts
    if len(word) >= 4:
        return word[:4] in stems
    return word in held or any(_abbreviates(word, h) for h in held)


DOC_FIELDS = ("description", "enum", "default", "examples")
"""The fields of a parameter's schema whose words a string argument may use (not ``type``: ``"string"``)."""


def _doc_words(spec: Any) -> set[str]:
    """The words of a parameter schema's :data:`DOC_FIELDS`, also inside ``items`` and ``properties``."""
    if not isinstance(spec, Mapping):
        return set()
    out = {w for f in DOC_FIELDS if f in spec for w in _string_words(json.dumps(spec[f], ensure_ascii=False))}
    out |= _doc_words(spec.get("items"))
    props = spec.get("properties")
    if isinstance(props, Mapping):
        for sub in props.values():
            out |= _doc_words(sub)
    return out


IDENTIFIER = re.compile(r"(?=[\w.@+-]*[^\W\d_])[\w+-]+(?:(?:_|\.(?=[^\W\d_])|@)[\w+-]+)+")
"""A name-like string: words joined by ``_``, dots between letters, or an e-mail address (``order_id``,
``help.display``, ``Support.db``, ``user@example.com``), not a number (``3.5``)."""
_CODE = re.compile(r"[^\s*()^%=<>+]+")
"""A string without spaces or operators (a date, a code, a version), whose digits are values: ``2023-04-15``,
``jsonv2``; not an expression (``1770 / 52 * 100``), whose constants are not."""
MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")


def _made_up_code(text: str, sources: str, doc: str, digits: set[float]) -> bool:
    """``text`` is a name-like string (:data:`IDENTIFIER`) that neither the sources nor the parameter's doc hold as
    written (a small caller joins the request's or the doc's words into a name: ``order_id``, ``sum_of_squares``,
    or copies the tool's name), or a code-like one (:data:`_CODE`) holding a digit run that is no source's number
    (``2023-04-15`` for "book a bus", where the request gives no date)."""
    t = text.strip().lower()
    if t in sources or t in doc:
        return False
    if IDENTIFIER.fullmatch(t):
        return True
    if "/" in t and not any(c.isspace() for c in t):  # a URL or path: each name-like part as above
        parts = [p for p in re.split(r"[/?&=#]+|^[a-z]+:", t) if IDENTIFIER.fullmatch(p)]
        if any(p not in sources and p not in doc for p in parts):
            return True
    documented = set(re.findall(r"\d+", doc))
    runs = re.findall(r"\d+", t)
    return bool(_CODE.fullmatch(t)) and any(float(d) not in digits and d not in documented for d in runs)


def made_up_strings(
    arguments: Mapping[str, Any], turns: Iterable[Mapping[str, str]], parameters: Mapping[str, Any] | None = None
) -> list[str]:
    """The short strings of ``arguments`` (as JSON texts, in order, without repeats) that share no word with the
    request(s), the observations or their parameter's own doc (``parameters``: the tool's JSON schema)."""
    texts = [t["value"] for t in turns if t["from"] in SOURCES]
    words = {w for t in texts for w in _string_words(t)}
    words |= {str(int(x)) for t in turns if t["from"] == "user" for x in word_numbers(t["value"]) if x == int(x)}
    words |= {str(int(x)) for x in ALWAYS_HELD}  # as for numbers: 0 and 1 are always allowed
    joined = "\n".join(texts).lower()
    props = (parameters or {}).get("properties", {})
    props = props if isinstance(props, Mapping) else {}
    doc_texts = {n: json.dumps(props.get(n), ensure_ascii=False).lower() for n in arguments}
    digits = held_values(turns) | set(ALWAYS_HELD)
    digits |= {float(i) for i, m in enumerate(MONTHS, 1) if re.search(rf"\b{m}", joined)}  # "3 December" → 12
    out: list[str] = []
    for name, value in arguments.items():
        held = words | _doc_words(props.get(name))
        stems = {w[:4] for w in held if len(w) >= 4}
        for text in (v for v in leaves(value) if isinstance(v, str)):
            ws = _string_words(text)
            if not ws:
                continue
            if (
                _made_up_code(text, joined, doc_texts.get(name, ""), digits)
                or (len(ws) <= MAX_CHECKED_WORDS and not any(_word_held(w, held, stems, joined) for w in ws))
                or (text is value and misfits_format(text, props.get(name), joined))
            ):
                js = json.dumps(text, ensure_ascii=False)
                if js not in out:
                    out.append(js)
    return out


def unasked_optionals(
    arguments: Mapping[str, Any], turns: Iterable[Mapping[str, str]], parameters: Mapping[str, Any] | None = None
) -> list[str]:
    """The optional parameters of ``arguments`` whose string value only the parameter's doc holds, not the request or
    an observation (``unit: "celsius"`` from the doc's enum for "weather in Naples"): the caller filled in a choice the
    user did not make, so the call leaves it out and the tool's default applies."""
    turns = list(turns)
    required = set((parameters or {}).get("required", []))
    return [
        k
        for k, v in arguments.items()
        if k not in required
        and isinstance(v, str)
        and made_up_strings({k: v}, turns)
        and not made_up_strings({k: v}, turns, parameters)
    ]


def unasked_flags(arguments: Mapping[str, Any], request: str, parameters: Mapping[str, Any] | None = None) -> list[str]:
    """The optional boolean parameters of ``arguments`` set to ``true`` that ``request`` does not ask for: the doc's
    default is not ``true`` and no word of the parameter's name is a word of the request (``include_hidden: true``
    for "list the files in my project", but not for "show the hidden files too"). The caller switched on an option
    the user did not choose, so the call leaves it out and the tool's default applies. Judged on a question's first
    call only (``drop_unasked``): after an observation the agent may need an option to recover."""
    required = set((parameters or {}).get("required", []))
    props = (parameters or {}).get("properties", {})
    asked = {k for w in ranking.words(request) for k in match_keys(w)}
    out = []
    for name, value in arguments.items():
        spec = props.get(name) if isinstance(props, Mapping) else None
        if name in required or value is not True or not isinstance(spec, Mapping) or spec.get("default") is True:
            continue
        if not any(match_keys(w) & asked for w in ranking.words(name)):
            out.append(name)
    return out


NARRATION = re.compile(r"\s*I (?:will|'ll|am going to|added|have added)\b", re.I)
"""A string that narrates the agent's own plan, as the planner's thoughts do ("I will add the item to my list")."""


_EXAMPLE_SPAN = re.compile(r"(?:\be\.g\.|\bsuch as\b|\bfor example\b|\bfor instance\b)[^.;]*(?:\.(?=\S)[^.;]*)*", re.I)
"""From an example marker to the end of its sentence (a dot inside a word, as in ``e.g.`` or ``3.5``, goes on)."""
_QUOTED = re.compile(r"'([^']+)'|\"([^\"]+)\"")


def doc_examples(spec: Any) -> set[str]:
    """The lower-cased values a parameter's description quotes as examples (after "e.g.", "such as", "for
    example"): ``Kind of plant, e.g. "cactus", "fern"`` → ``{"cactus", "fern"}``. Not the schema's enum or default."""
    doc = str(spec.get("description", "")) if isinstance(spec, Mapping) else ""
    return {(a or b).strip().lower() for m in _EXAMPLE_SPAN.finditer(doc) for a, b in _QUOTED.findall(m.group(0))}


def copied_examples(
    arguments: Mapping[str, Any], turns: Iterable[Mapping[str, str]], parameters: Mapping[str, Any] | None = None
) -> list[str]:
    """String values that are one of their parameter doc's examples (:func:`doc_examples`) while no word of them is
    the request's or an observation's, symbols and codes of up to 3 characters aside (``lb`` for "pounds" is
    the unit's own spelling): the caller copied the illustration ("cactus" for "If someone makes 4100 a
    month…", "San Francisco, CA" for "Who are you?")."""
    props = (parameters or {}).get("properties", {})
    turns = list(turns)
    out: list[str] = []
    for name, value in arguments.items():
        spec = props.get(name) if isinstance(props, Mapping) else None
        example = isinstance(value, str) and len(value.strip()) > 3 and value.strip().lower() in doc_examples(spec)
        if example and made_up_strings({name: value}, turns):
            out.append(json.dumps(value, ensure_ascii=False))
    return out


def confused_strings(arguments: Mapping[str, Any], turns: Iterable[Mapping[str, str]]) -> list[str]:
    """String values a confused caller writes, whatever words they hold: one that another parameter of the call already
    holds (``username`` and ``password`` both ``"john_doe"``; ``artist`` and ``album`` both the artist), and one that
    narrates the agent's plan (:data:`NARRATION`) where no source says it."""
    sources = "\n".join(t["value"] for t in turns if t["from"] in SOURCES).lower()
    out: list[str] = []
    seen: set[str] = set()
    for value in arguments.values():
        if not isinstance(value, str) or not value.strip():
            continue
        key = value.strip().lower()
        if key in seen or (NARRATION.match(value) and key not in sources):
            js = json.dumps(value, ensure_ascii=False)
            if js not in out:
                out.append(js)
        seen.add(key)
    return out


def made_up_values(
    arguments: Mapping[str, Any], turns: Iterable[Mapping[str, str]], doc: Mapping[str, Any] | None = None
) -> list[str]:
    """:func:`made_up_numbers`, :func:`made_up_strings`, :func:`copied_examples` then :func:`confused_strings` of a
    call (``doc``: the tool's description and parameters schema)."""
    turns = list(turns)
    parameters = (doc or {}).get("parameters")
    found = made_up_numbers(arguments, turns, doc) + made_up_strings(arguments, turns, parameters)
    more = copied_examples(arguments, turns, parameters) + confused_strings(arguments, turns)
    return found + [s for s in dict.fromkeys(more) if s not in found]


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
