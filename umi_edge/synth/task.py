"""A synthetic task's recipe: the user's query, its fixture workspace, the tools offered, and a solution script.

A family builds a :class:`Recipe`; its ``solve`` is a generator that yields :class:`Call` steps, receives each
call's real :class:`~umi_edge.tools.ToolResult` back, and returns a :class:`Finish` or :class:`GiveUp`. The runner
executes the calls with the real tools, so every later argument and the final answer come from actual tool output;
the executed recipe is exported as an executable :class:`umi_edge.formats.taskfile.Task`.
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from dataclasses import dataclass, field
from typing import Any

from umi_edge.formats.taskfile import Match
from umi_edge.tools import ToolResult
from umi_edge.tools.registry import Tool


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
    match: Match = "contains"


@dataclass(frozen=True)
class GiveUp:
    """The planner's give-up thought (no summarizer turn follows)."""

    thought: str


Outcome = Finish | GiveUp
Script = Generator[Call, ToolResult, Outcome]


@dataclass
class Recipe:
    """One synthetic task and its solution; ``key`` identifies the (template, values) instance across splits."""

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
    extra_tools: list[Tool] = field(default_factory=list)
    """Tools the task brings itself (not built-ins; the ``formula`` family): offered and run like the others, but
    not exported to ``--tasks-out``, whose tasks name registered tools only."""
