"""The options that several commands share, declared once and validated once.

``run``, ``chat``, ``bench`` and ``eval`` load a bundle and run the roles; each takes the same engine options
(:func:`add_engine_options`), and those that run the agent the same agent, tool and session options, with one
meaning and one default everywhere. Values are checked by the argparse types below, so every bad value is
reported the same way (``umi-edge: error: <command>: argument --x: <what>``). The builders turn the parsed options
into the runtime's own objects: :func:`engine_options`, :func:`agent_config`, :func:`tool_registry`.

The module name starts with ``_`` so that :mod:`umi_edge.cli` does not take it for a subcommand.
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from umi_edge.agent.approval import APPROVE_POLICIES, DEFAULT_POLICY
from umi_edge.agent.config import (
    DEFAULT_ANSWER_PRIOR,
    DEFAULT_ARGUMENT_PRIOR,
    DEFAULT_RESCUE_MARGIN,
    DEFAULT_RESCUE_SHARE,
    DEFAULT_STRING_PRIOR,
    DEFAULT_TOOL_PRIOR,
    DEFAULT_TOOL_PRIOR_FLOOR,
)
from umi_edge.agent.earlier import DEFAULT_HISTORY, HISTORY_MODES
from umi_edge.errors import UserError

if TYPE_CHECKING:
    from umi_edge.agent.config import AgentConfig
    from umi_edge.engine.options import EngineOptions
    from umi_edge.tools.registry import ToolRegistry


def int_at_least(minimum: int) -> Callable[[str], int]:
    """An argparse ``type``: an integer >= ``minimum``."""
    what = "a positive integer" if minimum == 1 else f"an integer >= {minimum}"

    def parse(text: str) -> int:
        try:
            n = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}") from None
        if n < minimum:
            raise argparse.ArgumentTypeError(f"expected {what}, got {n}")
        return n

    parse.__name__ = what  # argparse names the type in some messages
    return parse


positive = int_at_least(1)


def non_negative_float(text: str) -> float:
    """An argparse ``type``: a number >= 0."""
    try:
        x = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number >= 0, got {text!r}") from None
    if not x >= 0:
        raise argparse.ArgumentTypeError(f"expected a number >= 0, got {text}")
    return x


def floor_or_off(text: str) -> float:
    """An argparse ``type``: a finite number, or ``off`` (minus infinity here, None in the config: no floor)."""
    if text.strip().lower() == "off":
        return float("-inf")
    try:
        x = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number or 'off', got {text!r}") from None
    if not math.isfinite(x):
        raise argparse.ArgumentTypeError(f"expected a finite number or 'off', got {text}")
    return x


# -- the engine -------------------------------------------------------------------------------------------------
def add_engine_options(p: argparse.ArgumentParser, *, bundle: bool = True) -> None:
    """``--bundle --threads --gpu-layers --ctx --no-mmap --repeat-stop``: how the bundle is loaded and decoded."""
    if bundle:
        p.add_argument(
            "--bundle",
            type=Path,
            default=None,
            metavar="DIR",
            help="bundle directory holding umi.json (default: $UMI_EDGE_BUNDLE, else the shipped models/ bundle)",
        )
    p.add_argument("--threads", type=positive, default=None, metavar="N", help="CPU threads (default: physical cores)")
    p.add_argument(
        "--gpu-layers",
        type=int_at_least(-1),
        default=0,
        metavar="N",
        help="layers to offload to CUDA, -1 = all (default 0)",
    )
    p.add_argument(
        "--ctx", type=int_at_least(256), default=None, metavar="N", help="context size per role (default: the bundle's)"
    )
    p.add_argument("--no-mmap", action="store_true", help="read model files into memory instead of mapping them")
    p.add_argument(
        "--repeat-stop",
        type=int_at_least(0),
        default=48,
        metavar="N",
        help="end a generation once its last N tokens repeat one short pattern (default 48; 0 = never)",
    )


def engine_options(args: argparse.Namespace, **extra: Any) -> EngineOptions:
    """The :class:`EngineOptions` of :func:`add_engine_options`'s options (``extra``: further fields)."""
    from umi_edge.engine.options import EngineOptions

    return EngineOptions(
        threads=args.threads,
        gpu_layers=args.gpu_layers,
        context_length=args.ctx,
        mmap=not args.no_mmap,
        repeat_stop=args.repeat_stop,
        **extra,
    )


def bundle_path(args: argparse.Namespace) -> Path:
    """The bundle ``--bundle`` names, or the default one (see :func:`umi_edge.bundle.resolve_bundle`)."""
    from umi_edge.bundle import resolve_bundle

    return resolve_bundle(args.bundle)


# -- generation and the agent loop ------------------------------------------------------------------------------
def add_max_tokens(p: argparse.ArgumentParser) -> None:
    """``--max-tokens N``: every role's generation budget per turn is N tokens."""
    p.add_argument(
        "--max-tokens",
        type=positive,
        default=None,
        metavar="N",
        help="most tokens each role may generate per turn, N for every role (default: each role's own budget)",
    )


def add_single(p: argparse.ArgumentParser) -> None:
    """``--single``: the single-LLM (backbone) mode, on any bundle."""
    p.add_argument(
        "--single",
        action="store_true",
        help="run as a single LLM with the backbone prompt: a single-mode bundle's backbone, or a multi-role "
        "bundle's planner model (default: the bundle's own mode)",
    )


def add_ungrounded_calls(p: argparse.ArgumentParser) -> None:
    """``--ungrounded-calls`` (the agent options, and ``eval bfcl``, which has no other agent option)."""
    p.add_argument(
        "--ungrounded-calls",
        action="store_true",
        help="run calls whose arguments hold numbers or short strings that neither the request, an observation nor "
        "the tool's doc holds (default: such a call is not run and the agent gives up)",
    )


def add_tool_prior(p: argparse.ArgumentParser) -> None:
    """``--tool-prior W`` and ``--tool-prior-floor T`` (the agent options, and ``eval bfcl``)."""
    p.add_argument(
        "--tool-prior",
        type=non_negative_float,
        default=None,
        metavar="W",
        help="choose the caller's tool by its log-probability plus W times the tool's BM25 relevance to the request "
        f"and thought, scaled to at most W (default {DEFAULT_TOOL_PRIOR:g}; 0: the caller alone chooses)",
    )
    p.add_argument(
        "--tool-prior-floor",
        type=floor_or_off,
        default=None,
        metavar="T",
        help="when the caller's log-probability of every offered tool name is below T (it wanted a tool that is not "
        f"offered), the tools' BM25 relevance alone chooses the tool (default {DEFAULT_TOOL_PRIOR_FLOOR:g}; off: "
        "never)",
    )


def add_argument_prior(p: argparse.ArgumentParser) -> None:
    """``--argument-prior W`` (the agent options, and ``eval bfcl``)."""
    p.add_argument(
        "--argument-prior",
        type=non_negative_float,
        default=None,
        metavar="W",
        help="when a number argument is not one of the request's numbers whose neighbouring words best match the "
        "parameter, choose it by the caller's log-probability plus W times that match "
        f"(default {DEFAULT_ARGUMENT_PRIOR:g}; 0: the caller's value stands)",
    )


def add_string_prior(p: argparse.ArgumentParser) -> None:
    """``--string-prior W`` (the agent options, and ``eval bfcl``)."""
    p.add_argument(
        "--string-prior",
        type=non_negative_float,
        default=None,
        metavar="W",
        help="when a string argument is not written in the request, choose it among the caller's own value and the "
        "request's spans by the caller's log-probability, each span getting W more "
        f"(default {DEFAULT_STRING_PRIOR:g}; 0: the caller's value stands)",
    )


def share(text: str) -> float:
    """An argparse ``type``: a number from 0 to 1."""
    x = non_negative_float(text)
    if x > 1:
        raise argparse.ArgumentTypeError(f"expected a number from 0 to 1, got {text}")
    return x


def add_rescue(p: argparse.ArgumentParser) -> None:
    """``--rescue-margin M --rescue-share S --no-rescue`` (the agent options, and ``eval bfcl``)."""
    default = "off" if DEFAULT_RESCUE_MARGIN is None else f"{DEFAULT_RESCUE_MARGIN:g}"
    p.add_argument(
        "--rescue-margin",
        type=non_negative_float,
        default=None,
        metavar="M",
        help="a call holding made-up values is made with each chosen again among the request's own values (an "
        "optional one left out) when the caller finds them at most M less likely in log-probability than its own "
        f"(default {default}; see --rescue-share and --no-rescue)",
    )
    p.add_argument(
        "--rescue-share",
        type=share,
        default=None,
        metavar="S",
        help="rescue a call only when at least this share of the request's content words is held by an offered "
        f"tool's doc (default {DEFAULT_RESCUE_SHARE:g})",
    )
    p.add_argument(
        "--no-rescue",
        action="store_true",
        help="never rescue a call holding made-up values, not even one whose made-up values narrate the agent's "
        "plan ('I will add the task', rescued by default): the run gives up (grounded calls)",
    )


def add_complete_arguments(p: argparse.ArgumentParser) -> None:
    """``--no-complete-arguments`` (the agent options, and ``eval bfcl``)."""
    p.add_argument(
        "--no-complete-arguments",
        action="store_true",
        help="keep the caller's call as written (default: the caller writes the second part of a string whose doc "
        "gives a two-part format such as 'City, State', and optional arguments the request states but it left out)",
    )


def add_parallel_calls(p: argparse.ArgumentParser) -> None:
    """``--no-parallel-calls`` (the agent options, and ``eval bfcl``)."""
    p.add_argument(
        "--no-parallel-calls",
        action="store_true",
        help="conclude when the planner says so (default: a value the request lists with one of the last call's, "
        "as in 'Boston and San Francisco', first gets a call of its own)",
    )


def add_relevance_gate(p: argparse.ArgumentParser) -> None:
    """``--no-relevance-gate`` (the agent options, and ``eval bfcl``)."""
    p.add_argument(
        "--no-relevance-gate",
        action="store_true",
        help="let the planner call a tool even when no offered tool's doc holds a word of the question (default: "
        "the run gives up instead, naming the words no doc holds)",
    )


def add_call_check(p: argparse.ArgumentParser) -> None:
    """``--no-call-check`` and ``--call-vote`` (the agent options, and ``eval bfcl``)."""
    p.add_argument(
        "--no-call-check",
        action="store_true",
        help="make the question's first call without a second opinion (default: when the bundle has a checker, a "
        "second caller writes that call too, and the run gives up when its call holds made-up values)",
    )
    p.add_argument(
        "--call-vote",
        action="store_true",
        help="when the call check's second caller writes another grounded call, make the one that both callers find "
        "likelier (default: the caller's call is made)",
    )


def add_finish_checks(p: argparse.ArgumentParser) -> None:
    """``--no-finish-checks`` (the agent options, and ``eval bfcl``)."""
    p.add_argument(
        "--no-finish-checks",
        action="store_true",
        help="conclude when the planner says so (default: right after a failed call the agent tries again, or "
        "gives up after three failures in a row, and an offered tool whose doc holds words of the request that no "
        "call or result holds is called first)",
    )


def add_follow_ups(p: argparse.ArgumentParser) -> None:
    """``--no-follow-ups`` (the agent options)."""
    p.add_argument(
        "--no-follow-ups",
        action="store_true",
        help="ask a later question of a session as written (default: one that only makes sense after the question "
        "before, such as 'And 30 miles?' or 'Now multiply that by 3.', is rewritten to stand alone first)",
    )


def add_answer_prior(p: argparse.ArgumentParser) -> None:
    """``--answer-prior W`` (the agent options)."""
    p.add_argument(
        "--answer-prior",
        type=non_negative_float,
        default=None,
        metavar="W",
        help="when the answer states none of the latest tool result's numbers that best match the question, choose "
        "its first number by the summarizer's log-probability plus W times the result's relevance "
        f"(default {DEFAULT_ANSWER_PRIOR:g}; 0: the summarizer's answer stands)",
    )


def add_agent_options(p: argparse.ArgumentParser) -> None:
    """``--max-steps --max-tokens --observation-chars --no-constrain --top-k --ungrounded-answers
    --ungrounded-calls --tool-prior --argument-prior --string-prior --rescue-margin --rescue-share --no-rescue
    --no-complete-arguments --no-parallel-calls
    --no-relevance-gate --no-call-check --no-finish-checks --no-follow-ups --answer-prior --rerun-repeated-reads
    --history --single``: how the agent loop runs."""
    p.add_argument(
        "--max-steps", type=positive, default=None, metavar="N", help="planner turns per query before stopping (12)"
    )
    add_max_tokens(p)
    p.add_argument(
        "--observation-chars",
        type=int_at_least(64),
        default=None,
        metavar="N",
        help="how much of a tool result the planner sees (1024)",
    )
    p.add_argument("--no-constrain", action="store_true", help="do not constrain the caller with a grammar")
    p.add_argument(
        "--top-k",
        type=positive,
        default=None,
        metavar="N",
        help="offer the prompts only the N tools ranked most relevant to the query (BM25 over names, descriptions "
        "and parameters; default: all tools whose docs fit the context, else as many top-ranked ones as fit)",
    )
    p.add_argument(
        "--ungrounded-answers",
        action="store_true",
        help="let the summarizer write numbers that neither the request nor any observation holds (default: its "
        "grammar allows only those)",
    )
    add_ungrounded_calls(p)
    add_tool_prior(p)
    add_argument_prior(p)
    add_string_prior(p)
    add_rescue(p)
    add_complete_arguments(p)
    add_parallel_calls(p)
    add_relevance_gate(p)
    add_call_check(p)
    add_finish_checks(p)
    add_follow_ups(p)
    add_answer_prior(p)
    p.add_argument(
        "--rerun-repeated-reads",
        action="store_true",
        help="run a read call again even when the identical call already succeeded with no write since (default: "
        "it is not run again and the summarizer answers; use this for tools whose results change over time)",
    )
    p.add_argument(
        "--history",
        choices=HISTORY_MODES,
        default=None,
        help="what the roles see of earlier questions in a session: compact (each one's request and answer), planner "
        "(that compact record, for the planner only), full (every thought, call and observation) or none "
        f"(default: {DEFAULT_HISTORY})",
    )
    add_single(p)


def max_new_tokens(n: int | None, defaults: dict[str, int]) -> dict[str, int]:
    """Per-role budgets: ``defaults``, or ``n`` for every role (``--max-tokens``)."""
    return dict(defaults) if n is None else dict.fromkeys(defaults, n)


def agent_config(args: argparse.Namespace, **fields: Any) -> AgentConfig:
    """The :class:`AgentConfig` of :func:`add_agent_options` (and ``--approve`` where the command has it)."""
    from umi_edge.agent.config import AgentConfig

    config = AgentConfig(**fields)
    if getattr(args, "max_steps", None) is not None:
        config.max_steps = args.max_steps
    if getattr(args, "observation_chars", None) is not None:
        config.observation_chars = args.observation_chars
    if getattr(args, "no_constrain", False):
        config.constrain = False
    if getattr(args, "top_k", None) is not None:
        config.top_k = args.top_k
    if getattr(args, "approve", None) is not None:
        config.approve_policy = args.approve
    if getattr(args, "ungrounded_answers", False):
        config.grounded_answers = False
    if getattr(args, "ungrounded_calls", False):
        config.grounded_calls = False
    if getattr(args, "tool_prior", None) is not None:
        config.tool_prior = args.tool_prior
    if getattr(args, "tool_prior_floor", None) is not None:
        config.tool_prior_floor = None if args.tool_prior_floor == float("-inf") else args.tool_prior_floor
    if getattr(args, "argument_prior", None) is not None:
        config.argument_prior = args.argument_prior
    if getattr(args, "string_prior", None) is not None:
        config.string_prior = args.string_prior
    if getattr(args, "rescue_margin", None) is not None:
        config.rescue_margin = args.rescue_margin
    if getattr(args, "rescue_share", None) is not None:
        config.rescue_share = args.rescue_share
    if getattr(args, "no_rescue", False):
        config.rescue_margin, config.rescue_narration = None, False
    if getattr(args, "answer_prior", None) is not None:
        config.answer_prior = args.answer_prior
    if getattr(args, "no_complete_arguments", False):
        config.complete_arguments = False
    if getattr(args, "no_parallel_calls", False):
        config.parallel_calls = False
    if getattr(args, "no_relevance_gate", False):
        config.relevance_gate = False
    if getattr(args, "no_call_check", False):
        config.call_check = False
    if getattr(args, "call_vote", False):
        config.call_vote = True
    if getattr(args, "no_finish_checks", False):
        config.finish_checks = False
    if getattr(args, "no_follow_ups", False):
        config.follow_ups = False
    if getattr(args, "rerun_repeated_reads", False):
        config.answer_repeated_reads = False
    if getattr(args, "history", None) is not None:
        config.history = args.history
    config.max_new_tokens = max_new_tokens(args.max_tokens, config.max_new_tokens)
    return config


# -- tools, workspace and approval ------------------------------------------------------------------------------
def add_tool_options(p: argparse.ArgumentParser, *, only: bool = True, sandbox: bool = True) -> None:
    """``--tools FILE`` and ``--mcp COMMAND`` (repeatable), ``--mcp-network``, ``--only-tools NAMES``,
    ``--unsafe-no-sandbox``."""
    p.add_argument(
        "--tools",
        type=Path,
        action="append",
        default=[],
        metavar="FILE",
        help="extra tools: a Python module of typed functions or a JSON/YAML spec (repeatable)",
    )
    p.add_argument(
        "--mcp",
        action="append",
        default=[],
        metavar="COMMAND",
        help='start a stdio MCP server ("COMMAND ARGS", repeatable) inside the sandbox; its tools join the registry',
    )
    p.add_argument(
        "--mcp-network",
        action="store_true",
        help="let the --mcp servers use the network (default: none; they run in the sandbox without it)",
    )
    if only:
        p.add_argument(
            "--only-tools",
            default=None,
            metavar="NAMES",
            help="comma-separated tool names: offer only these to the model (default: all; fewer = shorter prompts)",
        )
    if sandbox:
        p.add_argument(
            "--unsafe-no-sandbox", action="store_true", help="let code tools run without isolation when none works"
        )


def only_tools(args: argparse.Namespace) -> list[str]:
    """The names of ``--only-tools`` (empty: all tools)."""
    text = getattr(args, "only_tools", None) or ""
    return [n.strip() for n in text.split(",") if n.strip()]


def tool_registry(args: argparse.Namespace, *, entry_points: bool = True) -> ToolRegistry:
    """Built-in tools, entry-point tools, ``--tools`` files and MCP servers' tools, narrowed by ``--only-tools``
    (which may name MCP tools too)."""
    from umi_edge.tools.loading import full_registry

    return full_registry(
        args.tools,
        only=only_tools(args),
        mcp=getattr(args, "mcp", None) or (),
        mcp_network=getattr(args, "mcp_network", False),
        workspace=getattr(args, "workspace", None),
        entry_points=entry_points,
        allow_unsandboxed=getattr(args, "unsafe_no_sandbox", False),
    )


def add_workspace_options(p: argparse.ArgumentParser) -> None:
    """``--workspace DIR`` and ``--approve POLICY``."""
    p.add_argument(
        "--workspace", type=Path, default=None, metavar="DIR", help="directory the tools work in (default: current)"
    )
    p.add_argument(
        "--approve",
        choices=APPROVE_POLICIES,
        default=DEFAULT_POLICY,
        help="tool effects that run without asking: all; writes (read and write; exec asks); none (write and exec "
        "ask: the default). Read-only tools never ask; a question that cannot be asked (no terminal) is a denial, "
        "which the agent sees as the observation",
    )


def workspace(args: argparse.Namespace) -> Path:
    """``--workspace`` (default: the current directory), resolved; it must be a directory."""
    path = (args.workspace or Path.cwd()).expanduser().resolve()
    if not path.is_dir():
        raise UserError(f"--workspace {path}: not a directory")
    return path


# -- sessions ---------------------------------------------------------------------------------------------------
def add_session_options(p: argparse.ArgumentParser) -> None:
    """``--sessions DIR`` and ``--resume [SESSION]`` (no value: the latest session)."""
    p.add_argument(
        "--sessions",
        type=Path,
        default=None,
        metavar="DIR",
        help="where session transcripts live (default: $UMI_EDGE_SESSIONS, else $XDG_DATA_HOME/umi-edge/sessions)",
    )
    p.add_argument(
        "--resume",
        nargs="?",
        const="latest",
        default=None,
        metavar="SESSION",
        help="continue a saved session: its id, its transcript path, or nothing (or 'latest') for the latest",
    )
