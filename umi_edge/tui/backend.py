"""What the chat needs from the runtime: the bundle's engine, the tool registry, the agent and its transcripts.

Everything here may block (model loading, generation, tool calls) and is called from worker threads; the App
calls only the cheap accessors (``*_info``, ``needs_approval``) on the UI thread.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from umi_edge import bundle as bundle_mod
from umi_edge.agent.events import Event, ToolCall
from umi_edge.errors import UserError

ApprovePolicy = Literal["all", "writes", "none"]
APPROVE_POLICIES: tuple[str, ...] = ("all", "writes", "none")


@dataclass
class ChatOptions:
    """``umi-edge chat`` options. ``approve``: which tool effects run without asking (reads never ask):
    ``all`` = every effect, ``writes`` = read and write (exec asks), ``none`` = write and exec both ask."""

    bundle: Path | None = None
    workspace: Path = field(default_factory=Path.cwd)
    tools_files: list[Path] = field(default_factory=list)
    approve: ApprovePolicy = "none"
    resume: str | None = None
    sessions_dir: Path | None = None
    engine: dict[str, Any] = field(default_factory=dict)
    """Keyword arguments of :class:`umi_edge.engine.EngineOptions` (threads, gpu_layers, context_length…)."""
    agent: dict[str, Any] = field(default_factory=dict)
    """Keyword arguments of the agent (max_steps, max_tokens…)."""


class Backend:
    """Bundle, tools and agent behind the chat. :meth:`load` must succeed before :meth:`run`."""

    def __init__(self, options: ChatOptions) -> None:
        self.options = options
        self.engine: Any = None
        self.agent: Any = None
        self.manifest: bundle_mod.Manifest | None = None
        self.bundle_dir: Path | None = None
        self.failure: str | None = None
        self.loading = False
        self.registry: Any = None
        self._registry_error: str | None = None
        self._lock = threading.Lock()
        self._load_registry()

    # -- loading ----------------------------------------------------------------------------------------------
    def _load_registry(self) -> None:
        """Built-in tools plus ``--tools`` files; a failure is remembered and explained, never raised here."""
        try:
            from umi_edge.tools import default_registry

            self.registry = default_registry([str(p) for p in self.options.tools_files])
        except Exception as exc:  # noqa: BLE001 - shown in the conversation; the app stays usable
            self._registry_error = f"the tools could not be loaded: {str(exc).replace(chr(10), ' ')}"
            self.registry = None

    @property
    def ready(self) -> bool:
        return self.agent is not None

    @property
    def bundle_path(self) -> Path:
        return Path(self.options.bundle) if self.options.bundle else bundle_mod.default_bundle_dir()

    def load(self) -> str:
        """Load the bundle and build the agent (slow: call from a worker). Returns the status-bar summary."""
        self.loading = True
        try:
            if self._registry_error:
                raise UserError(self._registry_error)
            path = self.bundle_path
            manifest, bundle_dir = bundle_mod.load(path)
            self.manifest, self.bundle_dir = manifest, bundle_dir
            from umi_edge.engine import Engine, EngineOptions

            self.engine = Engine.from_bundle(path, EngineOptions(**self.options.engine))
            self.agent = self._make_agent()
            return self.summary()
        except BaseException as exc:
            self.failure = self.explain_failure(exc)
            raise
        finally:
            self.loading = False

    def _make_agent(self) -> Any:
        from umi_edge.agent import Agent

        return Agent(self.engine, self.registry, workspace=self.options.workspace, **self.options.agent)

    def explain_failure(self, exc: BaseException) -> str:
        """What went wrong and what to do, in words for the conversation view."""
        path = self.bundle_path
        text = str(exc).replace("\n", " ")
        if isinstance(exc, UserError) and "no bundle manifest" in text:
            return (
                f"No model bundle at {path}. Pass --bundle DIR (a folder with umi.json made by `umi-edge convert`) "
                "or set UMI_EDGE_BUNDLE. Slash commands (/help, /tools, /sandbox, /sessions) still work."
            )
        if self._registry_error and text == self._registry_error:
            return f"No agent: {text}. Slash commands still work."
        if isinstance(exc, ImportError):
            return f"The runtime could not start ({text}). Is llama-cpp-python installed? Slash commands still work."
        return f"The bundle at {path} failed to load: {text}. Slash commands still work; fix it and restart."

    def not_ready_reason(self) -> str:
        if self.loading or (self.failure is None and self.agent is None):
            return "The model is still loading; send again in a moment."
        return self.failure or "No model loaded."

    def summary(self) -> str:
        if self.manifest is None:
            return "no model"
        name = self.bundle_dir.name if self.bundle_dir else "?"
        return f"{name} · {self.manifest.mode} · {self.manifest.quantization}"

    # -- turns ------------------------------------------------------------------------------------------------
    def run(self, query: str, *, approve: Callable[[ToolCall], bool], cancel: threading.Event) -> Iterator[Event]:
        """Run one turn of the agent (blocking; from a worker thread)."""
        with self._lock:
            yield from self.agent.run(query, approve=approve, cancel=cancel)

    def cancel(self) -> None:
        agent = self.agent
        if agent is not None and hasattr(agent, "cancel"):
            agent.cancel()

    # -- approvals --------------------------------------------------------------------------------------------
    def effect_of(self, name: str) -> str:
        t = self.registry.get(name) if self.registry is not None else None
        return t.effect if t is not None else "read"

    def needs_approval(self, effect: str) -> bool:
        policy = self.options.approve
        if effect == "read" or policy == "all":
            return False
        if policy == "writes":
            return effect == "exec"
        return True

    # -- information for slash commands ------------------------------------------------------------------------
    def tools_info(self) -> list[tuple[str, str, str]]:
        out = []
        for t in self.registry or []:
            first = (t.description or "").strip().splitlines()
            out.append((t.name, t.effect, first[0] if first else ""))
        return out

    def model_info(self) -> list[tuple[str, str]]:
        if self.manifest is None:
            return [("bundle", str(self.bundle_path)), ("status", self.not_ready_reason())]
        m = self.manifest
        rows = [
            ("bundle", str(self.bundle_dir)),
            ("mode", m.mode),
            ("quantization", m.quantization),
            ("prompt style", m.prompt_style),
        ]
        for role, spec in m.roles.items():
            parts = []
            if spec.model is not None:
                parts.append(f"model {_ref_name(spec.model)}")
            elif m.base is not None:
                parts.append(f"base {_ref_name(m.base)}")
            if spec.adapter is not None:
                parts.append(f"adapter {_ref_name(spec.adapter)} ×{spec.scale:g}")
            ctx = self._role_context(role)
            if ctx:
                parts.append(f"context {ctx}")
            rows.append((role, ", ".join(parts)))
        if self.engine is not None:
            opts = self.engine.options
            rows.append(("threads", str(opts.n_threads)))
            rows.append(("gpu layers", str(opts.gpu_layers)))
        return rows

    def _role_context(self, role: str) -> str:
        if self.engine is None or role not in getattr(self.engine, "roles", {}):
            return ""
        rc = self.engine.roles[role]
        n_ctx = getattr(rc, "n_ctx", None)
        return str(n_ctx) if n_ctx else ""

    def sandbox_info(self) -> list[tuple[str, str]]:
        try:
            from umi_edge.sandbox import sandbox_status
        except ImportError as exc:
            return [("sandbox", f"unavailable ({exc})")]
        return _status_rows(sandbox_status())

    def sandbox_summary(self) -> str:
        try:
            from umi_edge.sandbox import sandbox_status
        except ImportError:
            return "unavailable"
        return _status_summary(sandbox_status())

    # -- sessions ---------------------------------------------------------------------------------------------
    def new_session(self) -> None:
        if self.agent is not None and hasattr(self.agent, "reset"):
            self.agent.reset()

    def save(self) -> Path:
        raise UserError("saving sessions needs the agent's transcripts")

    def list_sessions(self) -> list[tuple[str, str]]:
        return []

    def resume(self, session_id: str) -> tuple[str, list[tuple[str, list[Event]]]]:
        raise UserError("resuming sessions needs the agent's transcripts")


def _ref_name(ref: bundle_mod.FileRef) -> str:
    if ref.path:
        return Path(ref.path).name
    return f"{ref.package}:{ref.file}"


def _status_rows(status: Any) -> list[tuple[str, str]]:
    if isinstance(status, dict):
        return [(str(k), _fmt(v)) for k, v in status.items()]
    if hasattr(status, "__dataclass_fields__"):
        from dataclasses import asdict

        return [(k, _fmt(v)) for k, v in asdict(status).items()]
    return [("sandbox", str(status))]


def _status_summary(status: Any) -> str:
    rows = _status_rows(status)
    active = [k for k, v in rows if v in ("yes", "active", "True", "ok")]
    return "+".join(active) if active else "none"


def _fmt(value: Any) -> str:
    if value is True:
        return "yes"
    if value is False:
        return "no"
    return str(value)
