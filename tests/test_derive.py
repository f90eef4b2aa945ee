"""Derived bases: a bundle whose base says ``"derive": "q8_0"`` loads a Q8_0 copy of the packaged SmolLM2 Q4_1 file,
made once by llama.cpp into the user's cache (UMI_EDGE_CACHE)."""

from __future__ import annotations

import json
from pathlib import Path

import gguf
import pytest
from edge_bundles import SMOL_REF, adapters_bundle, smollm2_path

from umi_edge import bundle
from umi_edge.engine import Engine, EngineOptions, SamplingParams
from umi_edge.engine.derive import derive, derived_path
from umi_edge.errors import UserError

PROMPT = "<|im_start|>user\nName three colours.<|im_end|>\n<|im_start|>assistant\n"


def _derived_bundle(directory: Path, qtype: str = "q8_0") -> Path:
    adapters_bundle(directory, context_length=256)
    m = json.loads((directory / "umi.json").read_text())
    m["base"] = {**SMOL_REF, "sha256": bundle.sha256_file(smollm2_path()), "derive": qtype}
    (directory / "umi.json").write_text(json.dumps(m))
    return directory


def _greedy(engine: Engine, role: str) -> str:
    gen = engine.generate(role, PROMPT, sampling=SamplingParams(temperature=0.0), max_tokens=12)
    pieces = []
    while True:
        try:
            pieces.append(next(gen))
        except StopIteration:
            return "".join(pieces)


def test_derived_base_is_made_once_and_loaded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("UMI_EDGE_CACHE", str(tmp_path / "cache"))
    d = _derived_bundle(tmp_path / "b")
    src = smollm2_path()
    copy = derived_path(src, bundle.sha256_file(src), "q8_0")
    assert not copy.exists()
    opts = EngineOptions(threads=1, context_length=256)
    with Engine.from_bundle(d, opts) as eng:
        assert list(eng.models) == [copy.resolve()]  # one shared base, the derived copy
        text = _greedy(eng, "planner")
    assert text.strip()
    src_types = {t.name: t.tensor_type for t in gguf.GGUFReader(src).tensors}
    types = {t.name: t.tensor_type for t in gguf.GGUFReader(copy).tensors}
    assert types.keys() == src_types.keys()
    requantized = [n for n, t in src_types.items() if t == gguf.GGMLQuantizationType.Q4_1]
    assert requantized and all(types[n] == gguf.GGMLQuantizationType.Q8_0 for n in requantized)
    stamp = copy.stat().st_mtime_ns
    with Engine.from_bundle(d, opts) as eng:  # the second load reuses the copy
        assert _greedy(eng, "planner") == text
    assert copy.stat().st_mtime_ns == stamp
    assert [p.name for p in copy.parent.iterdir()] == [copy.name]  # no temporary file left


def test_derive_type_is_checked(tmp_path: Path) -> None:
    d = _derived_bundle(tmp_path / "b", qtype="q4_0")
    with pytest.raises(UserError, match=r"field 'base'\.derive: expected one of \['f16', 'q8_0'\], got 'q4_0'"):
        bundle.load(d)


def test_unwritable_cache_is_a_one_line_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("x")
    monkeypatch.setenv("UMI_EDGE_CACHE", str(blocker))
    with pytest.raises(UserError, match="set UMI_EDGE_CACHE to a writable folder") as exc:
        derive(smollm2_path(), "q8_0")
    assert "\n" not in str(exc.value)
