"""ToolBench import: stage 1 (answer chains) → stage 2 (trajectories), as the released ``prepro_raw_stage_2.py``.

Stage 1 is ``{tools, instruction, chains}``: α-UMi tool docs plus ToolBench's ``train_messages`` chain (system
prompt, first user message, then assistant / function / user messages). Each assistant message becomes a planner
turn (its content, then ``"\\n"``, then `` Next: caller.`` / `` Next: conclusion.`` / `` Next: give up.``), followed
by a caller turn ``Action: <name>\\nAction Input: <arguments>`` or by a conclusion turn holding ``final_answer`` of
the ``Finish`` call; function messages become observations holding the ``response`` field. The recovery rules for
malformed ``Finish`` arguments and observations are the released ones.

We convert every record. The released stage-1 script writes only ``data[:20]``; that is a defect we do not copy.
Raw ToolBench answer files (``{"answer_generation": {query, function, train_messages}}``) are accepted too and
converted to stage 1 first with :func:`umi_edge.formats.tooldoc.from_toolbench`, as the released stage-1 script;
those marked ``"valid_data": false`` are left out, as ToolBench's preprocessing does (:func:`valid_answers`).
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from umi_edge.errors import UserError
from umi_edge.formats.parse import PLAN_MARKERS
from umi_edge.formats.tooldoc import FINISH, from_toolbench_functions
from umi_edge.formats.trajectory import Trajectory, read_records, trajectory_from_record, validate_tools

GIVE_UP_RETURN_TYPE = "give_up_and_restart"


def record_stage(rec: Any) -> str | None:
    """``"stage1"`` (has ``chains``), ``"raw"`` (a ToolBench answer file), ``"stage2"`` (``conversations``) or None."""
    if not isinstance(rec, Mapping):
        return None
    if "chains" in rec:
        return "stage1"
    if "answer_generation" in rec:
        return "raw"
    if "conversations" in rec:
        return "stage2"
    return None


def raw_to_stage1(rec: Mapping[str, Any], where: str) -> dict[str, Any]:
    """A ToolBench answer file (``answer_generation``) → a stage-1 record, as the released stage-1 script."""
    gen = rec["answer_generation"]
    if not isinstance(gen, Mapping):
        raise UserError(f"{where}: field 'answer_generation': expected an object")
    for key, typ, what in (
        ("query", str, "a string"),
        ("function", list, "a list"),
        ("train_messages", list, "a list"),
    ):
        if not isinstance(gen.get(key), typ):
            raise UserError(f"{where}: field 'answer_generation.{key}': expected {what}")
    if not gen["train_messages"]:
        raise UserError(f"{where}: field 'answer_generation.train_messages': expected at least one chain")
    try:
        tools = from_toolbench_functions(gen["function"])
    except ValueError as exc:
        raise UserError(f"{where}: field 'answer_generation.function': {exc}") from None
    return {"tools": tools, "instruction": gen["query"], "chains": gen["train_messages"][-1]}


def _text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def _finish_turns(content: str | None, arguments: Any, answer_span: str) -> list[dict[str, str]]:
    """Planner (+ conclusion) turns of a ``Finish`` call, with the released recovery rules."""
    give_up = False
    final_answer = "none"
    try:
        parsed = arguments if isinstance(arguments, dict) else json.loads(arguments)
        if parsed["return_type"] == GIVE_UP_RETURN_TYPE:
            give_up = True
        else:
            final_answer = parsed["final_answer"] if "final_answer" in parsed else "none"
    except (ValueError, KeyError, TypeError, AttributeError):
        raw = _text(arguments)
        key = '"final_answer": '
        if GIVE_UP_RETURN_TYPE in raw:
            give_up = True
        elif key in raw:
            final_answer = raw[raw.index(key) + len(key) :].strip().strip("}").strip('"')
        else:
            final_answer = content if content is not None else "none"
    if give_up:
        return [{"from": "assistant", "value": answer_span + " " + PLAN_MARKERS["give_up"]}]
    return [
        {"from": "assistant", "value": answer_span + " " + PLAN_MARKERS["finish"]},
        {"from": "conclusion", "value": _text(final_answer)},
    ]


def _observation(content: Any) -> str:
    """The ``response`` field of a function message, with the released fallbacks."""
    try:
        return _text(json.loads(content)["response"])
    except (ValueError, KeyError, TypeError, IndexError):
        raw = _text(content)
        key = '"response":'
        return raw[raw.index(key) + len(key) :] if key in raw else ""


def stage1_to_stage2(rec: Mapping[str, Any], where: str = "record") -> Trajectory:
    """Convert one stage-1 record; UserError naming the field when it is malformed."""
    if not isinstance(rec.get("instruction"), str):
        raise UserError(f"{where}: field 'instruction': expected a string")
    tools = validate_tools(rec.get("tools"), where)
    chains = rec["chains"]
    if not isinstance(chains, list):
        raise UserError(f"{where}: field 'chains': expected a list of messages, got {type(chains).__name__}")
    turns: list[dict[str, str]] = [{"from": "user", "value": rec["instruction"]}]
    # The first two messages are ToolBench's system prompt and the user's query (already the instruction).
    for j, c in enumerate(chains[2:], start=2):
        f = f"chains[{j}]"
        if not isinstance(c, Mapping) or not isinstance(c.get("role"), str):
            raise UserError(f"{where}: field {f!r}: expected a message object with a 'role'")
        role, content = c["role"], c.get("content")
        if content is not None and not isinstance(content, str):
            raise UserError(f"{where}: field '{f}.content': expected a string or null, got {type(content).__name__}")
        if role == "assistant":
            answer_span = content + "\n" if content is not None else ""
            call = c.get("function_call")
            if call is None:
                continue  # the released script drops assistant messages without a function call
            if not isinstance(call, Mapping) or not isinstance(call.get("name"), str) or "arguments" not in call:
                raise UserError(f"{where}: field '{f}.function_call': expected an object {{name, arguments}}")
            if call["name"] == FINISH:
                turns += _finish_turns(content, call["arguments"], answer_span)
            else:
                turns.append({"from": "assistant", "value": answer_span + " " + PLAN_MARKERS["call"]})
                turns.append(
                    {
                        "from": "caller",
                        "value": "Action: " + call["name"] + "\nAction Input: " + _text(call["arguments"]),
                    }
                )
        elif role == "user":
            if content is None:
                raise UserError(f"{where}: field '{f}.content': expected a string, got null")
            turns.append({"from": "user", "value": content})
        elif role == "function":
            turns.append({"from": "observation", "value": _observation(content)})
    return trajectory_from_record({"tools": tools, "instruction": rec["instruction"], "conversations": turns}, where)


def read_input(path: str | os.PathLike[str]) -> list[tuple[str, Any]]:
    """Located records of a file, or of every ``*.json`` / ``*.jsonl`` file under a directory (sorted paths)."""
    p = Path(path)
    if p.is_dir():
        files = sorted(f for f in p.rglob("*") if f.is_file() and f.suffix in (".json", ".jsonl"))
        if not files:
            raise UserError(f"{p}: directory holds no .json or .jsonl files")
        return [loc for f in files for loc in read_records(f)]
    return read_records(p)


def valid_answers(records: list[tuple[str, Any]]) -> tuple[list[tuple[str, Any]], int]:
    """``records`` without the raw ToolBench answer files marked ``"valid_data": false`` (ToolBench's own
    preprocessing skips them: their search found no chain to train on), and how many were left out."""
    kept = [
        (where, rec)
        for where, rec in records
        if not (
            record_stage(rec) == "raw"
            and isinstance(g := rec["answer_generation"], Mapping)
            and g.get("valid_data") is False
        )
    ]
    return kept, len(records) - len(kept)


def import_records(records: list[tuple[str, Any]]) -> tuple[list[Trajectory], str]:
    """Convert located records (stage 1, raw ToolBench or stage 2, detected from the first) to trajectories.

    Returns the trajectories and the detected input kind. Every record must be of the first record's kind.
    """
    kinds = {
        "stage1": "stage 1 ({tools, instruction, chains})",
        "raw": "a ToolBench answer file",
        "stage2": "stage 2 ({tools, instruction, conversations})",
    }
    first_where, first = records[0]
    kind = record_stage(first)
    if kind is None:
        raise UserError(
            f"{first_where}: expected a stage-1 record (with 'chains') or a stage-2 record (with 'conversations'), "
            f"got {('keys ' + ', '.join(map(repr, first))) if isinstance(first, Mapping) else type(first).__name__}"
        )
    out: list[Trajectory] = []
    for where, rec in records:
        if record_stage(rec) != kind:
            raise UserError(f"{where}: expected {kinds[kind]} like the first record")
        if kind == "raw":
            rec = raw_to_stage1(rec, where)
        if kind == "stage2":
            out.append(trajectory_from_record(rec, where))
        else:
            out.append(stage1_to_stage2(rec, where))
    return out, kind
