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
from collections.abc import Generator
from typing import Any

from umi_edge.agent.events import Event, ValuesPending
from umi_edge.agent.state import RunState
from umi_edge.formats.parse import CallParseError, Plan, parse_call, render_call, render_plan
from umi_edge.numbers import mentions, rounds_to

_PREPOSITIONS = r"(?:in|for|of|at|on|to|with)"
_PREP = r"(?:(?:also|then)\s+)?(?:" + _PREPOSITIONS + r"\s+)?"
_JOIN = re.compile(r"\s*,\s*(?:(?:and|or)\s+" + _PREP + r")?|\s+(?:and|or|as well as|&)\s+" + _PREP)
"""What stands between two coordinated values: ", ", " and ", ", and also in ", " or for "."""
_BRIDGE = re.compile(r"\s*,\s*" + _PREP)
"""A comma and a preposition: what follows is no sibling but the list may go on after it ("Paris, France, in English
and also for Letterkenny, Ireland"; "Letterkenny, Ireland, in Celsius" lists nothing)."""
_PREP_WORD = re.compile(r"\b" + _PREPOSITIONS + r"\b")
"""A preposition in a join: the value after it is coordinated with a head, not with a value that modifies one."""
_NAME = re.compile(r"[A-Z][\w'-]*(?:\s+(?:(?:de|del|la|le|du|da|di|do|of|upon|am)\s+)?[A-Z][\w'-]*)*")
"""A run of capitalised words, with the connectors a place name holds ("Rio de Janeiro")."""
_CODE = re.compile(r",\s*([A-Z]{2,3})\b")
"""A second part that is a code ("Boston, MA"): always part of the name before it."""
_SECOND = re.compile(r",\s*(" + _NAME.pattern + ")")
"""A second part that is a name ("San Francisco, USA"): part of the name when the value has one."""
_WORD = re.compile(r"[^\W\d_][\w'-]*")
_SKIP = frozenset("a an the also then it them that this those these its my your our their me us you".split())

Span = tuple[str, int, int]


def _names(request: str, two_part: bool) -> list[Span]:
    """The capitalised names of ``request`` with where they stand, a second part joined (:data:`_CODE`, and
    :data:`_SECOND` when ``two_part``)."""
    out: list[Span] = []
    pos = 0
    while (m := _NAME.search(request, pos)) is not None:
        text, end = m.group(0), m.end()
        second = _CODE.match(request, end) or (_SECOND.match(request, end) if two_part else None)
        if second is not None:
            text, end = f"{text}, {second.group(1)}", second.end(1)
        out.append((text, m.start(), end))
        pos = end
    return out


def _word_groups(request: str, n: int) -> list[Span]:
    """Every run of ``n`` words of ``request`` with where it stands (runs of words with a stop word left out)."""
    words = list(_WORD.finditer(request))
    out: list[Span] = []
    for i in range(len(words) - n + 1):
        group = words[i : i + n]
        if any(w.group(0).lower() in _SKIP for w in group):
            continue
        if any(request[a.end() : b.start()] != " " for a, b in zip(group, group[1:], strict=False)):
            continue
        out.append((" ".join(w.group(0) for w in group), group[0].start(), group[-1].end()))
    return out


def _coordinated(request: str, spans: list[Span], start: int) -> list[str]:
    """The spans listed with the one that starts at ``start`` ("A, B and C"), in order, without it; one span
    after a :data:`_BRIDGE` is stepped over, not listed. A value right after a bridge modifies the span before it
    ("Paris, France, in English"): what is listed before it, or after it behind a preposition, is listed with that
    span, not with it."""
    index = next((i for i, s in enumerate(spans) if s[1] <= start < s[2]), None)
    if index is None:
        return []
    by_start = {s[1]: s for s in spans}
    by_end = {s[2]: s for s in spans}
    before: list[str] = []
    cur, bridged = spans[index], False
    modifier = False
    while True:
        prev = next((p for e, p in by_end.items() if e < cur[1] and _JOIN.fullmatch(request, e, cur[1])), None)
        weak = prev is None and not bridged
        if weak:
            prev = next((p for e, p in by_end.items() if e < cur[1] and _BRIDGE.fullmatch(request, e, cur[1])), None)
        if prev is None:
            break
        if weak and cur is spans[index]:  # the value modifies the one before it ("France, in English"): what
            modifier = True  # is listed before it is listed with that one
            break
        if not weak:
            before.insert(0, prev[0])
        cur, bridged = prev, weak
    after: list[str] = []
    cur, bridged = spans[index], False
    while True:
        join = _JOIN.match(request, cur[2])
        if modifier and cur is spans[index] and join is not None and _PREP_WORD.search(join.group(0)):
            break  # "Paris, France, in English and also for Letterkenny": the list goes on from the head, not from here
        nxt = by_start.get(join.end()) if join is not None else None
        weak = nxt is None and not bridged
        if weak:
            bridge = _BRIDGE.match(request, cur[2])
            nxt = by_start.get(bridge.end()) if bridge is not None else None
        if nxt is None:
            break
        if not weak:
            after.append(nxt[0])
        cur, bridged = nxt, weak
    return before + after


def siblings(value: Any, request: str) -> list[Any]:
    """The values ``request`` coordinates with ``value`` (a string or number of a call), in the request's order
    and without ``value`` itself: ``"Boston, MA"`` in "the weather in Boston, MA and also in San Francisco" →
    ``["San Francisco"]``; ``2`` in "2 and 4 gb ram" → ``[4]``. Siblings of a two-part value are two-part ones
    where the request has any."""
    if isinstance(value, bool):
        return []
    if isinstance(value, int | float):
        found = mentions(request)
        spans = [(str(int(m.value) if m.value.is_integer() else m.value), m.start, m.end) for m in found]
        hit = next((m for m in found if rounds_to(m.value, 9, [float(value)])), None)
        if hit is None:
            return []
        return [float(v) if "." in v else int(v) for v in _coordinated(request, spans, hit.start)]
    if not isinstance(value, str) or not value.strip():
        return []
    for text in (value.strip(), value.split(",")[0].strip()):
        m = re.search(r"(?<!\w)" + re.escape(text) + r"(?!\w)", request, re.I)
        if m is None:
            continue
        if m.group(0)[:1].isupper():
            spans = _names(request, "," in text)
        else:
            spans = _word_groups(request, len(_WORD.findall(text)) or 1)
        named = [v for v in _coordinated(request, spans, m.start()) if v.lower() != text.lower()]
        if "," in text and any("," in v for v in named):  # "Paris, France ... and Letterkenny, Ireland"
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


def instead_of_repeat(
    state: RunState, step: int, name: str | None, arguments: dict[str, Any]
) -> Generator[Event, None, bool]:
    """When the caller's call (``name``, ``arguments``) repeats one of this question's calls while a value is owed
    (:func:`pending_call`), sets ``state.pending`` to the owed call, yields :class:`ValuesPending` and returns True:
    the planner went on to the next value, and the caller wrote the last one again."""
    if not state.config.parallel_calls or name is None or (name, arguments) not in question_calls(state):
        return False
    return (yield from _owe(state, step)) is not None


def _owe(state: RunState, step: int) -> Generator[Event, None, Any]:
    """The owed value (:func:`pending_call`) or None; sets ``state.pending`` to its call and yields
    :class:`ValuesPending`."""
    owed = pending_call(state)
    if owed is None:
        return None
    text, param, value = owed
    state.pending = text
    yield ValuesPending(step, param, json.dumps(value, ensure_ascii=False))
    return value


def extend_plan(state: RunState, step: int, plan: Plan) -> Generator[Event, None, Plan]:
    """``plan``, or a call of the owed value (:func:`pending_call`) when it concludes; sets ``state.pending`` to the
    call text for the caller and yields :class:`ValuesPending`."""
    if plan.label != "finish" or not state.config.parallel_calls:
        return plan
    value = yield from _owe(state, step)
    if value is None:
        return plan
    thought = f"The same for {value}."
    return Plan("call", thought, render_plan(thought, "call"))
