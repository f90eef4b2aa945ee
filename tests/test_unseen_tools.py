"""The default bundle on a ``--tools`` file whose functions no training data names (issue 17): each request in
plain words must call the right new tool with the right arguments, and the answer must come from its observation."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from umi_edge.numbers import numbers_in

REPO = Path(__file__).resolve().parent.parent
TOOLS = REPO / "examples" / "tools" / "household.py"
CASES = [
    ("My car uses 6.5 litres per 100 km. How much fuel do I need for 340 km?", "trip_fuel_litres",
     {"distance_km": 340, "litres_per_100km": 6.5}, 22.1),
    ("I earn 3200 a month. What do I make in 30 months?", "salary_over_months",
     {"monthly_pay": 3200, "months": 30}, 96000),
    ("How many tins of paint do I need for 45 square metres of wall with 2 coats?", "paint_tins_needed",
     {"wall_area_m2": 45, "coats": 2}, 4),
]  # fmt: skip


def test_unseen_names_are_in_no_training_data() -> None:
    pytest.importorskip("bfcl_eval")
    from umi_edge.augment import distractor_pool

    pool = {t["Name"] for t in distractor_pool()}
    assert not pool & {c[1] for c in CASES}


@pytest.mark.slow
@pytest.mark.parametrize(("query", "name", "args", "answer"), CASES, ids=[c[1] for c in CASES])
def test_default_bundle_calls_tools_it_never_saw(
    tmp_path: Path, query: str, name: str, args: dict, answer: float
) -> None:
    pytest.importorskip("llama_cpp")
    env = {k: v for k, v in os.environ.items() if k != "UMI_EDGE_BUNDLE"}
    (tmp_path / "ws").mkdir()
    out = subprocess.run(
        [sys.executable, "-m", "umi_edge", "run", query, "--json", "--threads", "2", "--tools", str(TOOLS),
         "--only-tools", "trip_fuel_litres,paint_tins_needed,salary_over_months,plant_watering_schedule",
         "--workspace", str(tmp_path / "ws"), "--no-transcript"],
        capture_output=True, text=True, timeout=900, env=env, stdin=subprocess.DEVNULL,
    )  # fmt: skip
    assert out.returncode in (0, 1), out.stderr[-2000:]
    doc = json.loads(out.stdout)
    calls = [e for e in doc["events"] if e["type"] == "ToolCall"]
    assert calls and calls[0]["name"] == name, calls
    got = calls[0]["arguments"]
    assert {k: float(v) for k, v in got.items() if k in args} == {k: float(v) for k, v in args.items()}, got
    assert doc["status"] == "finished", doc["status"]
    assert any(abs(x - answer) < 1e-6 for x in numbers_in(doc["answer"])), doc["answer"]
