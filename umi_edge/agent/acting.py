"""Acting on a call: validate it, ask for approval when its effect needs it, run it, and observe the result.

A call that cannot be parsed, names an unknown tool, has invalid arguments, or is denied still produces an
observation (``{"error": ...}``) that says what was wrong and lists the valid tools, so the planner can recover.
"""

from __future__ import annotations

import json
import re
from typing import Any

from umi_edge.agent.approval import decide
from umi_edge.agent.events import Observation, ToolCall
from umi_edge.agent.grounding import made_up_values
from umi_edge.agent.state import RunState
from umi_edge.formats.parse import CallParseError, parse_call

_ACTION_NAME = re.compile(r"^[ \t]*Action[ \t]*:[ \t]*(\S[^\n]*?)[ \t]*$", re.MULTILINE)


def _error(message: str) -> str:
    return json.dumps({"error": message}, ensure_ascii=False)


def parse_and_check(state: RunState, step: int, raw: str) -> ToolCall:
    """The second line of defence after the grammar: parse the caller text and validate it against the registry."""
    try:
        call = parse_call(raw)
    except CallParseError as exc:
        valid = ", ".join(state.registry.names()) or "(none)"
        m = _ACTION_NAME.search(raw)
        name = m.group(1) if m else ""
        tool = state.registry.get(name)
        effect = tool.effect if tool is not None else None
        return ToolCall(step, name, {}, raw, valid=False, problem=f"{exc}. Valid tools: {valid}.", effect=effect)
    tool = state.registry.get(call.name)
    problem = state.registry.validate(call.name, call.arguments)
    effect = tool.effect if tool is not None else None
    made_up: list[str] = []
    if tool is not None and problem is None and state.config.grounded_calls:
        doc = {"description": tool.description, "parameters": tool.parameters}
        made_up = made_up_values(call.arguments, state.turns, doc)
    return ToolCall(
        step, call.name, call.arguments, raw, valid=problem is None, problem=problem, effect=effect, ungrounded=made_up
    )


def act(state: RunState, call: ToolCall) -> Observation:
    """Run ``call`` if it is valid and allowed; return the Observation to record."""
    step = call.step
    if not call.valid:
        return Observation(step, call.name, _error(call.problem or "invalid call"), is_error=True)
    if not decide(call, call.effect or "exec", state.config.approve_policy, state.approve):
        msg = f"The user denied the call to '{call.name}' ({call.effect} tool); do something else or conclude."
        return Observation(step, call.name, _error(msg), is_error=True, denied=True)
    result: Any = state.registry.call(
        call.name,
        call.arguments,
        workspace=state.workspace,
        timeout=state.config.tool_timeout,
        max_chars=state.config.observation_chars,
    )
    return Observation(step, call.name, result.content, is_error=result.is_error, truncated=result.truncated)
