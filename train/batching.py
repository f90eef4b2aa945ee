"""Prefix-sharing packs, token-budget batches and the collator.

α-UMi samples of one trajectory repeat the same long prompt prefix (tool docs + the history so far): each step's
prompt extends the previous one. So samples are sorted by their token ids and consecutive ones are merged into a
**pack**: a token trie flattened into one sequence, where every token attends exactly to its ancestors in the trie
(a 4-D boolean attention mask) at its depth as position id. Every token then sees exactly the context it has in its
own sample, so logits and loss equal those of the samples trained one by one (tests check it), while shared
prefixes are computed once: about 2x fewer tokens on ToolBench planner / caller / backbone data.
The loss is a list of (position, target id) pairs: a trie node shared by several samples may predict several labels.
With ``share_prefix`` off every pack holds one sample (plain causal attention).

Hand-written (no library packs trees of prompts); the attention itself is transformers' SDPA with that mask.

Batches: packs sorted by length are cut into batches of at most ``batch_tokens`` padded tokens (and at most
``batch_size`` packs); the batches are fixed for the run and only their order is shuffled per epoch, as a pure
function of (seed, epoch), so the padding of a run is known exactly and a resumed run sees the same batches.
"""

from __future__ import annotations

import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import torch

from .data import Sample


@dataclass
class Pack:
    """One training sequence: trie nodes in an order where parents come first, plus the (position, label) pairs."""

    input_ids: list[int]
    parent: list[int]
    depth: list[int]
    label_pos: list[int]
    label_tok: list[int]
    n_samples: int
    sample_tokens: int  # tokens of its samples one by one (what an unshared trainer would process)

    def __len__(self) -> int:
        return len(self.input_ids)


def build_packs(samples: Sequence[Sample], max_tokens: int, share_prefix: bool = True) -> list[Pack]:
    """Pack samples (sorted by token ids, so shared prefixes are neighbours) into tries of at most ``max_tokens``;
    a sample joins the current pack when at least a quarter of its tokens are already there."""
    order = sorted(range(len(samples)), key=lambda i: samples[i].input_ids) if share_prefix else range(len(samples))
    packs: list[Pack] = []
    cur: Pack | None = None
    children: list[dict[int, int]] = []
    for i in order:
        s = samples[i]
        if cur is not None and share_prefix:
            # nodes this sample would add to the current pack
            node, shared = -1, 0
            for t in s.input_ids:
                nxt = children[node + 1].get(t)
                if nxt is None:
                    break
                node, shared = nxt, shared + 1
            # join only when at least a quarter of the sample is shared (else the pack grows, and attention with
            # it, for little) and the pack stays within max_tokens
            if shared * 4 < len(s.input_ids) or len(cur) + len(s.input_ids) - shared > max_tokens:
                cur = None
        if cur is None or not share_prefix:
            cur = Pack([], [], [], [], [], 0, 0)
            children = [{}]  # children[node + 1]: token -> node; index 0 is the virtual root
            packs.append(cur)
        path = []
        node = -1
        for d, t in enumerate(s.input_ids):
            nxt = children[node + 1].get(t)
            if nxt is None:
                nxt = len(cur.input_ids)
                cur.input_ids.append(t)
                cur.parent.append(node)
                cur.depth.append(d)
                children[node + 1][t] = nxt
                children.append({})
            path.append(nxt)
            node = nxt
        for d in range(s.prompt_len - 1, len(s.input_ids) - 1):
            cur.label_pos.append(path[d])
            cur.label_tok.append(s.input_ids[d + 1])
        cur.n_samples += 1
        cur.sample_tokens += len(s.input_ids)
    return packs


class TokenBudgetBatchSampler(torch.utils.data.Sampler[list[int]]):
    """Fixed batches of similar-length packs within a padded-token budget; their order shuffled per epoch."""

    def __init__(self, lengths: Sequence[int], batch_tokens: int, batch_size: int, seed: int) -> None:
        self.lengths = list(lengths)
        self.seed = seed
        self.epoch = 0
        order = sorted(range(len(self.lengths)), key=lambda i: (self.lengths[i], i))
        self.fixed: list[list[int]] = []
        cur: list[int] = []
        for i in order:  # ascending: the last one added is the longest of its batch
            if cur and ((len(cur) + 1) * self.lengths[i] > batch_tokens or len(cur) >= batch_size):
                self.fixed.append(cur)
                cur = []
            cur.append(i)
        if cur:
            self.fixed.append(cur)

    def set_epoch(self, epoch: int) -> None:
        self.epoch = int(epoch)

    def batches(self, epoch: int) -> list[list[int]]:
        """The batch plan of one epoch (lists of pack indices)."""
        out = [list(b) for b in self.fixed]
        random.Random(self.seed * 1_000_003 + epoch).shuffle(out)
        return out

    def __iter__(self) -> Iterator[list[int]]:
        return iter(self.batches(self.epoch))

    def __len__(self) -> int:
        return len(self.fixed)


def padding_stats(lengths: Sequence[int], batches: list[list[int]]) -> tuple[int, int]:
    """(real tokens, processed tokens incl. padding) of a batch plan."""
    real = sum(lengths[i] for b in batches for i in b)
    processed = sum(len(b) * max(lengths[i] for i in b) for b in batches)
    return real, processed


class PackCollator:
    """Pads packs into a batch: input_ids, a 4-D boolean ancestor mask, position_ids, and the label pairs.

    ``keep`` marks positions whose logits are needed (row-major order = the order of the model's logits rows);
    ``label_rows`` index those rows, ``label_targets`` are the ids to predict there.
    """

    def __init__(self, pad_id: int) -> None:
        self.pad_id = pad_id

    def __call__(self, packs: list[Pack]) -> dict[str, Any]:
        b, n = len(packs), max(len(p) for p in packs)
        ids = torch.full((b, n), self.pad_id, dtype=torch.long)
        pos = torch.zeros((b, n), dtype=torch.long)
        mask = torch.zeros((b, 1, n, n), dtype=torch.bool)
        keep = torch.zeros((b, n), dtype=torch.bool)
        flat_pos: list[int] = []
        targets: list[int] = []
        for r, p in enumerate(packs):
            m = len(p)
            ids[r, :m] = torch.tensor(p.input_ids)
            pos[r, :m] = torch.tensor(p.depth)
            anc = mask[r, 0]
            for i, par in enumerate(p.parent):
                if par >= 0:
                    anc[i] = anc[par]
                anc[i, i] = True
            idx = torch.arange(m, n)
            anc[idx, idx] = True  # padding attends to itself only (no fully masked rows)
            keep[r, p.label_pos] = True
            flat_pos.extend(r * n + q for q in p.label_pos)
            targets.extend(p.label_tok)
        row_of = torch.cumsum(keep.flatten(), 0) - 1
        return {
            "input_ids": ids,
            "attention_mask": mask,
            "position_ids": pos,
            "keep": keep,
            "label_rows": row_of[torch.tensor(flat_pos, dtype=torch.long)],
            "label_targets": torch.tensor(targets, dtype=torch.long),
        }


class PackDataset(torch.utils.data.Dataset):
    def __init__(self, packs: list[Pack]) -> None:
        self.packs = packs

    def __len__(self) -> int:
        return len(self.packs)

    def __getitem__(self, i: int) -> Pack:
        return self.packs[i]
