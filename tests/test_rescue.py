"""The rescue (``--rescue-margin``): a call holding made-up values is written again from the request's own values, when
the caller finds them nearly as likely and the request speaks of the offered tools. Real llama.cpp runs of the
untrained SmolLM2 bundle."""

from __future__ import annotations

import json
import math
import threading
from pathlib import Path

import pytest
from edge_bundles import merged_bundle
from flows import caller_prompt, drain

from umi_edge.agent import AgentConfig
from umi_edge.agent import events as ev
from umi_edge.agent.grounding import made_up_values
from umi_edge.agent.relevance import held_share
from umi_edge.agent.rescue import rescue
from umi_edge.agent.state import RunState
from umi_edge.agent.string_prior import spans
from umi_edge.engine import Engine, EngineOptions
from umi_edge.formats.parse import parse_call
from umi_edge.tools.registry import ToolRegistry, tool

EMAIL = "Could you draft an email to Andy at andy@gorilla.ai with the subject 'Sales Forecast Request', please?"


@tool(effect="write")
def send_email(
    to_address: str, subject: str, priority: int = 3, unit: str = "plain", cc: list[str] | None = None
) -> dict:
    """Send an e-mail.

    Args:
        to_address: The recipient's e-mail address.
        subject: The subject line.
        priority: How urgent, 1 to 5.
        unit: The body's format, 'plain' or 'html'.
        cc: More recipients.
    """
    return {"sent": True}


@tool
def order_pizzas(count: int, size: str) -> dict:
    """Order pizzas.

    Args:
        count: How many pizzas.
        size: The pizzas' size.
    """
    return {"ordered": True}


def test_held_share_is_the_share_of_content_words_a_doc_holds() -> None:
    tools = ToolRegistry([send_email]).tools()
    assert held_share("Send an e-mail to Bob about the recipient list", tools) == pytest.approx(
        held_share("send email recipient bob", tools) or 0
    )
    share = held_share("email the capital of France", tools)
    assert share is not None and 0 < share < 1  # "email" is held, "capital" and "France" are not
    assert held_share("What is the capital of France?", tools) == 0.0
    assert held_share("What is 311*427-677?", tools) is None  # no content word: not judged


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Engine:
    bundle = merged_bundle(tmp_path_factory.mktemp("rescue") / "bundle", context_length=1024)
    with Engine.from_bundle(bundle, EngineOptions(threads=1)) as e:
        yield e


def _rescue(
    engine: Engine,
    written: str,
    *,
    margin: float | None = math.inf,
    share: float = 0.0,
    request: str = EMAIL,
    narration: bool = True,
) -> tuple[list[ev.Event], str, RunState]:
    config = AgentConfig(rescue_margin=margin, rescue_share=share, rescue_narration=narration)
    state = RunState(engine, ToolRegistry([send_email, order_pizzas]), config, Path.cwd(), threading.Event())
    state.add_turn("user", request)
    thought = "I will call the tool.\nNext: caller."
    state.add_turn("assistant", thought)
    prompt = caller_prompt(state, thought)
    events, text = drain(rescue(state, 1, prompt, written))
    return [e for e in events if not isinstance(e, ev.TokenDelta | ev.Timing)], text, state


def _made_up(state: RunState, text: str) -> list[str]:
    call = parse_call(text.strip())
    t = state.registry.get(call.name)
    assert t is not None
    return made_up_values(call.arguments, state.turns, {"description": t.description, "parameters": t.parameters})


MADE_UP = ' Action: send_email\nAction Input: {"to_address": "bob@example.com", "subject": "Sales Forecast Request"}'


def test_a_made_up_required_string_is_chosen_among_the_requests_spans(engine: Engine) -> None:
    events, text, state = _rescue(engine, MADE_UP)
    assert _made_up(state, MADE_UP) == ['"bob@example.com"']
    chosen, rescued = events
    assert isinstance(chosen, ev.ArgumentChosen) and chosen.parameter == "to_address"
    assert chosen.model_choice == '"bob@example.com"' and chosen.relevance['"bob@example.com"'] == 0.0
    best = max((s for s in chosen.logprobs if s != chosen.model_choice), key=lambda s: chosen.logprobs[s])
    assert chosen.value == best and json.loads(best) in spans(EMAIL)  # the caller's likeliest span
    assert isinstance(rescued, ev.CallRescued) and rescued.made_up == ['"bob@example.com"']
    assert rescued.gap == pytest.approx(chosen.logprobs[chosen.model_choice] - chosen.logprobs[best], abs=1e-3)
    assert rescued.share == pytest.approx(held_share(EMAIL, state.registry.tools()) or 0, abs=1e-4)
    call = parse_call(text.strip())
    assert call.arguments == {"to_address": json.loads(best), "subject": "Sales Forecast Request"}
    assert _made_up(state, text) == []  # the call is made


def test_the_margin_and_the_share_keep_the_stop(engine: Engine) -> None:
    events, _, _ = _rescue(engine, MADE_UP)
    gap = next(e for e in events if isinstance(e, ev.CallRescued)).gap
    assert _rescue(engine, MADE_UP, margin=gap - 0.5)[:2] == ([], MADE_UP)  # the best span is too unlikely
    assert _rescue(engine, MADE_UP, margin=gap)[1] != MADE_UP
    assert _rescue(engine, MADE_UP, margin=None)[:2] == ([], MADE_UP)  # off
    share = held_share(EMAIL, ToolRegistry([send_email, order_pizzas]).tools()) or 0
    assert _rescue(engine, MADE_UP, share=share + 0.01)[:2] == ([], MADE_UP)  # too few words held
    assert _rescue(engine, MADE_UP, share=share)[1] != MADE_UP


def test_a_made_up_optional_is_left_out(engine: Engine) -> None:
    written = (
        ' Action: send_email\nAction Input: {"to_address": "andy@gorilla.ai", "subject": "Sales Forecast Request", '
        '"priority": 4}'
    )
    events, text, state = _rescue(engine, written, margin=0.0)
    dropped, rescued = events
    assert dropped == ev.ArgumentDropped(1, "priority", "4", "made_up")
    assert isinstance(rescued, ev.CallRescued) and rescued.gap == 0.0
    assert parse_call(text.strip()).arguments == {"to_address": "andy@gorilla.ai", "subject": "Sales Forecast Request"}


def test_a_made_up_required_number_is_chosen_among_the_requests_numbers(engine: Engine) -> None:
    request = "Order three large pizzas, or 4 if the shop has a deal."
    written = ' Action: order_pizzas\nAction Input: {"count": 12, "size": "large"}'
    events, text, _ = _rescue(engine, written, request=request)
    chosen, rescued = events
    assert isinstance(chosen, ev.ArgumentChosen) and chosen.model_choice == "12"
    assert set(chosen.logprobs) == {"12", "3", "4"} and chosen.value in ("3", "4")
    assert isinstance(rescued, ev.CallRescued)
    assert parse_call(text.strip()).arguments == {"count": int(chosen.value), "size": "large"}


def test_what_cannot_be_chosen_again_keeps_the_stop(engine: Engine) -> None:
    held = ' Action: send_email\nAction Input: {"to_address": "andy@gorilla.ai", "subject": "Sales Forecast Request"}'
    assert _rescue(engine, held)[:2] == ([], held)  # nothing made up: nothing to do
    in_list = (
        ' Action: send_email\nAction Input: {"to_address": "andy@gorilla.ai", "subject": "Sales Forecast Request", '
        '"cc": ["bob@example.com"]}'
    )
    events, text, _ = _rescue(engine, in_list)  # an optional list: left out
    assert [type(e) for e in events] == [ev.ArgumentDropped, ev.CallRescued] and "cc" not in text
    no_numbers = ' Action: order_pizzas\nAction Input: {"count": 12, "size": "large"}'
    assert _rescue(engine, no_numbers, request="Order large pizzas.")[:2] == ([], no_numbers)  # no number to choose


@pytest.mark.parametrize("command", [["run", "Q"], ["chat"], ["eval", "tasks", "F"], ["eval", "bfcl", "live_simple"]])
def test_the_rescue_options(command: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    from umi_edge.cli import build_parser
    from umi_edge.commands import _options as opt

    parser = build_parser()
    assert opt.agent_config(parser.parse_args(command)).rescue_margin is None  # off by default
    on = opt.agent_config(parser.parse_args([*command, "--rescue-margin", "2", "--rescue-share", "0.3"]))
    assert (on.rescue_margin, on.rescue_share) == (2.0, 0.3)
    off = opt.agent_config(parser.parse_args([*command, "--rescue-margin", "2", "--no-rescue"]))
    assert off.rescue_margin is None and off.rescue_narration is False
    with pytest.raises(SystemExit):
        parser.parse_args([*command, "--rescue-share", "1.5"])
    assert "expected a number from 0 to 1" in capsys.readouterr().err


def test_a_narrating_string_is_rescued_even_with_the_rescue_off(engine: Engine) -> None:
    narrating = (
        ' Action: send_email\nAction Input: {"to_address": "andy@gorilla.ai", "subject": "I will send the e-mail now."}'
    )
    events, text, state = _rescue(engine, narrating, margin=None, share=1.0)
    assert _made_up(state, narrating) == ['"I will send the e-mail now."']
    chosen, rescued = events
    assert isinstance(chosen, ev.ArgumentChosen) and chosen.parameter == "subject"
    assert isinstance(rescued, ev.CallRescued)
    assert json.loads(chosen.value) in spans(EMAIL) and _made_up(state, text) == []
    assert _rescue(engine, narrating, margin=None, narration=False)[:2] == ([], narrating)  # --no-rescue
