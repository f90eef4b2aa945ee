"""The α-UMi agent: ``Agent(engine, registry).run(query)`` yields typed events until the run ends.

Flow (official routing): planner → (caller → tool → observation → planner)* → summarizer, or give up; at most
``max_steps`` planner turns.  ``single=True`` runs the backbone (single-LLM) model alone with the same tools.
Before the first step the prompts' tools are chosen for the query (all that fit, else the top k ranked for it:
:mod:`umi_edge.agent.selection`).
Cancellable between tokens with :meth:`Agent.cancel` (from any thread).  The last event is always RunFinished.

A call identical to one that already failed in the run (same tool, same arguments as JSON) is never run again:
the planner gets an error observation instead (event RepeatedCall), and the ``MAX_REPEATED_FAILURES``-th such
repeat ends the run as given up (:mod:`umi_edge.agent.repeats`).  A read call identical to one that succeeded
(no write or exec call since) is not run again either: the run goes to the summarizer, which answers from the
earlier observation (RepeatedCall with ``succeeded``).  A call whose arguments hold a number or short string that
neither the request, an observation nor the tool's doc holds is not run: the run gives up
(:mod:`umi_edge.agent.grounding`). A call for a question none of whose content words an offered tool's doc holds is
not made either: the run gives up (:mod:`umi_edge.agent.relevance`).
All four are enforced here at run time, not trained.
"""

from __future__ import annotations

import threading
from collections.abc import Generator, Iterator, Sequence
from itertools import chain
from pathlib import Path
from typing import Any

from umi_edge.agent import backbone, caller, planner, summarizer
from umi_edge.agent.acting import act, parse_and_check
from umi_edge.agent.approval import Approver, check_policy
from umi_edge.agent.config import AgentConfig
from umi_edge.agent.events import (
    AgentError,
    Cancelled,
    Event,
    FinalAnswer,
    FollowUpRead,
    GaveUp,
    NoToolFits,
    Observation,
    RepeatedCall,
    RunFinished,
    RunStatus,
    TokenDelta,
    ToolCall,
    to_dict,
)
from umi_edge.agent.follow_up import standalone
from umi_edge.agent.relevance import unheld_words
from umi_edge.agent.repeats import (
    RepeatVerdict,
    answered_before,
    check_repeat,
    give_up_reason,
    repeat_observation,
    repeated_event,
)
from umi_edge.agent.selection import doc_roles, offer_tools
from umi_edge.agent.state import RunState
from umi_edge.agent.timings import Timings
from umi_edge.agent.transcript import TranscriptRecorder
from umi_edge.agent.unfinished import withdrawn
from umi_edge.engine import ContextOverflow, Engine, Generation
from umi_edge.errors import UserError
from umi_edge.formats.parse import render_plan
from umi_edge.tools.registry import ToolRegistry


class _Stop(Exception):
    """Ends the loop with a status (internal)."""

    def __init__(self, status: RunStatus, answer: str | None = None) -> None:
        self.status, self.answer = status, answer


class Agent:
    """Runs queries on an :class:`~umi_edge.engine.Engine` with a tool registry.

    After a run: ``conversation`` (stage-2 turns), ``status``, ``answer``, ``events`` (all but token deltas) and
    :meth:`summary` (the ``--json`` document).
    """

    def __init__(
        self,
        engine: Engine,
        registry: ToolRegistry,
        *,
        workspace: str | Path = ".",
        config: AgentConfig | None = None,
        approve: Approver | None = None,
        single: bool | None = None,
        recorder: TranscriptRecorder | None = None,
    ) -> None:
        self.engine = engine
        self.registry = registry
        self.workspace = Path(workspace).expanduser().resolve()
        self.config = config or AgentConfig()
        check_policy(self.config.approve_policy)
        self.approve = approve
        self.single = engine.mode == "single" if single is None else single
        if self.single and "backbone" not in engine.roles and "planner" not in engine.roles:
            raise UserError(f"{engine.bundle_dir}: --single needs a 'backbone' or 'planner' role")
        if not self.single and "planner" not in engine.roles:
            raise UserError(f"{engine.bundle_dir}: a {engine.mode!r} bundle runs in single mode only (use --single)")
        self.recorder = recorder
        self._cancel = threading.Event()
        self.conversation: list[dict[str, str]] = []
        self.status: RunStatus | None = None
        self.answer: str | None = None
        self.events: list[Event] = []

    def cancel(self) -> None:
        """Stop the current run at the next token (thread-safe); the run ends with Cancelled + RunFinished."""
        self._cancel.set()

    # -- the loop ---------------------------------------------------------------------------------------------
    def run(self, query: str, *, history: Sequence[dict[str, str]] | None = None) -> Iterator[Event]:
        """Answer ``query`` (after ``history``, e.g. a resumed session's conversation); yields events."""
        self._cancel.clear()
        state = RunState(
            engine=self.engine,
            registry=self.registry,
            config=self.config,
            workspace=self.workspace,
            cancel=self._cancel,
            approve=self.approve,
            turns=[dict(t) for t in history or []],
            earlier=len(history or []),
        )
        reading = standalone(state.turns, query) if self.config.follow_ups and history else None
        state.add_turn("user", reading.text if reading is not None else query)
        self.conversation, self.events, self.status, self.answer = state.turns, [], None, None
        if self.recorder is not None:
            self.recorder.start_run(query)
        step = 0
        try:
            if reading is not None:
                yield self._note(FollowUpRead(0, query, reading.text, reading.kind), state)
                query = reading.text
            offered = offer_tools(state, query, doc_roles(self.single))
            for ev in chain(offered, self._single(state) if self.single else self._multi(state)):
                step = getattr(ev, "step", step)
                yield self._note(ev, state)
            raise _Stop("max_steps")
        except _Stop as stop:
            self.status, self.answer = stop.status, stop.answer
        except (ContextOverflow, UserError, RuntimeError) as exc:
            self.status = "error"
            yield self._note(AgentError(step, str(exc)), state)
        yield self._note(RunFinished(step, self.status, self.answer), state)
        if self.recorder is not None:
            self.recorder.end_run(self.status, self.answer)

    def _note(self, ev: Event, state: RunState) -> Event:
        if self.recorder is not None:
            self.recorder.sync_turns(state.turns)
            self.recorder.record(ev)
        if not isinstance(ev, TokenDelta):
            self.events.append(ev)
        return ev

    def _check(self, gen: Generation, step: int) -> Iterator[Event]:
        if gen.stop_reason == "cancelled":
            yield Cancelled(step)
            raise _Stop("cancelled")

    def _multi(self, state: RunState) -> Iterator[Event]:
        for step in range(1, self.config.max_steps + 1):
            plan, gen = yield from planner.plan(state, step)
            yield from self._check(gen, step)
            state.add_turn("assistant", plan.text)
            if plan.label == "give_up":
                yield GaveUp(step, plan.thought or "the planner gave up")
                raise _Stop("gave_up")
            if plan.label == "finish":
                yield from self._conclude(state, step)
            yield from self._stop_if_no_tool_fits(state, step)
            tc, gen = yield from caller.call(state, step, plan.text)
            yield from self._check(gen, step)
            yield from self._withdraw_if_not_made(state, tc)
            yield from self._stop_on_made_up(tc)
            first = answered_before(self.events, tc) if self.config.answer_repeated_reads else None
            if first is not None:  # the same lookup again: its answer is already in the history
                yield RepeatedCall(step, tc.name, tc.arguments, first, 0, succeeded=True)
                state.turns[-1] = {"from": "assistant", "value": render_plan(plan.thought or "", "finish")}
                yield from self._conclude(state, step)
            state.add_turn("caller", caller.history_text(tc))
            obs, verdict = yield from self._act(state, tc)
            state.add_turn("observation", obs.content)
            state.last_call_failed = obs.is_error
            yield from self._stop_on_repeats(tc, verdict)

    def _conclude(self, state: RunState, step: int) -> Iterator[Event]:
        gen = yield from summarizer.summarize(state, step)
        yield from self._check(gen, step)
        answer = gen.text.strip()
        state.add_turn("conclusion", answer)
        yield FinalAnswer(step, answer)
        raise _Stop("finished", answer)

    def _single(self, state: RunState) -> Iterator[Event]:
        for step in range(1, self.config.max_steps + 1):
            turn, gen = yield from backbone.backbone_turn(state, step)
            yield from self._check(gen, step)
            state.add_turn("assistant", gen.text.strip())
            if turn.label == "give_up":
                yield GaveUp(step, turn.thought or "the model gave up")
                raise _Stop("gave_up")
            if turn.label == "finish":
                yield FinalAnswer(step, turn.answer)
                raise _Stop("finished", turn.answer)
            yield from self._stop_if_no_tool_fits(state, step)
            tc = parse_and_check(state, step, turn.call_text)
            yield tc
            yield from self._stop_on_made_up(tc)
            obs, verdict = yield from self._act(state, tc)
            state.add_turn("observation", obs.content)
            yield from self._stop_on_repeats(tc, verdict)

    def _act(self, state: RunState, tc: ToolCall) -> Generator[Event, None, tuple[Observation, RepeatVerdict]]:
        """Run ``tc`` unless it repeats a call that failed in this run (``self.events`` holds the run's events)."""
        verdict = check_repeat(self.events, tc)
        if verdict.blocked:
            yield repeated_event(tc, verdict)
            obs = repeat_observation(tc, verdict)
        else:
            obs = act(state, tc)
        yield obs
        return obs, verdict

    def _stop_if_no_tool_fits(self, state: RunState, step: int) -> Iterator[Event]:
        if not self.config.relevance_gate or state.tools_fit:
            return  # the questions and the offered tools stay the same for the run: judged before its first call
        questions = [t["value"] for t in state.turns if t["from"] == "user"]
        unheld = unheld_words(questions, state.registry.tools())
        state.tools_fit = not unheld
        if unheld:
            yield NoToolFits(step, unheld)
            yield GaveUp(step, f"no offered tool's doc speaks of {', '.join(unheld)}")
            raise _Stop("gave_up")

    def _withdraw_if_not_made(self, state: RunState, tc: ToolCall) -> Iterator[Event]:
        """A call the finish checks asked for that holds a made-up value or repeats a failed call is not made: the
        planner's conclusion stands, or the run gives up (:func:`umi_edge.agent.unfinished.withdrawn`)."""
        if state.overruled is None:
            return
        made_up = tc.ungrounded or tc.checked
        reason = "made_up" if made_up else "repeated" if check_repeat(self.events, tc).blocked else None
        if reason is None:
            return
        plan = yield from withdrawn(state, tc.step, reason)
        state.turns[-1] = {"from": "assistant", "value": plan.text}
        if plan.label == "give_up":
            yield GaveUp(tc.step, plan.thought)
            raise _Stop("gave_up")
        yield from self._conclude(state, tc.step)

    def _stop_on_made_up(self, tc: ToolCall) -> Iterator[Event]:
        held = "neither the request, an observation nor the tool's doc holds"
        if tc.ungrounded:
            yield GaveUp(tc.step, f"the call to {tc.name} holds {', '.join(tc.ungrounded)}, which {held}")
            raise _Stop("gave_up")
        if tc.checked:
            why = f"the call check's own call holds {', '.join(tc.checked)}, which {held}: no offered tool may fit"
            yield GaveUp(tc.step, why)
            raise _Stop("gave_up")

    def _stop_on_repeats(self, tc: ToolCall, verdict: RepeatVerdict) -> Iterator[Event]:
        if verdict.give_up:
            yield GaveUp(tc.step, give_up_reason(tc, verdict))
            raise _Stop("gave_up")

    # -- results ----------------------------------------------------------------------------------------------
    def timings(self) -> dict[str, Any]:
        """Per-role totals of the last run's generations (prompt tokens evaluated vs reused, speed)."""
        steps = max((getattr(e, "step", 0) for e in self.events), default=0)
        return {"steps": steps, "roles": Timings.of(self.events).roles_dict()}

    def summary(self) -> dict[str, Any]:
        """``{"answer", "status", "conversation", "timings", "events"}`` of the last run."""
        return {
            "answer": self.answer,
            "status": self.status,
            "conversation": self.conversation,
            "timings": self.timings(),
            "events": [to_dict(e) for e in self.events],
        }
