"""One block per thing that happened in a turn: the user's query, each role's output, observations, notices.

Each role has its own badge and colour (see ``blocks.tcss``): you watch the Planner think, the Caller act, the
tools answer and the Summarizer conclude.
"""

from __future__ import annotations

import json
from typing import Any, ClassVar

from rich.syntax import Syntax
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Button, Collapsible, Label, Markdown, Static

from umi_edge.agent.events import Timing

PREVIEW_LINES = 8
"""Observation lines shown before the "show all" button."""
PREVIEW_CHARS = 800
"""Observation characters shown before the "show all" button (long single lines)."""


def pretty_observation(content: str) -> str:
    """JSON observations indented for reading (the model saw the compact text); anything else as it is
    (the very same object, so callers can tell)."""
    try:
        value = json.loads(content)
    except ValueError:
        return content
    if not isinstance(value, dict | list):
        return content
    return json.dumps(value, ensure_ascii=False, indent=2)


_NEXT = {"call": "→ caller", "finish": "→ conclusion", "give_up": "→ give up"}


def timing_text(t: Timing) -> str:
    """``42 tok · 85.1 tok/s · prompt 350 (310 reused)`` for a block's footer."""
    return (
        f"{t.generated_tokens} tok · {t.tokens_per_second:.1f} tok/s · "
        f"prompt {t.prompt_tokens} ({t.prompt_reused} reused) · ctx {t.context_used}/{t.context_size}"
    )


class Block(Vertical):
    """A badge line (role and step) above the block's body, and a dim footer for its timing."""

    ROLE: ClassVar[str] = ""
    BADGE: ClassVar[str] = ""

    def __init__(self, step: int | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.step = step
        self.add_class(f"-{self.ROLE}")
        self.badge = Label(classes="badge")
        self.timing = Label("", classes="timing")

    def badge_text(self) -> Text:
        text = Text(f" {self.BADGE} ", style="bold reverse")
        if self.step is not None:
            text.append(f" step {self.step}", style="dim")
        return text

    def compose(self) -> ComposeResult:
        self.badge.update(self.badge_text())
        yield self.badge
        yield from self.compose_body()
        yield self.timing

    def compose_body(self) -> ComposeResult:
        yield from ()

    def set_timing(self, timing: Timing) -> None:
        self.timing.update(timing_text(timing))
        self.timing.display = True


class UserBlock(Block):
    ROLE = "user"
    BADGE = "YOU"

    def __init__(self, text: str, **kwargs: Any) -> None:
        super().__init__(None, **kwargs)
        self.text = text

    def compose_body(self) -> ComposeResult:
        yield Static(Text(self.text), classes="body")


class StreamBlock(Block):
    """A block whose body is streamed token by token as plain text."""

    def __init__(self, step: int | None = None, text: str = "", **kwargs: Any) -> None:
        super().__init__(step, **kwargs)
        self.text = text
        self.body = Static(Text(text), classes="body")

    def compose_body(self) -> ComposeResult:
        yield self.body

    def append(self, delta: str) -> None:
        self.text += delta
        self.body.update(Text(self.text))


class PlannerBlock(StreamBlock):
    """The Planner's thought, streamed; when decided, the routing label is shown beside the badge."""

    ROLE = "planner"
    BADGE = "PLANNER"

    def __init__(self, step: int | None = None, text: str = "", *, backbone: bool = False, **kwargs: Any) -> None:
        super().__init__(step, text, **kwargs)
        self.backbone = backbone
        self.label: str | None = None

    def badge_text(self) -> Text:
        if self.backbone:
            text = Text(" BACKBONE ", style="bold reverse")
            if self.step is not None:
                text.append(f" step {self.step}", style="dim")
            return text
        return super().badge_text()

    def decide(self, label: str, thought: str) -> None:
        self.label = label
        badge = self.badge_text()
        badge.append(f"  {_NEXT.get(label, label)}", style="bold")
        self.badge.update(badge)
        self.add_class(f"-next-{label}")
        shown = thought.strip() or self.text.strip()
        self.body.update(Text(shown))

    def mark_stopped(self) -> None:
        """The turn was cancelled during (or right after) this generation: no routing decision holds."""
        if self.label is not None:
            self.remove_class(f"-next-{self.label}")
        self.label = None
        badge = self.badge_text()
        badge.append("  ■ stopped", style="bold")
        self.badge.update(badge)
        self.body.update(Text(self.text))


class CallerBlock(StreamBlock):
    """The Caller's raw output streams in; the parsed call replaces it: tool name and pretty arguments."""

    ROLE = "caller"
    BADGE = "CALLER"

    def __init__(self, step: int | None = None, text: str = "", **kwargs: Any) -> None:
        super().__init__(step, text, **kwargs)
        self.args = Static("", classes="args")
        self.args.display = False

    def compose_body(self) -> ComposeResult:
        yield self.body
        yield self.args

    def show_call(self, name: str, arguments: dict[str, Any], *, valid: bool, problem: str | None) -> None:
        if valid:
            self.body.update(Text.assemble(("Action: ", "dim"), (name, "bold")))
            args = json.dumps(arguments, ensure_ascii=False, indent=2)
            self.args.update(Syntax(args, "json", theme="ansi_dark", word_wrap=True))
            self.args.display = True
        else:
            self.add_class("-invalid")
            self.body.update(Text.assemble(("invalid call: ", "bold red"), (problem or "", "red"), "\n", self.text))


class ObservationBlock(Block):
    """A tool's output, collapsible; long output shows its first lines and a button to expand the rest."""

    ROLE = "observation"
    BADGE = "TOOL"

    def __init__(
        self,
        step: int | None,
        name: str,
        content: str,
        *,
        is_error: bool = False,
        denied: bool = False,
        truncated: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(step, **kwargs)
        self.tool_name = name
        self.content = content
        self.shown = pretty_observation(content)
        self.lines = self.shown.splitlines() or [""]
        self.expanded = len(self.lines) <= PREVIEW_LINES and len(self.shown) <= PREVIEW_CHARS
        if is_error:
            self.add_class("-error")
        if denied:
            self.add_class("-denied")
        self.denied = denied
        self.truncated = truncated

    def badge_text(self) -> Text:
        text = Text(f" {self.BADGE} ", style="bold reverse")
        text.append(f" {self.tool_name}", style="bold")
        if self.step is not None:
            text.append(f"  step {self.step}", style="dim")
        if self.denied:
            text.append("  denied", style="bold")
        if self.truncated:
            text.append("  (truncated for the planner)", style="dim")
        return text

    @property
    def visible_text(self) -> str:
        """What the body shows now: everything, or the preview."""
        return self.shown if self.expanded else "\n".join(self.lines[:PREVIEW_LINES])[:PREVIEW_CHARS] + " …"

    def _visible(self) -> Text | Syntax:
        if self.shown is not self.content:  # pretty-printed JSON
            return Syntax(self.visible_text, "json", theme="ansi_dark", word_wrap=True)
        return Text(self.visible_text)

    def compose_body(self) -> ComposeResult:
        kind = "denied" if self.denied else ("error" if self.has_class("-error") else "result")
        title = f"{kind} · {len(self.lines)} line{'s' if len(self.lines) != 1 else ''}"
        with Collapsible(title=title, collapsed=False, classes="fold"):
            yield Static(self._visible(), classes="body")
            if not self.expanded:
                yield Button(
                    f"show all ({len(self.lines)} lines, {len(self.shown)} chars)", classes="expand", compact=True
                )

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if "expand" in event.button.classes:
            event.stop()
            self.show_all()

    def show_all(self) -> None:
        self.expanded = True
        self.query_one(".body", Static).update(self._visible())
        for button in self.query(".expand"):
            button.remove()


class AnswerBlock(Block):
    """The Summarizer's answer as Markdown, streamed."""

    ROLE = "summarizer"
    BADGE = "SUMMARIZER"

    def __init__(self, step: int | None = None, text: str = "", **kwargs: Any) -> None:
        super().__init__(step, **kwargs)
        self.text = text
        self._stream: Any = None

    def compose_body(self) -> ComposeResult:
        yield Markdown(self.text, classes="body")

    async def append(self, delta: str) -> None:
        self.text += delta
        if self._stream is None:
            self._stream = Markdown.get_stream(self.query_one(Markdown))
        await self._stream.write(delta)

    async def finish(self, text: str) -> None:
        if self._stream is not None:
            await self._stream.stop()
            self._stream = None
        if text != self.text:
            self.text = text
            await self.query_one(Markdown).update(text)


class NoticeBlock(Static):
    """A line from the app itself: gave up, errors, cancellation, history shortened, slash command output."""

    def __init__(self, text: str | Text, kind: str = "info", **kwargs: Any) -> None:
        super().__init__(text if isinstance(text, Text) else Text(text), **kwargs)
        self.kind = kind
        self.add_class(f"-{kind}")
