"""`umi-edge eval`: bad input is one line on stderr and exit status 2, never a traceback."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "umi_edge", *args], capture_output=True, text=True, timeout=120)


def _one_line_error(proc: subprocess.CompletedProcess[str], *needles: str) -> None:
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    err = proc.stderr.strip()
    assert len(err.splitlines()) == 1, err
    for n in needles:
        assert n in err


def test_help_texts() -> None:
    for args in (("eval", "--help"), ("eval", "static", "--help"), ("eval", "tasks", "--help")):
        proc = _run(*args)
        assert proc.returncode == 0 and "usage: umi-edge eval" in proc.stdout
    assert "--predictions-out" in _run("eval", "static", "--help").stdout
    assert "--transcripts-out" in _run("eval", "tasks", "--help").stdout


def test_static_bad_inputs(tmp_path: Path) -> None:
    _one_line_error(_run("eval", "static", str(tmp_path / "missing.json")), "missing.json", "no such file")
    bad = tmp_path / "bad.json"
    bad.write_text('[{"tools": [], "instruction": "x"}]')
    _one_line_error(_run("eval", "static", str(bad), "--baseline-only"), "bad.json", "'conversations'")
    broken = tmp_path / "broken.json"
    broken.write_text('[{"tools": [], ')
    _one_line_error(_run("eval", "static", str(broken), "--baseline-only"), "broken.json", "invalid JSON")
    good = tmp_path / "good.json"
    conv = [{"from": "user", "value": "q"}, {"from": "assistant", "value": "t\n Next: give up."}]
    good.write_text(json.dumps([{"tools": [], "instruction": "q", "conversations": conv}]))
    _one_line_error(_run("eval", "static", str(good), "--bundle", str(tmp_path / "nob")), "umi.json", "no bundle")
    _one_line_error(_run("eval", "static", str(good), "--seed", "3", "--baseline-only"), "--seed", "--sample")
    nosteps = tmp_path / "nosteps.json"
    nosteps.write_text(json.dumps([{"tools": [], "instruction": "q", "conversations": conv[:1]}]))
    _one_line_error(_run("eval", "static", str(nosteps), "--baseline-only"), "no gold planner steps")


@pytest.mark.parametrize("opt", ["--limit", "--sample"])
def test_static_bad_numbers(tmp_path: Path, opt: str) -> None:
    proc = _run("eval", "static", str(tmp_path / "x.json"), opt, "0")
    assert proc.returncode == 2 and "expected a positive integer" in proc.stderr and "Traceback" not in proc.stderr


def test_tasks_bad_inputs(tmp_path: Path) -> None:
    _one_line_error(_run("eval", "tasks", str(tmp_path / "none.jsonl")), "none.jsonl", "does not exist")
    bad = tmp_path / "t.jsonl"
    bad.write_text('{"id": "a", "query": "q", "answer": 1}\n{"id": "b", "query": "q"}\n')
    _one_line_error(_run("eval", "tasks", str(bad)), "t.jsonl:2: field 'answer': missing")
    good = tmp_path / "g.jsonl"
    good.write_text('{"id": "a", "query": "q", "answer": 1}\n')
    _one_line_error(_run("eval", "tasks", str(good), "--bundle", str(tmp_path / "nob")), "umi.json", "no bundle")
    _one_line_error(_run("eval", "tasks", str(good), "--tools", str(tmp_path / "t.py")), "t.py", "no such tools file")
