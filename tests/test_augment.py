"""Sample variation (issue 17, point 2): shuffled tools, distractors from BFCL's live functions, masked names;
and the plain-words variation of synthetic requests (point 3)."""

from __future__ import annotations

import json
import random
import re
from pathlib import Path

import pytest

from umi_edge.augment import OFF, AugmentOptions, augment, content_words
from umi_edge.formats.parse import parse_call
from umi_edge.formats.samples import role_samples
from umi_edge.formats.tooldoc import render_doc
from umi_edge.synth import phrasing
from umi_edge.synth.generate import synthesize, trajectory_record


@pytest.fixture(scope="module")
def trajs() -> list[dict]:
    eps = synthesize(40, seed=3)
    return [trajectory_record(ep, f"t{i}") for i, ep in enumerate(eps)]


def _calls(rec: dict) -> list:
    return [parse_call(t["value"]) for t in rec["conversations"] if t["from"] == "caller"]


def test_off_changes_nothing(trajs: list[dict]) -> None:
    for rec in trajs:
        assert augment(rec, OFF) == rec


def test_masking_is_consistent(trajs: list[dict]) -> None:
    opts = AugmentOptions(distractors=0, mask_share=1.0, drop_share=0.0)
    masked = 0
    for rec in trajs:
        out = augment(rec, opts)
        docs = {t["Name"]: t for t in out["tools"]}
        assert len(docs) == len(rec["tools"])
        for orig, call in zip(_calls(rec), _calls(out), strict=True):
            masked += 1
            assert call.name in docs and call.name.startswith("fn_") and call.name != orig.name
            assert set(call.arguments) <= set(docs[call.name]["input"])
            assert list(call.arguments.values()) == list(orig.arguments.values())
            # the description is what is left to read
            orig_doc = next(t for t in rec["tools"] if t["Name"] == orig.name)
            assert docs[call.name]["function"] == orig_doc["function"]
        text = json.dumps([t["value"] for t in out["conversations"] if t["from"] != "user"])
        for t in rec["tools"]:
            assert not re.search(r"(?<![\w.])" + re.escape(t["Name"]) + r"(?!\w)", text), t["Name"]
        role_samples(out)  # still valid samples
    assert masked > 20


def test_same_trajectory_same_variation(trajs: list[dict]) -> None:
    opts = AugmentOptions(distractors=0)
    assert [augment(r, opts) for r in trajs] == [augment(r, opts) for r in reversed(trajs)][::-1]
    orders = {tuple(t["Name"] for t in augment(r, opts)["tools"]) for r in trajs if len(r["tools"]) > 1}
    assert len(orders) > 1


def test_distractors_come_from_bfcl_and_do_not_fit_the_request(trajs: list[dict]) -> None:
    pytest.importorskip("bfcl_eval")
    from umi_edge.augment import distractor_pool

    pool = {t["Name"] for t in distractor_pool()}
    assert len(pool) > 500  # 724 distinct functions in bfcl-eval 2026.3.23
    opts = AugmentOptions(distractors=3, mask_share=0.0, drop_share=0.0, doc_chars=2400)
    added = 0
    for rec in trajs:
        out = augment(rec, opts)
        new = [t for t in out["tools"] if t["Name"] not in {x["Name"] for x in rec["tools"]}]
        assert len(new) <= 3 and all(t["Name"] in pool for t in new)
        for t in new:
            assert not content_words(t["Name"] + " " + t["function"]) & content_words(rec["instruction"])
        assert not new or len(render_doc(out["tools"])) <= 2400
        added += len(new)
        for call in _calls(out):  # the tool the caller uses is still offered
            assert call.name in {t["Name"] for t in out["tools"]}
    assert added > 10


def test_irrelevant_twins_give_up_beside_unrelated_tools(trajs: list[dict]) -> None:
    pytest.importorskip("bfcl_eval")
    from umi_edge.augment import IRRELEVANT, distractor_pool, irrelevant_twin, variants
    from umi_edge.formats.parse import parse_plan

    pool = {t["Name"] for t in distractor_pool()}
    opts = AugmentOptions(irrelevant_share=1.0, distractors=3)
    twins = 0
    for rec in trajs:
        twin = irrelevant_twin(rec, opts)
        if not _calls(rec):  # a direct answer or a give-up has no twin: no tool was right to begin with
            assert twin is None
            continue
        assert twin is not None and twin[IRRELEVANT]
        twins += 1
        names = {t["Name"] for t in twin["tools"]}
        assert names <= pool and not names & {t["Name"] for t in rec["tools"]} and 1 <= len(names) <= 3
        for t in twin["tools"]:
            assert not content_words(t["Name"] + " " + t["function"]) & content_words(rec["instruction"])
        assert twin["conversations"][0] == rec["conversations"][0]  # the same request, nothing invented after it
        assert len(twin["conversations"]) == 2
        assert parse_plan(twin["conversations"][1]["value"]).label == "give_up"
        samples = role_samples(twin)
        assert len(samples["planner"]) == 1 and not samples["caller"] and not samples["summarizer"]
        assert samples["planner"][0]["target"].endswith("Next: give up.")
        assert irrelevant_twin(rec, opts) == twin  # deterministic
        assert len(variants(rec, opts)) == 2
    assert twins > 20
    # the share is honoured, and 0 (or OFF) draws none
    drawn = sum(irrelevant_twin(r, AugmentOptions(irrelevant_share=0.3)) is not None for r in trajs)
    assert 0 < drawn < twins
    assert all(irrelevant_twin(r, AugmentOptions(irrelevant_share=0.0)) is None for r in trajs)
    assert all(len(variants(r, OFF)) == 1 for r in trajs)


def test_data_synth_writes_varied_samples(tmp_path: Path) -> None:
    from umi_edge.cli import main

    assert (
        main(
            ["data", "synth", "-o", str(tmp_path / "d"), "-n", "12", "--seed", "2", "--mask", "1", "--distractors", "0"]
        )
        == 0
    )
    rep = json.loads((tmp_path / "d" / "synth_report.json").read_text())
    assert rep["augment"]["mask_share"] == 1.0
    callers = [json.loads(line) for line in (tmp_path / "d" / "caller.jsonl").read_text().splitlines()]
    assert callers and all(parse_call(r["target"]).name.startswith("fn_") for r in callers)
    with pytest.raises(SystemExit):
        main(["data", "synth", "-o", str(tmp_path / "e"), "-n", "2", "--augment", "maybe"])
    assert main(["data", "synth", "-o", str(tmp_path / "e"), "-n", "2", "--mask", "2"]) == 2
    assert main(["data", "synth", "-o", str(tmp_path / "e"), "-n", "2", "--irrelevant", "-1"]) == 2


def test_irrelevant_option_adds_give_up_planner_samples(tmp_path: Path) -> None:
    pytest.importorskip("bfcl_eval")
    from umi_edge.cli import main

    def give_ups(share: str) -> tuple[int, int]:
        out = tmp_path / f"d{share}"
        assert main(["data", "synth", "-o", str(out), "-n", "20", "--seed", "4", "--irrelevant", share]) == 0
        planner = [json.loads(line) for line in (out / "planner.jsonl").read_text().splitlines()]
        callers = (out / "caller.jsonl").read_text().splitlines()
        return sum(r["target"].endswith("Next: give up.") for r in planner), len(callers)

    none, callers = give_ups("0")
    every, callers_with_twins = give_ups("1")
    assert every > none + 10  # one twin for each of the (most) trajectories that call a tool
    assert callers_with_twins == callers  # twins add no caller samples


def test_phrasing_keeps_values() -> None:
    q = "Read notes_2024.txt and add 17.5 to the 3 numbers for Alice."
    seen = set()
    for i in range(200):
        v = phrasing.vary(q, random.Random(i), "train")
        seen.add(v)
        for value in ("notes_2024.txt", "17.5", "Alice"):
            assert value in v, v
        assert "3" in v or "three" in v
    assert len(seen) > 20 and q in seen
    assert any("three" in v for v in seen) and any(v.startswith(("Please", "Could", "Can")) for v in seen)


def test_phrasing_keeps_the_expected_words() -> None:
    for i in range(100):
        v = phrasing.vary("Reply with just the word lantern.", random.Random(i), "train", keep="lantern")
        assert "lantern" in v
