"""``umi-edge run``: answer one query with the α-UMi agent, headless (streams the roles, or prints JSON)."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from umi_edge.bundle import CHECKER
from umi_edge.commands import _options as opt
from umi_edge.errors import UserError

_EXIT = {"finished": 0, "gave_up": 1, "max_steps": 1, "error": 1, "cancelled": 130}


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
    opt.add_engine_options(p)
    opt.add_agent_options(p)
    opt.add_tool_options(p)
    opt.add_workspace_options(p)
    opt.add_session_options(p)
    p.add_argument("--json", action="store_true", help="print the result as JSON instead of streaming")
    p.add_argument("--temperature", type=opt.non_negative_float, default=0.0, help="sampling temperature (0 = greedy)")
    p.add_argument("--seed", type=int, default=0, help="sampling seed (with --temperature > 0)")
    p.add_argument("--no-transcript", action="store_true", help="do not write a transcript")
    p.set_defaults(func=handler)


def _ask(call: Any) -> bool:
    """Terminal approval prompt (stdin must be a terminal)."""
    args = json.dumps(call.arguments, ensure_ascii=False)
    print(f"\nallow {call.effect} tool '{call.name}' with {args}? [y/N] ", end="", file=sys.stderr, flush=True)
    try:
        return sys.stdin.readline().strip().lower() in ("y", "yes")
    except (OSError, KeyboardInterrupt):
        return False


def handler(args: argparse.Namespace) -> int:
    from umi_edge.agent.agent import Agent
    from umi_edge.agent.transcript import Transcript, TranscriptRecorder, find_session
    from umi_edge.engine import Engine, SamplingParams

    if not args.query.strip():
        raise UserError("QUERY: expected a question or task, got an empty string")
    workspace = opt.workspace(args)
    registry = opt.tool_registry(args)
    history: list[dict[str, str]] = []
    recorder = None
    if args.resume:
        path = find_session(args.resume, args.sessions)
        history = Transcript.load(path).conversation
        if not args.no_transcript:
            recorder = TranscriptRecorder(path)
    sampling = {}
    if args.temperature > 0:
        sampling = {
            r: SamplingParams(temperature=args.temperature, seed=args.seed)
            for r in ("planner", "caller", "summarizer", "backbone")
        }
    bundle = opt.bundle_path(args)
    engine = Engine.from_bundle(bundle, opt.engine_options(args, sampling=sampling))
    with engine:
        if recorder is None and not args.no_transcript:
            meta = {"bundle": str(bundle), "mode": engine.mode, "single": args.single, "workspace": str(workspace)}
            recorder = TranscriptRecorder.new(args.sessions, meta)
        interactive = sys.stdin.isatty() and not args.json
        agent = Agent(
            engine,
            registry,
            workspace=workspace,
            config=opt.agent_config(args),
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
    if not interactive and any(getattr(e, "denied", False) for e in agent.events):
        print(
            f"umi-edge: a tool call was denied (--approve {args.approve} and no terminal to ask on); "
            "pass --approve writes or --approve all to let it run",
            file=sys.stderr,
        )
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
        elif isinstance(e, ev.ToolsSelected):
            con.print(f"[dim]tools offered: {e.k} of {e.total} ({e.reason}): {', '.join(e.names)}[/]")
        elif isinstance(e, ev.ToolChosen) and e.name != e.model_choice:
            why = " (no offered tool likely to the caller: relevance alone)" if e.unsure else ""
            con.print(f"\n[dim]tool prior: {e.name} instead of the caller's own {e.model_choice}{why}[/]")
        elif isinstance(e, ev.ArgumentChosen) and e.value != e.model_choice:
            con.print(
                f"\n[dim]argument prior: {e.parameter} = {e.value} instead of the caller's own {e.model_choice}[/]"
            )
        elif isinstance(e, ev.ArgumentCompleted) and e.accepted:
            con.print(f"\n[dim]doc format: {e.parameter} = {e.value}, completed by the caller[/]")
        elif isinstance(e, ev.ArgumentAdded):
            con.print(f"\n[dim]stated in the request: {e.parameter} = {e.value}, added by the caller[/]")
        elif isinstance(e, ev.ValuesPending):
            con.print(f"\n[dim]listed in the request: {e.parameter} = {e.value} gets its own call[/]")
        elif isinstance(e, ev.FinishOverruled | ev.FinishRestored | ev.FollowUpRead):
            con.print(f"\n[dim]{e.note}[/]")
        elif isinstance(e, ev.ArgumentDropped):
            con.print(f"\n[dim]left out: {e.parameter} = {e.value}, {ev.DROP_REASONS.get(e.reason, e.reason)}[/]")
        elif isinstance(e, ev.CallRescued):
            con.print(f"\n[dim]rescued: the call held {', '.join(e.made_up)}, chosen again from the request[/]")
        elif isinstance(e, ev.CallVoted) and e.chosen == CHECKER:
            con.print(f"\n[dim]{e.note}[/]")
        elif isinstance(e, ev.AnswerNumberChosen) and e.number != e.model_choice:
            con.print(f"\n[dim]answer prior: {e.number} instead of the summarizer's own {e.model_choice}[/]")
        elif isinstance(e, ev.RepeatedCall) and e.succeeded:
            con.print(f"\n[dim]not run again: the same {e.name} call already answered at step {e.first_step}[/]")
        elif isinstance(e, ev.RepeatedCall):
            con.print(f"\n[bold red]not run again[/]: the same {e.name} call already failed at step {e.first_step}")
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
