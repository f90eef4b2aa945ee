"""Plot what each caller round gained on BFCL live validation against round 4, measured in the same session with the
same runtime, beside the BFCL share of its caller samples (issue 17: choose the next round from the curve):
``python benchmarks/caller_rounds.py docs/default-bundle/caller_rounds.json -o docs/default-bundle/caller_rounds.png``.

The points file is ``{"note", "points": [{"round", "bfcl_share", "tokens", "right_gain", "refusal_gain",
"with_check": {"right_gain", "refusal_gain"} | null}]}``: right live_simple + live_multiple calls and refused
live_irrelevance requests, each minus round 4's in the same session. Needs matplotlib (the train extra).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("points", type=Path)
    ap.add_argument("-o", "--output", type=Path, required=True)
    args = ap.parse_args()
    points = json.loads(args.points.read_text(encoding="utf-8"))["points"]
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(10, 4.2), sharey=True)
    for ax, key, title in (
        (axes[0], "right_gain", "right live_simple + live_multiple calls"),
        (axes[1], "refusal_gain", "refused live_irrelevance requests"),
    ):
        xs = [100 * p["bfcl_share"] for p in points]
        ax.plot(xs, [p[key] for p in points], "o", label="caller alone")
        checked = [p for p in points if p.get("with_check")]
        ax.plot(
            [100 * p["bfcl_share"] for p in checked],
            [p["with_check"][key] for p in checked],
            "s",
            mfc="none",
            label="with round 4's caller as checker",
        )
        seen: dict[tuple[float, float], int] = {}
        for p in points:
            xy = (100 * p["bfcl_share"], p[key])
            n = seen[xy] = seen.get(xy, 0) + 1  # points that coincide get their labels stacked, not overprinted
            ax.annotate(p["round"], xy, textcoords="offset points", xytext=(4, 4 - 10 * (n - 1)), fontsize=8)
        ax.axhline(0, lw=0.8, color="grey")
        ax.set_xlabel("BFCL live share of the caller samples (%)")
        ax.set_title(f"{title}\n(minus round 4's, same session)", fontsize=9)
        ax.grid(alpha=0.3)
    axes[0].axhline(5, ls="--", lw=0.8, color="grey")
    axes[0].set_ylabel("change against round 4 (entries of 119 / 98)")
    axes[0].legend(loc="lower right", fontsize=8)
    fig.suptitle("Caller rounds on BFCL live validation (400 steps, ~0.6M tokens each, unless the label says more)")
    fig.tight_layout()
    fig.savefig(args.output, dpi=120)
    print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
