"""``umi-edge run``: JSON output on a real bundle, transcripts, and one-line errors with exit status 2."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from edge_bundles import merged_bundle

from umi_edge.agent.transcript import Transcript


def _run(*args: str, env: dict | None = None, timeout: int = 300) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "umi_edge", "run", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **(env or {})},
        stdin=subprocess.DEVNULL,
    )


FAST = ["--threads", "1", "--ctx", "768", "--max-tokens", "40", "--only-tools", "calculator"]


def test_run_json(tmp_path: Path) -> None:
    bundle = merged_bundle(tmp_path / "b")
    ws = tmp_path / "ws"
    ws.mkdir()
    sessions = tmp_path / "sessions"
    out = _run(
        "What is 12 * 12?", "--bundle", str(bundle), "--workspace", str(ws), "--json", "--max-steps", "1",
        "--sessions", str(sessions), *FAST,
    )  # fmt: skip
    assert out.returncode in (0, 1), out.stderr
    doc = json.loads(out.stdout)
    assert {"answer", "status", "conversation", "timings"} <= set(doc)
    assert doc["status"] in ("finished", "gave_up", "max_steps")
    assert out.returncode == (0 if doc["status"] == "finished" else 1)
    assert doc["conversation"][0] == {"from": "user", "value": "What is 12 * 12?"}
    assert doc["timings"]["roles"]["planner"]["calls"] == 1
    assert doc["events"][-1]["type"] == "RunFinished"
    files = list(sessions.glob("*.jsonl"))
    assert len(files) == 1 and doc["session"] == str(files[0])
    t = Transcript.load(files[0])
    assert t.conversation == doc["conversation"] and t.status == doc["status"]


@pytest.mark.slow
def test_run_streams_roles(tmp_path: Path) -> None:
    bundle = merged_bundle(tmp_path / "b")
    out = _run("What is 2 + 2?", "--bundle", str(bundle), "--max-steps", "1", "--no-transcript", *FAST)
    assert out.returncode in (0, 1), out.stderr
    assert "planner" in out.stdout and "step 1" in out.stdout


def _one_line_error(out: subprocess.CompletedProcess, *needles: str) -> None:
    assert out.returncode == 2, (out.stdout, out.stderr)
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("umi-edge: error: "), out.stderr
    assert "Traceback" not in out.stderr
    for n in needles:
        assert n in lines[0]


def test_bad_bundles_are_one_line_errors(tmp_path: Path) -> None:
    _one_line_error(_run("q", "--bundle", str(tmp_path / "missing")), "no bundle manifest")
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "umi.json").write_text('{"format_version": 1, "mode": "merged", "roles": {"planner": 3}}')
    _one_line_error(_run("q", "--bundle", str(tmp_path / "bad")), "umi.json")
    (tmp_path / "bad" / "umi.json").write_text("{not json")
    _one_line_error(_run("q", "--bundle", str(tmp_path / "bad")), "invalid JSON")
    _one_line_error(
        _run("q", env={"UMI_EDGE_BUNDLE": str(tmp_path / "none")}), "UMI_EDGE_BUNDLE=", "no bundle manifest"
    )


@pytest.mark.parametrize(
    "extra, needle",
    [
        (["--resume", "no-such-session"], "--resume"),
        (["--only-tools", "calculator,teleport"], "--only-tools"),
        (["--max-steps", "0"], "--max-steps"),
        (["--workspace", "/no/such/dir"], "--workspace"),
    ],
)
def test_bad_options_are_one_line_errors(tmp_path: Path, extra: list[str], needle: str) -> None:
    bundle = merged_bundle(tmp_path / "b")
    _one_line_error(_run("q", "--bundle", str(bundle), "--no-transcript", *extra), needle)
