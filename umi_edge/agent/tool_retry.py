"""The tool retry: a call holding made-up values, written again for the tool the prior ranks next.

Among several offered tools a small caller often takes the wrong one, and then has to invent its arguments ("add a
Postgres server with nickname PG1" → a ``get_weather`` call whose ``city`` no source holds). The grounded-calls check
(:func:`~umi_edge.agent.grounding.made_up_values`) stops such a call and the run gives up. With ``tool_retry`` on
(``--no-tool-retry`` turns it off), before it gives up the caller writes the call once more for the tool the tool prior
(:mod:`umi_edge.agent.tool_prior`) ranks best among the others, through the same steps as the first call. That call
is made only when it is valid and holds no made-up value; otherwise the first call stands and is stopped. With one
offered tool, or the tool prior off, nothing changes. Enforced at run time, not trained; kept by measurement on BFCL
live data, never a test set (models/README.md). No library does this (it is a rule about our own caller), so it is
written here.
"""

from __future__ import annotations

from collections.abc import Callable, Generator

from umi_edge.agent.acting import parse_and_check
from umi_edge.agent.events import Event, ToolCall, ToolRetried
from umi_edge.agent.state import RunState
from umi_edge.agent.tool_prior import choose_tool
from umi_edge.engine import Generation
from umi_edge.tools.registry import Tool

Write = Callable[[Tool | None], Generator[Event, None, tuple[Generation, str]]]
"""How the caller writes its call for a tool (the grammar of that tool, then the argument steps)."""


def retry_other_tool(
    state: RunState, step: int, prompt: str, thought: str, first: ToolCall, write: Write
) -> Generator[Event, None, tuple[ToolCall, Generation] | None]:
    """The checked call for the next-ranked tool when ``first`` holds made-up values and that call holds none;
    else None (``first`` stands). Yields the second attempt's events and :class:`ToolRetried`."""
    if not state.config.tool_retry or not first.ungrounded or not first.name:
        return None
    other = yield from choose_tool(state, step, prompt, thought, exclude=frozenset({first.name}))
    if other is None:
        return None
    gen, text = yield from write(other)
    tc = parse_and_check(state, step, text.strip())
    if not tc.valid or tc.ungrounded:
        return None
    yield ToolRetried(step, tc.name, first.name, first.ungrounded)
    return tc, gen
