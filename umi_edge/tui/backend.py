"""What the chat needs from the runtime: the bundle's engine, the tool registry, the agent and its transcripts.

Everything here may block (model loading, generation, tool calls) and is called from worker threads; the App
calls only the cheap accessors (``*_info``, ``needs_approval``) on the UI thread.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from umi_edge import bundle as bundle_mod
from umi_edge.agent.events import Event, ToolCall
from umi_edge.errors import UserError

if TYPE_CHECKING:
    from umi_edge.agent.agent import Agent
    from umi_edge.agent.config import AgentConfig
    from umi_edge.agent.transcript import TranscriptRecorder
    from umi_edge.engine.engine import Engine
    from umi_edge.engine.options import EngineOptions
    from umi_edge.tools.registry import ToolRegistry


def _engine_options() -> EngineOptions:
    from umi_edge.engine.options import EngineOptions

    return EngineOptions()


def _agent_config() -> AgentConfig:
    from umi_edge.agent.config import AgentConfig

    return AgentConfig()


@dataclass
class ChatOptions:
    """``umi-edge chat`` options: the bundle, the tools, the sessions, and the runtime's own option objects
    (``engine``: how the bundle loads; ``agent``: how a turn runs, ``approve_policy`` included)."""

    bundle: Path | None = None
    workspace: Path = field(default_factory=Path.cwd)
    tools_files: list[Path] = field(default_factory=list)
    only_tools: list[str] = field(default_factory=list)
    """Offer only these tools to the model (a smaller prompt); empty = all."""
    mcp: list[str] = field(default_factory=list)
    """``--mcp`` command lines: stdio MCP servers whose tools join the registry."""
    mcp_network: bool = False
    allow_unsandboxed: bool = False
    """Let code tools run with only rlimits and the timeout when no isolation layer works."""
    resume: str | None = None
    sessions_dir: Path | None = None
    single: bool = False
    """Run as a single LLM (``--single``)."""
    engine: EngineOptions = field(default_factory=_engine_options)
    agent: AgentConfig = field(default_factory=_agent_config)


class Backend:
    """Bundle, tools and agent behind the chat. :meth:`load` must succeed before :meth:`run`."""

    def __init__(self, options: ChatOptions) -> None:
        self.options = options
        self.engine: Engine | None = None
        self.agent: Agent | None = None
        self.manifest: bundle_mod.Manifest | None = None
        self.bundle_dir: Path | None = None
        self.failure: str | None = None
        self.loading = False
        self.registry: ToolRegistry | None = None
        self.recorder: TranscriptRecorder | None = None
        self.history: list[dict[str, str]] = []
        self._registry_error: str | None = None
        self._lock = threading.Lock()
        self._load_registry()

    # -- loading ----------------------------------------------------------------------------------------------
    def _load_registry(self) -> None:
        """Built-in tools, ``--tools`` files and ``--mcp`` servers' tools; a failure is remembered and explained,
        never raised here."""
        try:
            from umi_edge.tools.loading import full_registry

            self.registry = full_registry(
                self.options.tools_files,
                only=self.options.only_tools,
                mcp=self.options.mcp,
                mcp_network=self.options.mcp_network,
                workspace=self.options.workspace,
                allow_unsandboxed=self.options.allow_unsandboxed,
            )
        except Exception as exc:  # noqa: BLE001 - shown in the conversation; the app stays usable
            self._registry_error = f"the tools could not be loaded: {str(exc).replace(chr(10), ' ')}"
            self.registry = None

    @property
    def ready(self) -> bool:
        return self.agent is not None

    @property
    def bundle_path(self) -> Path:
        """The bundle to load as given (``--bundle``, ``$UMI_EDGE_BUNDLE`` or the default; not yet checked)."""
        return Path(self.options.bundle) if self.options.bundle else bundle_mod.default_bundle_dir()

    def load(self) -> str:
        """Load the bundle and build the agent (slow: call from a worker). Returns the status-bar summary."""
        self.loading = True
        try:
            if self._registry_error:
                raise UserError(self._registry_error)
            path = bundle_mod.resolve_bundle(self.options.bundle)
            manifest, bundle_dir = bundle_mod.load(path)
            self.manifest, self.bundle_dir = manifest, bundle_dir
            from umi_edge.engine.engine import Engine

            self.engine = Engine.from_bundle(path, self.options.engine)
            self.agent = self._make_agent()
            return self.summary()
        except BaseException as exc:
            self.failure = self.explain_failure(exc)
            raise
        finally:
            self.loading = False

    def _make_agent(self) -> Agent:
        from umi_edge.agent.agent import Agent

        assert self.engine is not None and self.registry is not None
        return Agent(
            self.engine,
            self.registry,
            workspace=self.options.workspace,
            config=self.options.agent,
            single=True if self.options.single else None,
        )

    def explain_failure(self, exc: BaseException) -> str:
        """What went wrong and what to do, in words for the conversation view."""
        path = self.bundle_path
        text = str(exc).replace("\n", " ")
        if isinstance(exc, UserError) and ("no bundle manifest" in text or "no bundle given" in text):
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
    def run(self, query: str, *, approve: Callable[[ToolCall], bool]) -> Iterator[Event]:
        """Run one turn (blocking; from a worker thread), continuing the session's conversation.

        The first turn of a session opens its transcript file; the agent appends to it as it goes.
        """
        with self._lock:
            agent = self.agent
            assert agent is not None, "run() before load() succeeded"
            agent.approve = approve
            if self.recorder is None:
                from umi_edge.agent import TranscriptRecorder

                self.recorder = TranscriptRecorder.new(self.options.sessions_dir, meta=self._meta())
            agent.recorder = self.recorder
            try:
                yield from agent.run(query, history=self.history)
            finally:
                self.history = [dict(t) for t in agent.conversation]

    def cancel(self) -> None:
        """Stop the running turn at the next token (thread-safe)."""
        if self.agent is not None:
            self.agent.cancel()

    def _meta(self) -> dict[str, Any]:
        return {
            "ui": "chat",
            "bundle": str(self.bundle_dir or self.bundle_path),
            "workspace": str(self.options.workspace),
        }

    # -- approvals --------------------------------------------------------------------------------------------
    def effect_of(self, name: str) -> str:
        t = self.registry.get(name) if self.registry is not None else None
        return t.effect if t is not None else "exec"

    def needs_approval(self, effect: str) -> bool:
        from umi_edge.agent.approval import needs_approval

        return needs_approval(effect, self.options.agent.approve_policy)

    # -- information for slash commands ------------------------------------------------------------------------
    def tools_info(self) -> list[tuple[str, str, str]]:
        out: list[tuple[str, str, str]] = []
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
        """One row per sandbox layer: on/off, what it found, what it guards (runs a probe once; slow)."""
        try:
            from umi_edge.sandbox import sandbox_status
        except ImportError as exc:
            return [("sandbox", f"unavailable ({exc})")]
        status = sandbox_status()
        rows = []
        for layer in status.layers:
            state = "on " if layer.active else "off"
            rows.append((str(layer.name), f"{state}  {layer.detail}  ({layer.description})"))
        isolated = status.isolation
        rows.append(("code tools", "run isolated" if isolated else "refuse to run (no isolation layer works)"))
        return rows

    def sandbox_summary(self) -> str:
        """Active layers joined with ``+`` for the status bar (runs a probe once; slow)."""
        try:
            from umi_edge.sandbox.status import status_summary
        except ImportError:
            return "unavailable"
        return status_summary()

    # -- sessions ---------------------------------------------------------------------------------------------
    @property
    def session_path(self) -> Path | None:
        return self.recorder.path if self.recorder is not None else None

    def new_session(self) -> None:
        """Forget the conversation; the next query opens a new transcript."""
        if self.recorder is not None:
            self.recorder.close()
        self.recorder = None
        self.history = []

    def save(self, target: str = "") -> Path:
        """The session is written as it goes; with ``target``, also write it as one JSON document there."""
        from umi_edge.agent import Transcript

        if self.recorder is None:
            raise UserError("nothing to save yet: the session starts with the first query")
        if not target:
            return self.recorder.path
        out = Path(target).expanduser()
        if not out.is_absolute():
            out = self.options.workspace / out
        return Transcript.load(self.recorder.path).save(out)

    def list_sessions(self, limit: int = 50) -> list[tuple[str, str]]:
        """(id, description) of saved sessions, newest first."""
        from umi_edge.agent import Transcript, list_sessions

        out = []
        for path in list_sessions(self.options.sessions_dir)[:limit]:
            try:
                t = Transcript.load(path)
            except UserError:
                continue
            first = t.queries[0] if t.queries else "(no query)"
            more = f" (+{len(t.queries) - 1} more)" if len(t.queries) > 1 else ""
            status = t.status or "unfinished"
            out.append((path.stem, f"{path.stem}  {first[:60]}{more}  [{status}]"))
        return out

    def resume(self, session_id: str) -> tuple[str, list[tuple[str, list[Event]]]]:
        """Reopen a transcript: its conversation continues with the next query, appended to the same file.

        Returns the session id and, per earlier query, the events it produced (to show them again).
        """
        from umi_edge.agent import Transcript, TranscriptRecorder
        from umi_edge.agent.events import RunFinished
        from umi_edge.agent.transcript import find_session

        path = find_session(session_id, self.options.sessions_dir)
        t = Transcript.load(path)
        runs: list[tuple[str, list[Event]]] = []
        current: list[Event] = []
        for event in t.typed_events():
            current.append(event)
            if isinstance(event, RunFinished):
                runs.append((t.queries[len(runs)] if len(runs) < len(t.queries) else "", current))
                current = []
        if current or len(runs) < len(t.queries):
            runs.append((t.queries[len(runs)] if len(runs) < len(t.queries) else "", current))
        with self._lock:
            if self.recorder is not None:
                self.recorder.close()
            self.history = [dict(turn) for turn in t.conversation]
            self.recorder = TranscriptRecorder(path) if path.suffix == ".jsonl" else None
        return t.id, runs


def _ref_name(ref: bundle_mod.FileRef) -> str:
    if ref.path:
        return Path(ref.path).name
    return f"{ref.package}:{ref.file}"
