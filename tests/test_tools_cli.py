"""``umi-edge tools list / run / doctor``: the command-line contract other tools rely on."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from umi_edge.cli import main
from umi_edge.sandbox import sandbox_status


def run_cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    rc = main(list(argv))
    out, err = capsys.readouterr()
    return rc, out, err


@pytest.fixture
def my_tools(tmp_path: Path) -> Path:
    path = tmp_path / "my_tools.py"
    path.write_text(
        textwrap.dedent('''
            from typing import Literal

            def greet(name: str, style: Literal["plain", "loud"] = "plain") -> str:
                """Greet someone by name.

                Args:
                    name: Who to greet.
                    style: How to greet.
                """
                text = f"hello {name}"
                return text.upper() if style == "loud" else text
        ''')
    )
    return path


def test_list_json_has_every_builtin_with_schema(capsys: pytest.CaptureFixture[str]) -> None:
    rc, out, _ = run_cli(capsys, "tools", "list", "--json", "--no-entry-points")
    assert rc == 0
    tools = {t["name"]: t for t in json.loads(out)}
    assert {"calculator", "python", "read_file", "write_file", "sqlite_query", "date_calc"} <= set(tools)
    calc = tools["calculator"]
    assert calc["effect"] == "read" and calc["parameters"]["required"] == ["expression"]
    assert tools["python"]["effect"] == "exec" and tools["python"]["sandboxed"] is True


def test_list_includes_user_tools(capsys: pytest.CaptureFixture[str], my_tools: Path) -> None:
    rc, out, _ = run_cli(capsys, "tools", "list", "--json", "--tools", str(my_tools))
    greet = {t["name"]: t for t in json.loads(out)}["greet"]
    assert greet["parameters"]["properties"]["style"]["enum"] == ["plain", "loud"]
    assert greet["effect"] == "write"  # undecorated user functions ask for approval
    rc, out, _ = run_cli(capsys, "tools", "list", "--tools", str(my_tools))
    assert rc == 0 and "greet" in out and "calculator" in out
    rc, out, _ = run_cli(capsys, "tools", "list", "--alpha-umi", "--tools", str(my_tools))
    docs = [json.loads(line) for line in out.splitlines()]
    assert docs[-1]["Name"] == "greet" and set(docs[-1]) == {"Name", "function", "input"}


def test_list_formats_are_exclusive(capsys: pytest.CaptureFixture[str]) -> None:
    """--json and --alpha-umi are two output formats: asking for both is an error, not a silent choice."""
    for argv in (["--json", "--alpha-umi"], ["--alpha-umi", "--json"]):
        with pytest.raises(SystemExit) as exc:
            main(["tools", "list", "--no-entry-points", *argv])
        out, err = capsys.readouterr()
        assert exc.value.code == 2 and out == ""
        assert "not allowed with argument" in err and "--json" in err and "--alpha-umi" in err, err


def test_run_prints_the_observation(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, my_tools: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    rc, out, _ = run_cli(capsys, "tools", "run", "calculator", '{"expression": "17.5 / 100 * 2340"}')
    assert rc == 0 and json.loads(out) == {"expression": "17.5 / 100 * 2340", "result": 409.5}
    rc, out, _ = run_cli(
        capsys, "tools", "run", "greet", '{"name": "Ada", "style": "loud"}', "--tools", str(my_tools), "--json"
    )
    assert rc == 0
    assert json.loads(out)["ok"] is True and json.loads(out)["observation"] == {"result": "HELLO ADA"}
    (tmp_path / "f.txt").write_text("from the workspace")
    rc, out, _ = run_cli(capsys, "tools", "call", "read_file", '{"path": "f.txt"}', "--workspace", str(tmp_path))
    assert rc == 0 and json.loads(out)["content"] == "from the workspace"
    monkeypatch.setattr("sys.stdin", io.StringIO('{"path": "f.txt", "max_lines": 1}'))
    rc, out, _ = run_cli(capsys, "tools", "run", "read_file", "-", "--workspace", str(tmp_path))
    assert rc == 0 and json.loads(out)["content"] == "from the workspace"


def test_run_errors(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    rc, out, _ = run_cli(capsys, "tools", "run", "calculator", '{"expression": "1/0"}', "--json")
    res = json.loads(out)
    assert rc == 1 and res["ok"] is False and res["error"] == "division by zero"
    assert res["observation"] == {"error": "division by zero"}
    rc, out, _ = run_cli(capsys, "tools", "run", "no_such_tool", "{}")
    assert rc == 1 and "Valid tools: calculator" in json.loads(out)["error"]
    rc, _, err = run_cli(capsys, "tools", "run", "calculator", "{expression: 1}")
    assert (
        rc == 2 and err.startswith("umi-edge: error: ARGS_JSON: line 1 column 2: invalid JSON") and err.count("\n") == 1
    )
    rc, _, err = run_cli(capsys, "tools", "run", "calculator", "{}", "--workspace", str(tmp_path / "missing"))
    assert rc == 2 and "not a directory" in err
    rc, _, err = run_cli(capsys, "tools", "list", "--tools", str(tmp_path / "missing.py"))
    assert rc == 2 and "tools file not found" in err


def test_doctor(capsys: pytest.CaptureFixture[str]) -> None:
    rc, out, _ = run_cli(capsys, "tools", "doctor", "--json")
    status = json.loads(out)
    assert {"landlock", "seccomp", "netns", "rlimits", "timeout", "environment"} <= set(status)
    assert rc == (0 if status["isolation"] else 1)
    rc2, out, _ = run_cli(capsys, "tools", "sandbox")
    assert rc2 == rc and "landlock" in out and "seccomp" in out


def test_run_python_in_a_real_process(tmp_path: Path) -> None:
    """The console entry point end to end: a sandboxed python call that tries to escape the workspace."""
    code = "print('started')\nopen('../escape.txt', 'w')"
    out = subprocess.run(
        [sys.executable, "-m", "umi_edge", "tools", "run", "python", json.dumps({"code": code}), "--json",
         "--workspace", str(tmp_path)],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    res = json.loads(out.stdout)
    assert out.returncode == 1 and res["ok"] is False
    assert res["observation"]["stdout"] == "started\n"
    if sandbox_status()["landlock"].active:
        assert res["error"] == "PermissionError: [Errno 13] Permission denied: '../escape.txt' (line 2)"
        assert not (tmp_path.parent / "escape.txt").exists()
