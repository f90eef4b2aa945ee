"""One α-UMi step of a client-driven conversation: the planner decides; the caller's call goes back to the client
(``tool_calls``) or the summarizer answers (``stop``).

The roles run exactly as in the agent loop (:mod:`umi_edge.agent.planner`, ``caller``, ``summarizer``) on a
:class:`~umi_edge.agent.state.RunState` built from the mapped request; the client runs the tools. ``tool_choice``:
``none`` goes straight to the summarizer, ``required`` or a named function makes the caller answer even when the
planner would conclude (a named function: the caller's grammar offers only that one). After ``max_steps`` planner
turns in the current question the summarizer answers.
"""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Callable, Generator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from umi_edge.agent import caller, planner, summarizer
from umi_edge.agent.config import AgentConfig
from umi_edge.agent.events import Event, Timing, TokenDelta
from umi_edge.agent.state import RunState
from umi_edge.engine import Engine
from umi_edge.formats.parse import parse_plan, render_plan
from umi_edge.tools.registry import ToolRegistry

GIVE_UP_ANSWER = "I cannot help with this request: {reason}"
"""What a give-up answers (the α-UMi planner's reason filled in)."""


@dataclass
class StepResult:
    """``finish_reason`` ``tool_calls`` (``calls`` set) or ``stop``; ``content`` the thought or the answer."""

    finish_reason: str
    content: str
    calls: list[dict[str, Any]] = field(default_factory=list)
    prompt_tokens: int = 0
    completion_tokens: int = 0
    label: str = ""


def _drive(gen: Generator[Event, None, Any], on_token: Callable[[str, str], None], result: StepResult) -> Any:
    """Run a role generator, passing its token deltas on and counting tokens; returns its value."""
    while True:
        try:
            ev = next(gen)
        except StopIteration as done:
            return done.value
        if isinstance(ev, TokenDelta):
            on_token(ev.role, ev.text)
        elif isinstance(ev, Timing):
            result.prompt_tokens += ev.prompt_tokens
            result.completion_tokens += ev.generated_tokens


def run_step(
    engine: Engine,
    tools: ToolRegistry,
    turns: list[dict[str, str]],
    earlier: int,
    config: AgentConfig,
    *,
    tool_choice: str | None = None,
    cancel: threading.Event | None = None,
    on_token: Callable[[str, str], None] = lambda role, text: None,
) -> StepResult:
    """The next step after ``turns`` (the last one a user or observation turn)."""
    state = RunState(engine, tools, config, Path("."), cancel or threading.Event(), turns=list(turns), earlier=earlier)
    result = StepResult("stop", "")
    step = sum(t["from"] == "assistant" for t in turns[earlier:]) + 1
    forced = tool_choice not in (None, "auto", "none")
    if tool_choice == "none" or step > config.max_steps:
        label, text = "finish", render_plan("", "finish")
    else:
        plan, _ = _drive(planner.plan(state, step), on_token, result)
        label, text = plan.label, plan.text
        if forced and label != "call":
            label, text = "call", render_plan(plan.thought, "call")
        if label == "give_up":
            result.label = label
            result.content = GIVE_UP_ANSWER.format(reason=plan.thought or "no tool fits it.")
            return result
    result.label = label
    if label == "finish":
        state.add_turn("assistant", text)
        gen = _drive(summarizer.summarize(state, step), on_token, result)
        result.content = gen.text.strip()
        return result
    if tool_choice not in (None, "auto", "none", "required"):
        state.registry = tools.subset([tool_choice])
    tc, _ = _drive(caller.call(state, step, text), on_token, result)
    result.finish_reason = "tool_calls"
    result.content = parse_plan(text).thought
    result.calls = [
        {
            "id": "call_" + uuid.uuid4().hex[:24],
            "type": "function",
            "function": {"name": tc.name, "arguments": json.dumps(tc.arguments, ensure_ascii=False)},
        }
    ]
    return result
