"""The main screen: the conversation, the prompt, the status bar.

It receives the worker's typed messages (:mod:`umi_edge.tui.messages`) and updates its widgets; user input goes
to the ``submit`` callable the app passes in (the app owns the agent worker).
"""

from __future__ import annotations

from collections.abc import Callable

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.screen import Screen
from textual.widgets import Footer, Input

from umi_edge.agent.events import Timing
from umi_edge.tui.messages import AgentEvent, BackendFailed, BackendReady, SandboxProbed, TurnEnded, TurnStarted
from umi_edge.tui.widgets import Conversation, PromptInput, StatusBar

WELCOME = (
    "Ask something the tools can answer. The [b]Planner[/b] decides each step, the [b]Caller[/b] calls a tool, "
    "the tool answers, the [b]Summarizer[/b] concludes.  [dim]/help for commands · Esc stops a turn · "
    "Ctrl+P palette[/dim]"
)

_ENDED = {
    "finished": ("done", "done"),
    "gave_up": ("gave up", "gave-up"),
    "max_steps": ("stopped: max steps reached", "gave-up"),
    "cancelled": ("cancelled", "cancelled"),
    "error": ("failed", "error"),
}


class ChatScreen(Screen[None]):
    """``submit`` receives each non-empty input line; ``history`` is the list the prompt recalls with Up/Down.

    The screen knows nothing of its app beyond these two (so the app module and this one do not import each other).
    """

    CSS_PATH = "chat.tcss"
    AUTO_FOCUS = "#prompt"

    def __init__(self, submit: Callable[[str], None], history: list[str]) -> None:
        super().__init__()
        self._submit = submit
        self._history = history
        self.last_ended_turn = 0
        """The last turn whose end this screen has shown; the worker posts its end last, so by then every event
        of that turn is shown too."""

    def compose(self) -> ComposeResult:
        yield Conversation(id="conversation")
        yield PromptInput(history=self._history, placeholder="Ask the agent…  (/help for commands)", id="prompt")
        yield StatusBar(id="status")
        yield Footer()

    def on_mount(self) -> None:
        self.conversation.add_notice(Text.from_markup(WELCOME), "welcome")
        self.status.sandbox = "probing…"

    def on_sandbox_probed(self, message: SandboxProbed) -> None:
        self.status.sandbox = message.summary

    @property
    def conversation(self) -> Conversation:
        return self.query_one(Conversation)

    @property
    def status(self) -> StatusBar:
        return self.query_one(StatusBar)

    @property
    def prompt(self) -> PromptInput:
        return self.query_one(PromptInput)

    @on(Input.Submitted, "#prompt")
    def _submitted(self, event: Input.Submitted) -> None:
        text = event.value.strip()
        if not text:
            return
        self.prompt.remember(text)
        self.prompt.value = ""
        self._submit(text)

    async def on_agent_event(self, message: AgentEvent) -> None:
        await self.conversation.apply(message.event)
        if isinstance(message.event, Timing):
            self.status.record(message.event)

    def on_turn_started(self, message: TurnStarted) -> None:
        self.conversation.add_user(message.query)
        self.status.state = "thinking… (Esc stops)"

    def on_turn_ended(self, message: TurnEnded) -> None:
        text, kind = _ENDED.get(message.status, (message.status, "info"))
        if message.detail:
            self.conversation.add_notice(f"Turn {text}: {message.detail}", kind)
        self.status.state = f"{text} in {message.seconds:.1f}s" if message.seconds else text
        self.last_ended_turn = message.turn

    def on_backend_ready(self, message: BackendReady) -> None:
        self.status.bundle = message.summary
        self.status.state = "ready"

    def on_backend_failed(self, message: BackendFailed) -> None:
        self.status.bundle = "no model"
        self.status.state = "commands still work"
        self.conversation.add_notice(message.reason, "error")
