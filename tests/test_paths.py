"""Workspace containment of the file tools: a sibling folder whose name starts with the workspace's is outside."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from umi_edge.tools import builtin_registry
from umi_edge.tools.paths import relative, resolve_in_workspace
from umi_edge.tools.result import ToolError

REG = builtin_registry()


@pytest.fixture
def ws(tmp_path: Path) -> Path:
    """A workspace ``ws`` beside ``ws-other`` and ``wsx`` (names a string-prefix check would take as inside)."""
    for name in ("ws", "ws-other", "wsx"):
        (tmp_path / name).mkdir()
    (tmp_path / "ws-other" / "secret.txt").write_text("other workspace\n")
    return tmp_path / "ws"


@pytest.mark.parametrize("path", ["../ws-other/x", "../wsx/x", "../ws-other", "../ws-other/secret.txt"])
def test_a_sibling_with_the_same_prefix_is_outside(ws: Path, path: str) -> None:
    with pytest.raises(ToolError, match="outside the workspace"):
        resolve_in_workspace(ws, path)
    with pytest.raises(ToolError, match="outside the workspace"):
        resolve_in_workspace(ws, str(ws.parent / path.removeprefix("../")))  # the same place, absolute


def test_inside_paths_resolve(ws: Path) -> None:
    assert resolve_in_workspace(ws, ".") == ws.resolve()
    assert resolve_in_workspace(ws, "a/../b") == ws.resolve() / "b"
    assert resolve_in_workspace(ws, str(ws / "c")) == ws.resolve() / "c"
    assert resolve_in_workspace(ws, "../ws/d") == ws.resolve() / "d"  # out and back in again
    assert relative(ws, resolve_in_workspace(ws, ".")) == "."


def test_write_file_does_not_write_next_to_the_workspace(ws: Path) -> None:
    res = REG.call("write_file", {"path": "../ws-other/x", "content": "escaped"}, workspace=ws)
    assert res.is_error and "outside the workspace" in json.loads(res.content)["error"]
    assert not (ws.parent / "ws-other" / "x").exists()
    res = REG.call("write_file", {"path": "../wsx/x", "content": "escaped"}, workspace=ws)
    assert res.is_error and not (ws.parent / "wsx" / "x").exists()


def test_read_and_list_do_not_reach_the_sibling(ws: Path) -> None:
    res = REG.call("read_file", {"path": "../ws-other/secret.txt"}, workspace=ws)
    assert res.is_error and "other workspace" not in res.content
    res = REG.call("list_files", {"path": "../ws-other"}, workspace=ws)
    assert res.is_error and "secret.txt" not in res.content
