"""The stage trainer: ``transformers.Trainer`` on prefix-sharing packs, with logits only at label positions.

Why ``transformers.Trainer`` and not TRL's ``SFTTrainer``: TRL tokenizes prompt + completion jointly and truncates
from the right (the target would be cut), and computes logits over the whole vocabulary at every position. Here the
samples are tokenized by :mod:`umi_edge.train.data` (prompt alone, then completion; cut from the left), packed
with shared prefixes by :mod:`umi_edge.train.batching`, and the loss
asks the model for logits only where a label exists, through transformers' ``logits_to_keep`` boolean mask: with a
49k vocabulary the LM head is a third of a small model's forward cost and prompts are most of the tokens.
The loss is summed over label tokens and divided by the label count of the whole accumulated batch
(``num_items_in_batch``), so gradient accumulation and multi-GPU (DDP via ``accelerate launch`` / ``torchrun``)
give the token-mean loss of the global batch. Everything else (optimizer, scheduler, checkpoints, RNG states,
resume, DDP) is the standard Trainer path.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from transformers import Trainer, TrainerCallback

from .batching import PackDataset, TokenBudgetBatchSampler

WALL_FILE = "umi_wall.json"


def label_position_loss(model: torch.nn.Module, batch: dict[str, Any]) -> tuple[torch.Tensor, int]:
    """(sum of cross-entropy over the batch's label pairs, number of pairs), with logits computed only at the
    positions that carry a label (a batch from :class:`~umi_edge.train.batching.PackCollator`)."""
    out = model(
        input_ids=batch["input_ids"],
        attention_mask=batch["attention_mask"],
        position_ids=batch["position_ids"],
        logits_to_keep=batch["keep"],
    )
    logits = out.logits.float()[batch["label_rows"]]  # (n_labels, vocab)
    target = batch["label_targets"]
    return F.cross_entropy(logits, target, reduction="sum"), int(target.numel())


class CompletionTrainer(Trainer):
    """Trainer over :class:`PackDataset` with token-budget batches and a label-positions-only loss."""

    def __init__(self, *args: Any, batch_seed: int, batch_tokens: int, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.batch_seed = batch_seed
        self.batch_tokens = batch_tokens
        self.model_accepts_loss_kwargs = True  # we normalise by num_items_in_batch ourselves
        self.session_tokens = 0  # processed tokens (incl. padding) in this process

    def batch_sampler(self) -> TokenBudgetBatchSampler:
        ds: PackDataset = self.train_dataset
        lengths = [len(p) for p in ds.packs]
        return TokenBudgetBatchSampler(
            lengths, self.batch_tokens, self.args.per_device_train_batch_size, self.batch_seed
        )

    def get_train_dataloader(self) -> torch.utils.data.DataLoader:
        dl = torch.utils.data.DataLoader(
            self.train_dataset,
            batch_sampler=self.batch_sampler(),
            collate_fn=self.data_collator,
            num_workers=0,
        )
        return self.accelerator.prepare(dl)

    def _get_num_items_in_batch(self, batch_samples: list, device: torch.device) -> torch.Tensor | int | None:
        n = torch.tensor(sum(int(b["label_targets"].numel()) for b in batch_samples), device=device)
        if self.args.average_tokens_across_devices and self.args.world_size > 1:
            n = self.accelerator.gather(n).sum()
        return n

    def compute_loss(
        self,
        model: torch.nn.Module,
        inputs: dict[str, Any],
        return_outputs: bool = False,
        num_items_in_batch: torch.Tensor | int | None = None,
    ) -> Any:
        if model.training:
            self.session_tokens += int(inputs["input_ids"].numel())
        loss_sum, n_labels = label_position_loss(model, inputs)
        if num_items_in_batch is not None:
            loss = loss_sum / num_items_in_batch
            if self.args.average_tokens_across_devices and self.args.world_size > 1:
                loss = loss * self.args.world_size
        else:
            loss = loss_sum / max(1, n_labels)
        return (loss, None) if return_outputs else loss

    def prediction_step(self, model, inputs, prediction_loss_only, ignore_keys=None):
        inputs = self._prepare_inputs(inputs)
        with torch.no_grad(), self.compute_loss_context_manager():
            loss = self.compute_loss(model, inputs)
        return loss.detach(), None, None


class TimedSaveCallback(TrainerCallback):
    """Also checkpoint every ``minutes`` of wall time (CPU steps are slow); keeps elapsed wall time in checkpoints."""

    def __init__(self, minutes: float, prior_seconds: float = 0.0) -> None:
        self.every = minutes * 60
        self.prior = prior_seconds
        self.start = time.monotonic()
        self.last = self.start

    def elapsed(self) -> float:
        return self.prior + time.monotonic() - self.start

    def on_step_end(self, args, state, control, **kwargs):
        if time.monotonic() - self.last >= self.every:
            control.should_save = True
        return control

    def on_save(self, args, state, control, **kwargs):
        self.last = time.monotonic()
        ckpt = Path(args.output_dir) / f"checkpoint-{state.global_step}"
        if ckpt.is_dir() and args.process_index == 0:
            (ckpt / WALL_FILE).write_text(json.dumps({"wall_seconds": self.elapsed()}))
        return control


class ProgressCallback(TrainerCallback):
    """A tqdm bar per stage with loss, processed tokens/s and ETA."""

    def __init__(self, stage: str, trainer_ref: list[CompletionTrainer]) -> None:
        self.stage = stage
        self.ref = trainer_ref
        self.bar: Any = None
        self.t0 = 0.0

    def on_train_begin(self, args, state, control, **kwargs):
        from tqdm.auto import tqdm

        if state.is_world_process_zero:
            self.bar = tqdm(total=state.max_steps, initial=state.global_step, desc=f"train {self.stage}", unit="step")
        self.t0 = time.monotonic()

    def on_log(self, args, state, control, logs=None, **kwargs):
        if self.bar is None or not logs or "loss" not in logs:
            return
        dt = max(1e-9, time.monotonic() - self.t0)
        tr = self.ref[0]
        self.bar.set_postfix(loss=f"{logs['loss']:.4f}", tok_s=f"{tr.session_tokens / dt:.0f}", refresh=False)

    def on_step_end(self, args, state, control, **kwargs):
        if self.bar is not None:
            self.bar.update(state.global_step - self.bar.n)

    def on_train_end(self, args, state, control, **kwargs):
        if self.bar is not None:
            self.bar.close()
            self.bar = None


def latest_checkpoint(ckpt_dir: Path) -> Path | None:
    """The newest complete checkpoint (``trainer_state.json`` is written last and must parse), else None."""
    if not ckpt_dir.is_dir():
        return None
    found = []
    for d in ckpt_dir.glob("checkpoint-*"):
        try:
            step = int(d.name.split("-", 1)[1])
            json.loads((d / "trainer_state.json").read_text())
        except (ValueError, OSError):
            continue
        found.append((step, d))
    return max(found)[1] if found else None


def checkpoint_wall_seconds(ckpt: Path | None) -> float:
    if ckpt is None:
        return 0.0
    try:
        return float(json.loads((ckpt / WALL_FILE).read_text())["wall_seconds"])
    except (OSError, ValueError, KeyError):
        return 0.0
