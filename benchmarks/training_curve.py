"""Plot held-out success against the training tokens spent (issue 17, point 7), so the next round can be chosen
from the curve: ``python benchmarks/training_curve.py docs/default-bundle/training_curve.json -o curve.png``.

The points file is ``{"points": [{"round", "tokens", "success"}, ...], "note"}`` (success in percent); a point
whose round names a second measurement (a parenthesis) is drawn hollow. Needs matplotlib (the train extra).
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
    data = json.loads(args.points.read_text(encoding="utf-8"))
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.2))
    main_pts = [p for p in data["points"] if "(" not in p["round"]]
    other = [p for p in data["points"] if "(" in p["round"]]
    ax.plot([p["tokens"] / 1e6 for p in main_pts], [p["success"] for p in main_pts], "o-", label="shipped runtime")
    if other:
        ax.plot([p["tokens"] / 1e6 for p in other], [p["success"] for p in other], "o", mfc="none", label="variants")
    for p in data["points"]:
        ax.annotate(
            p["round"], (p["tokens"] / 1e6, p["success"]), textcoords="offset points", xytext=(4, -12), fontsize=8
        )
    ax.axhline(70, ls="--", lw=0.8, color="grey")
    ax.set_xlabel("training tokens processed (millions, all stages, cumulative)")
    ax.set_ylabel("held-out task success (%)")
    ax.set_ylim(0, 100)
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right", fontsize=8)
    ax.set_title("Default bundle: success vs training tokens")
    fig.tight_layout()
    fig.savefig(args.output, dpi=120)
    print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
