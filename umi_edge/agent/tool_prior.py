"""The tool prior: the caller's tool chosen by its own likelihood plus the tool's lexical relevance.

A small caller often names a tool that the request does not ask for ("add a Postgres server" → ``get_current_weather``),
while the tools' own words would have pointed to the right one. With a weight ``w > 0`` (``--tool-prior W``) the
caller's tool is chosen before its arguments: each offered name gets the caller's log-probability of writing ``Action:
<name>`` after its prompt (:meth:`Engine.continuation_logprobs`), plus ``w`` times the tool's BM25 score
(:func:`umi_edge.tools.ranking.tool_scores`) divided by the best score (so the prior adds at most ``w`` nats). The first
call of a run is ranked for the request; a later one for the planner's thought alone, since the request's words point to
the first step's tool ("Read the total from biscuit.txt and split it 3 ways" names ``read_file`` when the thought asks
for the division). The caller then writes the arguments under the grammar of the chosen tool alone. A caller that is
sure of a tool (a trained one) keeps it; the prior decides between names the caller finds about equally likely. With
``--tool-prior 0`` the caller's grammar offers every tool and greedy decoding picks the name, as before. The weight is
chosen on BFCL's live validation split and the held-out synthetic tasks, never on a test set (models/README.md).

The floor (``--tool-prior-floor T``): when every offered name is below ``T`` in the caller's log-probability, the
caller wanted a tool that is not offered (round 4's planner writes "I will ask the calculator for 4100 / 9" beside four
household tools, and its caller then scores every offered name below -25), and its ranking among them is noise. Then
the relevance alone decides, the caller's log-probability breaking ties.
"""

from __future__ import annotations

from collections.abc import Generator

from umi_edge.agent.events import Event, ToolChosen
from umi_edge.agent.state import RunState
from umi_edge.formats.parse import PLAN_MARKERS
from umi_edge.tools.ranking import tool_scores
from umi_edge.tools.registry import Tool

CALL_START = "Action: {name}\nAction Input:"
"""What the caller writes first for the tool ``name`` (the caller grammar's opening, up to the arguments)."""


def ranking_query(state: RunState, thought: str) -> str:
    """What the tools are ranked for: the current question before the run's first observation, else the thought."""
    if state.observed:
        return thought.replace(PLAN_MARKERS["call"], "")
    return state.request


def choose_tool(state: RunState, step: int, prompt: str, thought: str) -> Generator[Event, None, Tool | None]:
    """The tool the caller should call for ``prompt`` (its fitted prompt), or None when the prior is off or
    there is nothing to choose; yields :class:`ToolChosen`."""
    weight = state.config.tool_prior
    tools = state.registry.tools()
    if weight <= 0 or not state.config.constrain or len(tools) < 2:
        return None
    role = state.engine_role("caller")
    names = [t.name for t in tools]
    logprobs = state.engine.continuation_logprobs(role, prompt, [CALL_START.format(name=n) for n in names])
    lexical = tool_scores(tools, ranking_query(state, thought))
    best = max(lexical)
    relevance = [s / best if best > 0 else 0.0 for s in lexical]
    floor = state.config.tool_prior_floor
    unsure = floor is not None and max(logprobs) < floor
    if unsure:
        chosen = max(range(len(tools)), key=lambda i: (relevance[i], logprobs[i]))
    else:
        chosen = max(range(len(tools)), key=lambda i: logprobs[i] + weight * relevance[i])
    model = max(range(len(tools)), key=lambda i: logprobs[i])
    yield ToolChosen(
        step,
        names[chosen],
        names[model],
        weight,
        {n: round(x, 4) for n, x in zip(names, logprobs, strict=True)},
        {n: round(x, 4) for n, x in zip(names, relevance, strict=True)},
        unsure,
    )
    return tools[chosen]
