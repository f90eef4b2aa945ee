"""The released static metrics, pinned by hand-computed cases (evaluate-multi_agent.py / evaluate-backbone.py)."""

from __future__ import annotations

import pytest

from umi_edge.eval.metrics import (
    ArgScore,
    Parsed,
    StepPair,
    arg_f1_step,
    compute,
    majority_plan_baseline,
    parse_backbone_output,
    parse_multi_output,
    rouge_l,
)

TOOLS = ("f", "g")


def test_parse_multi_reference_strings() -> None:
    call = 'assistant: I look it up.\n Next: caller.</s>caller: Action: f\nAction Input: {"a": 1}</s>'
    assert parse_multi_output(call) == Parsed("call", action="f", action_input='{"a": 1}')
    fin = "assistant: Done.\n Next: conclusion.</s>conclusion: It is 42.</s>"
    assert parse_multi_output(fin) == Parsed("finish", answer="It is 42.")
    assert parse_multi_output("No tool works.\n Next: give up.") == Parsed("give_up")


def test_parse_multi_prediction_quirks() -> None:
    # No 'Action:' -> 'none'; no 'Action Input:' -> '{}'; the LAST 'Action:' wins; give up beats everything.
    assert parse_multi_output("asssitant: x\n Next: caller.</s>caller: I dunno") == Parsed("call", "none", "{}")
    text = "asssitant: x</s>caller: Action: f\nAction: g\nAction Input: {}"
    assert parse_multi_output(text) == Parsed("call", "g", "{}")
    assert parse_multi_output("x Next: conclusion. Next: give up.").plan == "give_up"
    # A conclusion whose summarizer text repeats 'conclusion: ' keeps only what follows the last one.
    assert parse_multi_output("a: t Next: conclusion.</s>conclusion: a conclusion: b").answer == "b"


def test_parse_backbone() -> None:
    assert parse_backbone_output('Think.\nAction: f\nAction Input: {"q": "x"}') == Parsed("call", "f", '{"q": "x"}')
    assert parse_backbone_output("Think.\nconclusion: Paris.") == Parsed("finish", answer="Paris.")
    assert parse_backbone_output("Hopeless.\nconclusion: give up.") == Parsed("give_up")


def test_arg_f1_full_and_half_matches() -> None:
    # gold 3 keys; pred 4 keys: a equal (full), b different (half), c missing, d/e extra.
    # R = (1 + 0.5)/3 = 0.5, P = 1.5/4 = 0.375, F1 = 2*0.5*0.375/0.875 = 0.428571...
    s = arg_f1_step("f", "f", '{"a": 1, "b": 2, "c": 3}', '{"a": 1, "b": 5, "d": 0, "e": 0}')
    assert s.f1 == pytest.approx(3 / 7)
    assert s.hard == pytest.approx(3 / 7) and s.easy is None
    assert arg_f1_step("f", "f", '{"a": 1}', '{"a": 1}') == ArgScore(pytest.approx(1.0), None, pytest.approx(1.0))
    # only half matches: R = 0.5, P = 0.5 -> 0.5
    assert arg_f1_step("f", "f", '{"a": 1}', '{"a": 2}').f1 == pytest.approx(0.5)
    # Python equality: 1 == 1.0 is a full match
    assert arg_f1_step("f", "f", '{"a": 1}', '{"a": 1.0}').f1 == pytest.approx(1.0)


def test_arg_f1_empty_gold_rule() -> None:
    assert arg_f1_step("f", "f", "{}", "{}") == ArgScore(1.0, 1.0, None)
    assert arg_f1_step("f", "f", "{}", '{"x": 1}') == ArgScore(0.0, 0.0, None)
    assert arg_f1_step("f", "f", "{}", "not json") == ArgScore(0.0, 0.0, None)


def test_arg_f1_failures() -> None:
    # wrong tool: 0 into easy AND hard, whatever the gold arguments
    assert arg_f1_step("f", "g", '{"a": 1}', '{"a": 1}') == ArgScore(0.0, 0.0, 0.0)
    # gold arguments that are not JSON: the step does not count at all
    assert arg_f1_step("f", "f", "{oops", "{}") == ArgScore(None, None, None)
    # prediction not JSON / not an object / empty / no key in common
    assert arg_f1_step("f", "f", '{"a": 1}', "{'a': 1}") == ArgScore(0.0, None, 0.0)
    assert arg_f1_step("f", "f", '{"a": 1}', "[1]") == ArgScore(0.0, None, 0.0)
    assert arg_f1_step("f", "f", '{"a": 1}', "{}") == ArgScore(0.0, None, 0.0)
    assert arg_f1_step("f", "f", '{"a": 1}', '{"b": 1}') == ArgScore(0.0, None, 0.0)


def test_rouge_l_hand_computed() -> None:
    # LCS("the cat sat", "the cat on the mat") = 2: P = 2/3, R = 2/5, F = 0.5
    assert rouge_l("the cat sat", "the cat on the mat") == pytest.approx(0.5)
    assert rouge_l("The Cat.", "the cat") == pytest.approx(1.0)  # lowercased, punctuation dropped
    assert rouge_l("none", "Paris is the capital") == 0.0


def test_compute_hand_computed() -> None:
    call = Parsed("call", "f", '{"a": 1, "b": 2}')
    call_empty = Parsed("call", "g", "{}")
    fin = Parsed("finish", answer="the cat on the mat")
    give = Parsed("give_up")
    pairs = [
        StepPair(call, Parsed("call", "f", '{"a": 1, "b": 3}'), TOOLS),  # EM, F1: R=P=0.75 -> 0.75 (hard)
        StepPair(call, Parsed("call", "zzz", '{"a": 1}'), TOOLS),  # hallucinated, wrong tool: 0 easy+hard
        StepPair(call_empty, Parsed("call", "g", "{}"), TOOLS),  # EM, easy 1
        StepPair(call_empty, Parsed("finish", answer="x"), TOOLS),  # plan wrong, action 'none': 0 easy+hard
        StepPair(fin, Parsed("finish", answer="the cat sat"), TOOLS),  # R-L 0.5
        StepPair(fin, Parsed("call", "g", "{}"), TOOLS),  # plan wrong, answer 'none': R-L 0
        StepPair(give, Parsed("give_up"), TOOLS),
        StepPair(give, Parsed("call", "nope", "{}"), TOOLS),  # hallucinated
    ]
    m = compute(pairs)
    assert (m.steps, m.call_steps, m.finish_steps, m.give_up_steps) == (8, 4, 2, 2)
    assert m.plan_acc == pytest.approx(100 * 5 / 8)
    assert m.action_em == pytest.approx(100 * 2 / 4)
    assert m.hallu == pytest.approx(100 * 2 / 8)
    assert m.arg_f1 == pytest.approx(100 * (0.75 + 0 + 1 + 0) / 4)
    assert m.arg_f1_hard == pytest.approx(100 * (0.75 + 0 + 0) / 3)
    assert m.arg_f1_easy == pytest.approx(100 * (0 + 1 + 0) / 3)
    assert m.rouge_l == pytest.approx(100 * 0.25)


def test_compute_empty_buckets_are_none() -> None:
    m = compute([StepPair(Parsed("give_up"), Parsed("give_up"), TOOLS)])
    assert m.plan_acc == 100.0 and m.hallu == 0.0
    assert m.action_em is None and m.arg_f1 is None and m.rouge_l is None


def test_majority_baseline() -> None:
    assert majority_plan_baseline(["call", "call", "finish", "give_up"]) == ("call", 50.0)
    with pytest.raises(ValueError):
        majority_plan_baseline([])
