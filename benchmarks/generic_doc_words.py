"""Which doc words are too common to show that a tool fits a request, and what leaving them out of the relevance
gate's question words does (model-free: the gate decides from the question and the docs alone).

The words come from BFCL **live train split** functions only (the 10% validation by id and every BFCL test category
stay out): a Snowball stem held by more than ``--share`` of the distinct functions' docs is generic ("retrieve",
"identifier", "user", "list"). The gate then stops a call when no *specific* content word of the question is held;
a question whose content words are all generic is not judged. Reported for the train split (where the share was
chosen) and for the validation split (checked only): the share of live_irrelevance requests stopped (right) and of
the other live requests stopped (a call lost).

    python benchmarks/generic_doc_words.py [--share 0.2] [-o benchmarks/generic-doc-words.json] [RUN.json ...]

Each RUN.json (a recorded ``umi-edge eval bfcl --json`` run of live categories) is re-scored under today's gate: an
entry whose planner routed to the caller and whose question the gate now stops counts as refused. This is exact,
since the gate decides before the caller from the question and the docs alone.
"""

from __future__ import annotations

import argparse
import collections
import json
from typing import Any

from umi_edge import bfcl_data
from umi_edge.agent import relevance
from umi_edge.eval.bfcl import entry_registry
from umi_edge.formats.bfcl import LIVE_CATEGORIES, entry_query, is_validation


def _entries() -> list[tuple[str, str, str, list[Any]]]:
    out = []
    for cat in LIVE_CATEGORIES:
        for e in bfcl_data.load(cat):
            try:
                q = entry_query(e.entry)
                tools = entry_registry(e.entry.get("function", [])).tools()
            except Exception:  # entries the importer skips too (assistant turns, unconvertible docs)
                continue
            if q:
                out.append((e.id, cat, q, tools))
    return out


def generic_stems(entries: list[tuple[str, str, str, list[Any]]], share: float) -> tuple[list[str], int]:
    """Stems held by more than ``share`` of the distinct train-split functions' docs."""
    seen: dict[str, Any] = {}
    for eid, _, _, tools in entries:
        if not is_validation(eid):
            for t in tools:
                seen.setdefault(t.name + json.dumps(t.parameters, sort_keys=True), t)
    df: collections.Counter[str] = collections.Counter()
    for t in seen.values():
        df.update({relevance.stem(w) for w in relevance.doc_words(t)})
    fillers = {relevance.stem(w) for w in relevance.FILLER_WORDS}
    return sorted(s for s, n in df.items() if n > share * len(seen) and s not in fillers), len(seen)


def measure(entries: list[tuple[str, str, str, list[Any]]], generic: frozenset[str]) -> dict[str, Any]:
    old = relevance.GENERIC_DOC_STEMS
    relevance.GENERIC_DOC_STEMS = generic
    try:
        out: dict[str, Any] = {}
        for split in ("train", "validation"):
            c: collections.Counter[str] = collections.Counter()
            for eid, cat, q, tools in entries:
                if is_validation(eid) != (split == "validation"):
                    continue
                kind = "irrelevance" if cat == "live_irrelevance" else "relevant"
                c[kind] += 1
                c[kind + "_stopped"] += bool(relevance.unheld_words([q], tools))
            out[split] = {
                "irrelevance": c["irrelevance"],
                "irrelevance_stopped": c["irrelevance_stopped"],
                "relevant": c["relevant"],
                "relevant_stopped": c["relevant_stopped"],
            }
        return out
    finally:
        relevance.GENERIC_DOC_STEMS = old


def rescore(path: str, entries: list[tuple[str, str, str, list[Any]]]) -> dict[str, list[int]]:
    """``{category: [right, entries]}`` of a recorded run under today's gate (see the module doc)."""
    by_id = {eid: (q, tools) for eid, _, q, tools in entries}
    with open(path, encoding="utf-8") as f:
        run = json.load(f)
    out: dict[str, list[int]] = {}
    for r in run["entries"]:
        valid = bool(r["valid"])
        q_tools = by_id.get(r["id"])
        if (
            q_tools
            and r["plan"] == "call"
            and not r.get("no_tool_fits")
            and relevance.unheld_words([q_tools[0]], q_tools[1])
        ):
            valid = r["category"].endswith("irrelevance")
        right = out.setdefault(r["category"], [0, 0])
        right[0] += valid
        right[1] += 1
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--share", type=float, default=0.2)
    ap.add_argument("-o", "--output", default="benchmarks/generic-doc-words.json")
    ap.add_argument("runs", nargs="*", help="recorded eval bfcl --json runs of live categories to re-score")
    a = ap.parse_args()
    entries = _entries()
    stems, functions = generic_stems(entries, a.share)
    report = {
        "share": a.share,
        "train_functions": functions,
        "generic_stems": stems,
        "shipped_stems": sorted(relevance.GENERIC_DOC_STEMS),
        "without": measure(entries, frozenset()),
        "with": measure(entries, frozenset(stems)),
    }
    with open(a.output, "w") as f:
        json.dump(report, f, indent=1)
    for name in ("without", "with"):
        for split, r in report[name].items():
            print(
                f"{name:8} {split:10} irrelevance stopped {r['irrelevance_stopped']}/{r['irrelevance']}, "
                f"relevant stopped {r['relevant_stopped']}/{r['relevant']}"
            )
    print("generic stems:", " ".join(stems))
    for path in a.runs:
        print(path, {cat: f"{right}/{n}" for cat, (right, n) in sorted(rescore(path, entries).items())})
    if stems != report["shipped_stems"]:
        print("note: differs from relevance.GENERIC_DOC_STEMS")


if __name__ == "__main__":
    main()
