"""``umi-edge run``: answer one query with the α-UMi agent, headless (streams the roles, or prints JSON)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from umi_edge.errors import UserError

_EXIT = {"finished": 0, "gave_up": 1, "max_steps": 1, "error": 1, "cancelled": 130}


def add_engine_options(p: argparse.ArgumentParser) -> None:
    """Options that load the bundle (shared with ``bench``)."""
    p.add_argument(
        "--bundle", metavar="B", default=None, help="bundle directory (umi.json); default: the shipped models/"
    )
    p.add_argument("--threads", type=int, default=None, metavar="N", help="CPU threads (default: physical cores)")
    p.add_argument(
        "--gpu-layers", type=int, default=0, metavar="N", help="layers to offload to CUDA, -1 = all (default 0)"
    )
    p.add_argument("--ctx", type=int, default=None, metavar="N", help="context size per role (default: the bundle's)")
    p.add_argument("--no-mmap", action="store_true", help="read model files into memory instead of mapping them")
    add_repeat_stop(p)


def add_repeat_stop(p: argparse.ArgumentParser, type: Any = int) -> None:  # noqa: A002 - argparse's name
    """``--repeat-stop N`` (EngineOptions.repeat_stop), shared by run, bench and eval."""
    p.add_argument(
        "--repeat-stop",
        type=type,
        default=48,
        metavar="N",
        help="end a generation once its last N tokens repeat one short pattern (default 48; 0 = never)",
    )


def engine_options(args: argparse.Namespace, **extra: Any) -> Any:
    from umi_edge.engine import EngineOptions

    if args.threads is not None and args.threads < 1:
        raise UserError(f"--threads: expected a positive integer, got {args.threads}")
    if args.ctx is not None and args.ctx < 256:
        raise UserError(f"--ctx: expected an integer >= 256, got {args.ctx}")
    if args.repeat_stop < 0:
        raise UserError(f"--repeat-stop: expected an integer >= 0, got {args.repeat_stop}")
    return EngineOptions(
        threads=args.threads,
        gpu_layers=args.gpu_layers,
        context_length=args.ctx,
        mmap=not args.no_mmap,
        repeat_stop=args.repeat_stop,
        **extra,
    )


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "run",
        help="answer one query with the agent (headless)",
        description="Run the α-UMi agent on QUERY: the planner decides, the caller calls a tool (grammar-"
        "constrained to the registered tools), the tool runs in the workspace, ... until the summarizer answers "
        "or the planner gives up. Streams each role's output to the terminal; --json prints one JSON document "
        '{"answer", "status", "conversation", "timings"} instead. Exit status: 0 finished, 1 gave up / max steps '
        "/ error, 2 bad input. Each run is saved as a JSONL transcript in the sessions directory.",
    )
    p.add_argument("query", metavar="QUERY", help="the question or task")
    add_engine_options(p)
    p.add_argument("--workspace", default=".", metavar="DIR", help="directory the tools work in (default: current)")
    p.add_argument(
        "--tools",
        action="append",
        default=[],
        metavar="FILE",
        help="extra tools: a Python module of typed functions or a JSON/YAML spec (repeatable)",
    )
    p.add_argument(
        "--only-tools",
        default=None,
        metavar="NAMES",
        help="comma-separated tool names: offer only these tools to the model (default: all)",
    )
    p.add_argument(
        "--approve",
        choices=("all", "writes", "none"),
        default="writes",
        help="tool effects that run without asking: all; writes (read+write, the default); none (read only). "
        "Others are asked on a terminal and denied otherwise (the denial becomes an observation)",
    )
    p.add_argument("--single", action="store_true", help="backbone (single-LLM) mode: needs a single-mode bundle")
    p.add_argument("--json", action="store_true", help="print the result as JSON instead of streaming")
    p.add_argument("--no-constrain", action="store_true", help="do not constrain the caller with a grammar")
    p.add_argument("--max-steps", type=int, default=12, metavar="N", help="planner turns before stopping (12)")
    p.add_argument(
        "--observation-chars", type=int, default=1024, metavar="N", help="observation size the planner sees (1024)"
    )
    p.add_argument(
        "--max-tokens", type=int, default=None, metavar="N", help="cap on each role's output tokens (default 256-512)"
    )
    p.add_argument("--temperature", type=float, default=0.0, help="sampling temperature for every role (0 = greedy)")
    p.add_argument("--seed", type=int, default=0, help="sampling seed (with --temperature > 0)")
    p.add_argument("--sessions", default=None, metavar="DIR", help="transcripts directory (default: XDG data dir)")
    p.add_argument("--no-transcript", action="store_true", help="do not write a transcript")
    p.add_argument(
        "--resume", default=None, metavar="SESSION", help="continue a saved session (its id or transcript path)"
    )
    p.add_argument(
        "--unsafe-no-sandbox", action="store_true", help="let code tools run without isolation when none works"
    )
    p.set_defaults(func=handler)


def _session_path(ref: str, sessions: str | None) -> Path:
    from umi_edge.agent.transcript import SUFFIX, sessions_dir

    p = Path(ref)
    if p.exists():
        return p
    cand = sessions_dir(sessions) / f"{ref}{SUFFIX}"
    if cand.exists():
        return cand
    raise UserError(f"--resume: no session {ref!r} (not a file, and not in {sessions_dir(sessions)})")


def _ask(call: Any) -> bool:
    """Terminal approval prompt (stdin must be a terminal)."""
    args = json.dumps(call.arguments, ensure_ascii=False)
    print(f"\nallow {call.effect} tool '{call.name}' with {args}? [y/N] ", end="", file=sys.stderr, flush=True)
    try:
        return sys.stdin.readline().strip().lower() in ("y", "yes")
    except (OSError, KeyboardInterrupt):
        return False


def handler(args: argparse.Namespace) -> int:
    from umi_edge.agent import Agent, AgentConfig
    from umi_edge.agent.transcript import Transcript, TranscriptRecorder
    from umi_edge.engine import Engine, SamplingParams
    from umi_edge.engine.engine import resolve_bundle
    from umi_edge.tools.registry import default_registry

    if args.max_tokens is not None and args.max_tokens < 1:
        raise UserError(f"--max-tokens: expected a positive integer, got {args.max_tokens}")
    if args.max_steps < 1:
        raise UserError(f"--max-steps: expected a positive integer, got {args.max_steps}")
    if args.observation_chars < 64:
        raise UserError(f"--observation-chars: expected an integer >= 64, got {args.observation_chars}")
    workspace = Path(args.workspace).expanduser()
    if not workspace.is_dir():
        raise UserError(f"--workspace: {workspace} is not a directory")
    registry = default_registry(args.tools, allow_unsandboxed=args.unsafe_no_sandbox)
    if args.only_tools:
        try:
            registry = registry.subset(n.strip() for n in args.only_tools.split(",") if n.strip())
        except KeyError as exc:
            raise UserError(f"--only-tools: {exc.args[0]}") from None
    history: list[dict[str, str]] = []
    recorder = None
    if args.resume:
        path = _session_path(args.resume, args.sessions)
        history = Transcript.load(path).conversation
        if not args.no_transcript:
            recorder = TranscriptRecorder(path)
    sampling = {}
    if args.temperature > 0:
        sampling = {
            r: SamplingParams(temperature=args.temperature, seed=args.seed)
            for r in ("planner", "caller", "summarizer", "backbone")
        }
    bundle = resolve_bundle(args.bundle)
    engine = Engine.from_bundle(bundle, engine_options(args, sampling=sampling))
    with engine:
        if recorder is None and not args.no_transcript:
            meta = {"bundle": str(bundle), "mode": engine.mode, "single": args.single, "workspace": str(workspace)}
            recorder = TranscriptRecorder.new(args.sessions, meta)
        config = AgentConfig(
            max_steps=args.max_steps,
            observation_chars=args.observation_chars,
            constrain=not args.no_constrain,
            approve_policy=args.approve,
        )
        if args.max_tokens is not None:
            config.max_new_tokens = dict.fromkeys(config.max_new_tokens, args.max_tokens)
        interactive = sys.stdin.isatty() and not args.json
        agent = Agent(
            engine,
            registry,
            workspace=workspace,
            config=config,
            approve=_ask if interactive else None,
            single=True if args.single else None,
            recorder=recorder,
        )
        try:
            if args.json:
                for _ in agent.run(args.query, history=history):
                    pass
                out = agent.summary()
                out["session"] = str(recorder.path) if recorder else None
                print(json.dumps(out, ensure_ascii=False, indent=2))
            else:
                _stream(agent, args.query, history)
                if recorder is not None:
                    print(f"transcript: {recorder.path}", file=sys.stderr)
        finally:
            if recorder is not None:
                recorder.close()
    return _EXIT.get(agent.status or "error", 1)


def _stream(agent: Any, query: str, history: list[dict[str, str]]) -> None:
    """Print each role's output as it streams, with role labels (plain text; colours on a terminal)."""
    from rich.console import Console

    from umi_edge.agent import events as ev

    con = Console(highlight=False, soft_wrap=True)
    current: tuple[str, int] | None = None
    for e in agent.run(query, history=history):
        if isinstance(e, ev.TokenDelta):
            if current != (e.role, e.step):
                con.print(f"\n[bold cyan]{e.role}[/] [dim]step {e.step}[/]: ", end="")
                current = (e.role, e.step)
            con.out(e.text, end="")
            continue
        current = None if not isinstance(e, ev.Timing) else current
        if isinstance(e, ev.ToolCall) and not e.valid:
            con.print(f"\n[bold red]invalid call[/]: {e.problem}")
        elif isinstance(e, ev.Observation):
            tag = "denied" if e.denied else ("error" if e.is_error else "observation")
            con.print(f"\n[bold yellow]{tag}[/] [dim]{e.name}[/]: ", end="")
            con.out(e.content)
        elif isinstance(e, ev.HistoryShortened):
            con.print(f"\n[dim]history shortened for the {e.role}: {e.rule}[/]")
        elif isinstance(e, ev.FinalAnswer):
            con.print("\n\n[bold green]answer[/]: ", end="")
            con.out(e.text)
        elif isinstance(e, ev.GaveUp):
            con.print(f"\n\n[bold red]gave up[/]: {e.reason}")
        elif isinstance(e, ev.AgentError):
            con.print(f"\n[bold red]error[/]: {e.message}")
        elif isinstance(e, ev.Cancelled):
            con.print("\n[bold red]cancelled[/]")
        elif isinstance(e, ev.RunFinished) and e.status == "max_steps":
            con.print(f"\n\n[bold red]stopped[/]: no answer after {e.step} steps (--max-steps)")
