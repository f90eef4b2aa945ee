"""Agent settings: step limit, observation size, constrained caller, approval policy, token budgets, tool choice."""

from __future__ import annotations

from dataclasses import dataclass, field

from umi_edge.agent.approval import DEFAULT_POLICY
from umi_edge.agent.earlier import DEFAULT_HISTORY, HistoryMode

DEFAULT_MAX_STEPS = 12
DEFAULT_OBSERVATION_CHARS = 1024
DEFAULT_DOCS_SHARE = 0.4
DEFAULT_TOOL_PRIOR = 6.0
"""Weight of the tools' lexical relevance in the caller's choice of tool (:mod:`umi_edge.agent.tool_prior`)."""
DEFAULT_TOOL_PRIOR_FLOOR: float | None = -4.0
"""Below this log-probability for every offered name, the tools' relevance decides the caller's tool
(:mod:`umi_edge.agent.tool_prior`); None: the weight alone, always. -4 was kept by measurement (models/README.md,
session 29)."""
DEFAULT_ARGUMENT_PRIOR = 6.0
"""Weight of the request's words around a number for a number argument (:mod:`~umi_edge.agent.argument_prior`)."""
DEFAULT_STRING_PRIOR = 6.0
"""Bonus for the request's own spans when a string argument it does not hold is chosen again
(:mod:`~umi_edge.agent.string_prior`)."""
DEFAULT_RESCUE_MARGIN: float | None = None
"""How much less likely (log-probability) the request's values may be than the made-up ones a rescued call replaces
(:mod:`~umi_edge.agent.rescue`); None: no rescue."""
DEFAULT_RESCUE_SHARE = 0.0
"""The least share of the request's content words an offered doc must hold for a rescue."""
DEFAULT_ANSWER_PRIOR = 16.0
"""Weight of a tool result's relevance for the answer's first number (:mod:`~umi_edge.agent.answer_prior`)."""


@dataclass
class AgentConfig:
    """How one run behaves.

    ``max_steps`` counts planner (or backbone) turns.  ``observation_chars`` caps what the planner sees of a tool
    result (kept valid JSON).  ``constrain`` turns the Caller grammar on.  ``approve_policy``: which tool effects
    run without asking (``all``, ``writes``: reads and writes, ``none``: reads only); the others go to the
    ``approve`` callback, and are denied when there is none.  ``max_new_tokens`` caps each role's output and is
    the room kept free in the context when the history is shortened.  ``top_k``: how many tools the prompts
    carry, ranked for the request (None: all that fit); ``docs_share``: the most of each role's context the tool
    docs (with the prompt's instructions) may take (:mod:`umi_edge.agent.selection`).
    ``grounded_answers``: the summarizer may only write numbers the request or an observation holds
    (:mod:`umi_edge.agent.grounding`). ``grounded_calls``: a call with a number or a short string that neither the
    request, an observation nor the tool's doc holds is not run, and the run gives up (same module).
    ``history``: what the roles see of a session's earlier questions (:mod:`umi_edge.agent.earlier`).
    ``answer_repeated_reads``: a read call identical to one that already succeeded (no write or exec since) is not
    run again; the summarizer answers (:mod:`umi_edge.agent.repeats`). Turn it off for tools whose reads change
    over time (polling a job's status).
    ``tool_prior``: the weight of the tools' BM25 relevance when the caller's tool is chosen (0: the caller alone
    chooses; :mod:`umi_edge.agent.tool_prior`); ``tool_prior_floor``: when no offered name reaches this
    log-probability, the relevance alone decides (None: never). ``argument_prior``: the weight of the request's
    words around its numbers when a number argument that is not a best match is chosen again (0: the caller's value
    stands; :mod:`umi_edge.agent.argument_prior`). ``string_prior``: the bonus of the request's spans when a string
    argument the request does not hold as written is chosen again (0: the caller's value stands;
    :mod:`umi_edge.agent.string_prior`). ``answer_prior``: the weight of the latest tool result's numbers when
    an answer that states none of them has its first number chosen again (0: the summarizer's answer stands;
    :mod:`umi_edge.agent.answer_prior`). ``complete_arguments``: the caller completes its call from the doc and the
    request: a string lacking the second part of a two-part format its doc gives (``'City, State'``,
    :mod:`umi_edge.agent.doc_formats`), and optional arguments the request states but the call left out
    (:mod:`umi_edge.agent.stated_optionals`). ``parallel_calls``: a value the request coordinates with an argument
    of the last call ("Boston and San Francisco") gets its own call before the run concludes
    (:mod:`umi_edge.agent.parallel_values`). ``relevance_gate``: when no content word of the question is held by an
    offered tool's doc, the planner may answer or give up but not call (:mod:`umi_edge.agent.relevance`).
    ``rescue_margin`` (None: off) and ``rescue_share``: a call holding made-up
    values is written again from the request's values when the caller finds them at most that much less likely and
    that share of the request's content words is held by an offered doc (:mod:`umi_edge.agent.rescue`);
    ``rescue_narration``: so is one whose made-up values all narrate the agent's plan, whatever those two say.
    ``finish_checks``: a conclusion right after a failed call becomes another try (a give-up after three failures
    in a row), and one while an offered tool that the request speaks of is uncalled becomes its call
    (:mod:`umi_edge.agent.unfinished`). ``follow_ups``: a later question of a session that only makes sense after
    the one before ("And 30 miles?", "Now multiply that by 3.") is rewritten to stand alone
    (:mod:`umi_edge.agent.follow_up`). ``call_check``: when the bundle has a ``checker`` role, it writes the
    question's first call too, and the run gives up when that call holds made-up values
    (:mod:`umi_edge.agent.call_check`); ``call_vote``: when both calls are grounded and differ, the one both models
    find likelier is made (:func:`umi_edge.agent.call_check.vote`).
    """

    max_steps: int = DEFAULT_MAX_STEPS
    observation_chars: int = DEFAULT_OBSERVATION_CHARS
    constrain: bool = True
    approve_policy: str = DEFAULT_POLICY
    tool_timeout: float = 30.0
    top_k: int | None = None
    docs_share: float = DEFAULT_DOCS_SHARE
    grounded_answers: bool = True
    grounded_calls: bool = True
    answer_repeated_reads: bool = True
    tool_prior: float = DEFAULT_TOOL_PRIOR
    tool_prior_floor: float | None = DEFAULT_TOOL_PRIOR_FLOOR
    argument_prior: float = DEFAULT_ARGUMENT_PRIOR
    string_prior: float = DEFAULT_STRING_PRIOR
    answer_prior: float = DEFAULT_ANSWER_PRIOR
    complete_arguments: bool = True
    parallel_calls: bool = True
    relevance_gate: bool = True
    call_check: bool = True
    call_vote: bool = False
    rescue_margin: float | None = DEFAULT_RESCUE_MARGIN
    rescue_share: float = DEFAULT_RESCUE_SHARE
    rescue_narration: bool = True
    finish_checks: bool = True
    follow_ups: bool = True
    history: HistoryMode = DEFAULT_HISTORY
    max_new_tokens: dict[str, int] = field(
        default_factory=lambda: {"planner": 256, "caller": 384, "summarizer": 384, "backbone": 512}
    )

    def new_tokens(self, role: str) -> int:
        return self.max_new_tokens.get(role, 384)
