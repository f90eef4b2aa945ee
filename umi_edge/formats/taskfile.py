"""The executable task (JSONL, one per line): what ``umi-edge data synth --tasks-out`` writes and ``umi-edge eval
tasks`` runs, validated with one-line errors naming file, line and field; :func:`write_fixture` builds its workspace.

A task::

    {"id": "pct-1", "query": "What is 17.5% of 2340?", "answer": 409.5,
     "match": "number",                       # optional: "contains" | "exact" | "number"
     "files": {"data/notes.txt": "text"},     # optional workspace fixture: relative path -> text content
     "sqlite": {"shop.db": ["CREATE TABLE t(x)", "INSERT INTO t VALUES (1)"]},   # optional
     "tools": ["calculator"]}                 # optional subset of the built-in tools (default: all)

``answer`` is a string, a number, or a non-empty list of alternatives (any one matching is a success); a task the
agent should refuse has the answer :data:`GIVE_UP`. The default ``match`` is ``number`` when every alternative is
a number, else ``contains``.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any, Literal, cast, get_args

from umi_edge import jsonl
from umi_edge.errors import UserError, where

Match = Literal["contains", "exact", "number"]
MATCHES: tuple[Match, ...] = get_args(Match)
KEYS = ("id", "query", "answer", "match", "files", "sqlite", "tools")
GIVE_UP = "give up"
"""The answer of a task the agent should refuse: the backbone's give-up conclusion is ``conclusion: give up.``."""


@dataclass
class Task:
    """One executable task: the query, its workspace fixture, the tools offered and the accepted answers."""

    id: str
    query: str
    answers: list[str | float | int]
    match: Match
    files: dict[str, str] = field(default_factory=dict)
    sqlite: dict[str, list[str]] = field(default_factory=dict)
    tools: list[str] | None = None
    line: int = 0

    def to_json(self) -> dict[str, Any]:
        """The task as a JSONL record of this format (a single answer is written as a scalar)."""
        out: dict[str, Any] = {"id": self.id, "query": self.query}
        out["answer"] = self.answers[0] if len(self.answers) == 1 else list(self.answers)
        out["match"] = self.match
        out["files"] = dict(self.files)
        out["sqlite"] = {k: list(v) for k, v in self.sqlite.items()}
        if self.tools is not None:
            out["tools"] = list(self.tools)
        return out


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _kind(v: Any) -> str:
    return {
        bool: "a boolean",
        int: "a number",
        float: "a number",
        str: "a string",
        list: "a list",
        dict: "an object",
        type(None): "null",
    }.get(type(v), type(v).__name__)


def _rel_path(path: Any, w: str) -> str:
    if not isinstance(path, str) or not path.strip():
        raise UserError(f"{w}: expected a non-empty relative path, got {path!r}")
    p = PurePosixPath(path)
    if p.is_absolute() or ".." in p.parts or "\\" in path:
        raise UserError(f"{w}: expected a relative path inside the workspace (no '..', not absolute), got {path!r}")
    return str(p)


def parse_task(obj: Any, path: str | Path, line: int) -> Task:
    """Validate one decoded record; raises UserError ``<file>:<line>: field 'x': expected ..., got ...``."""
    if not isinstance(obj, dict):
        raise UserError(f"{where(path, line=line)}: expected a JSON object, got {_kind(obj)}")
    unknown = sorted(set(obj) - set(KEYS))
    if unknown:
        raise UserError(f"{where(path, line=line)}: unknown field(s) {unknown}, expected some of {list(KEYS)}")

    def w(name: str) -> str:
        return where(path, line=line, field=name)

    for name in ("id", "query", "answer"):
        if name not in obj:
            raise UserError(f"{w(name)}: missing (required)")
    tid, query, answer = obj["id"], obj["query"], obj["answer"]
    if not isinstance(tid, str) or not tid.strip():
        raise UserError(f"{w('id')}: expected a non-empty string, got {tid!r}")
    if not isinstance(query, str) or not query.strip():
        raise UserError(f"{w('query')}: expected a non-empty string, got {_kind(query)}")
    alts = answer if isinstance(answer, list) else [answer]
    if not alts:
        raise UserError(f"{w('answer')}: expected a string, a number or a non-empty list of them, got []")
    for a in alts:
        if not (isinstance(a, str) or _is_number(a)):
            raise UserError(f"{w('answer')}: expected a string, a number or a list of them, got {_kind(a)}")
        if isinstance(a, str) and not a.strip():
            raise UserError(f"{w('answer')}: expected non-empty answer text, got {a!r}")
    match = obj.get("match")
    if match is None:
        match = "number" if all(_is_number(a) for a in alts) else "contains"
    elif match not in MATCHES:
        raise UserError(f"{w('match')}: expected one of {', '.join(MATCHES)}, got {match!r}")
    if match == "number":
        for a in alts:
            if not _is_number(a):
                try:
                    float(str(a).replace(",", ""))
                except ValueError:
                    raise UserError(f"{w('answer')}: match 'number' needs numeric answers, got {a!r}") from None
    files_in = obj.get("files") or {}
    if not isinstance(files_in, dict):
        raise UserError(f"{w('files')}: expected an object of relative path -> text, got {_kind(files_in)}")
    files: dict[str, str] = {}
    for p, text in files_in.items():
        rp = _rel_path(p, w("files"))
        if not isinstance(text, str):
            raise UserError(f"{w('files')}: {p!r}: expected text content, got {_kind(text)}")
        files[rp] = text
    sql_in = obj.get("sqlite") or {}
    if not isinstance(sql_in, dict):
        raise UserError(f"{w('sqlite')}: expected an object of relative path -> [SQL statements], got {_kind(sql_in)}")
    sqlite: dict[str, list[str]] = {}
    for p, stmts in sql_in.items():
        rp = _rel_path(p, w("sqlite"))
        if rp in files:
            raise UserError(f"{w('sqlite')}: {p!r} is also listed under 'files'")
        if not isinstance(stmts, list) or not all(isinstance(s, str) for s in stmts):
            raise UserError(f"{w('sqlite')}: {p!r}: expected a list of SQL statement strings, got {_kind(stmts)}")
        sqlite[rp] = list(stmts)
    tools = obj.get("tools")
    if tools is not None:
        if not isinstance(tools, list) or not tools or not all(isinstance(t, str) and t for t in tools):
            raise UserError(f"{w('tools')}: expected a non-empty list of tool names, got {tools!r}")
        tools = list(tools)
    return Task(tid, query, list(alts), cast(Match, match), files, sqlite, tools, line)  # checked above


def load_tasks(path: str | Path) -> list[Task]:
    """Read and validate a task file (JSONL; blank lines ignored); ids must be unique."""
    p = Path(path)
    if not p.is_file():
        raise UserError(f"{p}: task file does not exist")
    tasks: list[Task] = []
    seen: dict[str, int] = {}
    for n, obj in jsonl.records(jsonl.read_text(p), p):
        task = parse_task(obj, p, n)
        if task.id in seen:
            raise UserError(f"{where(p, line=n, field='id')}: duplicate id {task.id!r} (first on line {seen[task.id]})")
        seen[task.id] = n
        tasks.append(task)
    if not tasks:
        raise UserError(f"{p}: no tasks (expected one JSON object per line)")
    return tasks


class FixtureError(ValueError):
    """A fixture's SQL statement failed; the message names the database, the statement and SQLite's error."""


def write_fixture(root: Path, files: Mapping[str, str], sqlite: Mapping[str, Sequence[str]]) -> Path:
    """Write ``files`` (relative path → text) and build the ``sqlite`` databases (relative path → SQL statements)
    under ``root``, created if needed; returns ``root``. A failing statement raises :class:`FixtureError`."""
    root.mkdir(parents=True, exist_ok=True)
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    for rel, statements in sqlite.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        con = sqlite3.connect(path)
        try:
            for i, stmt in enumerate(statements):
                try:
                    con.execute(stmt)
                except sqlite3.Error as exc:
                    raise FixtureError(f"{rel!r} statement {i + 1} failed: {exc} ({stmt[:60]!r})") from None
            con.commit()
        finally:
            con.close()
    return root
