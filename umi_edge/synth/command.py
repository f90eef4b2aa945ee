"""``umi-edge data synth``: synthetic α-UMi training data whose observations come from really running the tools.

Registered under ``umi-edge data`` by :mod:`umi_edge.commands.data` (``register(data_subparsers)``).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import textwrap
from dataclasses import asdict
from pathlib import Path

from umi_edge.atomic import atomic_dir, write_json, write_jsonl
from umi_edge.commands._augment_options import add_augment_options, augment_options
from umi_edge.errors import UserError
from umi_edge.formats.prompts import STYLES
from umi_edge.formats.trajectory import write_trajectories
from umi_edge.synth.families import FAMILIES
from umi_edge.synth.generate import (
    ROLES,
    episode_id,
    report,
    role_records,
    synthesize,
    trajectory_record,
)
from umi_edge.synth.pools import SPLITS
from umi_edge.tools import ToolRegistry, builtin_registry

TRAJECTORIES_FILE = "trajectories.jsonl"
REPORT_FILE = "synth_report.json"
MAX_N = 1_000_000


def register(data_subparsers: argparse._SubParsersAction) -> None:
    """Add the ``synth`` parser to ``umi-edge data``."""
    description = textwrap.fill(
        "Synthesize α-UMi trajectories from task families with varied phrasing. Every observation is the real "
        "output of the built-in tool, run in a fresh workspace holding the task's fixture files and sqlite "
        "databases. Writes DIR/trajectories.jsonl (stage 2; each record also carries id, family, template and the "
        "checkable answer), DIR/{backbone,planner,caller,summarizer}.jsonl (per-role samples, as import-toolbench "
        "writes them) and DIR/synth_report.json, as a whole. --split heldout draws values, entities and some "
        "paraphrases that the train split never uses; --tasks-out also writes the episodes as executable tasks "
        "for `umi-edge eval tasks`.",
        width=100,
    )
    table = "\n".join(f"  {f.name:<18} {f.description}" for f in FAMILIES)
    p = data_subparsers.add_parser(
        "synth",
        help="synthesize training trajectories (and held-out tasks) by really running the built-in tools",
        description=f"{description}\n\nfamilies:\n{table}",
        epilog="examples:\n  umi-edge data synth -o data/synth --n 2000 --seed 1\n"
        "  umi-edge data synth -o data/heldout --n 300 --seed 2 --split heldout --tasks-out tasks.jsonl",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("-o", "--output", metavar="DIR", type=Path, required=True, help="output directory")
    p.add_argument("-n", "--n", type=int, default=1000, metavar="N", help="number of trajectories (default 1000)")
    p.add_argument("--seed", type=int, default=0, metavar="S", help="random seed; same seed, same data (default 0)")
    p.add_argument("--split", choices=SPLITS, default="train", help="train (default) or heldout values/paraphrases")
    p.add_argument(
        "--tasks-out",
        metavar="FILE",
        type=Path,
        help="also write the episodes as executable tasks (JSONL: id, query, answer, match, files, sqlite, tools)",
    )
    p.add_argument(
        "--tools",
        metavar="NAMES",
        help="comma-separated built-in tools that may be used or offered (default: all); "
        "families needing other tools are skipped, and so are formula and multipart_new (they bring their own "
        "tools) unless --families names them",
    )
    p.add_argument("--families", metavar="NAMES", help="comma-separated families to generate (default: all, see above)")
    p.add_argument(
        "--style",
        choices=STYLES,
        default="toolbench",
        help="prompt templates (default toolbench; toolalpaca leaves out give_up)",
    )
    p.add_argument("--force", action="store_true", help="replace DIR if it already exists and is not empty")
    add_augment_options(p, default_on=True)
    p.set_defaults(func=cmd_synth)


def python_problem(registry: ToolRegistry) -> str | None:
    """Why the sandboxed python tool cannot run on this machine (no isolation layer...), or None when it works."""
    with tempfile.TemporaryDirectory(prefix="umi-synth-probe-") as ws:
        res = registry.call("python", {"code": "print(6 * 7)"}, workspace=ws)
    if res.is_error or res.value.get("stdout") != "42\n":
        return str(res.value.get("error", res.content))[:300]
    return None


def _names(text: str | None, option: str) -> list[str] | None:
    if text is None:
        return None
    names = [t.strip() for t in text.split(",") if t.strip()]
    if not names:
        raise UserError(f"{option}: expected comma-separated names, got {text!r}")
    return names


def cmd_synth(args: argparse.Namespace) -> int:
    out: Path = args.output
    opts = augment_options(args)
    if not 1 <= args.n <= MAX_N:
        raise UserError(f"--n: expected a number of trajectories from 1 to {MAX_N}, got {args.n}")
    if out.exists() and (not out.is_dir() or any(out.iterdir())) and not args.force:
        raise UserError(f"{out}: already exists and is not empty (use --force to replace it)")
    if args.tasks_out is not None and args.tasks_out.is_dir():
        raise UserError(f"--tasks-out: {args.tasks_out} is a directory, expected a file path")
    registry = builtin_registry()
    tools = _names(args.tools, "--tools")
    if tools is not None:
        unknown = [t for t in tools if t not in registry]
        if unknown:
            raise UserError(f"--tools: unknown tool {unknown[0]!r}; built-in tools: {', '.join(registry.names())}")
    if tools is None or "python" in tools:
        problem = python_problem(registry)
        if problem and tools is not None:
            raise UserError(f"--tools: the python tool cannot run here: {problem}")
        if problem:
            print(f"umi-edge: warning: leaving out the python tool (it cannot run here: {problem})", file=sys.stderr)
            tools = [t for t in registry.names() if t != "python"]
    families = _names(args.families, "--families")
    if args.style == "toolalpaca":  # the ToolAlpaca templates have no give-up option
        if families is not None and "give_up" in families:
            raise UserError("--families: give_up cannot be used with --style toolalpaca (its prompts cannot give up)")
        families = [f.name for f in FAMILIES if f.name != "give_up" and (families is None or f.name in families)]

    from tqdm import tqdm

    with tqdm(total=args.n, desc=f"synth {args.split}", unit="traj", disable=None) as bar:
        episodes = synthesize(
            args.n, args.seed, args.split, registry=registry, tools=tools, families=families, progress=bar.update
        )
    ids = [episode_id(ep.recipe.family, args.split, args.seed, i) for i, ep in enumerate(episodes)]
    trajs = [trajectory_record(ep, ident) for ep, ident in zip(episodes, ids, strict=True)]
    samples = role_records(trajs, style=args.style, augment=opts)
    meta = {
        "seed": args.seed,
        "split": args.split,
        "style": args.style,
        "tools": tools,
        "families_selected": families,
        "augment": asdict(opts),
    }
    rep = report(episodes, samples, **meta)
    with atomic_dir(out) as tmp:
        write_trajectories(tmp / TRAJECTORIES_FILE, trajs)
        for role in ROLES:
            write_jsonl(tmp / f"{role}.jsonl", samples[role])
        write_json(tmp / REPORT_FILE, rep)
    if args.tasks_out is not None:
        pairs = zip(episodes, ids, strict=True)
        n_tasks = write_jsonl(
            args.tasks_out,
            (ep.task(ident).to_json() for ep, ident in pairs if not ep.alternative and not ep.recipe.extra_tools),
        )
    counts = ", ".join(f"{r} {len(samples[r])}" for r in ROLES)
    print(f"synthesized {len(episodes)} {args.split} trajectories (seed {args.seed}) into {out}: {counts}")
    if args.tasks_out is not None:
        brought = sum(bool(ep.recipe.extra_tools) for ep in episodes)
        left = f" (left out {brought} episodes with tools of their own: not registered)" if brought else ""
        print(f"wrote {n_tasks} executable tasks to {args.tasks_out}{left}")
    return 0
