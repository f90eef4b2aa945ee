"""Totals of :class:`~umi_edge.agent.events.Timing` events: the one place that sums generation figures.

``umi-edge run --json`` ("timings"), the chat's ``/stats`` and ``umi-edge bench``'s agent steps all read them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from umi_edge.agent.events import Event, Timing


@dataclass
class TimingTotals:
    """Summed figures of some generations: how many, prompt tokens (evaluated vs reused), generated, seconds."""

    calls: int = 0
    prompt_tokens: int = 0
    prompt_evaluated: int = 0
    prompt_reused: int = 0
    generated_tokens: int = 0
    prompt_seconds: float = 0.0
    generate_seconds: float = 0.0

    def add(self, t: Timing) -> None:
        self.calls += 1
        self.prompt_tokens += t.prompt_tokens
        self.prompt_evaluated += t.prompt_evaluated
        self.prompt_reused += t.prompt_reused
        self.generated_tokens += t.generated_tokens
        self.prompt_seconds += t.prompt_seconds
        self.generate_seconds += t.generate_seconds

    @property
    def tokens_per_second(self) -> float:
        """Decode speed: generated tokens per second of generation (0 when nothing was timed)."""
        return self.generated_tokens / self.generate_seconds if self.generate_seconds > 0 else 0.0

    def as_dict(self) -> dict[str, Any]:
        """The ``run --json`` per-role document (seconds rounded to 4 places, tokens/s to 2)."""
        return {
            "calls": self.calls,
            "prompt_tokens": self.prompt_tokens,
            "prompt_evaluated": self.prompt_evaluated,
            "prompt_reused": self.prompt_reused,
            "generated_tokens": self.generated_tokens,
            "prompt_seconds": round(self.prompt_seconds, 4),
            "generate_seconds": round(self.generate_seconds, 4),
            "tokens_per_second": round(self.tokens_per_second, 2),
        }


@dataclass
class Timings:
    """Timing events summed over all generations, per role (in order of first appearance) and per step.

    Feed it events with :meth:`add` (any event; only Timing counts) or build it with :meth:`of`.
    """

    total: TimingTotals = field(default_factory=TimingTotals)
    roles: dict[str, TimingTotals] = field(default_factory=dict)
    steps: dict[int, TimingTotals] = field(default_factory=dict)

    @classmethod
    def of(cls, events: list[Event]) -> Timings:
        agg = cls()
        for event in events:
            agg.add(event)
        return agg

    def add(self, event: Event) -> None:
        if not isinstance(event, Timing):
            return
        self.total.add(event)
        self.roles.setdefault(event.role, TimingTotals()).add(event)
        self.steps.setdefault(event.step, TimingTotals()).add(event)

    def step(self, step: int) -> TimingTotals:
        """The totals of one step (zeros when it had no generation)."""
        return self.steps.get(step, TimingTotals())

    def roles_dict(self) -> dict[str, dict[str, Any]]:
        return {role: t.as_dict() for role, t in self.roles.items()}
