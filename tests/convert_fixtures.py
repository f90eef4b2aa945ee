"""Fixtures for the convert tests: tiny training runs made with peft on the tiny llama of ``tests/tiny.py``.

A run mirrors ``umi-edge train``'s layout: ``global/``, ``planner/``, ``caller/``, ``summarizer/`` PEFT adapters that
all apply to the unchanged base (as the trainer's role adapters continue the stage-1 adapter), plus ``config.toml``
with a ``[resolved]`` base. ``global_under_roles=True`` makes the other layout: role adapters trained on the base with
the global adapter merged in. lora_B is set to random non-zero values so every adapter changes the logits.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from tiny import tiny_model_dir, tiny_tokenizer_dir  # noqa: F401

__all__ = [
    "compat_base",
    "compat_run",
    "make_run",
    "merged_global_run",
    "tiny_model_dir",
    "tiny_run",
    "tiny_tokenizer_dir",
    "trained_run",
]

TARGETS = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]


def make_run(
    base: Path,
    run: Path,
    *,
    seed: int = 0,
    r: int = 8,
    alpha: int = 16,
    lora_std: float = 0.05,
    global_under_roles: bool = False,
    **lora_kwargs,
) -> Path:
    """Write a run (global + three role adapters) on the HF model ``base``; returns ``run``."""
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    def adapter(model, out: Path, s: int):
        torch.manual_seed(s)
        cfg = LoraConfig(r=r, lora_alpha=alpha, target_modules=TARGETS, lora_dropout=0.0, **lora_kwargs)
        pm = get_peft_model(model, cfg)
        with torch.no_grad():
            for name, p in pm.named_parameters():
                if "lora_B" in name:
                    p.normal_(0, lora_std)
        pm.save_pretrained(str(out))
        return pm

    model = AutoModelForCausalLM.from_pretrained(str(base), dtype=torch.float32)
    g = adapter(model, run / "global", seed + 1)
    under = g.merge_and_unload() if global_under_roles else g.unload()
    for i, role in enumerate(("planner", "caller", "summarizer")):
        under = adapter(under, run / role, seed + 10 + i).unload()
    (run / "config.toml").write_text(
        f'base = "{base}"\nmethod = "lora"\nmax_length = 1024\n\n[resolved]\nkind = "hf"\npath = "{base}"\n'
    )
    return run


def llama_compatible_tokenizer(model_dir: Path, out: Path) -> Path:
    """Copy of ``model_dir`` whose tokenizer reproduces LLaMA's sentencepiece behaviour, which llama.cpp matches.

    transformers 5's ``LlamaTokenizer`` builds a Metaspace(prepend_scheme="first") pre-tokenizer: no "▁" after a
    special token such as the α-UMi ``</s>``, where llama.cpp (and LLaMA's own tokenizer.json) adds one. A generic
    fast tokenizer with LLaMA's normalizer (prepend "▁", spaces → "▁") tokenizes like llama.cpp.
    """
    shutil.copytree(model_dir, out)
    tj = json.loads((out / "tokenizer.json").read_text(encoding="utf-8"))
    tj["normalizer"] = {
        "type": "Sequence",
        "normalizers": [
            {"type": "Prepend", "prepend": "▁"},
            {"type": "Replace", "pattern": {"String": " "}, "content": "▁"},
        ],
    }
    tj["pre_tokenizer"] = None
    (out / "tokenizer.json").write_text(json.dumps(tj, ensure_ascii=False), encoding="utf-8")
    tc = json.loads((out / "tokenizer_config.json").read_text(encoding="utf-8"))
    tc["tokenizer_class"] = "PreTrainedTokenizerFast"
    (out / "tokenizer_config.json").write_text(json.dumps(tc), encoding="utf-8")
    return out


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory: pytest.TempPathFactory, tiny_model_dir: Path) -> Path:
    """A tiny run on the tiny model (its transformers-5 LlamaTokenizer)."""
    return make_run(tiny_model_dir, tmp_path_factory.mktemp("tiny_run") / "run")


@pytest.fixture(scope="session")
def merged_global_run(tmp_path_factory: pytest.TempPathFactory, tiny_model_dir: Path) -> Path:
    """A tiny run whose role adapters were trained on base + merged global adapter."""
    return make_run(tiny_model_dir, tmp_path_factory.mktemp("mg_run") / "run", seed=50, global_under_roles=True)


@pytest.fixture(scope="session")
def compat_base(tmp_path_factory: pytest.TempPathFactory, tiny_model_dir: Path) -> Path:
    """The tiny model with a llama.cpp-compatible tokenizer."""
    return llama_compatible_tokenizer(tiny_model_dir, tmp_path_factory.mktemp("compat") / "base")


@pytest.fixture(scope="session")
def compat_run(tmp_path_factory: pytest.TempPathFactory, compat_base: Path) -> Path:
    """A tiny run on the llama.cpp-compatible tiny model."""
    return make_run(compat_base, tmp_path_factory.mktemp("compat_run") / "run", seed=100)


def train_briefly(model_dir: Path, out: Path, steps: int = 24) -> Path:
    """A copy of ``model_dir`` fitted for a few steps on α-UMi sample texts, so its next-token distributions are
    peaked (a random-init model's near-ties make greedy decoding flip on rounding noise)."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from umi_edge.convert.samples import role_pairs

    shutil.copytree(model_dir, out)
    tok = AutoTokenizer.from_pretrained(str(out))
    model = AutoModelForCausalLM.from_pretrained(str(out), dtype=torch.float32)
    texts = [role_pairs(role)[0][0] + role_pairs(role)[0][1] for role in ("planner", "caller", "summarizer")]
    batch = [torch.tensor([tok(t)["input_ids"]]) for t in texts]
    torch.manual_seed(0)
    opt = torch.optim.AdamW(model.parameters(), lr=3e-3)
    model.train()
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # a 64-wide model gains nothing from threads, and loses much on a busy machine
    try:
        for step in range(steps):
            ids = batch[step % len(batch)]
            loss = model(ids, labels=ids).loss
            loss.backward()
            opt.step()
            opt.zero_grad()
    finally:
        torch.set_num_threads(threads)
    model.save_pretrained(str(out))
    return out


@pytest.fixture(scope="session")
def trained_run(tmp_path_factory: pytest.TempPathFactory, tiny_model_dir: Path) -> Path:
    """A run on a briefly trained tiny model (peaked distributions), adapters with small random lora_B."""
    base = train_briefly(tiny_model_dir, tmp_path_factory.mktemp("trained") / "base")
    return make_run(base, tmp_path_factory.mktemp("trained_run") / "run", seed=200, lora_std=0.01)
