"""Length-grouped batches and the padding collator.

Hand-written because transformers' ``group_by_length`` sampler draws from the global RNG and sorts only within
"megabatches" of 50 batches by its own rules: here the batch plan of every epoch is a pure function of
(seed, epoch), so the padding of a run can be computed exactly for the report, and a resumed run sees the
same batches as an uninterrupted one. Each epoch: shuffle, cut into groups of ``group_size`` batches, sort each group
by length, cut into batches, shuffle the batch order.
"""

from __future__ import annotations

import random
from collections.abc import Iterator, Sequence
from typing import Any

import torch

from .data import Sample

IGNORE_INDEX = -100


class LengthGroupedBatchSampler(torch.utils.data.Sampler[list[int]]):
    """Batches of similar-length samples, deterministic per (seed, epoch); ``set_epoch`` picks the epoch."""

    def __init__(self, lengths: Sequence[int], batch_size: int, seed: int, group_size: int = 64) -> None:
        self.lengths = list(lengths)
        self.batch_size = batch_size
        self.seed = seed
        self.group_size = group_size
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = int(epoch)

    def batches(self, epoch: int) -> list[list[int]]:
        """The batch plan of one epoch (lists of sample indices)."""
        rng = random.Random(self.seed * 1_000_003 + epoch)
        idx = list(range(len(self.lengths)))
        rng.shuffle(idx)
        span = self.batch_size * self.group_size
        out: list[list[int]] = []
        for g in range(0, len(idx), span):
            group = sorted(idx[g : g + span], key=lambda i: self.lengths[i], reverse=True)
            out.extend(group[b : b + self.batch_size] for b in range(0, len(group), self.batch_size))
        rng.shuffle(out)
        return out

    def __iter__(self) -> Iterator[list[int]]:
        return iter(self.batches(self.epoch))

    def __len__(self) -> int:
        return (len(self.lengths) + self.batch_size - 1) // self.batch_size


def padding_stats(lengths: Sequence[int], batches: list[list[int]]) -> tuple[int, int]:
    """(real tokens, processed tokens incl. padding) of a batch plan."""
    real = sum(lengths[i] for b in batches for i in b)
    processed = sum(len(b) * max(lengths[i] for i in b) for b in batches)
    return real, processed


class Collator:
    """Right-pads a list of :class:`Sample` s: input_ids, attention_mask, labels (-100 on prompt and padding)."""

    def __init__(self, pad_id: int) -> None:
        self.pad_id = pad_id

    def __call__(self, samples: list[Sample]) -> dict[str, Any]:
        n = max(len(s.input_ids) for s in samples)
        ids = torch.full((len(samples), n), self.pad_id, dtype=torch.long)
        mask = torch.zeros((len(samples), n), dtype=torch.long)
        labels = torch.full((len(samples), n), IGNORE_INDEX, dtype=torch.long)
        for row, s in enumerate(samples):
            t = torch.tensor(s.input_ids, dtype=torch.long)
            ids[row, : len(t)] = t
            mask[row, : len(t)] = 1
            labels[row, s.prompt_len : len(t)] = t[s.prompt_len :]
        return {"input_ids": ids, "attention_mask": mask, "labels": labels}


class SampleDataset(torch.utils.data.Dataset):
    def __init__(self, samples: list[Sample]) -> None:
        self.samples = samples

    def __len__(self) -> int:
        return len(self.samples)

    def __getitem__(self, i: int) -> Sample:
        return self.samples[i]
