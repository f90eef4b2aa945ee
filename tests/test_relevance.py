"""The relevance gate: no call for a question none of whose content words an offered tool's doc holds. The words
themselves, the built-in tools' keywords, real runs (SmolLM2 on real llama.cpp) and the CLI switch."""

from __future__ import annotations

from pathlib import Path

import pytest
from edge_bundles import merged_bundle

from umi_edge.agent import Agent, AgentConfig, relevance
from umi_edge.agent import events as ev
from umi_edge.agent.relevance import content_words, doc_words, unheld_words
from umi_edge.cli import build_parser
from umi_edge.commands import _options as opt
from umi_edge.engine import Engine, EngineOptions
from umi_edge.tools.registry import ToolRegistry, builtin_registry, tool

RAN: list[str] = []


@tool(effect="read")
def fuel_needed(distance_km: float, litres_per_100km: float) -> dict:
    """Litres of fuel a car needs for a trip."""
    RAN.append("fuel")
    return {"litres": distance_km * litres_per_100km / 100}


@tool(effect="read", keywords="paint tin tins")
def wall_coats(area_m2: float, coats: int = 2) -> dict:
    """How much a wall takes."""
    return {"litres": area_m2 * coats / 10}


@tool(effect="read")
def run_pace(kilometres: float, minutes: float) -> dict:
    """Minutes per kilometre of a run."""
    return {"pace": minutes / kilometres}


def test_content_words_leave_out_asking_numbers_and_digits() -> None:
    assert content_words("Could you please tell me how much fuel I need for 340 km?") == ["fuel", "km"]
    assert content_words("What do I make in two and a half years?") == ["year"]
    assert content_words("What is 311*427-677?") == []
    assert content_words("What is 23 raised to the 2th power?") == ["raised", "power"]


def test_a_question_no_doc_speaks_of_is_unheld() -> None:
    tools = [fuel_needed, wall_coats]
    assert unheld_words(["What is the capital of France?"], tools) == ["capital", "france"]
    assert unheld_words(["Book me a table for two tonight."], tools) == ["book", "table", "tonight"]
    # a word of a doc, its stem ("running" / "run") or first five letters ("kilometers" / "kilometres") is enough
    assert unheld_words(["How many liters for a 95 km drive?"], tools) == []
    assert unheld_words(["How fast am I running?"], [run_pace]) == []
    assert unheld_words(["Time for 12 kilometers?"], [run_pace]) == []
    assert unheld_words(["Time for 12 miles?"], [run_pace]) == ["time", "mile"]
    assert unheld_words(["The car burns 7 litres every 100 km; trip of 520 km?"], tools) == []
    # keywords count, though the model never sees them
    assert unheld_words(["How many tins for 38 square metres?"], tools) == []
    assert "tin" not in doc_words(fuel_needed) and "tin" in doc_words(wall_coats)
    # no content word: not judged; a follow-up is judged with the questions before it
    assert unheld_words(["What is 2+2?"], tools) == []
    assert unheld_words(["How much fuel for 300 km?", "And for Oslo?"], tools) == []
    assert unheld_words(["And for Oslo?"], tools) == ["oslo"]
    assert unheld_words(["What is the capital of France?"], []) == ["capital", "france"]


@tool(effect="read")
def get_user_record(user_id: str, include_history: bool = False) -> dict:
    """Retrieve a user's record by its unique identifier, in the specified format."""
    return {"user": user_id}


def test_words_common_to_most_docs_show_no_fit() -> None:
    # "name" / "retrieve" / "user" are held by a fifth of all BFCL live docs: sharing one says nothing
    assert content_words("Retrieve the name of the user") == []
    assert unheld_words(["What is the name of your dog?"], [get_user_record]) == ["dog"]
    # a question of generic words only is not judged; a specific word of the doc still fits
    assert unheld_words(["Retrieve the user list"], [get_user_record]) == []
    assert unheld_words(["Show the history of user 42"], [get_user_record]) == []


@pytest.mark.parametrize(
    "question",
    [
        "Average 276, 74 and 404 for me.",
        "How many gibibytes is 1219 gigabytes?",
        "Increase 9860 by 9.6 percent.",
        "What is 85429 divided by 14?",
        "How often does the letter l show up in 'origami thistle'?",
        "What is 'glacier thistle cobalt' spelled backwards?",
        "Look at cascade.txt and give me the budget.",
        "What day of the week is 2025-03-14?",
        "Which employee has the highest salary in the staff table?",
    ],
)
def test_the_built_in_tools_keywords_hold_plain_requests(question: str) -> None:
    assert unheld_words([question], builtin_registry().tools()) == []


@pytest.mark.parametrize(
    "question", ["What is the capital of France?", "What's the weather in Bologna right now?", "Call Marco."]
)
def test_no_built_in_tool_speaks_of_the_world_outside(question: str) -> None:
    assert unheld_words([question], builtin_registry().tools()) != []


def _run(tmp_path: Path, query: str, gate: bool) -> tuple[Agent, list[object]]:
    """The untrained merged SmolLM2 bundle with ``fuel_needed``: its planner's 8 tokens write no marker, so the
    caller would be asked at step 1."""
    engine = Engine.from_bundle(merged_bundle(tmp_path / "bundle", context_length=1024), EngineOptions(threads=1))
    RAN.clear()
    with engine:
        config = AgentConfig(max_steps=1, max_new_tokens={"planner": 8, "caller": 24, "summarizer": 8})
        config.relevance_gate = gate
        config.grounded_calls = False  # the call itself is not judged here
        agent = Agent(engine, ToolRegistry([fuel_needed]), workspace=tmp_path, config=config)
        events = [e for e in agent.run(query) if not isinstance(e, ev.TokenDelta)]
    return agent, events


def test_the_run_gives_up_before_the_caller_when_no_tool_fits(tmp_path: Path) -> None:
    agent, events = _run(tmp_path, "What is the capital of France?", True)
    plan = next(e for e in events if isinstance(e, ev.PlanDecided))
    assert plan.label == "call"
    fits = [e for e in events if isinstance(e, ev.NoToolFits)]
    assert fits == [ev.NoToolFits(1, ["capital", "france"])]
    assert ev.from_dict(ev.to_dict(fits[0])) == fits[0]
    gave_up = [e for e in events if isinstance(e, ev.GaveUp)]
    assert len(gave_up) == 1 and "capital, france" in gave_up[0].reason
    assert not any(isinstance(e, ev.ToolCall) for e in events) and RAN == []
    assert agent.status == "gave_up"

    # off: the planner's call goes to the caller, and the tool runs
    agent, events = _run(tmp_path, "What is the capital of France?", False)
    assert any(isinstance(e, ev.ToolCall) for e in events) and not any(isinstance(e, ev.NoToolFits) for e in events)


def test_a_question_a_doc_speaks_of_goes_to_the_caller(tmp_path: Path) -> None:
    _, events = _run(tmp_path, "How much fuel for 340 km?", True)
    assert any(isinstance(e, ev.ToolCall) for e in events) and not any(isinstance(e, ev.NoToolFits) for e in events)


def test_the_switch_is_an_agent_option_and_an_eval_bfcl_option() -> None:
    parser = build_parser()
    for argv in (["run", "hello", "--no-relevance-gate"], ["eval", "bfcl", "irrelevance", "--no-relevance-gate"]):
        assert opt.agent_config(parser.parse_args(argv)).relevance_gate is False
    assert opt.agent_config(parser.parse_args(["run", "hello"])).relevance_gate is True


def test_the_generic_stems_are_those_the_live_train_split_gives() -> None:
    """GENERIC_DOC_STEMS is what benchmarks/generic_doc_words.py derives from BFCL live's train split (share 0.2)."""
    pytest.importorskip("bfcl_eval", reason="bfcl-eval is not installed (pip install --no-deps bfcl-eval==2026.3.23)")
    import importlib.util

    path = Path(__file__).resolve().parent.parent / "benchmarks" / "generic_doc_words.py"
    spec = importlib.util.spec_from_file_location("generic_doc_words", path)
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    stems, functions = mod.generic_stems(mod._entries(), 0.2)
    assert functions == 1626
    assert frozenset(stems) == relevance.GENERIC_DOC_STEMS
