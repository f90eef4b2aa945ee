"""JSON Schema for a tool's parameters, derived from a typed Python function and its docstring.

Types map as: ``str``/``Path`` → string, ``int`` → integer, ``float`` → number, ``bool`` → boolean,
``list[X]``/``tuple`` → array, ``dict`` → object, ``Literal[...]`` and ``enum.Enum`` → ``enum``,
``X | None`` → X (optional).  Descriptions come from the docstring (Google, NumPy, reST or Epydoc style,
parsed by docstring-parser).  Parameters named in :data:`INJECTED` are filled by the runtime, not the model,
and are left out of the schema.  Hand-written: no library maps signatures to JSON Schema without pydantic.
"""

from __future__ import annotations

import enum
import inspect
import types
import typing
from collections.abc import Callable
from pathlib import PurePath
from typing import Any, Literal, Union

import docstring_parser

# Parameters the registry supplies itself (the workspace directory of the call).
INJECTED = frozenset({"workspace"})

_SCALARS: dict[type, str] = {str: "string", int: "integer", float: "number", bool: "boolean"}


def type_schema(annotation: Any) -> dict[str, Any]:
    """JSON Schema fragment for one Python type annotation (``{}`` when the type says nothing useful)."""
    if annotation is inspect.Parameter.empty or annotation is Any:
        return {}
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin is typing.Annotated:
        return type_schema(args[0])
    if origin in (Union, types.UnionType):
        inner = [a for a in args if a is not type(None)]
        if len(inner) == 1:
            return type_schema(inner[0])
        return {"anyOf": [type_schema(a) for a in inner]}
    if origin is Literal:
        values = list(args)
        out: dict[str, Any] = {"enum": values}
        kinds = {_SCALARS.get(type(v)) for v in values}
        if len(kinds) == 1 and None not in kinds:
            out["type"] = kinds.pop()
        return out
    if isinstance(annotation, type) and issubclass(annotation, enum.Enum):
        values = [m.value for m in annotation]
        out = {"enum": values}
        kinds = {_SCALARS.get(type(v)) for v in values}
        if len(kinds) == 1 and None not in kinds:
            out["type"] = kinds.pop()
        return out
    if origin in (list, tuple, set, frozenset) or annotation in (list, tuple, set, frozenset):
        out = {"type": "array"}
        if origin is tuple and len(args) == 2 and args[1] is Ellipsis:
            out["items"] = type_schema(args[0])
        elif origin in (list, set, frozenset) and args:
            out["items"] = type_schema(args[0])
        return out
    if origin is dict or annotation is dict:
        return {"type": "object"}
    if isinstance(annotation, type):
        if annotation is bool:
            return {"type": "boolean"}
        for py, js in _SCALARS.items():
            if issubclass(annotation, py):
                return {"type": js}
        if issubclass(annotation, PurePath):
            return {"type": "string"}
    return {}


def describe(func: Callable[..., Any]) -> tuple[str, dict[str, str]]:
    """The function's description (summary + body) and its per-parameter descriptions from the docstring."""
    doc = docstring_parser.parse(inspect.getdoc(func) or "")
    parts = [p for p in (doc.short_description, doc.long_description) if p]
    params = {p.arg_name: " ".join((p.description or "").split()) for p in doc.params}
    return " ".join(" ".join(parts).split()), params


def function_schema(func: Callable[..., Any]) -> tuple[str, dict[str, Any]]:
    """``(description, parameters_schema)`` for ``func``; raises ValueError for signatures a tool cannot have."""
    sig = inspect.signature(func)
    try:
        hints = typing.get_type_hints(func, include_extras=True)
    except Exception:  # unresolved forward references: fall back to the raw annotations
        hints = {n: p.annotation for n, p in sig.parameters.items()}
    description, param_docs = describe(func)
    properties: dict[str, Any] = {}
    required: list[str] = []
    for name, param in sig.parameters.items():
        if name in INJECTED:
            continue
        if param.kind in (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD):
            raise ValueError(f"tool function {func.__name__!r}: *args/**kwargs parameters cannot be described")
        if param.kind is inspect.Parameter.POSITIONAL_ONLY:
            raise ValueError(f"tool function {func.__name__!r}: positional-only parameter {name!r}")
        prop = type_schema(hints.get(name, param.annotation))
        if param_docs.get(name):
            prop["description"] = param_docs[name]
        if param.default is inspect.Parameter.empty:
            required.append(name)
        elif param.default is not None and _json_scalar(param.default):
            prop["default"] = param.default.value if isinstance(param.default, enum.Enum) else param.default
        properties[name] = prop
    schema: dict[str, Any] = {"type": "object", "properties": properties, "additionalProperties": False}
    if required:
        schema["required"] = required
    return description, schema


def injected_params(func: Callable[..., Any]) -> set[str]:
    """Which runtime-supplied parameters (:data:`INJECTED`) ``func`` accepts."""
    return {n for n in inspect.signature(func).parameters if n in INJECTED}


def _json_scalar(value: Any) -> bool:
    if isinstance(value, enum.Enum):
        value = value.value
    return isinstance(value, str | int | float | bool)


def type_label(prop: dict[str, Any]) -> str:
    """A short type name for a property, as tool docs and error texts show it (``string``, ``one of a|b``...)."""
    if "enum" in prop:
        return "one of " + "|".join(str(v) for v in prop["enum"])
    kind = prop.get("type")
    if isinstance(kind, list):
        return "/".join(kind)
    if kind == "array" and isinstance(prop.get("items"), dict) and prop["items"].get("type"):
        return f"array of {prop['items']['type']}"
    if "anyOf" in prop:
        return "/".join(type_label(p) for p in prop["anyOf"])
    return kind or "any"
