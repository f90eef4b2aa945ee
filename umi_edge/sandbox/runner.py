"""Running code in the sandbox: plan the layers from what works on this machine, then start the launcher.

The process handling (spec, capped output, timeout, killing the group) is :mod:`umi_edge.sandbox.spawn`.
"""

from __future__ import annotations

import inspect
import os
import shutil
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from umi_edge.sandbox.layers import ISOLATION, SWITCHABLE, Layer, LayerMode
from umi_edge.sandbox.limits import Limits, scrubbed_env
from umi_edge.sandbox.spawn import SandboxResult, read_paths, run_launcher
from umi_edge.sandbox.status import SandboxStatus, sandbox_status

__all__ = ["SandboxRefused", "SandboxResult", "plan_layers", "read_paths", "run_command", "run_function"]


class SandboxRefused(Exception):
    """Code was not run: no isolation layer works here (and unsandboxed runs were not allowed), or a layer
    that works on this machine failed to apply (fail closed).  The message says why and what to do."""


def plan_layers(status: SandboxStatus, allow_unsandboxed: bool) -> dict[Layer, LayerMode]:
    """Require every layer that works on this machine; refuse when no isolation layer works, unless allowed."""
    if not status.isolation and not allow_unsandboxed:
        why = "; ".join(f"{n}: {status.detail(n)}" for n in ISOLATION)
        raise SandboxRefused(
            "Code tools refuse to run: no isolation layer works on this machine "
            f"({why}). Run `umi-edge tools doctor` for details, or pass --unsafe-no-sandbox to run code "
            "with only resource limits and a timeout."
        )
    working = status.active
    return {n: ("require" if n in working else ("try" if allow_unsandboxed else "off")) for n in SWITCHABLE}


def run_function(
    func: Callable[..., Any],
    arguments: dict[str, Any],
    *,
    workspace: str | os.PathLike[str],
    timeout: float = 20.0,
    limits: Limits | None = None,
    source: str | None = None,
    inject_workspace: bool = False,
    allow_unsandboxed: bool = False,
    layers: dict[Layer, LayerMode] | None = None,
) -> SandboxResult:
    """Call ``func(**arguments)`` in a sandboxed process (``func`` must be importable by module and name, or
    defined in the file ``source``); its return value comes back as JSON.  ``layers`` overrides the plan
    (``{Layer.LANDLOCK: "require"|"try"|"off", ...}``; by default every layer that works here is required)."""
    module = func.__module__
    qualname = func.__qualname__
    extra: list[str] = []
    if source:
        extra.append(source)
    else:
        try:
            extra.append(inspect.getfile(func))
        except TypeError:
            pass
    target = {
        "kind": "function",
        "module": module,
        "qualname": qualname,
        "file": source,
        "arguments": arguments,
        "inject_workspace": inject_workspace,
    }
    return _run(target, workspace, timeout, limits or Limits(), allow_unsandboxed, extra, layers)


def run_command(
    argv: Sequence[str],
    *,
    workspace: str | os.PathLike[str],
    timeout: float = 20.0,
    limits: Limits | None = None,
    allow_unsandboxed: bool = False,
    layers: dict[Layer, LayerMode] | None = None,
) -> SandboxResult:
    """Run a program (``argv[0]`` an absolute path, or found on the sandbox's PATH) in the sandbox."""
    exe = argv[0] if os.path.isabs(argv[0]) else shutil.which(argv[0], path=scrubbed_env("/")["PATH"])
    if not exe:
        raise FileNotFoundError(f"{argv[0]}: not found on {scrubbed_env('/')['PATH']}")
    target = {"kind": "exec", "argv": [exe, *argv[1:]]}
    return _run(target, workspace, timeout, limits or Limits(), allow_unsandboxed, [], layers)


def _run(
    target: dict[str, Any],
    workspace: str | os.PathLike[str],
    timeout: float,
    limits: Limits,
    allow_unsandboxed: bool,
    extra_read: list[str],
    layers: dict[Layer, LayerMode] | None = None,
) -> SandboxResult:
    ws = Path(workspace).resolve()
    if not ws.is_dir():
        raise FileNotFoundError(f"workspace {ws} is not a directory")
    if layers is None:
        layers = plan_layers(sandbox_status(), allow_unsandboxed)
    return run_launcher(target, ws, timeout=timeout, limits=limits, layers=layers, extra_read=extra_read)
