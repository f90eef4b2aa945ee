"""Parsing model outputs: planner text → plan label + thought, caller text → tool name + arguments.

Hand-written here: the grammar is α-UMi's own (``... Next: caller.`` / ``Action: ...`` lines), no library parses it.

Planner routing follows the official inference code: the output is cut right after the first marker; ``give up``
ends the episode, ``conclusion`` runs the summarizer, anything else (including no marker at all) runs the caller.
(The released code looks for ``give up`` first, then ``conclusion``, then ``caller``; we take the marker that comes
first in the text. Both agree whenever the output has one marker, as every training target has.)
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any, Literal, get_args

PlanLabel = Literal["call", "finish", "give_up"]
"""What a planner (or backbone) turn decides: call a tool, finish with a conclusion, or give up."""
PLAN_LABELS: tuple[PlanLabel, ...] = get_args(PlanLabel)

PLAN_MARKERS: dict[PlanLabel, str] = {
    "call": "Next: caller.",
    "finish": "Next: conclusion.",
    "give_up": "Next: give up.",
}
"""Plan label → the marker that ends a planner turn (lowercase, trailing period)."""
MARKER_SEPARATOR = "\n "
"""What stands between the thought and the marker in the training data (``content + "\\n" + " Next: ..."``)."""

_MARKER_RE = re.compile("|".join(re.escape(m) for m in PLAN_MARKERS.values()))
_LABEL_OF: dict[str, PlanLabel] = {m: label for label, m in PLAN_MARKERS.items()}


@dataclass(frozen=True)
class Plan:
    """A parsed planner turn.

    ``text`` is what goes into the history and into the caller's ``{thought}``: the output cut right after the
    marker (for an output without marker, the thought followed by ``"\\n Next: caller."``).
    """

    label: PlanLabel
    thought: str
    text: str


def render_plan(thought: str, label: PlanLabel) -> str:
    """A planner turn as the training data has it: ``thought + "\\n" + " Next: <...>."`` (just the marker, with
    its leading space, when the thought is empty)."""
    head = thought + "\n" if thought else ""
    return head + " " + PLAN_MARKERS[label]


def parse_plan(text: str) -> Plan:
    """Parse planner output; never fails (no marker means ``call``, as the official routing)."""
    m = _MARKER_RE.search(text)
    if m is None:
        thought = text.rstrip()
        return Plan("call", thought, render_plan(thought, "call"))
    before = text[: m.start()]
    if before.endswith(" "):
        before = before[:-1]
    if before.endswith("\n"):
        before = before[:-1]
    return Plan(_LABEL_OF[m.group(0)], before, text[: m.end()])


@dataclass(frozen=True)
class Call:
    """A parsed caller turn: the tool name and its arguments (a JSON object)."""

    name: str
    arguments: dict[str, Any]


class CallParseError(ValueError):
    """Caller output that is not ``Action: <tool>\\nAction Input: <JSON object>``; the message says what is wrong."""


_FENCE_RE = re.compile(r"```[^\n`]*\n(.*?)(?:```|\Z)", re.DOTALL)
_ACTION_RE = re.compile(r"^[ \t]*Action[ \t]*:[ \t]*(?P<name>[^\n]*?)[ \t]*$", re.MULTILINE)
_INPUT_RE = re.compile(r"^[ \t]*Action[ \t]*Input[ \t]*:[ \t]*", re.MULTILINE)
_INLINE_INPUT_RE = re.compile(r"[ \t]*\bAction[ \t]*Input[ \t]*:")


def _unfence(text: str) -> str:
    """The content of the first code fence that holds an ``Action`` line, else ``text`` unchanged."""
    for m in _FENCE_RE.finditer(text):
        if _ACTION_RE.search(m.group(1)) or _INPUT_RE.search(m.group(1)):
            return m.group(1)
    return text


def render_call(name: str, arguments: dict[str, Any]) -> str:
    """A caller turn: ``Action: <name>\\nAction Input: <compact JSON object>``."""
    return f"Action: {name}\nAction Input: {json.dumps(arguments, ensure_ascii=False)}"


def _name_of(action: re.Match[str]) -> tuple[str, re.Match[str] | None]:
    """The tool name of an ``Action:`` line match, and where an inline ``Action Input:`` starts in it, if anywhere."""
    name = action.group("name")
    inline = _INLINE_INPUT_RE.search(name)  # "Action: f Action Input: {...}" on one line
    if inline:
        name = name[: inline.start()]
    return name.strip().strip("`\"'").strip(), inline


def action_name(text: str) -> str | None:
    """The tool a caller turn names on its ``Action:`` line, read as :func:`parse_call` reads it (its input need not
    parse); None when there is no such line or it names nothing."""
    action = _ACTION_RE.search(_unfence(text))
    return (_name_of(action)[0] or None) if action is not None else None


def parse_call(text: str) -> Call:
    """Parse caller output into a :class:`Call`.

    Tolerates surrounding whitespace, text before the ``Action:`` line, code fences around the whole call or around
    the JSON, and text after the JSON object (a model that keeps talking). Raises :class:`CallParseError` saying
    precisely what is wrong: no ``Action:`` line, empty tool name, no ``Action Input:`` line, empty input, invalid
    JSON (with the character position inside the input), or JSON that is not an object.
    """
    body = _unfence(text)
    action = _ACTION_RE.search(body)
    if action is None:
        raise CallParseError("no 'Action:' line (expected 'Action: <tool>\\nAction Input: <JSON object>')")
    name, inline = _name_of(action)
    if not name:
        raise CallParseError("'Action:' line has no tool name")
    if inline:
        raw = body[action.start("name") + inline.end() :].strip()
    else:
        inp = _INPUT_RE.search(body, action.end())
        if inp is None:
            raise CallParseError(f"no 'Action Input:' line after 'Action: {name}'")
        raw = body[inp.end() :].strip()
    if raw.startswith("```"):
        raw = raw.split("\n", 1)[1] if "\n" in raw else ""
        raw = raw.split("```", 1)[0].strip()
    if not raw:
        raise CallParseError(f"'Action Input:' of {name!r} is empty (expected a JSON object)")
    try:
        arguments, _end = json.JSONDecoder().raw_decode(raw)
    except json.JSONDecodeError as exc:
        raise CallParseError(
            f"'Action Input:' of {name!r} is not valid JSON: {exc.msg} at char {exc.pos} of {raw[:60]!r}"
        ) from None
    if not isinstance(arguments, dict):
        raise CallParseError(f"'Action Input:' of {name!r} is a JSON {_json_kind(arguments)}, expected an object")
    return Call(name, arguments)


def _json_kind(value: Any) -> str:
    if isinstance(value, list):
        return "array"
    if isinstance(value, str):
        return "string"
    if isinstance(value, bool):
        return "boolean"
    if value is None:
        return "null"
    return "number"
