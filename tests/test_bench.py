"""``umi-edge bench`` runs end to end on a real adapters bundle and reports every figure (no speed assertions)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from edge_bundles import adapters_bundle


@pytest.mark.slow
def test_bench_reports_all_figures(tmp_path: Path) -> None:
    bundle = adapters_bundle(tmp_path / "ad", context_length=1024)
    out_file = tmp_path / "bench.json"
    cmd = [sys.executable, "-m", "umi_edge", "bench", "--bundle", str(bundle), "--threads", "1", "--tokens", "4"]
    cmd += ["--repeats", "1", "--steps", "2", "--agent-steps", "2", "--only-tools", "calculator"]
    cmd += ["--json", "-o", str(out_file)]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-2000:]
    res = json.loads(out.stdout)
    assert res == json.loads(out_file.read_text())
    assert set(res["decode"]) == {"planner", "caller", "summarizer"}
    for row in res["decode"].values():
        assert row["engine_tokens_per_second"] > 0 and row["raw_llama_cpp_tokens_per_second"] > 0
        assert row["ratio"] > 0
    reuse, cold = res["prefix_reuse"]["with_reuse"], res["prefix_reuse"]["without_reuse"]
    assert len(reuse) == len(cold) == 2
    assert reuse[1]["evaluated"] < reuse[1]["prompt_tokens"] / 2
    assert cold[1]["evaluated"] == cold[1]["prompt_tokens"]
    assert res["grammar"]["constrained_ms_per_token"] > 0
    assert 0 <= res["grammar"]["grammar_rejection_rate"] <= 1
    assert 1 <= len(res["agent_steps"]) <= 2 and res["agent_steps"][0]["step"] == 1
    assert all(r["seconds"] > 0 for r in res["agent_steps"])
    mem = res["memory"]
    assert mem["adapters_bundle"]["models"] == 1 and mem["adapters_bundle"]["contexts"] == 3
    assert mem["merged_equivalent"]["models"] == 3
    assert mem["one_model_alone"]["contexts"] == 1


def test_bench_bad_bundle(tmp_path: Path) -> None:
    out = subprocess.run(
        [sys.executable, "-m", "umi_edge", "bench", "--bundle", str(tmp_path)], capture_output=True, text=True
    )
    assert out.returncode == 2 and out.stderr.startswith("umi-edge: error: ") and "Traceback" not in out.stderr
