"""Snapshots (pytest-textual-snapshot) of the chat's main screen, the approval modal and the help screen.

Deterministic by construction: no model is loaded (``autoload=False``), the terminal size is fixed, the status
bar's fields are set explicitly, and the conversation is a fixed sequence of real agent events posted through the
same message path the agent worker uses.  Update with ``pytest tests/test_tui_snapshots.py --snapshot-update``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import Future

from umi_edge.agent.events import FinalAnswer, Observation, PlanDecided, Timing, TokenDelta, ToolCall
from umi_edge.tui.app import ChatApp
from umi_edge.tui.backend import ChatOptions
from umi_edge.tui.messages import AgentEvent, ApprovalNeeded, BackendReady, TurnEnded, TurnStarted
from umi_edge.tui.screens import ApprovalScreen, HelpScreen

SIZE = (100, 36)

EVENTS = [
    TokenDelta("planner", 1, "I should compute 17.5% of 2340 with the calculator."),
    PlanDecided(1, "call", "I should compute 17.5% of 2340 with the calculator.", "…\n Next: caller."),
    Timing(1, "planner", 412, 412, 0, 18, 0.5, 0.2, 430, 2048),
    ToolCall(1, "calculator", {"expression": "2340 * 17.5 / 100"}, "Action: calculator\nAction Input: {...}"),
    Timing(1, "caller", 520, 108, 412, 14, 0.1, 0.15, 534, 2048),
    Observation(1, "calculator", '{"result": 409.5}'),
    PlanDecided(2, "finish", "The calculator says 409.5.", "The calculator says 409.5.\n Next: conclusion."),
    TokenDelta("summarizer", 2, "17.5% of 2340 is **409.5**."),
    FinalAnswer(2, "17.5% of 2340 is **409.5**."),
    Timing(2, "summarizer", 300, 40, 260, 12, 0.05, 0.12, 312, 2048),
]


async def _until(pilot, condition: Callable[[], bool], timeout: float = 30.0) -> None:  # noqa: ANN001
    """Wait for ``condition`` (a state the app reached, not a guessed delay)."""
    start = time.monotonic()
    while not condition():
        assert time.monotonic() - start < timeout, "timed out"
        await pilot.pause(0.05)


def _app() -> ChatApp:
    return ChatApp(ChatOptions(bundle=None), autoload=False)


async def _fixed_status(app: ChatApp) -> None:
    screen = app.chat_screen
    screen.post_message(BackendReady("tiny · merged · Q4_1"))
    screen.status.sandbox = "landlock+seccomp"
    screen.prompt.cursor_blink = False  # a blinking cursor would make the snapshot depend on timing


async def _conversation(pilot) -> None:  # noqa: ANN001
    app: ChatApp = pilot.app
    await _fixed_status(app)
    screen = app.chat_screen
    screen.post_message(TurnStarted(1, "What is 17.5% of 2340?"))
    for event in EVENTS:
        screen.post_message(AgentEvent(event, 1))
    screen.post_message(TurnEnded(1, "finished", 1.2))
    await _until(pilot, lambda: screen.last_ended_turn == 1)  # the screen handles its messages in order
    await pilot.pause()


def test_main_screen(snap_compare) -> None:  # noqa: ANN001
    assert snap_compare(_app(), terminal_size=SIZE, run_before=_conversation)


def test_approval_modal(snap_compare) -> None:  # noqa: ANN001
    async def ask(pilot) -> None:  # noqa: ANN001
        app: ChatApp = pilot.app
        await _fixed_status(app)
        call = ToolCall(1, "write_file", {"path": "notes/todo.txt", "content": "buy milk\ncall Alice"}, "")
        app.post_message(ApprovalNeeded(call, "write", Future()))
        await _until(pilot, lambda: isinstance(app.screen, ApprovalScreen) and app.screen.is_mounted)
        await pilot.pause()

    assert snap_compare(_app(), terminal_size=SIZE, run_before=ask)


def test_help_screen(snap_compare) -> None:  # noqa: ANN001
    async def show_help(pilot) -> None:  # noqa: ANN001
        await _fixed_status(pilot.app)
        await pilot.press("f1")
        await _until(pilot, lambda: isinstance(pilot.app.screen, HelpScreen) and pilot.app.screen.is_mounted)
        await pilot.pause()

    assert snap_compare(_app(), terminal_size=SIZE, run_before=show_help)
