"""Tools the agent can call: the typed registry, the built-in tools, and loading user tools."""

from umi_edge.tools.registry import (
    Effect,
    Tool,
    ToolRegistry,
    builtin_registry,
    default_registry,
    load_tools_file,
    tool,
)
from umi_edge.tools.result import DEFAULT_MAX_CHARS, ToolError, ToolResult

__all__ = [
    "DEFAULT_MAX_CHARS",
    "Effect",
    "Tool",
    "ToolError",
    "ToolRegistry",
    "ToolResult",
    "builtin_registry",
    "default_registry",
    "load_tools_file",
    "tool",
]
