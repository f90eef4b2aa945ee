"""Plan ACC of one recorded ``eval static`` run under the finish checks, with and without service failures.

``eval static --finish-checks`` records the planner's own turn at each step (``raw.planner``) and labels it with the
runtime's checks. The checks read only the gold history and the docs, so a recorded run can be labelled again
exactly, without the model: by the planner alone, by the checks as they were in session 20 (a failed call is an
empty observation or a JSON ``{"error": ...}``, :func:`umi_edge.agent.unfinished.error_object`), and by today's
checks (service messages too, :func:`umi_edge.agent.unfinished.service_failure`). Both figures then come from one
run::

    python benchmarks/relabel_finish_checks.py GOLD.json PRED.jsonl [-o out.json]
"""

from __future__ import annotations

import argparse
import json
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from umi_edge.agent import unfinished
from umi_edge.eval.static import GoldStep, finish_check, load_gold
from umi_edge.formats.parse import parse_plan


@contextmanager
def failure_rule(rule: Callable[[str], bool]) -> Iterator[None]:
    """The finish checks with ``rule`` as what counts as a failed call."""
    saved = unfinished.failed
    unfinished.failed = rule
    try:
        yield
    finally:
        unfinished.failed = saved


def label(step: GoldStep, own: str) -> str:
    """The label the finish checks give the planner's own label ``own`` at ``step``."""
    if own != "finish":
        return own
    why = finish_check(step)
    return own if why is None else why.plan().label


def relabel(gold_path: Path, pred_path: Path) -> dict[str, Any]:
    gold = {(s.dialogue, s.step): s for d in load_gold(gold_path) for s in d}
    rows = [json.loads(line) for line in pred_path.read_text(encoding="utf-8").splitlines() if line.strip()]
    own = [parse_plan(r["raw"]["planner"]).label if "planner" in r["raw"] else r["pred_plan"] for r in rows]
    steps = [gold[(r["dialogue"], r["step"])] for r in rows]
    with failure_rule(unfinished.error_object):
        before = [label(s, o) for s, o in zip(steps, own, strict=True)]
    after = [label(s, o) for s, o in zip(steps, own, strict=True)]
    golds = [r["gold_plan"] for r in rows]

    def acc(labels: list[str]) -> float:
        return round(100 * sum(a == g for a, g in zip(labels, golds, strict=True)) / len(rows), 2)

    changed = Counter(f"{b} -> {a} (gold {g})" for b, a, g in zip(before, after, golds, strict=True) if a != b)
    return {
        "gold": str(gold_path),
        "predictions": str(pred_path),
        "steps": len(rows),
        "dialogues": len({r["dialogue"] for r in rows}),
        "always_call": acc(["call"] * len(rows)),
        "planner_alone": acc(own),
        "checks_session20": acc(before),
        "checks_with_service_failures": acc(after),
        "recorded": acc([r["pred_plan"] for r in rows]),
        "changed": dict(changed),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("gold", type=Path)
    ap.add_argument("predictions", type=Path)
    ap.add_argument("-o", "--output", type=Path)
    args = ap.parse_args()
    out = relabel(args.gold, args.predictions)
    text = json.dumps(out, indent=2)
    print(text)
    if args.output:
        args.output.write_text(text + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
