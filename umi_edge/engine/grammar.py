"""GBNF grammars for the constrained Caller, and their validation before llama.cpp sees them.

The Caller grammar makes the output ``Action: <one registered name>\\nAction Input: <JSON object valid for that
tool's schema>``; each tool's argument rule comes from llama-cpp-python's JSON-Schema-to-GBNF converter
(``llama_cpp.llama_grammar.SchemaConverter``).  An invalid GBNF string crashes llama.cpp (segfault) instead of
raising, so every grammar is first parsed by ``llama_sampler_init_grammar`` (NULL = invalid) and only then used.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

import llama_cpp
from llama_cpp.llama_grammar import SchemaConverter

from umi_edge.errors import UserError


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


def caller_grammar(tools: Iterable[tuple[str, Mapping[str, Any] | None]]) -> str:
    """GBNF for one α-UMi Caller turn over ``tools`` = (name, JSON-Schema of the arguments) pairs.

    ``root ::= " "? "Action: " ( "name1" "\\nAction Input: " args-0 | ... )``; after the JSON object the grammar
    is complete, so llama.cpp only allows an end-of-generation token.  The optional leading space is the one a
    SentencePiece model writes after the prompt's trailing ``caller: `` cue.
    """
    conv = SchemaConverter(prop_order={}, allow_fetch=False, dotall=False, raw_pattern=False)
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
