"""The built-in tools, all offline: arithmetic, sandboxed Python, workspace files, SQLite, units and dates.

``BUILTINS`` and the tool names are imported on first use (the sandbox launcher imports single modules).
"""

from __future__ import annotations

import importlib
from typing import Any

_MODULES = {
    "calculator": "calculator",
    "python": "python_tool",
    "list_files": "files",
    "read_file": "files",
    "write_file": "files",
    "search_files": "files",
    "sqlite_query": "sqlite",
    "convert_units": "units",
    "date_calc": "dates",
}
NAMES = list(_MODULES)
__all__ = ["BUILTINS", "NAMES", *NAMES]


def __getattr__(name: str) -> Any:
    if name == "BUILTINS":
        return [__getattr__(n) for n in NAMES]
    if name in _MODULES:
        return getattr(importlib.import_module(f"umi_edge.tools.builtins.{_MODULES[name]}"), name)
    raise AttributeError(f"module 'umi_edge.tools.builtins' has no attribute {name!r}")
