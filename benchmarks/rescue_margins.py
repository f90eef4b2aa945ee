"""The rescue of made-up calls (``--rescue-margin M --rescue-share S``), simulated for every (S, M) from one run.

Run BFCL live entries with every rescue allowed, for example
`umi-edge eval bfcl live_simple live_multiple live_irrelevance --limit 300 --rescue-margin 1e9 --rescue-share 0 --json
> RUN.json`. A call the grounded-calls check would stop is then rescued wherever the request offers values, and its
`CallRescued` event records the request's held share and the gap (how much less likely the caller found the chosen
values than its own). Under smaller settings a rescue whose share is below S or whose gap is above M is not made: the
call is stopped as without the rescue, so every (S, M) is exact. Only entries whose call was stopped can change, so a
run of just those entries gives the same table. For call categories a rescue gains an entry when the rescued call is
right; for live_irrelevance each rescue loses a refusal. Reports both per split (train / validation,
:func:`umi_edge.formats.bfcl.is_validation`); settings are chosen on the train split only.

    python benchmarks/rescue_margins.py RUN.json [MORE.json | RUN.jsonl ...] -o benchmarks/rescue-margins.json
"""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path
from typing import Any

from umi_edge.atomic import write_json
from umi_edge.formats.bfcl import IRRELEVANCE, is_validation

SHARES = (0.0, 0.1, 0.2, 0.3, 0.4, 0.5)
MARGINS = (0.0, 1.0, 2.0, 4.0, 8.0, 12.0, 16.0, math.inf)


def entries(paths: list[Path]) -> list[dict[str, Any]]:
    """The entry results of `eval bfcl --json` files, or of JSONL files holding one entry result per line."""
    out: list[dict[str, Any]] = []
    for p in paths:
        text = p.read_text(encoding="utf-8")
        if p.suffix == ".jsonl":
            out += [json.loads(line) for line in text.splitlines() if line.strip()]
        else:
            out += json.loads(text)["entries"]
    return out


def _rescue(entry: dict[str, Any]) -> dict[str, Any] | None:
    return next((a for a in entry.get("adjusted") or [] if a["type"] == "CallRescued"), None)


def simulate(rows: list[dict[str, Any]]) -> dict[str, Any]:
    table: dict[str, Any] = {}
    for split in ("train", "validation"):
        rs = [r for r in rows if is_validation(r["id"]) == (split == "validation")]
        calls = [r for r in rs if r["category"] not in IRRELEVANCE]
        refusals = [r for r in rs if r["category"] in IRRELEVANCE]
        cells = []
        for s in SHARES:
            for m in MARGINS:

                def made(r: dict[str, Any], s: float = s, m: float = m) -> bool:
                    c = _rescue(r)
                    return c is not None and (c["share"] or 0.0) >= s and c["gap"] <= m

                gained = sum(1 for r in calls if made(r) and r["valid"])
                lost = sum(1 for r in refusals if made(r))
                cells.append({"share": s, "margin": m if m < math.inf else "inf", "gained": gained, "lost": lost})
        table[split] = {"call_entries": len(calls), "irrelevance_entries": len(refusals), "cells": cells}
    return table


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("runs", nargs="+", type=Path)
    ap.add_argument("-o", "--out", type=Path)
    args = ap.parse_args()
    table = simulate(entries(args.runs))
    for split, t in table.items():
        print(f"{split}: {t['call_entries']} call entries, {t['irrelevance_entries']} irrelevance entries")
        print("  share " + " ".join(f"{'M=' + str(m):>8}" for m in MARGINS))
        for s in SHARES:
            row = [c for c in t["cells"] if c["share"] == s]
            print(f"  {s:<5} " + " ".join(f"{c['gained']:+4d}/{-c['lost']:<+3d}" for c in row))
    if args.out:
        write_json(args.out, table)


if __name__ == "__main__":
    main()
