"""Tool documentation in the α-UMi form: ``{"Name", "function", "input": {"arg": "<type>, <description>"}}``.

``render_doc`` gives the ``{doc}`` placeholder (one ``json.dumps`` per tool and line, as the released code) and
``tool_names`` the ``{tool_names}`` one. ``from_toolbench`` converts a ToolBench function doc with the released cuts;
``from_json_schema`` / ``to_json_schema`` convert our own tools' JSON-Schema specs both ways. The argument-text
grammar used for JSON-Schema tools is hand-written here (no library renders this α-UMi-specific form):

    <type>, required|optional[; one of <JSON array>][; default <JSON value>][, <description>]

e.g. ``"string, required; one of [\"C\", \"F\"]; default \"C\", Temperature unit."``. It reads like the ToolBench
``"<type>, <description>"`` text the models were trained on, and parses back unambiguously (JSON values are
decoded with ``json.JSONDecoder.raw_decode``; the description is everything that is left).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

NAME_MAX = 64
"""ToolBench import keeps the last 64 characters of a tool name."""
FUNCTION_MAX = 256
"""ToolBench import keeps the first 256 characters of a function description."""
ARG_DESCRIPTION_MAX = 256
"""ToolBench import keeps the last 256 characters of an argument description."""
FINISH = "Finish"
"""ToolBench's pseudo-function that ends an episode; it is not a tool in the α-UMi docs."""

_DECODER = json.JSONDecoder()


def render_doc(tools: Sequence[Mapping[str, Any]]) -> str:
    """The ``{doc}`` text: ``json.dumps(tool)`` (default separators, ASCII escapes) plus ``\\n`` per tool."""
    return "".join(json.dumps(t) + "\n" for t in tools)


def tool_names(tools: Sequence[Mapping[str, Any]]) -> str:
    """The ``{tool_names}`` text: the ``Name`` values joined with ``", "``."""
    return ", ".join(t["Name"] for t in tools)


def from_toolbench(api: Mapping[str, Any]) -> dict[str, Any]:
    """Convert one ToolBench function doc (``{"name", "description", "parameters": {"properties"}}``).

    As the released stage-1 script: the name is cut to its last 64 characters, the description to its first 256,
    and each argument becomes ``type + ", " + description[-256:]`` (just ``type`` when it has no description).
    Raises ValueError naming the missing or mistyped field.
    """
    name = _field(api, "name", str)
    description = _field(api, "description", str, default="")
    params = _field(api, "parameters", Mapping, default={})
    props = _field(params, "properties", Mapping, default={}, where="parameters.")
    inputs: dict[str, str] = {}
    for arg, spec in props.items():
        if not isinstance(spec, Mapping):
            raise ValueError(f"parameters.properties.{arg}: expected an object, got {type(spec).__name__}")
        arg_type = _field(spec, "type", str, where=f"parameters.properties.{arg}.")
        if "description" in spec:
            desc = _field(spec, "description", str, where=f"parameters.properties.{arg}.")
            inputs[arg] = arg_type + ", " + desc[-ARG_DESCRIPTION_MAX:]
        else:
            inputs[arg] = arg_type
    return {"Name": name[-NAME_MAX:], "function": description[:FUNCTION_MAX], "input": inputs}


def from_toolbench_functions(functions: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Convert a ToolBench ``function`` list, leaving out the ``Finish`` pseudo-function."""
    return [from_toolbench(f) for f in functions if f.get("name") != FINISH]


def _type_text(spec: Mapping[str, Any]) -> str:
    t = spec.get("type", "string")
    if isinstance(t, list):
        return "|".join(str(x) for x in t)
    return str(t)


def from_json_schema(name: str, description: str, parameters: Mapping[str, Any]) -> dict[str, Any]:
    """Render a JSON-Schema tool spec (an ``object`` schema) into the α-UMi tool doc; see the module docstring."""
    props = parameters.get("properties", {}) or {}
    required = set(parameters.get("required", []) or [])
    inputs: dict[str, str] = {}
    for arg, spec in props.items():
        text = _type_text(spec) + ", " + ("required" if arg in required else "optional")
        if "enum" in spec:
            text += "; one of " + json.dumps(list(spec["enum"]), ensure_ascii=False)
        if "default" in spec:
            text += "; default " + json.dumps(spec["default"], ensure_ascii=False)
        if spec.get("description"):
            text += ", " + spec["description"]
        inputs[arg] = text
    return {"Name": name, "function": description, "input": inputs}


def parse_arg_text(text: str) -> dict[str, Any]:
    """Parse one argument text written by :func:`from_json_schema` back into a JSON-Schema property.

    Returns the property schema plus ``"required": bool``; ValueError when ``text`` does not follow the grammar.
    """
    type_text, sep, rest = text.partition(", ")
    if not sep or not type_text:
        raise ValueError(f"argument text {text!r}: expected '<type>, required|optional, ...'")
    spec: dict[str, Any] = {"type": type_text.split("|") if "|" in type_text else type_text}
    for flag in ("required", "optional"):
        if rest.startswith(flag):
            req = flag == "required"
            rest = rest[len(flag) :]
            break
    else:
        raise ValueError(f"argument text {text!r}: expected 'required' or 'optional' after the type")
    for key, marker in (("enum", "; one of "), ("default", "; default ")):
        if rest.startswith(marker):
            try:
                value, end = _DECODER.raw_decode(rest, len(marker))
            except json.JSONDecodeError as exc:
                raise ValueError(f"argument text {text!r}: bad JSON after {marker.strip('; ')!r}: {exc.msg}") from None
            spec[key] = value
            rest = rest[end:]
    if rest and not rest.startswith(", "):
        raise ValueError(f"argument text {text!r}: expected ', <description>' or the end, got {rest[:20]!r}")
    if rest:
        spec["description"] = rest[2:]
    spec["required"] = req
    return spec


def to_json_schema(tool: Mapping[str, Any]) -> tuple[str, str, dict[str, Any]]:
    """Inverse of :func:`from_json_schema`: ``(name, description, parameters)``."""
    props: dict[str, Any] = {}
    required: list[str] = []
    for arg, text in tool.get("input", {}).items():
        spec = parse_arg_text(text)
        if spec.pop("required"):
            required.append(arg)
        props[arg] = spec
    return tool["Name"], tool.get("function", ""), {"type": "object", "properties": props, "required": required}


def _field(obj: Mapping[str, Any], key: str, typ: type, *, default: Any = ..., where: str = "") -> Any:
    if key not in obj:
        if default is ...:
            raise ValueError(f"field '{where}{key}': missing")
        return default
    value = obj[key]
    if not isinstance(value, typ):
        expected = "a string" if typ is str else "an object"
        raise ValueError(f"field '{where}{key}': expected {expected}, got {type(value).__name__}")
    return value
