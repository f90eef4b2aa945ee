"""Help: the keys and the slash commands (the same table the prompt and the command palette use)."""

from __future__ import annotations

from rich.table import Table
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from umi_edge.tui import slash

KEYS = (
    ("Enter", "send the query"),
    ("Esc", "stop the running turn (what is done is kept)"),
    ("Up / Down", "recall earlier inputs"),
    ("Ctrl+P", "command palette: every action"),
    ("Ctrl+C twice", "quit (Ctrl+Q also quits)"),
)


def help_table() -> Table:
    table = Table(box=None, show_header=False, padding=(0, 2), expand=False)
    table.add_column(style="bold")
    table.add_column()
    for key, what in KEYS:
        table.add_row(key, what)
    table.add_row("", "")
    for cmd in slash.COMMANDS:
        table.add_row(f"/{cmd.name}" + (f" {cmd.usage}" if cmd.usage else ""), cmd.summary)
    return table


class HelpScreen(ModalScreen[None]):
    CSS_PATH = "help.tcss"
    BINDINGS = [Binding("escape,q,f1", "app.pop_screen", "Close")]

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="help"):
            yield Static(
                "[b]umi-edge chat[/b]: the Planner thinks, the Caller acts, tools answer, the Summarizer concludes.\n",
                id="intro",
            )
            yield Static(help_table())
            yield Static("\n[dim]Esc closes this help.[/dim]")
