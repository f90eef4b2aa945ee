"""How many follow-up questions a bundle answers: ``umi-edge eval tasks --second`` results on a file of question
pairs, scored on the follow-ups alone.

A pair file holds a first question (id ``<name>-first``) and its follow-up (``<name>-follow-up``) on consecutive
lines. ``--second`` asks each task after the one before it, so each follow-up runs after its own first question
(whose result is kept as ``first``). The first questions' own lines run after the previous pair's follow-up and say
nothing about follow-ups; they are left out here. Compare ``--no-follow-ups`` with the default::

    umi-edge eval tasks benchmarks/follow-ups-heldout.jsonl --second --threads 1 --json --no-progress > on.json
    umi-edge eval tasks benchmarks/follow-ups-heldout.jsonl --second --no-follow-ups --threads 1 --json \\
        --no-progress > off.json
    python benchmarks/follow_ups.py on.json off.json

``--key FILE`` matches each recorded answer against FILE's answers again (for a run made before its task file's
answer key was corrected); a run that gave up stays wrong.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from umi_edge.eval.matching import matches
from umi_edge.eval.tasks import Task, load_tasks


def right(result: dict[str, Any], key: dict[str, Task] | None) -> bool:
    """Whether a recorded task result is right: as recorded, or its answer matched against ``key`` again."""
    task = key.get(result["id"]) if key is not None else None
    if task is None or result["answer"] is None or result["outcome"] not in ("success", "wrong_answer"):
        return bool(result["success"])
    return matches(result["answer"], task.answers, task.match)


def score(path: Path, key: dict[str, Task] | None = None) -> dict[str, Any]:
    """Follow-ups right, their first questions right, and which follow-ups were right, from an ``eval tasks
    --second`` JSON."""
    run = json.loads(path.read_text(encoding="utf-8"))
    pairs = [t for t in run["tasks"] if str(t["id"]).endswith("follow-up")]
    return {
        "file": str(path),
        "follow_ups": len(pairs),
        "follow_ups_right": sum(right(t, key) for t in pairs),
        "first_questions_right": sum(right(t["first"], key) for t in pairs),
        "right": [t["id"] for t in pairs if right(t, key)],
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("results", nargs="+", type=Path, help="eval tasks --second --json outputs")
    ap.add_argument("--key", type=Path, help="a task file whose answers the recorded answers are matched against")
    args = ap.parse_args()
    key = {t.id: t for t in load_tasks(args.key)} if args.key else None
    for path in args.results:
        s = score(path, key)
        print(
            f"{s['file']}: follow-ups right {s['follow_ups_right']}/{s['follow_ups']}, "
            f"their first questions {s['first_questions_right']}/{s['follow_ups']}"
        )


if __name__ == "__main__":
    main()
