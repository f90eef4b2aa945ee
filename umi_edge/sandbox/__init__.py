"""Running untrusted code: a launcher process restricted by Landlock, seccomp, a network namespace, dropped
capabilities and rlimits, with a wall-clock timeout, capped output and a scrubbed environment.

Public API: :func:`run_function`, :func:`run_command`, :class:`Limits`, :class:`SandboxResult`,
:class:`SandboxRefused`, :func:`sandbox_status` (a :class:`SandboxStatus` of :class:`LayerStatus` records),
:func:`status_summary`, and :class:`Layer`, the layers' names.
"""

from umi_edge.sandbox.layers import Layer
from umi_edge.sandbox.limits import Limits
from umi_edge.sandbox.runner import SandboxRefused, SandboxResult, plan_layers, run_command, run_function
from umi_edge.sandbox.status import LayerStatus, SandboxStatus, sandbox_status, status_summary

__all__ = [
    "Layer",
    "LayerStatus",
    "Limits",
    "SandboxRefused",
    "SandboxResult",
    "SandboxStatus",
    "plan_layers",
    "run_command",
    "run_function",
    "sandbox_status",
    "status_summary",
]
