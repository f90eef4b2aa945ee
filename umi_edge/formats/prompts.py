"""The α-UMi prompt templates, role cues and the ``system: `` prefix, byte for byte as the released code has them.

The template strings are protocol constants copied from the official release (GLPFT/utils/prompt_lib.py), typos
included ("assess", "Base on"): checkpoints trained on α-UMi data expect exactly these bytes.

Placeholders (``{doc}``, ``{history}``, ``{thought}``, ``{tool_names}``) are filled by plain text substitution,
never ``str.format`` (tool docs are full of braces). Each placeholder of the template is filled once, at its place in
the template; text that a value brings in is never substituted again. The released scripts chain ``str.replace``
calls, which gives the same bytes unless a tool doc, history or thought itself contains a placeholder text.
"""

from __future__ import annotations

import re
from typing import Literal

Role = Literal["planner", "caller", "summarizer", "backbone"]
Style = Literal["toolbench", "toolalpaca"]

ROLES: tuple[str, ...] = ("planner", "caller", "summarizer", "backbone")
STYLES: tuple[str, ...] = ("toolbench", "toolalpaca")

SYSTEM_PREFIX = "system: "
"""Training and the runtime feed the model ``SYSTEM_PREFIX + input``."""

ROLE_CUES: dict[str, str] = {
    "planner": " assistant: ",
    "backbone": " assistant: ",
    "caller": " caller: ",
    "summarizer": " conclusion: ",
}
"""Appended after the filled template; the model's answer follows the cue."""

TOOLBENCH_BACKBONE = """You have assess to the following apis:
{doc}
The conversation history is:
{history}
You should answer the action of next step in the following format:
The thought to solve the question,
Action: the name of api that should be called in this step, should be exactly in [{tool_names}],
Action Input: the api call request.
Once you think the question is finished, output conclusion: the final answer of the question or give up if you think you cannot answer this question.
"""  # noqa: E501

TOOLBENCH_PLANNER = """You have assess to the following apis:
{doc}
The conversation history is:
{history}
You are the assistant to plan what to do next and whether is caller's or conclusion's turn to answer.
Answer with a following format:
The thought of the next step, followed by Next: caller or conclusion or give up."""

TOOLBENCH_CALLER = """You have assess to the following apis:
{doc}
The conversation history is:
{history}
The thought of this step is:
{thought}
Base on the thought make an api call in the following format:
Action: the name of api that should be called in this step, should be exactly in [{tool_names}],
Action Input: the api call request."""

TOOLBENCH_SUMMARIZER = """Make a conclusion based on the conversation history:
{history}"""

TOOLALPACA_BACKBONE = """You have assess to the following apis:
{doc}
The conversation history is:
{history}
You should answer the action of next step in the following format:
The thought to solve the question,
Action: the name of api that should be called in this step, should be exactly in [{tool_names}],
Action Input: the api call request.
Once you think the question is finished, output conclusion: the final answer of the question.
"""

TOOLALPACA_PLANNER = """You have assess to the following apis:
{doc}
The conversation history is:
{history}
You are the assistant to plan what to do next and whether is caller's or conclusion's turn to answer.
Answer with a following format:
The thought of the next step, followed by Next: caller or conclusion."""

TOOLALPACA_CALLER = TOOLBENCH_CALLER
TOOLALPACA_SUMMARIZER = TOOLBENCH_SUMMARIZER

TEMPLATES: dict[tuple[str, str], str] = {
    ("toolbench", "backbone"): TOOLBENCH_BACKBONE,
    ("toolbench", "planner"): TOOLBENCH_PLANNER,
    ("toolbench", "caller"): TOOLBENCH_CALLER,
    ("toolbench", "summarizer"): TOOLBENCH_SUMMARIZER,
    ("toolalpaca", "backbone"): TOOLALPACA_BACKBONE,
    ("toolalpaca", "planner"): TOOLALPACA_PLANNER,
    ("toolalpaca", "caller"): TOOLALPACA_CALLER,
    ("toolalpaca", "summarizer"): TOOLALPACA_SUMMARIZER,
}
"""``(style, role) -> template``; the names of the released ``prompt_dict`` are ``f"{style}_{role}"``."""

_PLACEHOLDER = re.compile(r"\{(doc|history|thought|tool_names)\}")


def template(role: str, style: str = "toolbench") -> str:
    """The raw template of ``role`` in ``style``; ValueError for an unknown role or style."""
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}; expected one of {', '.join(ROLES)}")
    if style not in STYLES:
        raise ValueError(f"unknown prompt style {style!r}; expected one of {', '.join(STYLES)}")
    return TEMPLATES[(style, role)]


def fill(text: str, values: dict[str, str]) -> str:
    """Fill the placeholders of ``text`` once each (a placeholder missing from ``values`` is left as is)."""
    return _PLACEHOLDER.sub(lambda m: values.get(m.group(1), m.group(0)), text)


def template_parts(
    role: Role, *, doc: str = "", tool_names: str = "", thought: str = "", style: Style = "toolbench"
) -> tuple[str, str]:
    """Split the prompt of ``role`` around ``{history}``: ``prefix + history + suffix == build_input(...)``.

    The prefix (tool docs and instructions before the history) does not change during an episode, so the runtime
    can keep its KV cache; the suffix includes the role cue.
    """
    before, sep, after = template(role, style).partition("{history}")
    assert sep, "every α-UMi template has a {history} placeholder"
    values = {"doc": doc, "tool_names": tool_names, "thought": thought}
    return fill(before, values), fill(after, values) + ROLE_CUES[role]


def build_input(
    role: Role,
    *,
    doc: str,
    history: str,
    tool_names: str = "",
    thought: str = "",
    style: Style = "toolbench",
) -> str:
    """The ``input`` field of a per-role training record: the filled template followed by the role cue."""
    prefix, suffix = template_parts(role, doc=doc, tool_names=tool_names, thought=thought, style=style)
    return prefix + history + suffix


def model_prompt(input: str) -> str:  # noqa: A002 - the released field is called `input`
    """What training and the runtime feed the model for a record's ``input``: ``"system: " + input``."""
    return SYSTEM_PREFIX + input
