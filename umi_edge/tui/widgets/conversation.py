"""The conversation view: turns events of :mod:`umi_edge.agent.events` into role blocks as they stream in.

The view is anchored to its end (Textual's ``anchor``): it follows new output until the user scrolls up, and
follows again once they scroll back to the bottom.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from rich.text import Text
from textual.containers import VerticalScroll
from textual.widget import Widget

from umi_edge.agent.events import (
    DROP_REASONS,
    AgentError,
    AnswerNumberChosen,
    ArgumentAdded,
    ArgumentChosen,
    ArgumentCompleted,
    ArgumentDropped,
    CallRescued,
    CallVoted,
    Cancelled,
    Event,
    FinalAnswer,
    FinishOverruled,
    FinishRestored,
    FollowUpRead,
    GaveUp,
    HistoryShortened,
    Observation,
    PlanDecided,
    RepeatedCall,
    RunFinished,
    Timing,
    TokenDelta,
    ToolCall,
    ToolChosen,
    ToolsSelected,
    ValuesPending,
)
from umi_edge.bundle import CHECKER
from umi_edge.tui.widgets.blocks import (
    AnswerBlock,
    Block,
    CallerBlock,
    NoticeBlock,
    ObservationBlock,
    PlannerBlock,
    UserBlock,
)


class Conversation(VerticalScroll):
    """All turns of the session; :meth:`apply` adds one agent event."""

    can_focus = True

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._open: dict[tuple[str, int], Block] = {}
        self._last: dict[str, Block] = {}

    def on_mount(self) -> None:
        self.anchor()

    def _add(self, widget: Widget) -> None:
        self.mount(widget)

    def add_user(self, text: str) -> UserBlock:
        self._open.clear()
        block = UserBlock(text)
        self._add(block)
        return block

    def add_notice(self, text: str | Text, kind: str = "info") -> NoticeBlock:
        block = NoticeBlock(text, kind)
        self._add(block)
        return block

    def clear(self) -> None:
        self._open.clear()
        self._last.clear()
        self.remove_children()

    async def _block(self, role: str, step: int) -> Block:
        key = (role, step)
        block = self._open.get(key)
        if block is None:
            if role in ("planner", "backbone"):
                block = PlannerBlock(step, backbone=role == "backbone")
            elif role == "caller":
                block = CallerBlock(step)
            else:
                block = AnswerBlock(step)
            self._open[key] = block
            await self.mount(block)
        self._last[role] = block
        return block

    async def apply(self, event: Event) -> None:
        """Show one event: stream tokens into the role's block, finalise it, add observations and notices."""
        match event:
            case TokenDelta(role=role, step=step, text=text):
                block = await self._block(role, step)
                if isinstance(block, AnswerBlock):
                    await block.append(text)
                elif isinstance(block, PlannerBlock | CallerBlock):
                    block.append(text)
            case PlanDecided(step=step, label=label, thought=thought, raw=raw):
                role = "backbone" if ("backbone", step) in self._open else "planner"
                block = await self._block(role, step)
                assert isinstance(block, PlannerBlock)
                if not block.text.strip():
                    block.append(raw or thought)
                block.decide(label, thought)
            case ToolCall(step=step, name=name, arguments=arguments, raw=raw, valid=valid, problem=problem):
                block = await self._block("caller", step)
                assert isinstance(block, CallerBlock)
                if not block.text.strip():
                    block.text = raw
                block.show_call(name, arguments, valid=valid, problem=problem)
            case Observation(step=step, name=name, content=content):
                await self.mount(
                    ObservationBlock(
                        step,
                        name,
                        content,
                        is_error=event.is_error,
                        denied=event.denied,
                        truncated=event.truncated,
                    )
                )
            case FinalAnswer(step=step, text=text):
                block = await self._block("summarizer", step)
                assert isinstance(block, AnswerBlock)
                await block.finish(text)
            case GaveUp(reason=reason):
                self.add_notice(f"The agent gave up: {reason}", "gave-up")
            case AgentError(message=message):
                self.add_notice(f"Error: {message}", "error")
            case ToolsSelected(k=k, total=total, reason=reason):
                self.add_notice(f"Tools offered: the {k} of {total} ranked best for the request ({reason})", "dim")
            case ToolChosen(name=name, model_choice=own, unsure=unsure) if name != own:
                why = " (no offered tool likely to the caller: relevance alone)" if unsure else ""
                self.add_notice(f"Tool prior: {name} instead of the caller's own {own}{why}", "dim")
            case ArgumentChosen(parameter=parameter, value=value, model_choice=own) if value != own:
                self.add_notice(f"Argument prior: {parameter} = {value} instead of the caller's own {own}", "dim")
            case ArgumentCompleted(parameter=parameter, value=value, accepted=True):
                self.add_notice(f"Doc format: {parameter} = {value}, completed by the caller", "dim")
            case ArgumentAdded(parameter=parameter, value=value):
                self.add_notice(f"Stated in the request: {parameter} = {value}, added by the caller", "dim")
            case ValuesPending(parameter=parameter, value=value):
                self.add_notice(f"Listed in the request: {parameter} = {value} gets its own call", "dim")
            case FinishOverruled() | FinishRestored() | FollowUpRead():
                self.add_notice(event.note[:1].upper() + event.note[1:], "dim")
            case ArgumentDropped(parameter=parameter, value=value, reason=reason):
                self.add_notice(f"Left out: {parameter} = {value}, {DROP_REASONS.get(reason, reason)}", "dim")
            case CallRescued(made_up=made_up):
                self.add_notice(f"Rescued: the call held {', '.join(made_up)}, chosen again from the request", "dim")
            case CallVoted(chosen=chosen) if chosen == CHECKER:
                self.add_notice(event.note[:1].upper() + event.note[1:], "dim")
            case AnswerNumberChosen(number=number, model_choice=own) if number != own:
                self.add_notice(f"Answer prior: {number} instead of the summarizer's own {own}", "dim")
            case RepeatedCall(name=name, first_step=first, succeeded=True):
                self.add_notice(f"Not run again: the same {name} call already answered at step {first}", "dim")
            case RepeatedCall(name=name, first_step=first):
                self.add_notice(f"Not run again: the same {name} call already failed at step {first}", "error")
            case HistoryShortened(role=role, rule=rule, tokens_before=before, tokens_after=after):
                self.add_notice(f"{role}: history shortened ({rule}): {before} → {after} tokens", "dim")
            case Timing(role=role, step=step):
                timed = self._open.get((role, step))
                if timed is not None:
                    timed.set_timing(event)
            case Cancelled(step=step):
                for (_, block_step), block in self._open.items():
                    if isinstance(block, AnswerBlock):
                        await block.finish(block.text)
                    elif isinstance(block, PlannerBlock) and block_step == step:
                        block.mark_stopped()
                self.add_notice(f"Cancelled at step {step}; what was done is kept.", "cancelled")
                self._open.clear()
            case RunFinished(status="max_steps", step=step):
                self.add_notice(
                    f"Stopped after {step} step{'s' if step != 1 else ''} without an answer (the step limit).",
                    "gave-up",
                )

    async def apply_all(self, events: Iterable[Event]) -> None:
        for event in events:
            await self.apply(event)
