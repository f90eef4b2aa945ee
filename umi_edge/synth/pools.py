"""Split-aware sampling of values, entities and paraphrases.

Every value domain (a range of numbers, a list of names, a family's list of paraphrases) is cut into a *train* part
and a *held-out* part by a stable hash of the item, so ``--split train`` and ``--split heldout`` never draw the same
value and no (template, values) instance occurs in both splits, while both splits keep the same kind of values
(same magnitudes, same number formats). Held-out paraphrases are every fourth template of a family; the held-out
split uses them for half of its tasks and the train templates (with held-out values) for the other half.

Hand-written: no library partitions value domains by a stable hash; it is a few lines over :func:`zlib.crc32`.
"""

from __future__ import annotations

import math
import random
import zlib
from collections.abc import Sequence
from typing import Literal, TypeVar

Split = Literal["train", "heldout"]
SPLITS: tuple[str, ...] = ("train", "heldout")

T = TypeVar("T")

HELDOUT_SHARE = 5
"""One value in ``HELDOUT_SHARE`` (by hash) belongs to the held-out split."""
HELDOUT_TEMPLATE_EVERY = 4
"""Template ``i`` of a family is held-out-only when ``i % HELDOUT_TEMPLATE_EVERY == HELDOUT_TEMPLATE_EVERY - 1``."""


def in_split(item: object, split: Split) -> bool:
    """Whether ``item`` (by its ``repr``) belongs to ``split``."""
    heldout = zlib.crc32(repr(item).encode("utf-8")) % HELDOUT_SHARE == 0
    return heldout if split == "heldout" else not heldout


def choice(rng: random.Random, items: Sequence[T], split: Split) -> T:
    """A random item of ``items`` from the part that belongs to ``split`` (the whole list if that part is empty)."""
    part = [x for x in items if in_split(x, split)] or list(items)  # a tiny list may have no item of a split
    return rng.choice(part)


def sample(rng: random.Random, items: Sequence[T], k: int, split: Split) -> list[T]:
    """``k`` distinct random items of ``items`` from the part that belongs to ``split``."""
    part = [x for x in items if in_split(x, split)]
    if len(part) < k:  # a tiny list may not have k items of a split
        part = list(items)
    return rng.sample(part, k)


def integer(rng: random.Random, lo: int, hi: int, split: Split, *, tag: str = "") -> int:
    """A random integer in ``[lo, hi]`` from the part of the range that belongs to ``split``.

    ``tag`` names the domain, so the same number can be train in one domain and held-out in another. A small range
    that has no number of ``split`` gives any number of the range (the task's other values still differ).
    """
    if hi - lo < 500:
        part = [n for n in range(lo, hi + 1) if in_split((tag, n), split)]
        return rng.choice(part) if part else rng.randint(lo, hi)
    for _ in range(1000):
        n = rng.randint(lo, hi)
        if in_split((tag, n), split):
            return n
    raise ValueError(f"no {split} integer found in [{lo}, {hi}]")


def decimal(rng: random.Random, lo: float, hi: float, places: int, split: Split, *, tag: str = "") -> float:
    """A random number with ``places`` decimals in ``[lo, hi]``, from the part that belongs to ``split``."""
    scale = 10**places
    n = integer(rng, math.ceil(lo * scale), math.floor(hi * scale), split, tag=tag)
    return round(n / scale, places)


def template(rng: random.Random, templates: Sequence[str], split: Split) -> tuple[int, str]:
    """Pick a paraphrase: ``(index, text)``. Train uses train templates; held-out uses held-out ones half the time."""
    every = HELDOUT_TEMPLATE_EVERY
    train_ids = [i for i in range(len(templates)) if len(templates) < every or i % every != every - 1]
    held_ids = [i for i in range(len(templates)) if i not in train_ids]
    if split == "heldout" and held_ids and rng.random() < 0.5:
        i = rng.choice(held_ids)
    else:
        i = rng.choice(train_ids)
    return i, templates[i]


def fmt_num(x: float) -> str:
    """A number as people write it: ``12`` not ``12.0``, ``0.5`` not ``.5``, no exponent for ordinary sizes."""
    if isinstance(x, int) or float(x).is_integer():
        return str(int(x))
    return f"{x:.10f}".rstrip("0").rstrip(".")
