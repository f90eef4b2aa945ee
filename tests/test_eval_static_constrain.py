"""`umi-edge eval static --constrain`: the caller under the runtime's grammar over each dialogue's tools, on the real
SmolLM2 GGUF (untrained for α-UMi: it writes any name when free, only the dialogue's tools when constrained)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from edge_bundles import merged_bundle

from umi_edge.cli import main
from umi_edge.eval.report import static_markdown

SHORT_DIALOGUES = (53, 65)  # two short out-of-domain dialogues: (call, finish) and (call, give up)
BASE = ["--limit", "2", "--max-tokens", "48", "--threads", "1", "--no-progress"]


@pytest.fixture
def short_file(out_of_domain: Path, tmp_path: Path) -> Path:
    data = json.loads(out_of_domain.read_text(encoding="utf-8"))
    path = tmp_path / "ood_short.json"
    path.write_text(json.dumps([data[i] for i in SHORT_DIALOGUES]), encoding="utf-8")
    return path


@pytest.fixture
def bundle(tmp_path: Path) -> Path:
    return merged_bundle(tmp_path / "bundle", context_length=2048)


def _tool_names(path: Path) -> list[set[str]]:
    return [{t["Name"] for t in d["tools"]} for d in json.loads(path.read_text(encoding="utf-8"))]


def test_constrain_both_reports_both_protocols(
    short_file: Path, bundle: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    preds, report = tmp_path / "p.jsonl", tmp_path / "r.md"
    argv = ["eval", "static", str(short_file), "--bundle", str(bundle), "--constrain", "both", *BASE]
    assert main([*argv, "--predictions-out", str(preds), "--report", str(report), "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["protocol"] == "unconstrained" and list(summary["protocols"]) == ["unconstrained", "constrained"]
    assert summary["metrics"] == summary["protocols"]["unconstrained"]["metrics"]
    constrained = summary["protocols"]["constrained"]
    assert constrained["caller_cut_steps"] == constrained["grammar_unavailable_steps"] == 0
    assert constrained["metrics"]["hallu"] == 0.0
    names = _tool_names(short_file)
    records = [json.loads(line) for line in preds.read_text().splitlines()]
    assert len(records) == summary["steps"] == 4
    for r in records:
        other = r["other"]
        assert r["protocol"] == "unconstrained" and other["protocol"] == "constrained"
        assert ("caller" in other["raw"]) == (r["pred_plan"] == "call")
        assert other["raw"]["planner"] == r["raw"]["planner"]  # one planner turn serves both protocols
        if r["pred_plan"] == "call":  # the grammar allows only the dialogue's tools, with a JSON object
            assert other["pred_action"] in names[r["dialogue"]] and isinstance(other["pred_arguments"], dict)
            assert not other["hallucinated"]
    md = report.read_text()
    assert "unconstrained caller (the paper's protocol" in md and "grammar-constrained to the dialogue's tools" in md
    assert ", unconstrained caller** |" in md and ", constrained caller** |" in md


def test_constrain_alone_and_the_report_says_so(
    short_file: Path, bundle: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["eval", "static", str(short_file), "--bundle", str(bundle), *BASE]
    assert main([*argv, "--constrain", "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["protocol"] == "constrained" and list(summary["protocols"]) == ["constrained"]
    assert summary["metrics"]["hallu"] == 0.0 and summary["protocols"]["constrained"]["caller_cut_steps"] == 0
    md = static_markdown(summary, split="out", label="ours")
    assert "caller protocol: caller grammar-constrained" in md and "| **ours, constrained caller** |" in md


def test_constrain_is_refused_in_single_mode(short_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["eval", "static", str(short_file), "--bundle", "nowhere", "--single", "--constrain"]) == 2
    assert "--constrain applies to the multi-LLM caller" in capsys.readouterr().err


def test_paper_protocol_report_is_unchanged_but_named() -> None:
    m = {"plan_acc": 50.0, "action_em": 0.0, "hallu": 25.0, "arg_f1": 0.0, "rouge_l": 1.0}
    m |= {"arg_f1_easy": 0.0, "arg_f1_hard": 0.0, "call_steps": 2, "finish_steps": 1, "give_up_steps": 1}
    base = {
        "evaluated": {"label": "call", "plan_acc": 50.0, "steps": 4},
        "file": {"label": "call", "plan_acc": 74.1, "steps": 1547},
    }
    summary = {"file": "x.json", "mode": "multi", "dialogues": 2, "steps": 4, "metrics": m, "majority_baseline": base}
    summary |= {"wall_seconds": 1.0, "prompt_tokens": {"evaluated": 1, "reused": 0}, "generated_tokens": 1}
    old = static_markdown(summary, split="out", label="ours")  # a saved result from before protocols
    assert "| **ours** |" in old and "caller protocol" not in old
    summary["protocol"], summary["protocols"] = "unconstrained", {"unconstrained": {"metrics": m}}
    new = static_markdown(summary, split="out", label="ours")
    assert "| **ours** |" in new and "caller protocol: unconstrained caller (the paper's protocol" in new
