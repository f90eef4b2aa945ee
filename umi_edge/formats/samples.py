"""Per-role training samples from a trajectory, as the released ``prepro_{backbone,planner,caller,summarizer}.py``.

Each record is ``{"tools", "history", "input", "target"}``: ``tools`` the trajectory's tool docs, ``history`` the
turns before this step (``conversations[:i]``, a JSON list of ``{from, value}``), ``input`` the filled template plus
role cue (the model is fed ``"system: " + input``, see :func:`umi_edge.formats.prompts.model_prompt`) and ``target``
the role's answer. ``input`` and ``target`` are byte-identical to the released files, with one deliberate difference:
the released backbone script gives a give-up step the ``input`` of the previous step (its ``input`` variable is not
updated on that branch); we build it from the history at the give-up step.

What each role sees, as the released scripts (kept because trained checkpoints expect it):
- planner: one sample per assistant turn that holds ``Next: give up.`` or is followed by a caller or conclusion turn;
  not when the following caller turn names ``invalid_hallucination_function_name``. History: every turn.
- caller: one sample per caller turn (except hallucinated names, which are also left out of its history); the
  ``{thought}`` is the preceding assistant turn.
- summarizer: one sample per conclusion turn whose value is not ``none`` (``none`` conclusions are also left out of
  its history).
- backbone (single-LLM): one sample per assistant turn followed by a caller or conclusion turn or holding give up;
  its history merges each planner turn with the following caller / conclusion turn into one assistant turn
  (``thought\\nAction: ...``, ``thought\\nconclusion: ...``, ``thought\\nconclusion: give up.``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from umi_edge.formats.history import serialize_turn
from umi_edge.formats.parse import PLAN_MARKERS
from umi_edge.formats.prompts import ROLES, Style, build_input
from umi_edge.formats.tooldoc import render_doc, tool_names
from umi_edge.formats.trajectory import Trajectory, as_trajectory

HALLUCINATED_NAME = "invalid_hallucination_function_name"
"""ToolBench's name for a call to a tool that does not exist; such steps are not training samples."""
NO_CONCLUSION = "none"
"""The stage-2 value of a conclusion without final answer; not a summarizer sample."""

_GIVE_UP = PLAN_MARKERS["give_up"]
_CALL = PLAN_MARKERS["call"]
_FINISH = PLAN_MARKERS["finish"]


def _record(traj: Trajectory, i: int, input_text: str, target: str) -> dict[str, Any]:
    return {"tools": traj.tools, "history": traj.conversations[:i], "input": input_text, "target": target}


def role_samples(traj: Trajectory | Mapping[str, Any], style: Style = "toolbench") -> dict[str, list[dict[str, Any]]]:
    """The training records of every role for one trajectory: ``{"backbone", "planner", "caller", "summarizer"}``."""
    t = as_trajectory(traj)
    doc, names = render_doc(t.tools), tool_names(t.tools)
    turns = t.conversations
    n = len(turns)
    out: dict[str, list[dict[str, Any]]] = {r: [] for r in ("backbone", "planner", "caller", "summarizer")}
    assert set(out) == set(ROLES)

    def nxt(i: int) -> str | None:
        return turns[i + 1]["from"] if i + 1 < n else None

    # planner
    history = ""
    for i, u in enumerate(turns):
        role, value = u["from"], u["value"]
        if role == "assistant":
            if _GIVE_UP in value or nxt(i) in ("conclusion", "caller"):
                hallucinated = nxt(i) == "caller" and HALLUCINATED_NAME in turns[i + 1]["value"]
                if not hallucinated:
                    inp = build_input("planner", doc=doc, history=history, tool_names=names, style=style)
                    out["planner"].append(_record(t, i, inp, value))
        history += serialize_turn(role, value)

    # caller
    history = ""
    for i, u in enumerate(turns):
        role, value = u["from"], u["value"]
        if role == "caller":
            if HALLUCINATED_NAME in value:
                continue
            thought = turns[i - 1]["value"]
            inp = build_input("caller", doc=doc, history=history, tool_names=names, thought=thought, style=style)
            out["caller"].append(_record(t, i, inp, value))
        history += serialize_turn(role, value)

    # summarizer
    history = ""
    for i, u in enumerate(turns):
        role, value = u["from"], u["value"]
        if role == "conclusion":
            if value == NO_CONCLUSION:
                continue
            inp = build_input("summarizer", doc=doc, history=history, tool_names=names, style=style)
            out["summarizer"].append(_record(t, i, inp, value))
        history += serialize_turn(role, value)

    # backbone
    history = ""
    for i, u in enumerate(turns):
        role, value = u["from"], u["value"]
        if role == "assistant":
            if _GIVE_UP in value:
                merged = value.replace(_GIVE_UP, "").strip() + "\nconclusion: give up."
            elif nxt(i) == "caller":
                merged = value.replace(_CALL, "").strip() + "\n" + turns[i + 1]["value"]
            elif nxt(i) == "conclusion":
                merged = value.replace(_FINISH, "").strip() + "\nconclusion: " + turns[i + 1]["value"]
            else:
                merged = None
            if merged is not None:
                inp = build_input("backbone", doc=doc, history=history, tool_names=names, style=style)
                out["backbone"].append(_record(t, i, inp, merged))
            history += serialize_turn("assistant", value if merged is None else merged)
        elif role in ("user", "observation"):
            history += serialize_turn(role, value)
    return out
