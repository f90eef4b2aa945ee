"""The string prior: a string argument the request does not hold as written, chosen again among the request's spans.

A small caller often writes a string argument near the request's words but not as the request gives it: it paraphrases
("list files in d drive" for "… using dir Desktop"), keeps a part of a name ("gorilla.ai" for "andy@gorilla.ai"), or
lower-cases and joins names ("shishirpatil/gorilla-cli"). Tool users mostly want the request's own words. With a
weight ``w > 0`` (``--string-prior W``), once the caller has written its call, each top-level string argument of a
free string parameter (no ``enum``) whose value the request does not hold as written (:func:`written_in`) is chosen
again: each candidate (the caller's own value, every span of the request of at most :data:`MAX_SPAN_WORDS` words,
edge punctuation stripped, and every quoted part of the request) gets the caller's log-probability of writing it
there, with the closing quote (:meth:`Engine.continuation_logprobs`), and every span gets ``w`` more.

Left alone: a value an observation or an earlier question of the session holds as written (a path a listing gave);
one the parameter's doc gives (its default, or a value its description quotes); one the caller converted or composed
(:func:`composed`: a date ``2023-04-03`` for "April 3rd", a unit symbol ``kg``, an expression, a query, code); and
every value of a call the grounded-calls check would stop (:func:`~umi_edge.agent.grounding.made_up_values`): making
its values held would hide that no offered tool fits. The rest of the call is kept as written. Enforced at run
time, not trained; the weight is chosen on BFCL's live data, never on a test set (models/README.md). No library does
this (it is a rule about our own prompts), so it is written here.
"""

from __future__ import annotations

import json
import re
from collections.abc import Generator
from typing import Any

from umi_edge.agent.events import ArgumentChosen, Event
from umi_edge.agent.grounding import made_up_values
from umi_edge.agent.state import RunState
from umi_edge.engine import ContextOverflow

MAX_SPAN_WORDS = 8
"""The longest span of the request (in whitespace-separated words) offered as a candidate."""
MAX_CANDIDATES = 400
"""The most spans scored for one argument (the shortest first, so a long request still gets its names and phrases)."""
SHOWN = 5
"""How many of the best-scored candidates the :class:`ArgumentChosen` event lists."""
EDGE = " \t\r\n.,;:!?()[]{}<>'\"`“”‘’"
"""Characters stripped from a span's ends."""
_QUOTED = re.compile(r"(?<!\w)'([^'\n]+)'(?!\w)|\"([^\"\n]+)\"|`([^`\n]+)`|“([^”\n]+)”")
"""A quoted part of a text (an apostrophe inside a word, as in ``body's``, opens no quote)."""


DIGIT_CODE = re.compile(r"[\d\s:/.,+TZ-]*\d[\d\s:/.,+TZ-]*")
"""A value made of digits and separators only: a date, a time, a number written as text."""
CODE = re.compile(r"[()*=<>;]|^\s*(?:select|insert|update|delete|with|create)\b", re.I)
"""A value that is code the caller composed: an expression, a call or a query (an operator, a bracket, a SQL verb)."""
MIN_CHARS = 4
"""Shorter values are symbols or abbreviations the caller converted (``kg`` for "kilograms", ``C`` for "Celsius")."""


def composed(value: str) -> bool:
    """``value`` is the caller's own conversion or composition, not a copy gone wrong: a date, time or other digit code
    (:data:`DIGIT_CODE`; the grounded-calls check has already found its digits in the sources), code
    (:data:`CODE`), or a symbol shorter than :data:`MIN_CHARS`."""
    v = value.strip()
    return len(v) < MIN_CHARS or DIGIT_CODE.fullmatch(v) is not None or CODE.search(v) is not None


_BETWEEN = re.compile(r"[\s:;,!?()\[\]{}\"'`“”‘’]+")
"""What may stand between two words without making them other words (spaces, and punctuation that no name holds)."""


def _norm(text: str) -> str:
    return " ".join(_BETWEEN.split(text.lower())).strip()


def written_in(value: str, request: str) -> bool:
    """``request`` holds ``value`` as written, case, spacing and punctuation between words aside (``Project: Titan``
    for "project Titan"), and not as a part of a longer name: not ``gorilla.ai`` in ``andy@gorilla.ai``, nor
    ``gorilla`` in ``gorilla-cli``."""
    v, r = _norm(value), _norm(request)
    pattern = r"(?<![\w@./\\-])" + re.escape(v) + r"(?![\w@/\\-]|\.\w)"
    return bool(v) and re.search(pattern, r) is not None


def spans(request: str) -> list[str]:
    """The candidate values of ``request``: every quoted part, then its spans of 1 to :data:`MAX_SPAN_WORDS` words
    (shortest first), each with its edge punctuation stripped, without repeats; at most :data:`MAX_CANDIDATES`."""
    out: dict[str, None] = {}
    for m in _QUOTED.finditer(request):
        quoted = next(g for g in m.groups() if g is not None).strip()
        if quoted:
            out.setdefault(quoted)
    words = [(m.start(), m.end()) for m in re.finditer(r"\S+", request)]
    for n in range(1, MAX_SPAN_WORDS + 1):
        for i in range(len(words) - n + 1):
            span = request[words[i][0] : words[i + n - 1][1]].strip(EDGE)
            if span:
                out.setdefault(span)
            if len(out) >= MAX_CANDIDATES:
                return list(out)
    return list(out)


def free_string(spec: Any) -> bool:
    """The parameter schema ``spec`` takes any string (not an enum, not a list or object)."""
    if not isinstance(spec, dict) or "enum" in spec:
        return False
    kind = spec.get("type", "string")
    return kind == "string" or (isinstance(kind, list) and "string" in kind)


def _documented(value: str, spec: dict[str, Any]) -> bool:
    """``value`` is the parameter's default or a value its description quotes (``'celsius'``)."""
    quoted = {
        _norm(next(g for g in m.groups() if g is not None)) for m in _QUOTED.finditer(str(spec.get("description", "")))
    }
    return _norm(value) in quoted or _norm(value) == _norm(str(spec.get("default", "")))


def choose_strings(state: RunState, step: int, prompt: str, text: str) -> Generator[Event, None, str]:
    """``text`` (the caller's call after ``prompt``), with each string argument that the request does not hold as
    written chosen again among the request's spans; yields :class:`ArgumentChosen` for each argument it scored."""
    weight = state.config.string_prior
    if weight <= 0:
        return text
    found = state.written_call(text)
    if found is None:
        return text
    call, tool = found
    if state.config.grounded_calls:
        doc = {"description": tool.description, "parameters": tool.parameters}
        if made_up_values(call.arguments, state.turns, doc):
            return text  # stopped as made up: left so, whatever spans the request offers
    request = state.request
    sources = [t["value"] for t in state.turns if t["from"] in ("user", "observation")]  # earlier questions too
    props = tool.parameters.get("properties", {})
    role = state.engine_role("caller")
    start = text.find("Action Input:")
    candidates: list[str] | None = None
    decoder = json.JSONDecoder()
    for name, value in call.arguments.items():
        spec = props.get(name)
        if not isinstance(value, str) or not value.strip() or not free_string(spec):
            continue
        if any(written_in(value, t) for t in sources) or _documented(value, spec) or composed(value):
            continue
        key = re.compile(r'"' + re.escape(name) + r'"\s*:\s*(?=")')
        k = key.search(text, start)
        if k is None:
            continue
        try:
            _, end = decoder.raw_decode(text, k.end())
        except json.JSONDecodeError:
            continue
        own = text[k.end() + 1 : end - 1]
        if candidates is None:
            candidates = spans(request)
        literals = [own] + [json.dumps(s, ensure_ascii=False)[1:-1] for s in candidates]
        literals = list(dict.fromkeys(literals))
        head = prompt + text[: k.end() + 1]
        try:
            logprobs = state.engine.continuation_logprobs(role, head, [c + '"' for c in literals])
        except ContextOverflow:
            continue  # a long quoted part does not fit after the prompt: the caller's value stands
        bonus = [0.0] + [weight] * (len(literals) - 1)
        total = [lp + b for lp, b in zip(logprobs, bonus, strict=True)]
        best = sorted(range(len(literals)), key=lambda i: -total[i])
        chosen = literals[best[0]]
        shown = list(dict.fromkeys([0, *best[:SHOWN]]))
        yield ArgumentChosen(
            step,
            name,
            json.dumps(decoder.decode(f'"{chosen}"'), ensure_ascii=False),
            json.dumps(value, ensure_ascii=False),
            weight,
            {literals[i]: round(logprobs[i], 4) for i in shown},
            {literals[i]: bonus[i] / weight for i in shown},
        )
        if chosen != own:
            text = text[: k.end() + 1] + chosen + text[end - 1 :]
    return text
