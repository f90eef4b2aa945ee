"""The agent loop on real llama.cpp (SmolLM2, untrained for this format): constrained calls to real tools,
max steps, prefix reuse across steps, history shortening, transcripts and resume, cancellation, approvals."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from edge_bundles import merged_bundle

from umi_edge.agent import Agent, AgentConfig, Transcript, TranscriptRecorder
from umi_edge.agent import events as ev
from umi_edge.agent.approval import decide, needs_approval
from umi_edge.agent.backbone import parse_backbone
from umi_edge.agent.history import ELIDED, fit_prompt
from umi_edge.engine import ContextOverflow, Engine, EngineOptions
from umi_edge.tools.registry import builtin_registry

FAST = {"planner": 40, "caller": 48, "summarizer": 32, "backbone": 48}


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Engine:
    d = merged_bundle(tmp_path_factory.mktemp("agent"), context_length=1024)
    eng = Engine.from_bundle(d, EngineOptions(threads=1))
    yield eng
    eng.close()


def _config(**kw) -> AgentConfig:
    return AgentConfig(max_new_tokens=dict(FAST), **kw)


def _agent(engine: Engine, tools: list[str], tmp_path: Path, **kw) -> Agent:
    reg = builtin_registry().subset(tools)
    cfg = kw.pop("config", None) or _config(max_steps=kw.pop("max_steps", 2))
    return Agent(engine, reg, workspace=tmp_path, config=cfg, **kw)


def test_constrained_call_reaches_a_real_tool_and_max_steps(engine: Engine, tmp_path: Path) -> None:
    config = _config(max_steps=2, answer_repeated_reads=False)  # the untrained roles may repeat the same call
    agent = _agent(engine, ["calculator"], tmp_path, config=config)
    events = list(agent.run("What is 17 times 3?"))
    assert isinstance(events[-1], ev.RunFinished)
    plans = [e for e in events if isinstance(e, ev.PlanDecided)]
    assert plans and plans[0].label == "call"  # the untrained planner writes no marker: official routing = caller
    calls = [e for e in events if isinstance(e, ev.ToolCall)]
    obs = [e for e in events if isinstance(e, ev.Observation)]
    assert calls and all(c.name == "calculator" for c in calls)  # the grammar allows nothing else
    assert len(obs) == len(calls)
    # the observation is the real calculator's answer to the call (error or result), as JSON
    for o in obs:
        assert isinstance(json.loads(o.content), dict)
    assert agent.status == "max_steps" and events[-1].status == "max_steps" and events[-1].step == 2
    roles = [t["from"] for t in agent.conversation]
    assert roles == ["user", "assistant", "caller", "observation", "assistant", "caller", "observation"]
    # prefix reuse: the second planner call evaluates only the new turns and the template's tail
    timings = [e for e in events if isinstance(e, ev.Timing) and e.role == "planner"]
    assert len(timings) == 2
    assert timings[1].prompt_reused > timings[0].prompt_tokens * 0.6
    assert timings[1].prompt_evaluated < timings[1].prompt_tokens / 2
    summary = agent.summary()
    assert summary["timings"]["roles"]["planner"]["calls"] == 2
    assert summary["timings"]["roles"]["caller"]["prompt_evaluated"] > 0


@pytest.mark.slow
def test_unconstrained_call_is_parsed_and_validated(engine: Engine, tmp_path: Path) -> None:
    agent = _agent(engine, ["calculator"], tmp_path, config=_config(max_steps=1, constrain=False))
    events = list(agent.run("What is 17 times 3?"))
    timing = [e for e in events if isinstance(e, ev.Timing) and e.role == "caller"]
    assert timing and timing[0].extra["constrained"] is False
    call = next(e for e in events if isinstance(e, ev.ToolCall))
    obs = next(e for e in events if isinstance(e, ev.Observation))
    if not call.valid:  # a failed call still yields an observation listing the valid tools
        assert obs.is_error and "calculator" in obs.content
        assert "Valid tools" in (call.problem or "") or "Invalid arguments" in (call.problem or "")


def test_cancel_stops_the_run(engine: Engine, tmp_path: Path) -> None:
    agent = _agent(engine, ["calculator"], tmp_path, max_steps=3)
    seen = []
    for e in agent.run("What is 2 + 2?"):
        seen.append(e)
        if isinstance(e, ev.TokenDelta):
            agent.cancel()
    kinds = [type(e).__name__ for e in seen]
    assert kinds[-2:] == ["Cancelled", "RunFinished"]
    assert agent.status == "cancelled" and "ToolCall" not in kinds
    # the agent can run again afterwards
    again = list(_agent(engine, ["calculator"], tmp_path, max_steps=1).run("What is 2 + 2?"))
    assert again[-1].status != "cancelled"


def test_transcript_written_as_it_goes_and_resumed(engine: Engine, tmp_path: Path) -> None:
    path = tmp_path / "sessions" / "s1.jsonl"
    rec = TranscriptRecorder(path, {"bundle": "test"})
    agent = _agent(engine, ["calculator"], tmp_path, max_steps=1, recorder=rec)
    events = [e for e in agent.run("What is 6 * 7?") if not isinstance(e, ev.TokenDelta)]
    t = Transcript.load(path)
    assert t.meta == {"bundle": "test"} and t.queries == ["What is 6 * 7?"]
    assert t.conversation == agent.conversation
    assert t.typed_events() == events and t.status == agent.status
    # resume: the next query continues the saved conversation, appended to the same file
    agent2 = _agent(engine, ["calculator"], tmp_path, max_steps=1, recorder=TranscriptRecorder(path))
    list(agent2.run("And 6 * 8?", history=t.conversation))
    rec.close()
    agent2.recorder.close()
    t2 = Transcript.load(path)
    assert t2.queries == ["What is 6 * 7?", "And 6 * 8?"]
    assert t2.conversation[: len(t.conversation)] == t.conversation
    assert t2.conversation[len(t.conversation)] == {"from": "user", "value": "And 6 * 8?"}
    # a JSON save round-trips; a crash mid-line keeps everything before it
    saved = t2.save(tmp_path / "s.json")
    assert Transcript.load(saved) == t2
    with path.open("a") as fh:
        fh.write('{"type": "turn", "from": "us')
    assert Transcript.load(path).conversation == t2.conversation


def test_approval_policy_and_denial(engine: Engine, tmp_path: Path) -> None:
    assert not needs_approval("read", "none")
    assert needs_approval("write", "none") and not needs_approval("write", "writes")
    assert needs_approval("exec", "writes") and not needs_approval("exec", "all")
    call = ev.ToolCall(1, "write_file", {"path": "a.txt", "content": "x"}, "", effect="write")
    assert decide(call, "write", "none", None) is False
    assert decide(call, "write", "none", lambda c: True) is True
    asked: list[ev.ToolCall] = []

    def deny(c: ev.ToolCall) -> bool:
        asked.append(c)
        return False

    ws = tmp_path / "ws"
    ws.mkdir()
    agent = _agent(engine, ["write_file"], ws, config=_config(max_steps=1, approve_policy="none"), approve=deny)
    events = list(agent.run("Write hello into the file a.txt"))
    call_ev = next(e for e in events if isinstance(e, ev.ToolCall))
    obs = next(e for e in events if isinstance(e, ev.Observation))
    assert call_ev.name == "write_file"
    if call_ev.valid:
        assert asked == [call_ev] and obs.denied and "denied" in obs.content
        assert list(ws.iterdir()) == []
    else:
        assert asked == [] and obs.is_error


def test_history_shortening_rule(engine: Engine) -> None:
    count = lambda p: engine.count_tokens("planner", p)  # noqa: E731
    render = lambda h: "HEAD\n" + h + "\nTAIL"  # noqa: E731
    body = json.dumps({"result": "lorem ipsum dolor sit amet " * 20})
    turns = [{"from": "user", "value": "Q"}]
    for i in range(3):
        turns += [
            {"from": "assistant", "value": f"step {i}\n Next: caller."},
            {"from": "caller", "value": f'Action: t\nAction Input: {{"i": {i}}}'},
            {"from": "observation", "value": body},
        ]
    full = count(render("".join(t["value"] for t in turns)))
    assert fit_prompt(turns, render, count, 10_000).rule is None
    # a little over budget: only the oldest observation body goes
    one = fit_prompt(turns, render, count, full - 50)
    assert one.rule is not None and "1 oldest" in one.rule and one.tokens <= full - 50
    assert one.prompt.count(ELIDED) == 1 and one.prompt.endswith(body + "\nTAIL")
    # far over budget: the two older bodies go, then the history is cut from the left; the newest stays
    tight = fit_prompt(turns, render, count, 150)
    assert tight.tokens <= 150 and "left" in tight.rule and tight.prompt.startswith("HEAD\n")
    assert tight.prompt.endswith("\nTAIL") and tight.tokens_before > 150
    with pytest.raises(ContextOverflow):
        fit_prompt(turns, lambda h: "X " * 400 + h, count, 100)


def test_agent_shortens_history_that_overflows(tmp_path: Path) -> None:
    big = json.dumps({"result": "word " * 500})
    history = [
        {"from": "user", "value": "Read the long file."},
        {"from": "assistant", "value": "Read it.\n Next: caller."},
        {"from": "caller", "value": 'Action: calculator\nAction Input: {"expression": "1+1"}'},
        {"from": "observation", "value": big},
    ]
    d = merged_bundle(tmp_path / "small", context_length=512)
    with Engine.from_bundle(d, EngineOptions(threads=1)) as eng:
        # the full record of the earlier question (the compact one would hold only its request)
        agent = _agent(eng, ["calculator"], tmp_path, config=_config(max_steps=1, history="full"))
        events = []
        for e in agent.run("What is 1 + 1?", history=history):
            events.append(e)
            if isinstance(e, ev.Timing):
                agent.cancel()  # one planner call is enough to see the rule applied
        short = [e for e in events if isinstance(e, ev.HistoryShortened)]
        assert short and short[0].role == "planner" and short[0].tokens_after < short[0].tokens_before
        assert short[0].tokens_after <= 512 - FAST["planner"] and "left" in short[0].rule
        timing = next(e for e in events if isinstance(e, ev.Timing))
        assert timing.prompt_tokens == short[0].tokens_after
        assert agent.status == "cancelled"


@pytest.mark.slow
def test_backbone_mode(tmp_path: Path) -> None:
    d = merged_bundle(tmp_path / "single", context_length=1024, roles=("backbone",))
    with Engine.from_bundle(d, EngineOptions(threads=1)) as eng:
        agent = Agent(eng, builtin_registry().subset(["calculator"]), workspace=tmp_path, config=_config(max_steps=1))
        assert agent.single
        events = list(agent.run("What is 3 + 4?"))
        assert any(isinstance(e, ev.PlanDecided) for e in events)
        assert {e.role for e in events if isinstance(e, ev.Timing)} == {"backbone"}
        assert events[-1].status in ("finished", "gave_up", "max_steps")


def test_single_on_a_multi_role_bundle_prompts_the_planner_model_as_the_backbone(
    engine: Engine, tmp_path: Path
) -> None:
    """``single=True`` on a three-role bundle: the backbone prompt, generated by the planner's model (as
    ``eval static --single`` does), so run, chat and eval give ``--single`` one meaning."""
    agent = Agent(engine, builtin_registry().subset(["calculator"]), workspace=tmp_path, config=_config(max_steps=1))
    single = Agent(
        engine, builtin_registry().subset(["calculator"]), workspace=tmp_path, config=_config(max_steps=1), single=True
    )
    assert single.single and not agent.single
    events = list(single.run("What is 3 + 4?"))
    assert {e.role for e in events if isinstance(e, ev.Timing)} == {"backbone"}
    assert events[-1].status in ("finished", "gave_up", "max_steps")
    assert single.conversation[0] == {"from": "user", "value": "What is 3 + 4?"}


@pytest.mark.parametrize(
    "text, label, answer, call",
    [
        ("I need the sum.\nAction: calculator\nAction Input: {}", "call", "", "Action: calculator\nAction Input: {}"),
        ("Done.\nconclusion: The answer is 7.", "finish", "The answer is 7.", ""),
        ("No tool fits.\nconclusion: give up.", "give_up", "", ""),
        ("just rambling", "call", "", "just rambling"),
    ],
)
def test_parse_backbone(text: str, label: str, answer: str, call: str) -> None:
    turn = parse_backbone(text)
    assert (turn.label, turn.answer, turn.call_text) == (label, answer, call)
