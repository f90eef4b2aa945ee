"""Executable evaluation: run the full agent on each task in a fresh workspace and check its final answer.

Each task gets a new temporary directory holding its ``files`` and ``sqlite`` fixtures; the agent's tools run there
(sandboxed tools inside the sandbox), with every effect approved (the workspace is thrown away afterwards).
A task succeeds when the run finishes with an answer that matches (:mod:`umi_edge.eval.matching`).
"""

from __future__ import annotations

import dataclasses
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from umi_edge.errors import UserError, where
from umi_edge.eval.matching import matches, ungrounded_numbers
from umi_edge.eval.progress import progress_bar
from umi_edge.formats.taskfile import GIVE_UP, FixtureError, Task, load_tasks, write_fixture

if TYPE_CHECKING:
    from umi_edge.agent.config import AgentConfig
    from umi_edge.engine.engine import Engine
    from umi_edge.tools.registry import ToolRegistry


def build_workspace(task: Task, root: Path, source: str | Path = "tasks") -> Path:
    """Write the task's ``files`` and create its ``sqlite`` databases under ``root`` (created if needed)."""
    try:
        return write_fixture(root, task.files, task.sqlite)
    except FixtureError as exc:
        raise UserError(f"{where(source, line=task.line, field='sqlite')}: {exc}") from None


def task_registry(task: Task, base: ToolRegistry, source: str | Path) -> ToolRegistry:
    """The tools offered for ``task``: ``base``, or the subset the task names (unknown names are an error)."""
    if task.tools is None:
        return base
    unknown = [n for n in task.tools if n not in base]
    if unknown:
        raise UserError(
            f"{where(source, line=task.line, field='tools')}: unknown tool(s) {unknown}; "
            f"available: {', '.join(base.names())}"
        )
    return base.subset(task.tools)


def session_registry(tasks: list[Task], base: ToolRegistry) -> ToolRegistry:
    """The tools of a session asking ``tasks`` one after another: every tool one of them offers (names already
    checked by :func:`check_tasks`)."""
    if any(t.tools is None for t in tasks):
        return base
    names = {n for t in tasks for n in (t.tools or [])}
    return base.subset([n for n in base.names() if n in names])


def check_tasks(tasks: list[Task], registry: ToolRegistry, source: str | Path) -> None:
    """Validate what needs the tools and SQLite before any model runs: tool names and fixture SQL."""
    with tempfile.TemporaryDirectory(prefix="umi-eval-check-") as tmp:
        for i, task in enumerate(tasks):
            task_registry(task, registry, source)
            if task.sqlite:
                build_workspace(task, Path(tmp) / str(i), source)


@dataclass
class TaskResult:
    """One task's outcome, counts and transcript."""

    task: Task
    outcome: str  # success | wrong_answer | gave_up | max_steps | error | cancelled
    status: str
    answer: str | None
    steps: int
    tool_calls: int
    tool_errors: int
    unknown_tool_calls: int
    invalid_calls: int
    seconds: float
    ungrounded: list[float] = field(default_factory=list)
    """Numbers a finished run's answer states that neither the request nor any observation holds."""
    conversation: list[dict[str, str]] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)
    first: TaskResult | None = None
    """With ``--second``: the question asked before this one in the same session (its own result)."""

    @property
    def success(self) -> bool:
        return self.outcome == "success"

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.task.id,
            "outcome": self.outcome,
            "success": self.success,
            "status": self.status,
            "answer": self.answer,
            "expected": self.task.answers,
            "match": self.task.match,
            "steps": self.steps,
            "tool_calls": self.tool_calls,
            "tool_errors": self.tool_errors,
            "unknown_tool_calls": self.unknown_tool_calls,
            "invalid_calls": self.invalid_calls,
            "ungrounded": self.ungrounded,
            "seconds": round(self.seconds, 3),
            **({"first": self.first.to_json()} if self.first is not None else {}),
        }

    def transcript(self) -> dict[str, Any]:
        """The ``--transcripts-out`` line: the result plus the query, conversation and events."""
        return {**self.to_json(), "query": self.task.query, "conversation": self.conversation, "events": self.events}


def expects_give_up(task: Task) -> bool:
    """True when the task's expected answer is to give up."""
    return any(isinstance(a, str) and a.strip().lower().rstrip(".") == GIVE_UP for a in task.answers)


def task_outcome(task: Task, status: str, answer: str | None) -> str:
    """success | wrong_answer | gave_up | max_steps | error | cancelled, from how the agent's run ended.

    Giving up is the right outcome for a task whose answer is ``give up``; a finished run is matched against the
    task's answers.
    """
    if status == "gave_up" and expects_give_up(task):
        return "success"
    if status == "finished":
        return "success" if answer is not None and matches(answer, task.answers, task.match) else "wrong_answer"
    return status


def run_task(
    task: Task,
    engine: Engine,
    registry: ToolRegistry,
    *,
    single: bool,
    config: AgentConfig,
    workspace: Path,
    history: list[dict[str, str]] | None = None,
) -> TaskResult:
    """Run the agent on one task in ``workspace`` (already built), after ``history`` (an earlier question of the
    same session), and score it."""
    from umi_edge.agent.agent import Agent
    from umi_edge.agent.events import Observation, PlanDecided, RunFinished, ToolCall, to_dict

    agent = Agent(engine, registry, workspace=workspace, config=config, single=single)
    t0 = time.perf_counter()
    steps = calls = errors = unknown = invalid = 0
    status, answer = "error", None
    for ev in agent.run(task.query, history=history):
        if isinstance(ev, PlanDecided):
            steps = max(steps, ev.step)
        elif isinstance(ev, ToolCall):
            calls += 1
            if not ev.valid:
                invalid += 1
                if ev.name and ev.name not in registry:
                    unknown += 1
        elif isinstance(ev, Observation) and ev.is_error:
            errors += 1
        elif isinstance(ev, RunFinished):
            status, answer = ev.status, ev.answer
    seconds = time.perf_counter() - t0
    outcome = task_outcome(task, status, answer)
    earlier = len(history or [])  # an earlier question's answer may be quoted too
    turns = agent.conversation
    sources = [t["value"] for i, t in enumerate(turns) if t["from"] in ("user", "observation") or i < earlier]
    ungrounded = ungrounded_numbers(answer, sources) if status == "finished" and answer else []
    return TaskResult(
        task=task,
        outcome=outcome,
        status=status,
        answer=answer,
        steps=steps,
        tool_calls=calls,
        tool_errors=errors,
        unknown_tool_calls=unknown,
        invalid_calls=invalid,
        seconds=seconds,
        ungrounded=ungrounded,
        conversation=list(agent.conversation),
        events=[to_dict(e) for e in agent.events],
    )


@dataclass
class TaskRun:
    file: str
    mode: str
    results: list[TaskResult]
    wall_seconds: float
    interrupted: bool = False
    second: bool = False
    engine: dict[str, Any] = field(default_factory=dict)

    def summary(self) -> dict[str, Any]:
        r = self.results
        n = len(r)
        secs = [x.seconds for x in r] or [0.0]
        return {
            "tasks": n,
            "succeeded": sum(x.success for x in r),
            "success_rate": 100.0 * sum(x.success for x in r) / n if n else 0.0,
            "avg_steps": sum(x.steps for x in r) / n if n else 0.0,
            "tool_calls": sum(x.tool_calls for x in r),
            "tool_errors": sum(x.tool_errors for x in r),
            "unknown_tool_calls": sum(x.unknown_tool_calls for x in r),
            "invalid_calls": sum(x.invalid_calls for x in r),
            "gave_up": sum(x.outcome == "gave_up" for x in r),
            "max_steps_hit": sum(x.outcome == "max_steps" for x in r),
            "wrong_answers": sum(x.outcome == "wrong_answer" for x in r),
            "agent_errors": sum(x.outcome == "error" for x in r),
            "ungrounded_answers": sum(bool(x.ungrounded) for x in r),
            **(self._second_summary() if self.second else {}),
            "mean_seconds": statistics.fmean(secs),
            "median_seconds": statistics.median(secs),
            "max_seconds": max(secs),
        }

    def _second_summary(self) -> dict[str, Any]:
        firsts = [x.first for x in self.results if x.first is not None]
        rate = 100.0 * sum(f.success for f in firsts) / len(firsts) if firsts else 0.0
        second = 100.0 * sum(x.success for x in self.results) / len(self.results) if self.results else 0.0
        return {
            "first_succeeded": sum(f.success for f in firsts),
            "first_success_rate": rate,
            "second_minus_first": second - rate,
        }

    def to_json(self) -> dict[str, Any]:
        return {
            "file": self.file,
            "mode": self.mode,
            "second": self.second,
            "summary": self.summary(),
            "tasks": [x.to_json() for x in self.results],
            "wall_seconds": round(self.wall_seconds, 2),
            "interrupted": self.interrupted,
            "engine": self.engine,
        }


def run_tasks(
    path: str | Path,
    engine: Engine,
    *,
    registry: ToolRegistry | None = None,
    single: bool = False,
    limit: int | None = None,
    config: AgentConfig | None = None,
    progress: bool | None = None,
    on_task: Callable[[TaskResult], None] | None = None,
    second: bool = False,
) -> TaskRun:
    """Run every task of ``path`` (the first ``limit``); Ctrl-C stops early and keeps the tasks done so far.

    ``config``: the agent's settings (default: AgentConfig's); every tool effect is approved, whatever its
    ``approve_policy`` says, since each task's workspace is thrown away. ``second``: each task is the second
    question of a session whose first question is the task before it (the last task for the first one), in one
    workspace holding both fixtures; both are scored (``first`` of each result)."""
    from umi_edge.agent.config import AgentConfig
    from umi_edge.tools.registry import builtin_registry

    tasks = load_tasks(path)[:limit] if limit else load_tasks(path)
    base = registry if registry is not None else builtin_registry()
    check_tasks(tasks, base, path)
    if second and len(tasks) < 2:
        raise UserError(f"{path}: --second needs at least two tasks (each is asked after another one)")
    config = dataclasses.replace(config or AgentConfig(), approve_policy="all")
    results: list[TaskResult] = []
    interrupted = False
    t0 = time.perf_counter()
    bar = progress_bar(len(tasks), "task", "eval tasks", enabled=progress is not False)
    try:
        for i, task in enumerate(tasks):
            ws = Path(tempfile.mkdtemp(prefix="umi-eval-task-"))
            try:
                first = tasks[i - 1] if second else None
                if first is not None:
                    build_workspace(first, ws, path)
                build_workspace(task, ws, path)
                tools = session_registry([t for t in (first, task) if t is not None], base)
                before = None
                if first is not None:
                    before = run_task(first, engine, tools, single=single, config=config, workspace=ws)
                res = run_task(
                    task,
                    engine,
                    tools,
                    single=single,
                    config=config,
                    workspace=ws,
                    history=before.conversation if before is not None else None,
                )
                res.first = before
            finally:
                shutil.rmtree(ws, ignore_errors=True)
            results.append(res)
            if on_task is not None:
                on_task(res)
            bar.update(1)
    except KeyboardInterrupt:
        interrupted = True
    finally:
        bar.close()
    return TaskRun(
        file=str(path),
        mode="single" if single else "multi",
        results=results,
        second=second,
        wall_seconds=time.perf_counter() - t0,
        interrupted=interrupted,
        engine=engine.describe() if hasattr(engine, "describe") else {},
    )
