"""The grounded summarizer (numbers only from the request and observations) and the compact record of a
session's earlier questions (issue 17, points 3 and 5), on real llama.cpp with SmolLM2."""

from __future__ import annotations

from pathlib import Path

import pytest
from edge_bundles import merged_bundle

from umi_edge.agent import Agent, AgentConfig
from umi_edge.agent.earlier import compact, prompt_turns
from umi_edge.agent.grounding import allowed_numbers
from umi_edge.engine import Engine, EngineOptions
from umi_edge.engine.grammar import grounded_text_grammar
from umi_edge.eval.matching import ungrounded_numbers
from umi_edge.numbers import number_texts, spellings
from umi_edge.tools.registry import builtin_registry


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Engine:
    eng = Engine.from_bundle(
        merged_bundle(tmp_path_factory.mktemp("ground"), context_length=1024), EngineOptions(threads=1)
    )
    yield eng
    eng.close()


def test_spellings() -> None:
    assert {"1234.56", "1,234.56", "1234.6", "1,234.560", "1235", "1,235"} <= spellings("1234.56")
    assert {"3.14", "3.142", "3.1", "3"} <= spellings("3.14159")
    assert spellings("-7") >= {"7"} and "-7" not in spellings("-7")
    assert spellings("03") >= {"03", "3"}


def test_allowed_numbers_read_user_turns_and_observations_only() -> None:
    turns = [
        {"from": "user", "value": "What is 15% of 360?"},
        {"from": "assistant", "value": "I will compute 999.\n Next: caller."},
        {"from": "observation", "value": '{"result": 54.0}'},
    ]
    allowed = allowed_numbers(turns)
    assert allowed is not None and {"15", "360", "54", "54.0"} <= allowed and "999" not in allowed
    coded = allowed_numbers([{"from": "observation", "value": "Room: C385, due 2019-12-03 at 14:30"}])
    assert coded is not None and {"385", "2019-12-03", "2019", "12", "03", "14:30", "14", "30"} <= coded
    many = [{"from": "observation", "value": " ".join(str(i * 1.5) for i in range(3000))}]
    assert allowed_numbers(many) is None


def test_grammar_writes_only_allowed_numbers(engine: Engine) -> None:
    """A real model asked to make numbers up can only write the allowed ones, never glued into new ones."""
    allowed = spellings("54") | spellings("360")
    gbnf = engine.text_grammar(allowed)
    prompt = "system: Count from 1 to 30, then list prices like $111.11, 4,500 and 3.75:\n 1, 2, 3,"
    free = "".join(engine.generate("summarizer", prompt, max_tokens=60, stop=()))
    assert ungrounded_numbers(free, ["54 360"]), f"the prompt does not tempt the model: {free!r}"
    text = "".join(engine.generate("summarizer", prompt, grammar=gbnf, max_tokens=60, stop=()))
    assert not ungrounded_numbers(text, ["54 360"]), text
    assert all(t.lstrip("+-") in allowed for t in number_texts(text)), text
    assert grounded_text_grammar([]) == "root ::= [^0-9]*\n"


def test_compact_record_of_earlier_questions() -> None:
    turns = [
        {"from": "user", "value": "What is 15% of 360?"},
        {"from": "assistant", "value": "Compute it.\n Next: caller."},
        {"from": "caller", "value": 'Action: calculator\nAction Input: {"expression": "0.15*360"}'},
        {"from": "observation", "value": '{"result": 54.0}'},
        {"from": "assistant", "value": "It is 54.\n Next: conclusion."},
        {"from": "conclusion", "value": "15% of 360 is 54."},
        {"from": "user", "value": "Book a flight."},
        {"from": "assistant", "value": "No tool books flights.\n Next: give up."},
        {"from": "user", "value": "Hello"},
    ]
    assert compact(turns) == [
        {"from": "user", "value": "What is 15% of 360?"},
        {"from": "conclusion", "value": "15% of 360 is 54."},
        {"from": "user", "value": "Book a flight."},
        {"from": "conclusion", "value": "give up."},
        {"from": "user", "value": "Hello"},
    ]
    now = [{"from": "user", "value": "What is the weather in Paris?"}]
    assert prompt_turns(turns + now, len(turns), "full") == turns + now
    assert prompt_turns(turns + now, len(turns), "compact") == compact(turns) + now
    assert prompt_turns(turns + now, len(turns), "none", "planner") == now
    for role in ("planner", "backbone"):  # the roles that plan see the compact record in "planner" mode
        assert prompt_turns(turns + now, len(turns), "planner", role) == compact(turns) + now
    for role in ("caller", "summarizer"):
        assert prompt_turns(turns + now, len(turns), "planner", role) == now
        assert prompt_turns(turns + now, len(turns), "compact", role) == compact(turns) + now


def test_second_question_prompts_hold_the_compact_record(engine: Engine, tmp_path: Path) -> None:
    reg = builtin_registry().subset(["calculator"])
    fast = {"planner": 24, "caller": 32, "summarizer": 16, "backbone": 32}
    first = Agent(engine, reg, workspace=tmp_path, config=AgentConfig(max_steps=2, max_new_tokens=fast))
    list(first.run("What is 15% of 360?"))
    history = list(first.conversation)
    assert len(history) > 2
    from umi_edge.formats.history import serialize_history
    from umi_edge.formats.prompts import build_input, model_prompt
    from umi_edge.formats.tooldoc import render_doc, tool_names

    docs = reg.alpha_umi_docs()
    query = {"from": "user", "value": "What is the weather in Paris?"}
    tokens = {}
    for mode, expect in (("compact", compact(history)), ("full", history), ("planner", compact(history)), ("none", [])):
        cfg = AgentConfig(max_steps=1, max_new_tokens=fast, history=mode)
        agent = Agent(engine, reg, workspace=tmp_path, config=cfg)
        list(agent.run(query["value"], history=history))
        assert agent.conversation[: len(history)] == history  # the transcript keeps every turn
        timing = next(e for e in agent.events if type(e).__name__ == "Timing" and e.role == "planner")
        text = serialize_history([*expect, query])
        want = model_prompt(build_input("planner", doc=render_doc(docs), history=text, tool_names=tool_names(docs)))
        assert timing.prompt_tokens == engine.count_tokens("planner", want), mode
        tokens[mode] = timing.prompt_tokens
    assert tokens["none"] < tokens["compact"] == tokens["planner"] < tokens["full"]
