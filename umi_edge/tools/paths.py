"""Paths inside the workspace: every file tool resolves its path here and refuses anything outside."""

from __future__ import annotations

from pathlib import Path

from umi_edge.tools.result import ToolError


def resolve_in_workspace(workspace: Path, path: str, *, must_exist: bool = False) -> Path:
    """``path`` (relative to the workspace, or absolute inside it) with symlinks and ``..`` resolved.

    Raises ToolError when the resolved path leaves the workspace, so ``../x``, ``/etc/passwd`` and a symlink
    pointing outside are all refused.
    """
    if not isinstance(path, str) or not path.strip():
        raise ToolError("path must be a non-empty string")
    if "\x00" in path:
        raise ToolError("path contains a NUL character")
    root = Path(workspace).resolve()
    raw = Path(path).expanduser() if path.startswith("~") else Path(path)
    target = (raw if raw.is_absolute() else root / raw).resolve()
    if target != root and not target.is_relative_to(root):
        raise ToolError(f"path '{path}' is outside the workspace; use a path relative to the workspace")
    if must_exist and not target.exists():
        raise ToolError(f"'{path}' does not exist in the workspace")
    return target


def relative(workspace: Path, target: Path) -> str:
    """``target`` as a workspace-relative POSIX path (``.`` for the workspace itself)."""
    rel = target.relative_to(Path(workspace).resolve()).as_posix()
    return rel or "."
