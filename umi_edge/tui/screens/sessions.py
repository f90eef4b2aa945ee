"""The session picker: saved transcripts, newest first; Enter resumes one."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Label, OptionList
from textual.widgets.option_list import Option


class SessionsScreen(ModalScreen[str | None]):
    """Dismisses with the chosen session id, or None (Esc)."""

    CSS_PATH = "sessions.tcss"
    BINDINGS = [Binding("escape", "dismiss_none", "Close")]

    def __init__(self, sessions: list[tuple[str, str]], **kwargs: Any) -> None:
        """``sessions``: (id, one-line description) pairs."""
        super().__init__(**kwargs)
        self.sessions = sessions

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Label("[b]Sessions[/b]  (Enter resumes, Esc closes)")
            if self.sessions:
                yield OptionList(*[Option(Text(desc), id=sid) for sid, desc in self.sessions], id="list")
            else:
                yield Label("No saved sessions yet.", id="empty")

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.dismiss(event.option.id)

    def action_dismiss_none(self) -> None:
        self.dismiss(None)
