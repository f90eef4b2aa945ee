"""Generate synthetic episodes: pick families, build tasks per split, run them with the real tools; export the
trajectories, the per-role samples, executable tasks and a report.

Each task ``i`` gets its own random stream seeded from ``(seed, split, i)``, so a run is deterministic for a seed;
an instance (family, template, values) or a query already produced in the run is drawn again. Splits are kept
apart three ways: values and entities come from the split's part of each pool, every fourth paraphrase is
held-out-only, and the query text must hash into the split.
"""

from __future__ import annotations

import dataclasses
import random
import statistics
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from umi_edge.augment import EARLIER_TURNS, OFF, AugmentOptions, variants
from umi_edge.errors import UserError
from umi_edge.eval.matching import matches
from umi_edge.formats.prompts import Style, model_prompt
from umi_edge.formats.samples import role_samples
from umi_edge.synth import phrasing
from umi_edge.synth.families import FAMILIES, Family
from umi_edge.synth.pools import Split, in_split
from umi_edge.synth.runner import Episode, run_task
from umi_edge.synth.task import Recipe
from umi_edge.tools import ToolRegistry, builtin_registry

MAX_REDRAWS = 200
ROLES = ("backbone", "planner", "caller", "summarizer")


def select_families(available: Sequence[str], names: Iterable[str] | None = None) -> list[Family]:
    """The families whose tools are all ``available`` (and, when given, whose name is in ``names``)."""
    known = {f.name for f in FAMILIES}
    wanted = None if names is None else list(names)
    if wanted is not None:
        unknown = [n for n in wanted if n not in known]
        if unknown:
            raise UserError(f"--families: unknown family {unknown[0]!r}; known: {', '.join(sorted(known))}")
    out = [f for f in FAMILIES if all(t in available for t in f.needs) and (wanted is None or f.name in wanted)]
    if not out:
        raise UserError("no task family can be generated with the selected tools and families")
    return out


def draw_task(
    rng: random.Random, fams: Sequence[Family], weights: Sequence[float], split: Split, available: Sequence[str]
) -> Recipe:
    """Draw one task of ``split``. Besides the split's own values and templates, the query text itself must hash
    into the split, so no query (even one without values, such as a greeting) occurs in both splits."""
    for _ in range(MAX_REDRAWS):
        task = rng.choices(fams, weights)[0].make(rng, split, available)
        if in_split(("query", task.query), split):  # the template's own text decides the split, then it is varied
            return dataclasses.replace(task, query=phrasing.vary(task.query, rng, split, keep=str(task.expected or "")))
    raise UserError(f"cannot draw a {split} task from the selected families")


def synthesize(
    n: int,
    seed: int,
    split: Split = "train",
    *,
    registry: ToolRegistry | None = None,
    tools: Sequence[str] | None = None,
    families: Iterable[str] | None = None,
    progress: Callable[[int], object] | None = None,
) -> list[Episode]:
    """``n`` executed episodes of ``split``; ``tools`` limits the tools offered (default: every built-in).

    A task with an alternative solution contributes two consecutive episodes (same instruction, different action
    sequence). ``progress`` is called with the number of episodes each step adds.
    """
    registry = registry or builtin_registry()
    available = [t for t in registry.names() if tools is None or t in tools]
    fams = select_families(available, families)
    if tools is not None and families is None:  # only the chosen built-ins: no family that brings its own tools
        fams = [f for f in fams if not f.brings_tools] or fams
    weights = [f.weight for f in fams]
    seen: set[tuple[Any, ...]] = set()
    episodes: list[Episode] = []
    i = 0
    while len(episodes) < n:
        rng = random.Random(f"umi-edge-synth:{seed}:{split}:{i}")
        i += 1
        for _ in range(MAX_REDRAWS):
            task = draw_task(rng, fams, weights, split, available)
            if task.key in seen or ("query", task.query) in seen:
                continue
            episode = run_task(task, registry)
            if not _answer_in_query(episode):
                break
        else:
            raise UserError(f"--n {n}: cannot draw that many distinct tasks from the selected families")
        seen |= {task.key, ("query", task.query)}
        new = [episode]
        if task.alternative is not None and len(episodes) + 1 < n:
            new.append(run_task(dataclasses.replace(task, solve=task.alternative, alternative=None), registry))
            new[-1].alternative = True
        episodes.extend(new)
        if progress is not None:
            progress(len(new))
    return episodes


def _answer_in_query(ep: Episode) -> bool:
    """A numeric answer that the query already states would let any echo pass the ``number`` check: redraw."""
    if ep.match != "number" or isinstance(ep.answer, list):
        return False
    return matches(ep.recipe.query, [ep.answer], "number")


def episode_id(family: str, split: Split, seed: int, i: int) -> str:
    """A task id that names its family (so per-family success can be read from eval reports)."""
    return f"{family}-{split}{seed}-{i:05d}"


def trajectory_record(ep: Episode, ident: str) -> dict[str, Any]:
    """The stage-2 record, plus the task's id, family, template and checkable answer."""
    return {
        "tools": ep.tools,
        "instruction": ep.recipe.query,
        "conversations": ep.conversations,
        "id": ident,
        "family": ep.recipe.family,
        "template": ep.recipe.template,
        "answer": ep.answer,
        "match": ep.match,
        "alternative": ep.alternative,
    }


def role_records(
    trajectories: Sequence[dict[str, Any]], style: Style = "toolbench", augment: AugmentOptions = OFF
) -> dict[str, list[dict[str, Any]]]:
    """Per-role samples of every trajectory (``umi_edge.formats.samples.role_samples``), each trajectory varied by
    ``augment`` first (:mod:`umi_edge.augment`; the earlier questions drawn from the finished trajectories here), plus
    the samples of its irrelevant twin when one is drawn."""
    finished = [
        (rec["instruction"], rec["conversations"][-1]["value"])
        for rec in trajectories
        if rec["conversations"] and rec["conversations"][-1]["from"] == "conclusion"
    ]
    out: dict[str, list[dict[str, Any]]] = {r: [] for r in ROLES}
    for rec in trajectories:
        for varied in variants(rec, augment, finished):
            skip = varied.get(EARLIER_TURNS, 0)
            for role, recs in role_samples(varied, style=style).items():
                out[role].extend(r for r in recs if len(r["history"]) >= skip)
    return out


def _stats(values: Sequence[int]) -> dict[str, float]:
    if not values:
        return {}
    s = sorted(values)
    return {
        "mean": round(statistics.fmean(s), 1),
        "p50": s[len(s) // 2],
        "p90": s[min(len(s) - 1, int(len(s) * 0.9))],
        "max": s[-1],
    }


def report(episodes: Sequence[Episode], samples: dict[str, list[dict[str, Any]]], **meta: Any) -> dict[str, Any]:
    """Counts per family / template / plan, calls per episode, and character lengths per role."""
    families = Counter(ep.recipe.family for ep in episodes)
    calls = Counter(ep.calls for ep in episodes)
    outcome = Counter("give_up" if ep.gave_up else ("direct" if ep.calls == 0 else "tools") for ep in episodes)
    lengths = {}
    for role, recs in samples.items():
        lengths[role] = {
            "samples": len(recs),
            "prompt_chars": _stats([len(model_prompt(r["input"])) for r in recs]),
            "target_chars": _stats([len(r["target"]) for r in recs]),
        }
    return {
        **meta,
        "trajectories": len(episodes),
        "families": dict(sorted(families.items())),
        "templates": len({ep.recipe.template for ep in episodes}),
        "outcomes": dict(sorted(outcome.items())),
        "alternative_solutions": sum(ep.alternative for ep in episodes),
        "calls_per_trajectory": {str(k): v for k, v in sorted(calls.items())},
        "tools_offered": _stats([len(ep.tools) for ep in episodes]),
        "lengths": lengths,
    }
