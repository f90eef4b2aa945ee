"""Parallel values: a request that names several values for one parameter gets one call per value.

"What's the weather like in Boston and San Francisco?" The round-4 planner learned one call per question and
concludes after the first one. With ``parallel_calls`` on (``--no-parallel-calls`` turns it off), when the planner
would conclude right after a call that succeeded, the request is read for values coordinated with one of that call's
arguments (``Boston and San Francisco``, ``Python, Java and Go``, ``2 and 4 gb``, ``music or theater``) that no call
of this question holds yet (:func:`siblings`). The planner's turn then becomes a call of the same tool for the first
such value ("The same for San Francisco.\\nNext: caller."), and the call is the last one with that value in place
(:func:`pending_call`), which the caller's completions and checks then see as if the caller had written it
(:func:`umi_edge.agent.caller.call`). Only the request's words are read, no model. Enforced at run time, not trained;
models/README.md reports what it changes on BFCL's live data. No library does this (it is a rule about our own
agent's turns), so it is written here.
"""

from __future__ import annotations

import json
import re
from collections.abc import Generator, Iterator
from typing import Any

from umi_edge.agent.events import Event, ValuesPending
from umi_edge.agent.state import RunState
from umi_edge.formats.parse import CallParseError, Plan, parse_call, render_call, render_plan
from umi_edge.numbers import mentions, rounds_to

_JOIN = re.compile(
    r"\s*(?:,\s*(?:and\s+|or\s+)?|\s(?:and|or|as well as|&)\s+)(?:also\s+|then\s+)?(?:(?:in|for|of|at|on|to|with)\s+)?"
)
"""What stands between two coordinated values: ", ", " and ", ", and also in ", " or for "."""
_NAME = re.compile(r"(?:[A-Z][\w'.-]*)(?:\s+(?:de|del|la|le|du|da|di|do|of|upon|am)?\s*[A-Z][\w'.-]*)*")
"""A run of capitalised words, with the connectors a place name holds ("Rio de Janeiro")."""
_SECOND = re.compile(r",\s*(" + _NAME.pattern + ")")
"""The second part of a two-part name: ", USA"."""
_WORD = re.compile(r"[^\W\d_][\w'-]*")
_SKIP = frozenset("a an the also then it them that this those these its my your our their me us you".split())


def _strings_after(request: str, end: int, capital: bool, n_words: int, two_part: bool) -> Iterator[str]:
    """The values coordinated after the one ending at ``end``: a capitalised run for a name (with a second
    ``, Part`` when ``two_part``: "San Francisco, USA"), else ``n_words`` words."""
    while True:
        join = _JOIN.match(request, end)
        if join is None:
            return
        start = join.end()
        if capital:
            m = _NAME.match(request, start)
            if m is None:
                return
            value, end = m.group(0).rstrip(".'"), m.start() + len(m.group(0).rstrip(".'"))
            second = _SECOND.match(request, end) if two_part else None
            if second is not None:
                part = second.group(1).rstrip(".'")
                value, end = f"{value}, {part}", second.start(1) + len(part)
        else:
            found = []
            pos = start
            for _ in range(n_words):
                w = _WORD.match(request, pos)
                if w is None:
                    return
                found.append(w.group(0))
                pos = w.end() + (1 if request[w.end() : w.end() + 1] == " " else 0)
            if any(w.lower() in _SKIP for w in found):
                return
            value, end = " ".join(found), start + len(" ".join(found))
        yield value


def siblings(value: Any, request: str) -> list[Any]:
    """The values ``request`` coordinates with ``value`` (a string or number of a call), in the request's order
    and without ``value`` itself: ``"Boston, MA"`` in "the weather in Boston, MA and also in San Francisco" →
    ``["San Francisco"]``; ``2`` in "2 and 4 gb ram" → ``[4]``. Siblings of a two-part value are two-part ones
    where the request has any."""
    if isinstance(value, bool):
        return []
    if isinstance(value, int | float):
        found = mentions(request)
        out: list[Any] = []
        for i, hit in enumerate(found):
            if not rounds_to(hit.value, 9, [float(value)]):
                continue
            end = hit.end
            for nxt in found[i + 1 :]:
                if _JOIN.fullmatch(request, end, nxt.start) is None:
                    break
                out.append(int(nxt.value) if nxt.value.is_integer() else nxt.value)
                end = nxt.end
            break
        return out
    if not isinstance(value, str) or not value.strip():
        return []
    for text in (value.strip(), value.split(",")[0].strip()):
        m = re.search(r"(?<!\w)" + re.escape(text) + r"(?!\w)", request, re.I)
        if m is not None:
            capital = m.group(0)[:1].isupper()
            words = len(_WORD.findall(text)) or 1
            after = _strings_after(request, m.end(), capital, words, "," in text)
            named = [v for v in after if v.lower() != text.lower()]
            if "," in text and any("," in v for v in named):  # "Paris, France, in English and Letterkenny, Ireland"
                named = [v for v in named if "," in v]
            return named
    return []


def _held(value: Any, calls: list[dict[str, Any]]) -> bool:
    """Whether an argument of one of ``calls`` already holds ``value`` (case aside, a first part counts)."""
    for args in calls:
        for v in args.values():
            if isinstance(value, str) and isinstance(v, str):
                if value.lower() in (v.lower(), v.split(",")[0].strip().lower()):
                    return True
            elif not isinstance(v, bool) and isinstance(v, int | float) and isinstance(value, int | float):
                if rounds_to(float(v), 9, [float(value)]):
                    return True
    return False


def question_calls(state: RunState) -> list[tuple[str, dict[str, Any]]]:
    """This question's calls that parse, in order: tool name and arguments."""
    out: list[tuple[str, dict[str, Any]]] = []
    for t in state.turns[state.earlier :]:
        if t["from"] == "caller":
            try:
                call = parse_call(t["value"].strip())
            except CallParseError:
                continue
            out.append((call.name, dict(call.arguments)))
    return out


def pending_call(state: RunState) -> tuple[str, str, Any] | None:
    """The call still owed for a value the request coordinates with one of the last call's (see the module doc):
    ``(call text, parameter, value)``, or None."""
    calls = question_calls(state)
    last = state.turns[-2:-1] if state.turns and state.turns[-1]["from"] == "assistant" else state.turns[-1:]
    if not calls or state.last_call_failed or not last or last[0]["from"] != "observation":
        return None
    name, args = calls[-1]
    tool = state.registry.get(name)
    props = tool.parameters.get("properties", {}) if tool is not None else {}
    done = [a for _, a in calls]
    for param, value in args.items():
        spec = props.get(param) if isinstance(props, dict) else None
        enum = spec.get("enum") if isinstance(spec, dict) else None
        for sibling in siblings(value, state.request):
            if isinstance(enum, list):  # written as the schema writes it ("theater" → "Theater"), or not at all
                sibling = next((e for e in enum if str(e).lower() == str(sibling).lower()), None)
            if sibling is not None and not _held(sibling, done):
                return render_call(name, {**args, param: sibling}), param, sibling
    return None


def extend_plan(state: RunState, step: int, plan: Plan) -> Generator[Event, None, Plan]:
    """``plan``, or a call of the owed value (:func:`pending_call`) when it concludes; sets ``state.pending`` to the
    call text for the caller and yields :class:`ValuesPending`."""
    if plan.label != "finish" or not state.config.parallel_calls:
        return plan
    owed = pending_call(state)
    if owed is None:
        return plan
    text, param, value = owed
    state.pending = text
    yield ValuesPending(step, param, json.dumps(value, ensure_ascii=False))
    thought = f"The same for {value}."
    return Plan("call", thought, render_plan(thought, "call"))
