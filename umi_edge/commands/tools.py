"""``umi-edge tools``: list the available tools, run one call exactly as the agent would, check the sandbox."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from umi_edge.errors import UserError

if TYPE_CHECKING:
    from umi_edge.tools.registry import ToolRegistry


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "tools",
        help="list, run and check the agent's tools and sandbox",
        description="The agent's tools: built-ins, `--tools FILE` modules/specs and installed `umi_edge.tools` "
        "entry points. `list` shows each tool's effect and JSON Schema, `run` performs one call exactly as the "
        "agent would, `doctor` shows which sandbox layers work on this machine.",
    )
    sub = parser.add_subparsers(dest="tools_command", metavar="ACTION")

    def add_tools_option(p: argparse.ArgumentParser) -> None:
        p.add_argument(
            "--tools",
            action="append",
            default=[],
            metavar="FILE",
            help="extra tools: a Python module of typed, documented functions, or a JSON/YAML spec or "
            "ToolBench / alpha-UMi tool doc (repeatable)",
        )
        p.add_argument("--no-entry-points", action="store_true", help="ignore tools from installed packages")

    p_list = sub.add_parser("list", help="list tools with their effect and JSON Schema")
    add_tools_option(p_list)
    list_format = p_list.add_mutually_exclusive_group()
    list_format.add_argument(
        "--json", action="store_true", help="print a JSON list of {name, description, effect, sandboxed, parameters}"
    )
    list_format.add_argument(
        "--alpha-umi", action="store_true", help="print the alpha-UMi tool documentation lines the prompts use"
    )
    p_list.set_defaults(func=_list)

    p_run = sub.add_parser(
        "run",
        aliases=["call"],
        help="run one tool call as the agent would and print the observation",
        description="Validate ARGS_JSON against the tool's schema, run the tool (code tools in the sandbox) in "
        "the workspace and print the observation. Exit status 0 when the call succeeded, 1 when the "
        "observation is an error, 2 for bad command-line input.",
    )
    p_run.add_argument("name", metavar="NAME", help="tool name (see `umi-edge tools list`)")
    p_run.add_argument(
        "arguments",
        metavar="ARGS_JSON",
        nargs="?",
        default="{}",
        help="the call's arguments as a JSON object (default {}); '-' reads them from standard input",
    )
    p_run.add_argument("--workspace", default=".", metavar="DIR", help="workspace directory (default: current)")
    add_tools_option(p_run)
    p_run.add_argument(
        "--json",
        action="store_true",
        help='print {"ok": bool, "observation": <JSON>, "error": str|null, "truncated", "seconds"}',
    )
    p_run.add_argument("--timeout", type=float, default=20.0, help="wall-clock limit in seconds (default 20)")
    p_run.add_argument("--max-chars", type=int, default=None, help="observation size limit in characters")
    p_run.add_argument(
        "--unsafe-no-sandbox",
        action="store_true",
        help="let code tools run with only rlimits and a timeout when no isolation layer works",
    )
    p_run.set_defaults(func=_run)

    p_doc = sub.add_parser("doctor", aliases=["sandbox"], help="show which sandbox layers are active here")
    p_doc.add_argument("--json", action="store_true", help="print the status as JSON")
    p_doc.set_defaults(func=_doctor)

    parser.set_defaults(func=lambda args: (parser.print_help(), 2)[1])


def _registry(args: argparse.Namespace, **kwargs: Any) -> ToolRegistry:
    from umi_edge.tools.loading import default_registry

    return default_registry(args.tools, entry_points=not args.no_entry_points, **kwargs)


def _list(args: argparse.Namespace) -> int:
    reg = _registry(args)
    if args.alpha_umi:
        for doc in reg.alpha_umi_docs():
            print(json.dumps(doc, ensure_ascii=False))
        return 0
    if args.json:
        print(json.dumps([t.to_dict() for t in reg.tools()], ensure_ascii=False, indent=2))
        return 0
    from rich.console import Console
    from rich.table import Table

    table = Table(box=None, pad_edge=False, show_header=True, header_style="bold")
    table.add_column("tool")
    table.add_column("effect")
    table.add_column("parameters (? = optional)")
    table.add_column("description", overflow="fold")
    for t in reg.tools():
        effect = t.effect + (" (sandboxed)" if t.sandboxed else "")
        params = t.signature_text()[len(t.name) :]
        desc = t.description.split(". ")[0].rstrip(".")
        table.add_row(t.name, effect, params, desc)
    Console(soft_wrap=False).print(table)
    return 0


def _run(args: argparse.Namespace) -> int:
    from umi_edge.tools.result import DEFAULT_MAX_CHARS

    text = sys.stdin.read() if args.arguments == "-" else args.arguments
    try:
        arguments = json.loads(text)
    except json.JSONDecodeError as exc:
        raise UserError(f"ARGS_JSON: line {exc.lineno} column {exc.colno}: invalid JSON: {exc.msg}") from None
    ws = Path(args.workspace).expanduser()
    if not ws.is_dir():
        raise UserError(f"--workspace {args.workspace}: not a directory")
    if args.timeout <= 0:
        raise UserError(f"--timeout: expected a positive number of seconds, got {args.timeout:g}")
    reg = _registry(args, allow_unsandboxed=args.unsafe_no_sandbox)
    result = reg.call(
        args.name, arguments, workspace=ws, timeout=args.timeout, max_chars=args.max_chars or DEFAULT_MAX_CHARS
    )
    observation = json.loads(result.content)
    if args.json:
        out = {
            "ok": not result.is_error,
            "observation": observation,
            "error": observation.get("error") if result.is_error and isinstance(observation, dict) else None,
            "truncated": result.truncated,
            "seconds": round(result.seconds, 3),
        }
        print(json.dumps(out, ensure_ascii=False))
    else:
        print(result.content)
        if result.truncated:
            print("(observation truncated to the size limit)", file=sys.stderr)
    return 1 if result.is_error else 0


def _doctor(args: argparse.Namespace) -> int:
    from umi_edge.sandbox import sandbox_status

    status = sandbox_status()
    if args.json:
        print(json.dumps(status.to_dict(), indent=2))
        return 0 if status.isolation else 1
    from rich.console import Console
    from rich.table import Table

    table = Table(box=None, pad_edge=False, header_style="bold")
    table.add_column("layer")
    table.add_column("active")
    table.add_column("detail", overflow="fold")
    table.add_column("protects", overflow="fold")
    for layer in status.layers:
        mark = "[green]yes[/green]" if layer.active else "[red]no[/red]"
        table.add_row(str(layer.name), mark, layer.detail, layer.description)
    console = Console()
    console.print(table)
    if status.isolation:
        console.print(
            "Code tools run isolated with every active layer (a layer that fails at run time stops the call)."
        )
        return 0
    console.print(
        "[red]No isolation layer works here[/red]: code tools refuse to run unless you pass "
        "--unsafe-no-sandbox (then only rlimits and the timeout apply)."
    )
    return 1
