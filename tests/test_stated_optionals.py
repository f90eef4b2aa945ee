"""Stated optionals: an optional argument the request states but the caller left out is written by the caller and kept
only when a source states it. Real llama.cpp runs of the untrained SmolLM2 bundle; each parameter's enum fixes what the
caller can write, so each case's outcome follows from the rule alone."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import TypeVar

import pytest
from edge_bundles import merged_bundle
from flows import caller_prompt, drain

from umi_edge.agent import AgentConfig
from umi_edge.agent import events as ev
from umi_edge.agent.state import RunState
from umi_edge.agent.stated_optionals import _choices, add_stated_optionals
from umi_edge.engine import Engine, EngineOptions
from umi_edge.formats.parse import parse_call
from umi_edge.tools.loading import tools_from_spec
from umi_edge.tools.registry import ToolRegistry

T = TypeVar("T")
MOVIES = {
    "name": "find_movies",
    "description": "Find movies by director, genre and running time.",
    "parameters": {
        "type": "object",
        "properties": {
            "directed_by": {"type": "string", "description": "The director of the movie."},
            "genre": {"type": "string", "enum": ["Comedy"], "description": "The genre of the movie."},
            "max_minutes": {"type": "integer", "enum": [95], "description": "Longest running time in minutes."},
            "subtitles": {"type": "boolean", "description": "Whether the movie has subtitles."},
            "languages": {"type": "array", "items": {"type": "string", "enum": ["English", "French"]}},
            "audience": {"type": "string", "description": "Who the movie is for: 'kids' or 'adults'."},
        },
        "required": ["directed_by"],
    },
}
WRITTEN = ' Action: find_movies\nAction Input: {"directed_by": "Edgar Wright"}'


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Engine:
    bundle = merged_bundle(tmp_path_factory.mktemp("optionals") / "bundle", context_length=1024)
    with Engine.from_bundle(bundle, EngineOptions(threads=1)) as e:
        yield e


def _add(engine: Engine, request: str, written: str = WRITTEN, *, on: bool = True) -> tuple[list[ev.Event], str]:
    config = AgentConfig(complete_arguments=on)
    state = RunState(engine, ToolRegistry(tools_from_spec([MOVIES])), config, Path.cwd(), threading.Event())
    state.add_turn("user", request)
    thought = "I will look for the movies.\nNext: caller."
    state.add_turn("assistant", thought)
    prompt = caller_prompt(state, thought)
    events, text = drain(add_stated_optionals(state, 1, prompt, written))
    return [e for e in events if not isinstance(e, ev.TokenDelta | ev.Timing)], text


def test_stated_optionals_are_added(engine: Engine) -> None:
    request = "Find a comedy movie by Edgar Wright, at most 95 minutes long."
    events, text = _add(engine, request)
    assert events == [ev.ArgumentAdded(1, "genre", '"Comedy"'), ev.ArgumentAdded(1, "max_minutes", "95")]
    args = parse_call(text.strip()).arguments
    assert args == {"directed_by": "Edgar Wright", "genre": "Comedy", "max_minutes": 95}  # booleans are not offered
    assert ev.from_dict(ev.to_dict(events[0])) == events[0]
    assert _add(engine, request, on=False) == ([], WRITTEN)  # off: the call stands
    done = ' Action: find_movies\nAction Input: {"directed_by": "Edgar Wright", "genre": "Comedy", "max_minutes": 95}'
    assert _add(engine, request, done) == ([], done)  # nothing left out


def test_values_no_source_states_are_not_added(engine: Engine) -> None:
    # "movie" makes genre worth offering, and 120 makes max_minutes; the caller can only write Comedy and 95
    assert _add(engine, "Find a movie by Edgar Wright of at most 120 minutes.") == ([], WRITTEN)
    # "movie" is in no enum value: genre is not offered ("comedy" is in its doc but not in the request)
    assert _add(engine, "Find a movie about horses by Edgar Wright.") == ([], WRITTEN)
    # no request word in any doc and no number: nothing is offered at all
    assert _add(engine, "Edgar Wright, please.") == ([], WRITTEN)


def test_named_values_booleans_and_arrays_are_added(engine: Engine) -> None:
    events, text = _add(engine, "Find French comedies for kids by Edgar Wright, with subtitles.")
    added = {e.parameter: e.value for e in events if isinstance(e, ev.ArgumentAdded)}
    assert list(added) == ["genre", "subtitles", "languages", "audience"]  # schema order
    assert added["genre"] == '"Comedy"'  # named by its stem ("comedies")
    assert added["subtitles"] in ("true", "false")  # named, so offered; the caller picks the value
    assert added["languages"] == '["French"]'  # array of enum strings: the named ones
    assert added["audience"] == '"kids"'  # a value the description quotes
    assert parse_call(text.strip()).arguments["audience"] == "kids"


def test_choices() -> None:
    num = {"type": "integer", "description": "Number of tickets required. Default is 1."}
    assert _choices("num_tickets", num, "Get me two tickets for Eminem.", []) == [2]  # words are numbers too
    assert _choices("num_tickets", num, "Get me two tickets for Eminem.", [2.0]) == []  # already an argument's
    level = {"type": "number", "description": "Significance level"}
    request = "Samples [23, 38] level 0.05"
    assert _choices("significance_level", level, request, []) == [38, 0.05]  # both best match "level"
    assert _choices("significance_level", level, request, [[23, 38]]) == [0.05]  # 38 is in another argument's list
    flag = {"type": "boolean"}
    assert _choices("include_human_impact", flag, "growth including human impact", []) == [True, False]
    assert _choices("include_human_impact", flag, "growth including impact", []) == []  # "human" unsaid
    assert _choices("avoid_tolls", flag, "a route with toll roads avoided", []) == [True, False]
    assert _choices("include", flag, "include everything", []) == []  # only generic words
    roots = {"type": "string", "description": "'real' for real roots, 'all' for both. Default is 'real'."}
    assert _choices("root_type", roots, "Find all the roots of x^2 + 1", []) == ["all"]
    colour = {"type": "string", "description": "The colour of the rectangle."}
    assert _choices("colour", colour, "Draw a red rectangle", []) is None  # any string, kept if written as is
    assert _choices("colour", colour, "Draw it", []) == []
    assert _choices("tags", {"type": "array", "items": {"type": "string"}}, "tag it", []) == []
