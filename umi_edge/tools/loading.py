"""User tools: ``--tools FILE`` (a Python module of functions, or a JSON/YAML spec) and the ``umi_edge.tools``
entry-point group.

A Python file contributes every :class:`~umi_edge.tools.registry.Tool` it defines (``@tool``) and every public
function defined in it (respecting ``__all__``).  Undecorated functions get effect ``write`` so the approval
policy asks before running them; decorate with ``@tool(effect="read")`` to mark one side-effect free.

A JSON/YAML spec is a list of tools (or ``{"tools": [...]}``), each one of:

- ``{"name", "description", "parameters": <JSON Schema>, "effect", "entry": "module:function", "sandboxed"}``
  (``entry`` optional: without it the tool is documented but not callable here);
- an α-UMi tool doc ``{"Name", "function", "input": {"arg": "<type>, <description>"}}``;
- a ToolBench tool ``{"tool_name", "api_list": [{"name", "description", "required_parameters",
  "optional_parameters"}]}``, one tool per API named ``<api>_for_<tool>`` as ToolBench does.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import importlib.util
import inspect
import json
import re
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import yaml

from umi_edge.errors import UserError, where
from umi_edge.tools.registry import EFFECTS, Tool, ToolRegistry, builtin_registry, from_function

ENTRY_POINT_GROUP = "umi_edge.tools"

_JSON_TYPES = {"string", "number", "integer", "boolean", "array", "object", "null"}
_TYPE_ALIASES = {
    "str": "string",
    "int": "integer",
    "float": "number",
    "bool": "boolean",
    "list": "array",
    "dict": "object",
    "enum": "string",
    "date": "string",
    "number": "number",
}


def load_tools_file(path: str | Path) -> list[Tool]:
    """The tools defined in ``path`` (``.py``, ``.json``, ``.yaml``/``.yml``); bad files raise UserError."""
    p = Path(path).expanduser()
    if not p.is_file():
        raise UserError(f"{p}: tools file not found")
    suffix = p.suffix.lower()
    if suffix == ".py":
        return _tools_from_module_file(p)
    if suffix in (".json", ".yaml", ".yml"):
        text = p.read_text(encoding="utf-8")
        try:
            data = json.loads(text) if suffix == ".json" else yaml.safe_load(text)
        except json.JSONDecodeError as exc:
            raise UserError(f"{p}:{exc.lineno}: invalid JSON: {exc.msg}") from None
        except yaml.YAMLError as exc:
            line = getattr(getattr(exc, "problem_mark", None), "line", None)
            raise UserError(f"{where(p, line=None if line is None else line + 1)}: invalid YAML: {exc}") from None
        return tools_from_spec(data, origin=str(p))
    raise UserError(f"{p}: expected a .py, .json, .yaml or .yml tools file, got {suffix or 'no extension'!r}")


def _tools_from_module_file(p: Path) -> list[Tool]:
    mod_name = "umi_edge_user_tools_" + re.sub(r"\W", "_", p.stem) + f"_{abs(hash(str(p.resolve()))) % 10**8}"
    spec = importlib.util.spec_from_file_location(mod_name, p)
    if spec is None or spec.loader is None:
        raise UserError(f"{p}: cannot be imported as a Python module")
    module = importlib.util.module_from_spec(spec)
    sys.modules[mod_name] = module
    try:
        spec.loader.exec_module(module)
    except SyntaxError as exc:
        sys.modules.pop(mod_name, None)
        raise UserError(f"{p}:{exc.lineno}: syntax error: {exc.msg}") from None
    except (Exception, SystemExit) as exc:  # a module calling sys.exit() at import is a failing import too
        sys.modules.pop(mod_name, None)
        raise UserError(f"{p}: importing the tools module failed: {type(exc).__name__}: {exc}") from None
    return tools_from_module(module, source=str(p.resolve()))


def tools_from_module(module: Any, *, source: str | None = None) -> list[Tool]:
    """Tools of a module: its ``Tool`` objects and its own public functions (``__all__`` when defined)."""
    names = getattr(module, "__all__", None) or [n for n in vars(module) if not n.startswith("_")]
    out: list[Tool] = []
    origin = source or getattr(module, "__file__", None) or module.__name__
    for name in names:
        obj = getattr(module, name, None)
        try:
            if isinstance(obj, Tool):
                if source and obj.source is None:
                    obj.source = source
                out.append(obj)
            elif inspect.isfunction(obj) and obj.__module__ == module.__name__:
                out.append(from_function(obj, effect="write", source=source))
        except ValueError as exc:
            raise UserError(f"{origin}: function {name!r}: {exc}") from None
    if not out:
        raise UserError(f"{origin}: defines no tools (public functions or @tool functions)")
    return out


def tools_from_spec(data: Any, *, origin: str = "<spec>") -> list[Tool]:
    """Tools from a parsed JSON/YAML spec or a ToolBench / α-UMi tool doc (see the module docstring)."""
    if isinstance(data, dict) and "tools" in data and isinstance(data["tools"], list):
        data = data["tools"]
    elif isinstance(data, dict):
        data = [data]
    if not isinstance(data, list):
        raise UserError(f"{origin}: expected a list of tools or {{'tools': [...]}}, got {type(data).__name__}")
    out: list[Tool] = []
    for i, item in enumerate(data):
        loc = f"{origin}: tool {i}"
        if not isinstance(item, dict):
            raise UserError(f"{loc}: expected an object, got {type(item).__name__}")
        if "api_list" in item:
            out.extend(_from_toolbench(item, loc))
        elif "Name" in item:
            out.append(_from_alpha_umi(item, loc))
        else:
            out.append(_from_plain(item, loc))
    return out


def _from_plain(item: dict[str, Any], loc: str) -> Tool:
    name = item.get("name")
    if not isinstance(name, str) or not name:
        raise UserError(f"{loc}: field 'name': expected a non-empty string, got {name!r}")
    effect = item.get("effect", "read")
    if effect not in EFFECTS:
        raise UserError(f"{loc}: field 'effect': expected one of {', '.join(EFFECTS)}, got {effect!r}")
    params = item.get("parameters", {"type": "object", "properties": {}})
    if not isinstance(params, dict):
        raise UserError(f"{loc}: field 'parameters': expected a JSON Schema object, got {type(params).__name__}")
    keywords = item.get("keywords", [])
    if isinstance(keywords, str):
        keywords = keywords.split()
    if not isinstance(keywords, list) or not all(isinstance(k, str) for k in keywords):
        raise UserError(f"{loc}: field 'keywords': expected a list of words or a space-separated string")
    func = None
    source = None
    entry = item.get("entry")
    if entry is not None:
        func, source = _resolve_entry(entry, loc)
    try:
        return Tool(
            name=name,
            description=str(item.get("description", "")),
            parameters=params,
            effect=effect,
            func=func,
            sandboxed=bool(item.get("sandboxed", False)),
            source=source,
            keywords=tuple(keywords),
        )
    except Exception as exc:
        raise UserError(f"{loc}: field 'parameters': {str(exc).splitlines()[0]}") from None


def _resolve_entry(entry: Any, loc: str) -> tuple[Any, str | None]:
    if not isinstance(entry, str) or ":" not in entry:
        raise UserError(f"{loc}: field 'entry': expected 'module:function', got {entry!r}")
    mod_name, _, attr = entry.partition(":")
    try:
        obj: Any = importlib.import_module(mod_name)
        for part in attr.split("."):
            obj = getattr(obj, part)
    except (ImportError, AttributeError) as exc:
        raise UserError(f"{loc}: field 'entry': cannot load {entry!r}: {exc}") from None
    if isinstance(obj, Tool):
        obj = obj.func
    if not callable(obj):
        raise UserError(f"{loc}: field 'entry': {entry!r} is not callable")
    return obj, None


def _json_type(text: str) -> str | None:
    t = text.strip().lower()
    t = _TYPE_ALIASES.get(t, t)
    return t if t in _JSON_TYPES else None


def _from_alpha_umi(item: dict[str, Any], loc: str) -> Tool:
    name = item.get("Name")
    if not isinstance(name, str) or not name:
        raise UserError(f"{loc}: field 'Name': expected a non-empty string, got {name!r}")
    inputs = item.get("input") or {}
    if not isinstance(inputs, dict):
        raise UserError(f"{loc}: field 'input': expected an object of 'type, description' strings")
    props: dict[str, Any] = {}
    for arg, text in inputs.items():
        kind, _, desc = str(text).partition(",")
        prop: dict[str, Any] = {}
        jt = _json_type(kind)
        if jt:
            prop["type"] = jt
        if desc.strip():
            prop["description"] = desc.strip()
        props[arg] = prop
    return Tool(
        name=name, description=str(item.get("function", "")), parameters={"type": "object", "properties": props}
    )


def _from_toolbench(item: dict[str, Any], loc: str) -> list[Tool]:
    tool_name = _standardize(str(item.get("tool_name") or item.get("name") or ""))
    apis = item.get("api_list")
    if not tool_name or not isinstance(apis, list):
        raise UserError(f"{loc}: expected a ToolBench tool with 'tool_name' and an 'api_list' list")
    out = []
    for j, api in enumerate(apis):
        if not isinstance(api, dict) or not api.get("name"):
            raise UserError(f"{loc}: api_list[{j}]: expected an object with a 'name'")
        props: dict[str, Any] = {}
        required: list[str] = []
        for group, is_req in (("required_parameters", True), ("optional_parameters", False)):
            for param in api.get(group) or []:
                if not isinstance(param, dict) or not param.get("name"):
                    continue
                prop: dict[str, Any] = {}
                jt = _json_type(str(param.get("type", "")))
                if jt:
                    prop["type"] = jt
                if param.get("description"):
                    prop["description"] = str(param["description"])
                props[str(param["name"])] = prop
                if is_req:
                    required.append(str(param["name"]))
        params: dict[str, Any] = {"type": "object", "properties": props}
        if required:
            params["required"] = required
        name = f"{_standardize(str(api['name']))}_for_{tool_name}"[-64:]
        desc = f'This is the subfunction for tool "{tool_name}", you can use this tool.'
        if api.get("description"):
            desc += f'The description of this function is: "{api["description"]}"'
        out.append(Tool(name=name, description=desc, parameters=params))
    return out


def _standardize(name: str) -> str:
    """ToolBench's name standardisation: lower case, non-alphanumerics to ``_``, no leading digit."""
    s = re.sub(r"[^a-z0-9_]+", "_", name.lower()).strip("_")
    s = re.sub(r"_+", "_", s)
    return f"get_{s}" if s[:1].isdigit() else s


def entry_point_tools() -> list[Tool]:
    """Tools registered by installed packages under the ``umi_edge.tools`` entry-point group.

    An entry point may name a Tool, a function, a list of those, or a module (all its tools).
    A broken entry point is skipped with a warning on stderr rather than breaking every command.
    """
    out: list[Tool] = []
    for ep in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
        try:
            obj = ep.load()
            if inspect.ismodule(obj):
                out.extend(tools_from_module(obj))
            elif isinstance(obj, list | tuple):
                out.extend(from_function(o) for o in obj)
            else:
                out.append(from_function(obj))
        except Exception as exc:
            print(f"umi-edge: warning: tools entry point {ep.name!r} ({ep.value}) failed: {exc}", file=sys.stderr)
    return out


def default_registry(
    tools_files: Iterable[str | Path] = (),
    *,
    only: Iterable[str] | None = None,
    entry_points: bool = True,
    **kwargs: Any,
) -> ToolRegistry:
    """Built-ins, then entry-point tools, then tools from ``--tools`` files (later ones replace earlier ones);
    ``only``: keep just these names (``--only-tools``; an unknown name raises UserError). ``kwargs`` go to
    :class:`ToolRegistry` (``limits``, ``allow_unsandboxed``)."""
    reg = builtin_registry(**kwargs)
    extra: list[Tool] = list(entry_point_tools()) if entry_points else []
    for path in tools_files:
        extra.extend(load_tools_file(path))
    for t in extra:
        reg.add(t, replace=True)
    return _narrowed(reg, only)


def _narrowed(reg: ToolRegistry, only: Iterable[str] | None) -> ToolRegistry:
    """``reg`` with just the ``only`` names (``--only-tools``; all when empty); an unknown name is a UserError."""
    names = [n.strip() for n in only or () if n.strip()]
    if not names:
        return reg
    try:
        return reg.subset(names)
    except KeyError as exc:
        raise UserError(f"--only-tools: {exc.args[0]}") from None


def full_registry(
    tools_files: Iterable[str | Path] = (),
    *,
    only: Iterable[str] | None = None,
    mcp: Iterable[str] = (),
    mcp_network: bool = False,
    workspace: str | Path | None = None,
    entry_points: bool = True,
    allow_unsandboxed: bool = False,
) -> ToolRegistry:
    """:func:`default_registry` plus the tools of the ``mcp`` servers (started in ``workspace``, confined by the
    sandbox: :mod:`umi_edge.tools.mcp`), then narrowed by ``only`` (which may name MCP tools too). The one place
    ``chat``, ``run``, ``eval tasks`` and ``serve`` build their tools."""
    servers = [m for m in mcp if m]
    reg = default_registry(tools_files, entry_points=entry_points, allow_unsandboxed=allow_unsandboxed)
    if servers:
        from umi_edge.tools.mcp import McpSandbox, add_mcp_tools

        confine = McpSandbox(network=mcp_network, allow_unsandboxed=allow_unsandboxed)
        add_mcp_tools(reg, servers, cwd=workspace, sandbox=confine)
    return _narrowed(reg, only)
