"""The static metrics of α-UMi exactly as the released evaluate-multi_agent.py / evaluate-backbone.py define them.

Hand-written because no library implements them: the released scripts are argparse programs, not importable code.
Every step is reduced to a :class:`Parsed` ``(plan, action, action_input, answer)`` by the released ``parse_output``
rules (reproduced in :func:`parse_multi_output` and :func:`parse_backbone_output`), applied to the same reference
and prediction strings the released pipeline builds. Then, over a list of :class:`StepPair`:

- Plan ACC: predicted plan label == gold label, over all steps.
- Act. EM: predicted tool name == gold tool name (a missing one counts as ``'none'``), over gold call steps.
- Hallu.: steps whose predicted tool name is set, not ``'none'`` and not among the offered tools, over all steps.
- Arg. F1 (with easy = gold arguments ``{}``, hard = the rest): per gold call step, see :func:`arg_f1_step`.
- R-L: mean ROUGE-L F between predicted and gold conclusions, over gold finish steps (a missing prediction
  counts as ``'none'``).

Differences from the released scripts, all deliberate and small: R-L uses the ``rouge-score`` library instead of
the ``rouge`` package (both lowercase and split on non-alphanumerics; ``rouge`` can raise on empty text); a metric
with no steps to average is ``None`` instead of a ZeroDivisionError; the released ``+1e-30`` on the F1 averages is
left out. Figures are percentages (0–100) like the paper's table.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from umi_edge.formats.parse import PLAN_LABELS, PlanLabel


@dataclass(frozen=True)
class Parsed:
    """One step as the released evaluator sees it."""

    plan: PlanLabel
    action: str | None = None
    action_input: str | None = None
    answer: str | None = None


@dataclass(frozen=True)
class StepPair:
    """Gold and predicted step, with the tool names offered in that dialogue (for Hallu.)."""

    gold: Parsed
    pred: Parsed
    tool_names: tuple[str, ...]


def _action_and_input(text: str) -> tuple[str, str]:
    """The released call parsing: the text after the LAST ``Action Input:`` / ``Action:``."""
    if "Action Input:" in text:
        action_input = text[text.rindex("Action Input:") + len("Action Input:") :].strip()
    else:
        action_input = "{}"
    if "Action:" in text:
        action = text[text.rindex("Action:") + len("Action:") :].strip()
        if "Action Input:" in action:
            action = action[: action.index("Action Input:")].strip()
    else:
        action = "none"
    return action, action_input


def parse_multi_output(text: str) -> Parsed:
    """``parse_output`` of evaluate-multi_agent.py, on ``reference`` / ``predictions`` strings of the pipeline.

    Those strings are ``<planner text>`` (give up), or ``<role>: <planner text></s>caller: <caller text>[</s>]``,
    or ``<role>: <planner text></s>conclusion: <summary>[</s>]``.
    """
    if "Next: give up" in text:
        return Parsed("give_up")
    if "Next: conclusion" in text:
        answer = text[text.rindex("conclusion: ") + len("conclusion: ") :] if "conclusion:" in text else text
        return Parsed("finish", answer=answer.replace("</s>", ""))
    parts = text.split("</s>")
    # The released code indexes [1] unconditionally; a text without '</s>' cannot come out of the pipeline.
    call_text = parts[1] if len(parts) > 1 else text
    action, action_input = _action_and_input(call_text)
    return Parsed("call", action=action, action_input=action_input)


def parse_backbone_output(text: str) -> Parsed:
    """``parse_output`` of evaluate-backbone.py, on the single model's merged output (and its gold target)."""
    if "conclusion: give up" in text:
        return Parsed("give_up")
    if "conclusion: " in text:
        return Parsed("finish", answer=text[text.rindex("conclusion: ") + len("conclusion: ") :])
    action, action_input = _action_and_input(text)
    return Parsed("call", action=action, action_input=action_input)


@dataclass(frozen=True)
class ArgScore:
    """What one gold call step adds to the three released F1 lists (``None``: nothing added to that list)."""

    f1: float | None
    easy: float | None
    hard: float | None


def arg_f1_step(gold_action: str, pred_action: str, gold_input: str, pred_input: str) -> ArgScore:
    """Argument F1 of one gold call step, as ``evaluate_action_input_f1`` scores it.

    - Wrong tool: 0 in all three lists (easy AND hard, whatever the gold arguments are).
    - Gold arguments not valid JSON: the step is skipped.
    - Gold ``{}``: 1 (easy) only when the prediction is ``{}`` too, else 0.
    - Otherwise (hard): for each gold key present in the prediction an equal value is a full match, a different
      value a half match; R = (full + half/2)/|gold|, P = (full + half/2)/|pred|, F1 = 2PR/(P+R); 0 when the
      prediction is not a JSON object or nothing matches.
    """
    if gold_action != pred_action:
        return ArgScore(0.0, 0.0, 0.0)
    try:
        gold = json.loads(gold_input)
    except ValueError:
        return ArgScore(None, None, None)
    try:
        pred = json.loads(pred_input)
    except ValueError:
        return ArgScore(0.0, 0.0, None) if gold == {} else ArgScore(0.0, None, 0.0)
    if gold == {}:
        score = 1.0 if pred == {} else 0.0
        return ArgScore(score, score, None)
    try:
        full = half = 0
        for key, value in gold.items():
            if key in pred.keys():
                if pred[key] == value:
                    full += 1
                else:
                    half += 1
        recall = (0.5 * half + full) / (len(gold) + 1e-30)
        precision = (0.5 * half + full) / (len(pred) + 1e-30)
        f1 = (2 * recall * precision) / (recall + precision)
    except (AttributeError, TypeError, ZeroDivisionError):
        # The released code's bare `except:` turns every failure here into a 0 (non-object JSON, no match).
        f1 = 0.0
    return ArgScore(f1, None, f1)


_scorer: Any = None


def rouge_l(prediction: str, reference: str) -> float:
    """ROUGE-L F-measure (rouge-score library, no stemming) between two texts, in [0, 1]."""
    global _scorer
    if _scorer is None:
        from rouge_score import rouge_scorer

        _scorer = rouge_scorer.RougeScorer(["rougeL"], use_stemmer=False)
    return float(_scorer.score(reference, prediction)["rougeL"].fmeasure)


def _pct(values: Sequence[float]) -> float | None:
    return 100.0 * sum(values) / len(values) if values else None


@dataclass
class StaticMetrics:
    """The paper's static metrics in percent (``None`` when no step counts toward one), plus step counts."""

    plan_acc: float | None
    action_em: float | None
    hallu: float | None
    arg_f1: float | None
    arg_f1_easy: float | None
    arg_f1_hard: float | None
    rouge_l: float | None
    steps: int
    call_steps: int
    finish_steps: int
    give_up_steps: int

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def compute(pairs: Iterable[StepPair]) -> StaticMetrics:
    """Aggregate the released metrics over scored steps (see the module docstring)."""
    pairs = list(pairs)
    plan_hits: list[float] = []
    hallu: list[float] = []
    act_em: list[float] = []
    f1: list[float] = []
    easy: list[float] = []
    hard: list[float] = []
    rouge: list[float] = []
    counts = dict.fromkeys(PLAN_LABELS, 0)
    for p in pairs:
        gold, pred = p.gold, p.pred
        counts[gold.plan] += 1
        plan_hits.append(float(pred.plan == gold.plan))
        hallu.append(float(pred.action is not None and pred.action != "none" and pred.action not in p.tool_names))
        if gold.plan == "finish":
            rouge.append(rouge_l(pred.answer if pred.answer is not None else "none", gold.answer or ""))
        elif gold.plan == "call":
            pred_action = pred.action if pred.action is not None else "none"
            pred_input = pred.action_input if pred.action_input is not None else "{}"
            act_em.append(float(pred_action == gold.action))
            s = arg_f1_step(gold.action or "none", pred_action, gold.action_input or "{}", pred_input)
            for value, bucket in ((s.f1, f1), (s.easy, easy), (s.hard, hard)):
                if value is not None:
                    bucket.append(value)
    return StaticMetrics(
        plan_acc=_pct(plan_hits),
        action_em=_pct(act_em),
        hallu=_pct(hallu),
        arg_f1=_pct(f1),
        arg_f1_easy=_pct(easy),
        arg_f1_hard=_pct(hard),
        rouge_l=_pct(rouge),
        steps=len(pairs),
        call_steps=counts["call"],
        finish_steps=counts["finish"],
        give_up_steps=counts["give_up"],
    )


def majority_plan_baseline(gold_plans: Iterable[PlanLabel]) -> tuple[PlanLabel, float]:
    """The Plan ACC of always predicting the most frequent gold label: (label, percent)."""
    plans = list(gold_plans)
    if not plans:
        raise ValueError("no gold steps")
    label = max(PLAN_LABELS, key=plans.count)
    return label, 100.0 * plans.count(label) / len(plans)
