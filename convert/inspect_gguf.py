"""``umi-edge convert inspect``: what a GGUF file or a bundle holds (architecture, tensor types, sizes, adapters,
metadata), as data (:func:`inspect_path`) and as text (:func:`render`)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import gguf

from umi_edge import bundle
from umi_edge.engine import derive
from umi_edge.errors import UserError

from .source import open_gguf

_LONG = ("tokenizer.ggml.tokens", "tokenizer.ggml.scores", "tokenizer.ggml.token_type", "tokenizer.ggml.merges")


def _short(value: Any, limit: int = 80) -> Any:
    if isinstance(value, list):
        return f"[{len(value)} items]"
    if isinstance(value, str) and len(value) > limit:
        return value[:limit] + f"… ({len(value)} chars)"
    return value


def inspect_gguf(path: Path) -> dict[str, Any]:
    """Summary of one GGUF file."""
    reader = open_gguf(path)
    meta: dict[str, Any] = {}
    for key, f in reader.fields.items():
        if key.startswith("GGUF."):
            continue
        meta[key] = f"[{len(f.data)} items]" if key in _LONG else _short(f.contents())
    types = Counter(t.tensor_type.name for t in reader.tensors)
    n_params = sum(int(t.n_elements) for t in reader.tensors)
    n_bytes = sum(int(t.n_bytes) for t in reader.tensors)
    info: dict[str, Any] = {
        "file": str(path),
        "size_bytes": Path(path).stat().st_size,
        "architecture": meta.get("general.architecture"),
        "type": meta.get("general.type", "model"),
        "tensors": len(reader.tensors),
        "parameters": n_params,
        "tensor_types": dict(types),
        "bits_per_weight": round(8 * n_bytes / max(n_params, 1), 2),
        "metadata": meta,
    }
    if info["type"] == "adapter":
        ranks = {int(t.shape[1]) for t in reader.tensors if t.name.endswith(".lora_a")}
        info["adapter"] = {
            "kind": meta.get("adapter.type"),
            "alpha": meta.get("adapter.lora.alpha"),
            "ranks": sorted(ranks),
            "modules": sum(1 for t in reader.tensors if t.name.endswith(".lora_a")),
        }
    return info


def inspect_path(path: str | Path) -> dict[str, Any]:
    """Summary of a GGUF file, or of a bundle (its manifest and every file it references)."""
    p = Path(path)
    if p.is_file() and p.suffix == ".gguf":
        return inspect_gguf(p)
    if p.is_dir() or p.name == bundle.MANIFEST:
        manifest, bdir = bundle.load(p)
        bundle.verify_files(manifest, bdir, check_sha=True)
        files: dict[str, Any] = {}
        if manifest.base is not None:
            files["base"] = inspect_gguf(manifest.base.resolve(bdir))
            if manifest.base.derive:
                copy = derive.model_file(manifest.base, bdir, verified=True)
                files["base (derived)"] = inspect_gguf(copy)
                recorded = manifest.base.derived_sha256
                files["base (derived)"]["matches_recorded_sha256"] = (
                    None if recorded is None else bundle.sha256_file(copy) == recorded
                )
        for role, spec in manifest.roles.items():
            ref = spec.model or spec.adapter
            if ref is not None:
                files[role] = inspect_gguf(ref.resolve(bdir))
        return {"bundle": str(bdir), "manifest": manifest.to_json(), "files": files}
    raise UserError(f"{p}: expected a .gguf file or a bundle directory")


def _render_gguf(info: dict[str, Any], indent: str = "") -> list[str]:
    lines = [
        f"{indent}{info['file']}: {info['type']} · {info['architecture']} · {info['size_bytes'] / 1e6:.2f} MB · "
        f"{info['tensors']} tensors · {info['parameters']:,} params · {info['bits_per_weight']} bits/weight",
        f"{indent}  tensor types: " + ", ".join(f"{k} {v}" for k, v in sorted(info["tensor_types"].items())),
    ]
    if "adapter" in info:
        a = info["adapter"]
        lines.append(f"{indent}  adapter: {a['kind']} alpha={a['alpha']} ranks={a['ranks']} modules={a['modules']}")
    return lines


def render(info: dict[str, Any], *, metadata: bool = False) -> str:
    """Human-readable text of :func:`inspect_path`'s result."""
    lines: list[str] = []
    if "bundle" in info:
        m = info["manifest"]
        lines.append(
            f"bundle {info['bundle']}: mode {m['mode']}, quantization {m.get('quantization')}, "
            f"prompt style {m.get('prompt_style')}, context {m.get('context_length')}"
        )
        for role, spec in m["roles"].items():
            what = ", ".join(f"{k} {v['path'] if isinstance(v, dict) and 'path' in v else v}" for k, v in spec.items())
            lines.append(f"  role {role}: {what}")
        for label, f in info["files"].items():
            lines.append(f"  [{label}]")
            lines += _render_gguf(f, "    ")
        return "\n".join(lines)
    lines += _render_gguf(info)
    if metadata:
        for k, v in info["metadata"].items():
            lines.append(f"  {k} = {v}")
    else:
        keep = [k for k in info["metadata"] if not k.startswith("tokenizer.ggml.") or k.endswith(("model", "pre"))]
        for k in keep[:40]:
            lines.append(f"  {k} = {info['metadata'][k]}")
    return "\n".join(lines)


def gguf_value_type(reader: gguf.GGUFReader, key: str) -> str | None:
    """The stored value type of metadata ``key`` (e.g. ``UINT32``), or None when absent."""
    f = reader.get_field(key)
    return None if f is None else f.types[0].name
