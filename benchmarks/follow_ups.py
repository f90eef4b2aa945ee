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
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any


def score(path: Path) -> dict[str, Any]:
    """Follow-ups right, their first questions right, and each follow-up's outcome, from an ``eval tasks --second``
    JSON."""
    run = json.loads(path.read_text(encoding="utf-8"))
    pairs = [t for t in run["tasks"] if str(t["id"]).endswith("follow-up")]
    return {
        "file": str(path),
        "follow_ups": len(pairs),
        "follow_ups_right": sum(t["success"] for t in pairs),
        "first_questions_right": sum(t["first"]["success"] for t in pairs),
        "outcomes": {t["id"]: t["outcome"] for t in pairs},
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("results", nargs="+", type=Path, help="eval tasks --second --json outputs")
    args = ap.parse_args()
    for path in args.results:
        s = score(path)
        print(
            f"{s['file']}: follow-ups right {s['follow_ups_right']}/{s['follow_ups']}, "
            f"their first questions {s['first_questions_right']}/{s['follow_ups']}"
        )


if __name__ == "__main__":
    main()
