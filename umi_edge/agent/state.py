"""What every step of one run shares: the engine, the tools, the settings, the conversation so far."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from umi_edge.agent.approval import Approver
from umi_edge.agent.config import AgentConfig
from umi_edge.agent.earlier import prompt_turns
from umi_edge.engine import Engine
from umi_edge.formats.parse import Call, CallParseError, Plan, parse_call
from umi_edge.formats.prompts import Style
from umi_edge.formats.tooldoc import render_doc, tool_names
from umi_edge.tools.registry import Tool, ToolRegistry


@dataclass
class RunState:
    engine: Engine
    registry: ToolRegistry
    config: AgentConfig
    workspace: Path
    cancel: threading.Event
    approve: Approver | None = None
    turns: list[dict[str, str]] = field(default_factory=list)
    earlier: int = 0
    """How many leading ``turns`` belong to earlier questions of the session."""
    grammar_warned: bool = False
    last_call_failed: bool = False
    """The latest observation was an error (:mod:`umi_edge.agent.parallel_values` owes no value after it)."""
    pending: str | None = None
    """A call the runtime wrote for the caller's next turn (:mod:`umi_edge.agent.parallel_values`)."""
    overruled: Plan | None = None
    """The planner's conclusion the finish checks turned into this step's call (:mod:`~umi_edge.agent.unfinished`)."""
    asked_tools: set[str] = field(default_factory=set)
    """Tools the finish checks already asked for in this question (:mod:`umi_edge.agent.unfinished`)."""
    tools_fit: bool = False
    """The relevance gate let this run call (:mod:`umi_edge.agent.relevance`): it is not judged again."""
    caller_model: str = "caller"
    """The engine role that writes calls: ``checker`` while the call check writes its own (:mod:`~.call_check`)."""

    def prompt_turns(self, role: str) -> list[dict[str, str]]:
        """The turns ``role``'s prompt shows (earlier questions per ``config.history``, see ``earlier``)."""
        return prompt_turns(self.turns, self.earlier, self.config.history, role)

    @property
    def style(self) -> Style:
        return self.engine.prompt_style

    @property
    def docs(self) -> list[dict[str, Any]]:
        return self.registry.alpha_umi_docs()

    @property
    def doc_text(self) -> str:
        return render_doc(self.docs)

    @property
    def names_text(self) -> str:
        return tool_names(self.docs)

    def engine_role(self, role: str) -> str:
        """The engine role that generates for ``role``: a multi-role bundle run as a single LLM (``--single``)
        prompts its planner's model as the backbone, as ``eval static --single`` does; the call check's second caller
        writes for ``caller`` while it checks a call (``caller_model``)."""
        if role == "backbone" and "backbone" not in self.engine.roles:
            return "planner"
        return self.caller_model if role == "caller" else role

    @property
    def request(self) -> str:
        """The current question: the first user turn after the earlier questions ("" before it is added)."""
        return next((t["value"] for t in self.turns[self.earlier :] if t["from"] == "user"), "")

    @property
    def observed(self) -> bool:
        """Whether the current question has had an observation (its first call is made)."""
        return any(t["from"] == "observation" for t in self.turns[self.earlier :])

    def written_call(self, text: str) -> tuple[Call, Tool] | None:
        """The call the caller wrote in ``text`` and its registered tool, or None when it does not parse or names
        no tool (the steps that adjust a call before it is checked then leave ``text`` alone)."""
        try:
            call = parse_call(text.strip())
        except CallParseError:
            return None
        tool = self.registry.get(call.name)
        return None if tool is None else (call, tool)

    def add_turn(self, role: str, value: str) -> None:
        self.turns.append({"from": role, "value": value})
