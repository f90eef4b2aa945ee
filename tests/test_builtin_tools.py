"""Each built-in tool through the registry, as the agent calls it: normal use and misuse."""

from __future__ import annotations

import json
import sqlite3
import time
from pathlib import Path

import pytest

from umi_edge.tools import builtin_registry
from umi_edge.tools.builtins import sqlite as sqlite_tool

REG = builtin_registry()


@pytest.fixture
def ws(tmp_path: Path) -> Path:
    d = tmp_path / "ws"
    d.mkdir()
    (d / "notes.txt").write_text("alpha\nBeta line\ngamma\n")
    (d / "sub").mkdir()
    (d / "sub" / "deep.md").write_text("# Title\nthe beta release\n")
    (tmp_path / "outside.txt").write_text("secret outside\n")
    return d


def call(name: str, ws: Path, **args: object) -> tuple[bool, dict]:
    r = REG.call(name, args, workspace=ws)
    return r.is_error, json.loads(r.content)


def ok(name: str, ws: Path, **args: object) -> dict:
    is_error, value = call(name, ws, **args)
    assert not is_error, value
    return value


def err(name: str, ws: Path, **args: object) -> str:
    is_error, value = call(name, ws, **args)
    assert is_error and set(value) >= {"error"}, value
    return value["error"]


def test_builtin_set() -> None:
    assert REG.names() == [
        "calculator", "python", "list_files", "read_file", "write_file", "search_files", "sqlite_query",
        "convert_units", "date_calc",
    ]  # fmt: skip
    effects = {t.name: t.effect for t in REG.tools()}
    assert effects["python"] == "exec" and effects["write_file"] == "write" and effects["read_file"] == "read"
    assert [t.name for t in REG.tools() if t.sandboxed] == ["python"]


# ---- calculator ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("expression", "result"),
    [
        ("0.175 * 2340", 409.5),
        ("2 + 3 * 4", 14),
        ("(2 + 3) * 4", 20),
        ("2^10", 1024),
        ("sqrt(16) + abs(-2)", 6),
        ("0.1 + 0.2", 0.3),
        ("10 / 4", 2.5),
        ("7 // 2", 3),
        ("-3 ** 2", -9),
        ("log(8, 2)", 3),
        ("round(pi, 3)", 3.142),
        ("factorial(5)", 120),
        ("max(3, 9, 4)", 9),
    ],
)
def test_calculator(ws: Path, expression: str, result: float) -> None:
    assert ok("calculator", ws, expression=expression)["result"] == result


@pytest.mark.parametrize(
    ("expression", "problem"),
    [
        ("__import__('os').system('id')", "unknown function"),
        ("open('x')", "unknown function"),
        ("x + 1", "unknown name 'x'"),
        ("(1).__class__", "unsupported syntax"),
        ("[1, 2]", "unsupported syntax"),
        ("'a' * 3", "only numbers"),
        ("1 / 0", "division by zero"),
        ("2 +", "cannot parse"),
        ("", "empty"),
        ("9 ** 9 ** 9", "too large"),
        ("factorial(100000)", "too large"),
        ("sqrt(-1)", "sqrt"),
        ("lambda: 1", "unsupported syntax"),
        ("1" * 3000, "too long"),
    ],
)
def test_calculator_misuse(ws: Path, expression: str, problem: str) -> None:
    start = time.monotonic()
    assert problem in err("calculator", ws, expression=expression)
    assert time.monotonic() - start < 2


# ---- python (sandboxed; the security tests are in test_sandbox.py) ---------------------------------------------
def test_python(ws: Path) -> None:
    assert ok("python", ws, code="print('hi')\nsum(i * i for i in range(4))") == {"stdout": "hi\n", "result": "14"}
    assert ok("python", ws, code="x = open('notes.txt').read().split()\nx[1]") == {"result": "'Beta'"}
    assert ok("python", ws, code="import math\nmath.pi > 3") == {"result": "True"}


def test_python_misuse(ws: Path) -> None:
    assert err("python", ws, code="def f(:\n  pass") == "SyntaxError: invalid syntax (line 1)"
    assert err("python", ws, code="x = 1\nraise ValueError('bad value')") == "ValueError: bad value (line 2)"
    assert ok("python", ws, code="import sys\nsys.exit(3)") == {"exit_code": 3}
    assert "missing required parameter 'code'" in err("python", ws)


# ---- files -----------------------------------------------------------------------------------------------------
def test_list_files(ws: Path) -> None:
    top = ok("list_files", ws)
    assert {e["name"] for e in top["entries"]} == {"notes.txt", "sub"}
    assert ok("list_files", ws, recursive=True, pattern="*.md")["entries"] == [
        {"name": "sub/deep.md", "type": "file", "size": 25}
    ]
    assert ok("list_files", ws, path="sub")["entries"][0]["name"] == "sub/deep.md"


def test_list_files_misuse(ws: Path, tmp_path: Path) -> None:
    assert "outside the workspace" in err("list_files", ws, path="..")
    assert "outside the workspace" in err("list_files", ws, path=str(tmp_path))
    assert "is a file" in err("list_files", ws, path="notes.txt")
    assert "does not exist" in err("list_files", ws, path="nope")
    (ws / "escape").symlink_to(tmp_path)
    assert "outside the workspace" in err("list_files", ws, path="escape")
    names = {e["name"] for e in ok("list_files", ws, recursive=True)["entries"]}
    assert "escape" not in names  # a link leaving the workspace is not listed


def test_read_file(ws: Path) -> None:
    v = ok("read_file", ws, path="notes.txt")
    assert v["content"] == "alpha\nBeta line\ngamma" and v["total_lines"] == 3 and "more" not in v
    v = ok("read_file", ws, path="./sub/../notes.txt", start_line=2, max_lines=1)
    assert v["content"] == "Beta line" and "continues after line 2" in v["more"]
    assert ok("read_file", ws, path=str(ws / "notes.txt"))["path"] == "notes.txt"


def test_read_file_misuse(ws: Path, tmp_path: Path) -> None:
    assert "outside the workspace" in err("read_file", ws, path="../outside.txt")
    assert "outside the workspace" in err("read_file", ws, path="/etc/passwd")
    assert "outside the workspace" in err("read_file", ws, path="~/.bashrc")
    (ws / "link.txt").symlink_to(tmp_path / "outside.txt")
    assert "outside the workspace" in err("read_file", ws, path="link.txt")
    (ws / "blob.bin").write_bytes(b"\x00\x01\x02")
    assert "binary" in err("read_file", ws, path="blob.bin")
    assert "folder" in err("read_file", ws, path="sub")
    assert "does not exist" in err("read_file", ws, path="missing.txt")
    assert "at least 1" in err("read_file", ws, path="notes.txt", start_line=0)


def test_write_file(ws: Path) -> None:
    assert ok("write_file", ws, path="out/new.txt", content="one\n")["written_chars"] == 4
    ok("write_file", ws, path="out/new.txt", content="two\n", mode="append")
    assert (ws / "out" / "new.txt").read_text() == "one\ntwo\n"
    ok("write_file", ws, path="out/new.txt", content="fresh")
    assert (ws / "out" / "new.txt").read_text() == "fresh"


def test_write_file_misuse(ws: Path, tmp_path: Path) -> None:
    assert "outside the workspace" in err("write_file", ws, path="../evil.txt", content="x")
    assert not (tmp_path / "evil.txt").exists()
    (ws / "link.txt").symlink_to(tmp_path / "outside.txt")
    assert "outside the workspace" in err("write_file", ws, path="link.txt", content="x")
    assert (tmp_path / "outside.txt").read_text() == "secret outside\n"
    assert "already exists" in err("write_file", ws, path="notes.txt", content="x", mode="create")
    assert "must be one of overwrite, append, create" in err("write_file", ws, path="a", content="x", mode="delete")
    assert "is a folder" in err("write_file", ws, path="sub", content="x")


def test_search_files(ws: Path) -> None:
    v = ok("search_files", ws, query="beta")
    assert [(m["file"], m["line"]) for m in v["matches"]] == [("notes.txt", 2), ("sub/deep.md", 2)]
    v = ok("search_files", ws, query="beta", ignore_case=False)
    assert [m["file"] for m in v["matches"]] == ["sub/deep.md"]
    v = ok("search_files", ws, query=r"^g\w+a$", regex=True)
    assert v["matches"] == [{"file": "notes.txt", "line": 3, "text": "gamma"}]
    assert ok("search_files", ws, query="a", max_results=2)["more"] is True
    assert ok("search_files", ws, query="beta", pattern="*.md")["files_searched"] == 1


def test_search_files_misuse(ws: Path, tmp_path: Path) -> None:
    assert "invalid regular expression" in err("search_files", ws, query="(", regex=True)
    assert "must not be empty" in err("search_files", ws, query="")
    assert "outside the workspace" in err("search_files", ws, query="secret", path="..")
    (ws / "escape").symlink_to(tmp_path / "outside.txt")
    assert ok("search_files", ws, query="secret")["matches"] == []


# ---- sqlite ----------------------------------------------------------------------------------------------------
@pytest.fixture
def db(ws: Path) -> Path:
    path = ws / "shop.db"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE items (name TEXT, price REAL, qty INTEGER)")
    conn.executemany("INSERT INTO items VALUES (?, ?, ?)", [("pen", 1.5, 10), ("book", 12.0, 3), ("lamp", 30.0, 1)])
    conn.commit()
    conn.close()
    return path


def test_sqlite_query(ws: Path, db: Path) -> None:
    v = ok("sqlite_query", ws, database="shop.db", query="SELECT name, price * qty AS total FROM items ORDER BY total")
    assert v["columns"] == ["name", "total"] and v["rows"] == [["pen", 15.0], ["lamp", 30.0], ["book", 36.0]]
    v = ok("sqlite_query", ws, database="shop.db", query="SELECT * FROM items", max_rows=2)
    assert v["row_count"] == 2 and "more than 2 rows" in v["more"]
    v = ok("sqlite_query", ws, database="shop.db", query="SELECT name FROM sqlite_master WHERE type='table'")
    assert v["rows"] == [["items"]]


def test_sqlite_query_misuse(ws: Path, db: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for query in (
        "DELETE FROM items",
        "DROP TABLE items",
        "INSERT INTO items VALUES ('x', 1, 1)",
        "UPDATE items SET price = 0",
        "CREATE TABLE t (x)",
        "PRAGMA journal_mode = DELETE",
    ):
        assert "not authorized" in err("sqlite_query", ws, database="shop.db", query=query) or "readonly" in err(
            "sqlite_query", ws, database="shop.db", query=query
        ), query
    other = tmp_path / "other.db"
    sqlite3.connect(other).execute("CREATE TABLE s (x)").connection.close()
    assert "not authorized" in err("sqlite_query", ws, database="shop.db", query=f"ATTACH DATABASE '{other}' AS o")
    assert "one statement" in err("sqlite_query", ws, database="shop.db", query="SELECT 1; SELECT 2")
    assert "no such table" in err("sqlite_query", ws, database="shop.db", query="SELECT * FROM nope")
    assert "not a SQLite database" in err("sqlite_query", ws, database="notes.txt", query="SELECT 1")
    assert "outside the workspace" in err("sqlite_query", ws, database=str(other), query="SELECT 1")
    monkeypatch.setattr(sqlite_tool, "QUERY_SECONDS", 0.5)
    start = time.monotonic()
    runaway = "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT count(*) FROM c"
    assert "stopped" in err("sqlite_query", ws, database="shop.db", query=runaway)
    assert time.monotonic() - start < 5
    assert [r[0] for r in sqlite3.connect(db).execute("SELECT count(*) FROM items")] == [3]


# ---- units and dates -------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("value", "a", "b", "result"),
    [(10, "km", "mi", 6.213711922), (212, "F", "C", 100.0), (0, "celsius", "kelvin", 273.15),
     (1, "GiB", "MB", 1073.741824), (3, "feet", "inches", 36.0), (2.5, "kg", "lb", 5.511556554),
     (90, "km/h", "m/s", 25.0), (1, "kWh", "J", 3600000.0)],
)  # fmt: skip
def test_convert_units(ws: Path, value: float, a: str, b: str, result: float) -> None:
    assert ok("convert_units", ws, value=value, from_unit=a, to_unit=b)["result"] == pytest.approx(result)


def test_convert_units_misuse(ws: Path) -> None:
    msg = err("convert_units", ws, value=1, from_unit="furlong", to_unit="m")
    assert "unknown unit 'furlong'" in msg and "km" in msg
    assert "cannot convert length (km) to mass (kg)" in err("convert_units", ws, value=1, from_unit="km", to_unit="kg")
    assert "must be number" in err("convert_units", ws, value="ten", from_unit="km", to_unit="m")


def test_date_calc(ws: Path) -> None:
    v = ok("date_calc", ws, operation="add", date="2024-01-31", months=1)
    assert v["date"] == "2024-02-29" and v["weekday"] == "Thursday"
    assert ok("date_calc", ws, operation="subtract", date="2024-03-01", days=1)["date"] == "2024-02-29"
    assert ok("date_calc", ws, operation="add", date="March 5, 2024", weeks=2)["date"] == "2024-03-19"
    v = ok("date_calc", ws, operation="difference", date="2024-01-01", other_date="2024-12-25")
    assert v["days"] == 359 and v["years_months_days"] == [0, 11, 24]
    assert v["weekdays"] == 257  # numpy.busday_count agrees
    v = ok("date_calc", ws, operation="weekday", date="2026-11-23")
    assert v["weekday"] == "Monday" and v["iso_week"] == 48 and v["is_weekend"] is False


def test_date_calc_misuse(ws: Path) -> None:
    assert "not a date" in err("date_calc", ws, operation="weekday", date="the day after")
    assert "needs other_date" in err("date_calc", ws, operation="difference", date="2024-01-01")
    assert "at least one of" in err("date_calc", ws, operation="add", date="2024-01-01")
    assert "out of range" in err("date_calc", ws, operation="add", date="9999-12-01", months=2)
    assert "must be one of" in err("date_calc", ws, operation="multiply", date="2024-01-01")


def test_search_files_catastrophic_pattern_is_stopped(ws: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from umi_edge.tools.builtins import files

    (ws / "a.txt").write_text("a" * 3000 + "!\n")
    monkeypatch.setattr(files, "SEARCH_SECONDS", 0.5)
    start = time.monotonic()
    is_error, value = call("search_files", ws, query=r"^(\w+\s?)*$", path="a.txt", regex=True)
    assert time.monotonic() - start < 5
    assert (is_error and "longer than 0.5 s" in value["error"]) or (not is_error and value["matches"] == [])
