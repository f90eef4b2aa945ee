"""Stated optionals: an optional argument that the request states but the caller left out is written by the caller.

The round-4 caller learned calls of few arguments, and over a new tool it often stops after the required ones: "Find
a comedy movie directed by Edgar Wright" → ``{"directed_by": "Edgar Wright"}``, without ``genre``. With
``complete_arguments`` on (``--no-complete-arguments`` turns it off), once the caller has written its call, each
optional parameter it left out (strings and numbers, at most :data:`MAX_TRIED`, in the schema's order) that the
request may speak of is offered to the caller: it writes the value after ``, "genre": `` under the grammar of that
parameter's schema, greedy. The value is kept only when the request states it: a string must be written in the
request as it is (case aside; sharing a word is not enough: on our held-out tasks the caller then wrote
``pattern: "./Project: Onyx"``) and must pass the made-up checks of :mod:`umi_edge.agent.grounding`; a number must be
one of the request's numbers that best match the parameter (:func:`umi_edge.agent.argument_prior.relevance`). A value
another argument already holds, or the parameter's default, is not added. Which parameters are tried is decided
without the model: a number parameter when a request number matches it, a string parameter when a word of the
request appears in its name or description. Enforced at run time, not trained; models/README.md reports what it
changes. No library does this (it is a rule about our own prompts), so it is written here.
"""

from __future__ import annotations

import json
from collections.abc import Generator
from typing import Any

from umi_edge.agent.argument_prior import relevance
from umi_edge.agent.events import ArgumentAdded, Event
from umi_edge.agent.grounding import _string_words, made_up_strings, made_up_values
from umi_edge.agent.state import RunState
from umi_edge.engine import GrammarError
from umi_edge.engine.grammar import value_grammar
from umi_edge.numbers import rounds_to

MAX_TRIED = 4
"""Most optional parameters offered to the caller per call (each costs one short constrained generation)."""
MAX_TOKENS = 24
MAX_WORDS = 4
"""Longest string value added: a longer one is a rephrasing that no source check covers."""
_MIN_WORD = 4
"""Request words shorter than this do not make a string parameter worth trying ("the", "in")."""


def _worth_trying(name: str, spec: dict[str, Any], request: str, taken: list[Any]) -> bool:
    """Whether the request may state ``name`` (no model call): a request number that best matches it and no
    argument holds yet, or, for a string, a request word of :data:`_MIN_WORD` letters in its name or doc."""
    kind = spec.get("type")
    if kind in ("number", "integer"):
        best = [m.value for m, x in relevance(name, spec, request) if x >= 1.0]
        return any(not any(isinstance(t, int | float) and rounds_to(v, 9, [float(t)]) for t in taken) for v in best)
    if kind == "string":
        doc = set(_string_words(" ".join([name, str(spec.get("description", "")), json.dumps(spec.get("enum", []))])))
        return any(len(w) >= _MIN_WORD and w in doc for w in _string_words(request))
    return False


def _stated(state: RunState, name: str, value: Any, spec: dict[str, Any], args: dict[str, Any], doc: dict[str, Any],
            request: str) -> bool:  # fmt: skip
    """The value the caller wrote for ``name`` is stated by a source and new (see the module doc)."""
    if value is None or value == spec.get("default") or any(value == v for v in args.values()):
        return False
    trial = {name: value}
    if made_up_values(trial, state.turns, doc):
        return False
    if isinstance(value, str):
        words = _string_words(value)
        verbatim = value.strip().lower() in request.lower()
        return verbatim and 0 < len(words) <= MAX_WORDS and not made_up_strings(trial, state.turns)
    if isinstance(value, int | float) and not isinstance(value, bool):
        return any(x >= 1.0 and rounds_to(float(value), 9, [m.value]) for m, x in relevance(name, spec, request))
    return False


def add_stated_optionals(state: RunState, step: int, prompt: str, text: str) -> Generator[Event, None, str]:
    """``text`` (the caller's call after ``prompt``) with the optional arguments the request states added by the
    caller; yields :class:`ArgumentAdded` for each."""
    if not state.config.complete_arguments:
        return text
    found = state.written_call(text)
    close = text.rstrip().rfind("}")
    if found is None or close < 0:
        return text
    call, tool = found
    props = tool.parameters.get("properties", {})
    required = set(tool.parameters.get("required", []))
    request = state.request
    args = dict(call.arguments)
    doc = {"description": tool.description, "parameters": tool.parameters}
    role = state.engine_role("caller")
    tried = [
        p
        for p, spec in props.items()
        if p not in args and p not in required and isinstance(spec, dict)
        and _worth_trying(p, spec, request, list(args.values()))
    ][:MAX_TRIED]  # fmt: skip
    for name in tried:
        spec = props[name]
        try:
            grammar = state.engine.grammar(value_grammar(spec), role)
        except GrammarError:
            continue
        body = text[:close].rstrip()
        head = body + ("" if body.endswith("{") else ", ") + json.dumps(name) + ": "
        gen = state.engine.complete(role, prompt + head, grammar=grammar, max_tokens=MAX_TOKENS)
        try:
            value = json.loads(gen.text)
        except json.JSONDecodeError:
            continue  # cut off by the token budget
        if not _stated(state, name, value, spec, args, doc, request):
            continue
        written = json.dumps(value, ensure_ascii=False)
        yield ArgumentAdded(step, name, written)
        text = head + written + text[close:]
        close = len(head) + len(written)
        args[name] = value
    return text
