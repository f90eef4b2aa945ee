"""Atomic outputs: complete or absent, with normal permissions."""

from __future__ import annotations

import os
import stat

import pytest

from umi_edge import atomic


def test_write_json_and_permissions(tmp_path) -> None:
    target = tmp_path / "out" / "a.json"
    atomic.write_json(target, {"x": "é"})
    assert target.read_text(encoding="utf-8").strip() == '{\n  "x": "é"\n}'
    mask = os.umask(0)
    os.umask(mask)
    assert stat.S_IMODE(target.stat().st_mode) == 0o666 & ~mask


def test_failed_write_leaves_previous_content(tmp_path) -> None:
    target = tmp_path / "a.jsonl"
    atomic.write_jsonl(target, [{"a": 1}])

    def records():
        yield {"a": 2}
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        atomic.write_jsonl(target, records())
    assert target.read_text() == '{"a": 1}\n'
    assert [p.name for p in tmp_path.iterdir()] == ["a.jsonl"]


def test_atomic_dir_replaces_only_on_success(tmp_path) -> None:
    target = tmp_path / "d"
    with atomic.atomic_dir(target) as tmp:
        (tmp / "f").write_text("1")
    assert (target / "f").read_text() == "1"
    mask = os.umask(0)
    os.umask(mask)
    assert stat.S_IMODE(target.stat().st_mode) == 0o777 & ~mask
    with pytest.raises(ValueError), atomic.atomic_dir(target) as tmp:
        (tmp / "f").write_text("2")
        raise ValueError("fail")
    assert (target / "f").read_text() == "1"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["d"]
