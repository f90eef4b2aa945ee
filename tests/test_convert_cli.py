"""``umi-edge convert`` end to end as a subprocess: bundle + report, --verify exit status, inspect, and bad input
(one line on stderr, exit 2, nothing half-written, also when the disk fills up mid-write)."""

from __future__ import annotations

import json
import os
import resource
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from convert_fixtures import *  # noqa: F403 - fixtures: tiny_model_dir, tiny_run, compat_run, ...

from umi_edge import bundle


def _cli(*args: str, preexec=None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "umi_edge", "convert", *args],
        capture_output=True,
        text=True,
        timeout=600,
        preexec_fn=preexec,
    )


def _plain_sigint() -> None:
    """The child gets SIGINT as a terminal would deliver it: earlier tests in the same pytest process can leave
    SIGINT ignored or blocked, which a child inherits (the interrupt then never arrives)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})


def test_interrupted_conversion_leaves_nothing(tmp_path: Path, compat_run: Path) -> None:
    """Ctrl-C while the bundle is being built: no bundle, no temporary files.

    The tiny run converts in about 0.1 s after its temporary bundle appears, so an interrupt may land after the work
    is done; such an attempt must have left a complete bundle and nothing temporary, and is tried again.
    """
    work = tmp_path / "tmpdir"
    work.mkdir()
    out_parent = tmp_path / "outs"
    out_parent.mkdir()
    env = {**os.environ, "TMPDIR": str(work)}
    cmd = [sys.executable, "-m", "umi_edge", "convert", str(compat_run), "-o", str(out_parent / "b"), "--f16"]
    cmd += ["--verify", "--samples", "64"]
    for _attempt in range(8):
        proc = subprocess.Popen(
            cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, preexec_fn=_plain_sigint
        )
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline and not any(out_parent.iterdir()) and proc.poll() is None:
            time.sleep(0.01)
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=300)
        assert "Traceback" not in err, err
        assert list(work.iterdir()) == [], "temporary files left behind"
        if proc.returncode == 0:  # finished before the interrupt took effect: a whole bundle, nothing else
            assert [p.name for p in out_parent.iterdir()] == ["b"] and (out_parent / "b" / "umi.json").is_file()
            shutil.rmtree(out_parent / "b")
            continue
        assert proc.returncode in (130, -signal.SIGINT), err
        assert list(out_parent.iterdir()) == [], "an interrupted conversion left a bundle or a temporary one"
        return
    pytest.fail("eight conversions all finished before the interrupt took effect")


def _one_line_error(p: subprocess.CompletedProcess, match: str) -> None:
    assert p.returncode == 2, p.stderr
    lines = [ln for ln in p.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("umi-edge: error: "), p.stderr
    assert match in lines[0], lines[0]
    assert "Traceback" not in p.stderr


def test_convert_verify_and_inspect(tmp_path: Path, compat_run: Path) -> None:
    out = tmp_path / "bundle"
    p = _cli(str(compat_run), "-o", str(out), "--q8_0", "--verify", "--samples", "1", "--threads", "2")
    assert p.returncode == 0, p.stderr
    assert "Overall: PASS" in p.stdout
    m, bdir = bundle.load(out)
    assert m.quantization == "q8_0" and m.mode == "adapters"
    assert sorted(f.name for f in out.iterdir()) == [
        "base.q8_0.gguf",
        "caller.lora.gguf",
        "convert_report.md",
        "planner.lora.gguf",
        "summarizer.lora.gguf",
        "umi.json",
    ]
    report = (out / "convert_report.md").read_text()
    assert "q8_0 top-1 vs F16" in report and "Tokenization parity" in report

    p = _cli("inspect", str(out))
    assert p.returncode == 0, p.stderr
    assert "mode adapters" in p.stdout and "adapter: lora alpha=16.0 ranks=[8]" in p.stdout
    p = _cli("inspect", str(out / "base.q8_0.gguf"), "--json")
    info = json.loads(p.stdout)
    assert info["architecture"] == "llama" and info["tensor_types"]["Q8_0"] == 15
    assert info["metadata"]["tokenizer.ggml.model"] == "llama"


@pytest.mark.slow
def test_verify_failure_exits_1(tmp_path: Path, tiny_run: Path) -> None:
    """The tiny run's tokenizer (transformers 5 LlamaTokenizer) does not match llama.cpp after `</s>`."""
    p = _cli(str(tiny_run), "-o", str(tmp_path / "b"), "--f16", "--verify", "--samples", "1")
    assert p.returncode == 1
    assert "verification failed" in p.stderr
    assert (tmp_path / "b" / "umi.json").exists()  # the bundle is still written, with the report saying why


def test_bad_input_one_line_exit_2(tmp_path: Path, tiny_run: Path) -> None:
    (tmp_path / "notrun").mkdir()
    _one_line_error(_cli(str(tmp_path / "notrun"), "-o", str(tmp_path / "o")), "not a training run")
    _one_line_error(_cli(str(tiny_run), "-o", str(tmp_path / "o"), "--quant", "q2"), "unknown quantization 'q2'")
    _one_line_error(_cli(str(tiny_run)), "-o/--output BUNDLE is required")
    _one_line_error(_cli("inspect", str(tmp_path / "nothing.gguf")), "expected a .gguf file or a bundle")
    _one_line_error(_cli("inspect", str(tmp_path / "notrun")), "no bundle manifest")
    assert not (tmp_path / "o").exists()


def test_disk_full_mid_write_leaves_nothing(tmp_path: Path, tiny_run: Path) -> None:
    """A file-size limit makes the base GGUF write fail half way, as a full disk would."""

    def limit() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (100_000, 100_000))

    p = _cli(str(tiny_run), "-o", str(tmp_path / "out"), "--f16", preexec=limit)
    _one_line_error(p, "writing the bundle failed")
    assert [f.name for f in tmp_path.iterdir()] == [], list(tmp_path.iterdir())


@pytest.mark.parametrize("flag", ["--help", "-h"])
def test_help_explains_modes(flag: str) -> None:
    p = _cli(flag)
    assert p.returncode == 0
    for word in ("adapters mode", "merged mode", "--q4_k_m", "--single", "--verify", "inspect FILE|BUNDLE"):
        assert word in p.stdout
    assert "the run's base unchanged" in p.stdout and "stage-1 adapter merged in)" not in p.stdout
    assert "usage: umi-edge convert [-h]" in p.stdout and "--metadata" not in p.stdout  # inspect's own option


@pytest.mark.parametrize("flag", ["--help", "-h"])
def test_inspect_help_is_its_own(flag: str) -> None:
    p = _cli("inspect", flag)
    assert p.returncode == 0, p.stderr
    assert p.stdout.startswith("usage: umi-edge convert inspect [-h] [--json] [--metadata] FILE|BUNDLE")
    assert "--quant" not in p.stdout and "adapters mode" not in p.stdout


def _tensors(path: Path) -> dict[str, bytes]:
    import gguf

    return {t.name: bytes(t.data) for t in gguf.GGUFReader(path).tensors}


def test_adapters_base_is_the_run_base_unchanged(tmp_path: Path, tiny_run: Path, tiny_model_dir: Path) -> None:
    """What `convert --help` says: an adapters bundle's base holds the run's base as it is, no adapter merged in
    (only --global-under-roles merges the stage-1 adapter)."""
    assert _cli(str(tiny_run), "-o", str(tmp_path / "b"), "--f16").returncode == 0
    assert _cli(str(tiny_model_dir), "-o", str(tmp_path / "plain"), "--f16").returncode == 0  # the base alone
    m, _ = bundle.load(tmp_path / "plain")
    plain = _tensors(tmp_path / "plain" / m.roles["backbone"].model.path)
    assert _tensors(tmp_path / "b" / "base.f16.gguf") == plain
    p = _cli(str(tiny_run), "-o", str(tmp_path / "g"), "--f16", "--global-under-roles")
    assert p.returncode == 0, p.stderr
    assert _tensors(tmp_path / "g" / "base.f16.gguf") != plain
