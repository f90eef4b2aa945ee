"""``init_from`` a bundle: its LoRA GGUF role adapters come back as the PEFT adapters they were written from, and a
real ``umi-edge train`` run continues them."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from convert_fixtures import *  # noqa: F403 - fixtures: tiny_model_dir, tiny_run, compat_base, ...
from tiny import tiny_data_dir  # noqa: F401 - fixture
from umi_edge.convert import ConvertOptions, convert_run

from umi_edge.errors import UserError

pytest.importorskip("torch")


def _lora(adapter_dir: Path) -> dict[str, np.ndarray]:
    from safetensors.numpy import load_file

    return load_file(str(adapter_dir / "adapter_model.safetensors"))


def test_bundle_adapters_come_back_as_peft(tmp_path: Path, tiny_model_dir: Path, tiny_run: Path) -> None:
    from transformers import AutoModelForCausalLM
    from umi_edge.train import from_bundle
    from umi_edge.train.model import resolve_base

    out = convert_run(tiny_run, tmp_path / "b", ConvertOptions(quant="f16", progress=False)).bundle_dir
    base = AutoModelForCausalLM.from_pretrained(str(tiny_model_dir))
    for role in ("planner", "caller", "summarizer"):
        gguf_file = from_bundle.role_adapter_file(out, role)
        got_dir = from_bundle.write_peft_adapter(gguf_file, resolve_base(str(tiny_model_dir)), base, tmp_path / role)
        want, got = _lora(tiny_run / role), _lora(got_dir)
        assert set(got) == {k.replace(".default", "") for k in want} or set(got) == set(want)
        for key, w in want.items():
            g = got[key]
            # F16 in the GGUF; the Q/K lora_b rows un-permuted back to the HF order
            assert g.shape == w.shape and np.abs(g - w).max() < 2e-3 * max(1.0, float(np.abs(w).max())), key
        import json

        cfg = json.loads((got_dir / "adapter_config.json").read_text())
        assert cfg["r"] == 8 and cfg["lora_alpha"] == 16
    with pytest.raises(UserError, match="no global adapter"):
        from_bundle.role_adapter_file(out, "global")


def test_train_continues_a_bundle(tmp_path: Path, compat_base: Path, compat_run: Path, tiny_data_dir: Path) -> None:  # noqa: F811
    from umi_edge.train import config as cfgmod
    from umi_edge.train import glpft

    out = convert_run(compat_run, tmp_path / "b", ConvertOptions(quant="f16", progress=False)).bundle_dir
    cfg = cfgmod.TrainConfig(base=str(compat_base), data=[cfgmod.DataSource(str(tiny_data_dir))])
    cfg.threads, cfg.batch_size, cfg.eval_fraction, cfg.max_steps = 1, 2, 0.1, 1
    cfg.stages, cfg.init_from = ["caller"], str(out)
    cfg.stage["caller"] = cfgmod.StageConfig(lr=1e-2, max_steps=2, warmup_ratio=0.0)  # warmup's first lr is 0
    glpft.start(cfg, tmp_path / "run")
    start = _lora(tmp_path / "run" / "init" / "caller")
    for key, w in _lora(compat_run / "caller").items():
        assert np.abs(start[key] - w).max() < 2e-3 * max(1.0, float(np.abs(w).max())), key
    trained = _lora(tmp_path / "run" / "caller")
    assert set(trained) == set(start)
    assert any(np.abs(trained[k] - start[k]).max() > 0 for k in start), "one step changed nothing"
    cfg2 = cfgmod.TrainConfig(base=str(compat_base), data=[cfgmod.DataSource(str(tiny_data_dir))])
    cfg2.stages, cfg2.init_from = ["global"], str(out)
    with pytest.raises(UserError, match="no global adapter"):
        glpft.start(cfg2, tmp_path / "run2")
