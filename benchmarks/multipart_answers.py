"""How many parts of multi-part requests a bundle answers: ``umi-edge eval tasks`` results on a ``multipart`` task
file, scored against the generator's own trajectories.

A task file holds one checkable answer, the last part's, so ``eval tasks`` scores only that. Here a run counts as
answering *every* part when its final answer states every number that the generator's conclusion states and the
request does not (each part's numeric result; a part whose answer is a name, such as a file, is not counted). It also
counts the calls made against the parts asked.

    umi-edge data synth -o mp -n 40 --seed 1 --split heldout --families multipart --tasks-out mp-tasks.jsonl
    umi-edge eval tasks mp-tasks.jsonl --threads 1 --json --no-progress [--bundle B] > B.json
    python benchmarks/multipart_answers.py mp/trajectories.jsonl B.json [B2.json ...]
"""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path

from umi_edge.eval.matching import matches
from umi_edge.numbers import numbers_in


def score(trajectories: Path, results: Path) -> dict[str, object]:
    gold = {}
    for line in trajectories.read_text(encoding="utf-8").splitlines():
        rec = json.loads(line)
        asked = numbers_in(rec["instruction"])
        stated = [
            x for x in numbers_in(rec["conversations"][-1]["value"]) if not any(math.isclose(x, a) for a in asked)
        ]
        calls = sum(t["from"] == "caller" for t in rec["conversations"])
        parts = int(rec["template"].split("/")[1])
        gold[rec["id"]] = (stated, calls, parts)
    run = json.loads(results.read_text(encoding="utf-8"))
    tasks = run["tasks"]
    every = sum(all(matches(t.get("answer") or "", [x], "number") for x in gold[t["id"]][0]) for t in tasks)
    return {
        "results": str(results),
        "tasks": len(tasks),
        "last_part_right": sum(bool(t["success"]) for t in tasks),
        "every_number_stated": every,
        "calls_made": sum(t["tool_calls"] for t in tasks),
        "calls_in_gold": sum(gold[t["id"]][1] for t in tasks),
        "parts_asked": sum(gold[t["id"]][2] for t in tasks),
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("trajectories", type=Path, help="the synth run's trajectories.jsonl")
    ap.add_argument("results", type=Path, nargs="+", help="`umi-edge eval tasks --json` outputs")
    args = ap.parse_args()
    print(json.dumps([score(args.trajectories, r) for r in args.results], indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
