"""The ``umi-edge`` command line.

Each capability owns one module in :mod:`umi_edge.commands` that defines ``register(subparsers)``;
this module discovers them, so a subcommand exists exactly when its capability has landed.
A command's handler is stored as ``func`` on its parser defaults and returns an exit status (or None for 0).
"""

from __future__ import annotations

import argparse
import importlib
import os
import pkgutil
import sys
from collections.abc import Sequence
from typing import NoReturn

from umi_edge import __version__, commands
from umi_edge.errors import UserError

# Order in `umi-edge --help`: the product's flow first, anything else after, alphabetically.
_ORDER = ["data", "tools", "train", "convert", "chat", "run", "eval", "bench"]


class Parser(argparse.ArgumentParser):
    """An ArgumentParser whose errors are the one line every bad input gets:
    ``umi-edge: error: <command>: <what>`` (exit 2), instead of argparse's usage block. Subcommand parsers are of
    this class too (``add_subparsers`` makes parsers of its parser's own class)."""

    def parse_known_args(  # type: ignore[override]  # argparse's overloads; this keeps its signature
        self, args: Sequence[str] | None = None, namespace: argparse.Namespace | None = None
    ) -> tuple[argparse.Namespace, list[str]]:
        ns, extras = super().parse_known_args(args, namespace)
        if extras and " " in self.prog:  # a subcommand names itself in the error, not the top-level parser
            self.error(f"unrecognized arguments: {' '.join(extras)}")
        return ns, extras

    def error(self, message: str) -> NoReturn:
        where = self.prog.removeprefix("umi-edge").strip()
        text = f"{where}: {message}" if where else message
        self.exit(2, f"umi-edge: error: {text} (see `{self.prog} --help`)\n")


def build_parser() -> argparse.ArgumentParser:
    """Build the parser with every registered subcommand."""
    parser = Parser(
        prog="umi-edge",
        description="α-UMi multi-LLM tool agent (planner, caller, summarizer) on small local models.",
    )
    parser.add_argument("--version", action="version", version=f"umi-edge {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    names = [m.name for m in pkgutil.iter_modules(commands.__path__) if not m.name.startswith("_")]
    names.sort(key=lambda n: (_ORDER.index(n) if n in _ORDER else len(_ORDER), n))
    for name in names:
        module = importlib.import_module(f"umi_edge.commands.{name}")
        module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``umi-edge`` console script."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        rc = args.func(args)
    except UserError as exc:
        msg = str(exc).replace("\n", " ")
        print(f"umi-edge: error: {msg}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("umi-edge: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # Output piped into e.g. `head`: silence the flush at exit.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 1
    return int(rc or 0)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
