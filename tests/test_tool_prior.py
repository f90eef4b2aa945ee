"""The tool prior (``--tool-prior``): the caller's tool chosen by its log-probability plus the tools' lexical
relevance. Real llama.cpp runs of the untrained SmolLM2 bundle, with real tools."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from edge_bundles import merged_bundle

from umi_edge.agent import Agent, AgentConfig
from umi_edge.agent import events as ev
from umi_edge.engine import Engine, EngineOptions
from umi_edge.tools.ranking import tool_scores
from umi_edge.tools.registry import ToolRegistry, tool


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Engine:
    bundle = merged_bundle(tmp_path_factory.mktemp("prior") / "bundle", context_length=1024)
    with Engine.from_bundle(bundle, EngineOptions(threads=1)) as e:
        yield e


def _stepwise(engine: Engine, prompt: str, text: str) -> float:
    """The log-probability of ``text`` after ``prompt``, one token at a time from ``logits``."""
    role = engine.role("caller")
    ptoks, full = role.tokenize(prompt), role.tokenize(prompt + text)
    keep = next(i for i, (a, b) in enumerate(zip([*ptoks, -1], full, strict=False)) if a != b)
    total = 0.0
    for j in range(keep, len(full)):
        role.ingest(full[:j])
        row = np.array(role.ctx.get_logits_ith(-1)[: role.model.n_vocab()], dtype=np.float64)
        m = row.max()
        total += row[full[j]] - m - math.log(np.exp(row - m).sum())
    return total


def test_continuation_logprobs_are_the_token_by_token_sums(engine: Engine) -> None:
    prompt = "The capital of France is"
    texts = [" Paris.", " London, a city in England.", " Paris."]
    scores = engine.continuation_logprobs("caller", prompt, texts)
    assert scores[0] == pytest.approx(scores[2])  # the cache is cut back after each continuation
    for text, score in zip(texts, scores, strict=True):
        # batched and one-token decoding differ a little in llama.cpp's arithmetic
        assert score == pytest.approx(_stepwise(engine, prompt, text), rel=0.01, abs=1e-3)
    assert scores[0] > scores[1]
    # generating after scoring gives what it gives without scoring (the KV cache holds just the prompt)
    before = engine.complete("caller", prompt, max_tokens=6).text
    engine.continuation_logprobs("caller", prompt, texts)
    assert engine.complete("caller", prompt, max_tokens=6).text == before


@tool(effect="read")
def tide_times(harbour: str) -> dict:
    """High and low tide times at a sea harbour, for sailors and fishermen."""
    return {"high": "06:10", "low": "12:25"}


@tool(effect="read")
def book_price(title: str) -> dict:
    """The price of a book."""
    return {"price": 12}


def _caller_turn(
    engine: Engine, tmp_path: Path, weight: float, query: str, floor: float | None = None
) -> list[ev.Event]:
    """Step 1 of a run: the untrained planner's 8 tokens write no marker, so the caller is asked."""
    config = AgentConfig(
        max_steps=1,
        max_new_tokens={"planner": 8, "caller": 48, "summarizer": 8},
        tool_prior=weight,
        tool_prior_floor=floor,
    )
    agent = Agent(engine, ToolRegistry([book_price, tide_times]), workspace=tmp_path, config=config)
    return [e for e in agent.run(query) if not isinstance(e, ev.TokenDelta | ev.Timing)]


def test_the_prior_picks_the_tool_the_request_names(engine: Engine, tmp_path: Path) -> None:
    query = "When are the tides at the harbour of Brest? I sail tomorrow."
    assert tool_scores([book_price, tide_times], query)[0] == 0.0  # no word of the request is book_price's

    off = _caller_turn(engine, tmp_path, 0.0, query)
    assert not any(isinstance(e, ev.ToolChosen) for e in off)  # weight 0: the grammar offers both, as before

    weak = _caller_turn(engine, tmp_path, 1e-6, query)
    chosen = next(e for e in weak if isinstance(e, ev.ToolChosen))
    assert chosen.lexical == {"book_price": 0.0, "tide_times": 1.0}
    assert chosen.name == chosen.model_choice  # a negligible weight leaves the caller's own choice
    assert chosen.model_choice == "book_price", "the untrained caller prefers the right tool; pick another query"
    gap = chosen.logprobs[chosen.model_choice] - chosen.logprobs["tide_times"]
    call = next(e for e in weak if isinstance(e, ev.ToolCall))
    assert call.name == chosen.name  # the arguments are written for the chosen tool

    strong = _caller_turn(engine, tmp_path, gap + 1.0, query)
    chosen = next(e for e in strong if isinstance(e, ev.ToolChosen))
    call = next(e for e in strong if isinstance(e, ev.ToolCall))
    assert chosen.name == "tide_times" and call.name == "tide_times" and "harbour" in call.arguments
    assert ev.from_dict(ev.to_dict(chosen)) == chosen  # the event survives the transcript round trip


def test_below_the_floor_the_relevance_alone_chooses(engine: Engine, tmp_path: Path) -> None:
    query = "When are the tides at the harbour of Brest? I sail tomorrow."
    weak = _caller_turn(engine, tmp_path, 1e-6, query)
    chosen = next(e for e in weak if isinstance(e, ev.ToolChosen))
    assert chosen.name == "book_price" and not chosen.unsure  # the caller's own choice, as above
    best = max(chosen.logprobs.values())

    above = _caller_turn(engine, tmp_path, 1e-6, query, floor=best - 0.5)  # one name reaches the floor: as before
    chosen = next(e for e in above if isinstance(e, ev.ToolChosen))
    assert chosen.name == "book_price" and not chosen.unsure

    below = _caller_turn(engine, tmp_path, 1e-6, query, floor=best + 0.5)  # none does: the relevance decides
    chosen = next(e for e in below if isinstance(e, ev.ToolChosen))
    call = next(e for e in below if isinstance(e, ev.ToolCall))
    assert chosen.unsure and chosen.name == "tide_times" and call.name == "tide_times"
    assert chosen.model_choice == "book_price"
    assert ev.from_dict(ev.to_dict(chosen)) == chosen


def test_the_floor_option_reaches_the_config() -> None:
    import argparse

    from umi_edge.commands import _options as opt

    p = argparse.ArgumentParser()
    opt.add_agent_options(p)
    assert opt.agent_config(p.parse_args([])).tool_prior_floor == -4.0  # the default kept in session 29
    assert opt.agent_config(p.parse_args(["--tool-prior-floor", "-2.5"])).tool_prior_floor == -2.5
    assert opt.agent_config(p.parse_args(["--tool-prior-floor", "off"])).tool_prior_floor is None


def test_a_bad_floor_is_one_line_naming_the_option() -> None:
    import subprocess
    import sys

    proc = subprocess.run(
        [sys.executable, "-m", "umi_edge", "run", "--tool-prior-floor", "low", "hi"], capture_output=True, text=True
    )
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert "--tool-prior-floor: expected a number or 'off', got 'low'" in proc.stderr
