"""GBNF grammars for the constrained Caller, and their validation before llama.cpp sees them.

The Caller grammar makes the output ``Action: <one registered name>\\nAction Input: <JSON object valid for that
tool's schema>``; each tool's argument rule comes from llama-cpp-python's JSON-Schema-to-GBNF converter
(``llama_cpp.llama_grammar.SchemaConverter``).  That converter fixes the order of an object's properties to the
schema's, but JSON objects are unordered and a model may write ``{"recursive": true, "pattern": "x"}`` for a schema
listing ``pattern`` first: the fixed order would then cut the call short after ``true``.  So ``_AnyOrderConverter``
replaces the converter's rule for closed objects of at most ``MAX_ANY_ORDER`` properties (hand-written here: any
order, each property at most once, every required one present; one rule per set of properties still unused).

An invalid GBNF string crashes llama.cpp (segfault) instead of raising, so every grammar is first parsed by
``llama_sampler_init_grammar`` (NULL = invalid) and only then used.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

import llama_cpp
from llama_cpp.llama_grammar import SchemaConverter

from umi_edge.errors import UserError

MAX_ANY_ORDER = 6
"""Objects with more properties keep the converter's schema order (the hand-written rule has 2**n sub-rules)."""


class GrammarError(UserError):
    """A grammar that llama.cpp cannot parse (or a schema the converter cannot turn into one)."""


def validate_gbnf(vocab: Any, gbnf: str, root: str = "root") -> None:
    """Parse ``gbnf`` with llama.cpp's own grammar parser; raise GrammarError when it is invalid."""
    if not gbnf.strip():
        raise GrammarError("empty grammar")
    if f"{root} ::=" not in gbnf and f"{root}::=" not in gbnf:
        raise GrammarError(f"grammar has no {root!r} rule")
    ptr = llama_cpp.llama_sampler_init_grammar(vocab, gbnf.encode("utf-8"), root.encode("utf-8"))
    if not ptr:
        raise GrammarError("llama.cpp rejected the grammar (see the log for the parse error)")
    llama_cpp.llama_sampler_free(ptr)


def _literal(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)


def _object_schema(schema: Mapping[str, Any] | None) -> dict[str, Any]:
    """The tool's parameters as an object schema (a missing or empty schema accepts any JSON object)."""
    if not schema:
        return {"type": "object"}
    out = dict(schema)
    out.setdefault("type", "object")
    return out


class _AnyOrderConverter(SchemaConverter):
    """llama-cpp-python's converter, except that closed objects (nested ones too) take their properties in any order.

    Objects that allow extra properties, have none, or have more than ``MAX_ANY_ORDER`` keep the converter's rule.
    """

    def _build_object_rule(
        self, properties: list[tuple[str, Any]], required: set[str], name: str, additional_properties: Any
    ) -> str:
        open_object = additional_properties is True or isinstance(additional_properties, dict)
        if open_object or not properties or len(properties) > MAX_ANY_ORDER:
            return super()._build_object_rule(properties, required, name, additional_properties)
        prefix = f"{name}{'-' if name else ''}"
        kv = []
        for prop, prop_schema in properties:
            value = self.visit(prop_schema, f"{prefix}{prop}")
            key = self._format_literal(json.dumps(prop))
            kv.append(self._add_rule(f"{prefix}{prop}-kv", f'{key} space ":" space {value}'))
        needed = {i for i, (prop, _) in enumerate(properties) if prop in required}
        made: dict[int, str] = {}

        def choices(left: int) -> str:  # one of the unused properties, then what may follow it
            picks = [i for i in range(len(kv)) if left & (1 << i)]
            return " | ".join(f"{kv[i]} {rest(left & ~(1 << i))}" if left & ~(1 << i) else kv[i] for i in picks)

        def optional(left: int) -> str:
            return "" if any(left & (1 << i) for i in needed) else "?"

        def rest(left: int) -> str:  # the rule for what may follow once only the properties in ``left`` are unused
            if left not in made:
                made[left] = self._add_rule(f"{prefix}rest{left}", f'( "," space ( {choices(left)} ) ){optional(left)}')
            return made[left]

        every = (1 << len(kv)) - 1
        return f'"{{" space ( {choices(every)} ){optional(every)} "}}" space'


def caller_grammar(tools: Iterable[tuple[str, Mapping[str, Any] | None]]) -> str:
    """GBNF for one α-UMi Caller turn over ``tools`` = (name, JSON-Schema of the arguments) pairs.

    ``root ::= " "? "Action: " ( "name1" "\\nAction Input: " args-0 | ... )``; after the JSON object the grammar
    is complete, so llama.cpp only allows an end-of-generation token.  The optional leading space is the one a
    SentencePiece model writes after the prompt's trailing ``caller: `` cue.
    """
    conv = _AnyOrderConverter(prop_order={}, allow_fetch=False, dotall=False, raw_pattern=False)
    alts: list[str] = []
    for i, (name, schema) in enumerate(tools):
        try:
            resolved = conv.resolve_refs(_object_schema(schema), f"tool:{name}")
            rule = conv.visit(resolved, f"args-{i}")
        except Exception as exc:  # the converter raises bare exceptions on unsupported schemas
            raise GrammarError(f"tool {name!r}: cannot turn its parameter schema into a grammar: {exc}") from None
        alts.append(f"{_literal(name)} {_literal(chr(10) + 'Action Input: ')} {rule}")
    if not alts:
        raise GrammarError("no tools: a Caller grammar needs at least one registered tool")
    body = conv.format_grammar()
    return f'root ::= " "? "Action: " ( {" | ".join(alts)} )\n{body}\n'


def value_grammar(schema: Mapping[str, Any]) -> str:
    """GBNF for one JSON value of ``schema`` (a parameter's), from the same converter as :func:`caller_grammar`."""
    conv = _AnyOrderConverter(prop_order={}, allow_fetch=False, dotall=False, raw_pattern=False)
    try:
        rule = conv.visit(conv.resolve_refs(dict(schema), "value"), "value")
    except Exception as exc:  # the converter raises bare exceptions on unsupported schemas
        raise GrammarError(f"cannot turn the schema into a grammar: {exc}") from None
    return f"root ::= {rule}\n{conv.format_grammar()}\n"


def grounded_text_grammar(numbers: Iterable[str]) -> str:
    """GBNF for free text whose numbers are only the given spellings (the grounded Summarizer).

    Any character but a digit is free; a digit can only start one of ``numbers``, and a number must not run on
    into more digits (``sep``: a non-digit, or ``.`` / ``,`` before a non-digit), so two allowed numbers cannot be
    glued into a new one (``4`` + ``2`` → ``42``, ``3`` + ``.`` + ``5`` → ``3.5``); ``tail`` lets the text end
    right after a number or a number and its full stop (``… is 42.``), where an end-of-generation must be allowed.
    """
    alts = sorted(set(numbers), key=lambda s: (-len(s), s))
    if not alts:
        return "root ::= [^0-9]*\n"
    num = " | ".join(_literal(s) for s in alts)
    return (
        "root ::= chunk* tail?\n"
        "chunk ::= [^0-9] | num sep\n"
        "sep ::= [^0-9.,] | [.,] [^0-9]\n"
        "tail ::= num [.,]?\n"
        f"num ::= {num}\n"
    )
