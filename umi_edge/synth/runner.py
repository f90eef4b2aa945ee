"""Run a task's solution script with the real tools in a fresh fixture workspace and record the trajectory."""

from __future__ import annotations

import math
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from umi_edge.formats.parse import render_call, render_plan
from umi_edge.formats.taskfile import GIVE_UP, Match, Task, write_fixture
from umi_edge.synth.task import Call, Finish, GiveUp, Recipe
from umi_edge.tools import ToolRegistry


class SynthBug(RuntimeError):
    """A generator defect: a tool failed where the script expected success, or the tools' answer disagrees with
    the answer the generator computed itself. Never caused by user input."""


@dataclass
class Episode:
    """A task after execution: its stage-2 turns, tool docs, and the checkable answer the tools produced."""

    recipe: Recipe
    tools: list[dict[str, Any]]
    conversations: list[dict[str, str]]
    answer: str | float | list[str]
    match: Match
    calls: int
    gave_up: bool
    alternative: bool = False
    """True for the second solution of a task (same instruction as the episode before it)."""

    def task(self, ident: str) -> Task:
        """The executable task (``umi-edge eval tasks`` format) whose answer is the one the tools produced."""
        r = self.recipe
        answers: list[str | float | int] = [*self.answer] if isinstance(self.answer, list) else [self.answer]
        return Task(ident, r.query, answers, self.match, r.files, r.sqlite, r.tools)


def run_task(task: Recipe, registry: ToolRegistry) -> Episode:
    """Execute ``task.solve`` against ``registry`` (plus the task's own tools) in a temporary workspace built from the
    task's fixture."""
    if task.extra_tools:
        registry = ToolRegistry(
            [*registry.tools(), *task.extra_tools], limits=registry.limits, allow_unsandboxed=registry.allow_unsandboxed
        )
    docs = registry.subset(task.tools).alpha_umi_docs()
    turns: list[dict[str, str]] = [{"from": "user", "value": task.query}]
    calls = 0
    with tempfile.TemporaryDirectory(prefix="umi-synth-") as tmp:
        ws = Path(tmp)
        write_fixture(ws, task.files, task.sqlite)
        script = task.solve()
        try:
            step = next(script)
            while True:
                if not isinstance(step, Call):
                    raise SynthBug(f"{task.family}: script yielded {step!r}, expected a Call")
                if step.tool not in task.tools:
                    raise SynthBug(f"{task.family}: call to {step.tool!r}, which the task does not offer")
                turns.append({"from": "assistant", "value": render_plan(step.thought, "call")})
                args = _schema_order(registry, step.tool, step.args)
                turns.append({"from": "caller", "value": render_call(step.tool, args)})
                result = registry.call(step.tool, step.args, workspace=ws)
                calls += 1
                if result.is_error != step.expect_error:
                    raise SynthBug(
                        f"{task.family} ({task.query!r}): {step.tool} {step.args} gave "
                        f"{'an error' if result.is_error else 'no error'}: {result.content[:300]}"
                    )
                turns.append({"from": "observation", "value": result.content})
                step = script.send(result)
        except StopIteration as stop:
            outcome = stop.value
    if isinstance(outcome, GiveUp):
        turns.append({"from": "assistant", "value": render_plan(outcome.thought, "give_up")})
        return Episode(task, docs, turns, GIVE_UP, "contains", calls, True)
    if not isinstance(outcome, Finish):
        raise SynthBug(f"{task.family}: script returned {outcome!r}, expected Finish or GiveUp")
    turns.append({"from": "assistant", "value": render_plan(outcome.thought, "finish")})
    turns.append({"from": "conclusion", "value": outcome.conclusion})
    check_outcome(task, outcome)
    return Episode(task, docs, turns, outcome.answer, outcome.match, calls, False)


def _schema_order(registry: ToolRegistry, name: str, args: dict[str, Any]) -> dict[str, Any]:
    """``args`` with its keys in the order of the tool's schema, the order the Caller is trained to write."""
    tool = registry.get(name)
    order = list((tool.parameters or {}).get("properties", {})) if tool else []
    rank = {k: i for i, k in enumerate(order)}
    return dict(sorted(args.items(), key=lambda kv: rank.get(kv[0], len(rank))))


def check_outcome(task: Recipe, outcome: Finish) -> None:
    """The tools' answer must agree with the generator's own computation and appear in the conclusion."""
    ans = outcome.answer
    if outcome.match == "number":
        if not isinstance(ans, int | float):
            raise SynthBug(f"{task.family}: numeric answer expected, got {ans!r}")
        if task.expected is not None and not math.isclose(float(ans), float(task.expected), rel_tol=1e-6, abs_tol=1e-9):
            raise SynthBug(f"{task.family} ({task.query!r}): tools gave {ans}, generator computed {task.expected}")
    else:
        alts = ans if isinstance(ans, list) else [ans]
        if task.expected is not None and str(task.expected).lower() not in [str(a).lower() for a in alts]:
            raise SynthBug(f"{task.family} ({task.query!r}): tools gave {ans!r}, generator computed {task.expected!r}")
        if not any(str(a).lower() in outcome.conclusion.lower() for a in alts):
            raise SynthBug(f"{task.family}: conclusion {outcome.conclusion!r} does not contain the answer {ans!r}")
