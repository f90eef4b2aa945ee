"""``umi-edge train`` bad input: one-line error, exit status 2, nothing left behind."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from tiny import tiny_data_dir, tiny_model_dir  # noqa: F401

from umi_edge.cli import main
from umi_edge.commands.train import STAGES

pytest.importorskip("torch")


def _run(capsys, *argv: str) -> tuple[int, str]:
    capsys.readouterr()
    rc = main(["train", *argv])
    err = capsys.readouterr().err
    return rc, err


def _assert_error(rc: int, err: str, *needles: str) -> None:
    assert rc == 2, err
    lines = [ln for ln in err.splitlines() if ln.startswith("umi-edge: error:")]
    assert len(lines) == 1 and "Traceback" not in err, err
    for n in needles:
        assert n in lines[0], (n, lines[0])


def test_bad_config(tmp_path, capsys, tiny_model_dir, tiny_data_dir):  # noqa: F811
    run = tmp_path / "run"
    base = ["--base", str(tiny_model_dir), "--data", str(tiny_data_dir), "-o", str(run)]
    cases = {
        "unknown.toml": ("learning_rate = 1e-4\n", ["unknown.toml", "learning_rate"]),
        "broken.toml": ("max_length = [\n", ["broken.toml", "invalid TOML"]),
        "type.yaml": ("batch_size: four\n", ["type.yaml", "batch_size", "integer"]),
        "stage.toml": ("[stage.critic]\nlr = 1.0\n", ["stage.critic", "unknown stage"]),
        "range.yml": ("lora:\n  r: 0\n", ["range.yml", "lora.r"]),
        "config.json": ("{}", ["config.json", ".toml"]),
    }
    for name, (text, needles) in cases.items():
        (tmp_path / name).write_text(text)
        rc, err = _run(capsys, *base, "--config", str(tmp_path / name))
        _assert_error(rc, err, *needles)
    _assert_error(*_run(capsys, *base, "--config", str(tmp_path / "absent.toml")), "absent.toml", "not found")
    assert not run.exists()


def test_bad_data_base_stage_device(tmp_path, capsys, tiny_model_dir, tiny_data_dir):  # noqa: F811
    run = tmp_path / "run"
    model, data = str(tiny_model_dir), str(tiny_data_dir)
    _assert_error(*_run(capsys, "--base", model, "--data", str(tmp_path / "nope"), "-o", str(run)), "nope", "not found")
    partial = tmp_path / "partial"
    partial.mkdir()
    (partial / "backbone.jsonl").write_text((tiny_data_dir / "backbone.jsonl").read_text())
    _assert_error(
        *_run(capsys, "--base", model, "--data", str(partial), "-o", str(run)), "planner.jsonl", "caller.jsonl"
    )
    bad = tmp_path / "bad"
    bad.mkdir()
    for role in ("backbone", "planner", "caller", "summarizer"):
        (bad / f"{role}.jsonl").write_text((tiny_data_dir / f"{role}.jsonl").read_text())
    lines = (bad / "caller.jsonl").read_text().splitlines()
    lines[2] = '{"input": "x", "target": 3}'
    (bad / "caller.jsonl").write_text("\n".join(lines) + "\n")
    _assert_error(*_run(capsys, "--base", model, "--data", str(bad), "-o", str(run)), "caller.jsonl:3", "'target'")
    _assert_error(
        *_run(capsys, "--base", model, "--data", data, "-o", str(run), "--stages", "global,critic"), "critic", "stage"
    )
    _assert_error(*_run(capsys, "--base", "gpt-5", "--data", data, "-o", str(run)), "unknown base", "gpt-5")
    _assert_error(*_run(capsys, "--base", data, "--data", data, "-o", str(run)), "config.json")
    _assert_error(*_run(capsys, "--data", data, "-o", str(run)), "--base")
    _assert_error(*_run(capsys, "--base", model, "--data", data, "-o", str(run), "--max-steps", "0"), "max_steps")
    _assert_error(
        *_run(capsys, "--base", model, "--data", data, "-o", str(run), "--init-from", str(tmp_path / "none")),
        "init_from",
        "no finished global adapter",
    )
    import torch

    if not torch.cuda.is_available():
        _assert_error(*_run(capsys, "--base", model, "--data", data, "-o", str(run), "--device", "cuda"), "CUDA")
    assert not run.exists()


def test_existing_run_dir_is_kept(tmp_path, capsys, tiny_model_dir, tiny_data_dir):  # noqa: F811
    run = tmp_path / "run"
    run.mkdir()
    (run / "keep.txt").write_text("mine")
    args = ["--base", str(tiny_model_dir), "--data", str(tiny_data_dir), "-o", str(run)]
    _assert_error(*_run(capsys, *args), "--resume", "--force")
    _assert_error(*_run(capsys, *args, "--resume"), "not a training run")
    # --force with bad input does not touch the old directory
    _assert_error(*_run(capsys, *args, "--force", "--stages", "nope"), "nope")
    assert (run / "keep.txt").read_text() == "mine"


def test_missing_train_extra_explains_install(tmp_path):
    """Without torch the command names the extra to install (torch hidden from the import system)."""
    code = (
        "import sys\n"
        "sys.modules.update(torch=None, transformers=None, peft=None)  # as if not installed\n"
        "from umi_edge.cli import main\n"
        f"sys.exit(main(['train', '--base', 'x', '--data', 'y', '-o', {str(tmp_path / 'run')!r}]))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 2, out.stderr
    assert "pip install -e '.[train]' torch==2.13.0" in out.stderr and "Traceback" not in out.stderr
    assert not Path(tmp_path / "run").exists()


def test_help_mentions_stages_and_resume(capsys):
    with pytest.raises(SystemExit):
        main(["train", "--help"])
    out = capsys.readouterr().out
    for word in ("--resume", "--stages", "--method", "smollm2-135m", "accelerate launch"):
        assert word in out


def test_max_steps_option_wins_over_the_config_stages(tmp_path, capsys, tiny_model_dir, tiny_data_dir):  # noqa: F811
    """The issue's case: the default bundle's recipe sets [stage.*] max_steps (55/70/60/30); --max-steps 3 runs 3
    steps per stage, and --data replaces the config's [[data]] mix (here a directory that does not exist)."""
    import json

    config = tmp_path / "recipe.toml"
    recipe = (Path(__file__).resolve().parent.parent / "examples" / "train-default-bundle.toml").read_text()
    config.write_text("threads = 1\n" + recipe + '\n[[data]]\npath = "absent-data"\n')
    run = tmp_path / "run"
    argv = ["--base", str(tiny_model_dir), "--data", str(tiny_data_dir), "-o", str(run), "--config", str(config)]
    rc, err = _run(capsys, *argv, "--max-steps", "3")
    assert rc == 0, err
    report = json.loads((run / "train_report.json").read_text())
    assert {s: report["stages"][s]["steps"] for s in report["stages"]} == dict.fromkeys(STAGES, 3)
    assert (
        "--max-steps replaces the config's [stage.*] max_steps: global 55, planner 70, caller 60, summarizer 30" in err
    )
    assert "--data replaces the config's [[data]] mix: absent-data (weight 1)" in err
