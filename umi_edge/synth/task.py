"""A synthetic task: the user's query, its fixture workspace, the tools offered, and a solution script.

A family builds a :class:`Task`; its ``solve`` is a generator that yields :class:`Call` steps, receives each
call's real :class:`~umi_edge.tools.ToolResult` back, and returns a :class:`Finish` or :class:`GiveUp`. The runner
executes the calls with the real tools, so every later argument and the final answer come from actual tool output.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Generator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from umi_edge.tools import ToolResult


@dataclass(frozen=True)
class Call:
    """A planner thought and the tool call the caller makes for it."""

    thought: str
    tool: str
    args: dict[str, Any]
    expect_error: bool = False
    """True for a deliberate mistake the next step recovers from (the tool must then report an error)."""


@dataclass(frozen=True)
class Finish:
    """The planner's closing thought and the summarizer's answer; ``answer`` is the checkable value."""

    thought: str
    conclusion: str
    answer: str | float | list[str]
    match: str = "contains"


@dataclass(frozen=True)
class GiveUp:
    """The planner's give-up thought (no summarizer turn follows)."""

    thought: str


Outcome = Finish | GiveUp
Script = Generator[Call, ToolResult, Outcome]


@dataclass
class Task:
    """One synthetic task; ``key`` identifies the (template, values) instance across splits."""

    family: str
    template: str
    key: tuple[Any, ...]
    query: str
    tools: list[str]
    solve: Callable[[], Script]
    files: dict[str, str] = field(default_factory=dict)
    sqlite: dict[str, list[str]] = field(default_factory=dict)
    expected: str | float | None = None
    """The answer computed in Python by the generator, checked against what the tools produced (None: no check)."""
    alternative: Callable[[], Script] | None = None
    """A second valid solution with a different action sequence; the generator emits both trajectories."""


def materialize(workspace: Path, files: dict[str, str], sqlite: dict[str, list[str]]) -> None:
    """Create a task's fixture in ``workspace``: text files, and sqlite databases built from SQL statements."""
    for rel, text in files.items():
        path = workspace / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    for rel, statements in sqlite.items():
        path = workspace / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        con = sqlite3.connect(path)
        try:
            for stmt in statements:
                con.execute(stmt)
            con.commit()
        finally:
            con.close()
