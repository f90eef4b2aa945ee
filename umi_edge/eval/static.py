"""Static evaluation on stage-2 files (the paper's ToolBench protocol): predict every gold step from the gold history.

The steps are those of the released ``infer_pipeline.py``: every assistant (planner) turn holding a marker
(``Next: caller.`` / ``Next: conclusion.`` / ``Next: give up.``). For each, the roles get the gold history and, greedy:

- multi-LLM: the planner predicts the turn; its output is cut after the first marker; ``give up`` ends the step,
  ``conclusion`` runs the summarizer, anything else the caller (the released routing). Caller and summarizer see
  the gold history plus the predicted planner turn as an ``assistant`` turn, as in their training data (the
  released inference script labels that turn ``planner:``, a train/inference mismatch we do not copy).
- single-LLM (``single``): the backbone gets the backbone-format history (merged ``thought + Action`` turns, as
  :func:`umi_edge.formats.role_samples` builds it) and predicts the merged step.

Protocols of the caller (``protocols``): ``unconstrained`` is the paper's (the caller writes freely; Hallu. counts
names outside the dialogue's tools); ``constrained`` is the runtime's: the caller runs under the grammar the agent
builds (:func:`umi_edge.engine.grammar.caller_grammar`) over the dialogue's tools, read as a ``--tools`` file of
α-UMi docs would be (:func:`umi_edge.tools.loading.tools_from_spec`). Both in one run share the planner and
summarizer outputs; only the caller runs once per protocol (the second run reuses the first one's KV cache). A
dialogue whose tools give no grammar runs its caller unconstrained, as the agent does (counted per protocol).

The prediction is rendered as the released ``predictions`` string and scored with :mod:`umi_edge.eval.metrics`.
Prompts longer than the context minus the generation budget are cut from the left, as the released collator
does (``max_input_length``); such steps are counted in ``truncated_steps``. Steps are visited in dialogue order so
each role's context reuses the KV cache of the previous, shorter history.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from umi_edge.agent.unfinished import Unfinished, alpha_doc_words, unfinished
from umi_edge.errors import UserError
from umi_edge.eval.metrics import (
    Parsed,
    StaticMetrics,
    StepPair,
    compute,
    majority_plan_baseline,
    parse_backbone_output,
    parse_multi_output,
)
from umi_edge.eval.progress import progress_bar
from umi_edge.formats import (
    PLAN_MARKERS,
    CallParseError,
    PlanLabel,
    Trajectory,
    build_input,
    load_trajectories,
    model_prompt,
    parse_call,
    parse_plan,
    render_doc,
    role_samples,
    serialize_history,
    serialize_turn,
    stop_sequences,
    tool_names,
)
from umi_edge.formats.prompts import Style

if TYPE_CHECKING:
    from umi_edge.engine.engine import Engine

MARKERS = tuple(PLAN_MARKERS.values())
DEFAULT_MAX_TOKENS = {"planner": 256, "caller": 256, "summarizer": 512, "backbone": 512}
CallerProtocol = Literal["unconstrained", "constrained"]
PROTOCOLS: tuple[CallerProtocol, ...] = ("unconstrained", "constrained")
NO_SINGLE_FINISH_CHECKS = "--finish-checks applies to the multi-LLM planner; the single-LLM backbone has none"
"""Why ``--finish-checks`` and ``--single`` do not go together (checked before a model loads, and in run_static)."""
PRED_ROLE_LABEL = "asssitant"  # sic: the released pipeline writes this label into its prediction strings


@dataclass
class GoldStep:
    """One gold planner step of a dialogue, with both released reference strings."""

    dialogue: int
    step: int
    turn: int
    traj: Trajectory
    reference: str
    backbone_input: str
    backbone_reference: str
    gold: Parsed
    gold_backbone: Parsed

    @property
    def plan(self) -> PlanLabel:
        return self.gold.plan


def gold_steps(traj: Trajectory, dialogue: int, style: Style = "toolbench") -> list[GoldStep]:
    """The gold steps of one trajectory, in order."""
    turns = traj.conversations
    backbone = {len(r["history"]): r for r in role_samples(traj, style=style)["backbone"]}
    out: list[GoldStep] = []
    for j, u in enumerate(turns):
        if u["from"] != "assistant" or not any(m in u["value"] for m in MARKERS):
            continue
        value = u["value"]
        if "Next: caller" in value or "Next: conclusion." in value:
            if j + 1 >= len(turns):
                raise UserError(f"dialogue {dialogue}: turn {j} plans a call or conclusion but the dialogue ends there")
            nxt = turns[j + 1]
            reference = f"assistant: {value}</s>{nxt['from']}: {nxt['value']}</s>"
        else:
            reference = value
        rec = backbone.get(j)
        b_input = rec["input"] if rec else ""
        b_ref = rec["target"] if rec else ""
        out.append(
            GoldStep(
                dialogue=dialogue,
                step=len(out),
                turn=j,
                traj=traj,
                reference=reference,
                backbone_input=b_input,
                backbone_reference=b_ref,
                gold=parse_multi_output(reference),
                gold_backbone=parse_backbone_output(b_ref) if rec else parse_multi_output(reference),
            )
        )
    return out


def load_gold(path: str | Path, style: Style = "toolbench") -> list[list[GoldStep]]:
    """Every dialogue of a stage-2 file as its list of gold steps (UserError on bad input)."""
    return [gold_steps(t, i, style) for i, t in enumerate(load_trajectories(path))]


def file_majority_baseline(path: str | Path) -> dict[str, Any]:
    """The majority-plan baseline of a whole gold file: ``{"label", "plan_acc", "steps"}``."""
    plans = [s.plan for d in load_gold(path) for s in d]
    if not plans:
        raise UserError(f"{path}: no gold planner steps (assistant turns with a 'Next: ...' marker)")
    label, acc = majority_plan_baseline(plans)
    return {"label": label, "plan_acc": acc, "steps": len(plans)}


def select_dialogues(
    dialogues: Sequence[list[GoldStep]], *, limit: int | None = None, sample: int | None = None, seed: int = 0
) -> list[list[GoldStep]]:
    """``sample`` dialogues drawn with ``seed`` (kept in file order), then the first ``limit``."""
    chosen = list(dialogues)
    if sample is not None and sample < len(chosen):
        idx = sorted(random.Random(seed).sample(range(len(chosen)), sample))
        chosen = [chosen[i] for i in idx]
    if limit is not None:
        chosen = chosen[:limit]
    return chosen


def clean_candidate(text: str) -> str:
    """The released post-processing of a decoded generation."""
    if text.startswith(": "):
        text = text[2:]
    if text.strip() in ("", ".", ","):
        text = "none"
    return text


@dataclass
class StepResult:
    """One predicted step: the released prediction string, what was parsed, raw texts and costs."""

    gold: GoldStep
    prediction: str
    pred: Parsed
    thought: str
    raw: dict[str, str]
    truncated: bool
    seconds: float
    prompt_evaluated: int = 0
    prompt_reused: int = 0
    generated: int = 0
    single: bool = False
    protocol: CallerProtocol = "unconstrained"
    caller_cut: bool = False  # the caller hit its token budget (a cut name counts as a hallucination)
    grammar_unavailable: bool = False  # constrained protocol, but the dialogue's tools gave no grammar
    other: StepResult | None = None  # the same step under the second protocol of a two-protocol run

    def pair(self) -> StepPair:
        gold = self.gold.gold_backbone if self.single else self.gold.gold
        names = tuple(t["Name"] for t in self.gold.traj.tools)
        return StepPair(gold, self.pred, names)

    def to_record(self) -> dict[str, Any]:
        """The ``--predictions-out`` line of this step."""
        gold = self.gold.gold_backbone if self.single else self.gold.gold
        call_text = self.raw.get("caller") if not self.single else self.raw.get("backbone")
        arguments: dict[str, Any] | None = None
        call_error: str | None = None
        if self.pred.plan == "call" and call_text is not None:
            try:
                arguments = parse_call(call_text).arguments
            except CallParseError as exc:
                call_error = str(exc)
        names = {t["Name"] for t in self.gold.traj.tools}
        return {
            "dialogue": self.gold.dialogue,
            "step": self.gold.step,
            "turn": self.gold.turn,
            "gold_plan": gold.plan,
            "gold_action": gold.action,
            "gold_arguments": gold.action_input,
            "gold_answer": gold.answer,
            "pred_plan": self.pred.plan,
            "pred_thought": self.thought,
            "pred_action": self.pred.action,
            "pred_arguments": arguments,
            "pred_arguments_text": self.pred.action_input,
            "pred_call_error": call_error,
            "pred_answer": self.pred.answer,
            "hallucinated": bool(self.pred.action and self.pred.action != "none" and self.pred.action not in names),
            "raw": self.raw,
            "prediction": self.prediction,
            "reference": self.gold.backbone_reference if self.single else self.gold.reference,
            "truncated": self.truncated,
            "seconds": round(self.seconds, 3),
            "prompt_evaluated": self.prompt_evaluated,
            "prompt_reused": self.prompt_reused,
            "generated": self.generated,
            "protocol": self.protocol,
            "caller_cut": self.caller_cut,
            "grammar_unavailable": self.grammar_unavailable,
            **({"other": self.other.variant_record()} if self.other is not None else {}),
        }

    def variant_record(self) -> dict[str, Any]:
        """The fields of ``to_record`` that differ under another protocol (the ``other`` of a record)."""
        return {k: v for k, v in self.to_record().items() if k in _VARIANT_FIELDS}

    @classmethod
    def from_record(cls, gold: GoldStep, rec: dict[str, Any], *, single: bool) -> StepResult:
        """A step finished by an earlier run, from its ``to_record`` line (``eval static --resume``)."""
        prediction = str(rec["prediction"])
        pred = parse_backbone_output(prediction) if single else parse_multi_output(prediction)
        other = rec.get("other")
        return cls(
            gold=gold,
            prediction=prediction,
            pred=pred,
            thought=str(rec.get("pred_thought") or ""),
            raw=dict(rec["raw"]),
            truncated=bool(rec.get("truncated", False)),
            seconds=float(rec.get("seconds", 0.0)),
            prompt_evaluated=int(rec.get("prompt_evaluated", 0)),
            prompt_reused=int(rec.get("prompt_reused", 0)),
            generated=int(rec.get("generated", 0)),
            single=single,
            protocol="constrained" if rec.get("protocol") == "constrained" else "unconstrained",
            caller_cut=bool(rec.get("caller_cut", False)),
            grammar_unavailable=bool(rec.get("grammar_unavailable", False)),
            other=cls.from_record(gold, {**rec, **_NO_COST, **other, "other": None}, single=single)
            if isinstance(other, dict)
            else None,
        )


_NO_COST = {"seconds": 0.0, "prompt_evaluated": 0, "prompt_reused": 0, "generated": 0}
_VARIANT_FIELDS = frozenset(
    (
        "protocol",
        "pred_action",
        "pred_arguments",
        "pred_arguments_text",
        "pred_call_error",
        "hallucinated",
        "raw",
        "prediction",
        "caller_cut",
        "grammar_unavailable",
    )
)


class StepPredictor:
    """Runs the roles of a loaded :class:`umi_edge.engine.Engine` on gold steps, greedy.

    ``protocols``: the caller protocols to predict each step under (the first is the step's result, a second its
    ``other``); only the multi-LLM caller can be constrained, as at run time.
    """

    def __init__(
        self,
        engine: Engine,
        *,
        single: bool,
        max_tokens: dict[str, int] | None = None,
        protocols: Sequence[CallerProtocol] = ("unconstrained",),
        finish_checks: bool = False,
    ) -> None:
        from umi_edge.engine import SamplingParams

        self.engine = engine
        self.finish_checks = finish_checks
        self.single = single
        self.protocols = check_protocols(protocols, single=single)
        self.style = engine.prompt_style
        self.max_tokens = {**DEFAULT_MAX_TOKENS, **(max_tokens or {})}
        self.greedy = {r: SamplingParams(temperature=0.0, max_tokens=n) for r, n in self.max_tokens.items()}
        roles = set(engine.roles)
        if single:
            # A single-mode bundle has the backbone; a multi-role bundle is prompted as a single LLM via its planner.
            self.backbone_role = "backbone" if "backbone" in roles else "planner"
        elif not {"planner", "caller", "summarizer"} <= roles:
            raise UserError(
                f"bundle {engine.bundle_dir}: has roles {sorted(roles)}, the multi-LLM evaluation needs planner, "
                "caller and summarizer (use --single for a single-LLM bundle)"
            )
        self.stop = stop_sequences(engine.manifest.chat_eos)
        self._cur = {"truncated": False, "evaluated": 0, "reused": 0, "generated": 0}
        self._cut = False
        self._grammars: dict[int, str | None] = {}

    def _generate(
        self, ctx_role: str, budget_role: str, prompt: str, stop_after: Sequence[str] = (), grammar: str | None = None
    ) -> str:
        ctx = self.engine.role(ctx_role)
        limit = self.max_tokens[budget_role]
        toks = ctx.tokenize(prompt)
        room = ctx.n_ctx - limit - 1
        if room < 16:
            raise UserError(f"{ctx_role}: context of {ctx.n_ctx} tokens leaves no room for {limit} new tokens")
        if len(toks) > room:
            toks = toks[-room:]
            self._cur["truncated"] = True
        gen = ctx.generate(
            toks, self.greedy[budget_role], stop=self.stop, stop_after=stop_after, grammar=grammar, max_tokens=limit
        )
        while True:
            try:
                next(gen)
            except StopIteration as done:
                g = done.value
                break
        self._cur["evaluated"] += g.prompt_evaluated
        self._cur["reused"] += g.prompt_reused
        self._cur["generated"] += g.generated_tokens
        self._cut = g.stop_reason in ("length", "repetition")  # stopped before the text (or grammar) ended
        return clean_candidate(g.text)

    def grammar(self, step: GoldStep) -> str | None:
        """The runtime's caller grammar over the dialogue's tools (None when they give none), once per dialogue."""
        if step.dialogue not in self._grammars:
            from umi_edge.tools.loading import tools_from_spec

            try:
                tools = tools_from_spec(step.traj.tools, origin=f"dialogue {step.dialogue}")
                gbnf: str | None = self.engine.tool_grammar(((t.name, t.parameters) for t in tools), role="caller")
            except (UserError, ValueError):  # GrammarError is a UserError; the agent runs such a caller unconstrained
                gbnf = None
            self._grammars[step.dialogue] = gbnf
        return self._grammars[step.dialogue]

    def predict(self, step: GoldStep) -> StepResult:
        """The step under every protocol: the first protocol's result, carrying the others' as ``other``."""
        self._cur = {"truncated": False, "evaluated": 0, "reused": 0, "generated": 0}
        t0 = time.perf_counter()
        if self.single:
            variants = [self._predict_single(step)]
        else:
            variants = self._predict_multi(step)
        results = [
            StepResult(
                gold=step,
                prediction=pred_str,
                pred=parsed,
                thought=thought,
                raw=raw,
                truncated=bool(self._cur["truncated"]),
                seconds=0.0,
                single=self.single,
                protocol=protocol,
                caller_cut=cut,
                grammar_unavailable=protocol == "constrained" and "caller" in raw and self.grammar(step) is None,
            )
            for protocol, (raw, pred_str, parsed, thought, cut) in zip(self.protocols, variants, strict=True)
        ]
        first = results[0]
        first.seconds = time.perf_counter() - t0  # the step's whole cost is on its first result
        first.prompt_evaluated = int(self._cur["evaluated"])
        first.prompt_reused = int(self._cur["reused"])
        first.generated = int(self._cur["generated"])
        first.other = results[1] if len(results) > 1 else None
        return first

    def _predict_multi(self, step: GoldStep) -> list[tuple[dict[str, str], str, Parsed, str, bool]]:
        traj = step.traj
        doc, names = render_doc(traj.tools), tool_names(traj.tools)
        history = serialize_history(traj.conversations[: step.turn])
        prompt = build_input("planner", doc=doc, history=history, tool_names=names, style=self.style)
        planner_raw = self._generate("planner", "planner", model_prompt(prompt), stop_after=MARKERS)
        plan = parse_plan(planner_raw)
        raw = {"planner": planner_raw}
        if self.finish_checks and plan.label == "finish":
            why = finish_check(step)
            if why is not None:
                plan = why.plan()
                raw["finish_check"] = f"{why.reason}: {why.tool}"
        if plan.label == "give_up":
            return [(raw, plan.text, parse_multi_output(plan.text), plan.thought, False)] * len(self.protocols)
        history += serialize_turn("assistant", plan.text)
        if plan.label == "finish":
            prompt = build_input("summarizer", doc=doc, history=history, tool_names=names, style=self.style)
            raw["summarizer"] = self._generate("summarizer", "summarizer", model_prompt(prompt))
            pred_str = f"{PRED_ROLE_LABEL}: {plan.text}</s>conclusion: {raw['summarizer']}"
            return [(raw, pred_str, parse_multi_output(pred_str), plan.thought, False)] * len(self.protocols)
        prompt = build_input("caller", doc=doc, history=history, tool_names=names, thought=plan.text, style=self.style)
        out = []
        for protocol in self.protocols:
            grammar = self.grammar(step) if protocol == "constrained" else None
            text = self._generate("caller", "caller", model_prompt(prompt), grammar=grammar)
            pred_str = f"{PRED_ROLE_LABEL}: {plan.text}</s>caller: {text}"
            out.append(({**raw, "caller": text}, pred_str, parse_multi_output(pred_str), plan.thought, self._cut))
        return out

    def _predict_single(self, step: GoldStep) -> tuple[dict[str, str], str, Parsed, str, bool]:
        if not step.backbone_input:
            raise UserError(f"dialogue {step.dialogue}, turn {step.turn}: no backbone sample for this step")
        text = self._generate(self.backbone_role, "backbone", model_prompt(step.backbone_input))
        parsed = parse_backbone_output(text)
        cut = [i for i in (text.find("\nAction:"), text.find("conclusion: ")) if i >= 0]
        thought = text[: min(cut)].strip() if cut else text.strip()
        return {"backbone": text}, text, parsed, thought, self._cut and parsed.plan == "call"


def finish_check(step: GoldStep) -> Unfinished | None:
    """What the runtime's finish checks (:mod:`umi_edge.agent.unfinished`) say of concluding at ``step``: the
    question is the dialogue's first user turn, the turns are the gold history before the step."""
    turns = step.traj.conversations[: step.turn]
    request = next((t["value"] for t in turns if t["from"] == "user"), step.traj.instruction)
    docs = {str(d.get("Name", "")): alpha_doc_words(d) for d in step.traj.tools}
    return unfinished(request, docs, turns)


def planner_plan(result: StepResult) -> PlanLabel:
    """The planner's own label at a step, before any finish check changed it."""
    return parse_plan(result.raw["planner"]).label if "planner" in result.raw else result.pred.plan


def check_protocols(protocols: Sequence[CallerProtocol], *, single: bool) -> tuple[CallerProtocol, ...]:
    """``protocols`` as a tuple of one or two distinct known protocols (UserError otherwise)."""
    out = tuple(protocols)
    if not out or len(out) > 2 or len(set(out)) != len(out) or any(p not in PROTOCOLS for p in out):
        raise UserError(f"caller protocols: expected one or both of {', '.join(PROTOCOLS)}, got {list(out)}")
    if single and "constrained" in out:
        raise UserError("--constrain: the single-LLM backbone is not grammar-constrained at run time (only the caller)")
    return out


@dataclass
class StaticRun:
    """The outcome of a static evaluation."""

    file: str
    mode: str
    dialogues: int
    results: list[StepResult]
    metrics: StaticMetrics
    majority_evaluated: dict[str, Any]
    majority_file: dict[str, Any]
    wall_seconds: float
    interrupted: bool = False
    engine: dict[str, Any] = field(default_factory=dict)
    resumed_steps: int = 0
    protocols: tuple[CallerProtocol, ...] = ("unconstrained",)
    finish_checks: bool = False

    @property
    def truncated_steps(self) -> int:
        return sum(r.truncated for r in self.results)

    def by_protocol(self) -> dict[str, list[StepResult]]:
        """The step results under each protocol of the run, in the run's order."""
        out: dict[str, list[StepResult]] = {self.protocols[0]: list(self.results)}
        if len(self.protocols) > 1:
            out[self.protocols[1]] = [r.other or r for r in self.results]
        return out

    def to_json(self) -> dict[str, Any]:
        """The ``--json`` document; ``metrics`` are those of ``protocol``, ``protocols`` has every protocol's."""
        evaluated = sum(r.prompt_evaluated for r in self.results)
        reused = sum(r.prompt_reused for r in self.results)
        protocols = {
            name: {
                "metrics": (self.metrics if name == self.protocols[0] else compute(r.pair() for r in rs)).to_json(),
                "caller_cut_steps": sum(r.caller_cut for r in rs),
                "grammar_unavailable_steps": sum(r.grammar_unavailable for r in rs),
            }
            for name, rs in self.by_protocol().items()
        }
        checks: dict[str, Any] = {}
        if self.finish_checks:
            own = [planner_plan(r) for r in self.results]
            right = sum(p == r.gold.plan for p, r in zip(own, self.results, strict=True))
            checks = {
                "finish_checks": {
                    "overruled": sum("finish_check" in r.raw for r in self.results),
                    "planner_plan_acc": round(100.0 * right / len(own), 2) if own else None,
                }
            }
        return {
            "file": self.file,
            "mode": self.mode,
            "protocol": self.protocols[0],
            **checks,
            "protocols": protocols,
            "dialogues": self.dialogues,
            "steps": len(self.results),
            "metrics": self.metrics.to_json(),
            "majority_baseline": {"evaluated": self.majority_evaluated, "file": self.majority_file},
            "wall_seconds": round(self.wall_seconds, 2),
            "seconds_per_step": round(self.wall_seconds / len(self.results), 3) if self.results else None,
            "truncated_steps": self.truncated_steps,
            "prompt_tokens": {"evaluated": evaluated, "reused": reused},
            "generated_tokens": sum(r.generated for r in self.results),
            "interrupted": self.interrupted,
            "resumed_steps": self.resumed_steps,
            "engine": self.engine,
        }


def run_static(
    path: str | Path,
    engine: Engine,
    *,
    single: bool = False,
    limit: int | None = None,
    sample: int | None = None,
    seed: int = 0,
    max_tokens: dict[str, int] | None = None,
    progress: bool | None = None,
    on_step: Callable[[StepResult], None] | None = None,
    done: Sequence[dict[str, Any]] = (),
    protocols: Sequence[CallerProtocol] = ("unconstrained",),
    finish_checks: bool = False,
) -> StaticRun:
    """Evaluate ``engine`` on the gold steps of ``path``. Ctrl-C stops early and keeps the steps done so far.

    ``done``: step records of an earlier run of the same evaluation (``--resume``); those steps are not predicted
    again, and their measured seconds count towards ``wall_seconds``. ``protocols``: the caller protocols, one or
    both (see the module docstring); the run's ``metrics`` are the first one's. ``finish_checks``: the runtime's
    checks of early conclusions (:mod:`umi_edge.agent.unfinished`) apply to the planner's turns (multi-LLM only).
    """
    protocols = check_protocols(protocols, single=single)
    all_dialogues = load_gold(path, engine.prompt_style)
    file_plans = [s.plan for d in all_dialogues for s in d]
    if not file_plans:
        raise UserError(f"{path}: no gold planner steps (assistant turns with a 'Next: ...' marker)")
    f_label, f_acc = majority_plan_baseline(file_plans)
    chosen = select_dialogues(all_dialogues, limit=limit, sample=sample, seed=seed)
    steps = [s for d in chosen for s in d]
    if not steps:
        raise UserError(f"{path}: the selected dialogues have no gold planner steps")
    earlier = _resumed(steps, done, single=single, path=path, protocols=protocols)
    if finish_checks and single:
        raise UserError(NO_SINGLE_FINISH_CHECKS)
    predictor = StepPredictor(
        engine, single=single, max_tokens=max_tokens, protocols=protocols, finish_checks=finish_checks
    )
    results: list[StepResult] = []
    interrupted = False
    t0 = time.perf_counter()
    bar = progress_bar(len(steps), "step", "eval static", enabled=progress is not False, initial=len(earlier))
    try:
        for step in steps:
            if (step.dialogue, step.step) in earlier:
                results.append(earlier[step.dialogue, step.step])
                continue
            res = predictor.predict(step)
            results.append(res)
            if on_step is not None:
                on_step(res)
            bar.update(1)
    except KeyboardInterrupt:
        interrupted = True
    finally:
        bar.close()
    wall = time.perf_counter() - t0 + sum(r.seconds for r in earlier.values())
    done_plans = [r.gold.plan for r in results] or [s.plan for s in steps]
    e_label, e_acc = majority_plan_baseline(done_plans)
    describe = engine.describe() if hasattr(engine, "describe") else {}
    return StaticRun(
        file=str(path),
        mode="single" if single else "multi",
        dialogues=len({r.gold.dialogue for r in results}),
        results=results,
        metrics=compute(r.pair() for r in results),
        majority_evaluated={"label": e_label, "plan_acc": e_acc, "steps": len(done_plans)},
        majority_file={"label": f_label, "plan_acc": f_acc, "steps": len(file_plans)},
        wall_seconds=wall,
        interrupted=interrupted,
        engine=describe,
        resumed_steps=len(earlier),
        protocols=protocols,
        finish_checks=finish_checks,
    )


def _resumed(
    steps: Sequence[GoldStep],
    done: Sequence[dict[str, Any]],
    *,
    single: bool,
    path: str | Path,
    protocols: tuple[CallerProtocol, ...] = ("unconstrained",),
) -> dict[tuple[int, int], StepResult]:
    """The earlier run's results by ``(dialogue, step)``; records that do not fit the selected steps are errors."""
    by_key = {(s.dialogue, s.step): s for s in steps}
    out: dict[tuple[int, int], StepResult] = {}
    for rec in done:
        dialogue, step = rec.get("dialogue"), rec.get("step")
        if not isinstance(dialogue, int) or not isinstance(step, int):
            raise UserError(f"resumed step: expected integer 'dialogue' and 'step', got {dialogue!r}, {step!r}")
        key = (dialogue, step)
        gold = by_key.get(key)
        if gold is None or rec.get("gold_plan") != (gold.gold_backbone if single else gold.gold).plan:
            raise UserError(f"resumed step {key}: not a selected gold step of {path} (was it made from this file?)")
        made = (rec.get("protocol", "unconstrained"), isinstance(rec.get("other"), dict))
        if made != (protocols[0], len(protocols) > 1):
            raise UserError(f"resumed step {key}: predicted under other caller protocols than {list(protocols)}")
        out[key] = StepResult.from_record(gold, rec, single=single)
    return out
