"""Shared pieces of the task families: the family record, tool offers, phrase banks and number text."""

from __future__ import annotations

import json
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from umi_edge.synth.pools import Split
from umi_edge.synth.task import Recipe

Maker = Callable[[random.Random, Split, Sequence[str]], Recipe]


@dataclass(frozen=True)
class Family:
    """A task family: the built-in tools it needs, its share of the mix, and its task maker.

    ``make(rng, split, available)`` builds one task; ``available`` is the ordered list of tool names that may be
    offered (the task offers its own tools plus a few distractors from it).
    """

    name: str
    needs: tuple[str, ...]
    weight: float
    make: Maker
    description: str = ""
    brings_tools: bool = False
    """Its tasks bring tools of their own (not built-ins): left out when ``--tools`` limits the built-ins, unless
    ``--families`` names it."""


def offer(rng: random.Random, needed: Sequence[str], available: Sequence[str]) -> list[str]:
    """The tools a task offers: ``needed`` plus 0-1 random distractors (2 in 3 tasks; prompts stay short),
    in the registry's order."""
    others = [n for n in available if n not in needed]
    k = min(len(others), rng.choice((0, 1, 1)))
    chosen = set(needed) | set(rng.sample(others, k))
    return [n for n in available if n in chosen]


def say(rng: random.Random, options: Sequence[str], **values: Any) -> str:
    """One of ``options`` with ``{slots}`` filled."""
    return rng.choice(options).format(**values)


def num(value: float | int) -> str:
    """A number exactly as the tools' JSON shows it (so the conclusion copies the observation)."""
    return json.dumps(value)


def quote(s: str) -> str:
    """A Python string literal for generated code."""
    return repr(s)


FINISH_THOUGHTS = [
    "The result is {r}, which answers the question.",
    "I have the answer: {r}.",
    "The tool returned {r}, so I can answer now.",
    "That gives {r}; I can reply to the user.",
    "The answer is {r}.",
]
"""Closing planner thoughts after a successful call (``{r}``: the result as the observation shows it)."""
