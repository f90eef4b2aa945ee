"""The answer prior (``--answer-prior``): an answer that states none of the latest tool result's best-matching numbers
has its first number chosen again, by the summarizer's log-probability plus the result's relevance. Real llama.cpp
runs of the untrained SmolLM2 bundle."""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import TypeVar

import pytest
from edge_bundles import merged_bundle
from flows import drain

from umi_edge.agent import AgentConfig
from umi_edge.agent import events as ev
from umi_edge.agent.answer_prior import NEUTRAL, relevance, restate_result, results
from umi_edge.agent.generation import fit
from umi_edge.agent.state import RunState
from umi_edge.engine import Engine, EngineOptions, Generation
from umi_edge.formats.prompts import build_input, model_prompt
from umi_edge.tools.registry import ToolRegistry

T = TypeVar("T")
QUESTION = "How many tins of paint do I need for 45 square metres of wall with 2 coats?"
LITRES = "How many litres of paint do I need for 45 square metres of wall with 2 coats?"
RESULT = json.dumps({"litres": 9.0, "tins": 4})


def _state(engine: Engine | None, observation: str, weight: float, question: str = QUESTION) -> RunState:
    state = RunState(
        engine,  # type: ignore[arg-type]  # the pure tests need no engine
        ToolRegistry(),
        AgentConfig(answer_prior=weight, max_new_tokens={"summarizer": 12}),
        Path.cwd(),
        threading.Event(),
    )
    for role, value in [
        ("user", question),
        ("assistant", "I will ask the paint tool.\nNext: caller."),
        ("caller", 'Action: paint_tins_needed\nAction Input: {"wall_area_m2": 45, "coats": 2}'),
        ("observation", observation),
    ]:
        state.add_turn(role, value)
    return state


def test_a_json_result_gives_its_numbers_with_their_keys() -> None:
    found = results(_state(None, json.dumps({"total": {"litres": 9.0, "tins": 4}, "ok": True, "n": "1,200"}), 6.0))
    assert [(r.text, r.value, r.key) for r in found] == [("9.0", 9.0, "total litres"), ("4", 4.0, "total tins"),
                                                         ("1,200", 1200.0, "n")]  # fmt: skip
    assert results(_state(None, "Budget: 28468 EUR\nRooms: 4\n", 6.0)) == []  # free text: no keys to rank
    assert results(_state(None, json.dumps({"error": "division by zero", "code": 3}), 6.0)) == []


def test_the_key_the_question_names_ranks_first() -> None:
    found = results(_state(None, RESULT, 6.0))
    assert relevance(found, QUESTION) == [0.0, 1.0]  # "tins" is in the question, "litres" is not
    assert relevance(found, "How much paint is that?") == [NEUTRAL, NEUTRAL]  # no key matches: all equal, weaker


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Engine:
    bundle = merged_bundle(tmp_path_factory.mktemp("answer") / "bundle", context_length=1024)
    with Engine.from_bundle(bundle, EngineOptions(threads=1)) as e:
        yield e


def _answer(engine: Engine, state: RunState, written: str) -> tuple[list[ev.Event], str]:
    """Run the prior on ``written`` as the summarizer's own answer; its events and the answer it returns."""

    def render(history: str) -> str:
        return model_prompt(build_input("summarizer", doc="", history=history, style=state.style))

    prompt = drain(fit(state, "summarizer", 2, render))[1]
    own = Generation("summarizer", written, "eos", 0, 0, 0, 0, 0.0, 0.0, 0, 0)
    events, gen = drain(restate_result(state, 2, prompt, own))
    return [e for e in events if not isinstance(e, ev.TokenDelta | ev.Timing)], gen.text


def test_the_prior_restates_the_result_the_question_asks_for(engine: Engine) -> None:
    written = "You need 4 tins."  # the question asks for litres: 9.0
    off_events, off = _answer(engine, _state(engine, RESULT, 0.0, LITRES), written)
    assert off_events == [] and off == written  # weight 0: the summarizer's answer stands

    weak_events, weak = _answer(engine, _state(engine, RESULT, 1e-6, LITRES), written)
    (chosen,) = weak_events
    assert isinstance(chosen, ev.AnswerNumberChosen)
    assert chosen.relevance == {"4": 0.0, "9.0": 1.0} and chosen.model_choice == "4"
    assert chosen.number == "4" and weak == written, "the untrained summarizer prefers 9.0 here; pick another answer"
    gap = chosen.logprobs["4"] - chosen.logprobs["9.0"]

    strong_events, strong = _answer(engine, _state(engine, RESULT, gap + 1.0, LITRES), written)
    (chosen,) = strong_events
    assert isinstance(chosen, ev.AnswerNumberChosen) and chosen.number == "9.0"
    assert strong.startswith("You need 9.0") and not strong.startswith("You need 9.04")  # the rest is generated
    assert ev.from_dict(ev.to_dict(chosen)) == chosen  # the event survives the transcript round trip


def test_an_answer_that_states_the_result_is_left_alone(engine: Engine) -> None:
    for written in ("You need 4 tins.", "It takes 9.0 litres, so 4 tins.", "Four tins."):
        events, text = _answer(engine, _state(engine, RESULT, 100.0), written)
        assert events == [] and text == written
    # a free-text observation has no keys: the answer is left alone whatever numbers it states
    events, text = _answer(engine, _state(engine, "Budget: 28468 EUR\n", 100.0), "The budget is 9 EUR.")
    assert events == [] and text == "The budget is 9 EUR."


def test_an_answer_stating_only_request_numbers_is_chosen_again(engine: Engine) -> None:
    fuel = "My car uses 6.5 litres per 100 km. How much fuel do I need for 340 km?"
    events, _ = _answer(engine, _state(engine, json.dumps({"litres": 22.1}), 1e-6, fuel), "You need 6.5 litres.")
    (chosen,) = events
    assert isinstance(chosen, ev.AnswerNumberChosen)
    assert chosen.model_choice == "6.5" and chosen.relevance == {"6.5": 0.0, "22.1": 1.0}
    # a number the observation holds outside its results (in a string) counts as stating it
    read = json.dumps({"start_line": 1, "lines": 6, "content": "Budget: 11058 EUR\nDeadline: 2029-03-10"})
    for written in ("The budget is 11058 EUR.", "The deadline is 2029-03-10."):
        events, text = _answer(engine, _state(engine, read, 100.0, "What is the budget?"), written)
        assert events == [] and text == written
