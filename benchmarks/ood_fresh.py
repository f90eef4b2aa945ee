"""Write the out-of-domain dialogues that no earlier measurement chose, or a seeded sample of them.

Sessions 13–21 ran ToolBench's ``out_of_domain.json`` on its first 100 dialogues and on ``eval static --sample``
draws (100 and 20 with seed 0, 40 with seed 1), and session 21 read session 20's steps to design a rule. A rule
designed after reading those steps is tested cleanly only on the others. This writes them (indices into the file
kept in its order), so that ``eval static`` can run them like the whole file::

    python benchmarks/ood_fresh.py ../shared/data/toolbench/test/out_of_domain.json --sample 100 --seed 1 \\
        -o ood-fresh100.json
    umi-edge eval static ood-fresh100.json --finish-checks --threads 2 --ctx 4096 ...

The file is written next to the data it came from, never committed (evaluation data is never training data).
"""

from __future__ import annotations

import argparse
import json
import random
from pathlib import Path

SEEN = ((100, 0), (20, 0), (40, 1))
"""The ``(--sample, --seed)`` draws earlier sessions evaluated, besides the first :data:`FIRST` dialogues."""
FIRST = 100


def seen(n: int) -> set[int]:
    """The dialogue indices earlier measurements chose (drawn as ``eval static --sample`` draws them)."""
    out = set(range(min(FIRST, n)))
    for k, seed in SEEN:
        out |= set(random.Random(seed).sample(range(n), min(k, n)))
    return out


def fresh(n: int, sample: int | None, seed: int) -> list[int]:
    """The indices no earlier measurement chose, or ``sample`` of them drawn with ``seed``, in file order."""
    left = [i for i in range(n) if i not in seen(n)]
    if sample is not None and sample < len(left):
        left = sorted(random.Random(seed).sample(left, sample))
    return left


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("input", type=Path, help="ToolBench's out_of_domain.json")
    ap.add_argument("-o", "--output", type=Path, required=True)
    ap.add_argument("--sample", type=int, help="draw this many of the fresh dialogues")
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    dialogues = json.loads(args.input.read_text(encoding="utf-8"))
    chosen = fresh(len(dialogues), args.sample, args.seed)
    tmp = args.output.with_name(args.output.name + ".part")
    tmp.write_text(json.dumps([dialogues[i] for i in chosen]), encoding="utf-8")
    tmp.replace(args.output)
    print(f"{len(chosen)} dialogues written to {args.output} (indices {chosen[0]}..{chosen[-1]})")


if __name__ == "__main__":
    main()
