"""``umi-edge chat``: the terminal UI (Textual) of the three-role agent."""

from __future__ import annotations

import argparse
import sys

from umi_edge.commands import _options as opt
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
    opt.add_engine_options(p)
    opt.add_agent_options(p)
    opt.add_tool_options(p)
    opt.add_workspace_options(p)
    opt.add_session_options(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    workspace = opt.workspace(args)
    for tools_file in args.tools:
        if not tools_file.exists():
            raise UserError(f"--tools {tools_file}: no such file")
    from umi_edge.tui.app import ChatApp
    from umi_edge.tui.backend import ChatOptions

    options = ChatOptions(
        bundle=args.bundle,
        workspace=workspace,
        tools_files=list(args.tools),
        only_tools=opt.only_tools(args),
        mcp=list(args.mcp),
        mcp_network=args.mcp_network,
        resume=args.resume,
        sessions_dir=args.sessions,
        allow_unsandboxed=args.unsafe_no_sandbox,
        single=args.single,
        engine=opt.engine_options(args),
        agent=opt.agent_config(args),
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
