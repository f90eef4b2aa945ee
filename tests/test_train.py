"""GLPFT training on a tiny real llama (tests/tiny.py): masking, truncation, batching, outputs, resume after SIGKILL."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from tiny import build_role_data, tiny_data_dir, tiny_model_dir  # noqa: F401

torch = pytest.importorskip("torch")

from umi_edge.train import config as cfgmod  # noqa: E402
from umi_edge.train import glpft  # noqa: E402
from umi_edge.train.batching import PackCollator, TokenBudgetBatchSampler, build_packs, padding_stats  # noqa: E402
from umi_edge.train.data import load_stage, tokenize  # noqa: E402
from umi_edge.train.trainer import label_position_loss  # noqa: E402

from umi_edge.formats.prompts import model_prompt  # noqa: E402

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def tok(tiny_model_dir):  # noqa: F811
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(str(tiny_model_dir))


def _cfg(model: Path, data: Path, **kw) -> cfgmod.TrainConfig:
    cfg = cfgmod.TrainConfig(base=str(model), data=[cfgmod.DataSource(str(data))])
    cfg.threads, cfg.batch_size, cfg.grad_accum, cfg.eval_fraction = 1, 2, 2, 0.1
    for k, v in kw.items():
        setattr(cfg, k, v)
    return cfg


def test_labels_are_exactly_target_and_eos(tok, tiny_data_dir):  # noqa: F811
    recs = load_stage([cfgmod.DataSource(str(tiny_data_dir))], "caller", seed=0)[:5]
    samples, stats = tokenize(recs, tok, max_length=4096, min_prompt_tokens=16)
    assert stats.prompt_cut == stats.target_cut == 0
    packs = build_packs(samples, 4096, share_prefix=False)
    batch = PackCollator(pad_id=tok.eos_token_id)(packs)
    n_max = batch["input_ids"].shape[1]
    labels_seen = 0
    for row, ((inp, target), s) in enumerate(zip(recs, samples, strict=True)):
        prompt_ids = tok(model_prompt(inp))["input_ids"]
        assert s.input_ids[: s.prompt_len] == prompt_ids
        n = len(s.input_ids)
        assert batch["input_ids"][row, :n].tolist() == s.input_ids
        # loss positions: exactly the ones predicting completion tokens, i.e. target ids + EOS
        assert batch["keep"][row].nonzero().flatten().tolist() == list(range(s.prompt_len - 1, n - 1))
        got = batch["label_targets"][labels_seen : labels_seen + n - s.prompt_len].tolist()
        labels_seen += n - s.prompt_len
        assert got == tok(target, add_special_tokens=False)["input_ids"] + [tok.eos_token_id]
        assert tok.decode(got[:-1]).strip() == target
        mask = batch["attention_mask"][row, 0]
        assert torch.equal(mask[:n, :n], torch.ones(n, n, dtype=torch.bool).tril())  # plain causal attention
        assert not mask[:n, n:].any() and not mask[n:, :n].any()  # padding is invisible
        assert torch.equal(mask[n:, n:], torch.eye(n_max - n, dtype=torch.bool))
    assert labels_seen == len(batch["label_targets"]) == len(batch["label_rows"])


def test_left_truncation_keeps_target_and_bos(tok):
    inp = "You have assess to the following apis:\n" + "filler text with {json: 1} " * 200 + " caller: "
    target = 'Action: calculate_for_calculator\nAction Input: {"expression": "2*3"}'
    (s,), stats = tokenize([(inp, target)], tok, max_length=96, min_prompt_tokens=16)
    full = tok(model_prompt(inp))["input_ids"]
    comp = tok(target, add_special_tokens=False)["input_ids"] + [tok.eos_token_id]
    assert len(s.input_ids) == 96 and stats.prompt_cut == 1
    assert s.input_ids[s.prompt_len :] == comp  # target intact
    assert s.input_ids[0] == tok.bos_token_id  # BOS kept
    assert s.input_ids[1 : s.prompt_len] == full[len(full) - (s.prompt_len - 1) :]  # the END of the prompt kept
    # a target longer than max_length - min_prompt_tokens is cut at its end (and counted)
    (s2,), st2 = tokenize([(inp, target * 20)], tok, max_length=96, min_prompt_tokens=16)
    assert len(s2.input_ids) == 96 and s2.prompt_len == 16 and st2.target_cut == 1


def test_token_budget_batches_padding_and_determinism():
    import random

    rng = random.Random(0)
    lengths = [int(rng.lognormvariate(6.5, 0.6)) + 20 for _ in range(600)]
    sampler = TokenBudgetBatchSampler(lengths, batch_tokens=4096, batch_size=8, seed=3)
    plan = sampler.batches(0)
    assert sorted(i for b in plan for i in b) == list(range(600))  # every pack once per epoch
    assert plan == TokenBudgetBatchSampler(lengths, 4096, 8, 3).batches(0)  # pure function of (seed, epoch)
    assert plan != sampler.batches(1) and len(sampler.batches(1)) == len(plan) == len(sampler)
    for b in plan:
        assert len(b) <= 8 and (len(b) == 1 or len(b) * max(lengths[i] for i in b) <= 4096)
    real, processed = padding_stats(lengths, plan)
    assert 1 - real / processed < 0.15
    naive = [list(range(i, min(i + 4, 600))) for i in range(0, 600, 4)]
    r2, p2 = padding_stats(lengths, naive)
    assert 1 - r2 / p2 > 1 - real / processed  # grouping beats random batches


def test_prefix_sharing_packs_give_the_per_sample_loss(tok, tiny_model_dir, tiny_data_dir):  # noqa: F811
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(str(tiny_model_dir))
    recs = load_stage([cfgmod.DataSource(str(tiny_data_dir))], "planner", seed=0)[:8]
    recs.append(recs[0])  # an exact duplicate: its labels count twice, as in unshared training
    samples, _ = tokenize(recs, tok, max_length=4096, min_prompt_tokens=16)
    packs = build_packs(samples, 4096, share_prefix=True)
    assert len(packs) < len(samples) and sum(len(p) for p in packs) < 0.8 * sum(len(s.input_ids) for s in samples)
    assert sum(p.n_samples for p in packs) == len(samples)
    batch = PackCollator(pad_id=tok.eos_token_id)(packs)
    with torch.no_grad():
        loss_sum, n = label_position_loss(model, batch)
        ref_sum = 0.0
        for s in samples:  # each sample alone, full logits, transformers' own shifted loss
            ids = torch.tensor([s.input_ids])
            labels = ids.clone()
            labels[0, : s.prompt_len] = -100
            ref_sum += float(model(input_ids=ids, labels=labels).loss) * s.completion_len
    assert n == sum(s.completion_len for s in samples)
    assert abs(float(loss_sum) - ref_sum) < 1e-4 * ref_sum


def test_glpft_lora_run_outputs_and_learning(tmp_path, tiny_model_dir, tiny_data_dir):  # noqa: F811
    from peft import PeftModel
    from transformers import AutoModelForCausalLM

    cfg = _cfg(tiny_model_dir, tiny_data_dir, max_steps=4)
    cfg.stage["global"] = cfgmod.StageConfig(lr=2e-2, max_steps=30, warmup_ratio=0.1)
    run = tmp_path / "run"
    rep = glpft.start(cfg, run)
    for stage in cfgmod.STAGES:
        assert (run / stage / "adapter_model.safetensors").is_file()
        info = json.loads((run / stage / "umi_stage.json").read_text())
        assert info["starts_from"] == ("base" if stage == "global" else "global")
        adapter_cfg = json.loads((run / stage / "adapter_config.json").read_text())
        assert adapter_cfg["base_model_name_or_path"] == str(tiny_model_dir)
    assert not (run / glpft.CONFIG_FILE).read_text().count("tiny_data\n")  # sanity: TOML written
    saved = cfgmod.load_saved(run / glpft.CONFIG_FILE)
    assert saved.stage_params("global")["lr"] == 2e-2 and saved.max_steps == 4
    for name in ("train_report.json", "train_report.md", "loss_curve.png"):
        assert (run / name).stat().st_size > 0
    g = rep["stages"]["global"]
    assert g["steps"] == 30 and len(g["loss_curve"]) == 30
    assert g["last_loss"] < g["first_loss"] - 0.5  # a few dozen steps lower the loss
    assert g["eval_loss"] is not None and g["eval_samples"] >= 1 and g["eval_loss"] < g["first_loss"] - 0.5
    assert 0 <= g["padding_ratio"] < 0.15
    assert g["sample_tokens"] > g["processed_tokens"] >= g["real_tokens"] > g["target_tokens"] > 0
    assert g["samples_seen"] > g["samples"] and g["tokens_per_second"] > 0
    assert g["prefix_sharing"] > 1.2 and g["packs"] < g["samples"]  # trajectory steps share their prompt prefix
    assert json.loads((run / "train_report.json").read_text())["stages"].keys() == set(cfgmod.STAGES)

    # the four adapters load with peft on the unchanged base and change its outputs
    ids = torch.tensor([[1, 30, 40, 50, 60, 70]])
    base = AutoModelForCausalLM.from_pretrained(str(tiny_model_dir))
    with torch.no_grad():
        ref = base(ids).logits
    outs = {}
    for stage in cfgmod.STAGES:
        m = PeftModel.from_pretrained(AutoModelForCausalLM.from_pretrained(str(tiny_model_dir)), str(run / stage))
        with torch.no_grad():
            outs[stage] = m(ids).logits
        assert not torch.allclose(outs[stage], ref, atol=1e-4), stage
    assert not torch.allclose(outs["planner"], outs["caller"], atol=1e-5)


def test_full_method_writes_models(tmp_path, tiny_model_dir, tiny_data_dir):  # noqa: F811
    from transformers import AutoModelForCausalLM

    cfg = _cfg(tiny_model_dir, tiny_data_dir, max_steps=2, method="full", stages=["global", "planner"])
    run = tmp_path / "run"
    glpft.start(cfg, run)
    base = AutoModelForCausalLM.from_pretrained(str(tiny_model_dir))
    for stage in ("global", "planner"):
        m = AutoModelForCausalLM.from_pretrained(str(run / stage))
        w0 = base.model.layers[0].mlp.up_proj.weight
        assert not torch.allclose(m.model.layers[0].mlp.up_proj.weight, w0)
    assert not (run / "caller").exists()


def _train_cmd(model: Path, data: Path, run: Path, config: Path, *extra: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "umi_edge",
        "train",
        "--base",
        str(model),
        "--data",
        str(data),
        "-o",
        str(run),
        "--config",
        str(config),
        "--stages",
        "global,planner",
        *extra,
    ]


def _adapter(run: Path, stage: str) -> dict[str, torch.Tensor]:
    from safetensors.torch import load_file

    return load_file(str(run / stage / "adapter_model.safetensors"))


def test_resume_after_sigkill_matches_uninterrupted(tmp_path, tiny_model_dir, capsys):  # noqa: F811
    from umi_edge.cli import main

    data = build_role_data(tmp_path / "data", n_episodes=20)
    config = tmp_path / "cfg.toml"
    config.write_text(
        "threads = 1\nbatch_size = 2\ngrad_accum = 2\nsave_steps = 3\nmax_steps = 3\n"
        "[stage.global]\nlr = 0.01\nmax_steps = 14\n[lora]\ndropout = 0.1\n"
    )
    run = tmp_path / "killed"
    proc = subprocess.Popen(
        _train_cmd(tiny_model_dir, data, run, config),
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    marker = run / glpft.CHECKPOINTS / "global" / "checkpoint-6" / "trainer_state.json"
    try:
        deadline = time.monotonic() + 300
        while not marker.exists() and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.02)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    assert proc.returncode == -signal.SIGKILL
    assert marker.exists() and not (run / "global").exists(), "the run was not interrupted mid-stage"
    full = tmp_path / "uninterrupted"  # the same run without interruption (in this process)
    assert main(_train_cmd(tiny_model_dir, data, full, config)[3:]) == 0

    # without --resume the run directory is refused; with it, training continues and ends where `full` ended
    capsys.readouterr()
    assert main(_train_cmd(tiny_model_dir, data, run, config)[3:]) == 2
    assert "--resume" in capsys.readouterr().err
    assert main(["train", "-o", str(run), "--resume"]) == 0
    rep = json.loads((run / "train_report.json").read_text())
    assert rep["stages"]["global"]["resumed_from_step"] >= 6
    assert rep["stages"]["global"]["steps"] == 14 and rep["stages"]["planner"]["steps"] == 3
    ref_rep = json.loads((full / "train_report.json").read_text())
    for stage in ("global", "planner"):
        a, b = _adapter(full, stage), _adapter(run, stage)
        assert a.keys() == b.keys()
        for k in a:
            assert torch.allclose(a[k], b[k], atol=1e-5, rtol=1e-4), (stage, k, (a[k] - b[k]).abs().max())
        assert rep["stages"][stage]["processed_tokens"] == ref_rep["stages"][stage]["processed_tokens"]
    assert not (run / glpft.CHECKPOINTS).exists()


@pytest.mark.slow
def test_smollm2_lora_few_steps(tmp_path, tiny_data_dir):  # noqa: F811
    """The real default base (GGUF, dequantized) trains with LoRA for a few steps."""
    pytest.importorskip("gguf")
    cfg = cfgmod.TrainConfig(base="smollm2-135m", data=[cfgmod.DataSource(str(tiny_data_dir))])
    cfg.stages, cfg.max_steps, cfg.batch_size, cfg.grad_accum = ["global", "caller"], 3, 2, 1
    rep = glpft.start(cfg, tmp_path / "run")
    assert rep["base_kind"] == "gguf" and rep["stages"]["caller"]["steps"] == 3
    adapter_cfg = json.loads((tmp_path / "run" / "caller" / "adapter_config.json").read_text())
    assert adapter_cfg["base_model_name_or_path"].endswith("SmolLM2-135M-Instruct.Q4_1.gguf")


def test_no_held_out_slice(tmp_path, tiny_model_dir, tiny_data_dir):  # noqa: F811
    """eval_fraction = 0 trains without an eval set instead of crashing on an empty tokenizer call."""
    cfg = _cfg(tiny_model_dir, tiny_data_dir, max_steps=2, eval_fraction=0.0, stages=["global"])
    rep = glpft.start(cfg, tmp_path / "run")
    assert (tmp_path / "run" / "global" / "adapter_model.safetensors").is_file()
    g = rep["stages"]["global"]
    assert g["eval_samples"] == 0 and g["eval_loss"] is None  # no held-out slice, so no evaluation
    assert g["steps"] == 2 and g["samples"] > 0 and g["train_loss"] > 0


def test_init_from_continues_each_stage_from_a_finished_run(tmp_path, tiny_model_dir, tiny_data_dir):  # noqa: F811
    """``init_from``: each stage starts from that stage's adapter of an earlier run, so its first loss is the loss
    where the earlier run ended, far below a fresh start."""
    first = tmp_path / "first"
    cfg = _cfg(tiny_model_dir, tiny_data_dir, stages=["global", "planner"], eval_fraction=0.0)
    cfg.stage["global"] = cfgmod.StageConfig(lr=2e-2, max_steps=30, warmup_ratio=0.1)
    cfg.stage["planner"] = cfgmod.StageConfig(lr=2e-2, max_steps=30, warmup_ratio=0.1)
    rep1 = glpft.start(cfg, first)
    cont = _cfg(tiny_model_dir, tiny_data_dir, stages=["global", "planner"], eval_fraction=0.0, init_from=str(first))
    cont.stage["global"] = cfgmod.StageConfig(lr=1e-3, max_steps=2, warmup_ratio=0.0)
    cont.stage["planner"] = cfgmod.StageConfig(lr=1e-3, max_steps=2, warmup_ratio=0.0)
    rep2 = glpft.start(cont, tmp_path / "second")
    for stage in ("global", "planner"):
        s1, s2 = rep1["stages"][stage], rep2["stages"][stage]
        assert s2["first_loss"] < s1["first_loss"] - 0.5, stage
        info = json.loads((tmp_path / "second" / stage / "umi_stage.json").read_text())
        assert info["starts_from"] == str(first / stage)
    assert cfgmod.load_saved(tmp_path / "second" / glpft.CONFIG_FILE).init_from == str(first)
    # a run without the stage's adapter is refused before any training, naming the missing directory
    with pytest.raises(glpft.UserError, match="no finished caller adapter"):
        glpft.prepare(_cfg(tiny_model_dir, tiny_data_dir, stages=["caller"], init_from=str(first)))


# One precedence rule for every setting `umi-edge train` takes as an option: defaults < config file < command line.
# key: (value in the config file, value on the command line, the config's value from that command-line value)
_PRECEDENCE = {
    "base": ("file-base", "cli-base", "cli-base"),
    "data": ([{"path": "file-data", "weight": 0.5}], [Path("cli-data")], [cfgmod.DataSource("cli-data", 1.0)]),
    "stages": (["global", "planner"], "summarizer,caller", ["caller", "summarizer"]),
    "method": ("full", "lora", "lora"),
    "device": ("cpu", "auto", "auto"),
    "max_steps": (5, 3, 3),
    "epochs": (1.5, 3.0, 3.0),
    "max_length": (512, 256, 256),
    "batch_size": (3, 5, 5),
    "batch_tokens": (1024, 512, 512),
    "grad_accum": (3, 5, 5),
    "seed": (7, 0, 0),
    "init_from": ("file-run", "cli-run", "cli-run"),
}


def test_precedence_covers_every_train_option():
    """Every option of `umi-edge train` that a config can also set goes through cfgmod.resolve."""
    from umi_edge.cli import build_parser

    args = build_parser().parse_args(["train", "-o", "run"])
    assert set(vars(args)) - {"command", "func", "output", "config", "resume", "force"} == set(cfgmod.OPTIONS)
    assert set(_PRECEDENCE) == set(cfgmod.OPTIONS)


@pytest.mark.parametrize("key", sorted(_PRECEDENCE))
def test_command_line_wins_over_config_file_over_defaults(tmp_path, key):
    import tomli_w

    in_file, on_cli, expected = _PRECEDENCE[key]
    path = tmp_path / "train.toml"
    path.write_text(tomli_w.dumps({key: in_file}))
    none = dict.fromkeys(cfgmod.OPTIONS)
    default = getattr(cfgmod.TrainConfig(), key)
    assert getattr(cfgmod.resolve(None, none)[0], key) == default
    from_file = getattr(cfgmod.resolve(path, none)[0], key)
    assert from_file != default and from_file == getattr(cfgmod.from_dict({key: in_file}, "f"), key)
    assert getattr(cfgmod.resolve(path, {**none, key: on_cli})[0], key) == expected


def test_command_line_training_length_holds_for_every_stage(tmp_path):
    """--max-steps / --epochs replace the file's per-stage values too (the default bundle's recipe sets them)."""
    path = tmp_path / "train.toml"
    path.write_text(
        "max_steps = 5\n[stage.global]\nmax_steps = 55\nepochs = 4\nlr = 1e-3\n[stage.planner]\nmax_steps = 70\n"
    )
    none = dict.fromkeys(cfgmod.OPTIONS)
    cfg, notes = cfgmod.resolve(path, none)
    assert [cfg.stage_params(s)["max_steps"] for s in cfgmod.STAGES] == [55, 70, 5, 5] and notes == []

    cfg, notes = cfgmod.resolve(path, {**none, "max_steps": 3})
    assert [cfg.stage_params(s)["max_steps"] for s in cfgmod.STAGES] == [3, 3, 3, 3]
    assert cfg.stage_params("global")["lr"] == 1e-3 and cfg.stage_params("global")["epochs"] == 4  # untouched
    assert notes == ["--max-steps replaces the config's [stage.*] max_steps: global 55, planner 70"]

    cfg, notes = cfgmod.resolve(path, {**none, "epochs": 1.0})  # the file's max_steps would override the epochs
    assert [(cfg.stage_params(s)["epochs"], cfg.stage_params(s)["max_steps"]) for s in cfgmod.STAGES] == [(1.0, -1)] * 4
    assert len(notes) == 3 and "max_steps = 5" in notes[1]

    cfg, _ = cfgmod.resolve(path, {**none, "epochs": 1.0, "max_steps": 2})
    assert [(cfg.stage_params(s)["epochs"], cfg.stage_params(s)["max_steps"]) for s in cfgmod.STAGES] == [(1.0, 2)] * 4


def test_data_option_replaces_the_config_mix_and_says_so(tmp_path):
    path = tmp_path / "train.toml"
    path.write_text('[[data]]\npath = "a"\n[[data]]\npath = "b"\nweight = 0.5\n')
    none = dict.fromkeys(cfgmod.OPTIONS)
    cfg, notes = cfgmod.resolve(path, none)
    assert cfg.data == [cfgmod.DataSource("a", 1.0), cfgmod.DataSource("b", 0.5)] and notes == []
    cfg, notes = cfgmod.resolve(path, {**none, "data": [Path("c"), Path("d")]})
    assert cfg.data == [cfgmod.DataSource("c"), cfgmod.DataSource("d")]
    assert notes == ["--data replaces the config's [[data]] mix: a (weight 1), b (weight 0.5)"]
    assert cfgmod.resolve(None, {**none, "data": [Path("c")]})[1] == []  # nothing replaced, nothing said
