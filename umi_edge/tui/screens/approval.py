"""The approval modal: before a write/exec tool runs, show it and ask allow once / always allow / deny."""

from __future__ import annotations

import json
from typing import Any

from rich.syntax import Syntax
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Label, Static

from umi_edge.tui.messages import Decision


class ApprovalScreen(ModalScreen[Decision]):
    """Dismisses with ``"once"``, ``"always"`` or ``"deny"`` (Esc denies)."""

    CSS_PATH = "approval.tcss"
    BINDINGS = [
        Binding("y", "decide('once')", "Allow once"),
        Binding("a", "decide('always')", "Always allow this tool"),
        Binding("n,escape", "decide('deny')", "Deny"),
    ]

    def __init__(self, name: str, arguments: dict[str, Any], effect: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.tool_name = name
        self.arguments = arguments
        self.effect = effect

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Label(
                Text.assemble(("Allow this tool call?  ", "bold"), (self.tool_name, "bold"), f"  ({self.effect})"),
                id="question",
            )
            args = json.dumps(self.arguments, ensure_ascii=False, indent=2)
            with VerticalScroll(id="arguments"):
                yield Static(Syntax(args, "json", theme="ansi_dark", word_wrap=True))
            with Horizontal(id="buttons"):
                yield Button("Allow once (y)", id="once", variant="success")
                yield Button("Always allow this tool (a)", id="always", variant="primary")
                yield Button("Deny (n)", id="deny", variant="error")

    def on_mount(self) -> None:
        self.query_one("#once", Button).focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.action_decide(event.button.id or "deny")

    def action_decide(self, decision: str) -> None:
        chosen: Decision = "once" if decision == "once" else "always" if decision == "always" else "deny"
        self.dismiss(chosen)
