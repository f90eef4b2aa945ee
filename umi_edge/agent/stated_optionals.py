"""Stated optionals: an optional argument that the request states but the caller left out is written by the caller.

The round-4 caller learned calls of few arguments, and over a new tool it often stops after the required ones: "Find
a comedy movie directed by Edgar Wright" → ``{"directed_by": "Edgar Wright"}``, without ``genre``. With
``complete_arguments`` on (``--no-complete-arguments`` turns it off), once the caller has written its call, each
optional parameter it left out (at most :data:`MAX_TRIED`, in the schema's order) that the request may speak of is
offered to the caller: it writes the value after ``, "genre": `` under a grammar, greedy. What it may write, and
which parameters are offered, is decided without the model (:func:`_choices`):

- a number: only the request's numbers that best match the parameter
  (:func:`umi_edge.agent.argument_prior.relevance`) and no argument holds ("two tickets" → ``num_tickets: 2``);
- a string with an enum, or whose description quotes its values (``'real' for real roots, 'all' for both``): only the
  values the request names ("Find all the roots" → ``root_type: "all"``); an array of enum strings likewise;
- a boolean whose name the request speaks of (``include_human_impact`` for "including human impact"; the name's words
  but :data:`GENERIC_NAME_WORDS` must all be the request's, stems of 5 letters counting): ``true`` or ``false``;
- another string, when a word of the request appears in its name or description: any string of its schema, kept
  only when the request writes it as it is (case aside; sharing a word is not enough: on our held-out tasks the
  caller then wrote ``pattern: "./Project: Onyx"``), in at most :data:`MAX_WORDS` words.

Where one value is left, it is written without a generation. Every value must pass the made-up checks of
:mod:`umi_edge.agent.grounding`, and a value another argument already holds is not added. Enforced at run time, not
trained; models/README.md reports what it changes. No library does this (it is a rule about our own prompts), so it is
written here.
"""

from __future__ import annotations

import json
import re
from collections.abc import Generator
from typing import Any

from umi_edge.agent.argument_prior import relevance
from umi_edge.agent.events import ArgumentAdded, Event
from umi_edge.agent.grounding import _string_words, leaves, made_up_strings, made_up_values
from umi_edge.agent.state import RunState
from umi_edge.engine import GrammarError
from umi_edge.engine.grammar import value_grammar
from umi_edge.numbers import rounds_to
from umi_edge.tools.ranking import words

MAX_TRIED = 4
"""Most optional parameters offered to the caller per call (each costs at most one short constrained generation)."""
MAX_TOKENS = 24
MAX_WORDS = 4
"""Longest string value added: a longer one is a rephrasing that no source check covers."""
_MIN_WORD = 4
"""Request words shorter than this do not make a string parameter worth trying ("the", "in")."""
_STEM = 5
"""A word this long counts as said when the request has a word of the same first letters ("avoided" for avoid)."""
GENERIC_NAME_WORDS = frozenset("include is use enable show get flag allow consider with has return only do set".split())
"""Words of a boolean's name that say nothing of what it turns on (``include_human_impact``: "human", "impact")."""
_QUOTED = re.compile(r"'([^'\n]{1,40})'|\"([^\"\n]{1,40})\"")


def _said(value: str, request: str) -> bool:
    """Whether every ranking word of ``value`` (:func:`umi_edge.tools.ranking.words`) is the request's, or starts
    like one of the request's (:data:`_STEM` letters)."""
    said = set(words(request))
    stems = {w[:_STEM] for w in said if len(w) >= _STEM}
    ws = words(value)
    return bool(ws) and all(w in said or (len(w) >= _STEM and w[:_STEM] in stems) for w in ws)


def _quoted_values(spec: dict[str, Any]) -> list[str]:
    """The short values a description quotes (``'real' for real roots, 'all' for both``), in order."""
    found = [(a or b).strip() for a, b in _QUOTED.findall(str(spec.get("description", "")))]
    return list(dict.fromkeys(v for v in found if v and len(v.split()) <= MAX_WORDS))


def _choices(name: str, spec: dict[str, Any], request: str, taken: list[Any]) -> list[Any] | None:
    """What the caller may write for ``name`` (no model call): the allowed values ([] when the parameter is not
    offered), or None for any string of its schema (see the module doc)."""
    kind = spec.get("type")
    enum = spec.get("enum")
    if kind in ("number", "integer"):
        best = [m.value for m, x in relevance(name, spec, request) if x >= 1.0]
        held = [t for v in taken for t in leaves(v)]
        free = [v for v in best if not any(_same(t, v) for t in held)]
        if kind == "integer":
            free = [v for v in free if float(v).is_integer()]
        if isinstance(enum, list):
            free = [v for v in free if any(_same(e, v) for e in enum)]
        return list(dict.fromkeys(int(v) if float(v).is_integer() else v for v in free))
    if kind == "boolean":
        own = [w for w in words(name) if w not in GENERIC_NAME_WORDS]
        return [True, False] if own and all(_said(w, request) for w in own) else []
    if kind == "array" and isinstance(spec.get("items"), dict) and isinstance(spec["items"].get("enum"), list):
        named = [o for o in spec["items"]["enum"] if isinstance(o, str) and _said(o, request)]
        return [named] if named else []
    if kind != "string":
        return []
    if isinstance(enum, list):
        return [o for o in enum if isinstance(o, str) and _said(o, request)]
    named = [o for o in _quoted_values(spec) if _said(o, request)]
    if named:
        return named
    doc = set(_string_words(" ".join([name, str(spec.get("description", ""))])))
    return None if any(len(w) >= _MIN_WORD and w in doc for w in _string_words(request)) else []


def _same(a: Any, b: Any) -> bool:
    """``a`` and ``b`` are the same JSON value (``true`` is not ``1``; ``2`` is ``2.0``)."""
    if isinstance(a, bool) or isinstance(b, bool):
        return a is b
    if isinstance(a, int | float) and isinstance(b, int | float):
        return rounds_to(float(a), 9, [float(b)])
    return bool(a == b)


def _stated(state: RunState, name: str, value: Any, spec: dict[str, Any], args: dict[str, Any], doc: dict[str, Any],
            request: str, free: bool) -> bool:  # fmt: skip
    """The value the caller wrote for ``name`` is stated by a source and new (see the module doc); ``free``: the
    caller could write any string of the schema."""
    if value is None or value == [] or any(_same(value, v) for v in args.values()):
        return False
    trial = {name: value}
    if made_up_values(trial, state.turns, doc):
        return False
    if free:
        verbatim = isinstance(value, str) and value.strip().lower() in request.lower()
        return verbatim and 0 < len(_string_words(value)) <= MAX_WORDS and not made_up_strings(trial, state.turns)
    return True


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
    offers = [
        (p, spec, choices)
        for p, spec in props.items()
        if p not in args and p not in required and isinstance(spec, dict)
        for choices in [_choices(p, spec, request, list(args.values()))]
        if choices != []
    ][:MAX_TRIED]  # fmt: skip
    for name, spec, choices in offers:
        body = text[:close].rstrip()
        head = body + ("" if body.endswith("{") else ", ") + json.dumps(name) + ": "
        if choices is not None and len(choices) == 1:
            value = choices[0]
        else:
            try:
                grammar = state.engine.grammar(value_grammar(spec if choices is None else {"enum": choices}), role)
            except GrammarError:
                continue
            gen = state.engine.complete(role, prompt + head, grammar=grammar, max_tokens=MAX_TOKENS)
            try:
                value = json.loads(gen.text)
            except json.JSONDecodeError:
                continue  # cut off by the token budget
        if not _stated(state, name, value, spec, args, doc, request, choices is None):
            continue
        written = json.dumps(value, ensure_ascii=False)
        yield ArgumentAdded(step, name, written)
        text = head + written + text[close:]
        close = len(head) + len(written)
        args[name] = value
    return text
