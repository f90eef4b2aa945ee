"""The options every command shares: one definition, one validation path, one meaning, one-line errors."""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from edge_bundles import merged_bundle

from umi_edge.agent.config import AgentConfig
from umi_edge.cli import build_parser, main
from umi_edge.commands import _options as opt

ENGINE_FLAGS = ["--threads", "3", "--gpu-layers", "-1", "--ctx", "1024", "--no-mmap", "--repeat-stop", "7"]
AGENT_FLAGS = ["--max-steps", "4", "--max-tokens", "50", "--observation-chars", "300", "--no-constrain"]

# Every command that loads a bundle, with what it needs besides the shared options.
ENGINE_COMMANDS = {
    "run": ["run", "QUERY"],
    "chat": ["chat"],
    "bench": ["bench"],
    "eval static": ["eval", "static", "FILE"],
    "eval tasks": ["eval", "tasks", "FILE"],
    "eval compare": ["eval", "compare", "FILE", "--bundles", "a=b"],
}
AGENT_COMMANDS = ("run", "chat", "eval tasks")


def _parse(argv: list[str]) -> argparse.Namespace:
    return build_parser().parse_args(argv)


def _one_line(capsys: pytest.CaptureFixture[str], *needles: str) -> str:
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1, err
    assert err.startswith("umi-edge: error: ") and "Traceback" not in err, err
    for n in needles:
        assert n in err, err
    return err


@pytest.mark.parametrize("command", ENGINE_COMMANDS)
def test_every_command_reads_the_engine_options_alike(command: str) -> None:
    args = _parse(ENGINE_COMMANDS[command] + ENGINE_FLAGS)
    o = opt.engine_options(args)
    assert (o.threads, o.gpu_layers, o.context_length, o.mmap, o.repeat_stop) == (3, -1, 1024, False, 7)
    defaults = opt.engine_options(_parse(ENGINE_COMMANDS[command]))
    assert (defaults.threads, defaults.gpu_layers, defaults.context_length, defaults.mmap) == (None, 0, None, True)
    assert defaults.repeat_stop == 48


@pytest.mark.parametrize("command", AGENT_COMMANDS)
def test_every_agent_command_reads_the_agent_options_alike(command: str) -> None:
    config = opt.agent_config(_parse(ENGINE_COMMANDS[command] + AGENT_FLAGS))
    assert (config.max_steps, config.observation_chars, config.constrain) == (4, 300, False)
    # --max-tokens N: every role's budget is N, the same in every command (raised or lowered alike).
    assert config.max_new_tokens == dict.fromkeys(AgentConfig().max_new_tokens, 50)
    raised = opt.agent_config(_parse(ENGINE_COMMANDS[command] + ["--max-tokens", "900"]))
    assert set(raised.max_new_tokens.values()) == {900}
    assert opt.agent_config(_parse(ENGINE_COMMANDS[command])) == AgentConfig()


def test_approve_has_one_default() -> None:
    for command in ("run", "chat"):
        args = _parse(ENGINE_COMMANDS[command])
        assert args.approve == AgentConfig().approve_policy == "none"
        assert opt.agent_config(args).approve_policy == "none"


def test_resume_without_a_value_means_the_latest_session_in_run_and_chat() -> None:
    for command in ("run", "chat"):
        assert _parse(ENGINE_COMMANDS[command] + ["--resume"]).resume == "latest"
        assert _parse(ENGINE_COMMANDS[command] + ["--resume", "abc"]).resume == "abc"


def test_find_session_latest_and_by_id(tmp_path: Path) -> None:
    from umi_edge.agent.transcript import TranscriptRecorder, find_session
    from umi_edge.errors import UserError

    with pytest.raises(UserError, match="no saved sessions"):
        find_session("latest", tmp_path)
    first = TranscriptRecorder.new(tmp_path, {})
    first.close()
    second = TranscriptRecorder.new(tmp_path, {})
    second.close()
    os.utime(first.path, (1, 1))
    assert find_session("latest", tmp_path) == find_session("", tmp_path) == second.path
    assert find_session(first.path.stem, tmp_path) == first.path
    assert find_session(str(first.path), tmp_path) == first.path
    with pytest.raises(UserError, match="--resume: no session 'nope'"):
        find_session("nope", tmp_path)


@pytest.mark.parametrize("command", ENGINE_COMMANDS)
@pytest.mark.parametrize(
    "flags, needle",
    [
        (["--threads", "0"], "argument --threads: expected a positive integer, got 0"),
        (["--ctx", "100"], "argument --ctx: expected an integer >= 256, got 100"),
        (["--gpu-layers", "-2"], "argument --gpu-layers: expected an integer >= -1, got -2"),
        (["--repeat-stop", "x"], "argument --repeat-stop: expected an integer >= 0, got 'x'"),
        (["--no-such-option"], "unrecognized arguments: --no-such-option"),
    ],
)
def test_bad_values_are_one_line_errors_in_every_command(
    command: str, flags: list[str], needle: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exc:
        main(ENGINE_COMMANDS[command] + flags)
    assert exc.value.code == 2
    _one_line(capsys, f"umi-edge: error: {command}: {needle}")


def test_argparse_errors_are_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    for argv, needle in (
        (["run"], "run: the following arguments are required: QUERY"),
        (["nope"], "invalid choice: 'nope'"),
        (["run", "q", "--approve", "maybe"], "run: argument --approve: invalid choice: 'maybe'"),
        (["eval", "tasks", "f", "--max-tokens", "0"], "eval tasks: argument --max-tokens: expected a positive"),
        (["tools", "list", "--frobnicate"], "tools list: unrecognized arguments"),
    ):
        with pytest.raises(SystemExit) as exc:
            main(argv)
        assert exc.value.code == 2, argv
        _one_line(capsys, needle)


def _cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "umi_edge", *args],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, **(env or {})},
        stdin=subprocess.DEVNULL,
    )


def _cli_one_line(proc: subprocess.CompletedProcess[str], *needles: str) -> None:
    assert proc.returncode == 2, (proc.stdout, proc.stderr)
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("umi-edge: error: "), proc.stderr
    for n in needles:
        assert n in lines[0], lines[0]


@pytest.mark.parametrize("query", ["", "   "])
def test_run_refuses_an_empty_query(query: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", query, "--bundle", "/nonexistent"]) == 2
    _one_line(capsys, "QUERY: expected a question or task")


def test_a_tools_module_that_exits_at_import_is_a_failing_import(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    mod = tmp_path / "exits.py"
    mod.write_text("import sys\nsys.exit(3)\n")
    assert main(["tools", "list", "--tools", str(mod)]) == 2
    _one_line(capsys, "exits.py: importing the tools module failed: SystemExit: 3")
    assert main(["run", "q", "--tools", str(mod), "--bundle", "/nonexistent"]) == 2
    _one_line(capsys, "SystemExit")


def test_a_bundle_must_be_a_directory(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    gguf = tmp_path / "model.gguf"
    gguf.write_bytes(b"GGUF")
    for argv in (["bench"], ["run", "q"], ["eval", "static", str(gguf)]):
        assert main([*argv, "--bundle", str(gguf)]) == 2
        _one_line(capsys, f"--bundle {gguf}: expected a bundle directory holding umi.json", "model.gguf")


def test_a_bad_umi_edge_bundle_is_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from umi_edge.bundle import resolve_bundle
    from umi_edge.errors import UserError

    monkeypatch.setenv("UMI_EDGE_BUNDLE", str(tmp_path / "gone"))
    with pytest.raises(UserError, match=r"^UMI_EDGE_BUNDLE=.*gone: no bundle manifest"):
        resolve_bundle(None)
    monkeypatch.setenv("UMI_EDGE_BUNDLE", str(merged_bundle(tmp_path / "b")))
    assert resolve_bundle(None) == tmp_path / "b"


def test_run_single_on_a_multi_role_bundle_prompts_the_planner_model_as_the_backbone(tmp_path: Path) -> None:
    """``--single`` means the same in run and eval: a multi-role bundle's planner model, backbone prompt."""
    bundle = merged_bundle(tmp_path / "b")
    proc = _cli(
        "run", "What is 2 + 2?", "--bundle", str(bundle), "--single", "--json", "--no-transcript",
        "--max-steps", "1", "--threads", "1", "--ctx", "768", "--max-tokens", "16", "--only-tools", "calculator",
    )  # fmt: skip
    assert proc.returncode in (0, 1), proc.stderr
    doc = json.loads(proc.stdout)
    assert set(doc["timings"]["roles"]) == {"backbone"}
    assert doc["status"] != "error", doc
