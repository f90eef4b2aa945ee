"""Running untrusted code: a launcher process restricted by Landlock, seccomp, a network namespace, dropped
capabilities and rlimits, with a wall-clock timeout, capped output and a scrubbed environment.

Public API: :func:`run_function`, :func:`run_command`, :class:`Limits`, :class:`SandboxResult`,
:class:`SandboxRefused`, :func:`sandbox_status`, :func:`status_summary`.
"""

from umi_edge.sandbox.limits import Limits
from umi_edge.sandbox.runner import SandboxRefused, SandboxResult, plan_layers, run_command, run_function
from umi_edge.sandbox.status import sandbox_status, status_summary

__all__ = [
    "Limits",
    "SandboxRefused",
    "SandboxResult",
    "plan_layers",
    "run_command",
    "run_function",
    "sandbox_status",
    "status_summary",
]
