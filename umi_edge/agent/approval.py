"""Which tool calls need the user's approval: by the tool's effect and the ``--approve`` policy."""

from __future__ import annotations

from collections.abc import Callable

from umi_edge.agent.events import ToolCall
from umi_edge.errors import UserError

APPROVE_POLICIES = ("all", "writes", "none")
"""``all``: every tool runs without asking; ``writes``: read and write tools do, exec tools ask;
``none``: only read tools run without asking."""

DEFAULT_POLICY = "none"
"""The default of ``AgentConfig.approve_policy`` and of every command's ``--approve``: write and exec tools ask."""

Approver = Callable[[ToolCall], bool]

_RUN_FREELY = {"all": {"read", "write", "exec"}, "writes": {"read", "write"}, "none": {"read"}}


def check_policy(policy: str) -> str:
    if policy not in APPROVE_POLICIES:
        raise UserError(f"--approve: expected one of {', '.join(APPROVE_POLICIES)}, got {policy!r}")
    return policy


def needs_approval(effect: str, policy: str) -> bool:
    """True when a tool with ``effect`` must be approved under ``policy``."""
    return effect not in _RUN_FREELY[check_policy(policy)]


def decide(call: ToolCall, effect: str, policy: str, approve: Approver | None) -> bool:
    """Whether ``call`` may run: freely, or by asking ``approve`` (no approver means denied)."""
    if not needs_approval(effect, policy):
        return True
    if approve is None:
        return False
    try:
        return bool(approve(call))
    except Exception:
        return False
