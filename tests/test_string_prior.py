"""The string prior (``--string-prior``): a string argument the request does not hold as written is chosen again among
the request's spans by the caller's log-probability plus a bonus for a span. Real llama.cpp runs of the untrained
SmolLM2 bundle."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from edge_bundles import merged_bundle
from flows import caller_prompt, drain

from umi_edge.agent import AgentConfig
from umi_edge.agent import events as ev
from umi_edge.agent.state import RunState
from umi_edge.agent.string_prior import MAX_SPAN_WORDS, choose_strings, composed, spans, written_in
from umi_edge.engine import Engine, EngineOptions
from umi_edge.formats.parse import parse_call
from umi_edge.tools.registry import ToolRegistry, tool

EMAIL = "Could you draft an email to Andy at andy@gorilla.ai with the subject 'Sales Forecast Request', please?"


@tool(effect="write")
def send_email(to_address: str, subject: str, unit: str = "plain") -> dict:
    """Send an e-mail.

    Args:
        to_address: The recipient's e-mail address.
        subject: The subject line.
        unit: The body's format, 'plain' or 'html'.
    """
    return {"sent": True}


def test_spans_are_the_requests_quoted_parts_then_its_word_runs() -> None:
    found = spans(EMAIL)
    assert found[0] == "Sales Forecast Request"  # quoted parts first
    assert "andy@gorilla.ai" in found and "Andy" in found and "please" in found  # edge punctuation stripped
    assert "Andy at andy@gorilla.ai" in found
    assert all(len(s.split()) <= MAX_SPAN_WORDS for s in found[1:])
    assert len(found) == len(set(found))
    assert spans("") == []


@pytest.mark.parametrize(
    ("value", "held"),
    [
        ("andy@gorilla.ai", True),
        ("ANDY@Gorilla.AI", True),  # case aside
        ("sales  forecast", True),  # spacing aside
        ("Subject: Sales Forecast", True),  # punctuation between words aside
        ("Andy", True),
        ("gorilla.ai", False),  # a part of the address
        ("gorilla", False),
        ("andy@gorilla", False),
        ("Sales Forecasts", False),
        ("Bob", False),
    ],
)
def test_written_in_holds_whole_names_only(value: str, held: bool) -> None:
    assert written_in(value, EMAIL) is held


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2023-04-03", True),  # a date the caller converted
        ("2021-04-15T01:45:00Z", True),
        ("kg", True),  # a unit symbol
        ("311 * 427 - 677", True),  # an expression
        ("print('hi')", True),  # code
        ("SELECT name FROM staff ORDER BY salary", True),  # a query
        ("New York City", False),
        ("gorilla.ai", False),
        ("print %time%", False),
    ],
)
def test_composed_values_are_the_callers_own(value: str, expected: bool) -> None:
    assert composed(value) is expected


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Engine:
    bundle = merged_bundle(tmp_path_factory.mktemp("strings") / "bundle", context_length=1024)
    with Engine.from_bundle(bundle, EngineOptions(threads=1)) as e:
        yield e


def _choose(
    engine: Engine, weight: float, written: str, request: str = EMAIL, observation: str | None = None
) -> tuple[list[ev.Event], str]:
    state = RunState(
        engine, ToolRegistry([send_email]), AgentConfig(string_prior=weight), Path.cwd(), threading.Event()
    )
    state.add_turn("user", request)
    if observation is not None:  # an earlier call's result: its values are held as written
        state.add_turn("assistant", "I will look up the contacts.\nNext: caller.")
        state.add_turn("caller", "Action: contacts\nAction Input: {}")
        state.add_turn("observation", observation)
    thought = "I will send the e-mail.\nNext: caller."
    state.add_turn("assistant", thought)
    prompt = caller_prompt(state, thought)
    events, text = drain(choose_strings(state, 1, prompt, written))
    return [e for e in events if not isinstance(e, ev.TokenDelta | ev.Timing)], text


def test_a_string_the_request_does_not_hold_moves_to_a_span(engine: Engine) -> None:
    written = ' Action: send_email\nAction Input: {"to_address": "gorilla.ai", "subject": "Sales Forecast Request"}'
    assert _choose(engine, 0.0, written) == ([], written)  # weight 0: the caller's call stands

    weak_events, _ = _choose(engine, 1e-6, written)
    (chosen,) = weak_events  # the subject is written in the request: not scored
    assert isinstance(chosen, ev.ArgumentChosen) and chosen.parameter == "to_address"
    assert chosen.model_choice == '"gorilla.ai"' and chosen.relevance["gorilla.ai"] == 0.0
    assert all(chosen.relevance[s] == 1.0 for s in chosen.logprobs if s != "gorilla.ai")  # the rest are spans
    best = max(chosen.logprobs, key=lambda s: chosen.logprobs[s] + 1e-6 * chosen.relevance[s])
    assert chosen.value == f'"{best}"'  # the best sum wins
    best_span = max((s for s in chosen.logprobs if s != "gorilla.ai"), key=lambda s: chosen.logprobs[s])
    gap = chosen.logprobs["gorilla.ai"] - chosen.logprobs[best_span]

    strong_events, strong = _choose(engine, abs(gap) + 1.0, written)
    (chosen,) = strong_events
    assert isinstance(chosen, ev.ArgumentChosen) and chosen.value == f'"{best_span}"'
    args = parse_call(strong.strip()).arguments
    assert args == {"to_address": best_span, "subject": "Sales Forecast Request"}
    assert ev.from_dict(ev.to_dict(chosen)) == chosen  # the event survives the transcript round trip


def test_held_documented_and_made_up_values_are_left_alone(engine: Engine) -> None:
    held = ' Action: send_email\nAction Input: {"to_address": "ANDY@gorilla.ai", "subject": "sales forecast request"}'
    assert _choose(engine, 100.0, held) == ([], held)  # the request holds both, case aside
    documented = (
        ' Action: send_email\nAction Input: {"to_address": "andy@gorilla.ai", "subject": "forecasts", "unit": "html"}'
    )
    events, _ = _choose(engine, 100.0, documented)
    assert [e.parameter for e in events if isinstance(e, ev.ArgumentChosen)] == ["subject"]  # 'html' is the doc's
    converted = ' Action: send_email\nAction Input: {"to_address": "andy@gorilla.ai", "subject": "2024-03-01 14:30"}'
    assert _choose(engine, 100.0, converted, EMAIL + " Send it on March 1st 2024 at 14:30.") == ([], converted)
    listed = ' Action: send_email\nAction Input: {"to_address": "a.smith@gorilla.ai", "subject": "Sales Forecast"}'
    assert _choose(engine, 100.0, listed, EMAIL, observation='{"contacts": ["a.smith@gorilla.ai"]}') == ([], listed)
    made_up = ' Action: send_email\nAction Input: {"to_address": "bob@example.com", "subject": "Sales"}'
    assert _choose(engine, 100.0, made_up) == ([], made_up)  # stopped as made up: left so


def test_a_candidate_that_does_not_fit_the_context_leaves_the_value(engine: Engine) -> None:
    state = RunState(engine, ToolRegistry([send_email]), AgentConfig(string_prior=6.0), Path.cwd(), threading.Event())
    quoted = " ".join(f"word{i}" for i in range(60))
    state.add_turn("user", f"Mail andy@gorilla.ai the subject '{quoted}'.")
    written = ' Action: send_email\nAction Input: {"to_address": "gorilla.ai", "subject": "words"}'
    room = engine.context_size("caller") - engine.count_tokens("caller", written) - 20
    prompt = " ".join(["note"] * room)  # the caller's prompt nearly fills its context
    assert engine.count_tokens("caller", prompt) < room + 40
    events, text = drain(choose_strings(state, 1, prompt, written))
    assert text == written and not [e for e in events if isinstance(e, ev.ArgumentChosen)]
