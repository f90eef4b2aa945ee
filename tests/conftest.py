"""Shared fixtures: locations of ../shared data (tests needing it skip with a reason when absent)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("UMI_EDGE_SHARED", REPO.parent / "shared"))
TRAIN_EXAMPLE = SHARED / "data" / "toolbench" / "train-example"
OUT_OF_DOMAIN = SHARED / "data" / "toolbench" / "test" / "out_of_domain.json"


@pytest.fixture
def train_example() -> Path:
    if not (TRAIN_EXAMPLE / "raw_data_stage_1.json").exists():
        pytest.skip(f"ToolBench example data not found at {TRAIN_EXAMPLE} (set UMI_EDGE_SHARED)")
    return TRAIN_EXAMPLE


@pytest.fixture
def out_of_domain() -> Path:
    if not OUT_OF_DOMAIN.exists():
        pytest.skip(f"out-of-domain test set not found at {OUT_OF_DOMAIN} (set UMI_EDGE_SHARED)")
    return OUT_OF_DOMAIN


@pytest.fixture(scope="session", autouse=True)
def _derived_base_cache(tmp_path_factory: pytest.TempPathFactory) -> None:
    """Derived bases (umi_edge.engine.derive) go to a per-session folder, not the user's ~/.cache; subprocesses
    inherit it. A UMI_EDGE_CACHE set by the caller is kept."""
    os.environ.setdefault("UMI_EDGE_CACHE", str(tmp_path_factory.mktemp("umi-edge-cache")))


@pytest.fixture
def ws(tmp_path: Path) -> Path:
    """An empty workspace folder (test files that need one filled define their own ``ws``)."""
    d = tmp_path / "ws"
    d.mkdir()
    return d
