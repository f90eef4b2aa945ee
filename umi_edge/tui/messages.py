"""Typed messages between the agent worker thread and the widgets (the worker never touches a widget)."""

from __future__ import annotations

from concurrent.futures import Future
from typing import Literal

from textual.message import Message

from umi_edge.agent.events import Event, ToolCall

TurnStatus = Literal["finished", "gave_up", "max_steps", "cancelled", "error"]
Decision = Literal["once", "always", "deny"]


class AgentEvent(Message):
    """One event of the running turn, as :meth:`Agent.run` yielded it."""

    def __init__(self, event: Event, turn: int) -> None:
        super().__init__()
        self.event = event
        self.turn = turn


class TurnStarted(Message):
    def __init__(self, turn: int, query: str) -> None:
        super().__init__()
        self.turn = turn
        self.query = query


class TurnEnded(Message):
    """The turn is over; ``status`` says how, ``seconds`` is its wall time."""

    def __init__(self, turn: int, status: TurnStatus, seconds: float, detail: str = "") -> None:
        super().__init__()
        self.turn = turn
        self.status = status
        self.seconds = seconds
        self.detail = detail


class ApprovalNeeded(Message):
    """The agent wants to run a write/exec tool; the answer goes into ``reply`` (set from the UI thread)."""

    def __init__(self, call: ToolCall, effect: str, reply: Future[Decision]) -> None:
        super().__init__()
        self.call = call
        self.effect = effect
        self.reply = reply


class BackendReady(Message):
    """The bundle loaded; ``summary`` is the one-line description for the status bar."""

    def __init__(self, summary: str) -> None:
        super().__init__()
        self.summary = summary


class BackendFailed(Message):
    """No bundle, or it failed to load: the app stays usable and shows ``reason``."""

    def __init__(self, reason: str) -> None:
        super().__init__()
        self.reason = reason


class SandboxProbed(Message):
    """The sandbox probe finished; ``summary`` lists the active layers."""

    def __init__(self, summary: str) -> None:
        super().__init__()
        self.summary = summary
