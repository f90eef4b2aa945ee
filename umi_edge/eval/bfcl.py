"""``eval bfcl``: the agent on BFCL entries, scored by bfcl-eval's own AST checker.

For each entry the agent (:class:`umi_edge.agent.Agent`: the real planner, and the real caller constrained by the
grammar of the offered tools) gets the entry's question with the entry's functions as its only tools (converted by
:mod:`umi_edge.formats.bfcl`, the docs the imported training data shows). Its calls are collected as BFCL's
``model_output`` (``[{name: arguments}, ...]``):

- simple and multiple categories: the first call; the run stops there.
- parallel categories: successive calls. BFCL gives no observations, so each call is answered with
  :data:`OK_OBSERVATION` (``{"status": "ok"}``: evaluation only, never training data) and the planner goes on, until
  it concludes or gives up, or :data:`PARALLEL_MAX_CALLS` calls are made.
- grounded calls (on unless ``--ungrounded-calls``): a call whose arguments hold a number or a short string that
  neither the question nor the function's doc holds is not made (:mod:`umi_edge.agent.grounding`); it is kept in
  the entry's ``made_up``.
- tool prior (``--tool-prior W``): the caller's function chosen with the functions' BM25 relevance
  (:mod:`umi_edge.agent.tool_prior`).
- irrelevance categories: right when no call is made (the planner gives up or concludes), as BFCL's relevance
  runner scores it; live_relevance: right when some call is made (BFCL ships no ground truth for it).

Call entries are scored with ``bfcl_eval.eval_checker.ast_eval.ast_checker.ast_checker`` on the entry's original
function docs and possible answers (:func:`score`); nothing of the checker is re-implemented here. A caller output
that does not parse counts as no call, as BFCL's decoder failing does. Entries whose question holds assistant
messages (9 of live_irrelevance) are skipped and counted as such. Java and JavaScript categories are refused: their
arguments are Java / JavaScript source text, which our JSON caller does not write.
"""

from __future__ import annotations

import importlib.metadata
import sys
import tempfile
import time
import types
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from umi_edge.bundle import CHECKER
from umi_edge.errors import UserError
from umi_edge.eval.progress import progress_bar
from umi_edge.formats.bfcl import IRRELEVANCE, LIVE_CATEGORIES, RELEVANCE, entry_query, is_validation, to_json_schema

if TYPE_CHECKING:
    from umi_edge.agent.config import AgentConfig
    from umi_edge.bfcl_data import Entry
    from umi_edge.engine.engine import Engine
    from umi_edge.tools.registry import ToolRegistry

MODEL_NAME = "umi-edge"
"""The model name the checker is given (it has no underscore: the checker reads ``_`` as ``/``)."""
OK_OBSERVATION = {"status": "ok"}
"""What the planner sees after each call of a parallel entry (BFCL has no observations; evaluation only)."""
PARALLEL_MAX_CALLS = 6
UNSUPPORTED = ("simple_java", "simple_javascript")


@dataclass(frozen=True)
class _CheckerModelConfig:
    """The one field of ``bfcl_eval.constants.model_config.ModelConfig`` that the AST checker reads."""

    underscore_to_dot: bool = False


def _checker() -> tuple[Any, Any]:
    """``(ast_checker, Language)`` from bfcl-eval, imported without the provider SDKs.

    ``ast_checker.py`` imports ``MODEL_CONFIG_MAPPING`` from ``bfcl_eval.constants.model_config``, a module that
    imports every provider's handler and so about thirty SDKs (openai, anthropic, vllm, ...) that we do not install.
    The checker reads only ``MODEL_CONFIG_MAPPING[model].underscore_to_dot`` (in ``convert_func_name``, for dotted
    names). So before importing the checker we register a minimal module of that name in ``sys.modules`` holding a
    mapping with our model name only; ``underscore_to_dot`` is False because our caller writes dotted names as they
    are. If the real module was already imported (the SDKs are installed), our entry is added to its mapping.
    """
    name = "bfcl_eval.constants.model_config"
    try:
        import bfcl_eval.constants  # noqa: F401 - the package must exist before we add a module under it
    except ModuleNotFoundError:
        from umi_edge.bfcl_data import INSTALL_HINT

        raise UserError(f"the bfcl-eval package is not installed: {INSTALL_HINT}") from None
    module = sys.modules.get(name)
    if module is None:
        module = types.ModuleType(name, "Stand-in for bfcl-eval's model_config without the provider SDKs (umi-edge).")
        module.MODEL_CONFIG_MAPPING = {}  # type: ignore[attr-defined]  # a module's attributes are set at run time
        sys.modules[name] = module
    module.MODEL_CONFIG_MAPPING.setdefault(MODEL_NAME, _CheckerModelConfig(underscore_to_dot=False))
    from bfcl_eval.constants.enums import Language
    from bfcl_eval.eval_checker.ast_eval.ast_checker import ast_checker

    return ast_checker, Language


def kind(category: str) -> str:
    """``irrelevance`` (right: no call), ``relevance`` (right: some call) or ``ast`` (scored by the checker)."""
    if category in IRRELEVANCE:
        return "irrelevance"
    if category in RELEVANCE:
        return "relevance"
    return "ast"


def check_categories(categories: Sequence[str], *, live_only: bool = False) -> list[str]:
    """The categories if ``eval bfcl`` can score each; otherwise a UserError naming the first that it cannot.

    ``live_only`` (``--validation``): only live categories have a validation part."""
    from umi_edge.bfcl_data import category_mapping

    m = category_mapping()
    scorable = [c for c in (*m.NON_LIVE_CATEGORY, *m.LIVE_CATEGORY) if c not in UNSUPPORTED]
    for c in categories:
        if live_only and c not in LIVE_CATEGORIES:
            raise UserError(f"{c}: --validation takes live categories only ({', '.join(LIVE_CATEGORIES)})")
        if c in UNSUPPORTED:
            raise UserError(
                f"{c}: not supported: its arguments are Java/JavaScript source text (scorable: {', '.join(scorable)})"
            )
        if c not in scorable:
            raise UserError(f"{c}: not a single-turn AST category of BFCL (scorable: {', '.join(scorable)})")
    return list(dict.fromkeys(categories))


def score(
    category: str, functions: list[dict[str, Any]], model_output: list[dict[str, Any]], answer: dict[str, Any] | None
) -> dict[str, Any]:
    """``{"valid", "error", "error_type"}`` of one entry's calls (``model_output`` as BFCL's decoder gives them)."""
    k = kind(category)
    if k == "irrelevance":
        ok = not model_output
        return {"valid": ok, "error": [] if ok else ["a call was made"], "error_type": None if ok else "irrelevance"}
    if k == "relevance":
        ok = bool(model_output)
        return {"valid": ok, "error": [] if ok else ["no call was made"], "error_type": None if ok else "relevance"}
    if answer is None:
        raise UserError(f"{category}: the installed bfcl-eval has no possible answer for this entry")
    ast_checker, language = _checker()
    result = ast_checker(functions, model_output, answer["ground_truth"], language.PYTHON, category, MODEL_NAME)
    valid = bool(result["valid"])  # the checker leaves an error_type on valid results too: reported only on errors
    return {"valid": valid, "error": result.get("error", []), "error_type": None if valid else result.get("error_type")}


def _ok(**_arguments: Any) -> dict[str, str]:
    return dict(OK_OBSERVATION)


def entry_registry(functions: list[dict[str, Any]]) -> ToolRegistry:
    """The entry's functions as tools (read-only; each call answers :data:`OK_OBSERVATION`)."""
    from umi_edge.tools.registry import Tool, ToolRegistry

    return ToolRegistry(Tool(*to_json_schema(f), effect="read", func=_ok) for f in functions)


@dataclass
class EntryResult:
    id: str
    category: str
    valid: bool
    calls: list[dict[str, Any]]
    plan: str | None
    error: str | None
    error_type: str | None
    seconds: float
    agent_error: str | None = None
    made_up: dict[str, Any] | None = None
    """The call that was not made because its arguments hold made-up numbers (grounded calls)."""
    adjusted: list[dict[str, Any]] = field(default_factory=list)
    """The arguments the runtime changed after the caller wrote them (argument prior, doc formats, stated optional
    arguments added, unasked ones left out), the calls it owed for listed values (parallel values) and the call
    check's verdicts, as events."""
    no_tool_fits: list[str] | None = None
    """The question's words that no offered tool's doc holds, when the relevance gate stopped the call."""
    checked: dict[str, Any] | None = None
    """The call the call check stopped (``call``), and the checker's own call and its made-up values."""

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "category": self.category,
            "valid": self.valid,
            "calls": self.calls,
            "plan": self.plan,
            "error": self.error,
            "error_type": self.error_type,
            "agent_error": self.agent_error,
            "made_up": self.made_up,
            "adjusted": self.adjusted,
            "no_tool_fits": self.no_tool_fits,
            "checked": self.checked,
            "seconds": round(self.seconds, 3),
        }


def run_entry(
    engine: Engine, entry: Entry, query: str, config: AgentConfig, workspace: str, max_calls: int = PARALLEL_MAX_CALLS
) -> EntryResult:
    """Run the agent on one entry and score its calls."""
    from umi_edge.agent.agent import Agent
    from umi_edge.agent.events import (
        AgentError,
        ArgumentAdded,
        ArgumentChosen,
        ArgumentCompleted,
        ArgumentDropped,
        CallChecked,
        CallRescued,
        CallVoted,
        NoToolFits,
        PlanDecided,
        RepeatedCall,
        ToolCall,
        ValuesPending,
        to_dict,
    )
    from umi_edge.formats.parse import CallParseError, parse_call

    functions = entry.entry["function"]
    parallel = "parallel" in entry.category
    agent = Agent(engine, entry_registry(functions), workspace=workspace, config=config, single=False)
    calls: list[dict[str, Any]] = []
    plan: str | None = None
    agent_error: str | None = None
    made_up: dict[str, Any] | None = None
    unheld: list[str] | None = None
    checked: dict[str, Any] | None = None
    verdict: CallChecked | None = None
    adjusted: list[dict[str, Any]] = []
    t0 = time.perf_counter()
    for ev in agent.run(query):
        if isinstance(ev, CallChecked):
            verdict = ev
        if (
            isinstance(
                ev,
                ArgumentCompleted
                | ArgumentAdded
                | ArgumentDropped
                | ValuesPending
                | CallRescued
                | CallChecked
                | CallVoted,
            )
            or isinstance(ev, ArgumentChosen)
            and ev.value != ev.model_choice
        ):
            adjusted.append(to_dict(ev))
        elif isinstance(ev, PlanDecided):
            plan = ev.label
            if ev.label != "call":
                break  # gives up or concludes: no more calls (the summarizer's answer is not scored)
        elif isinstance(ev, NoToolFits):
            unheld = ev.words
            break  # no offered tool's doc speaks of the question: the agent gives up
        elif isinstance(ev, ToolCall) and ev.ungrounded:
            made_up = {ev.name: ev.arguments}
            break  # a made-up value: the agent does not make the call and gives up
        elif isinstance(ev, ToolCall) and ev.checked and verdict is not None:
            checker = {verdict.tool: verdict.arguments}
            checked = {"call": {ev.name: ev.arguments}, "checker": checker, "made_up": verdict.made_up}
            break  # the call check's own call holds a made-up value: the agent gives up
        elif isinstance(ev, ToolCall):
            try:
                call = parse_call(ev.raw)
            except CallParseError:
                pass  # no call, as BFCL's decoder failing
            else:
                calls.append({call.name: call.arguments})
            if not parallel or len(calls) >= max_calls:
                break
        elif isinstance(ev, RepeatedCall):
            calls = calls[:-1]  # the agent does not make a call again (it concludes or gets an error instead)
            if ev.succeeded:
                break
        elif isinstance(ev, AgentError):
            agent_error = ev.message
    seconds = time.perf_counter() - t0
    s = score(entry.category, functions, calls, entry.answer)
    error = "; ".join(str(e) for e in s["error"]) or None
    return EntryResult(
        entry.id,
        entry.category,
        s["valid"],
        calls,
        plan,
        error,
        s["error_type"],
        seconds,
        agent_error,
        made_up,
        adjusted,
        unheld,
        checked,
    )


@dataclass
class BfclRun:
    categories: list[str]
    results: list[EntryResult]
    skipped: Counter[str]
    wall_seconds: float
    interrupted: bool = False
    engine: dict[str, Any] = field(default_factory=dict)
    max_calls: int = PARALLEL_MAX_CALLS
    grounded_calls: bool = True
    validation: bool = False
    """Only the held-out live entries were run."""
    tool_prior: float = 0.0
    tool_prior_floor: float | None = None
    argument_prior: float = 0.0
    string_prior: float = 0.0
    rescue_margin: float | None = None
    rescue_share: float = 0.0
    complete_arguments: bool = False
    parallel_calls: bool = False
    relevance_gate: bool = False
    call_check: bool = False
    """The call check ran: on, and the bundle has a checker."""
    call_vote: bool = False
    """The call vote ran with the check (``--call-vote``)."""
    finish_checks: bool = False

    def category_summary(self, category: str) -> dict[str, Any]:
        rs = [r for r in self.results if r.category == category]
        right = sum(r.valid for r in rs)
        out: dict[str, Any] = {
            "kind": kind(category),
            "scored": len(rs),
            "right": right,
            "accuracy": 100.0 * right / len(rs) if rs else None,
            "skipped": self.skipped[category],
            "agent_errors": sum(r.agent_error is not None for r in rs),
            "no_call": sum(not r.calls for r in rs),
            "made_up_calls_stopped": sum(r.made_up is not None for r in rs),
            "stopped_by_call_check": sum(r.checked is not None for r in rs),
            "checker_call_chosen": sum(
                any(a["type"] == "CallVoted" and a["chosen"] == CHECKER for a in r.adjusted) for r in rs
            ),
            "no_tool_fits": sum(r.no_tool_fits is not None for r in rs),
            "error_types": dict(Counter(r.error_type for r in rs if r.error_type).most_common()),
        }
        if out["kind"] == "irrelevance":
            out["refused"] = out["accuracy"]
        return out

    def to_json(self) -> dict[str, Any]:
        try:
            version = importlib.metadata.version("bfcl-eval")
        except importlib.metadata.PackageNotFoundError:
            version = None
        return {
            "bfcl_eval_version": version,
            "categories": {c: self.category_summary(c) for c in self.categories},
            "observation_between_calls": OK_OBSERVATION,
            "parallel_max_calls": self.max_calls,
            "grounded_calls": self.grounded_calls,
            "validation_only": self.validation,
            "tool_prior": self.tool_prior,
            "tool_prior_floor": self.tool_prior_floor,
            "argument_prior": self.argument_prior,
            "string_prior": self.string_prior,
            "rescue_margin": self.rescue_margin,
            "rescue_share": self.rescue_share,
            "complete_arguments": self.complete_arguments,
            "parallel_calls": self.parallel_calls,
            "relevance_gate": self.relevance_gate,
            "call_check": self.call_check,
            "call_vote": self.call_vote,
            "finish_checks": self.finish_checks,
            "entries": [r.to_json() for r in self.results],
            "wall_seconds": round(self.wall_seconds, 2),
            "interrupted": self.interrupted,
            "engine": self.engine,
        }


def run_bfcl(
    categories: Sequence[str],
    engine: Engine,
    *,
    config: AgentConfig | None = None,
    limit: int | None = None,
    progress: bool | None = None,
    max_calls: int = PARALLEL_MAX_CALLS,
    validation: bool = False,
) -> BfclRun:
    """Evaluate ``engine`` on the first ``limit`` entries of each category; Ctrl-C keeps the entries done.

    ``max_calls``: most calls collected for a parallel entry. ``validation``: only the live entries that
    ``data import-bfcl`` holds out (:func:`umi_edge.formats.bfcl.is_validation`), the ones a runtime rule may be tuned
    on; live categories only."""
    import dataclasses

    from umi_edge import bfcl_data
    from umi_edge.agent.config import AgentConfig

    cats = check_categories(categories, live_only=validation)
    _checker()  # fail before any model runs when the checker cannot be imported
    chosen: list[tuple[Entry, str | None]] = []
    for c in cats:
        entries = bfcl_data.load(c)
        if validation:
            entries = [e for e in entries if is_validation(e.id)]
        for e in entries[:limit] if limit else entries:
            chosen.append((e, entry_query(e.entry)))
    config = dataclasses.replace(config or AgentConfig(), approve_policy="all", max_steps=max_calls + 1)
    results: list[EntryResult] = []
    skipped: Counter[str] = Counter()
    interrupted = False
    t0 = time.perf_counter()
    bar = progress_bar(len(chosen), "entry", "eval bfcl", enabled=progress is not False)
    try:
        with tempfile.TemporaryDirectory(prefix="umi-eval-bfcl-") as ws:
            for e, query in chosen:
                if query is None:
                    skipped[e.category] += 1
                else:
                    results.append(run_entry(engine, e, query, config, ws, max_calls))
                bar.update(1)
    except KeyboardInterrupt:
        interrupted = True
    finally:
        bar.close()
    checked = config.call_check and CHECKER in engine.roles
    return BfclRun(
        categories=cats,
        results=results,
        skipped=skipped,
        wall_seconds=time.perf_counter() - t0,
        interrupted=interrupted,
        engine=engine.describe(),
        max_calls=max_calls,
        grounded_calls=config.grounded_calls,
        validation=validation,
        tool_prior=config.tool_prior,
        tool_prior_floor=config.tool_prior_floor,
        argument_prior=config.argument_prior,
        string_prior=config.string_prior,
        rescue_margin=config.rescue_margin,
        rescue_share=config.rescue_share,
        complete_arguments=config.complete_arguments,
        parallel_calls=config.parallel_calls,
        relevance_gate=config.relevance_gate,
        call_check=checked,
        call_vote=checked and config.call_vote,
        finish_checks=config.finish_checks,
    )


def bfcl_markdown(summary: dict[str, Any], *, label: str) -> str:
    """The Markdown report of :meth:`BfclRun.to_json`."""
    lines = [
        f"# BFCL evaluation: {label}",
        "",
        f"- scored with bfcl-eval {summary.get('bfcl_eval_version') or '?'}'s AST checker; bundle "
        f"`{summary.get('engine', {}).get('bundle', '?')}`; wall time {summary['wall_seconds']:.1f} s",
        f"- parallel categories: after each call the planner sees `{summary['observation_between_calls']}` "
        f"(BFCL has no observations), at most {summary['parallel_max_calls']} calls",
        "- grounded calls: "
        + (
            "on (a call holding a number or short string that neither the question nor the doc holds is not made)"
            if summary.get("grounded_calls", True)
            else "off (`--ungrounded-calls`)"
        ),
    ]
    if summary.get("tool_prior"):
        lines.append(f"- tool prior: weight {summary['tool_prior']:g} (`--tool-prior`)")
        if summary.get("tool_prior_floor") is not None:
            lines.append(f"- tool prior floor: {summary['tool_prior_floor']:g} (`--tool-prior-floor`)")
    if summary.get("argument_prior"):
        lines.append(f"- argument prior: weight {summary['argument_prior']:g} (`--argument-prior`)")
    if summary.get("string_prior"):
        lines.append(f"- string prior: weight {summary['string_prior']:g} (`--string-prior`)")
    if summary.get("rescue_margin") is not None:
        lines.append(
            f"- rescue of made-up calls: margin {summary['rescue_margin']:g}, share {summary['rescue_share']:g} "
            "(`--rescue-margin`, `--rescue-share`)"
        )
    if summary.get("complete_arguments"):
        lines.append(
            "- the caller completes two-part formats and stated optional arguments (`--no-complete-arguments`: off)"
        )
    if summary.get("parallel_calls"):
        lines.append("- a value the question lists with the last call's gets its own call (`--no-parallel-calls`: off)")
    if summary.get("relevance_gate"):
        lines.append("- no call when no offered tool's doc holds a word of the question (`--no-relevance-gate`: off)")
    if summary.get("call_check"):
        lines.append(
            "- the bundle's checker writes each first call too; a made-up value in it stops the call "
            "(`--no-call-check`: off)"
        )
    if summary.get("call_vote"):
        lines.append(
            "- when the checker's grounded call differs, the call both callers find likelier is made (`--call-vote`)"
        )
    if summary.get("finish_checks"):
        lines.append(
            "- parallel categories: a conclusion while an offered function the question speaks of is uncalled "
            "becomes its call (`--no-finish-checks`: off)"
        )
    if summary.get("validation_only"):
        lines.append("- live validation entries only (held out of `data import-bfcl`'s training split)")
    if summary.get("interrupted"):
        lines.append("- **interrupted**: the figures cover the entries done before Ctrl-C")
    lines += [
        "",
        "| category | entries | right | accuracy | no call | agent errors | skipped |",
        "|---|---|---|---|---|---|---|",
    ]
    for c, s in summary["categories"].items():
        acc = "—" if s["accuracy"] is None else f"{s['accuracy']:.1f}%"
        if s["kind"] == "irrelevance":
            acc += " refused"
        lines.append(
            f"| {c} | {s['scored']} | {s['right']} | {acc} | {s['no_call']} | {s['agent_errors']} | {s['skipped']} |"
        )
    lines.append("")
    for c, s in summary["categories"].items():
        if s["error_types"]:
            errs = ", ".join(f"{k} {v}" for k, v in s["error_types"].items())
            lines.append(f"- {c} errors: {errs}")
    lines.append("")
    return "\n".join(lines)
