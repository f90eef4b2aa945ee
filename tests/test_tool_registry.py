"""The tool registry: schemas from typed functions, validation texts, calls that never raise, user tool loading."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Literal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from umi_edge.errors import UserError
from umi_edge.tools import Tool, ToolError, ToolRegistry, builtin_registry, load_tools_file, tool
from umi_edge.tools.loading import tools_from_spec
from umi_edge.tools.result import fit_json


@tool
def weather(city: str, unit: Literal["C", "F"] = "C", days: int = 1, detailed: bool | None = None) -> dict:
    """Get the weather forecast for a city.

    Longer explanation on a second paragraph.

    Args:
        city: Name of the city.
        unit: Temperature unit.
        days: How many days ahead.
        detailed: Include hourly details.
    """
    return {"city": city, "unit": unit, "days": days}


def test_schema_from_signature_and_docstring() -> None:
    assert weather.name == "weather" and weather.effect == "read" and not weather.sandboxed
    assert weather.description == "Get the weather forecast for a city. Longer explanation on a second paragraph."
    p = weather.parameters
    assert p["type"] == "object" and p["required"] == ["city"] and p["additionalProperties"] is False
    assert p["properties"]["city"] == {"type": "string", "description": "Name of the city."}
    assert p["properties"]["unit"] == {
        "enum": ["C", "F"],
        "type": "string",
        "default": "C",
        "description": "Temperature unit.",
    }
    assert p["properties"]["days"]["type"] == "integer" and p["properties"]["days"]["default"] == 1
    assert p["properties"]["detailed"]["type"] == "boolean"
    assert weather(city="Oslo") == {"city": "Oslo", "unit": "C", "days": 1}  # still callable


def test_decorator_options_and_injected_workspace() -> None:
    @tool(name="save", effect="write", sandboxed=True)
    def save_note(workspace: Path, text: str, tags: list[str] | None = None) -> str:
        """Save a note."""
        return text

    assert save_note.name == "save" and save_note.effect == "write" and save_note.sandboxed
    assert "workspace" not in save_note.parameters["properties"]
    assert save_note.parameters["properties"]["tags"] == {"type": "array", "items": {"type": "string"}}


def test_bad_tool_definitions_are_rejected() -> None:
    with pytest.raises(ValueError, match="args"):
        tool(lambda *args: None)
    with pytest.raises(ValueError, match="effect"):
        Tool(name="x", description="", parameters={}, effect="delete")  # type: ignore[arg-type]
    reg = ToolRegistry([weather])
    with pytest.raises(ValueError, match="duplicate"):
        reg.add(weather)


def test_validate_names_the_problem_and_lists_what_is_valid() -> None:
    reg = builtin_registry()
    assert reg.validate("calculator", {"expression": "1+1"}) is None
    msg = reg.validate("calculater", {})
    assert "Unknown tool 'calculater'" in msg and "Did you mean 'calculator'" in msg and "date_calc" in msg
    msg = reg.validate("read_file", {"file": "a.txt"})
    assert "missing required parameter 'path'" in msg and "'file'" in msg
    assert "valid: path, start_line, max_lines" in msg and "read_file(path: string" in msg
    msg = reg.validate("read_file", {"path": "a", "max_lines": "ten"})
    assert "parameter 'max_lines' must be integer" in msg
    msg = reg.validate("date_calc", {"operation": "multiply", "date": "2024-01-01"})
    assert "must be one of add, subtract, difference, weekday" in msg
    assert reg.validate("read_file", {"path": "a", "max_lines": None}) is None  # null optional = not given
    assert "must be string, got null" in reg.validate("read_file", {"path": None})
    msg = reg.validate("calculator", ["1+1"])
    assert "must be a JSON object" in msg
    assert "\n" not in msg


def test_call_turns_every_failure_into_a_result(tmp_path: Path) -> None:
    @tool
    def boom(x: int) -> int:
        """Divide by zero."""
        return x // 0

    @tool
    def nice_error(x: int) -> int:
        """Raise a tool error."""
        raise ToolError(f"x={x} is not allowed")

    @tool
    def slow(seconds: float) -> str:
        """Sleep."""
        time.sleep(seconds)
        return "done"

    @tool
    def odd_value() -> object:
        """Return a value JSON cannot hold."""
        return {"when": time, "items": {1, 2}}

    reg = ToolRegistry([boom, nice_error, slow, odd_value])
    r = reg.call("boom", {"x": 1}, workspace=tmp_path)
    assert r.is_error and json.loads(r.content) == {"error": "ZeroDivisionError: integer division or modulo by zero"}
    r = reg.call("nice_error", {"x": 3}, workspace=tmp_path)
    assert json.loads(r.content) == {"error": "x=3 is not allowed"}
    start = time.monotonic()
    r = reg.call("slow", {"seconds": 30}, workspace=tmp_path, timeout=0.3)
    assert r.is_error and "timed out after 0.3 s" in r.content and time.monotonic() - start < 2
    r = reg.call("slow", {"seconds": 0}, workspace=tmp_path)
    assert not r.is_error and json.loads(r.content) == {"result": "done"} and r.seconds >= 0
    r = reg.call("odd_value", {}, workspace=tmp_path)
    assert not r.is_error and json.loads(r.content)["items"] == [1, 2]
    r = reg.call("boom", {"x": 7.0}, workspace=tmp_path)  # a whole float is an integer in JSON Schema
    assert "ZeroDivisionError" in r.content
    r = reg.call("boom", {"x": 1, "workspace": "/"}, workspace=tmp_path)  # the runtime's parameter, not the model's
    assert r.is_error and "unknown parameter 'workspace'" in r.content
    r = reg.call("boom", None, workspace=tmp_path)
    assert r.is_error and "must be a JSON object" in r.content
    r = reg.call("boom", {"x": 1}, workspace=tmp_path / "missing")
    assert r.is_error and "not a directory" in r.content


def test_results_are_truncated_to_valid_json(tmp_path: Path) -> None:
    @tool
    def big(n: int) -> dict:
        """Return a lot."""
        return {"text": "y" * n, "rows": list(range(n))}

    reg = ToolRegistry([big])
    r = reg.call("big", {"n": 5000}, workspace=tmp_path, max_chars=500)
    assert r.truncated and len(r.content) <= 500
    value = json.loads(r.content)
    assert value["text"].startswith("yyy") and "chars]" in value["text"]
    r = reg.call("big", {"n": 3}, workspace=tmp_path, max_chars=500)
    assert not r.truncated


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda children: st.lists(children) | st.dictionaries(st.text(), children),
    max_leaves=60,
)


@settings(max_examples=60, deadline=None)
@given(value=json_values, max_chars=st.integers(min_value=64, max_value=600))
def test_fit_json_always_fits_and_stays_valid(value: object, max_chars: int) -> None:
    text, truncated = fit_json(value, max_chars)
    assert len(text) <= max_chars
    json.loads(text)
    assert truncated == (len(json.dumps(value, ensure_ascii=False, separators=(", ", ": "))) > max_chars)


def test_calls_from_many_threads(tmp_path: Path) -> None:
    reg = builtin_registry()
    exprs = [f"{i} * {i}" for i in range(40)]
    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(lambda e: reg.call("calculator", {"expression": e}, workspace=tmp_path), exprs))
    assert [json.loads(r.content)["result"] for r in results] == [i * i for i in range(40)]
    assert threading.active_count() < 50


def test_subset_and_alpha_umi_docs() -> None:
    reg = builtin_registry()
    sub = reg.subset(["date_calc", "calculator"])
    assert sub.names() == ["date_calc", "calculator"] and len(sub) == 2 and "python" not in sub
    with pytest.raises(KeyError, match="valid tools"):
        reg.subset(["nope"])
    docs = sub.alpha_umi_docs()
    assert [d["Name"] for d in docs] == ["date_calc", "calculator"]
    assert set(docs[1]) == {"Name", "function", "input"} and "expression" in docs[1]["input"]
    assert docs[1]["input"]["expression"].startswith("string")


def test_load_python_tools_file(tmp_path: Path) -> None:
    path = tmp_path / "my_tools.py"
    path.write_text(
        textwrap.dedent('''
        from umi_edge.tools import tool

        def shout(text: str) -> str:
            """Upper-case a text.

            Args:
                text: The text.
            """
            return text.upper()

        @tool(effect="read")
        def count_words(text: str) -> int:
            """Count words."""
            return len(text.split())

        def _private():
            pass
    ''')
    )
    tools = load_tools_file(path)
    assert {t.name: t.effect for t in tools} == {"shout": "write", "count_words": "read"}
    reg = ToolRegistry(tools)
    assert json.loads(reg.call("shout", {"text": "hi"}, workspace=tmp_path).content) == {"result": "HI"}
    assert json.loads(reg.call("count_words", {"text": "a b c"}, workspace=tmp_path).content) == {"result": 3}


def test_sandboxed_user_tool_runs_in_the_sandbox(tmp_path: Path) -> None:
    path = tmp_path / "tools_dir" / "sbx_tools.py"
    path.parent.mkdir()
    path.write_text(
        textwrap.dedent('''
        import os
        from umi_edge.tools import tool

        @tool(effect="exec", sandboxed=True)
        def whoami_env(workspace) -> dict:
            """Report the environment seen by the tool."""
            return {"pid_differs": True, "cwd": os.getcwd(), "env_keys": sorted(os.environ)}
    ''')
    )
    ws = tmp_path / "ws"
    ws.mkdir()
    reg = ToolRegistry(load_tools_file(path))
    r = reg.call("whoami_env", {}, workspace=ws)
    value = json.loads(r.content)
    assert not r.is_error, value
    assert value["cwd"] == str(ws) and "PATH" in value["env_keys"] and "PYTEST_CURRENT_TEST" not in value["env_keys"]


def test_bad_tools_files_are_user_errors(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text("def f(:\n    pass\n")
    with pytest.raises(UserError, match=r"bad.py:1: syntax error"):
        load_tools_file(bad)
    empty = tmp_path / "empty.py"
    empty.write_text("X = 1\n")
    with pytest.raises(UserError, match="defines no tools"):
        load_tools_file(empty)
    broken = tmp_path / "spec.json"
    broken.write_text('[{"name": "x",\n "effect": "explode"}]')
    with pytest.raises(UserError, match="field 'effect'"):
        load_tools_file(broken)
    words = tmp_path / "words.json"
    words.write_text('[{"name": "x", "keywords": 3}]')
    with pytest.raises(UserError, match="words.json: tool 0: field 'keywords'"):
        load_tools_file(words)
    invalid = tmp_path / "spec2.json"
    invalid.write_text('[{"name": "x",\n')
    with pytest.raises(UserError, match=r"spec2.json:2: invalid JSON"):
        load_tools_file(invalid)
    with pytest.raises(UserError, match="not found"):
        load_tools_file(tmp_path / "nope.py")
    with pytest.raises(UserError, match="expected a .py"):
        (tmp_path / "x.txt").write_text("")
        load_tools_file(tmp_path / "x.txt")


def test_tools_from_json_and_yaml_specs(tmp_path: Path) -> None:
    spec = tmp_path / "spec.yaml"
    spec.write_text(
        textwrap.dedent("""
        tools:
          - name: to_celsius
            description: Convert Fahrenheit to Celsius.
            effect: read
            entry: "umi_edge.tools.builtins.units:convert"
            parameters:
              type: object
              properties:
                value: {type: number}
                from_unit: {type: string}
                to_unit: {type: string}
              required: [value, from_unit, to_unit]
          - name: documented_only
            description: No implementation here.
            keywords: thermometer heat
    """)
    )
    tools = load_tools_file(spec)
    reg = ToolRegistry(tools)
    r = reg.call("to_celsius", {"value": 212, "from_unit": "F", "to_unit": "C"}, workspace=tmp_path)
    assert json.loads(r.content) == {"result": 100.0}
    assert tools[0].keywords == () and tools[1].keywords == ("thermometer", "heat")
    r = reg.call("documented_only", {}, workspace=tmp_path)
    assert r.is_error and "no implementation" in r.content


def test_toolbench_and_alpha_umi_docs_become_tools() -> None:
    toolbench = {
        "tool_name": "Movie DB",
        "api_list": [
            {
                "name": "Search Title",
                "description": "Find movies.",
                "required_parameters": [{"name": "query", "type": "STRING", "description": "title"}],
                "optional_parameters": [{"name": "year", "type": "NUMBER", "description": "year"}],
            }
        ],
    }
    [t] = tools_from_spec(toolbench)
    assert t.name == "search_title_for_movie_db"
    assert t.parameters["required"] == ["query"] and t.parameters["properties"]["year"]["type"] == "number"
    [a] = tools_from_spec([{"Name": "quiz_for_moodring", "function": "Get one quiz.", "input": {"quizid": "string, "}}])
    assert a.name == "quiz_for_moodring" and a.parameters["properties"]["quizid"] == {"type": "string"}


def test_released_toolbench_tool_docs_load(train_example: Path) -> None:
    data = json.loads((train_example / "raw_data_stage_1.json").read_text())
    for item in data:
        tools = tools_from_spec(item["tools"])
        assert [t.name for t in tools] == [d["Name"] for d in item["tools"]]


def test_entry_point_tools(tmp_path: Path) -> None:
    """A package that declares tools under the `umi_edge.tools` entry-point group is picked up."""
    site = tmp_path / "site"
    dist = site / "demo_tools-0.1.dist-info"
    dist.mkdir(parents=True)
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: demo-tools\nVersion: 0.1\n")
    (dist / "entry_points.txt").write_text("[umi_edge.tools]\ndemo = demo_tools:greet\n")
    (site / "demo_tools.py").write_text(
        'def greet(name: str) -> str:\n    """Greet someone."""\n    return "hi " + name\n'
    )
    code = (
        "import json, sys\nfrom umi_edge.tools.loading import default_registry\n"
        "reg = default_registry()\n"
        "print(json.dumps([reg.names(), reg.call('greet', {'name': 'bo'}, workspace='.').content]))"
    )
    env = {"PYTHONPATH": str(site), "PATH": "/usr/bin:/bin"}
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=tmp_path, timeout=60
    )
    assert out.returncode == 0, out.stderr
    names, content = json.loads(out.stdout)
    assert "greet" in names and "calculator" in names
    assert json.loads(content) == {"result": "hi bo"}
