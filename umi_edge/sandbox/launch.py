"""The sandbox launcher: ``python -I -m umi_edge.sandbox.launch`` restricts itself, then runs the tool code.

The parent (:mod:`umi_edge.sandbox.runner`) starts it in a new session with a scrubbed environment and the
workspace as cwd, writes a JSON spec on stdin, and reads JSON lines from ``result_fd``: first
``{"layers": {...}}`` (what was applied), then ``{"value": ...}`` / ``{"error": ...}`` for a function target, or
``{"refused": "..."}`` when a required layer could not be applied (fail closed: nothing runs).
Restricting in this separate program (not ``preexec_fn``) keeps it safe in the threaded parent (the TUI).
The tool's module (and ``pyseccomp``) is imported before the restrictions: it is the user's own trusted code;
the untrusted part is what it does with the model's arguments.  Later imports must come from readable places
(the interpreter's installation and site-packages, umi_edge, the tool's own file).

**Long-lived servers** (``--mcp``, :func:`umi_edge.sandbox.spawn.launcher_command`): ``--spec JSON`` on the command
line instead of stdin, so that stdin and stdout stay the exec'd program's own (the MCP stdio transport); with
``"result_fd": null`` nothing is reported but a refusal or a failure, as one line on stderr.

Spec: ``{"workspace", "tmp", "limits", "layers": {name: "require"|"try"|"off"}, "read_paths", "write_paths",
"result_fd", "target": {"kind": "function", "module", "qualname", "file", "arguments", "inject_workspace"} |
{"kind": "exec", "argv"} | {"kind": "probe"}}``.
"""

from __future__ import annotations

import importlib
import importlib.util
import json
import os
import sys
from typing import Any

from umi_edge.sandbox.layers import Layer


def _emit(fd: int | None, obj: dict[str, Any]) -> None:
    if fd is None:  # a server on stdio: only what stops it is said, on stderr
        why = obj.get("refused") or obj.get("error")
        if why:
            sys.stderr.write(f"umi-edge sandbox: {why}\n")
            sys.stderr.flush()
        return
    data = (json.dumps(obj, ensure_ascii=False, default=str) + "\n").encode("utf-8")
    while data:
        n = os.write(fd, data)
        data = data[n:]


def _load_target(target: dict[str, Any]) -> Any:
    if target.get("file"):
        name = "umi_edge_sandboxed_tools"
        spec = importlib.util.spec_from_file_location(name, target["file"])
        if spec is None or spec.loader is None:
            raise ImportError(f"cannot import {target['file']}")
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    else:
        module = importlib.import_module(target["module"])
    obj: Any = module
    for part in target["qualname"].split("."):
        obj = getattr(obj, part)
    if hasattr(obj, "func") and hasattr(obj, "parameters"):  # a Tool object: call its function
        obj = obj.func
    return obj


def _apply_layers(spec: dict[str, Any], pyseccomp: Any) -> tuple[dict[str, Any], str | None]:
    """Apply the requested layers in order; returns (report, refusal or None)."""
    from umi_edge.sandbox import layers as L
    from umi_edge.sandbox.limits import Limits

    wanted = spec.get("layers", {})
    report: dict[str, Any] = {}

    def attempt(name: str, fn: Any) -> str | None:
        mode = wanted.get(name, "off")
        if mode == "off":
            report[name] = {"active": False, "detail": "off"}
            return None
        try:
            detail = fn()
            report[name] = {"active": True, "detail": detail}
            return None
        except Exception as exc:  # LayerError, OSError, anything: fail closed when required
            report[name] = {"active": False, "detail": str(exc)}
            return f"sandbox layer '{name}' could not be applied: {exc}" if mode == "require" else None

    steps = {
        Layer.NETNS: L.enter_network_namespace,
        Layer.CAPABILITIES: lambda: f"dropped {L.drop_capabilities()} capabilities",
        Layer.LANDLOCK: lambda: L.apply_landlock(
            spec.get("read_paths", []), spec.get("write_paths", []), network=bool(spec.get("network"))
        ),
        Layer.SECCOMP: lambda: L.apply_seccomp(pyseccomp),
    }
    limits = Limits(**spec.get("limits", {}))
    for name in L.SWITCHABLE:
        if name == Layer.SECCOMP:  # rlimits go before seccomp, which forbids raising or setting limits afterwards
            try:
                report[Layer.RLIMITS] = {"active": True, "detail": L.apply_rlimits(limits)}
            except L.LayerError as exc:
                return report, f"rlimits could not be applied: {exc}"
        refusal = attempt(name, steps[name])
        if refusal:
            return report, refusal
    return report, None


def _preset_libraries(known: dict[str, str]) -> None:
    """Answer ``ctypes.util.find_library`` from the parent's cached results (pyseccomp calls it on import, and
    the lookup runs ``ldconfig`` in a subprocess: ~0.1 s per sandboxed call saved)."""
    import ctypes.util

    original = ctypes.util.find_library

    def find_library(name: str) -> str | None:
        return known.get(name) or original(name)

    ctypes.util.find_library = find_library


def main() -> int:
    if sys.argv[1:2] == ["--spec"] and len(sys.argv) == 3:
        spec = json.loads(sys.argv[2])  # stdin stays the program's (a stdio server)
    else:
        raw = sys.stdin.buffer.read()
        devnull = os.open(os.devnull, os.O_RDONLY)
        os.dup2(devnull, 0)
        os.close(devnull)
        spec = json.loads(raw)
    fd = None if spec.get("result_fd") is None else int(spec["result_fd"])
    from umi_edge.sandbox.layers import die_with_parent

    if spec.get("parent_pid") and not die_with_parent(int(spec["parent_pid"])):
        return 125  # the parent is already gone: nobody is waiting for the result
    target = spec["target"]
    os.chdir(spec["workspace"])
    pyseccomp: Any = None
    if spec.get("layers", {}).get(Layer.SECCOMP, "off") != "off":
        _preset_libraries(spec.get("libraries", {}))
        try:
            # needs a writable /tmp and a subprocess: import before Landlock and seccomp
            pyseccomp = importlib.import_module("pyseccomp")
        except Exception as exc:
            if spec["layers"][Layer.SECCOMP] == "require":
                _emit(fd, {"layers": {Layer.SECCOMP: {"active": False, "detail": str(exc)}}})
                _emit(fd, {"refused": f"sandbox layer '{Layer.SECCOMP}' could not be applied: {exc}"})
                return 126
    func: Any = None
    if target["kind"] == "function":
        try:
            func = _load_target(target)
        except Exception as exc:
            _emit(fd, {"layers": {}})
            _emit(fd, {"error": f"cannot load the tool code: {type(exc).__name__}: {exc}"})
            return 1
    report, refusal = _apply_layers(spec, pyseccomp)
    _emit(fd, {"layers": report})
    if refusal:
        _emit(fd, {"refused": refusal})
        return 126
    if target["kind"] == "probe":
        return 0
    if target["kind"] == "exec":
        argv = target["argv"]
        try:
            os.execve(argv[0], argv, os.environ)
        except OSError as exc:
            _emit(fd, {"error": f"cannot run {argv[0]}: {exc}"})
            return 127
    kwargs = dict(target.get("arguments", {}))
    if target.get("inject_workspace"):
        from pathlib import Path

        kwargs["workspace"] = Path(spec["workspace"])
    try:
        value = func(**kwargs)
        sys.stdout.flush()
        sys.stderr.flush()
        _emit(fd, {"value": value})
    except MemoryError:
        _emit(fd, {"error": "MemoryError: the memory limit was reached"})
    except BaseException as exc:  # the tool's own failure is the result
        message = str(exc) if type(exc).__name__ == "ToolError" else f"{type(exc).__name__}: {exc}"
        _emit(fd, {"error": message})
    return 0


if __name__ == "__main__":
    sys.exit(main())
