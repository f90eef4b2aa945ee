"""File tools confined to the workspace: ``list_files``, ``read_file``, ``write_file``, ``search_files``.

Every path is resolved (symlinks and ``..`` included) by :func:`umi_edge.tools.paths.resolve_in_workspace`
and refused when it leaves the workspace; listings and searches skip entries that resolve outside it.
Searches use the ``regex`` package for its per-search timeout (the stdlib ``re`` cannot be interrupted, and a
catastrophic pattern would pin a CPU in the agent's process).
"""

from __future__ import annotations

import fnmatch
import os
import time
from pathlib import Path
from typing import Any, Literal

import regex as regex_lib

from umi_edge.atomic import write_text
from umi_edge.tools.paths import relative, resolve_in_workspace
from umi_edge.tools.registry import tool
from umi_edge.tools.result import ToolError

MAX_READ_BYTES = 2_000_000
MAX_WRITE_CHARS = 1_000_000
MAX_LIST = 500
MAX_SEARCH_FILES = 2000
MAX_LINE_CHARS = 400
SEARCH_SECONDS = 10.0


def _walk(root: Path, base: Path, pattern: str, recursive: bool) -> list[Path]:
    out: list[Path] = []
    if recursive:
        for dirpath, dirnames, filenames in os.walk(base):
            dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
            for name in sorted(dirnames + filenames):
                out.append(Path(dirpath) / name)
            if len(out) > MAX_SEARCH_FILES * 4:
                break
    else:
        out = sorted(base.iterdir())
    keep = []
    for p in out:
        rel = p.relative_to(base).as_posix()
        if not (fnmatch.fnmatch(p.name, pattern) or fnmatch.fnmatch(rel, pattern)):
            continue
        try:
            real = p.resolve()
        except OSError:
            continue
        if real == root or real.is_relative_to(root):
            keep.append(p)
    return keep


FILE_KEYWORDS = (
    "file files folder folders directory directories document documents doc docs note notes txt csv json md log "
    "workspace save saved store stored write written read open content contents line lines entry entries item items "
    "inside record records report"
)
"""Words of a request about the workspace's files (:attr:`umi_edge.tools.registry.Tool.keywords`)."""


@tool(keywords=FILE_KEYWORDS + " list listing show")
def list_files(workspace: Path, path: str = ".", pattern: str = "*", recursive: bool = False) -> dict[str, Any]:
    """List files and folders in the workspace.

    Args:
        path: Folder to list, relative to the workspace.
        pattern: Shell-style name filter such as "*.csv".
        recursive: Also list the contents of sub-folders.
    """
    root = Path(workspace).resolve()
    base = resolve_in_workspace(root, path, must_exist=True)
    if not base.is_dir():
        raise ToolError(f"'{path}' is a file, not a folder; use read_file to read it")
    entries: list[dict[str, Any]] = []
    found = _walk(root, base, pattern, recursive)
    for p in found[:MAX_LIST]:
        is_dir = p.is_dir()
        item: dict[str, Any] = {"name": p.relative_to(root).as_posix(), "type": "folder" if is_dir else "file"}
        if not is_dir:
            item["size"] = p.stat().st_size
        entries.append(item)
    out: dict[str, Any] = {"path": relative(root, base), "entries": entries, "count": len(found)}
    if len(found) > MAX_LIST:
        out["note"] = f"only the first {MAX_LIST} of {len(found)} entries are shown"
    return out


@tool(keywords=FILE_KEYWORDS + " say says look")
def read_file(workspace: Path, path: str, start_line: int = 1, max_lines: int = 200) -> dict[str, Any]:
    """Read a text file from the workspace.

    Args:
        path: File to read, relative to the workspace.
        start_line: First line to return (1-based).
        max_lines: Largest number of lines to return.
    """
    root = Path(workspace).resolve()
    target = resolve_in_workspace(root, path, must_exist=True)
    if target.is_dir():
        raise ToolError(f"'{path}' is a folder; use list_files to see its contents")
    if start_line < 1 or max_lines < 1:
        raise ToolError("start_line and max_lines must be at least 1")
    with target.open("rb") as fh:
        data = fh.read(MAX_READ_BYTES + 1)
    if b"\x00" in data[:8192]:
        raise ToolError(f"'{path}' is a binary file, not text")
    cut = len(data) > MAX_READ_BYTES
    lines = data[:MAX_READ_BYTES].decode("utf-8", "replace").splitlines()
    chosen = lines[start_line - 1 : start_line - 1 + max_lines]
    out: dict[str, Any] = {
        "path": relative(root, target),
        "start_line": start_line,
        "content": "\n".join(chosen),
        "total_lines": len(lines),
    }
    if start_line - 1 + max_lines < len(lines) or cut:
        out["more"] = f"the file continues after line {start_line - 1 + len(chosen)}"
    return out


@tool(effect="write", keywords=FILE_KEYWORDS + " create put append add")
def write_file(
    workspace: Path, path: str, content: str, mode: Literal["overwrite", "append", "create"] = "overwrite"
) -> dict[str, Any]:
    """Write text to a file in the workspace, creating folders as needed.

    Args:
        path: File to write, relative to the workspace.
        content: The text to write.
        mode: "overwrite" replaces the file, "append" adds to its end, "create" fails if it already exists.
    """
    root = Path(workspace).resolve()
    target = resolve_in_workspace(root, path)
    if len(content) > MAX_WRITE_CHARS:
        raise ToolError(f"content is too long ({len(content)} characters, at most {MAX_WRITE_CHARS})")
    if target.is_dir():
        raise ToolError(f"'{path}' is a folder")
    if mode == "create" and target.exists():
        raise ToolError(f"'{path}' already exists (use mode 'overwrite' or 'append')")
    target.parent.mkdir(parents=True, exist_ok=True)
    if mode == "append":
        with target.open("a", encoding="utf-8") as fh:
            fh.write(content)
    else:
        write_text(target, content)
    return {"path": relative(root, target), "written_chars": len(content), "mode": mode}


@tool(
    keywords=FILE_KEYWORDS
    + " search find grep mention mentions mentioned talk talks say says said appear remember somewhere contain contains"
)
def search_files(
    workspace: Path,
    query: str,
    path: str = ".",
    pattern: str = "*",
    regex: bool = False,
    ignore_case: bool = True,
    max_results: int = 50,
) -> dict[str, Any]:
    """Search the text files of the workspace for lines containing a string (like grep).

    Args:
        query: Text to look for (a regular expression when regex is true).
        path: Folder (or file) to search, relative to the workspace.
        pattern: Shell-style file name filter such as "*.txt".
        regex: Treat the query as a regular expression.
        ignore_case: Match regardless of upper and lower case.
        max_results: Largest number of matching lines to return.
    """
    if not query:
        raise ToolError("query must not be empty")
    if max_results < 1:
        raise ToolError("max_results must be at least 1")
    flags = regex_lib.IGNORECASE if ignore_case else 0
    try:
        rx = regex_lib.compile(query if regex else regex_lib.escape(query), flags)
    except regex_lib.error as exc:
        raise ToolError(f"invalid regular expression: {exc}") from None
    deadline = time.monotonic() + SEARCH_SECONDS
    root = Path(workspace).resolve()
    base = resolve_in_workspace(root, path, must_exist=True)
    files = [base] if base.is_file() else [p for p in _walk(root, base, pattern, True) if p.is_file()]
    matches: list[dict[str, Any]] = []
    searched = 0
    for f in files[:MAX_SEARCH_FILES]:
        try:
            with f.open("rb") as fh:
                data = fh.read(MAX_READ_BYTES)
        except OSError:
            continue
        if b"\x00" in data[:8192]:
            continue
        searched += 1
        for n, line in enumerate(data.decode("utf-8", "replace").splitlines(), 1):
            try:
                hit = rx.search(line[:4000], timeout=max(0.001, deadline - time.monotonic()))
            except TimeoutError:
                raise ToolError(f"the search took longer than {SEARCH_SECONDS:g} s; use a simpler pattern") from None
            if hit:
                text = line if len(line) <= MAX_LINE_CHARS else line[:MAX_LINE_CHARS] + "…"
                matches.append({"file": relative(root, f.resolve()), "line": n, "text": text})
                if len(matches) >= max_results:
                    return {"query": query, "matches": matches, "files_searched": searched, "more": True}
    return {"query": query, "matches": matches, "files_searched": searched}
