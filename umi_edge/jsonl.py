"""Reading JSON Lines: line numbers, blank lines, a cut-off last line and the one-line error, in one place.

Task files, trajectories, per-role training files, transcripts and eval journals are JSONL; each reader gets its
records from :func:`records` and checks their fields itself. The standard library's ``json`` parses each line;
what it lacks is only this bookkeeping.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from umi_edge.errors import UserError


def records(text: str, source: str | Path, *, cut_off_last: bool = False) -> Iterator[tuple[int, Any]]:
    """``(line number, value)`` of every non-blank line of ``text``. Bad JSON raises UserError
    ``SOURCE:LINE:COLUMN: invalid JSON: ...``; with ``cut_off_last`` a bad last line (a writer killed in the middle
    of it) ends the records instead."""
    lines = text.splitlines()
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            value = json.loads(line)
        except json.JSONDecodeError as exc:
            if cut_off_last and n == len(lines):
                return
            what = (
                "more than one JSON value on the line (expected one per line)" if exc.msg == "Extra data" else exc.msg
            )
            raise UserError(f"{source}:{n}:{exc.colno}: invalid JSON: {what}") from None
        yield n, value


def read_text(path: Path) -> str:
    """The UTF-8 text of ``path``; other bytes raise UserError naming the file."""
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise UserError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
