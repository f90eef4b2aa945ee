"""A call whose arguments hold a number that no source holds is not run: the check itself, and real runs (SmolLM2 on
real llama.cpp, the caller under the registry's grammar, a real tool)."""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any, Literal

from edge_bundles import merged_bundle
from flows import drain

from umi_edge.agent import Agent, AgentConfig
from umi_edge.agent import events as ev
from umi_edge.agent.caller import drop_unasked
from umi_edge.agent.grounding import (
    made_up_numbers,
    made_up_strings,
    made_up_values,
    unasked_flags,
    unasked_optionals,
)
from umi_edge.agent.state import RunState
from umi_edge.engine import Engine, EngineOptions
from umi_edge.formats.parse import parse_call
from umi_edge.numbers import word_numbers
from umi_edge.tools.registry import ToolRegistry, tool


def _user(text: str) -> dict[str, str]:
    return {"from": "user", "value": text}


def test_made_up_numbers_are_found() -> None:
    france = [_user("What is the capital of France?")]
    assert made_up_numbers({"wall_area_m2": 100, "coats": 2}, france) == ["100", "2"]
    assert made_up_numbers({"a": 7, "b": [7, {"c": 7.5}]}, france) == ["7", "7.5"]  # nested, each once
    assert made_up_numbers({"city": "Paris", "metric": True, "n": 1, "m": 0}, france) == []  # strings, bools, 0, 1


def test_numbers_the_sources_hold_are_grounded() -> None:
    turns = [
        _user("I have a cactus in a 1.5 litre pot. Tip 15% on a bill of 1,240.50 for two and a half people."),
        {"from": "assistant", "value": "Use 99. Next: caller."},  # a thought is not a source
        {"from": "observation", "value": '{"result": 3.14159, "room": "C385"}'},
    ]
    args = {"pot": 1.5, "tip": 0.15, "pct": 15, "bill": 1240.5, "people": 2.5, "pi": 3.14, "room": 385}
    assert made_up_numbers(args, turns) == []
    assert made_up_numbers({"x": 99, "y": 3.2}, turns) == ["99", "3.2"]
    doc = {"description": "Paint tins", "parameters": {"properties": {"coats": {"type": "integer", "default": 2}}}}
    assert made_up_numbers({"coats": 2}, [_user("Paint my wall")], doc) == []  # the tool's own default


def test_made_up_strings_are_found() -> None:
    australia = [_user("What is the capital of Australia?")]
    assert made_up_strings({"ticker": "AAPL", "exchange": "NASDAQ"}, australia) == ['"AAPL"', '"NASDAQ"']
    assert made_up_strings({"dates": ["2023-04-15", "2023-04-15"]}, australia) == ['"2023-04-15"']  # nested, once
    assert made_up_strings({"city": "Australia", "flag": True, "n": 3}, australia) == []  # held, or not a string


def test_strings_the_sources_hold_are_grounded() -> None:
    turns = [
        _user("Weather in San Francisco? Also 213 pounds in kilograms, a dictionary of two, 三个苹果"),
        {"from": "observation", "value": '{"files": ["notes/report.txt"]}'},
    ]
    args = {"city": "San Francisco, CA", "to": "kg", "kind": "dict", "fruit": "苹果", "path": "notes/report.txt"}
    assert made_up_strings(args, turns) == []
    assert made_up_strings({"expr": "sqrt(2)"}, turns) == []  # "two" holds 2
    assert made_up_strings({"expr": "1+1"}, [_user("Say hello.")]) == []  # 0 and 1, as for numbers
    schema = {"properties": {"unit": {"type": "string", "enum": ["celsius", "fahrenheit"]}}}
    assert made_up_strings({"unit": "fahrenheit"}, turns, schema) == []  # the parameter's own doc
    assert made_up_strings({"other": "fahrenheit"}, turns, schema) == ['"fahrenheit"']  # not another's
    long = "SELECT name FROM employees ORDER BY salary DESC LIMIT 1"
    assert made_up_strings({"sql": long}, [_user("Who earns most?")]) == []  # long strings are free
    assert made_up_values({"n": 7, "s": "zebra"}, [_user("hello")]) == ["7", '"zebra"']


def test_made_up_names_codes_and_urls_are_found() -> None:
    """Name-like strings joined from the request's or the doc's words, codes whose digits no source holds, and URL
    parts that no source holds are made up, even when every word of them is held."""
    order = [_user("Where is my order? I ordered sizes S and M.")]
    assert made_up_strings({"product_id": "order_id"}, order) == ['"order_id"']
    assert made_up_strings({"command": "help.display"}, [_user("Show me the help display")]) == ['"help.display"']
    assert made_up_strings({"email": "user@example.com"}, [_user("Update my user email")]) == ['"user@example.com"']
    bus = [_user("Find a bus from Sacramento to Los Angeles for 3 people")]
    assert made_up_strings({"departure_date": "2023-04-15"}, bus) == ['"2023-04-15"']
    url = "https://www.google.com/maps/api/geocode/details/my_place.html"
    assert made_up_strings({"url": url}, [_user("Where is the Google office in maps?")]) == [json.dumps(url)]


def test_names_codes_and_urls_the_sources_hold_are_grounded() -> None:
    turns = [
        _user("Read docs/onyx.txt and the report_2020.csv file, then mail bob@corp.example on 3 December 2019"),
        {"from": "observation", "value": '{"files": ["data/sales_q4.db"], "url": "https://api.example.com/v2/items"}'},
    ]
    args = {
        "path": "docs/onyx.txt",
        "csv": "Report_2020.csv",  # case aside, as written
        "db": "data/sales_q4.db",  # an observation's
        "to": "bob@corp.example",
        "date": "2019-12-03",  # "3 December 2019": the month name holds 12
        "url": "https://api.example.com/v2/items",
        "version": "v2",
    }
    assert made_up_strings(args, turns) == []
    schema = {"properties": {"mode": {"type": "string", "enum": ["fast_scan", "deep_scan"]}}}
    assert made_up_strings({"mode": "deep_scan"}, [_user("Scan deeply")], schema) == []  # the parameter's doc
    expr = {"expression": "1770 / 52 * 100"}  # an expression's constants are not values
    assert made_up_strings(expr, [_user("What share of 1770 is 52?")]) == []


def test_number_words() -> None:
    assert word_numbers("Three cats, a dozen eggs, two and a half years, a hundred") == [3, 12, 2.5, 100]
    assert word_numbers("forty-two rows, twenty one days, ninety-nine and a half") == [42, 21, 99.5]
    assert word_numbers("someone often tends to wonder") == []  # words inside words are not numbers


RAN: list[int] = []


@tool(effect="read")
def seat_count(rows: int) -> dict:
    """How many seats a hall with this many rows has."""
    RAN.append(rows)
    return {"seats": rows * 20}


def _run(tmp_path: Path, grounded: bool, query: str) -> tuple[Agent, list[ev.Event]]:
    """The untrained merged SmolLM2 bundle with ``seat_count`` as its one tool: the planner's 8 tokens write no
    marker, so the caller is asked at step 1, and its grammar lets it write only ``seat_count`` with an integer."""
    engine = Engine.from_bundle(merged_bundle(tmp_path / "bundle", context_length=1024), EngineOptions(threads=1))
    RAN.clear()
    with engine:
        config = AgentConfig(max_steps=1, max_new_tokens={"planner": 8, "caller": 24, "summarizer": 8})
        config.grounded_calls = grounded
        config.relevance_gate = False  # the questions are unrelated on purpose: the caller must be asked
        agent = Agent(engine, ToolRegistry([seat_count]), workspace=tmp_path, config=config)
        events = [e for e in agent.run(query) if not isinstance(e, ev.TokenDelta)]
    return agent, events


def test_a_made_up_call_is_not_run_and_the_run_gives_up(tmp_path: Path) -> None:
    query = "What is the capital of France?"
    agent, events = _run(tmp_path, True, query)
    call = next(e for e in events if isinstance(e, ev.ToolCall))
    rows = call.arguments["rows"]
    assert rows not in (0, 1), "the untrained caller wrote an always-allowed number; pick another query"
    assert call.valid and call.ungrounded == [json.dumps(rows)]
    assert RAN == [] and not any(isinstance(e, ev.Observation) for e in events)
    gave_up = [e for e in events if isinstance(e, ev.GaveUp)]
    assert len(gave_up) == 1 and f"seat_count holds {rows}" in gave_up[0].reason
    assert agent.status == "gave_up" and events[-1].status == "gave_up"
    assert ev.from_dict(ev.to_dict(call)) == call  # the field survives the transcript round trip

    # with the check off, the made-up call runs
    agent, events = _run(tmp_path, False, query)
    assert RAN == [rows] and agent.status != "gave_up"


def test_a_number_the_request_spells_out_is_grounded(tmp_path: Path) -> None:
    agent, events = _run(tmp_path, True, "How many seats are in a hall with forty-two rows?")
    call = next(e for e in events if isinstance(e, ev.ToolCall))
    assert call.arguments == {"rows": 42} and call.ungrounded == []
    assert RAN == [42] and not any(isinstance(e, ev.GaveUp) for e in events)


@tool(effect="read")
def share_price(ticker: str) -> dict:
    """The latest price of a company's shares, by stock ticker symbol."""
    RAN.append(1)
    return {"price": 10}


@tool(effect="read")
def thermostat(unit: Literal["celsius", "fahrenheit"]) -> dict:
    """The room temperature in the given unit."""
    RAN.append(2)
    return {"temperature": 21}


def _string_run(tmp_path: Path, tools: list[Any], query: str) -> list[ev.Event]:
    engine = Engine.from_bundle(merged_bundle(tmp_path / "bundle", context_length=1024), EngineOptions(threads=1))
    RAN.clear()
    with engine:
        config = AgentConfig(max_steps=1, max_new_tokens={"planner": 8, "caller": 32, "summarizer": 8})
        config.relevance_gate = False  # the questions are unrelated on purpose: the caller must be asked
        agent = Agent(engine, ToolRegistry(tools), workspace=tmp_path, config=config)
        return [e for e in agent.run(query) if not isinstance(e, ev.TokenDelta)]


def test_a_made_up_string_is_not_run(tmp_path: Path) -> None:
    """The untrained caller copies the doc's placeholder ("string, required") as the ticker: no source holds it."""
    events = _string_run(tmp_path, [share_price], "What is the capital of France?")
    call = next(e for e in events if isinstance(e, ev.ToolCall))
    assert call.valid and call.ungrounded and call.ungrounded == [json.dumps(call.arguments["ticker"])]
    assert RAN == [] and any(isinstance(e, ev.GaveUp) for e in events)


def test_a_string_of_the_parameters_doc_is_grounded(tmp_path: Path) -> None:
    events = _string_run(tmp_path, [thermostat], "How warm is it in here?")
    call = next(e for e in events if isinstance(e, ev.ToolCall))
    assert call.arguments["unit"] in ("celsius", "fahrenheit") and call.ungrounded == []
    assert RAN == [2] and not any(isinstance(e, ev.GaveUp) for e in events)


@tool(effect="read")
def room_temperature(room: str, unit: Literal["celsius", "fahrenheit"] = "celsius") -> dict:
    """The temperature of a room in the given unit."""
    return {"temperature": 21}


def test_an_optional_value_only_the_doc_holds_is_left_out(tmp_path: Path) -> None:
    kitchen = [_user("How warm is the kitchen?")]
    schema = room_temperature.parameters
    fahrenheit = {"room": "kitchen", "unit": "fahrenheit"}
    assert unasked_optionals(fahrenheit, kitchen, schema) == ["unit"]
    assert unasked_optionals(fahrenheit, [_user("Kitchen, in Fahrenheit?")], schema) == []  # asked for
    assert unasked_optionals({"room": "hall", "unit": "kelvin"}, kitchen, schema) == []  # made up: stopped instead
    written = ' Action: room_temperature\nAction Input: {"room": "kitchen", "unit": "fahrenheit"}'
    engine = Engine.from_bundle(merged_bundle(tmp_path / "bundle", context_length=1024), EngineOptions(threads=1))
    with engine:
        state = RunState(engine, ToolRegistry([room_temperature]), AgentConfig(), tmp_path, threading.Event())
        state.add_turn("user", kitchen[0]["value"])
        flow = drop_unasked(state, 1, written)
        events: list[ev.Event] = []
        while True:
            try:
                events.append(next(flow))
            except StopIteration as done:
                text = done.value
                break
        assert events == [ev.ArgumentDropped(1, "unit", "fahrenheit")]
        assert parse_call(text.strip()).arguments == {"room": "kitchen"}
        state.config.grounded_calls = False  # the check is off: the call stands
        assert list(drop_unasked(state, 1, written)) == []


@tool(effect="read")
def project_files(project: str, include_hidden: bool = False, recursive: bool = False, sorted: bool = True) -> dict:
    """The files of a project.

    Args:
        project: The project's name.
        include_hidden: List hidden files too.
        recursive: Go into every folder.
        sorted: Sort the names.
    """
    return {"files": ["a.txt"]}


def test_a_flag_the_request_does_not_ask_for_is_unasked() -> None:
    schema = project_files.parameters
    flags = {"project": "orion", "include_hidden": True, "recursive": True, "sorted": True}
    assert unasked_flags(flags, "List the files of project orion", schema) == ["include_hidden", "recursive"]
    assert unasked_flags(flags, "List orion's files, hidden ones too", schema) == ["recursive"]  # "hidden" is asked
    assert unasked_flags(flags, "Files of orion, recursively please", schema) == ["include_hidden"]  # same stem
    assert unasked_flags({"project": "orion", "recursive": False}, "List orion", schema) == []  # false: the default
    required = {**schema, "required": ["project", "recursive"]}
    assert unasked_flags(flags, "List the files of project orion", required) == ["include_hidden"]  # required stays


def test_unasked_flags_are_left_out_of_a_questions_first_call_only(tmp_path: Path) -> None:
    written = ' Action: project_files\nAction Input: {"project": "orion", "recursive": true}'
    engine = Engine.from_bundle(merged_bundle(tmp_path / "bundle", context_length=1024), EngineOptions(threads=1))
    with engine:
        state = RunState(engine, ToolRegistry([project_files]), AgentConfig(), tmp_path, threading.Event())
        state.add_turn("user", "List the files of project orion")
        events, text = drain(drop_unasked(state, 1, written))
        assert events == [ev.ArgumentDropped(1, "recursive", "True", "flag")]
        assert parse_call(text.strip()).arguments == {"project": "orion"}
        state.add_turn("assistant", "I will list the files.\nNext: caller.")
        state.add_turn("caller", 'Action: project_files\nAction Input: {"project": "orion"}')
        state.add_turn("observation", '{"files": []}')  # nothing found: a recursive listing is how to recover
        assert drain(drop_unasked(state, 2, written)) == ([], written)


def test_confused_strings_are_made_up() -> None:
    login = [_user("Log me in, my username is john_doe")]
    assert made_up_values({"username": "john_doe", "password": "john_doe"}, login) == ['"john_doe"']
    todo = [_user("Go shopping at 9 pm")]
    thought = "I will add 9 pm to the list."
    assert made_up_values({"content": thought}, todo) == [json.dumps(thought)]  # the plan, not the user's words
    assert made_up_values({"content": "I will be late"}, [_user("Write 'I will be late' to note.txt")]) == []
    assert made_up_values({"a": 5, "b": 5, "x": "kg", "y": "km"}, [_user("5 kg plus 5 kg in km?")]) == []


def test_a_copied_doc_example_is_made_up() -> None:
    plant = {"type": "string", "description": 'Kind, e.g. "cactus", "fern".'}
    unit = {"type": "string", "description": "The unit, e.g. 'lb', 'kg'."}
    doc = {"parameters": {"properties": {"plant": plant, "unit": unit}}}
    salary = [_user("If someone makes 4100 a month, how much is that over 9 months?")]
    assert made_up_values({"plant": "cactus"}, salary, doc) == ['"cactus"']  # only the doc's illustration holds it
    assert made_up_values({"plant": "cactus"}, [_user("Water my cacti?")], doc) == []  # "cact…": the request's
    assert made_up_values({"unit": "lb"}, [_user("150 pounds in kilograms?")], doc) == []  # a unit's symbol
