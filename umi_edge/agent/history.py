"""Fitting a role's prompt into its context: the stated history-shortening rule.

Rule (applied only when ``prompt tokens + room for the answer`` exceeds the context):
1. replace the bodies of the oldest observations, one at a time from the oldest, with :data:`ELIDED` (the most
   recent observation is kept: it is what the next step reacts to);
2. if that is not enough, cut the serialised history from the left (the paper cuts over-long inputs from the
   left; we cut only the history so the tool documentation and the instructions stay whole).
If even an empty history does not fit, :class:`ContextOverflow` is raised.
Hand-written: the rule is specific to α-UMi's history format.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from umi_edge.engine.role import ContextOverflow
from umi_edge.formats.history import serialize_history

ELIDED = '{"elided": "observation removed to fit the context"}'
"""What an elided observation's body becomes (JSON, like every observation)."""


@dataclass(frozen=True)
class FittedPrompt:
    """The prompt to use; ``rule`` is None when nothing was shortened."""

    prompt: str
    tokens: int
    rule: str | None = None
    tokens_before: int = 0


def fit_prompt(
    turns: Sequence[Mapping[str, str]],
    render: Callable[[str], str],
    count: Callable[[str], int],
    budget: int,
    role: str = "",
) -> FittedPrompt:
    """Render ``turns`` into a prompt of at most ``budget`` tokens by the rule above.

    ``render(history_text)`` builds the whole prompt; ``count(prompt)`` counts its tokens with the role's tokenizer.
    """
    prompt = render(serialize_history(turns))
    n = count(prompt)
    if n <= budget:
        return FittedPrompt(prompt, n)
    before = n
    work = [dict(t) for t in turns]
    obs = [i for i, t in enumerate(work) if t.get("from") == "observation"][:-1]
    for k, i in enumerate(obs, 1):
        if work[i]["value"] == ELIDED:
            continue
        work[i]["value"] = ELIDED
        prompt = render(serialize_history(work))
        n = count(prompt)
        if n <= budget:
            return FittedPrompt(prompt, n, f"elided the bodies of the {k} oldest observation(s)", before)
    history = serialize_history(work)
    elided = f"elided the bodies of the {len(obs)} oldest observation(s), then " if obs else ""
    if count(render("")) > budget:
        raise ContextOverflow(role, count(render("")), budget)
    lo, hi = 0, len(history)  # find the smallest left cut that fits; fits(hi) holds
    while lo < hi:
        mid = (lo + hi) // 2
        if count(render(history[mid:])) <= budget:
            hi = mid
        else:
            lo = mid + 1
    prompt = render(history[lo:])
    return FittedPrompt(prompt, count(prompt), f"{elided}cut {lo} characters from the left of the history", before)
