"""Quantization by llama.cpp's own quantizer, in process, through llama-cpp-python (no llama.cpp checkout).

K-quants need rows that are multiples of 256; llama.cpp falls back per tensor (e.g. to Q5_0/Q8_0) when they are
not, so a small model's "Q4_K_M" file can average well above 4.5 bits per weight: the report states the real mix.
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import os
import sys
from collections.abc import Iterator
from pathlib import Path

from umi_edge import atomic
from umi_edge.errors import UserError

QUANTS = ("f16", "q8_0", "q4_k_m", "q5_k_m", "q6_k")
_FTYPES = {
    "f16": "LLAMA_FTYPE_MOSTLY_F16",
    "q8_0": "LLAMA_FTYPE_MOSTLY_Q8_0",
    "q4_k_m": "LLAMA_FTYPE_MOSTLY_Q4_K_M",
    "q5_k_m": "LLAMA_FTYPE_MOSTLY_Q5_K_M",
    "q6_k": "LLAMA_FTYPE_MOSTLY_Q6_K",
}


@contextlib.contextmanager
def quiet_fds() -> Iterator[None]:
    """Silence C-level writes to stdout/stderr (llama.cpp prints per-tensor fallback warnings there)."""
    sys.stdout.flush()
    sys.stderr.flush()
    saved = [os.dup(1), os.dup(2)]
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 1)
        os.dup2(devnull, 2)
        yield
    finally:
        os.dup2(saved[0], 1)
        os.dup2(saved[1], 2)
        for fd in (*saved, devnull):
            os.close(fd)


def check_quant(quant: str) -> str:
    q = quant.lower()
    if q not in QUANTS:
        raise UserError(f"--quant: unknown quantization {quant!r}, expected one of {', '.join(QUANTS)}")
    return q


def llama_cpp_module():
    """Import llama_cpp quietly (it logs to stderr on load otherwise)."""
    try:
        import llama_cpp
    except ImportError as exc:  # pragma: no cover - a base dependency
        raise UserError(f"llama-cpp-python is not installed ({exc}); `pip install llama-cpp-python`") from None
    return llama_cpp


def quantize(src: Path, dst: Path, quant: str, *, threads: int | None = None, requantize: bool = False) -> None:
    """Quantize GGUF ``src`` to ``dst`` (atomically) with llama.cpp's ``llama_model_quantize``."""
    quant = check_quant(quant)
    llama_cpp = llama_cpp_module()
    params = llama_cpp.llama_model_quantize_default_params()
    params.ftype = getattr(llama_cpp, _FTYPES[quant])
    params.nthread = threads or max(1, os.cpu_count() or 1)
    params.allow_requantize = requantize
    log = logging.getLogger("llama-cpp-python")  # llama.cpp logs every tensor at INFO level through this logger
    level = log.level
    log.setLevel(logging.ERROR)
    try:
        with atomic.atomic_path(dst) as tmp, quiet_fds():
            rc = llama_cpp.llama_model_quantize(str(src).encode(), str(tmp).encode(), ctypes.byref(params))
            if rc != 0:
                raise UserError(f"{src}: llama.cpp could not quantize to {quant} (status {rc})")
    finally:
        log.setLevel(level)
