"""The α-UMi agent loop: planner → caller → tool → observation → … → summarizer (or give up).

``Agent(engine, registry, ...).run(query)`` yields the typed events of :mod:`umi_edge.agent.events`.
Names are imported on first use, so the command line can read the approval policies without loading llama.cpp.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from umi_edge.agent.agent import Agent
    from umi_edge.agent.approval import APPROVE_POLICIES, Approver, needs_approval
    from umi_edge.agent.config import AgentConfig
    from umi_edge.agent.transcript import Transcript, TranscriptRecorder, list_sessions, sessions_dir

_EXPORTS = {
    "Agent": "umi_edge.agent.agent",
    "APPROVE_POLICIES": "umi_edge.agent.approval",
    "Approver": "umi_edge.agent.approval",
    "needs_approval": "umi_edge.agent.approval",
    "AgentConfig": "umi_edge.agent.config",
    "Transcript": "umi_edge.agent.transcript",
    "TranscriptRecorder": "umi_edge.agent.transcript",
    "list_sessions": "umi_edge.agent.transcript",
    "sessions_dir": "umi_edge.agent.transcript",
}
__all__ = [
    "APPROVE_POLICIES",
    "Agent",
    "AgentConfig",
    "Approver",
    "Transcript",
    "TranscriptRecorder",
    "list_sessions",
    "needs_approval",
    "sessions_dir",
]


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'umi_edge.agent' has no attribute {name!r}")
