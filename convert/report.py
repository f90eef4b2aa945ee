"""``convert_report.md``: what was converted, into which files, and the verification figures."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from umi_edge import atomic, bundle

from .inspect_gguf import inspect_gguf
from .lora import LoraAdapter


def _mb(path: Path) -> str:
    return f"{path.stat().st_size / 1e6:.2f} MB"


def write_report(path: Path, run: Any, builder: Any, manifest: bundle.Manifest, mode: str, results: dict) -> None:
    hp = run.base.hp
    lines = [
        "# Conversion report",
        "",
        f"- input: `{run.path}` ({run.kind})",
        f"- base: `{run.base_path}` ({run.base.kind}, {hp.arch}, {hp.n_layer} layers, hidden {hp.n_embd}, "
        f"{hp.n_head}/{hp.n_head_kv} heads, vocab {hp.n_vocab})",
        f"- bundle mode: {manifest.mode} (conversion: {mode}), quantization: {manifest.quantization}, "
        f"prompt style: {manifest.prompt_style}, context: {manifest.context_length}",
    ]
    if run.global_adapter is not None:
        g = run.global_adapter
        lines.append(f"- stage-1 adapter merged into the base: `{g.path}` (r={g.r}, alpha={g.alpha:g})")
    lines += ["", "## Files", "", "| file | size | bits/weight | tensor types | content |", "|---|---|---|---|---|"]
    for label, f in builder.files.items():
        info = inspect_gguf(f)
        types = ", ".join(f"{k} {v}" for k, v in sorted(info["tensor_types"].items()))
        src = run.roles.get(label)
        if isinstance(src, LoraAdapter):
            what = f"LoRA r={src.r} alpha={src.alpha:g}, {len(src.pairs)} modules, {src.n_params:,} params"
        elif label not in builder.details:
            what = "the base GGUF kept as it is (no re-quantization)"
        else:
            det = builder.details[label]
            what = f"full model (F16 written: {det.get('types', {})}, then {manifest.quantization})"
        lines.append(f"| {f.name} | {_mb(f)} | {info['bits_per_weight']} | {types} | {label}: {what} |")
    if manifest.base is not None and manifest.base.derive:
        lines += [
            "",
            f"The runtime loads the base re-quantized to {manifest.base.derive}, made once into the user's cache "
            f"(`umi_edge.engine.derive`; SHA-256 here {manifest.base.derived_sha256}).",
        ]
    if manifest.quantization.startswith("q") and "_k" in manifest.quantization and hp.n_embd % 256:
        lines += [
            "",
            f"K-quants need rows that are multiples of 256; hidden size {hp.n_embd} is not, so llama.cpp fell back "
            "to other types for those tensors (see the tensor types above).",
        ]
    lines += ["", "## Timings", ""]
    lines += [f"- {k}: {v:.1f} s" for k, v in builder.timings.items()]
    lines += ["", "## Verification", ""]
    if not results:
        lines.append("Not run (use `--verify`).")
    else:
        lines += results.get("markdown", [])
    atomic.write_text(path, "\n".join(lines) + "\n")
