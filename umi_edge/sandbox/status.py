"""Which sandbox layers work on this machine, found by really applying them in a probe process."""

from __future__ import annotations

import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from umi_edge.sandbox.layers import GUARDS, ISOLATION, REPORTED, SWITCHABLE, Layer
from umi_edge.sandbox.limits import Limits
from umi_edge.sandbox.spawn import run_launcher

_LOCK = threading.Lock()
_CACHE: SandboxStatus | None = None

DESCRIPTIONS: dict[Layer, str] = {
    Layer.LANDLOCK: "filesystem: writes only in the workspace + private tmp, reads only workspace, interpreter, "
    "system dirs; TCP bind/connect denied (ABI>=4); signals scoped (ABI>=6)",
    Layer.SECCOMP: "system calls: no network sockets (AF_UNIX only), no ptrace, io_uring, mount, namespaces, "
    "process creation, raising limits",
    Layer.NETNS: "network namespace without interfaces (no network even if seccomp is off)",
    Layer.CAPABILITIES: "all Linux capabilities dropped",
    Layer.RLIMITS: "CPU seconds, address space, file size, open files",
    Layer.TIMEOUT: "wall-clock timeout kills the whole process group; output capped",
    Layer.ENVIRONMENT: "scrubbed environment: no parent variables (secrets) reach the code",
}


@dataclass(frozen=True)
class LayerStatus:
    """One layer on this machine: whether it works, what the probe found, what it guards."""

    name: Layer
    active: bool
    detail: str
    description: str

    def to_dict(self) -> dict[str, Any]:
        return {"active": self.active, "detail": self.detail, "description": self.description}


@dataclass(frozen=True)
class SandboxStatus:
    """Every layer's :class:`LayerStatus` (in :data:`~umi_edge.sandbox.layers.REPORTED` order when probed)."""

    layers: tuple[LayerStatus, ...]

    def __getitem__(self, name: str) -> LayerStatus:
        for layer in self.layers:
            if layer.name == name:
                return layer
        raise KeyError(name)

    @property
    def isolation(self) -> bool:
        """Whether an isolation layer (Landlock or seccomp) works, so code tools may run."""
        return any(layer.active for layer in self.layers if layer.name in ISOLATION)

    @property
    def active(self) -> tuple[Layer, ...]:
        """The names of the layers that work, in order."""
        return tuple(layer.name for layer in self.layers if layer.active)

    def detail(self, name: str) -> str:
        """What the probe found for ``name`` (``unknown`` when it is not reported)."""
        return next((layer.detail for layer in self.layers if layer.name == name), "unknown")

    def summary(self) -> str:
        """One line for a status bar: the active layers but the guards joined with ``+`` (``none`` when no
        isolation works)."""
        if not self.isolation:
            return "none (code tools refuse to run)"
        return "+".join(name for name in self.active if name not in GUARDS)

    def to_dict(self) -> dict[str, Any]:
        """``{layer: {"active", "detail", "description"}, ..., "isolation": bool}`` (``tools doctor --json``)."""
        out: dict[str, Any] = {str(layer.name): layer.to_dict() for layer in self.layers}
        out["isolation"] = self.isolation
        return out


def sandbox_status(*, refresh: bool = False) -> SandboxStatus:
    """What works on this machine.

    The probe starts the launcher once with every layer on "try" and reports what it could apply; the answer
    is cached for the process (``refresh=True`` probes again).
    """
    global _CACHE
    with _LOCK:
        if _CACHE is None or refresh:
            _CACHE = probe()
        return _CACHE


def probe() -> SandboxStatus:
    """Apply every layer in a launcher process (nothing runs after them) and report which ones took."""
    with tempfile.TemporaryDirectory(prefix="umi-probe-") as ws:
        try:
            res = run_launcher(
                {"kind": "probe"},
                Path(ws).resolve(),
                timeout=30.0,
                limits=Limits(),
                layers=dict.fromkeys(SWITCHABLE, "try"),
            )
            report, failure = res.layers, res.problem() or (res.stderr.strip()[-500:] if res.returncode else None)
        except Exception as exc:  # the launcher could not start at all
            report, failure = {}, f"{type(exc).__name__}: {exc}"
    layers = []
    for name in REPORTED:
        if name in GUARDS:
            layers.append(LayerStatus(name, True, "always", DESCRIPTIONS[name]))
            continue
        info = report.get(name) or {"active": False, "detail": failure or "not reported by the launcher"}
        layers.append(LayerStatus(name, bool(info.get("active")), _short(info.get("detail")), DESCRIPTIONS[name]))
    return SandboxStatus(tuple(layers))


def _short(detail: Any) -> str:
    if isinstance(detail, dict):
        return ", ".join(f"{k}={v}" for k, v in detail.items() if k != "skipped" or v)
    return str(detail)


def status_summary(status: SandboxStatus | None = None) -> str:
    """:meth:`SandboxStatus.summary` of ``status`` (by default of this machine's)."""
    return (status if status is not None else sandbox_status()).summary()
