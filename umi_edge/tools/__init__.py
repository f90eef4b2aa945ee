"""Tools the agent can call: the typed registry, the built-in tools, and loading user tools.

Attributes are imported on first use, so the sandbox launcher can import a single tool module cheaply.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "Effect": "umi_edge.tools.registry",
    "Tool": "umi_edge.tools.registry",
    "ToolRegistry": "umi_edge.tools.registry",
    "builtin_registry": "umi_edge.tools.registry",
    "default_registry": "umi_edge.tools.loading",
    "load_tools_file": "umi_edge.tools.loading",
    "tool": "umi_edge.tools.registry",
    "DEFAULT_MAX_CHARS": "umi_edge.tools.result",
    "ToolError": "umi_edge.tools.result",
    "ToolResult": "umi_edge.tools.result",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'umi_edge.tools' has no attribute {name!r}")
