"""Tool selection: BM25 ranking of ~60 tools for a request, the full list kept when it fits, top-k and a lowered k
when the docs do not fit a small context (the run goes on; ToolsSelected says so in --json and the transcript)."""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

import pytest
from edge_bundles import merged_bundle

from umi_edge.agent import Agent, AgentConfig, Transcript, TranscriptRecorder
from umi_edge.agent import events as ev
from umi_edge.agent.selection import docs_prompt_tokens, offer_tools
from umi_edge.agent.state import RunState
from umi_edge.cli import build_parser, main
from umi_edge.commands import _options as opt
from umi_edge.engine import Engine, EngineOptions
from umi_edge.tools.loading import default_registry
from umi_edge.tools.ranking import rank_tools, words
from umi_edge.tools.registry import ToolRegistry, builtin_registry

TOOLS50 = Path(__file__).resolve().parent.parent / "benchmarks" / "tools50.py"
FAST = {"planner": 24, "caller": 32, "summarizer": 16, "backbone": 32}


def _registry() -> ToolRegistry:
    """The 9 built-ins and the 50 typed functions of benchmarks/tools50.py, loaded as ``--tools`` loads them."""
    reg = default_registry([TOOLS50], entry_points=False)
    assert len(reg) == 59
    return reg


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Engine:
    d = merged_bundle(tmp_path_factory.mktemp("sel"), context_length=4096)
    eng = Engine.from_bundle(d, EngineOptions(threads=1))
    yield eng
    eng.close()


def _state(engine: Engine, registry: ToolRegistry, query: str, **config: Any) -> RunState:
    cfg = AgentConfig(**config)
    state = RunState(engine, registry, cfg, Path.cwd(), threading.Event())
    state.add_turn("user", query)
    return state


def test_words_split_names_and_cut_plurals() -> None:
    assert words("get_weatherForecast") == ["weather", "forecast"]
    assert words("Search the emails of HTTPServer") == ["search", "email", "http", "server"]


@pytest.mark.parametrize(
    "query, best",
    [
        ("What's the weather like in Paris today?", "get_weather"),
        ("Will it rain in Tokyo over the next 5 days? I need the forecast.", "get_weather_forecast"),
        ("Send an email to Bob saying the meeting moved", "send_email"),
        ("Find me a flight from London to Tokyo on 2025-05-01", "search_flights"),
        ("How far is it from Paris to London in kilometers?", "distance_between"),
        ("Is 7919 a prime number?", "is_prime"),
        ("What is the current share price of AAPL stock?", "get_stock_price"),
        ("Exchange 250 EUR to USD: which currency rate applies?", "convert_currency"),
        ("Read the file notes/todo.txt in my workspace", "read_file"),
        ("Convert 5 miles to km", "convert_units"),
        ("Write 1987 in Roman numerals", "roman_numerals"),
        ("What is the definition of the word serendipity?", "define_word"),
    ],
)
def test_ranking_puts_the_relevant_tool_first(query: str, best: str) -> None:
    ranked = [t.name for t in rank_tools(_registry().tools(), query)]
    assert ranked[0] == best, ranked[:5]


def test_ranking_without_matching_words_keeps_the_registry_order() -> None:
    reg = _registry()
    assert [t.name for t in rank_tools(reg.tools(), "the of and")] == reg.names()
    assert [t.name for t in rank_tools(reg.tools(), "zzzz qqqq")] == reg.names()


def test_the_full_list_is_kept_when_it_fits(engine: Engine) -> None:
    reg = builtin_registry()
    state = _state(engine, reg, "What is 17.5% of 2340?")
    assert list(offer_tools(state, "What is 17.5% of 2340?", ("planner", "caller"))) == []
    assert state.registry is reg  # same tools, same order: the prompt prefix (and its KV cache) does not change
    state = _state(engine, reg, "q", top_k=20)  # a k above the count keeps everything too
    assert list(offer_tools(state, "q", ("planner", "caller"))) == [] and state.registry is reg


def test_top_k_offers_the_ranked_tools_and_the_grammar_follows(engine: Engine) -> None:
    query = "Send an email to Bob saying the meeting moved"
    state = _state(engine, _registry(), query, top_k=3)
    (sel,) = list(offer_tools(state, query, ("planner", "caller")))
    assert isinstance(sel, ev.ToolsSelected)
    assert (sel.k, sel.total, sel.reason) == (3, 59, "--top-k 3") and sel.names[0] == "send_email"
    assert state.registry.names() == sel.names and sel.names[0] in state.names_text
    assert "search_flights" not in state.doc_text
    grammar = engine.tool_grammar((t.name, t.parameters) for t in state.registry.tools())
    assert "send_email" in grammar and "search_flights" not in grammar


def test_a_small_context_lowers_k_and_the_run_goes_on(tmp_path: Path) -> None:
    query = "What's the weather like in Paris today?"
    d = merged_bundle(tmp_path / "small", context_length=1024)
    with Engine.from_bundle(d, EngineOptions(threads=1)) as eng:
        reg = _registry()
        # every tool's docs would not fit at all: before selection this run failed at its first step
        assert docs_prompt_tokens(_state(eng, reg, query), "planner", reg.tools()) > eng.context_size("planner")
        rec = TranscriptRecorder.new(tmp_path / "sessions", {})
        config = AgentConfig(max_steps=1, max_new_tokens=dict(FAST))
        agent = Agent(eng, reg, workspace=tmp_path, config=config, recorder=rec)
        events = list(agent.run(query))
        rec.close()
    assert not [e for e in events if isinstance(e, ev.AgentError)], events
    sel = events[0]
    assert isinstance(sel, ev.ToolsSelected) and sel.step == 0
    assert 1 <= sel.k < sel.total == 59 and len(sel.names) == sel.k and sel.names[0] == "get_weather"
    assert sel.reason.startswith(f"lowered from 59 to {sel.k} to fit")
    assert agent.status == "max_steps" and any(isinstance(e, ev.Timing) and e.role == "planner" for e in events)
    for call in (e for e in events if isinstance(e, ev.ToolCall)):
        assert call.name in sel.names  # the caller's grammar holds only the offered tools
    assert agent.summary()["events"][0] == {"type": "ToolsSelected", **{k: getattr(sel, k) for k in vars(sel)}}
    assert Transcript.load(rec.path).typed_events()[0] == sel


def test_run_json_reports_the_selection(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bundle = merged_bundle(tmp_path / "b", context_length=1024)
    argv = ["run", "Is 7919 a prime number?", "--bundle", str(bundle), "--tools", str(TOOLS50), "--top-k", "2"]
    argv += ["--threads", "1", "--max-steps", "1", "--max-tokens", "16", "--json", "--no-transcript"]
    argv += ["--workspace", str(tmp_path)]
    assert main(argv) in (0, 1)
    doc = json.loads(capsys.readouterr().out)
    sel = next(e for e in doc["events"] if e["type"] == "ToolsSelected")
    assert (sel["k"], sel["total"], sel["reason"]) == (2, 59, "--top-k 2") and sel["names"][0] == "is_prime"


@pytest.mark.parametrize("command", [["run", "Q"], ["chat"], ["eval", "tasks", "FILE"]])
def test_top_k_is_one_agent_option(command: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    parser = build_parser()
    assert opt.agent_config(parser.parse_args([*command, "--top-k", "5"])).top_k == 5
    assert opt.agent_config(parser.parse_args(command)).top_k is None
    with pytest.raises(SystemExit):
        main([*command, "--top-k", "0"])
    assert "argument --top-k: expected a positive integer, got 0" in capsys.readouterr().err
