"""The status bar: bundle and quantization, tokens/s of the last generation, context per role, sandbox status."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.reactive import reactive
from textual.widgets import Static

from umi_edge.agent.events import Timing

_ROLE_SHORT = {"planner": "P", "caller": "C", "summarizer": "S", "backbone": "B", "checker": "K"}


def short_sandbox(summary: str) -> str:
    """``landlock+seccomp+netns+capabilities+rlimits`` → ``5 layers`` (the bar is one line; /sandbox has it all)."""
    if summary.startswith("none"):
        return "none"
    layers = summary.split("+")
    return summary if len(summary) <= 20 or len(layers) < 2 else f"{len(layers)} layers"


class StatusBar(Static):
    """One line at the bottom; the app sets its fields, it renders them."""

    bundle: reactive[str] = reactive("loading…")
    state: reactive[str] = reactive("")
    sandbox: reactive[str] = reactive("")
    tokens_per_second: reactive[float | None] = reactive(None)

    def __init__(self, **kwargs: Any) -> None:
        super().__init__("", **kwargs)
        self.context: dict[str, tuple[int, int]] = {}

    def record(self, timing: Timing) -> None:
        """Take the figures of one finished generation."""
        self.context[timing.role] = (timing.context_used, timing.context_size)
        if timing.generated_tokens:
            self.tokens_per_second = timing.tokens_per_second
        self.refresh()

    def reset_context(self) -> None:
        self.context.clear()
        self.tokens_per_second = None
        self.refresh()

    def render(self) -> Text:
        text = Text(no_wrap=True, overflow="ellipsis")
        text.append(f" {self.bundle} ", style="bold")
        if self.tokens_per_second is not None:
            text.append(f"│ {self.tokens_per_second:.1f} tok/s ")
        if self.context:
            parts = [f"{_ROLE_SHORT.get(r, r)} {used}/{size}" for r, (used, size) in self.context.items()]
            text.append("│ ctx " + " ".join(parts) + " ")
        if self.state:
            text.append(f"│ {self.state} ", style="italic")
        if self.sandbox:
            text.append(f"│ sandbox: {short_sandbox(self.sandbox)}")
        return text
