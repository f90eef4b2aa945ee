"""``umi-edge chat``: the terminal UI (Textual) of the three-role agent."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from umi_edge.errors import UserError


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "chat",
        help="chat with the agent in a terminal UI (watch the planner, caller, tools and summarizer)",
        description=(
            "Interactive terminal UI: type a query, watch the Planner think, the Caller call tools (write/exec "
            "tools ask first), the tools answer and the Summarizer conclude. Esc stops a turn, /help lists the "
            "slash commands, Ctrl+P opens the command palette, Ctrl+C twice quits. Needs a terminal; "
            "without one use `umi-edge run`."
        ),
    )
    p.add_argument(
        "--bundle",
        type=Path,
        help="bundle directory (holding umi.json); default: the shipped models/ bundle or $UMI_EDGE_BUNDLE",
    )
    p.add_argument(
        "--workspace",
        type=Path,
        default=None,
        help="directory the file and code tools may use (default: the current directory)",
    )
    p.add_argument(
        "--tools",
        type=Path,
        action="append",
        default=[],
        metavar="FILE",
        help="extra tools: a Python module of typed functions, or a JSON/YAML spec (repeatable)",
    )
    p.add_argument(
        "--only-tools",
        default="",
        metavar="NAMES",
        help="comma-separated tools to offer the model (default: all; fewer tools = shorter prompts)",
    )
    p.add_argument(
        "--approve",
        choices=("all", "writes", "none"),
        default="none",
        help="tool effects that run without asking: all; writes (read+write, exec asks); "
        "none (write and exec ask; the default). Read-only tools never ask",
    )
    p.add_argument(
        "--resume",
        nargs="?",
        const="latest",
        default=None,
        metavar="ID",
        help="reopen a saved session and continue it (no ID: the latest)",
    )
    p.add_argument(
        "--sessions",
        type=Path,
        default=None,
        metavar="DIR",
        help="where session transcripts live (default: $UMI_EDGE_SESSIONS, else $XDG_DATA_HOME/umi-edge/sessions)",
    )
    p.add_argument("--threads", type=int, default=None, help="CPU threads (default: physical cores)")
    p.add_argument("--gpu-layers", type=int, default=0, help="layers to offload to CUDA (-1 = all)")
    p.add_argument("--ctx", type=int, default=None, metavar="N", help="context size per role (default: the bundle's)")
    p.add_argument("--no-mmap", action="store_true", help="read model files into memory instead of mapping them")
    p.add_argument("--no-constrain", action="store_true", help="do not constrain the caller with a grammar")
    p.add_argument(
        "--unsafe-no-sandbox", action="store_true", help="let code tools run without isolation when none works"
    )
    p.add_argument("--max-steps", type=int, default=None, help="planner steps per turn before stopping")
    p.add_argument(
        "--max-tokens", type=int, default=None, metavar="N", help="cap every role's output at N tokens per generation"
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    workspace = (args.workspace or Path.cwd()).expanduser().resolve()
    if not workspace.is_dir():
        raise UserError(f"--workspace {workspace}: not a directory")
    for tools_file in args.tools:
        if not tools_file.exists():
            raise UserError(f"--tools {tools_file}: no such file")
    from umi_edge.tui.app import ChatApp
    from umi_edge.tui.backend import ChatOptions

    if args.threads is not None and args.threads < 1:
        raise UserError(f"--threads: expected a positive integer, got {args.threads}")
    if args.ctx is not None and args.ctx < 256:
        raise UserError(f"--ctx: expected an integer >= 256, got {args.ctx}")
    engine: dict[str, object] = {"gpu_layers": args.gpu_layers, "context_length": args.ctx, "mmap": not args.no_mmap}
    if args.threads:
        engine["threads"] = args.threads
    agent: dict[str, object] = {"max_steps": args.max_steps} if args.max_steps else {}
    if args.no_constrain:
        agent["constrain"] = False
    if args.max_tokens is not None:
        if args.max_tokens < 1:
            raise UserError(f"--max-tokens: expected a positive number, got {args.max_tokens}")
        from umi_edge.agent import AgentConfig

        defaults = AgentConfig().max_new_tokens
        agent["max_new_tokens"] = {role: min(n, args.max_tokens) for role, n in defaults.items()}
    if args.max_steps is not None and args.max_steps < 1:
        raise UserError(f"--max-steps: expected a positive number, got {args.max_steps}")
    options = ChatOptions(
        bundle=args.bundle,
        workspace=workspace,
        tools_files=list(args.tools),
        only_tools=[n.strip() for n in args.only_tools.split(",") if n.strip()],
        approve=args.approve,
        resume=args.resume,
        sessions_dir=args.sessions,
        allow_unsandboxed=args.unsafe_no_sandbox,
        engine=engine,
        agent=agent,
    )
    # Textual draws on stderr and reads stdin: all three must be the terminal.
    streams = {"stdout": sys.stdout, "stdin": sys.stdin, "stderr": sys.stderr}
    missing = [name for name, stream in streams.items() if not (stream and stream.isatty())]
    if missing:
        raise UserError(
            f'chat needs a terminal (not a TTY: {", ".join(missing)}); without one use `umi-edge run "QUERY"`'
        )
    app = ChatApp(options)
    rc = app.run()
    if app.turn_thread_busy.is_set():
        print("umi-edge: waiting for the running tool call to reach its time limit…", file=sys.stderr)
    return int(rc or 0)
