"""The string prior's weight, simulated from two recorded `eval bfcl` runs of the same live entries.

Run `umi-edge eval bfcl live_simple live_multiple --limit 250 --string-prior 0 --json > OFF.json` and the same with
`--string-prior 1000 > ALL.json` (every scored string argument takes its best span). Each scored argument's event holds
the caller's log-probability of its own value and of the best spans, so any weight W in between is exact per argument:
the span wins when its log-probability plus W beats the caller's value's. An entry whose scored arguments all take the
span gets ALL's outcome, one where none does gets OFF's; an entry where they split gets OFF's and is counted as
"split". Arguments the current rule leaves alone (:func:`umi_edge.agent.string_prior.written_in`, ``composed``) are
not scored. Reports right entries per split (train / validation, :func:`umi_edge.formats.bfcl.is_validation`) and
category. The weight is chosen on the train split only.

    python benchmarks/string_prior_weights.py OFF.json ALL.json -o benchmarks/string-prior-weights.json
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from umi_edge import bfcl_data
from umi_edge.agent.string_prior import composed, written_in
from umi_edge.atomic import write_json
from umi_edge.eval.bfcl import entry_query
from umi_edge.formats.bfcl import is_validation

WEIGHTS = (0, 1, 2, 3, 4, 6, 8, 10, 12, 16, 1000)


def _span_wins(event: dict[str, Any], weight: float) -> bool:
    own = next(lp for s, lp in event["logprobs"].items() if event["relevance"].get(s) == 0.0)  # the caller's value
    best = max(lp for s, lp in event["logprobs"].items() if event["relevance"].get(s) == 1.0)
    return bool(best + weight > own)


def simulate(off: dict[str, Any], all_: dict[str, Any]) -> dict[str, Any]:
    a = {e["id"]: e for e in off["entries"]}
    b = {e["id"]: e for e in all_["entries"]}
    cats = sorted({e["category"] for e in a.values()})
    questions = {e.id: entry_query(e.entry) or "" for c in cats for e in bfcl_data.load(c)}
    out: dict[str, Any] = {}
    for split in ("train", "validation"):
        for cat in cats:
            ids = [i for i in a if i in b and a[i]["category"] == cat and is_validation(i) == (split == "validation")]
            scored = {
                i: [
                    x
                    for x in b[i]["adjusted"]
                    if x["type"] == "ArgumentChosen"
                    and x["model_choice"].startswith('"')
                    and not composed(json.loads(x["model_choice"]))
                    and not written_in(json.loads(x["model_choice"]), questions[i])
                ]
                for i in ids
            }
            row: dict[str, Any] = {"entries": len(ids), "off": sum(a[i]["valid"] for i in ids)}
            row["scored_entries"] = sum(bool(v) for v in scored.values())
            for w in WEIGHTS:
                right = split_ = 0
                for i in ids:
                    wins = [_span_wins(x, w) for x in scored[i]]
                    if wins and all(wins):
                        right += b[i]["valid"]
                    else:
                        right += a[i]["valid"]
                        split_ += any(wins)
                row[f"w={w}"] = {"right": right, "split": split_}
            out[f"{split}/{cat}"] = row
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("off", type=Path, help="eval bfcl --json run with --string-prior 0")
    ap.add_argument("all", type=Path, help="the same entries with --string-prior 1000")
    ap.add_argument("-o", "--output", type=Path, help="JSON file for the table")
    args = ap.parse_args()
    table = simulate(json.loads(args.off.read_text()), json.loads(args.all.read_text()))
    for key, row in table.items():
        cells = " ".join(f"{w}:{row[f'w={w}']['right']}" for w in WEIGHTS)
        print(f"{key:28} n={row['entries']:3} off={row['off']:3} scored={row['scored_entries']:3}  {cells}")
    if args.output:
        write_json(args.output, table)


if __name__ == "__main__":
    main()
