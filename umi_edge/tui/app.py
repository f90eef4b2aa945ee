"""The chat App: bindings, command palette, slash commands, and the worker threads that load and run the agent.

Threads: the bundle loads in one worker and each turn runs in another (``thread=True``); they never touch a
widget and talk to the screen only by posting the typed messages of :mod:`umi_edge.tui.messages`.  An approval
asked from the agent thread is a :class:`~concurrent.futures.Future` answered by the modal on the UI thread.
"""

from __future__ import annotations

import io
import threading
import time
from collections.abc import Iterable
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, field
from typing import Any

from rich.table import Table
from rich.text import Text
from textual import work
from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.screen import Screen
from textual.worker import Worker

from umi_edge.agent.events import Event, FinalAnswer, RunFinished, ToolCall
from umi_edge.agent.timings import Timings
from umi_edge.tui import slash
from umi_edge.tui.backend import Backend, ChatOptions
from umi_edge.tui.messages import (
    AgentEvent,
    ApprovalNeeded,
    BackendFailed,
    BackendReady,
    Decision,
    SandboxProbed,
    TurnEnded,
    TurnStarted,
    TurnStatus,
)
from umi_edge.tui.screens import ApprovalScreen, ChatScreen, HelpScreen, SessionsScreen

QUIT_WINDOW = 2.0
"""Seconds within which a second Ctrl+C quits."""
CANCEL_GRACE = 1.5
"""Seconds Esc waits for the agent to stop before the UI ends the turn by itself (a tool call may be running)."""


class ChatApp(App[int]):
    """``umi-edge chat``. ``options`` say which bundle, tools, workspace and approval policy to use."""

    TITLE = "umi-edge chat"
    CSS_PATH = ["app.tcss", "widgets/blocks.tcss"]
    ENABLE_COMMAND_PALETTE = True
    BINDINGS = [
        Binding("escape", "cancel_turn", "Stop turn"),
        Binding("f1", "help", "Help"),
        Binding("ctrl+c", "ctrl_c", "Quit (twice)", priority=True, show=False),
    ]

    def __init__(
        self,
        options: ChatOptions | None = None,
        *,
        backend: Backend | None = None,
        autoload: bool = True,
        **kwargs: Any,
    ) -> None:
        """``autoload=False`` leaves the model unloaded until :meth:`load_backend` is called."""
        super().__init__(**kwargs)
        self.autoload = autoload
        self.options = options or ChatOptions()
        self.backend = backend or Backend(self.options)
        self.input_history: list[str] = []
        self.turn = 0
        self.turn_worker: Worker[None] | None = None
        self.ended_turn = 0
        self.tool_running = False
        self.cancel_grace = CANCEL_GRACE
        self._end_lock = threading.Lock()
        self.turn_thread_busy = threading.Event()
        self.pending_approval: Future[Decision] | None = None
        self.cancel_requested = threading.Event()
        self.always_allowed: set[str] = set()
        self.stats = SessionStats()
        self._last_ctrl_c = 0.0
        self.chat_screen = ChatScreen(self.submit, self.input_history)

    # -- start ------------------------------------------------------------------------------------------------
    def on_mount(self) -> None:
        self.push_screen(self.chat_screen)
        if self.autoload:
            self.load_backend()

    @work(thread=True, group="load", exit_on_error=False)
    def load_backend(self) -> None:
        """Load bundle, tools and agent off the UI thread, resume a session when asked, then probe the sandbox.

        A session can be resumed (shown, and continued once a model loads) even when the bundle fails to load.
        """
        try:
            summary = self.backend.load()
        except Exception as exc:  # noqa: BLE001 - every failure is shown, the app stays usable
            self.chat_screen.post_message(BackendFailed(self.backend.explain_failure(exc)))
        else:
            self.chat_screen.post_message(BackendReady(summary))
        if self.options.resume is not None:
            self.call_from_thread(self.resume_session, self.options.resume)
        try:
            sandbox = self.backend.sandbox_summary()
        except Exception as exc:  # noqa: BLE001
            sandbox = f"unknown ({type(exc).__name__})"
        self.chat_screen.post_message(SandboxProbed(sandbox))

    # -- input ------------------------------------------------------------------------------------------------
    def submit(self, text: str) -> None:
        """A line from the prompt: a slash command, or a query for the agent."""
        if text.startswith("/"):
            cmd, name, rest = slash.parse(text)
            if cmd is None:
                self.output(f"Unknown command /{name}. /help lists the commands.", "error")
                return
            self.run_slash(cmd, rest)
            return
        self.start_turn(text)

    def run_slash(self, cmd: slash.SlashCommand, rest: str = "") -> None:
        method = getattr(self, f"action_{cmd.action}")
        if cmd.usage:
            method(rest)
        else:
            method()

    def output(self, text: str | Text | Table, kind: str = "output") -> None:
        """Show something the app itself says (slash command output, refusals) in the conversation."""
        if isinstance(text, Table):
            from rich.console import Console

            console = Console(width=max(40, self.size.width - 8), record=True, file=io.StringIO())
            console.print(text)
            text = Text.from_ansi(console.export_text(styles=True).rstrip())
        self.chat_screen.conversation.add_notice(text, kind)

    # -- turns ------------------------------------------------------------------------------------------------
    @property
    def turn_running(self) -> bool:
        """A turn is in progress as far as the user is concerned (not yet ended in the UI)."""
        return self.turn_thread_busy.is_set() and self.ended_turn != self.turn

    def start_turn(self, query: str) -> None:
        if self.turn_running:
            self.output("A turn is running: wait for it, or press Esc to stop it.", "error")
            return
        if self.turn_thread_busy.is_set():
            self.output(
                "The stopped turn is still finishing (a tool call is running; it ends at the tool's time limit). "
                "Send again in a moment.",
                "error",
            )
            return
        if not self.backend.ready:
            self.output(self.backend.not_ready_reason(), "error")
            return
        self.turn += 1
        self.cancel_requested.clear()
        self.turn_thread_busy.set()
        self.chat_screen.post_message(TurnStarted(self.turn, query))
        self.turn_worker = self.run_turn(query, self.turn)

    @work(thread=True, group="turn", exit_on_error=False)
    def run_turn(self, query: str, turn: int) -> None:
        """Run one agent turn; every event goes to the chat screen as an :class:`AgentEvent`."""
        screen = self.chat_screen
        start = time.monotonic()
        status: TurnStatus = "error"
        detail = ""
        self.turn_thread_busy.set()
        try:
            for event in self.backend.run(query, approve=self._approve_in_worker):
                self.stats.add(event)
                if isinstance(event, RunFinished):
                    status = event.status
                if self.ended_turn == turn:
                    continue  # the UI already closed this turn (Esc during a long tool call): drop the rest
                self.tool_running = isinstance(event, ToolCall) and event.valid
                screen.post_message(AgentEvent(event, turn))
        except Exception as exc:  # noqa: BLE001 - a failing turn is shown, the app stays usable
            status, detail = "error", f"{type(exc).__name__}: {exc}"
        finally:
            self.turn_thread_busy.clear()
        if self._end_turn(turn):
            screen.post_message(TurnEnded(turn, status, time.monotonic() - start, detail))

    def _end_turn(self, turn: int) -> bool:
        """Mark ``turn`` ended; True for the one caller (worker or Esc timer) that gets to announce it."""
        with self._end_lock:
            if self.ended_turn == turn:
                return False
            self.ended_turn = turn
            return True

    def _approve_in_worker(self, call: ToolCall) -> bool:
        """The agent's ``approve`` hook (agent thread): apply the policy, else ask the modal and wait."""
        effect = call.effect or self.backend.effect_of(call.name)
        if not self.backend.needs_approval(effect) or call.name in self.always_allowed:
            return True
        if self.cancel_requested.is_set():
            return False
        reply: Future[Decision] = Future()
        self.post_message(ApprovalNeeded(call, effect, reply))
        while True:
            try:
                decision = reply.result(timeout=0.1)
                break
            except FutureTimeout:
                if self.cancel_requested.is_set():
                    return False
        if decision == "always":
            self.always_allowed.add(call.name)
        return decision in ("once", "always")

    def on_approval_needed(self, message: ApprovalNeeded) -> None:
        if self.cancel_requested.is_set():
            message.reply.set_result("deny")
            return
        self.pending_approval = message.reply

        def answered(decision: Decision | None) -> None:
            self.pending_approval = None
            if not message.reply.done():
                message.reply.set_result(decision or "deny")

        self.push_screen(ApprovalScreen(message.call.name, message.call.arguments, message.effect), answered)

    def action_cancel_turn(self) -> None:
        """Esc: stop the running turn between tokens; what is done stays on screen and in the transcript."""
        if not self.turn_running:
            return
        self.cancel_requested.set()
        self.backend.cancel()
        if self.pending_approval is not None and not self.pending_approval.done():
            self.pending_approval.set_result("deny")
            if isinstance(self.screen, ApprovalScreen):
                self.screen.dismiss("deny")
        self.chat_screen.status.state = "stopping…"
        turn = self.turn
        self.set_timer(self.cancel_grace, lambda: self._force_end(turn))

    def _force_end(self, turn: int) -> None:
        """The agent did not stop within the grace time (a tool call runs, or a long prompt is being read, which
        llama.cpp cannot interrupt): end the turn in the UI now; the agent thread's later events are dropped."""
        if self.turn != turn or not self.turn_thread_busy.is_set() or not self._end_turn(turn):
            return
        if self.tool_running:
            why = "a tool call is still running; it is abandoned at its time limit and its result discarded"
        else:
            why = "the model is still reading its prompt; it stops at the first token and its output is discarded"
        self.chat_screen.post_message(TurnEnded(turn, "cancelled", 0.0, why))

    def action_ctrl_c(self) -> None:
        now = time.monotonic()
        if now - self._last_ctrl_c <= QUIT_WINDOW:
            self.action_cancel_turn()
            self.exit(0)
            return
        self._last_ctrl_c = now
        self.notify("Press Ctrl+C again to quit.", timeout=QUIT_WINDOW)

    # -- slash commands and palette ----------------------------------------------------------------------------
    def get_system_commands(self, screen: Screen[Any]) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        yield SystemCommand("Stop turn", "Stop the running turn (Esc)", self.action_cancel_turn)
        for cmd in slash.COMMANDS:
            if cmd.name in ("quit", "help"):
                continue
            yield SystemCommand(f"/{cmd.name}", cmd.summary, lambda c=cmd: self.run_slash(c))
        yield SystemCommand("/help", "Keys and slash commands", self.action_help)

    def action_help(self) -> None:
        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen())

    def _busy(self) -> bool:
        """Refuse session changes while a turn (or an abandoned tool call) is still running; say why."""
        if self.turn_running:
            self.output("Stop the running turn first (Esc).", "error")
            return True
        if self.turn_thread_busy.is_set():
            self.output("The stopped turn is still finishing (a tool call is running); try again in a moment.", "error")
            return True
        return False

    def action_clear(self) -> None:
        if self._busy():
            return
        self.chat_screen.conversation.clear()
        self.chat_screen.status.reset_context()
        self.backend.new_session()
        self.stats = SessionStats()
        self.output("Cleared; a new session starts.", "info")

    def action_tools(self) -> None:
        table = Table(title="Tools", box=None, title_justify="left", padding=(0, 2))
        table.add_column("tool", style="bold")
        table.add_column("effect")
        table.add_column("asks first")
        table.add_column("description")
        for name, effect, description in self.backend.tools_info():
            asks = "no" if not self.backend.needs_approval(effect) or name in self.always_allowed else "yes"
            table.add_row(name, effect, asks, description)
        self.output(table)

    def action_model(self) -> None:
        self.output(_kv_table("Model", self.backend.model_info()))

    def action_sandbox(self) -> None:
        self.show_sandbox()

    @work(thread=True, group="sandbox", exit_on_error=False)
    def show_sandbox(self) -> None:
        """The sandbox probe may take a moment: run it off the UI thread, then show the table."""
        rows = self.backend.sandbox_info()
        self.call_from_thread(self.output, _kv_table("Sandbox", rows))

    def action_stats(self) -> None:
        self.output(_kv_table("Session stats", self.stats.rows()))

    def action_save(self, target: str = "") -> None:
        try:
            path = self.backend.save(target)
        except Exception as exc:  # noqa: BLE001
            self.output(f"Could not save: {exc}", "error")
            return
        self.output(f"Session saved: {path}", "info")

    def action_sessions(self, rest: str = "") -> None:
        if rest:
            self.resume_session(rest)
            return
        try:
            sessions = self.backend.list_sessions()
        except Exception as exc:  # noqa: BLE001
            self.output(f"Could not list sessions: {exc}", "error")
            return

        def chosen(session_id: str | None) -> None:
            if session_id:
                self.resume_session(session_id)

        self.push_screen(SessionsScreen(sessions), chosen)

    def resume_session(self, session_id: str) -> None:
        """Reopen a transcript: show its turns, and continue it with the next query."""
        if self._busy():
            return
        try:
            sid, turns = self.backend.resume(session_id)
        except Exception as exc:  # noqa: BLE001
            self.output(f"Could not resume {session_id!r}: {exc}", "error")
            return
        conv = self.chat_screen.conversation
        conv.clear()
        self.stats = SessionStats()
        self.output(f"Resumed session {sid}.", "info")
        for query, events in turns:
            conv.add_user(query)
            self.call_later(conv.apply_all, list(events))

    def action_quit(self) -> None:  # type: ignore[override]  # Textual's is async; /quit calls this one directly
        self.action_cancel_turn()
        self.exit(0)

    async def on_unmount(self) -> None:
        self.cancel_requested.set()
        self.backend.cancel()


@dataclass
class SessionStats:
    """What /stats shows: the session's generations (summed from Timing events), tool calls and answers."""

    timings: Timings = field(default_factory=Timings)
    tool_calls: int = 0
    answers: int = 0

    def add(self, event: Event) -> None:
        self.timings.add(event)
        if isinstance(event, ToolCall):
            self.tool_calls += 1
        elif isinstance(event, FinalAnswer):
            self.answers += 1

    def rows(self) -> list[tuple[str, str]]:
        t = self.timings.total
        reuse = 100.0 * t.prompt_reused / t.prompt_tokens if t.prompt_tokens else 0.0
        roles = ", ".join(f"{r} {n.generated_tokens}" for r, n in self.timings.roles.items()) or "-"
        return [
            ("generations", str(t.calls)),
            ("generated tokens", f"{t.generated_tokens} ({roles})"),
            ("decode speed", f"{t.tokens_per_second:.1f} tok/s"),
            (
                "prompt tokens",
                f"{t.prompt_tokens}: {t.prompt_evaluated} evaluated, {t.prompt_reused} reused ({reuse:.0f}%)",
            ),
            ("time", f"prompt {t.prompt_seconds:.2f}s, generation {t.generate_seconds:.2f}s"),
            ("tool calls", str(self.tool_calls)),
            ("answers", str(self.answers)),
        ]


def _kv_table(title: str, rows: Iterable[tuple[str, str]]) -> Table:
    table = Table(title=title, box=None, show_header=False, title_justify="left", padding=(0, 2))
    table.add_column(style="bold")
    table.add_column()
    for key, value in rows:
        table.add_row(key, value)
    return table
