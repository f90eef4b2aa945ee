"""Trajectories: the stage-2 interchange form ``{tools, instruction, conversations: [{from, value}]}``.

Read from a JSON array or JSONL. Some released files store ``tools`` / ``conversations`` as Python-literal strings;
those are read with ``ast.literal_eval``. Every validation error is a :class:`~umi_edge.errors.UserError` naming the
file, the record (index in an array, line in JSONL), the field and what was expected.
We write trajectories as JSONL with real JSON lists.
"""

from __future__ import annotations

import ast
import json
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from umi_edge import jsonl
from umi_edge.atomic import write_jsonl
from umi_edge.errors import UserError
from umi_edge.formats.history import TURN_ROLES


@dataclass
class Trajectory:
    """One episode: the offered tools (α-UMi tool docs), the user's instruction and the turns."""

    tools: list[dict[str, Any]]
    instruction: str
    conversations: list[dict[str, str]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"tools": self.tools, "instruction": self.instruction, "conversations": self.conversations}


def read_records(path: str | os.PathLike[str]) -> list[tuple[str, Any]]:
    """Read a JSON array, JSONL or single-object JSON file as ``[(location, record), ...]``.

    The location is ``"<file>: record <i>"`` for an array, ``"<file>:<line>"`` for JSONL and ``"<file>"`` for a
    file holding one object. Raises UserError for
    a missing, unreadable or empty file and for malformed JSON (with line and column).
    """
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise UserError(f"{p}: no such file") from None
    except IsADirectoryError:
        raise UserError(f"{p}: is a directory, expected a JSON or JSONL file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise UserError(f"{p}: cannot read: {exc}") from None
    stripped = text.lstrip()
    if not stripped:
        raise UserError(f"{p}: file is empty (expected a JSON array or JSONL records)")
    if stripped.startswith("["):
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise UserError(f"{p}:{exc.lineno}:{exc.colno}: invalid JSON: {exc.msg}") from None
        if not data:
            raise UserError(f"{p}: the JSON array is empty (expected at least one record)")
        return [(f"{p}: record {i}", rec) for i, rec in enumerate(data)]
    if stripped.startswith("{"):
        try:  # one JSON object (e.g. a ToolBench answer file), possibly pretty-printed
            whole = json.loads(text)
        except json.JSONDecodeError:
            pass
        else:
            one_line = len([ln for ln in text.splitlines() if ln.strip()]) == 1
            return [(f"{p}:1" if one_line else str(p), whole)]
        return [(f"{p}:{lineno}", rec) for lineno, rec in jsonl.records(text, p)]
    raise UserError(f"{p}:1: expected a JSON array or JSONL objects, got text starting {stripped[:20]!r}")


def _literal(value: Any, where: str, name: str, expected: str) -> Any:
    """Accept a real JSON list or its Python-literal / JSON text (as some released files store it)."""
    if isinstance(value, str):
        try:
            return ast.literal_eval(value)
        except (ValueError, SyntaxError, MemoryError, RecursionError):
            try:
                return json.loads(value)
            except json.JSONDecodeError:
                raise UserError(f"{where}: field {name!r}: expected {expected}, got an unparsable string") from None
    return value


def _type_name(v: Any) -> str:
    return {dict: "object", list: "array", str: "string", type(None): "null", bool: "boolean"}.get(
        type(v), type(v).__name__
    )


def validate_tools(value: Any, where: str, name: str = "tools") -> list[dict[str, Any]]:
    """Check an α-UMi tool list (``Name`` str, ``function`` str, ``input`` object of str)."""
    tools = _literal(value, where, name, "a list of tool docs")
    if not isinstance(tools, list):
        raise UserError(f"{where}: field {name!r}: expected a list of tool docs, got {_type_name(tools)}")
    for j, t in enumerate(tools):
        f = f"{name}[{j}]"
        if not isinstance(t, Mapping):
            raise UserError(f"{where}: field {f!r}: expected an object {{Name, function, input}}, got {_type_name(t)}")
        if not isinstance(t.get("Name"), str):
            raise UserError(f"{where}: field '{f}.Name': expected a string, got {_type_name(t.get('Name'))}")
        if "function" in t and not isinstance(t["function"], str):
            raise UserError(f"{where}: field '{f}.function': expected a string, got {_type_name(t['function'])}")
        if "input" in t and not isinstance(t["input"], Mapping):
            raise UserError(f"{where}: field '{f}.input': expected an object, got {_type_name(t['input'])}")
    return [dict(t) for t in tools]


def validate_turns(value: Any, where: str, name: str = "conversations") -> list[dict[str, str]]:
    """Check a turn list: objects ``{from, value}`` with a known role and a string value; callers follow the
    planner (``assistant``), whose turn is the caller's thought."""
    turns = _literal(value, where, name, "a list of {from, value} turns")
    if not isinstance(turns, list):
        raise UserError(f"{where}: field {name!r}: expected a list of {{from, value}} turns, got {_type_name(turns)}")
    out = []
    for j, t in enumerate(turns):
        f = f"{name}[{j}]"
        if not isinstance(t, Mapping):
            raise UserError(f"{where}: field {f!r}: expected an object {{from, value}}, got {_type_name(t)}")
        role = t.get("from")
        if not isinstance(role, str):
            raise UserError(f"{where}: field '{f}.from': expected a role string, got {_type_name(role)}")
        if role not in TURN_ROLES:
            raise UserError(
                f"{where}: field '{f}.from': unknown role {role!r}, expected one of {', '.join(TURN_ROLES)}"
            )
        if not isinstance(t.get("value"), str):
            raise UserError(f"{where}: field '{f}.value': expected a string, got {_type_name(t.get('value'))}")
        if role == "caller" and (j == 0 or turns[j - 1].get("from") != "assistant"):
            raise UserError(f"{where}: field {f!r}: a caller turn must follow an assistant (planner) turn")
        out.append({"from": role, "value": t["value"]})
    return out


def trajectory_from_record(rec: Any, where: str) -> Trajectory:
    """Validate one stage-2 record into a :class:`Trajectory`."""
    if not isinstance(rec, Mapping):
        raise UserError(f"{where}: expected an object {{tools, instruction, conversations}}, got {_type_name(rec)}")
    for key in ("tools", "instruction", "conversations"):
        if key not in rec:
            raise UserError(
                f"{where}: field {key!r}: missing (expected a stage-2 record {{tools, instruction, conversations}})"
            )
    if not isinstance(rec["instruction"], str):
        raise UserError(f"{where}: field 'instruction': expected a string, got {_type_name(rec['instruction'])}")
    tools = validate_tools(rec["tools"], where)
    turns = validate_turns(rec["conversations"], where)
    if not turns:
        raise UserError(f"{where}: field 'conversations': expected at least one turn, got an empty list")
    if turns[0]["from"] != "user":
        raise UserError(
            f"{where}: field 'conversations[0].from': expected 'user' (the instruction), got {turns[0]['from']!r}"
        )
    return Trajectory(tools, rec["instruction"], turns)


def load_trajectories(path: str | os.PathLike[str]) -> list[Trajectory]:
    """Load stage-2 trajectories from a JSON array or JSONL file (UserError on bad input)."""
    return [trajectory_from_record(rec, where) for where, rec in read_records(path)]


def write_trajectories(path: str | os.PathLike[str], trajs: Iterable[Trajectory | Mapping[str, Any]]) -> int:
    """Write trajectories atomically as JSONL (real JSON lists); returns the count."""
    return write_jsonl(path, (t.to_dict() if isinstance(t, Trajectory) else dict(t) for t in trajs))


def as_trajectory(t: Trajectory | Mapping[str, Any]) -> Trajectory:
    """Accept a Trajectory or a stage-2 mapping (validated)."""
    if isinstance(t, Trajectory):
        return t
    return trajectory_from_record(t, "trajectory")


__all__: Sequence[str] = [
    "Trajectory",
    "as_trajectory",
    "load_trajectories",
    "read_records",
    "trajectory_from_record",
    "validate_tools",
    "validate_turns",
    "write_trajectories",
]
