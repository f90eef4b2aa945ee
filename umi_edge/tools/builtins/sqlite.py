"""``sqlite_query``: read-only SQL on a SQLite database inside the workspace.

The database is opened read-only (``mode=ro`` URI, ``PRAGMA query_only``), an authorizer denies everything but
reading (no ATTACH of other files, no writes, no extension loading), and a progress handler stops queries that
run past the deadline (a runaway recursive CTE ends with an error instead of hanging the agent).
"""

from __future__ import annotations

import sqlite3
import time
import urllib.parse
from pathlib import Path
from typing import Any

from umi_edge.tools.paths import relative, resolve_in_workspace
from umi_edge.tools.registry import tool
from umi_edge.tools.result import ToolError

QUERY_SECONDS = 10.0
_ALLOWED = {
    sqlite3.SQLITE_SELECT,
    sqlite3.SQLITE_READ,
    sqlite3.SQLITE_FUNCTION,
    getattr(sqlite3, "SQLITE_RECURSIVE", 33),
}
_READ_PRAGMAS = {"table_info", "table_xinfo", "table_list", "index_list", "index_info", "foreign_key_list"}


def _authorizer(action: int, arg1: str | None, arg2: str | None, dbname: str | None, source: str | None) -> int:
    if action in _ALLOWED:
        return sqlite3.SQLITE_OK
    if action == sqlite3.SQLITE_PRAGMA and (arg1 or "").lower() in _READ_PRAGMAS:
        return sqlite3.SQLITE_OK
    return sqlite3.SQLITE_DENY


@tool(
    keywords="database db table tables row rows column columns record records query sql highest lowest maximum "
    "minimum average count total sum list order sorted top"
)
def sqlite_query(workspace: Path, database: str, query: str, max_rows: int = 50) -> dict[str, Any]:
    """Run one read-only SQL query (SELECT / WITH) on a SQLite database file in the workspace.

    To see the tables, query: SELECT name, sql FROM sqlite_master WHERE type='table'.

    Args:
        database: The database file, relative to the workspace (for example "shop.db").
        query: A single SELECT statement.
        max_rows: Largest number of rows to return.
    """
    root = Path(workspace).resolve()
    target = resolve_in_workspace(root, database, must_exist=True)
    if not target.is_file():
        raise ToolError(f"'{database}' is not a file")
    with target.open("rb") as fh:
        if fh.read(16) != b"SQLite format 3\x00":
            raise ToolError(f"'{database}' is not a SQLite database")
    if max_rows < 1:
        raise ToolError("max_rows must be at least 1")
    uri = "file:" + urllib.parse.quote(str(target)) + "?mode=ro"
    conn = sqlite3.connect(uri, uri=True, timeout=2.0, check_same_thread=False)
    deadline = time.monotonic() + QUERY_SECONDS
    try:
        conn.execute("PRAGMA query_only = ON")
        conn.set_authorizer(_authorizer)
        conn.set_progress_handler(lambda: int(time.monotonic() > deadline), 10_000)
        try:
            cur = conn.execute(query)
            rows = cur.fetchmany(max_rows + 1)
        except sqlite3.OperationalError as exc:
            msg = str(exc)
            if "interrupted" in msg:
                msg = f"the query ran longer than {QUERY_SECONDS:g} s and was stopped"
            elif "not authorized" in msg:
                msg = "not authorized: only reading queries (SELECT) are allowed"
            raise ToolError(msg) from None
        except (sqlite3.DatabaseError, sqlite3.Warning, sqlite3.ProgrammingError) as exc:
            raise ToolError(str(exc)) from None
        columns = [d[0] for d in cur.description or []]
    finally:
        conn.close()
    out: dict[str, Any] = {
        "database": relative(root, target),
        "columns": columns,
        "rows": [list(r) for r in rows[:max_rows]],
        "row_count": min(len(rows), max_rows),
    }
    if len(rows) > max_rows:
        out["more"] = f"more than {max_rows} rows; add LIMIT/WHERE or raise max_rows"
    return out
