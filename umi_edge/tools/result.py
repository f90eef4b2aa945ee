"""A tool call's result as the agent sees it: JSON text, an error flag, and whether it was cut to the limit.

Truncation keeps the text valid JSON: long strings are shortened (with a ``…[+N chars]`` mark) and long lists
lose their tail (with a ``"…[+N items]"`` entry) until the whole fits ``max_chars``.  Hand-written: no library
shrinks a JSON value to a character budget while keeping it valid.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any

DEFAULT_MAX_CHARS = 2000


class ToolError(Exception):
    """A problem a tool reports to the model (bad path, unknown unit...): becomes ``{"error": message}``."""


@dataclass(frozen=True)
class ToolResult:
    """One call's observation. ``content`` is JSON text; errors are ``{"error": "..."}``."""

    content: str
    is_error: bool
    truncated: bool
    seconds: float

    @property
    def value(self) -> Any:
        """The content parsed back from JSON."""
        return json.loads(self.content)


def dumps(obj: Any) -> str:
    """Compact JSON text (non-ASCII kept; values JSON cannot hold are written with ``str``)."""
    return json.dumps(obj, ensure_ascii=False, default=_default, separators=(", ", ": "))


def _default(obj: Any) -> Any:
    if isinstance(obj, set | frozenset | tuple):
        return list(obj)
    if isinstance(obj, bytes):
        return obj.decode("utf-8", "replace")
    return str(obj)


def normalise(value: Any) -> Any:
    """A JSON-compatible copy of a tool's return value (objects stay objects; anything else is wrapped)."""
    value = json.loads(dumps(value))
    if isinstance(value, float) and not math.isfinite(value):
        value = str(value)
    return value if isinstance(value, dict) else {"result": value}


def fit_json(value: Any, max_chars: int) -> tuple[str, bool]:
    """``(json_text, truncated)`` with ``len(json_text) <= max_chars`` (for any ``max_chars >= 64``)."""
    text = dumps(value)
    if len(text) <= max_chars:
        return text, False
    for _ in range(60):
        value = _shrink(value, len(text) - max_chars)
        text = dumps(value)
        if len(text) <= max_chars:
            return text, True
    # Pathological shapes (thousands of tiny keys): fall back to a cut string that is still valid JSON.
    cut = text[: max(0, max_chars - 40)]
    text = dumps({"truncated_json": cut})
    while len(text) > max_chars and cut:
        cut = cut[: max(0, len(cut) - (len(text) - max_chars))]
        text = dumps({"truncated_json": cut})
    return text, True


def _marker(value: Any) -> int | None:
    if isinstance(value, str) and value.startswith("…[+") and value.endswith(" items]"):
        return int(value[3:-7])
    return None


def _shrink(value: Any, over: int) -> Any:
    """Remove about ``over`` characters from the largest parts of ``value``."""
    if isinstance(value, str):
        keep = max(0, len(value) - over - 16)
        return value[:keep] + f"…[+{len(value) - keep} chars]"
    if isinstance(value, list):
        extra = _marker(value[-1]) if value else None
        items = value[:-1] if extra is not None else value
        extra = extra or 0
        if len(items) > 1:
            drop, removed = 0, 0
            while removed < over and drop < len(items) - 1:
                drop += 1
                removed += len(dumps(items[-drop])) + 2
            return [*items[: len(items) - drop], f"…[+{drop + extra} items]"]
        if items:
            return [_shrink(items[0], over), *([f"…[+{extra} items]"] if extra else [])]
        return value
    if isinstance(value, dict) and value:
        key = max(value, key=lambda k: len(dumps(value[k])))
        return {**value, key: _shrink(value[key], over)}
    return value
