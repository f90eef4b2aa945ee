"""One role generation as agent events: fit the prompt (HistoryShortened), stream TokenDelta, then Timing."""

from __future__ import annotations

from collections.abc import Callable, Generator, Sequence

from umi_edge.agent.events import Event, HistoryShortened, Timing, TokenDelta
from umi_edge.agent.history import fit_prompt
from umi_edge.agent.state import RunState
from umi_edge.engine import Generation
from umi_edge.formats.history import stop_sequences
from umi_edge.formats.prompts import Role


def fit(state: RunState, role: Role, step: int, render: Callable[[str], str]) -> Generator[Event, None, str]:
    """The prompt ``render(history)`` of the current conversation, shortened to leave ``role`` its output room."""
    engine, model_role = state.engine, state.engine_role(role)
    budget = max(1, engine.context_size(model_role) - state.config.new_tokens(role))
    fitted = fit_prompt(state.prompt_turns(role), render, lambda p: engine.count_tokens(model_role, p), budget, role)
    if fitted.rule is not None:
        yield HistoryShortened(step, role, fitted.rule, fitted.tokens_before, fitted.tokens)
    return fitted.prompt


def generate(
    state: RunState,
    role: Role,
    step: int,
    render: Callable[[str], str],
    *,
    grammar: str | None = None,
    stop_after: Sequence[str] = (),
    prompt: str | None = None,
) -> Generator[Event, None, Generation]:
    """Run ``role`` on the prompt ``render(history)`` of the current conversation; return its Generation.

    ``prompt``: the prompt :func:`fit` already made from ``render`` (it is not fitted again)."""
    engine, model_role = state.engine, state.engine_role(role)
    room = state.config.new_tokens(role)
    if prompt is None:
        prompt = yield from fit(state, role, step, render)
    stream = engine.generate(
        model_role,
        prompt,
        stop=stop_sequences(engine.manifest.chat_eos),
        stop_after=stop_after,
        grammar=grammar,
        cancel=state.cancel,
        max_tokens=room,
    )
    while True:
        try:
            piece = next(stream)
        except StopIteration as done:
            gen: Generation = done.value
            break
        yield TokenDelta(role, step, piece)
    yield Timing(
        step=step,
        role=role,
        prompt_tokens=gen.prompt_tokens,
        prompt_evaluated=gen.prompt_evaluated,
        prompt_reused=gen.prompt_reused,
        generated_tokens=gen.generated_tokens,
        prompt_seconds=gen.prompt_seconds,
        generate_seconds=gen.generate_seconds,
        context_used=gen.context_used,
        context_size=gen.context_size,
        extra={
            "stop_reason": gen.stop_reason,
            "constrained": gen.constrained,
            "grammar_rejections": gen.grammar_rejections,
        },
    )
    return gen
