"""The prompt: an Input whose up/down keys recall earlier inputs (shell-style history)."""

from __future__ import annotations

from typing import Any

from textual.binding import Binding
from textual.widgets import Input


class PromptInput(Input):
    """Enter sends; up/down walk through what was sent before, keeping an unsent draft."""

    BINDINGS = [
        Binding("up", "history(-1)", "Earlier input", show=False),
        Binding("down", "history(1)", "Later input", show=False),
    ]

    def __init__(self, history: list[str] | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.history: list[str] = list(history or [])
        self._pos = len(self.history)
        self._draft = ""

    def remember(self, text: str) -> None:
        """Add a sent input to the history (consecutive duplicates are kept once)."""
        if text and (not self.history or self.history[-1] != text):
            self.history.append(text)
        self._pos = len(self.history)
        self._draft = ""

    def action_history(self, direction: int) -> None:
        if not self.history:
            return
        if self._pos == len(self.history):
            self._draft = self.value
        pos = min(max(self._pos + direction, 0), len(self.history))
        if pos == self._pos:
            return
        self._pos = pos
        self.value = self._draft if pos == len(self.history) else self.history[pos]
        self.cursor_position = len(self.value)
