"""A resumable record of finished evaluation steps: ``P.jsonl.part`` next to ``--predictions-out P.jsonl``.

Line 1 is a header naming what produced the records (file, bundle, mode, selection, budgets); every further line is
one finished step's record, written and flushed when the step ends, so a killed run loses at most the step it was on.
``--resume`` reads it back (a cut-off last line is dropped) and refuses a header that differs from the current run;
the finished run writes ``P.jsonl`` atomically and removes the journal.

Hand-written: a header check and JSONL appends, a few lines no library offers in this shape.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import IO, Any

from umi_edge import atomic, jsonl
from umi_edge.errors import UserError


def journal_path(out: Path) -> Path:
    """The journal that backs the predictions file ``out``."""
    return out.with_name(out.name + ".part")


def read(path: Path, header: dict[str, Any]) -> list[dict[str, Any]]:
    """The step records of the journal ``path`` made with ``header`` ([] when there is none)."""
    if not path.is_file():
        return []
    records: list[dict[str, Any]] = []
    # A cut-off last line is the step being written when the run was killed.
    for n, obj in jsonl.records(jsonl.read_text(path), path, cut_off_last=True):
        if n == 1:
            old = obj.get("header") if isinstance(obj, dict) else None
            if not isinstance(old, dict):
                raise UserError(f'{path}:1: expected the journal header {{"header": {{...}}}}')
            for key in sorted(set(old) | set(header)):
                if old.get(key) != header.get(key):
                    raise UserError(
                        f"{path}:1: made by a different evaluation ({key}: {old.get(key)!r}, now "
                        f"{header.get(key)!r}); run it the same way or delete the file"
                    )
            continue
        if not isinstance(obj, dict) or not {"dialogue", "step", "prediction", "raw"} <= set(obj):
            raise UserError(f"{path}:{n}: expected a step record with dialogue, step, prediction and raw")
        records.append(obj)
    return records


class Journal:
    """Appends finished step records to ``path`` after rewriting it with ``header`` and the ``kept`` records."""

    def __init__(self, path: Path, header: dict[str, Any], kept: list[dict[str, Any]]) -> None:
        self.path = path
        atomic.write_jsonl(path, [{"header": header}, *kept])  # drops a cut-off last line
        self._fh: IO[str] | None = path.open("a", encoding="utf-8")

    def append(self, record: dict[str, Any]) -> None:
        assert self._fh is not None
        self._fh.write(json.dumps(record, ensure_ascii=False) + "\n")
        self._fh.flush()

    def close(self) -> None:
        if self._fh is not None:
            self._fh.close()
            self._fh = None
