"""Typed events yielded by ``Agent.run(query)``; the TUI, ``umi-edge run``, eval and tests consume them.

This is the contract between the agent loop and everything that shows or measures it.  Events are plain
frozen dataclasses so they can be posted as Textual messages' payloads and serialised into transcripts
with :func:`to_dict`.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal, get_args

from umi_edge.formats.parse import PlanLabel
from umi_edge.formats.prompts import Role


@dataclass(frozen=True)
class TokenDelta:
    """A piece of streamed text from one role's current generation."""

    role: Role
    step: int
    text: str


@dataclass(frozen=True)
class PlanDecided:
    """The planner (or backbone) finished its turn; ``raw`` is the text cut after the first marker."""

    step: int
    label: PlanLabel
    thought: str
    raw: str


@dataclass(frozen=True)
class ToolCall:
    """The caller's parsed call. ``valid`` is False when the name is unknown or the arguments do not fit."""

    step: int
    name: str
    arguments: dict[str, Any]
    raw: str
    valid: bool = True
    problem: str | None = None
    effect: str | None = None  # the tool's effect (read / write / exec) when the tool exists
    ungrounded: list[str] = field(default_factory=list)
    """Numbers of the arguments that neither the request, an observation nor the tool's doc holds (the call is not
    run when ``grounded_calls`` is on: :mod:`umi_edge.agent.grounding`)."""
    checked: list[str] = field(default_factory=list)
    """The made-up values of the call the call check's second caller wrote instead (the call is not run:
    :mod:`umi_edge.agent.call_check`)."""


@dataclass(frozen=True)
class Observation:
    """A tool's output as the planner will see it (already truncated), or the error a bad call produced."""

    step: int
    name: str
    content: str
    is_error: bool = False
    truncated: bool = False
    denied: bool = False


@dataclass(frozen=True)
class RepeatedCall:
    """The call is identical to one that failed at ``first_step`` of this run, so it was not run (an error
    Observation says so); ``repeats``: such repeats in the run so far; ``gives_up``: this one ends the run.

    ``succeeded``: instead, the identical read call succeeded at ``first_step`` and no write or exec call ran since,
    so running it again cannot tell anything new: it was not run, and the run goes to the summarizer."""

    step: int
    name: str
    arguments: dict[str, Any]
    first_step: int
    repeats: int
    gives_up: bool = False
    succeeded: bool = False


@dataclass(frozen=True)
class FinalAnswer:
    step: int
    text: str


@dataclass(frozen=True)
class GaveUp:
    step: int
    reason: str


@dataclass(frozen=True)
class NoToolFits:
    """The planner would call, but no offered tool's doc holds a content word of the question (``words``); the
    run gives up (:mod:`umi_edge.agent.relevance`)."""

    step: int
    words: list[str]


@dataclass(frozen=True)
class AgentError:
    """Something failed that is not the user's query (model load, context overflow that could not be fixed…)."""

    step: int
    message: str


@dataclass(frozen=True)
class HistoryShortened:
    """The prompt would not fit the context; history was shortened by the stated rule."""

    step: int
    role: Role
    rule: str
    tokens_before: int
    tokens_after: int


@dataclass(frozen=True)
class ToolChosen:
    """The caller's tool, chosen before its arguments by the tool prior (``--tool-prior``,
    :mod:`umi_edge.agent.tool_prior`): ``name`` has the best sum of the caller's log-probability of the name
    (``logprobs``) and ``weight`` times its lexical relevance (``lexical``, BM25 over the best score, 0 to 1);
    ``model_choice`` is the name the caller alone scores best. ``unsure``: every name was below the floor
    (``--tool-prior-floor``), so the relevance alone decided."""

    step: int
    name: str
    model_choice: str
    weight: float
    logprobs: dict[str, float]
    lexical: dict[str, float]
    unsure: bool = False


@dataclass(frozen=True)
class ArgumentChosen:
    """A number or string argument of the caller's call, chosen again. A number, by the argument prior
    (``--argument-prior``, :mod:`umi_edge.agent.argument_prior`) when it was not one of the request's numbers that
    best match the parameter: ``value`` has the best sum of the caller's log-probability (``logprobs``, by candidate)
    and ``weight`` times its relevance (``relevance``: the request's words around each number, BM25 for the
    parameter, 0 to 1). A string, by the string prior (``--string-prior``, :mod:`umi_edge.agent.string_prior`) when
    the request did not hold it as written: ``relevance`` is 1 for the request's spans and 0 for the caller's own
    value, and ``logprobs`` shows the caller's value and the best-scored candidates. A made-up value, by the rescue
    (:mod:`umi_edge.agent.rescue`): ``weight`` 0, ``relevance`` 1 for the request's values and 0 for the caller's
    own, which cannot be chosen. ``value`` and ``model_choice`` (the value the caller wrote) are JSON literals."""

    step: int
    parameter: str
    value: str
    model_choice: str
    weight: float
    logprobs: dict[str, float]
    relevance: dict[str, float]


@dataclass(frozen=True)
class ArgumentCompleted:
    """A string argument completed to the two-part format its parameter's doc gives (``'City, State'``), the caller
    writing the second part (:mod:`umi_edge.agent.doc_formats`): ``value`` as completed, ``model_choice`` as the
    caller first wrote it, ``logprob``: the second part's mean log-probability per token; ``accepted``: it was sure
    enough to be kept (else the call keeps ``model_choice``)."""

    step: int
    parameter: str
    value: str
    model_choice: str
    logprob: float
    accepted: bool


@dataclass(frozen=True)
class ArgumentAdded:
    """An optional argument the caller left out and then wrote when offered, kept because the request states it
    (:mod:`umi_edge.agent.stated_optionals`): ``value`` as JSON."""

    step: int
    parameter: str
    value: str


@dataclass(frozen=True)
class ValuesPending:
    """The planner would conclude, but the request coordinates ``value`` (as JSON) with the last call's
    ``parameter`` and no call holds it yet: the next call is the last one with that value
    (:mod:`umi_edge.agent.parallel_values`)."""

    step: int
    parameter: str
    value: str


@dataclass(frozen=True)
class FinishOverruled:
    """The planner would conclude, but the run is not done (:mod:`umi_edge.agent.unfinished`): ``reason``
    ``failed`` (the last ``failures`` calls in a row failed, the last to ``tool``) or ``unasked`` (the offered
    ``tool`` holds ``words`` of the request that no call or observation does); ``label``: the turn it became
    (``call`` or ``give_up``)."""

    step: int
    reason: str
    tool: str
    words: list[str]
    failures: int
    label: str

    @property
    def note(self) -> str:
        """What happened, in one line (``run`` and the chat show it)."""
        if self.reason == "failed":
            then = "gives up" if self.label == "give_up" else f"tries {self.tool} again"
            return f"not concluded after {self.failures} failed call(s): the agent {then}"
        return f"not concluded: the request speaks of {', '.join(self.words)}, which {self.tool} holds; it is called"


@dataclass(frozen=True)
class FollowUpRead:
    """A later question of a session read as one that stands alone (:mod:`umi_edge.agent.follow_up`): the user's
    ``question``, the ``standalone`` text the roles see, and the ``kind`` of rewrite (``fragment``, ``answer`` or
    ``source``). Step 0: before the first planner turn."""

    step: int
    question: str
    standalone: str
    kind: str

    @property
    def note(self) -> str:
        """What happened, in one line (``run`` and the chat show it)."""
        return f"read as: {self.standalone}"


@dataclass(frozen=True)
class FinishRestored:
    """The call a finish check asked for was not made (``reason``: ``made_up`` value, or a ``repeated`` call that
    failed); ``label``: what the turn became again (``finish``: the planner's conclusion, or ``give_up`` when no call
    of the question succeeded)."""

    step: int
    reason: str
    label: str

    @property
    def note(self) -> str:
        """What happened, in one line (``run`` and the chat show it)."""
        what = "made-up value" if self.reason == "made_up" else "call that already failed"
        then = "the planner's conclusion stands" if self.label == "finish" else "no call succeeded: the agent gives up"
        return f"the asked-for call was not made ({what}): {then}"


@dataclass(frozen=True)
class ArgumentDropped:
    """An optional argument left out of the caller's call (grounded calls), for ``reason`` (:data:`DROP_REASONS`):
    ``doc``, only its doc, not the request or an observation, holds its value
    (:func:`umi_edge.agent.grounding.unasked_optionals`); ``flag``, a flag the first call sets unasked
    (:func:`~umi_edge.agent.grounding.unasked_flags`); ``made_up``, a made-up value the rescue leaves out
    (:mod:`umi_edge.agent.rescue`)."""

    step: int
    parameter: str
    value: str
    reason: str = "doc"


DROP_REASONS = {
    "doc": "which only the tool's doc holds",
    "flag": "an option the request does not ask for",
    "made_up": "a made-up value",
}
"""Why an argument was left out (:class:`ArgumentDropped`), as the run output and the chat say it."""


@dataclass(frozen=True)
class CallRescued:
    """A call that held made-up values (``made_up``), written again with each chosen among the request's own values
    or left out (:mod:`umi_edge.agent.rescue`): ``share``: the request's content words an offered doc holds;
    ``gap``: the most the caller's log-probability of a chosen value fell below its own value's."""

    step: int
    made_up: list[str]
    share: float | None
    gap: float


@dataclass(frozen=True)
class CallChecked:
    """The call check's second caller wrote the question's first call too (:mod:`umi_edge.agent.call_check`):
    ``made_up``: the made-up values its call holds; when there are any, the caller's call is not made and the run
    gives up."""

    step: int
    tool: str
    arguments: dict[str, Any]
    made_up: list[str]


@dataclass(frozen=True)
class CallVoted:
    """The call vote (:func:`umi_edge.agent.call_check.vote`): the caller's and the checker's grounded calls differed,
    and the one whose log-probabilities summed over both models are higher is made. ``scores``: that sum for the
    caller's call and for the checker's; ``chosen``: ``"caller"`` or ``"checker"``; ``tool`` and ``arguments``: the
    call not chosen."""

    step: int
    chosen: str
    scores: list[float]
    tool: str
    arguments: dict[str, Any]

    @property
    def note(self) -> str:
        """What chat and run say when the checker's call is made."""
        return (
            f"call vote: the checker's call instead of the caller's {self.tool} call (summed log-probabilities "
            f"{self.scores[1]:g} against {self.scores[0]:g})"
        )


@dataclass(frozen=True)
class AnswerNumberChosen:
    """The answer's first number, chosen by the answer prior (``--answer-prior``, :mod:`umi_edge.agent.answer_prior`)
    when the summarizer's answer stated none of the latest tool result's best-matching numbers: ``number`` has the
    best sum of the summarizer's log-probability (``logprobs``, by candidate) and ``weight`` times its relevance
    (``relevance``: the result's numbers by their keys' BM25 score for the question, 0 to 1; 0 for the summarizer's
    own number when it is not a result). ``model_choice`` is the number the summarizer wrote."""

    step: int
    number: str
    model_choice: str
    weight: float
    logprobs: dict[str, float]
    relevance: dict[str, float]


@dataclass(frozen=True)
class ToolsSelected:
    """The prompts carry ``k`` of the ``total`` registered tools, ``names`` (ranked for the request, best first).

    Yielded once per run, before the first step, only when fewer than all tools are offered; ``reason`` says why
    (``--top-k``, or the docs did not fit the context).  The caller's grammar allows just these tools.
    """

    step: int
    k: int
    total: int
    names: list[str]
    reason: str


@dataclass(frozen=True)
class Timing:
    """One generation's figures: prompt tokens evaluated vs reused from the role's KV cache, speed (``role``
    ``checker``: the call check's second caller)."""

    step: int
    role: Role | Literal["checker"]
    prompt_tokens: int
    prompt_evaluated: int
    prompt_reused: int
    generated_tokens: int
    prompt_seconds: float
    generate_seconds: float
    context_used: int
    context_size: int
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def tokens_per_second(self) -> float:
        return self.generated_tokens / self.generate_seconds if self.generate_seconds > 0 else 0.0


@dataclass(frozen=True)
class Cancelled:
    step: int


RunStatus = Literal["finished", "gave_up", "max_steps", "error", "cancelled"]


@dataclass(frozen=True)
class RunFinished:
    """Always the last event of a run: how it ended and the final answer (None unless finished)."""

    step: int
    status: RunStatus
    answer: str | None = None


Event = (
    TokenDelta
    | PlanDecided
    | ToolCall
    | Observation
    | RepeatedCall
    | FinalAnswer
    | GaveUp
    | NoToolFits
    | AgentError
    | HistoryShortened
    | ToolsSelected
    | ToolChosen
    | ArgumentChosen
    | ArgumentCompleted
    | ArgumentAdded
    | ArgumentDropped
    | CallRescued
    | CallChecked
    | CallVoted
    | ValuesPending
    | FinishOverruled
    | FinishRestored
    | FollowUpRead
    | AnswerNumberChosen
    | Timing
    | Cancelled
    | RunFinished
)


def to_dict(event: Event) -> dict[str, Any]:
    """Serialise an event as ``{"type": <class name>, ...fields}`` for transcripts and ``--json`` output."""
    return {"type": type(event).__name__, **asdict(event)}


EVENT_TYPES: dict[str, type] = {cls.__name__: cls for cls in get_args(Event)}


def from_dict(data: dict[str, Any]) -> Event:
    """Inverse of :func:`to_dict` (for transcripts); unknown types or fields raise ValueError."""
    kind = data.get("type")
    cls = EVENT_TYPES.get(str(kind))
    if cls is None:
        raise ValueError(f"unknown event type {kind!r}")
    fields = {k: v for k, v in data.items() if k != "type"}
    try:
        return cls(**fields)
    except TypeError as exc:
        raise ValueError(f"event {kind}: {exc}") from None
