"""Which sandbox layers work on this machine, found by really applying them in a probe process."""

from __future__ import annotations

import tempfile
import threading
from pathlib import Path
from typing import Any

from umi_edge.sandbox.limits import Limits

_LOCK = threading.Lock()
_CACHE: dict[str, Any] | None = None

LAYERS = ("landlock", "seccomp", "netns", "capabilities", "rlimits")
DESCRIPTIONS = {
    "landlock": "filesystem: writes only in the workspace + private tmp, reads only workspace, interpreter, "
    "system dirs; TCP bind/connect denied (ABI>=4); signals scoped (ABI>=6)",
    "seccomp": "system calls: no network sockets (AF_UNIX only), no ptrace, io_uring, mount, namespaces, "
    "process creation, raising limits",
    "netns": "network namespace without interfaces (no network even if seccomp is off)",
    "capabilities": "all Linux capabilities dropped",
    "rlimits": "CPU seconds, address space, file size, open files",
    "timeout": "wall-clock timeout kills the whole process group; output capped",
    "environment": "scrubbed environment: no parent variables (secrets) reach the code",
}


def sandbox_status(*, refresh: bool = False) -> dict[str, Any]:
    """``{layer: {"active": bool, "detail": str, "description": str}, ..., "isolation": bool}`` for this machine.

    The probe starts the launcher once with every layer on "try" and reports what it could apply; the answer
    is cached for the process (``refresh=True`` probes again).
    """
    global _CACHE
    with _LOCK:
        if _CACHE is None or refresh:
            _CACHE = _probe()
        return {k: (dict(v) if isinstance(v, dict) else v) for k, v in _CACHE.items()}


def _probe() -> dict[str, Any]:
    from umi_edge.sandbox.runner import _run

    layers = {"netns": "try", "capabilities": "try", "landlock": "try", "seccomp": "try"}
    with tempfile.TemporaryDirectory(prefix="umi-probe-") as ws:
        try:
            res = _run({"kind": "probe"}, Path(ws), 30.0, Limits(), True, [], layers=layers)
            report, failure = res.layers, res.problem() or (res.stderr.strip()[-500:] if res.returncode else None)
        except Exception as exc:  # the launcher could not start at all
            report, failure = {}, f"{type(exc).__name__}: {exc}"
    out: dict[str, Any] = {}
    for name in LAYERS:
        info = report.get(name) or {"active": False, "detail": failure or "not reported by the launcher"}
        out[name] = {
            "active": bool(info.get("active")),
            "detail": _short(info.get("detail")),
            "description": DESCRIPTIONS[name],
        }
    out["timeout"] = {"active": True, "detail": "always", "description": DESCRIPTIONS["timeout"]}
    out["environment"] = {"active": True, "detail": "always", "description": DESCRIPTIONS["environment"]}
    out["isolation"] = out["landlock"]["active"] or out["seccomp"]["active"]
    return out


def _short(detail: Any) -> str:
    if isinstance(detail, dict):
        return ", ".join(f"{k}={v}" for k, v in detail.items() if k != "skipped" or v)
    return str(detail)


def status_summary(status: dict[str, Any] | None = None) -> str:
    """One line for a status bar: the active layers joined with ``+`` (``none`` when no isolation works)."""
    status = status if status is not None else sandbox_status()
    active = [n for n in LAYERS if isinstance(status.get(n), dict) and status[n]["active"]]
    return "+".join(active) if status.get("isolation") else "none (code tools refuse to run)"
