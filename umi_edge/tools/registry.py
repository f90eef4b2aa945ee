"""The typed tool registry: tools as plain typed Python functions, validated calls, and results that never raise.

A tool is a function with type hints and a docstring; :func:`tool` derives its JSON Schema.  Each tool declares its
effect (``read``: no side effects, ``write``: changes the workspace, ``exec``: runs code) for the approval policy,
and whether it runs in the sandbox (:mod:`umi_edge.sandbox`).  :meth:`ToolRegistry.call` validates arguments,
runs the tool (in-process in a worker thread, or in a sandboxed process), and turns exceptions, timeouts and limit
hits into ``{"error": ...}`` results.  Tools come from the built-ins, ``--tools FILE`` (a Python module of
functions, or a JSON/YAML spec / ToolBench or α-UMi tool doc, see :mod:`umi_edge.tools.loading`) and the
``umi_edge.tools`` entry-point group.
"""

from __future__ import annotations

import difflib
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, get_args

import jsonschema

from umi_edge.tools.result import DEFAULT_MAX_CHARS, ToolError, ToolResult, dumps, fit_json, normalise
from umi_edge.tools.schema import function_schema, injected_params, type_label

Effect = Literal["read", "write", "exec"]
EFFECTS: tuple[str, ...] = get_args(Effect)


@dataclass
class Tool:
    """One tool: its name, description, JSON Schema of parameters, effect, implementation and sandboxing.

    ``func`` is None for tools known only by their documentation (a ToolBench doc): calling them is an error
    result.  ``source`` is the file a tool was loaded from (the sandbox re-imports it there).  ``keywords``: words a
    request for this tool may use that its doc does not ("percent" for a calculator); never shown to the model, they
    only count when the run judges whether any tool fits a request (:mod:`umi_edge.agent.relevance`).
    """

    name: str
    description: str
    parameters: dict[str, Any]
    effect: Effect = "read"
    func: Callable[..., Any] | None = None
    sandboxed: bool = False
    source: str | None = None
    keywords: tuple[str, ...] = ()
    _validator: Any = field(default=None, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.effect not in EFFECTS:
            raise ValueError(f"tool {self.name!r}: effect must be one of {', '.join(EFFECTS)}, got {self.effect!r}")
        if not self.name or not isinstance(self.name, str):
            raise ValueError(f"tool name must be a non-empty string, got {self.name!r}")
        params = dict(self.parameters or {})
        params.setdefault("type", "object")
        params.setdefault("properties", {})
        jsonschema.Draft202012Validator.check_schema(params)
        self.parameters = params

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        """Call the implementation directly (decorated functions stay usable as functions)."""
        if self.func is None:
            raise ToolError(f"tool {self.name!r} has no implementation")
        return self.func(*args, **kwargs)

    @property
    def validator(self) -> Any:
        if self._validator is None:
            self._validator = jsonschema.Draft202012Validator(self.parameters)
        return self._validator

    def signature_text(self) -> str:
        """``name(a: string, b?: integer)``: the parameters as error texts and listings show them."""
        props = self.parameters.get("properties", {})
        required = set(self.parameters.get("required", []))
        parts = [f"{k}{'' if k in required else '?'}: {type_label(v)}" for k, v in props.items()]
        return f"{self.name}({', '.join(parts)})"

    def to_dict(self) -> dict[str, Any]:
        """``{"name", "description", "effect", "sandboxed", "parameters"}`` (what ``tools list --json`` prints)."""
        return {
            "name": self.name,
            "description": self.description,
            "effect": self.effect,
            "sandboxed": self.sandboxed,
            "parameters": self.parameters,
        }


def tool(
    func: Callable[..., Any] | None = None,
    *,
    name: str | None = None,
    effect: Effect = "read",
    sandboxed: bool = False,
    description: str | None = None,
    keywords: str | tuple[str, ...] = (),
) -> Any:
    """Decorator turning a typed, documented function into a :class:`Tool` (usable bare or with options).

    The schema comes from the signature and docstring; ``Literal`` types become ``enum``.  A parameter named
    ``workspace`` is filled with the call's workspace directory and is not shown to the model.  ``keywords`` (a
    space-separated string or a tuple): see :class:`Tool`.
    """

    def wrap(f: Callable[..., Any]) -> Tool:
        desc, params = function_schema(f)
        return Tool(
            name=name or f.__name__,
            description=description if description is not None else desc,
            parameters=params,
            effect=effect,
            func=f,
            sandboxed=sandboxed,
            keywords=tuple(keywords.split()) if isinstance(keywords, str) else tuple(keywords),
        )

    return wrap(func) if func is not None else wrap


def from_function(func: Callable[..., Any], *, effect: Effect = "read", source: str | None = None) -> Tool:
    """A :class:`Tool` for an undecorated function (or the Tool itself when it already is one)."""
    if isinstance(func, Tool):
        return func
    made = tool(func, effect=effect)
    made.source = source
    return made


class ToolRegistry:
    """An ordered set of tools with validation and safe calling.

    ``limits`` (a :class:`umi_edge.sandbox.Limits`) applies to sandboxed tools; ``allow_unsandboxed`` lets code
    tools run with only rlimits and the timeout when no isolation layer works (``--unsafe-no-sandbox``).
    Safe to call from several threads at once.
    """

    def __init__(self, tools: Iterable[Tool] = (), *, limits: Any = None, allow_unsandboxed: bool = False) -> None:
        self._tools: dict[str, Tool] = {}
        self.limits = limits
        self.allow_unsandboxed = allow_unsandboxed
        for t in tools:
            self.add(t)

    # ---- the set of tools -------------------------------------------------------------------------------------
    def add(self, t: Tool | Callable[..., Any], *, replace: bool = False) -> Tool:
        """Add a tool (or a plain function); a second tool with the same name is an error unless ``replace``."""
        t = from_function(t) if not isinstance(t, Tool) else t
        if t.name in self._tools and not replace:
            raise ValueError(f"duplicate tool name {t.name!r}")
        self._tools[t.name] = t
        return t

    def get(self, name: str) -> Tool | None:
        return self._tools.get(name)

    def __contains__(self, name: object) -> bool:
        return name in self._tools

    def __len__(self) -> int:
        return len(self._tools)

    def __iter__(self) -> Iterator[Tool]:
        return iter(self._tools.values())

    def names(self) -> list[str]:
        return list(self._tools)

    def tools(self) -> list[Tool]:
        return list(self._tools.values())

    def subset(self, names: Iterable[str]) -> ToolRegistry:
        """A registry with only ``names`` (in that order); unknown names raise KeyError listing valid ones."""
        wanted = list(names)
        missing = [n for n in wanted if n not in self._tools]
        if missing:
            raise KeyError(f"unknown tools {missing}; valid tools: {', '.join(self._tools)}")
        return ToolRegistry(
            (self._tools[n] for n in wanted), limits=self.limits, allow_unsandboxed=self.allow_unsandboxed
        )

    def alpha_umi_docs(self) -> list[dict[str, Any]]:
        """The α-UMi tool documentation ``[{"Name", "function", "input"}, ...]`` of every tool, in order."""
        from umi_edge.formats.tooldoc import from_json_schema

        return [from_json_schema(t.name, t.description, t.parameters) for t in self._tools.values()]

    # ---- validation -------------------------------------------------------------------------------------------
    def validate(self, name: str, arguments: Any) -> str | None:
        """None when ``name`` is a tool and ``arguments`` fit its schema; otherwise one paragraph saying what is
        wrong and listing the valid tools or the tool's parameters (small models repeat mistakes without it)."""
        t = self._tools.get(name)
        if t is None:
            guess = difflib.get_close_matches(str(name), list(self._tools), n=1)
            hint = f" Did you mean '{guess[0]}'?" if guess else ""
            return f"Unknown tool '{name}'.{hint} Valid tools: {', '.join(self._tools) or '(none)'}."
        if not isinstance(arguments, dict):
            return (
                f"Arguments for '{name}' must be a JSON object, got {type(arguments).__name__}. "
                f"Expected {t.signature_text()}."
            )
        arguments = _drop_optional_nulls(t, arguments)
        problems = []
        props = t.parameters.get("properties", {})
        for err in sorted(t.validator.iter_errors(arguments), key=lambda e: (list(e.path), e.message)):
            problems.append(_describe_error(err, props))
        if not problems:
            return None
        problems = list(dict.fromkeys(problems))
        return f"Invalid arguments for '{name}': {'; '.join(problems)}. Expected {t.signature_text()}."

    # ---- calling ----------------------------------------------------------------------------------------------
    def call(
        self,
        name: str,
        arguments: Any,
        *,
        workspace: Path | str,
        timeout: float = 20.0,
        max_chars: int = DEFAULT_MAX_CHARS,
    ) -> ToolResult:
        """Validate and run one call; every failure (bad call, exception, timeout, limit) becomes a result."""
        start = time.monotonic()

        def done(value: Any, is_error: bool, truncated: bool = False) -> ToolResult:
            text, cut = fit_json(value, max_chars)
            return ToolResult(text, is_error, truncated or cut, time.monotonic() - start)

        try:
            problem = self.validate(name, arguments)
            if problem:
                return done({"error": problem}, True)
            t = self._tools[name]
            arguments = _whole_numbers_as_int(t, _drop_optional_nulls(t, arguments))
            if t.func is None:
                return done({"error": f"Tool '{name}' is documented but has no implementation on this machine."}, True)
            ws = Path(workspace).expanduser().resolve()
            if not ws.is_dir():
                return done({"error": f"workspace {ws} is not a directory"}, True)
            if t.sandboxed:
                value, is_error, truncated = self._call_sandboxed(t, arguments, ws, timeout)
            else:
                value, is_error = _call_in_thread(t, arguments, ws, timeout)
                truncated = False
            return done(value, is_error, truncated)
        except Exception as exc:  # a tool never crashes the agent
            return done({"error": f"{type(exc).__name__}: {exc}"}, True)

    def _call_sandboxed(self, t: Tool, arguments: dict[str, Any], ws: Path, timeout: float) -> tuple[Any, bool, bool]:
        from umi_edge.sandbox import Limits, SandboxRefused, run_function

        limits = self.limits or Limits()
        assert t.func is not None
        try:
            res = run_function(
                t.func,
                arguments,
                workspace=ws,
                timeout=timeout,
                limits=limits,
                source=t.source,
                inject_workspace="workspace" in injected_params(t.func),
                allow_unsandboxed=self.allow_unsandboxed,
            )
        except SandboxRefused as exc:
            return {"error": str(exc)}, True, False
        return res.observation(), res.is_error, res.output_truncated


def _drop_optional_nulls(t: Tool, arguments: dict[str, Any]) -> dict[str, Any]:
    """``null`` for an optional parameter means "not given" (small models write it): the default applies."""
    required = set(t.parameters.get("required", []))
    return {k: v for k, v in arguments.items() if v is not None or k in required}


def _whole_numbers_as_int(t: Tool, arguments: dict[str, Any]) -> dict[str, Any]:
    """JSON Schema accepts ``5.0`` as an integer; hand the function the ``int`` its signature asks for."""
    props = t.parameters.get("properties", {})
    out = dict(arguments)
    for key, value in arguments.items():
        if isinstance(value, float) and value.is_integer() and props.get(key, {}).get("type") == "integer":
            out[key] = int(value)
    return out


def _describe_error(err: jsonschema.ValidationError, props: dict[str, Any]) -> str:
    where = ".".join(str(p) for p in err.path)
    if err.validator == "required":
        missing = err.message.split("'")[1] if "'" in err.message else err.message
        return f"missing required parameter '{missing}'"
    if err.validator == "additionalProperties":
        extra = [k for k in err.instance if k not in props] if isinstance(err.instance, dict) else []
        valid = ", ".join(props) or "(none)"
        return f"unknown parameter{'s' if len(extra) > 1 else ''} {', '.join(map(repr, extra))} (valid: {valid})"
    if err.validator == "enum":
        return f"parameter '{where}' must be one of {', '.join(map(str, err.validator_value))}, got {err.instance!r}"
    if err.validator == "type":
        return f"parameter '{where}' must be {type_label({'type': err.validator_value})}, got {dumps(err.instance)}"
    return f"parameter '{where}': {err.message}" if where else err.message


def _call_in_thread(t: Tool, arguments: dict[str, Any], ws: Path, timeout: float) -> tuple[Any, bool]:
    """Run an in-process tool in a daemon thread; past ``timeout`` the call is abandoned and reported."""
    func = t.func
    assert func is not None
    kwargs = dict(arguments)
    if "workspace" in injected_params(func):
        kwargs["workspace"] = ws
    box: dict[str, Any] = {}

    def target() -> None:
        try:
            box["value"] = normalise(func(**kwargs))
        except ToolError as exc:
            box["error"] = str(exc)
        except RecursionError:
            box["error"] = "RecursionError: maximum recursion depth exceeded"
        except MemoryError:
            box["error"] = "MemoryError: the tool ran out of memory"
        except Exception as exc:
            box["error"] = f"{type(exc).__name__}: {exc}"

    worker = threading.Thread(target=target, name=f"tool-{t.name}", daemon=True)
    worker.start()
    worker.join(timeout)
    if worker.is_alive():
        return {"error": f"tool '{t.name}' timed out after {timeout:g} s"}, True
    if "error" in box:
        return {"error": box["error"]}, True
    value = box.get("value")
    is_error = isinstance(value, dict) and set(value) == {"error"}
    return value, is_error


def builtin_registry(**kwargs: Any) -> ToolRegistry:
    """A registry holding the built-in tools (see :mod:`umi_edge.tools.builtins`)."""
    from umi_edge.tools.builtins import BUILTINS

    return ToolRegistry(BUILTINS, **kwargs)
