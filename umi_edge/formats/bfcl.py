"""BFCL (Berkeley Function Calling Leaderboard) entries as α-UMi data: function docs and trajectories.

Pure format code; :mod:`umi_edge.bfcl_data` reads the entries from the installed ``bfcl-eval`` package.

**Function docs.** A BFCL function ``{name, description, parameters}`` uses its own type names. :func:`to_json_schema`
turns the parameters into the JSON Schema our registry, caller grammar and docs use: ``dict`` → ``object`` (with its
``properties`` / ``required``), ``float`` → ``number``, ``tuple`` → ``array``, ``any`` → every JSON type
(``["string", "number", "boolean", "array", "object", "null"]``, so the doc says so instead of our default
``string``), ``integer`` / ``boolean`` / ``string`` / ``array`` as they are; ``description``, ``enum``, ``default``
and ``items`` are kept, nested objects and arrays converted the same way; other keys (``format``, ``maximum``, a
stray ``optional``) are dropped. :func:`tool_doc` is the α-UMi doc of it (:func:`umi_edge.formats.tooldoc.
from_json_schema`, exactly as ``registry.alpha_umi_docs()`` renders a tool at run time), so training prompts and
the prompts of ``eval bfcl`` show a function in the same bytes.

**Names.** A dotted name (``uber.ride``, ``math.factorial``) is kept as it is: the caller grammar writes each offered
name as a literal and :func:`umi_edge.formats.parse.parse_call` reads everything up to the end of the ``Action:``
line, so no mapping is needed (tests check both).

**Trajectories** (:func:`entry_record`). The entry's question becomes the user turn (a system message, which 49 live
entries carry, goes before the user's text, separated by a blank line; entries whose question holds assistant
messages, 9 of live_irrelevance, or more than one turn are skipped: their earlier answers have no α-UMi role).
Only steps whose history is real are emitted, since BFCL gives no observations and we never invent one:

- a call entry (live_simple, live_multiple, live_parallel, live_parallel_multiple): the first planner step (a
  templated thought naming the function to call, ``Next: caller.``) and the first caller step,
  ``Action: NAME\\nAction Input: {json}`` from the ground truth. For parallel entries only the first call: the later
  calls would follow an observation we do not have. Each argument takes the first allowed value of the ground
  truth; a parameter whose allowed values include ``""`` is optional there and is left out; arguments follow the
  function's schema order (as the synthetic generator writes them); nested object values are resolved the same way.
- live_irrelevance: one planner step that gives up (``Next: give up.``): no offered function fits the request.
- live_relevance (no ground-truth call in the package): the planner step only, routing to the caller.

Entries whose ground truth its own function's schema rejects (16 of the live call entries: an enum value
written in another case or type, ``""`` for a required list) are skipped too: the caller's grammar would never let
it write them.

The thoughts are written from the function doc, not the request, and hold no argument values (the request may not
state them all). Held out by id (:func:`is_validation`): a stable hash puts 10% of the live entries in validation.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping, Sequence
from typing import Any

import jsonschema

from umi_edge.formats.history import serialize_history
from umi_edge.formats.parse import render_call, render_plan
from umi_edge.formats.prompts import Style, build_input
from umi_edge.formats.samples import role_samples
from umi_edge.formats.tooldoc import from_json_schema, render_doc, tool_names

LIVE_CATEGORIES = (
    "live_simple",
    "live_multiple",
    "live_parallel",
    "live_parallel_multiple",
    "live_relevance",
    "live_irrelevance",
)
"""The user-contributed BFCL categories, the only ones we may train on; every other category is a test set."""
IRRELEVANCE = ("irrelevance", "live_irrelevance")
"""Categories whose right answer is no call at all."""
RELEVANCE = ("live_relevance",)
"""Categories whose right answer is some call (BFCL ships no ground truth for them)."""
VALIDATION_PERCENT = 10
"""Share of the live entries (by a stable hash of the id) held out for validation."""

ANY_TYPES = ["string", "number", "boolean", "array", "object", "null"]
_TYPES = {
    "dict": "object",
    "float": "number",
    "tuple": "array",
    "integer": "integer",
    "boolean": "boolean",
    "string": "string",
    "array": "array",
}
_KEEP = ("description", "enum", "default")


class BfclFormatError(ValueError):
    """A BFCL entry or function that does not have the expected shape; the message names the field."""


class GroundTruthMismatch(BfclFormatError):
    """A ground-truth call that its own function's schema rejects (a few BFCL entries); such entries are skipped."""


def _schema(spec: Any, where: str) -> dict[str, Any]:
    if not isinstance(spec, Mapping):
        raise BfclFormatError(f"{where}: expected an object, got {type(spec).__name__}")
    kind = spec.get("type")
    out: dict[str, Any] = {}
    if kind == "any":
        out["type"] = list(ANY_TYPES)
    elif kind in _TYPES:
        out["type"] = _TYPES[kind]
    else:
        raise BfclFormatError(f"{where}.type: unknown BFCL type {kind!r} (expected one of any, {', '.join(_TYPES)})")
    for key in _KEEP:
        if key in spec:
            out[key] = spec[key]
    if out["type"] == "object" and "properties" in spec:
        props = spec["properties"]
        if not isinstance(props, Mapping):
            raise BfclFormatError(f"{where}.properties: expected an object, got {type(props).__name__}")
        out["properties"] = {k: _schema(v, f"{where}.properties.{k}") for k, v in props.items()}
        required = spec.get("required")
        if required:
            out["required"] = [r for r in required if r in props]
    if out["type"] == "array" and "items" in spec:
        out["items"] = _schema(spec["items"], f"{where}.items")
    if out["type"] == "array" and "enum" in out and all(not isinstance(v, list) for v in out["enum"]):
        # BFCL writes the allowed items of a list as the list's own enum; in JSON Schema they belong to the items
        out.setdefault("items", {})["enum"] = out.pop("enum")
    return out


def to_json_schema(function: Mapping[str, Any]) -> tuple[str, str, dict[str, Any]]:
    """``(name, description, parameters)`` of a BFCL function, the parameters as a JSON Schema object."""
    name = function.get("name")
    if not isinstance(name, str) or not name:
        raise BfclFormatError(f"field 'name': expected a non-empty string, got {name!r}")
    description = function.get("description", "")
    if not isinstance(description, str):
        raise BfclFormatError(f"function {name}: field 'description': expected a string")
    params = function.get("parameters", {"type": "dict", "properties": {}})
    schema = _schema(params, f"function {name}: field 'parameters'")
    if schema["type"] != "object":
        raise BfclFormatError(f"function {name}: field 'parameters.type': expected 'dict', got {params.get('type')!r}")
    schema.setdefault("properties", {})
    schema.setdefault("required", [])
    return name, description, schema


def tool_doc(function: Mapping[str, Any]) -> dict[str, Any]:
    """The α-UMi tool doc of a BFCL function (as the registry renders the converted tool)."""
    return from_json_schema(*to_json_schema(function))


def entry_query(entry: Mapping[str, Any]) -> str | None:
    """The user turn of an entry: its system messages and its user message, or None when the question holds
    assistant messages or more than one turn (see the module docstring)."""
    question = entry.get("question")
    if not isinstance(question, list) or not question or not all(isinstance(t, list) for t in question):
        raise BfclFormatError("field 'question': expected a list of turns (lists of messages)")
    if len(question) != 1:
        return None
    parts: list[str] = []
    for i, m in enumerate(question[0]):
        if not isinstance(m, Mapping) or not isinstance(m.get("content"), str):
            raise BfclFormatError(f"field 'question[0][{i}]': expected a message {{role, content}}")
        if m.get("role") not in ("system", "user"):
            return None
        parts.append(m["content"].strip())
    users = [m for m in question[0] if m.get("role") == "user"]
    if len(users) != 1 or question[0][-1].get("role") != "user":
        return None
    return "\n\n".join(p for p in parts if p)


def _resolve(value: Any, schema: Mapping[str, Any]) -> Any:
    """A top-level ground-truth value: an object (or a list of objects) holds, one level deep, lists of allowed
    values again, as BFCL's checker reads them (``dict_checker`` / ``list_dict_checker``); deeper values are literal."""
    if schema.get("type") == "object" and isinstance(value, Mapping):
        return _resolve_args(value, schema, nested=True)
    if schema.get("type") == "array" and isinstance(value, list):
        items = schema.get("items") or {}
        if items.get("type") == "object" and all(isinstance(v, Mapping) for v in value):
            return [_resolve_args(v, items, nested=True) for v in value]
    return value


def _resolve_args(allowed: Mapping[str, Any], schema: Mapping[str, Any], *, nested: bool = False) -> dict[str, Any]:
    props = schema.get("properties") or {}
    required = set(schema.get("required") or [])
    order = [k for k in props if k in allowed] + [k for k in allowed if k not in props]
    out: dict[str, Any] = {}
    for key in order:
        values = allowed[key]
        if not isinstance(values, list):
            raise BfclFormatError(f"ground truth '{key}': expected a list of allowed values, got {values!r}")
        if "" in values and key not in required:
            continue  # optional in the ground truth: a call may leave it out, and ours does
        candidates = [v if nested else _resolve(v, props.get(key) or {}) for v in values if v != ""] or [""]
        prop = props.get(key)
        fits = [v for v in candidates if prop is None or _fits(v, prop)]
        out[key] = (fits or candidates)[0]  # the first allowed value that the function's own schema accepts
    return out


def _fits(value: Any, schema: Mapping[str, Any]) -> bool:
    return jsonschema.Draft202012Validator(dict(schema)).is_valid(value)


def ground_truth_call(call: Mapping[str, Any], functions: Sequence[Mapping[str, Any]]) -> tuple[str, dict[str, Any]]:
    """``(name, arguments)`` of one ground-truth call ``{name: {param: [allowed values]}}``."""
    if not isinstance(call, Mapping) or len(call) != 1:
        raise BfclFormatError(f"ground truth call: expected {{name: {{param: [values]}}}}, got {call!r}")
    ((name, allowed),) = call.items()
    if not isinstance(allowed, Mapping):
        raise BfclFormatError(f"ground truth call {name}: expected an object of parameters")
    fn = next((f for f in functions if f.get("name") == name), None)
    if fn is None:
        raise BfclFormatError(f"ground truth call {name}: not among the entry's functions")
    schema = to_json_schema(fn)[2]
    arguments = _resolve_args(allowed, schema)
    if not _fits(arguments, schema):
        raise GroundTruthMismatch(f"ground truth call {name}: no allowed value fits the function's own schema")
    return name, arguments


def _gist(description: str, limit: int = 120) -> str:
    """The first sentence of a description, cut to ``limit`` characters, with a lowercase start."""
    text = " ".join(description.split())
    for end in (". ", "? ", "! "):
        if end in text:
            text = text[: text.index(end)]
    text = text.rstrip(".")
    if len(text) > limit:
        text = text[: limit - 3].rstrip() + "..."
    if text[:2].isupper():  # an acronym (API, URL) keeps its case
        return text
    return text[:1].lower() + text[1:]


_CALL_THOUGHT = "I will call {name}{what} with the details the request gives."
_CALLS_THOUGHT = "This needs {n} calls. First I will call {name}{what}."
_NEED_THOUGHT = "This needs a tool for this: {gist}. That is {name}; I will call it with the details the request gives."
_NEEDS_THOUGHT = "This needs {n} calls. The first needs a tool for this: {gist}. That is {name}."
_NAME_FIRST = (_CALL_THOUGHT, _CALLS_THOUGHT)
"""Session 16-28's shapes, name before what it does: still recognised in folders imported before session 29."""


def call_thought(name: str, description: str, n_calls: int = 1) -> str:
    """The planner thought before a call: what the function does (from its doc), then its name; no argument values.

    What it does comes first, so the planner writes the name after the words that pick it: round 22's planner, taught
    the name first, wrote the right tool's description after a wrong tool's name (``I will call plant_watering_schedule
    (total pay earned over a number of months ...)``). A description-less function keeps the name-only thought.
    """
    gist = _gist(description)
    if not gist:
        return (_CALLS_THOUGHT if n_calls > 1 else _CALL_THOUGHT).format(n=n_calls, name=name, what="")
    if n_calls > 1:
        return _NEEDS_THOUGHT.format(n=n_calls, name=name, gist=gist)
    return _NEED_THOUGHT.format(name=name, gist=gist)


def give_up_thought(names: Sequence[str]) -> str:
    """The planner thought of a request that none of the offered functions (their ``names``) can serve."""
    if not names:
        return "No tool is offered that can help with this request."
    return f"None of the offered tools ({', '.join(names)}) can do what this request asks, so I cannot help with it."


RELEVANCE_THOUGHT = "One of the offered tools fits this request; I will call it with the details the request gives."


def unnamed_call_thought(n_calls: int = 1) -> str:
    """A planner thought before a call that names no function (``--unnamed-thoughts``): the caller must choose the
    function from the request and the docs, as when a planner's thought names a wrong tool or none."""
    if n_calls > 1:
        return _CALLS_THOUGHT.format(n=n_calls, name="the offered tool that fits the first of them", what="")
    return RELEVANCE_THOUGHT


def is_call_thought(thought: str, name: str) -> int | None:
    """The call count of a :func:`call_thought` naming ``name`` (1 for a single call), or None for any other text."""
    for template in (_NEED_THOUGHT, _NEEDS_THOUGHT, *_NAME_FIRST):
        pattern = (
            re.escape(template)
            .replace(re.escape("{name}"), re.escape(name))
            .replace(re.escape("{what}"), r"(?: \(.*\))?")
            .replace(re.escape("{gist}"), r".*")
            .replace(re.escape("{n}"), r"(\d+)")
        )
        m = re.fullmatch(pattern, thought, flags=re.S)
        if m is not None:
            return int(m.group(1)) if m.groups() else 1
    return None


def is_validation(entry_id: str) -> bool:
    """True for the fixed share of ids held out for validation (SHA-256 of the id, stable across runs)."""
    digest = hashlib.sha256(entry_id.encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") % 100 < VALIDATION_PERCENT


def entry_record(entry: Mapping[str, Any], answer: Mapping[str, Any] | None, category: str) -> dict[str, Any] | None:
    """The stage-2 trajectory record of a live entry (plus ``id`` and ``category``), or None when it is skipped.

    ``answer`` is the entry's ground-truth line (None for the irrelevance / relevance categories, which have none).
    """
    functions = entry.get("function")
    if not isinstance(functions, list):
        raise BfclFormatError("field 'function': expected a list of functions")
    query = entry_query(entry)
    if query is None:
        return None
    tools = [tool_doc(f) for f in functions]
    turns = [{"from": "user", "value": query}]
    if category in IRRELEVANCE:
        thought = give_up_thought([str(f.get("name")) for f in functions])
        turns.append({"from": "assistant", "value": render_plan(thought, "give_up")})
    elif category in RELEVANCE:
        turns.append({"from": "assistant", "value": render_plan(RELEVANCE_THOUGHT, "call")})
    else:
        if answer is None or not isinstance(answer.get("ground_truth"), list) or not answer["ground_truth"]:
            raise BfclFormatError("field 'ground_truth': expected a non-empty list of calls")
        calls = answer["ground_truth"]
        try:
            name, arguments = ground_truth_call(calls[0], functions)
        except GroundTruthMismatch:
            return None
        fn = next(f for f in functions if f.get("name") == name)
        thought = call_thought(name, str(fn.get("description", "")), len(calls))
        turns.append({"from": "assistant", "value": render_plan(thought, "call")})
        turns.append({"from": "caller", "value": render_call(name, arguments)})
    return {"id": entry.get("id"), "category": category, "tools": tools, "instruction": query, "conversations": turns}


def record_samples(record: Mapping[str, Any], style: Style = "toolbench") -> dict[str, list[dict[str, Any]]]:
    """Per-role samples of an :func:`entry_record`: :func:`role_samples`, plus the planner step of a relevance
    record (it ends in a planner turn routing to a caller turn we do not have, which ``role_samples`` skips)."""
    out = role_samples(record, style=style)
    turns = record["conversations"]
    if len(turns) == 2 and turns[-1]["from"] == "assistant" and turns[-1]["value"].endswith(" Next: caller."):
        tools = record["tools"]
        inp = build_input(
            "planner",
            doc=render_doc(tools),
            history=serialize_history(turns[:1]),
            tool_names=tool_names(tools),
            style=style,
        )
        out["planner"].append({"tools": tools, "history": turns[:1], "input": inp, "target": turns[-1]["value"]})
    return out
