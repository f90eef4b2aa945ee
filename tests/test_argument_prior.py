"""The argument prior (``--argument-prior``): a number argument that is not one of the request's best-matching numbers
is chosen again by the caller's log-probability plus the request's words around each number. Real llama.cpp runs of
the untrained SmolLM2 bundle."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import TypeVar

import pytest
from edge_bundles import merged_bundle
from flows import caller_prompt, drain

from umi_edge.agent import AgentConfig
from umi_edge.agent import events as ev
from umi_edge.agent.argument_prior import choose_numbers, relevance
from umi_edge.agent.state import RunState
from umi_edge.engine import Engine, EngineOptions
from umi_edge.formats.parse import parse_call
from umi_edge.numbers import mentions
from umi_edge.tools.registry import ToolRegistry, tool

T = TypeVar("T")
PETROL = "how much petrol for a 95 km trip, my car does 5.8 l/100km"


@tool(effect="read")
def trip_fuel_litres(distance_km: float, litres_per_100km: float) -> dict:
    """Fuel a car needs for a trip, from the distance and the car's consumption.

    Args:
        distance_km: Length of the trip in kilometres.
        litres_per_100km: The car's consumption in litres per 100 km.
    """
    return {"litres": round(distance_km * litres_per_100km / 100, 3)}


@tool(effect="read")
def paint_tins_needed(wall_area_m2: float, coats: int = 2) -> dict:
    """How many tins of wall paint a room needs.

    Args:
        wall_area_m2: Area of the walls to paint, in square metres.
        coats: Number of coats of paint.
    """
    return {"tins": 1}


def test_numbers_in_digits_and_words_are_mentions() -> None:
    found = mentions("Paint 60 m2 of wall, one coat only, for two and a half days; 1,200 km")
    assert [(m.text, m.value) for m in found] == [("60", 60.0), ("one", 1.0), ("two and a half", 2.5),
                                                  ("1,200", 1200.0)]  # fmt: skip  # m2 is a unit, not a number


def _best(parameter: str, spec: dict, request: str) -> list[float]:
    return [m.value for m, x in relevance(parameter, spec, request) if x >= 1.0]


def test_the_words_around_a_number_rank_it_for_a_parameter() -> None:
    props = trip_fuel_litres.parameters["properties"]
    assert _best("distance_km", props["distance_km"], PETROL) == [95.0]  # "95 km trip"
    assert _best("litres_per_100km", props["litres_per_100km"], "we use 8 litres per 100 km for 1200 km") == [8.0]
    coats = paint_tins_needed.parameters["properties"]["coats"]
    assert _best("coats", coats, "I want to paint 60 m2 of wall, one coat only.") == [1.0]
    assert relevance("coats", coats, "Paint the kitchen.") == []  # no number: nothing to rank


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Engine:
    bundle = merged_bundle(tmp_path_factory.mktemp("argument") / "bundle", context_length=1024)
    with Engine.from_bundle(bundle, EngineOptions(threads=1)) as e:
        yield e


def _choose(engine: Engine, weight: float, written: str, request: str = PETROL) -> tuple[list[ev.Event], str]:
    state = RunState(
        engine,
        ToolRegistry([trip_fuel_litres, paint_tins_needed]),
        AgentConfig(argument_prior=weight),
        Path.cwd(),
        threading.Event(),
    )
    state.add_turn("user", request)
    thought = "I will ask the fuel tool.\nNext: caller."
    state.add_turn("assistant", thought)
    prompt = caller_prompt(state, thought)
    events, text = drain(choose_numbers(state, 1, prompt, written))
    return [e for e in events if not isinstance(e, ev.TokenDelta | ev.Timing)], text


def test_the_prior_moves_a_value_to_the_number_the_request_describes(engine: Engine) -> None:
    request = "we use 8 litres per 100 km for a 1200 km trip"
    written = ' Action: trip_fuel_litres\nAction Input: {"distance_km": 8, "litres_per_100km": 8}'
    assert _choose(engine, 0.0, written, request) == ([], written)  # weight 0: the caller's call stands

    weak_events, weak = _choose(engine, 1e-6, written, request)
    (chosen,) = weak_events  # litres_per_100km's 8 is already its best match: not scored
    assert isinstance(chosen, ev.ArgumentChosen) and chosen.parameter == "distance_km"
    assert chosen.model_choice == "8" and chosen.relevance == {"8": 0.0, "1200": 1.0}
    assert chosen.value == "8" and weak == written, "the untrained caller prefers 1200 here; pick another call"
    gap = chosen.logprobs["8"] - chosen.logprobs["1200"]

    strong_events, strong = _choose(engine, gap + 1.0, written, request)
    (chosen,) = strong_events
    assert isinstance(chosen, ev.ArgumentChosen) and chosen.value == "1200"
    assert parse_call(strong.strip()).arguments == {"distance_km": 1200, "litres_per_100km": 8}
    assert ev.from_dict(ev.to_dict(chosen)) == chosen  # the event survives the transcript round trip


def test_a_value_the_request_describes_is_left_alone(engine: Engine) -> None:
    written = ' Action: trip_fuel_litres\nAction Input: {"distance_km": 95, "litres_per_100km": 5.8}'
    assert _choose(engine, 100.0, written) == ([], written)
    # a number word: "one coat" is the coats value, 1
    written = ' Action: paint_tins_needed\nAction Input: {"wall_area_m2": 60, "coats": 1}'
    assert _choose(engine, 100.0, written, "Paint 60 m2 of wall, one coat only.") == ([], written)
