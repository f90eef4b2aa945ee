"""Follow-ups: a later question of a session that only makes sense after the one before is rewritten to stand
alone (a fragment replacing part of it, an operation on its answer, a question about its file), and independent
questions are left as written. The rules read only text; the runtime step runs on real llama.cpp (a tiny bundle)."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from edge_bundles import merged_bundle

from umi_edge.agent import Agent, AgentConfig
from umi_edge.agent import events as ev
from umi_edge.agent.follow_up import read_follow_up, standalone
from umi_edge.cli import build_parser
from umi_edge.commands._options import agent_config
from umi_edge.engine import Engine, EngineOptions
from umi_edge.synth.generate import draw_task, select_families
from umi_edge.tools.registry import builtin_registry


@pytest.mark.parametrize(
    ("before", "answer", "question", "kind", "text"),
    [
        ("Convert 12 miles to kilometres.", None, "And 30 miles?", "fragment", "Convert 30 miles to kilometres."),
        ("What is 15% of 360?", "54", "And 20% of it?", "fragment", "What is 20% of 360?"),
        ("How many pounds is 80 kg?", None, "What about 95 kg?", "fragment", "How many pounds is 95 kg?"),
        ("Convert 12 miles to kilometres.", None, "and 30 miles.", "fragment", "Convert 30 miles to kilometres."),
        ("What is 7 squared?", "49", "And cubed?", "fragment", "What is 7 cubed?"),
        (
            "What is the total salary of the Sales department in staff.db?",
            None,
            "And of the Support department?",
            "fragment",
            "What is the total salary of the Support department in staff.db?",
        ),
        ("What is 1250 divided by 4?", "1250 divided by 4 is 312.5.", "Now multiply that by 3.", "answer",
         "Multiply 312.5 by 3."),
        (
            "According to projects/titan.txt, who owns project Titan?",
            "Tomas Dubois.",
            "What is its budget?",
            "source",
            "According to projects/titan.txt, what is the budget of project Titan?",
        ),
        ("When does the train in notes/rome.txt leave?", "08:45", "From which platform?", "source",
         "According to notes/rome.txt, from which platform?"),
    ],
)  # fmt: skip
def test_follow_ups_are_read_to_stand_alone(
    before: str, answer: str | None, question: str, kind: str, text: str
) -> None:
    reading = read_follow_up(question, before, answer)
    assert reading is not None and (reading.kind, reading.text) == (kind, text)


def test_an_operation_on_the_answer_needs_one_new_number_in_it() -> None:
    assert read_follow_up("Now multiply that by 3.", "What is 1250 divided by 4?", None) is None  # not answered
    # the answer repeats the question's numbers and states two new ones: which one "that" is is unclear
    assert read_follow_up("Now multiply that by 3.", "What is 1250 divided by 4?", "312 remainder 2") is None


@pytest.mark.parametrize(
    ("before", "question"),
    [
        ("I need the room listed in archive/vortex.txt.", "How many items are in the shared directory?"),
        ("Open the file titan.txt: what is the status?", "Is it sunny in Aarhus today?"),
        ("Using staff.db, sum the Support salaries and add 12%.", "Reply with just the word biscuit."),
        ("What is 6 * 7?", "What is the capital of France?"),
        ("Convert 12 miles to kilometres.", "And what is 2 + 2?"),
    ],
)
def test_independent_questions_are_left_as_written(before: str, question: str) -> None:
    assert read_follow_up(question, before, "The answer is 42.") is None


def test_generated_task_pairs_are_left_as_written() -> None:
    """Consecutive requests of our generator (both splits, every family) are independent: none is read as a
    follow-up."""
    names = [t.name for t in builtin_registry().tools()]
    families = select_families(names)
    rng = random.Random(0)
    queries = [
        draw_task(rng, families, [1.0] * len(families), split, names).query
        for split in ("train", "heldout")
        for _ in range(300)
    ]
    pairs = zip(queries, queries[1:], strict=False)
    assert [q for a, q in pairs if read_follow_up(q, a, "The answer is 42.") is not None] == []


def test_standalone_reads_after_the_last_question_and_its_conclusion() -> None:
    turns = [
        {"from": "user", "value": "What is 1250 divided by 4?"},
        {"from": "conclusion", "value": "It is 312.5."},
        {"from": "user", "value": "Convert 12 miles to kilometres."},
        {"from": "conclusion", "value": "19.31 km."},
    ]
    reading = standalone(turns, "And 30 miles?")
    assert reading is not None and reading.text == "Convert 30 miles to kilometres."
    assert standalone([], "And 30 miles?") is None


def test_a_question_about_the_results_before_is_asked_of_their_file() -> None:
    read = '{"path": "notes/hotel.txt", "content": "Hotel Lumen\\nWifi: Lumen-Guest\\nCheckout: 11:00\\n"}'
    turns = [
        {"from": "user", "value": "What is the wifi network in notes/hotel.txt?"},
        {"from": "caller", "value": 'Action: read_file\nAction Input: {"path": "notes/hotel.txt"}'},
        {"from": "observation", "value": read},
        {"from": "conclusion", "value": "The wifi network is Lumen-Guest."},
    ]
    reading = standalone(turns, "What time is checkout?")
    assert reading is not None and reading.text == "According to notes/hotel.txt, what time is checkout?"
    # words only the results' keys hold ("content", "path"), or too few of the question's words, are not enough
    assert standalone(turns, "What is the content of the path?") is None
    assert standalone(turns, "Do shared saunas open before checkout?") is None
    assert standalone(turns[:1] + turns[3:], "What time is checkout?") is None  # no results: nothing refers back


def test_the_switch_turns_it_off() -> None:
    args = build_parser().parse_args(["run", "--no-follow-ups", "What is 2 + 2?"])
    assert agent_config(args).follow_ups is False
    assert agent_config(build_parser().parse_args(["run", "What is 2 + 2?"])).follow_ups is True


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Engine:
    d = merged_bundle(tmp_path_factory.mktemp("follow-ups"), context_length=1024)
    eng = Engine.from_bundle(d, EngineOptions(threads=1))
    yield eng
    eng.close()


@pytest.mark.parametrize("on", [True, False])
def test_the_run_asks_the_standalone_question(engine: Engine, tmp_path: Path, on: bool) -> None:
    config = AgentConfig(max_steps=1, follow_ups=on, max_new_tokens={"planner": 24, "caller": 32, "summarizer": 16})
    agent = Agent(engine, builtin_registry().subset(["calculator", "convert_units"]), workspace=tmp_path, config=config)
    history = [
        {"from": "user", "value": "Convert 12 miles to kilometres."},
        {"from": "conclusion", "value": "12 miles is 19.31 kilometres."},
    ]
    events = list(agent.run("And 30 miles?", history=history))
    read = [e for e in events if isinstance(e, ev.FollowUpRead)]
    user = agent.conversation[len(history)]
    if on:
        assert read == [ev.FollowUpRead(0, "And 30 miles?", "Convert 30 miles to kilometres.", "fragment")]
        assert user == {"from": "user", "value": "Convert 30 miles to kilometres."}
        assert read[0].note == "read as: Convert 30 miles to kilometres."
    else:
        assert read == [] and user == {"from": "user", "value": "And 30 miles?"}
    # a first question is never rewritten
    assert not any(isinstance(e, ev.FollowUpRead) for e in agent.run("And 30 miles?"))
