"""Training scale-out (issue 18): ``torchrun --nproc-per-node 2 -m umi_edge train`` on CPU (gloo).

Two ranks with a per-rank batch of 2 packs make the same global batch as one process with 2 gradient-accumulation
steps: accelerate shards the token-budget batches round-robin (rank r takes batches r, r + 2, ...), which is the
order in which one process accumulates them, and the loss is normalised by the label count of the global batch.
So the two runs differ only in the order of float32 sums (gloo's all-reduce): the losses and adapters must agree
within the tolerances below. That holds within an epoch: at its end, when the batch count is not a multiple of the
ranks, accelerate pads the last round with batches from the epoch's start while one process steps on what is left,
so the runs here stay inside the first epoch (:data:`STEPS` × 2 batches of the 60 episodes' packs).
Only rank 0 writes RUN and prints; ``--resume`` continues a killed torchrun job.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from tiny import build_role_data, tiny_model_dir  # noqa: F401

torch = pytest.importorskip("torch")

from umi_edge.train import glpft  # noqa: E402

LOSS_RTOL = 1e-3
"""Relative tolerance of each logged loss (the sums run in another order across ranks)."""
ADAPTER_ATOL = 1e-4
STEPS = 8


def _config(path: Path, *, accum: int) -> Path:
    path.write_text(
        f"threads = 1\nbatch_size = 2\ngrad_accum = {accum}\nsave_steps = 3\nseed = 0\n"
        f"eval_fraction = 0\n[stage.global]\nlr = 0.01\nmax_steps = {STEPS}\n"
    )
    return path


def _args(model: Path, data: Path, run: Path, config: Path) -> list[str]:
    return ["train", "--base", str(model), "--data", str(data), "-o", str(run), "--config", str(config),
            "--stages", "global"]  # fmt: skip


def _torchrun(*args: str) -> list[str]:
    return [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2",
            "-m", "umi_edge", *args]  # fmt: skip


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONUNBUFFERED": "1", "OMP_NUM_THREADS": "1"}


def _adapter(run: Path) -> dict[str, torch.Tensor]:
    from safetensors.torch import load_file

    return load_file(str(run / "global" / "adapter_model.safetensors"))


def _losses(run: Path) -> list[tuple[int, float]]:
    rep = json.loads((run / "train_report.json").read_text())
    return [(int(s), float(v)) for s, v in rep["stages"]["global"]["loss_curve"]]


def _files(run: Path) -> set[str]:
    return {str(p.relative_to(run)) for p in run.rglob("*") if p.is_file()}


def _descendants(pid: int) -> list[int]:
    """Every process below ``pid`` (torchrun starts its workers in their own sessions, so a group kill misses them)."""
    try:
        children = [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []
    return [d for c in children for d in (c, *_descendants(c))]


def _same_training(a: Path, b: Path) -> None:
    la, lb = _losses(a), _losses(b)
    assert [s for s, _ in la] == [s for s, _ in lb] and len(la) == STEPS
    for (step, x), (_, y) in zip(la, lb, strict=True):
        assert abs(x - y) <= LOSS_RTOL * abs(x), (step, x, y)
    wa, wb = _adapter(a), _adapter(b)
    assert wa.keys() == wb.keys()
    for k in wa:
        assert torch.allclose(wa[k], wb[k], atol=ADAPTER_ATOL, rtol=0), (k, (wa[k] - wb[k]).abs().max())


def test_two_ranks_match_one_process_write_once_and_resume(tmp_path: Path, tiny_model_dir: Path) -> None:  # noqa: F811
    from umi_edge.cli import main

    data = build_role_data(tmp_path / "data", n_episodes=60)
    single = tmp_path / "single"
    assert main(_args(tiny_model_dir, data, single, _config(tmp_path / "one.toml", accum=2))) == 0
    assert json.loads((single / "train_report.json").read_text())["stages"]["global"]["epochs"] < 1  # see the doc
    two = _config(tmp_path / "two.toml", accum=1)

    ddp = tmp_path / "ddp"
    out = subprocess.run(_torchrun(*_args(tiny_model_dir, data, ddp, two)), capture_output=True, text=True,
                         env=_env(), timeout=600, stdin=subprocess.DEVNULL)  # fmt: skip
    assert out.returncode == 0, out.stderr[-3000:]
    _same_training(single, ddp)
    # rank 0 alone prints and writes: one "done", one progress bar, and the files of the one-process run
    assert out.stderr.count("umi-edge train: done:") == 1, out.stderr[-3000:]
    assert out.stderr.count("loading base") == 1
    assert _files(ddp) - {"train_config.toml"} == _files(single) - {"train_config.toml"}

    # kill the job mid-stage (after a checkpoint), then --resume it with torchrun: it ends where one process ended
    killed = tmp_path / "killed"
    proc = subprocess.Popen(_torchrun(*_args(tiny_model_dir, data, killed, two)), env=_env(),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    marker = killed / glpft.CHECKPOINTS / "global" / "checkpoint-3" / "trainer_state.json"
    try:
        deadline = time.monotonic() + 300
        while not marker.exists() and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.02)
    finally:
        for pid in (*_descendants(proc.pid), proc.pid):  # the whole job at once, workers first
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        proc.wait()
    time.sleep(1.0)  # a surviving worker would finish the stage (8 steps take about a second here)
    assert marker.exists() and not (killed / "global").exists(), "the job was not killed mid-stage"
    again = subprocess.run(_torchrun("train", "-o", str(killed), "--resume"), capture_output=True, text=True,
                           env=_env(), timeout=600, stdin=subprocess.DEVNULL)  # fmt: skip
    assert again.returncode == 0, again.stderr[-3000:]
    rep = json.loads((killed / "train_report.json").read_text())
    assert rep["stages"]["global"]["resumed_from_step"] >= 3 and rep["stages"]["global"]["steps"] == STEPS
    wa, wb = _adapter(single), _adapter(killed)
    for k in wa:
        assert torch.allclose(wa[k], wb[k], atol=ADAPTER_ATOL, rtol=0), (k, (wa[k] - wb[k]).abs().max())
