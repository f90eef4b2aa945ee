"""Re-apply the current grounded-calls check to the calls a recorded `umi-edge eval bfcl --json` run made.

For each entry whose first call ran, prints whether today's check would stop it: GAIN (an irrelevance entry now
refused), LOSS (a right call of a relevant category now stopped) or neutral (a wrong call now stopped), and a count
per file. Use it on live categories only (BFCL's test categories are never tuned on). Example:

    python benchmarks/recheck_bfcl_calls.py docs/default-bundle/issue17/round4-live-validation-argprior6.json
"""

from __future__ import annotations

import collections
import json
import sys

from umi_edge import bfcl_data
from umi_edge.agent.grounding import made_up_values
from umi_edge.formats.bfcl import entry_query, to_json_schema


def main(paths: list[str]) -> None:
    entries: dict[str, dict[str, bfcl_data.Entry]] = {}
    for src in paths:
        run = json.load(open(src, encoding="utf-8"))
        counts: collections.Counter[str] = collections.Counter()
        for r in run["entries"]:
            cat = r["category"]
            if cat not in entries:
                entries[cat] = {e.id: e for e in bfcl_data.load(cat)}
            if r["made_up"] or not r["calls"]:
                continue
            e = entries[cat][r["id"]]
            ((name, args),) = r["calls"][0].items()
            fn = next((f for f in e.entry["function"] if f["name"] == name), None)
            if fn is None:
                continue
            _, desc, params = to_json_schema(fn)[:3]
            turns = [{"from": "user", "value": entry_query(e.entry) or ""}]
            hits = made_up_values(args, turns, {"description": desc, "parameters": params})
            if hits:
                out = "GAIN" if "irrelevance" in cat else ("LOSS" if r["valid"] else "neutral")
                counts[out] += 1
                print(out, r["id"], hits[:3])
        print(src, dict(counts))


if __name__ == "__main__":
    main(sys.argv[1:])
