"""The call check: a bundle's ``checker`` role (a second caller) writes the question's first call too, and a made-up
value in its call stops the run. Real llama.cpp runs of the untrained SmolLM2 in every role; bundles with and without
the role; a run with a ``checker/`` folder converted into one."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest
from convert_fixtures import *  # noqa: F403 - fixtures: tiny_model_dir, tiny_run, ...
from edge_bundles import merged_bundle
from flows import drain

from umi_edge import bundle
from umi_edge.agent import AgentConfig
from umi_edge.agent import events as ev
from umi_edge.agent.call_check import applies, check_call, vote
from umi_edge.agent.caller import _renderer, write_call
from umi_edge.agent.generation import fit
from umi_edge.agent.state import RunState
from umi_edge.bundle import CHECKER
from umi_edge.engine import Engine, EngineOptions
from umi_edge.errors import UserError
from umi_edge.tools.registry import ToolRegistry, tool

THOUGHT = "I will order the pizzas.\nNext: caller."


@tool
def order_pizzas(count: int) -> dict:
    """Order pizzas.

    Args:
        count: How many pizzas.
    """
    return {"ordered": count}


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Engine:
    roles = ("planner", "caller", "summarizer", CHECKER)
    with Engine.from_bundle(
        merged_bundle(tmp_path_factory.mktemp("check") / "b", roles=roles), EngineOptions(threads=1)
    ) as e:
        yield e


def _state(engine: Engine, request: str, config: AgentConfig | None = None) -> RunState:
    state = RunState(engine, ToolRegistry([order_pizzas]), config or AgentConfig(), Path.cwd(), threading.Event())
    state.add_turn("user", request)
    state.add_turn("assistant", THOUGHT)
    return state


def _call(count: int) -> ev.ToolCall:
    raw = f'Action: order_pizzas\nAction Input: {{"count": {count}}}'
    return ev.ToolCall(1, "order_pizzas", {"count": count}, raw)


def test_a_made_up_value_in_the_checkers_call_is_the_verdict(engine: Engine) -> None:
    # "Order pizzas." holds no number: whatever count the checker writes is made up.
    state = _state(engine, "Order pizzas for the team.")
    events, verdict = drain(check_call(state, 1, THOUGHT, _call(2), write_call))
    assert isinstance(verdict, ev.CallChecked) and verdict.tool == "order_pizzas"
    assert verdict.made_up == [json.dumps(verdict.arguments["count"])]
    assert events[-1] == verdict
    timings = [e for e in events if isinstance(e, ev.Timing)]
    assert timings and {t.role for t in timings} == {CHECKER}  # the checker's generation, counted as its own
    assert not any(isinstance(e, ev.TokenDelta | ev.ArgumentChosen | ev.ToolChosen) for e in events)  # not shown
    assert state.caller_model == "caller"  # the caller writes the next call again


def test_a_grounded_checker_call_lets_the_call_through(engine: Engine) -> None:
    state = _state(engine, "Order 3 pizzas for the team.")
    _, verdict = drain(check_call(state, 1, THOUGHT, _call(3), write_call))
    assert verdict is not None and verdict.arguments == {"count": 3} and verdict.made_up == []


def test_when_the_check_applies(engine: Engine, tmp_path: Path) -> None:
    state = _state(engine, "Order pizzas for the team.")
    assert applies(state, _call(2))
    assert not applies(_state(engine, "Order pizzas.", AgentConfig(call_check=False)), _call(2))  # --no-call-check
    assert not applies(_state(engine, "Order pizzas.", AgentConfig(grounded_calls=False)), _call(2))
    assert not applies(state, ev.ToolCall(1, "order_pizzas", {"count": 2}, "", ungrounded=["2"]))  # stopped already
    assert not applies(state, ev.ToolCall(1, "order_pizzas", {}, "", valid=False))
    state.add_turn("caller", _call(2).raw)
    state.add_turn("observation", '{"ordered": 2}')
    assert not applies(state, _call(4))  # after an observation: only the question's first call is checked
    plain = Engine.from_bundle(merged_bundle(tmp_path / "plain"), EngineOptions(threads=1))
    with plain:
        assert not applies(_state(plain, "Order pizzas."), _call(2))  # no checker in the bundle
        assert drain(check_call(_state(plain, "Order pizzas."), 1, THOUGHT, _call(2), write_call)) == ([], None)


def _verdict(count: int, made_up: list[str] | None = None) -> ev.CallChecked:
    return ev.CallChecked(1, "order_pizzas", {"count": count}, made_up or [])


def test_the_vote_makes_the_call_both_callers_find_likelier(engine: Engine) -> None:
    state = _state(engine, "Order 3 or 4 pizzas for the team.", AgentConfig(call_vote=True))
    render = _renderer(state, THOUGHT)
    events, chosen = drain(vote(state, 1, render, _call(3), _verdict(4)))
    (voted,) = events
    assert isinstance(voted, ev.CallVoted)
    _, prompt = drain(fit(state, "caller", 1, render))
    texts = [" " + _call(3).raw, " " + _call(4).raw]
    own = [engine.continuation_logprobs(r, prompt, texts) for r in ("caller", CHECKER)]
    sums = [round(a + b, 3) for a, b in zip(*own, strict=True)]
    assert voted.scores == sums  # both models' log-probabilities of each call, summed
    winner = 4 if sums[1] > sums[0] else 3
    assert chosen.arguments == {"count": winner} and chosen.valid and chosen.ungrounded == []
    assert voted.chosen == ("checker" if winner == 4 else "caller")
    assert voted.arguments == {"count": 7 - winner}  # the call not made
    assert f"{sums[1]:g} against {sums[0]:g}" in voted.note and "order_pizzas" in voted.note  # what chat and run say
    _, again = drain(vote(state, 1, render, _call(4), _verdict(3)))  # the same two calls, the other way round
    assert again.arguments == {"count": winner}


def test_when_the_vote_keeps_the_callers_call(engine: Engine) -> None:
    state = _state(engine, "Order 3 or 4 pizzas for the team.", AgentConfig(call_vote=True))
    render = _renderer(state, THOUGHT)
    off = _state(engine, "Order 3 or 4 pizzas for the team.")  # call_vote is off by default
    assert drain(vote(off, 1, render, _call(3), _verdict(4))) == ([], _call(3))
    assert drain(vote(state, 1, render, _call(3), None)) == ([], _call(3))  # no check ran
    assert drain(vote(state, 1, render, _call(3), _verdict(3))) == ([], _call(3))  # the same call
    assert drain(vote(state, 1, render, _call(3), _verdict(5))) == ([], _call(3))  # 5: made up, not a candidate
    made_up = _verdict(5, ["5"])
    assert drain(vote(state, 1, render, _call(3), made_up)) == ([], _call(3))  # a stopped call is not voted on


def test_the_agent_gives_up_on_a_checked_call() -> None:
    from umi_edge.agent.agent import Agent, _Stop

    stop = Agent._stop_on_made_up(None, ev.ToolCall(1, "order_pizzas", {"count": 2}, "", checked=["2"]))  # type: ignore[arg-type]
    gave_up = next(stop)
    assert isinstance(gave_up, ev.GaveUp) and "call check" in gave_up.reason and "2" in gave_up.reason
    with pytest.raises(_Stop):
        next(stop)
    assert list(Agent._stop_on_made_up(None, _call(2))) == []  # type: ignore[arg-type]


def test_a_bundle_may_add_a_checker_role(tmp_path: Path) -> None:
    directory = merged_bundle(tmp_path / "b", roles=("planner", "caller", "summarizer", CHECKER))
    manifest, _ = bundle.load(directory)
    assert set(manifest.roles) == {"planner", "caller", "summarizer", CHECKER}
    data = json.loads((directory / "umi.json").read_text())
    data["roles"]["critic"] = data["roles"]["caller"]
    (directory / "umi.json").write_text(json.dumps(data))
    with pytest.raises(UserError, match=r"unknown role\(s\) \['critic'\]"):
        bundle.load(directory)
    single = merged_bundle(tmp_path / "s", roles=("backbone",))
    data = json.loads((single / "umi.json").read_text())
    data["roles"][CHECKER] = data["roles"]["backbone"]
    (single / "umi.json").write_text(json.dumps(data))
    with pytest.raises(UserError, match="unknown role"):
        bundle.load(single)  # a single-LLM bundle has no caller to check


def test_a_runs_checker_folder_becomes_the_bundles_checker(tmp_path: Path, tiny_run: Path) -> None:
    import shutil

    from umi_edge.convert import ConvertOptions, convert_run

    run = tmp_path / "run"
    shutil.copytree(tiny_run, run)
    shutil.copytree(run / "caller", run / CHECKER)
    report = convert_run(run, tmp_path / "out", ConvertOptions(quant="f16", verify=True, progress=False))
    manifest = report.manifest
    assert set(manifest.roles) == {"planner", "caller", "summarizer", CHECKER}
    checker, caller = manifest.roles[CHECKER].adapter, manifest.roles["caller"].adapter
    assert checker is not None and caller is not None and checker.sha256 == caller.sha256  # the same adapter
    with Engine.from_bundle(report.bundle_dir, EngineOptions(threads=1)) as e:
        assert CHECKER in e.roles


def test_eval_bfcl_records_the_checks_verdicts(tmp_path: Path) -> None:
    from umi_edge.eval.bfcl import bfcl_markdown, run_bfcl

    roles = ("planner", "caller", "summarizer", CHECKER)
    config = AgentConfig(max_steps=1)
    config.max_new_tokens = dict.fromkeys(config.max_new_tokens, 48)
    with Engine.from_bundle(merged_bundle(tmp_path / "b", roles=roles, context_length=2048), EngineOptions()) as e:
        out = run_bfcl(["simple_python"], e, config=config, limit=3).to_json()
        off = run_bfcl(["simple_python"], e, config=AgentConfig(max_steps=1, call_check=False), limit=1).to_json()
        voting = run_bfcl(["simple_python"], e, config=AgentConfig(max_steps=1, call_vote=True), limit=1).to_json()
    assert out["call_check"] is True and off["call_check"] is False
    assert voting["call_vote"] is True and out["call_vote"] is False
    assert "`--call-vote`" in bfcl_markdown(voting, label="t") and "`--call-vote`" not in bfcl_markdown(out, label="t")
    assert voting["categories"]["simple_python"]["checker_call_chosen"] == 0  # one model in both roles: no vote
    assert "`--no-call-check`: off" in bfcl_markdown(out, label="t") and "no-call-check" not in bfcl_markdown(
        off, label="t"
    )
    assert any(a["type"] == "CallChecked" for r in out["entries"] for a in r["adjusted"])  # the check ran
    checked = [r for r in out["entries"] if r["checked"] is not None]
    assert out["categories"]["simple_python"]["stopped_by_call_check"] == len(checked)
    for r in out["entries"]:
        verdicts = [a for a in r["adjusted"] if a["type"] == "CallChecked"]
        assert len(verdicts) <= 1  # only the question's first call is checked
        if r["checked"] is not None:  # withheld: no call scored, the withheld one and the checker's recorded
            assert not r["calls"] and r["checked"]["made_up"] == verdicts[0]["made_up"] != []
            assert r["checked"]["checker"] == {verdicts[0]["tool"]: verdicts[0]["arguments"]}
        elif verdicts:
            assert verdicts[0]["made_up"] == [] and r["calls"]  # a grounded verdict lets the call through


def test_the_options_turn_the_vote_on() -> None:
    import argparse

    from umi_edge.commands._options import add_agent_options, agent_config

    p = argparse.ArgumentParser()
    add_agent_options(p)
    assert agent_config(p.parse_args([])).call_vote is False
    assert agent_config(p.parse_args(["--call-vote"])).call_vote is True
