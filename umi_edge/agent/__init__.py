"""The α-UMi agent loop: planner → caller → tool → observation → … → summarizer (or give up).

``Agent(engine, registry, ...).run(query)`` yields the typed events of :mod:`umi_edge.agent.events`.
"""

from umi_edge.agent.agent import Agent
from umi_edge.agent.approval import APPROVE_POLICIES, Approver, needs_approval
from umi_edge.agent.config import AgentConfig
from umi_edge.agent.transcript import Transcript, TranscriptRecorder, list_sessions, sessions_dir

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
