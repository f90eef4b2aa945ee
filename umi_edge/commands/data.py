"""``umi-edge data``: import ToolBench data into α-UMi trajectories and per-role samples, and describe a data dir.

Subcommands: ``import-toolbench`` and ``stats`` live here; other modules add theirs through ``register`` hooks
(``umi_edge.synth.command`` adds ``synth`` when it is installed).
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import json
import math
import sys
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

from umi_edge.atomic import atomic_dir
from umi_edge.augment import variants
from umi_edge.commands._augment_options import add_augment_options, augment_options
from umi_edge.errors import UserError
from umi_edge.formats.bfcl import LIVE_CATEGORIES as BFCL_LIVE
from umi_edge.formats.parse import parse_plan
from umi_edge.formats.prompts import STYLES, model_prompt
from umi_edge.formats.samples import role_samples
from umi_edge.formats.toolbench import import_records, read_input, valid_answers
from umi_edge.formats.trajectory import as_trajectory, read_records, write_trajectories

SAMPLE_ROLES = ("backbone", "planner", "caller", "summarizer")
TRAJECTORIES_FILE = "trajectories.jsonl"
VALIDATION_DIR = "validation"
PERCENTILES = (50, 90, 95, 99, 100)

# Extra `data` subcommands defined elsewhere: module name -> it defines register(data_subparsers).
EXTENSIONS = ("umi_edge.synth.command",)


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "data",
        help="import ToolBench data, make per-role training samples, show data statistics",
        description="Data for the α-UMi roles: trajectories (stage-2 form {tools, instruction, conversations}) and "
        "per-role training samples {tools, history, input, target} for backbone, planner, caller and summarizer.",
    )
    parser.set_defaults(func=lambda args: _help(parser))
    sub = parser.add_subparsers(dest="data_command", metavar="SUBCOMMAND")

    imp = sub.add_parser(
        "import-toolbench",
        help="convert ToolBench data (stage 1 chains or stage 2 conversations) to trajectories + per-role samples",
        description="Convert ToolBench data to umi-edge's training layout. INPUT is a JSON array or JSONL file of "
        "stage-1 records {tools, instruction, chains} or stage-2 records {tools, instruction, conversations} "
        "(detected from the first record), a raw ToolBench answer file (answer_generation), or a directory of "
        "such files. Writes DIR/trajectories.jsonl and DIR/{backbone,planner,caller,summarizer}.jsonl with "
        "records {tools, history, input, target} whose input and target are byte-identical to the α-UMi "
        "release's per-role files. DIR is written as a whole: on any error nothing is left behind.",
        epilog="example: umi-edge data import-toolbench raw_data_stage_1.json -o data/toolbench",
    )
    imp.add_argument("input", metavar="INPUT", type=Path, help="stage-1 / stage-2 JSON or JSONL file, or a directory")
    imp.add_argument("-o", "--output", metavar="DIR", type=Path, required=True, help="output directory")
    imp.add_argument(
        "--style",
        choices=STYLES,
        default="toolbench",
        help="prompt templates: toolbench (plans may give up) or toolalpaca (no give-up option); default toolbench",
    )
    imp.add_argument("--force", action="store_true", help="replace DIR if it already exists and is not empty")
    add_augment_options(imp, default_on=False)  # off: the samples stay byte-identical to the release's
    imp.set_defaults(func=cmd_import_toolbench)

    bf = sub.add_parser(
        "import-bfcl",
        help="convert BFCL's live categories (from the installed bfcl-eval package) to trajectories + samples",
        description="Convert the live categories of the Berkeley Function Calling Leaderboard, read from the "
        "installed bfcl-eval package, to umi-edge's training layout (as import-toolbench writes it). Only the "
        "first planner step and the first caller step of each entry are written (BFCL gives no observations); "
        "live_irrelevance entries become a give-up. 10% of the entries, chosen by a stable hash of their id, go "
        "to DIR/validation/ in the same layout. Every other BFCL category is a test set and is refused.",
        epilog="example: umi-edge data import-bfcl -o data/bfcl-live",
    )
    bf.add_argument(
        "categories",
        metavar="CATEGORY",
        nargs="*",
        help=f"live categories to import (default: all six: {', '.join(BFCL_LIVE)})",
    )
    bf.add_argument("-o", "--output", metavar="DIR", type=Path, required=True, help="output directory")
    bf.add_argument(
        "--style", choices=STYLES, default="toolbench", help="prompt templates of the samples (default toolbench)"
    )
    bf.add_argument("--force", action="store_true", help="replace DIR if it already exists and is not empty")
    add_augment_options(bf, default_on=True)
    bf.set_defaults(func=cmd_import_bfcl)

    st = sub.add_parser(
        "stats",
        help="samples per role, plan-label distribution and length percentiles of a data directory",
        description="Describe a data directory written by import-toolbench (or synth): samples per role, the "
        "plan-label distribution (call / finish / give_up) of planner and backbone targets, and length "
        "percentiles of the training text ('system: ' + input, and target) per role: in tokens with --tokenizer, "
        "in characters otherwise. Warns about samples longer than --max-length (training cuts them from the left).",
        epilog="example: umi-edge data stats data/toolbench --tokenizer model.gguf --max-length 2048",
    )
    st.add_argument("dir", metavar="DIR", type=Path, help="directory with {backbone,planner,caller,summarizer}.jsonl")
    st.add_argument(
        "--tokenizer",
        metavar="PATH",
        help="count tokens with this tokenizer: a Hugging Face model directory or a GGUF file "
        "(needs llama-cpp-python or the train extra); without it lengths are in characters",
    )
    st.add_argument(
        "--max-length",
        type=int,
        default=4096,
        metavar="N",
        help="warn about samples whose input + target is longer than N (tokens, or characters); default 4096",
    )
    st.add_argument("--json", action="store_true", help="print the statistics as one JSON object")
    st.set_defaults(func=cmd_stats)

    for name in EXTENSIONS:
        if _module_exists(name):
            importlib.import_module(name).register(sub)


def _module_exists(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except ModuleNotFoundError:  # the parent package is absent
        return False


def _help(parser: argparse.ArgumentParser) -> int:
    parser.print_help()
    return 2


# ---------------------------------------------------------------- import-toolbench


def cmd_import_toolbench(args: argparse.Namespace) -> int:
    out: Path = args.output
    if out.exists() and (not out.is_dir() or any(out.iterdir())) and not args.force:
        raise UserError(f"{out}: already exists and is not empty (use --force to replace it)")
    opts = augment_options(args)
    records, invalid = valid_answers(read_input(args.input))
    if not records:
        raise UserError(f'{args.input}: every answer file is marked "valid_data": false; nothing to import')
    trajs, kind = import_records(records)
    with atomic_dir(out) as tmp:
        counts = write_data_dir(
            tmp,
            trajs,
            lambda t: _merged(role_samples(v, style=args.style) for v in variants(as_trajectory(t).to_dict(), opts)),
        )
    kinds = {"stage1": "stage 1", "stage2": "stage 2", "raw": "raw ToolBench answers"}
    summary = ", ".join(f"{r} {counts[r]}" for r in SAMPLE_ROLES)
    files = "file" if invalid == 1 else "files"
    left_out = f"; {invalid} answer {files} marked invalid (valid_data false) left out" if invalid else ""
    print(f"imported {len(trajs)} trajectories ({kinds[kind]}, {args.style} prompts) into {out}: {summary}{left_out}")
    return 0


def write_data_dir(
    directory: Path,
    trajs: Sequence[Any],
    samples: Callable[[Any], dict[str, list[dict[str, Any]]]],
) -> dict[str, int]:
    """Write ``DIR/trajectories.jsonl`` and ``DIR/{backbone,planner,caller,summarizer}.jsonl`` (``samples`` gives a
    trajectory's per-role records) into ``directory``, an :func:`atomic_dir` being built; returns the counts.
    The trajectories are written as read; the samples hold them as ``samples`` varied them (``--augment``)."""
    counts = dict.fromkeys(SAMPLE_ROLES, 0)
    write_trajectories(directory / TRAJECTORIES_FILE, trajs)
    files = {r: (directory / f"{r}.jsonl").open("w", encoding="utf-8") for r in SAMPLE_ROLES}
    try:  # streamed: the full ToolBench gives gigabytes of samples
        for t in _progress(trajs, "samples"):
            for role, recs in samples(t).items():
                files[role].writelines(json.dumps(r, ensure_ascii=False) + "\n" for r in recs)
                counts[role] += len(recs)
    finally:
        for fh in files.values():
            fh.close()
    return counts


def _merged(parts: Iterable[dict[str, list[dict[str, Any]]]]) -> dict[str, list[dict[str, Any]]]:
    """The per-role samples of a trajectory's variants (:func:`umi_edge.augment.variants`), role by role."""
    out: dict[str, list[dict[str, Any]]] = {}
    for part in parts:
        for role, recs in part.items():
            out.setdefault(role, []).extend(recs)
    return out


# ---------------------------------------------------------------- import-bfcl


def cmd_import_bfcl(args: argparse.Namespace) -> int:
    from umi_edge import bfcl_data
    from umi_edge.formats.bfcl import BfclFormatError, entry_record, is_validation, record_samples

    out: Path = args.output
    categories = bfcl_data.check_importable(args.categories or BFCL_LIVE)
    opts = augment_options(args)
    if args.style == "toolalpaca" and "live_irrelevance" in categories:
        raise UserError("--style toolalpaca has no give-up option: leave out live_irrelevance or use toolbench")
    if out.exists() and (not out.is_dir() or any(out.iterdir())) and not args.force:
        raise UserError(f"{out}: already exists and is not empty (use --force to replace it)")
    parts: dict[str, list[dict[str, Any]]] = {"train": [], "validation": []}
    read = skipped = 0
    for category in categories:
        for e in bfcl_data.load(category):
            read += 1
            try:
                rec = entry_record(e.entry, e.answer, category)
            except BfclFormatError as exc:
                raise UserError(f"{e.source}:{e.line}: {exc}") from None
            if rec is None:
                skipped += 1
                continue
            parts["validation" if is_validation(e.id) else "train"].append(rec)
    if not parts["train"]:
        raise UserError(f"{', '.join(categories)}: no entry to import")

    def samples(rec: Any) -> dict[str, list[dict[str, Any]]]:
        return _merged(record_samples(v, style=args.style) for v in variants(rec, opts))

    with atomic_dir(out) as tmp:
        counts = write_data_dir(tmp, parts["train"], samples)
        held = {r: 0 for r in SAMPLE_ROLES}
        if parts["validation"]:
            (tmp / VALIDATION_DIR).mkdir()
            held = write_data_dir(tmp / VALIDATION_DIR, parts["validation"], samples)
    summary = ", ".join(f"{r} {counts[r]}" for r in SAMPLE_ROLES)
    held_summary = ", ".join(f"{r} {held[r]}" for r in SAMPLE_ROLES)
    print(
        f"read {read} BFCL entries ({', '.join(categories)}): {len(parts['train'])} into {out} ({summary}), "
        f"{len(parts['validation'])} held out into {out / VALIDATION_DIR} ({held_summary}), {skipped} skipped"
    )
    return 0


def _progress(items: Sequence[Any], desc: str) -> Any:
    from tqdm import tqdm

    return tqdm(items, desc=desc, unit="traj", disable=None, leave=False)


# ---------------------------------------------------------------- stats


def plan_label(role: str, target: str) -> str:
    """The plan label of a planner or backbone target."""
    if role == "planner":
        return parse_plan(target).label
    if target.endswith("\nconclusion: give up."):
        return "give_up"
    if "\nconclusion: " in target:
        return "finish"
    return "call"


def percentiles(values: Sequence[int]) -> dict[str, int]:
    """Nearest-rank percentiles ``p50 ... p100`` of ``values``."""
    s = sorted(values)
    if not s:
        return {}
    return {f"p{q}": s[max(0, math.ceil(q / 100 * len(s)) - 1)] for q in PERCENTILES}


def load_counter(tokenizer: str | None) -> tuple[Callable[[list[str]], list[int]], str]:
    """A function giving text lengths, and its unit: tokens of ``tokenizer`` if it loads, else characters."""
    if not tokenizer:
        return (lambda texts: [len(t) for t in texts]), "chars"
    path = Path(tokenizer)
    if not path.exists():
        raise UserError(f"{path}: no such tokenizer (expected a Hugging Face model directory or a GGUF file)")
    if path.is_file() and path.suffix == ".gguf":
        try:
            import llama_cpp  # runtime dependency; vocab-only load is fast and needs no torch
        except ImportError:
            llama_cpp = None  # type: ignore[assignment]  # then the transformers tokenizer below is tried
        if llama_cpp is not None:
            llm = llama_cpp.Llama(model_path=str(path), vocab_only=True, verbose=False)
            return (
                lambda texts: [len(llm.tokenize(t.encode(), add_bos=False, special=False)) for t in texts]
            ), "tokens"
    try:
        import transformers  # lazily: the train extra; umi_edge must not import it at module import
    except ImportError:
        print(
            "umi-edge: warning: no tokenizer library importable (install the train extra); lengths in characters",
            file=sys.stderr,
        )
        return (lambda texts: [len(t) for t in texts]), "chars"
    try:
        if path.is_file():
            tok = transformers.AutoTokenizer.from_pretrained(str(path.parent), gguf_file=path.name)
        else:
            tok = transformers.AutoTokenizer.from_pretrained(str(path))
    except Exception as exc:  # noqa: BLE001 - any loading failure is the user's path
        raise UserError(f"{path}: cannot load a tokenizer: {str(exc).splitlines()[0] if str(exc) else exc}") from None
    return (lambda texts: [len(ids) for ids in tok(texts, add_special_tokens=False)["input_ids"]]), "tokens"


def compute_stats(directory: Path, counter: Callable[[list[str]], list[int]], max_length: int) -> dict[str, Any]:
    """Statistics of a data directory (see ``umi-edge data stats --help``)."""
    if not directory.is_dir():
        raise UserError(f"{directory}: not a directory (expected the output of 'umi-edge data import-toolbench')")
    stats: dict[str, Any] = {"roles": {}}
    traj_file = directory / TRAJECTORIES_FILE
    if traj_file.exists():
        stats["trajectories"] = len(read_records(traj_file))
    found = False
    for role in SAMPLE_ROLES:
        f = directory / f"{role}.jsonl"
        if not f.exists():
            continue
        found = True
        inputs, targets = [], []
        for where, rec in read_records(f):
            for key in ("input", "target"):
                if not isinstance(rec, dict) or not isinstance(rec.get(key), str):
                    raise UserError(f"{where}: field {key!r}: expected a string (a per-role sample record)")
            inputs.append(model_prompt(rec["input"]))
            targets.append(rec["target"])
        in_len, tgt_len = counter(inputs), counter(targets)
        total = [a + b for a, b in zip(in_len, tgt_len, strict=True)]
        over = [n for n in total if n > max_length]
        entry: dict[str, Any] = {
            "samples": len(inputs),
            "input": percentiles(in_len),
            "target": percentiles(tgt_len),
            "total": percentiles(total),
            "over_max_length": len(over),
        }
        if role in ("planner", "backbone"):
            entry["labels"] = dict(Counter(plan_label(role, t) for t in targets).most_common())
        stats["roles"][role] = entry
    if not found:
        raise UserError(f"{directory}: no per-role sample files ({', '.join(r + '.jsonl' for r in SAMPLE_ROLES)})")
    return stats


def cmd_stats(args: argparse.Namespace) -> int:
    if args.max_length <= 0:
        raise UserError(f"--max-length: expected a positive number, got {args.max_length}")
    counter, unit = load_counter(args.tokenizer)
    stats = compute_stats(args.dir, counter, args.max_length)
    stats["unit"] = unit
    stats["max_length"] = args.max_length
    if args.json:
        print(json.dumps(stats, ensure_ascii=False))
    else:
        print(format_stats(stats))
    for role, e in stats["roles"].items():
        if e["over_max_length"]:
            print(
                f"umi-edge: warning: {e['over_max_length']} of {e['samples']} {role} samples are longer than "
                f"{args.max_length} {unit} (longest {e['total']['p100']}); training cuts their inputs from the left",
                file=sys.stderr,
            )
    return 0


def format_stats(stats: dict[str, Any]) -> str:
    """A plain-text report of :func:`compute_stats` output."""
    unit = stats["unit"]
    lines = []
    if "trajectories" in stats:
        lines.append(f"trajectories: {stats['trajectories']}")
    lines.append(f"{'role':<11} {'samples':>7}  labels")
    for role, e in stats["roles"].items():
        labels = ", ".join(f"{k} {v} ({100 * v / e['samples']:.1f}%)" for k, v in e.get("labels", {}).items())
        lines.append(f"{role:<11} {e['samples']:>7}  {labels}")
    lines.append("")
    cols = [f"p{q}" if q < 100 else "max" for q in PERCENTILES]
    lines.append(f"length in {unit} ('system: ' + input, target, total)")
    lines.append(f"{'role':<11} {'part':<7}" + "".join(f"{c:>8}" for c in cols))
    for role, e in stats["roles"].items():
        for part in ("input", "target", "total"):
            vals = e[part]
            lines.append(f"{role:<11} {part:<7}" + "".join(f"{vals.get(f'p{q}', 0):>8}" for q in PERCENTILES))
    return "\n".join(lines)
