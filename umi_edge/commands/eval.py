"""``umi-edge eval``: the paper's static metrics on stage-2 files, executable task success, and BFCL."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from umi_edge import atomic
from umi_edge.commands import _options as opt
from umi_edge.errors import UserError

if TYPE_CHECKING:
    from umi_edge.engine.engine import Engine
    from umi_edge.eval.static import CallerProtocol


def _common(p: argparse.ArgumentParser) -> None:
    opt.add_engine_options(p)
    p.add_argument("--limit", type=opt.positive, metavar="N", help="evaluate only the first N dialogues / tasks")
    p.add_argument("--report", type=Path, metavar="R.md", help="also write the Markdown report to this file")
    p.add_argument("--json", action="store_true", help="print the results as JSON instead of the Markdown report")
    p.add_argument("--label", default=None, help="name of our row in the report (default: the bundle directory)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "eval",
        help="evaluate a bundle: the paper's static metrics, or executable task success",
        description="Evaluate a bundle. `static` scores every gold step of a stage-2 file (Plan ACC, Act. EM, "
        "Hallu., Arg. F1, R-L) exactly as the α-UMi release does; `tasks` runs the agent on task files.",
    )
    sub = parser.add_subparsers(dest="eval_command", metavar="KIND")
    parser.set_defaults(func=lambda args: (parser.print_help(), 2)[1])

    st = sub.add_parser(
        "static",
        help="the paper's static ToolBench metrics on a stage-2 file",
        description="For every gold planner step of FILE (assistant turns ending in 'Next: caller.', "
        "'Next: conclusion.' or 'Next: give up.'), give the roles the gold history and predict the step greedily "
        "(planner, then caller or summarizer as the released pipeline routes; --single: the backbone). Reports "
        "Plan ACC, Act. EM, Hallu., Arg. F1 (easy/hard) and R-L beside the paper's rows and the majority-plan "
        "baseline. Evaluation data only: never train or tune on it.",
    )
    st.add_argument("file", type=Path, help="stage-2 file: JSON array or JSONL of {tools, instruction, conversations}")
    _common(st)
    st.add_argument(
        "--sample", type=opt.positive, metavar="N", help="evaluate N dialogues drawn at random (see --seed)"
    )
    st.add_argument("--seed", type=int, default=0, help="random seed of --sample (default 0)")
    st.add_argument(
        "--predictions-out", type=Path, metavar="P.jsonl", help="write one JSON line per step (gold, prediction, raw)"
    )
    st.add_argument(
        "--resume",
        action="store_true",
        help="continue an interrupted or killed run from P.jsonl.part, the journal that --predictions-out keeps "
        "(same file, bundle and options); its steps are not predicted again",
    )
    opt.add_max_tokens(st)
    opt.add_single(st)
    st.add_argument(
        "--constrain",
        nargs="?",
        const="on",
        choices=("on", "both"),
        default=None,
        metavar="both",
        help="grammar-constrain the caller to the dialogue's tools, as at run time (Hallu. is then 0); "
        "'--constrain both' reports the paper's unconstrained protocol and the constrained one from one run "
        "(default: unconstrained, the paper's protocol)",
    )
    st.add_argument(
        "--finish-checks",
        action="store_true",
        help="apply the runtime's checks of early conclusions to the planner's turns (a conclusion right after a "
        "failed call, or while an offered tool the request speaks of is uncalled, becomes a call or a give-up); "
        "the report also gives the planner's own Plan ACC (default: the planner alone, the paper's protocol)",
    )
    st.add_argument(
        "--split",
        choices=("in", "out"),
        default=None,
        help="which paper rows to print: in-domain or out-of-domain (default: from the file name)",
    )
    st.add_argument(
        "--baseline-only",
        action="store_true",
        help="only compute the majority-plan baseline of FILE (no model needed)",
    )
    st.set_defaults(func=run_static_command)

    tk = sub.add_parser(
        "tasks",
        help="run the agent on executable tasks and check the final answers",
        description="Run the full agent on every task of FILE (JSONL: {id, query, answer, match?, files?, sqlite?, "
        "tools?}) in a fresh workspace holding the task's fixtures, and check the final answer (contains / exact / "
        "number with relative tolerance 1e-6). Reports success rate, steps, tool errors, calls to unknown tools, "
        "give-ups, max-step hits, ungrounded answers (a number neither the request nor any observation holds) and "
        "latency per task.",
    )
    tk.add_argument("file", type=Path, help="task file (JSONL), e.g. from `umi-edge data synth --tasks-out`")
    _common(tk)
    opt.add_agent_options(tk)
    opt.add_tool_options(tk, only=False)
    tk.add_argument(
        "--transcripts-out",
        type=Path,
        metavar="T.jsonl",
        help="write one JSON line per task: result, query, conversation and agent events",
    )
    tk.add_argument(
        "--second",
        action="store_true",
        help="ask each task as the second question of a session whose first question is the task before it; "
        "reports first- and second-question success",
    )
    tk.set_defaults(func=run_tasks_command)

    bf = sub.add_parser(
        "bfcl",
        help="planner + caller on BFCL entries, scored by bfcl-eval's own AST checker",
        description="For each entry of the BFCL categories (read from the installed bfcl-eval package), the agent "
        "gets the entry's question with the entry's functions as its only tools; its calls (the first one; for "
        'parallel categories successive ones, each answered with {"status": "ok"}) are scored with '
        "bfcl-eval's AST checker. Irrelevance entries are right when no call is made. Reports accuracy per "
        "category. The non-live categories are test sets: never train or tune on them.",
        epilog="example: umi-edge eval bfcl simple_python irrelevance --limit 50 --report bfcl.md",
    )
    bf.add_argument("categories", metavar="CATEGORY", nargs="+", help="BFCL categories, e.g. simple_python multiple")
    _common(bf)
    opt.add_max_tokens(bf)
    opt.add_ungrounded_calls(bf)
    opt.add_tool_prior(bf)
    opt.add_argument_prior(bf)
    opt.add_string_prior(bf)
    opt.add_rescue(bf)
    opt.add_complete_arguments(bf)
    opt.add_parallel_calls(bf)
    opt.add_relevance_gate(bf)
    opt.add_call_check(bf)
    opt.add_finish_checks(bf)
    bf.add_argument(
        "--validation",
        action="store_true",
        help="live categories only: just the entries `data import-bfcl` holds out for validation (the ones to tune on)",
    )
    bf.set_defaults(func=run_bfcl_command)

    cp = sub.add_parser(
        "compare",
        help="the same evaluation for several bundles: one table and a PNG bar chart",
        description="Evaluate several bundles on FILE the same way and put them in one table (Markdown, --json) "
        "and a bar chart (--chart PNG). A single-mode bundle is evaluated as the single LLM, any other as the "
        "three α-UMi roles. Typical: --bundles base=BASE,single=SINGLE,umi=UMI from the same base and data.",
    )
    cp.add_argument("file", type=Path, help="a stage-2 file (--static) or a task file (--tasks)")
    cp.add_argument(
        "--bundles",
        required=True,
        metavar="NAME=B,...",
        help="comma-separated NAME=BUNDLE pairs; BUNDLE may also be a saved `eval static/tasks --json` result "
        "(.json) of the same FILE",
    )
    kind = cp.add_mutually_exclusive_group()
    kind.add_argument("--static", dest="kind", action="store_const", const="static", help="static metrics (default)")
    kind.add_argument("--tasks", dest="kind", action="store_const", const="tasks", help="executable tasks")
    cp.set_defaults(kind="static")
    cp.add_argument("--limit", type=opt.positive, metavar="N", help="only the first N dialogues / tasks")
    cp.add_argument("--sample", type=opt.positive, metavar="N", help="--static: N dialogues drawn with --seed")
    cp.add_argument("--seed", type=int, default=0, help="random seed of --sample (default 0)")
    opt.add_max_tokens(cp)
    cp.add_argument("--max-steps", type=opt.positive, default=None, metavar="N", help="--tasks: planner turns per task")
    cp.add_argument("--report", type=Path, metavar="R.md", help="also write the Markdown table to this file")
    cp.add_argument("--chart", type=Path, metavar="C.png", help="bar chart (default: next to --report, .png)")
    cp.add_argument("--json", action="store_true", help="print the comparison as JSON instead of Markdown")
    opt.add_engine_options(cp, bundle=False)
    cp.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")
    cp.set_defaults(func=run_compare_command)


STATIC_PROTOCOLS: dict[str | None, tuple[CallerProtocol, ...]] = {
    None: ("unconstrained",),
    "on": ("constrained",),
    "both": ("unconstrained", "constrained"),
}
"""``eval static --constrain`` values → caller protocols (the first one's metrics are the run's ``metrics``)."""


def _emit(args: argparse.Namespace, summary: dict[str, Any], markdown: str) -> None:
    if args.report is not None:
        atomic.write_text(args.report, markdown)
    if args.json:
        print(json.dumps(summary, ensure_ascii=False, indent=2))
    else:
        print(markdown)


def _exit_status(interrupted: bool, what: str, hint: str = "") -> int:
    """0, or 130 with a line on stderr when Ctrl-C stopped the run and the report covers only ``what`` done."""
    if not interrupted:
        return 0
    print(f"umi-edge: interrupted; the report covers the {what} done so far{hint}", file=sys.stderr)
    return 130


def _engine(args: argparse.Namespace) -> Engine:
    from umi_edge.engine.engine import Engine

    return Engine.from_bundle(opt.bundle_path(args), opt.engine_options(args))


def run_static_command(args: argparse.Namespace) -> int:
    from umi_edge.eval import journal
    from umi_edge.eval.paper import guess_split
    from umi_edge.eval.report import static_markdown
    from umi_edge.eval.static import (
        DEFAULT_MAX_TOKENS,
        NO_SINGLE_FINISH_CHECKS,
        file_majority_baseline,
        run_static,
    )

    if not args.file.is_file():
        raise UserError(f"{args.file}: no such file (expected a stage-2 JSON or JSONL file)")
    if args.sample is None and args.seed != 0:
        raise UserError("--seed only applies together with --sample N")
    if args.baseline_only:
        base = file_majority_baseline(args.file)
        summary: dict[str, Any] = {"file": str(args.file), "majority_baseline": {"file": base}}
        md = (
            f"# Majority-plan baseline: {args.file.name}\n\nAlways '{base['label']}': Plan ACC "
            f"{base['plan_acc']:.1f} over {base['steps']} gold steps.\n"
        )
        _emit(args, summary, md)
        return 0
    protocols = STATIC_PROTOCOLS[args.constrain]
    if args.single and args.constrain is not None:
        raise UserError("--constrain applies to the multi-LLM caller; the single-LLM backbone runs unconstrained")
    if args.single and args.finish_checks:
        raise UserError(NO_SINGLE_FINISH_CHECKS)
    split = args.split or guess_split(args.file.name)
    budget = opt.max_new_tokens(args.max_tokens, DEFAULT_MAX_TOKENS) if args.max_tokens is not None else None
    if args.resume and args.predictions_out is None:
        raise UserError("--resume continues the journal of --predictions-out P.jsonl; give that option too")
    part = journal.journal_path(args.predictions_out) if args.predictions_out is not None else None
    if part is not None and part.is_file() and not args.resume:
        raise UserError(
            f"{part}: holds the finished steps of an earlier run; add --resume to continue it, or delete it"
        )
    with _engine(args) as engine:
        header = {
            "file": str(args.file.resolve()),
            "bundle": str(engine.describe().get("bundle")),
            "single": args.single,
            "limit": args.limit,
            "sample": args.sample,
            "seed": args.seed,
            "max_tokens": args.max_tokens,
            "ctx": args.ctx,
            "repeat_stop": args.repeat_stop,
        }
        if args.constrain is not None:  # journals of unconstrained runs keep their header
            header["protocols"] = list(protocols)
        if args.finish_checks:
            header["finish_checks"] = True
        done = journal.read(part, header) if part is not None and args.resume else []
        jr = journal.Journal(part, header, done) if part is not None else None
        try:
            run = run_static(
                args.file,
                engine,
                single=args.single,
                limit=args.limit,
                sample=args.sample,
                seed=args.seed,
                max_tokens=budget,
                progress=False if args.no_progress else None,
                on_step=(lambda r: jr.append(r.to_record())) if jr is not None else None,
                done=done,
                protocols=protocols,
                finish_checks=args.finish_checks,
            )
        finally:
            if jr is not None:
                jr.close()
    if args.predictions_out is not None:
        atomic.write_jsonl(args.predictions_out, (r.to_record() for r in run.results))
        if part is not None and not run.interrupted:
            part.unlink(missing_ok=True)
    summary = run.to_json()
    summary["split"] = split
    label = args.label or f"ours: {Path(summary['engine'].get('bundle', 'bundle')).name} ({run.mode}-LLM)"
    _emit(args, summary, static_markdown(summary, split=split, label=label))
    hint = "; add --resume to continue it" if args.predictions_out is not None else ""
    return _exit_status(run.interrupted, "steps", hint)


def run_tasks_command(args: argparse.Namespace) -> int:
    from umi_edge.eval.report import tasks_markdown
    from umi_edge.eval.tasks import run_tasks
    from umi_edge.formats.taskfile import load_tasks

    load_tasks(args.file)  # validate the whole file before loading any model
    for f in args.tools:
        if not f.is_file():
            raise UserError(f"{f}: no such tools file")
    registry = opt.tool_registry(args, entry_points=False) if args.tools else None
    with _engine(args) as engine:
        run = run_tasks(
            args.file,
            engine,
            registry=registry,
            single=args.single,
            limit=args.limit,
            config=opt.agent_config(args),
            progress=False if args.no_progress else None,
            second=args.second,
        )
    if args.transcripts_out is not None:
        atomic.write_jsonl(args.transcripts_out, (r.transcript() for r in run.results))
    summary = run.to_json()
    label = args.label or f"{Path(summary['engine'].get('bundle', 'bundle')).name} ({run.mode}-LLM)"
    _emit(args, summary, tasks_markdown(summary, label=label))
    return _exit_status(run.interrupted, "tasks")


def run_bfcl_command(args: argparse.Namespace) -> int:
    from umi_edge.eval.bfcl import bfcl_markdown, check_categories, run_bfcl

    check_categories(args.categories, live_only=args.validation)  # before any model loads
    with _engine(args) as engine:
        run = run_bfcl(
            args.categories,
            engine,
            config=opt.agent_config(args),
            limit=args.limit,
            progress=False if args.no_progress else None,
            validation=args.validation,
        )
    summary = run.to_json()
    label = args.label or f"{Path(summary['engine'].get('bundle', 'bundle')).name} (multi-LLM)"
    _emit(args, summary, bfcl_markdown(summary, label=label))
    return _exit_status(run.interrupted, "entries")


def run_compare_command(args: argparse.Namespace) -> int:
    from umi_edge.eval.compare import bar_chart, compare_markdown, parse_bundles, run_compare
    from umi_edge.eval.static import DEFAULT_MAX_TOKENS
    from umi_edge.formats.taskfile import load_tasks

    bundles = parse_bundles(args.bundles)
    if not args.file.is_file():
        raise UserError(f"{args.file}: no such file")
    if args.kind == "tasks":
        load_tasks(args.file)
    if args.sample is None and args.seed != 0:
        raise UserError("--seed only applies together with --sample N")
    progress = False if args.no_progress else None
    budget = opt.max_new_tokens(args.max_tokens, DEFAULT_MAX_TOKENS) if args.max_tokens is not None else None
    result = run_compare(
        args.file,
        bundles,
        kind=args.kind,
        engine_options=opt.engine_options(args),
        static_kw={
            "limit": args.limit,
            "sample": args.sample,
            "seed": args.seed,
            "max_tokens": budget,
            "progress": progress,
        },
        tasks_kw={"limit": args.limit, "config": opt.agent_config(args), "progress": progress},
    )
    chart = args.chart or (args.report.with_suffix(".png") if args.report is not None else None)
    if chart is not None:
        bar_chart(result, chart)
        result["chart"] = str(chart)
    _emit(args, result, compare_markdown(result))
    return 0
