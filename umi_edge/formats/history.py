"""History serialisation (the ``{history}`` placeholder).

Turns are concatenated without separator; each is ``role: value</s>``, except observations, which carry no ``</s>``.
``</s>`` is the literal five-character text, whatever the tokenizer's own end-of-sequence token is.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

END_OF_TURN = "</s>"
TURN_ROLES: tuple[str, ...] = ("user", "assistant", "caller", "observation", "conclusion")
"""The ``from`` values of a conversation: the user, the planner (``assistant``), the caller, tool results, and the
summarizer (``conclusion``)."""


def stop_sequences(chat_eos: str | None = None) -> tuple[str, ...]:
    """What ends a role's generation: :data:`END_OF_TURN`, and the bundle's ``chat_eos`` when it differs."""
    return tuple(dict.fromkeys((END_OF_TURN, chat_eos or END_OF_TURN)))


def serialize_turn(role: str, value: str) -> str:
    """One turn of the history text; ValueError for a role outside :data:`TURN_ROLES`."""
    if role not in TURN_ROLES:
        raise ValueError(f"unknown role {role!r}; expected one of {', '.join(TURN_ROLES)}")
    if role == "observation":
        return f"observation: {value}"
    return f"{role}: {value}{END_OF_TURN}"


def serialize_history(turns: Sequence[Mapping[str, str]]) -> str:
    """Serialise ``{"from", "value"}`` turns into the history text of the α-UMi prompts."""
    return "".join(serialize_turn(t["from"], t["value"]) for t in turns)
