"""Which tools a run's prompts carry: all of them when their docs fit, else the top k ranked for the request.

Chosen once per query, before the first step, so the prompt prefix (tool docs and instructions) and its KV cache
stay the same across the steps of a run.  A set of tools *fits* a role when the role's prompt with those docs and
an empty history takes at most ``config.docs_share`` of the role's context, and leaves free its generation budget
(the caller also the planner's thought it is given) and :data:`HISTORY_ROOM` of the context for the conversation.

k is ``config.top_k`` (``--top-k``), or all tools; when the docs of k tools do not fit every role that shows docs,
k is lowered to the largest that fits (at least 1), so a run never fails at its first step for want of room for
the docs.  When all tools are offered nothing changes: same tools, same order.  Otherwise the run's registry
becomes the chosen tools, so the caller's grammar and the call checks allow only them, and a
:class:`~umi_edge.agent.events.ToolsSelected` event reports it.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from umi_edge.agent.events import Event, ToolsSelected
from umi_edge.agent.state import RunState
from umi_edge.formats.prompts import Role, build_input, model_prompt
from umi_edge.formats.tooldoc import from_json_schema, render_doc, tool_names
from umi_edge.tools.ranking import rank_tools
from umi_edge.tools.registry import Tool

HISTORY_ROOM = 0.25
"""The share of a role's context always left for the conversation when tool docs are chosen."""


def doc_roles(single: bool) -> tuple[Role, ...]:
    """The roles whose prompts carry the tool docs."""
    return ("backbone",) if single else ("planner", "caller")


def docs_budget(state: RunState, role: Role) -> int:
    """Tokens the docs prompt of ``role`` may take: its share of the context, and room for answers and history."""
    size = state.engine.context_size(state.engine_role(role))
    room = state.config.new_tokens(role) + (state.config.new_tokens("planner") if role == "caller" else 0)
    return min(int(size * state.config.docs_share), size - room - int(size * HISTORY_ROOM))


def docs_prompt_tokens(state: RunState, role: Role, tools: Sequence[Tool]) -> int:
    """Tokens of ``role``'s prompt carrying the docs of ``tools`` and an empty history."""
    docs = [from_json_schema(t.name, t.description, t.parameters) for t in tools]
    text = build_input(role, doc=render_doc(docs), history="", tool_names=tool_names(docs), style=state.style)
    return state.engine.count_tokens(state.engine_role(role), model_prompt(text))


def _misfit(state: RunState, roles: Sequence[Role], tools: Sequence[Tool]) -> str | None:
    """None when ``tools`` fit every role; else what does not fit, in words."""
    for role in roles:
        n, budget = docs_prompt_tokens(state, role, tools), docs_budget(state, role)
        if n > budget:
            size = state.engine.context_size(state.engine_role(role))
            return f"{role} prompt with their docs has {n} tokens, over the {budget} of its {size} allowed for docs"
    return None


def offer_tools(state: RunState, query: str, roles: Sequence[Role]) -> Iterator[Event]:
    """Narrow ``state.registry`` to the tools the prompts carry for ``query``; yields ToolsSelected if narrowed."""
    tools = state.registry.tools()
    total = len(tools)
    top_k = state.config.top_k
    want = total if top_k is None else min(top_k, total)
    if total == 0:
        return
    misfit = _misfit(state, roles, tools) if want == total else None
    if want == total and misfit is None:
        return  # all fit: unchanged, so the prompt prefix is the same for every query
    ranked = rank_tools(tools, query)
    k = want
    if want < total:
        misfit = _misfit(state, roles, ranked[:k])
    if misfit is None:
        reason = f"--top-k {top_k}"
    else:
        lo, hi = 1, k - 1  # the largest k that fits; a longer ranked prefix never has fewer tokens
        while lo < hi:
            mid = (lo + hi + 1) // 2
            if _misfit(state, roles, ranked[:mid]) is None:
                lo = mid
            else:
                hi = mid - 1
        k = lo
        if k == total:
            return  # one tool that does not fit: nothing to choose (the history rule reports the overflow)
        still = _misfit(state, roles, ranked[:k]) if k == 1 else None
        reason = f"lowered from {want} to {k} to fit: the {misfit}" if k < want else ""
        if still is not None:
            reason += f"{'; ' if reason else ''}even 1 tool does not fit: the {still}"
    chosen = ranked[:k]
    state.registry = state.registry.subset(t.name for t in chosen)
    yield ToolsSelected(0, k, total, [t.name for t in chosen], reason)
