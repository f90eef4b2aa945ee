"""Doc formats: a string argument whose doc gives a two-part format ('City, State') and that has one part is completed
by the caller, and kept only when the caller is sure of it. Real llama.cpp runs of the untrained SmolLM2 bundle."""

from __future__ import annotations

import math
import threading
from pathlib import Path
from typing import TypeVar

import pytest
from edge_bundles import merged_bundle
from flows import caller_prompt, drain

from umi_edge.agent import AgentConfig, doc_formats
from umi_edge.agent import events as ev
from umi_edge.agent.doc_formats import complete_formats, misfits_format, two_part_format
from umi_edge.agent.grounding import made_up_strings
from umi_edge.agent.state import RunState
from umi_edge.engine import Engine, EngineOptions
from umi_edge.formats.parse import parse_call
from umi_edge.tools.loading import tools_from_spec
from umi_edge.tools.registry import ToolRegistry

T = TypeVar("T")
CITY = "The city of the salon, in the format of 'City, State', such as 'Berkeley, CA' or 'New York, NY'."
SALON = {
    "name": "find_salon",
    "description": "Find a hair salon in a city.",
    "parameters": {
        "type": "object",
        "properties": {
            "city": {"type": "string", "description": CITY},
            "style": {"type": "string", "description": "The haircut, e.g. 'Bob, short'."},
        },
        "required": ["city"],
    },
}


def test_a_two_part_format_is_read_from_the_doc() -> None:
    assert two_part_format({"type": "string", "description": CITY})
    assert two_part_format({"type": "string", "description": "Where, such as 'New York, NY'."})  # no "format"
    assert not two_part_format({"type": "string", "description": "A comma-separated list, e.g. 'Apple, Pear'."})
    assert not two_part_format({"type": "string", "description": "The city name."})
    assert not two_part_format({"type": "string", "enum": ["Berkeley, CA"], "description": CITY})
    assert not two_part_format({"type": "integer", "description": CITY})


def test_a_value_must_fit_the_documented_format() -> None:
    spec = {"type": "string", "description": CITY}
    bad_ones = (
        "twitter.com",
        "192.168.1.1",
        "api12345",
        "pin_key002",
        "City, Ireland",
        "34.05, -118.24",
        "VirusTotal",
        "IP 192.168.1.1",
        "Friday",
        "Emile go out this Friday night",
        "bla bla bla",
    )
    for bad in bad_ones:
        assert misfits_format(bad, spec, "tell me about it"), bad
    assert misfits_format("Berkeley, CA", spec, "who are you?")  # the doc's own example, unasked
    good_ones = (
        "Berkeley, CA",
        "san francisco",
        "3rd Street Cinema",
        "540 El Camino Real",
        "São Paulo, Brazil",
        "McAllen, TX",
        "DeKalb, IL",
        "Walla Walla, WA",
        "Paris france",
        "West Wind Capitol Drive-In theater",
    )
    for good in good_ones:
        assert not misfits_format(good, spec, "a salon near berkeley"), good
    assert not misfits_format("twitter.com", {"type": "string", "description": "The domain."}, "")  # no format
    assert made_up_strings({"city": "twitter.com"}, [{"from": "user", "value": "Salons on twitter.com?"}],
                           SALON["parameters"]) == ['"twitter.com"']  # fmt: skip  # held, but no place


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Engine:
    bundle = merged_bundle(tmp_path_factory.mktemp("formats") / "bundle", context_length=1024)
    with Engine.from_bundle(bundle, EngineOptions(threads=1)) as e:
        yield e


def _complete(engine: Engine, written: str, *, on: bool = True) -> tuple[list[ev.Event], str]:
    state = RunState(
        engine,
        ToolRegistry(tools_from_spec([SALON])),
        AgentConfig(complete_arguments=on),
        Path.cwd(),
        threading.Event(),
    )
    state.add_turn("user", "Find me a hair salon in New York.")
    thought = "I will look for salons in New York.\nNext: caller."
    state.add_turn("assistant", thought)
    prompt = caller_prompt(state, thought)
    events, text = drain(complete_formats(state, 1, prompt, written))
    return [e for e in events if not isinstance(e, ev.TokenDelta | ev.Timing)], text


WRITTEN = ' Action: find_salon\nAction Input: {"city": "New York", "style": "Bob"}'


def test_the_caller_writes_the_second_part(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    assert _complete(engine, WRITTEN, on=False) == ([], WRITTEN)  # off: the call stands
    done = ' Action: find_salon\nAction Input: {"city": "New York, NY"}'
    assert _complete(engine, done) == ([], done)  # already two parts

    monkeypatch.setattr(doc_formats, "MIN_LOGPROB", -math.inf)  # keep whatever the caller writes
    events, text = _complete(engine, WRITTEN)
    (completed,) = events  # "style" has a two-part example too, but it is no place ('Bob, short' is not capitalised)
    assert isinstance(completed, ev.ArgumentCompleted) and completed.accepted
    assert completed.parameter == "city" and completed.model_choice == "New York"
    second = completed.value.removeprefix("New York, ")
    assert second != completed.value and second[0].isupper() and second.lower() not in ("city", "state")
    assert parse_call(text.strip()).arguments == {"city": completed.value, "style": "Bob"}
    assert ev.from_dict(ev.to_dict(completed)) == completed

    monkeypatch.setattr(doc_formats, "MIN_LOGPROB", completed.logprob + 0.01)  # just surer than the caller was
    (rejected,) = _complete(engine, WRITTEN)[0]
    assert isinstance(rejected, ev.ArgumentCompleted) and not rejected.accepted
    assert rejected.logprob == completed.logprob and _complete(engine, WRITTEN)[1] == WRITTEN
