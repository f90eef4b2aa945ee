"""The Caller: turns the planner's thought into one tool call, constrained by the registry's grammar."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Generator

from umi_edge.agent import call_check
from umi_edge.agent.acting import parse_and_check
from umi_edge.agent.argument_prior import choose_numbers
from umi_edge.agent.doc_formats import complete_formats
from umi_edge.agent.events import AgentError, ArgumentDropped, Event, ToolCall
from umi_edge.agent.generation import fit, generate
from umi_edge.agent.grounding import unasked_flags, unasked_optionals
from umi_edge.agent.parallel_values import instead_of_repeat
from umi_edge.agent.rescue import rescue
from umi_edge.agent.state import RunState
from umi_edge.agent.stated_optionals import add_stated_optionals
from umi_edge.agent.string_prior import choose_strings
from umi_edge.agent.tool_prior import choose_tool
from umi_edge.engine import Generation, GrammarError
from umi_edge.formats.parse import render_call
from umi_edge.formats.prompts import build_input, model_prompt
from umi_edge.tools.registry import Tool


def grammar_for(
    state: RunState, step: int, role: str = "caller", tools: list[Tool] | None = None
) -> Generator[Event, None, str | None]:
    """The validated Caller grammar (of ``tools``, default all offered), or None (unconstrained) when turned off or
    impossible (reported once)."""
    if not state.config.constrain:
        return None
    chosen = state.registry.tools() if tools is None else tools
    try:
        return state.engine.tool_grammar(((t.name, t.parameters) for t in chosen), role=state.engine_role(role))
    except GrammarError as exc:
        if not state.grammar_warned:
            state.grammar_warned = True
            yield AgentError(step, f"caller grammar unavailable ({exc}); calls are parsed and validated only")
        return None


def _renderer(state: RunState, thought: str) -> Callable[[str], str]:
    """The caller prompt for ``thought`` around a history text."""
    doc, names, style = state.doc_text, state.names_text, state.style

    def render(history: str) -> str:
        return model_prompt(
            build_input("caller", doc=doc, history=history, tool_names=names, thought=thought, style=style)
        )

    return render


def call(state: RunState, step: int, thought: str) -> Generator[Event, None, tuple[ToolCall, Generation]]:
    """Generate one caller turn for ``thought`` (the whole planner turn); returns the checked call."""
    written, state.pending = state.pending, None  # a call the runtime wrote (parallel values), checked as the caller's
    if written is None:
        text, gen = yield from write_call(state, step, thought)
    else:
        prompt = yield from fit(state, "caller", step, _renderer(state, thought))
        gen = _written(written)
        text = yield from complete_formats(state, step, prompt, " " + written)
        text = yield from drop_unasked(state, step, text)
    tc = parse_and_check(state, step, text.strip())
    if written is None and (yield from instead_of_repeat(state, step, tc.name, tc.arguments)):
        return (yield from call(state, step, thought))  # the owed call, as state.pending
    if written is None:
        verdict = yield from call_check.check_call(state, step, thought, tc, write_call)
        if verdict is not None and verdict.made_up:
            tc = dataclasses.replace(tc, checked=verdict.made_up)
        else:
            tc = yield from call_check.vote(state, step, _renderer(state, thought), tc, verdict)
    yield tc
    return tc, gen


def write_call(state: RunState, step: int, thought: str) -> Generator[Event, None, tuple[str, Generation]]:
    """The caller's text for ``thought`` with the runtime's choices made (tool and argument priors, doc formats, stated
    and unasked arguments, the rescue), and its generation. The model is ``state.engine_role("caller")``: the caller,
    or the call check's second caller (:mod:`umi_edge.agent.call_check`)."""
    render = _renderer(state, thought)
    prompt = yield from fit(state, "caller", step, render)
    tool = yield from choose_tool(state, step, prompt, thought)
    grammar = yield from grammar_for(state, step, tools=None if tool is None else [tool])
    gen = yield from generate(state, "caller", step, render, grammar=grammar, prompt=prompt)
    text = yield from choose_numbers(state, step, prompt, gen.text)
    text = yield from choose_strings(state, step, prompt, text)
    text = yield from complete_formats(state, step, prompt, text)
    text = yield from add_stated_optionals(state, step, prompt, text)
    text = yield from drop_unasked(state, step, text)
    text = yield from rescue(state, step, prompt, text)
    return text, gen


def _written(text: str) -> Generation:
    """A caller turn the runtime wrote: no tokens generated, no prompt evaluated."""
    return Generation("caller", text, "stop", 0, 0, 0, 0, 0.0, 0.0, 0, 0)


def drop_unasked(state: RunState, step: int, text: str) -> Generator[Event, None, str]:
    """``text`` without the optional arguments only their doc holds (grounded calls; see ``unasked_optionals``), and,
    before the question's first observation, without the flags it sets unasked (``unasked_flags``); written again by
    ``render_call``; yields :class:`ArgumentDropped` for each."""
    if not state.config.grounded_calls:
        return text
    found = state.written_call(text)
    if found is None:
        return text
    parsed, tool = found
    drop = dict.fromkeys(unasked_optionals(parsed.arguments, state.turns, tool.parameters), "doc")
    if not state.observed:
        for name in unasked_flags(parsed.arguments, state.request, tool.parameters):
            drop.setdefault(name, "flag")
    if not drop:
        return text
    for name, reason in drop.items():
        yield ArgumentDropped(step, name, str(parsed.arguments[name]), reason)
    return " " + render_call(parsed.name, {k: v for k, v in parsed.arguments.items() if k not in drop})


def history_text(tc: ToolCall) -> str:
    """The caller turn as it goes into the history: normalised when valid, the raw text otherwise."""
    return render_call(tc.name, tc.arguments) if tc.name and tc.problem is None else tc.raw
