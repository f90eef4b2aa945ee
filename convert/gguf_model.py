"""Write a full model GGUF (F32/F16/BF16/Q8_0 through gguf-py) from a base model and, optionally, merged adapters."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import gguf
import numpy as np
from tqdm import tqdm

from umi_edge import atomic

from .source import BaseModel

# gguf-py quantizes these in numpy; K-quants come from llama.cpp (see quantize.py).
NUMPY_TYPES = {
    "f32": (gguf.GGMLQuantizationType.F32, gguf.LlamaFileType.ALL_F32),
    "f16": (gguf.GGMLQuantizationType.F16, gguf.LlamaFileType.MOSTLY_F16),
    "bf16": (gguf.GGMLQuantizationType.BF16, gguf.LlamaFileType.MOSTLY_BF16),
    "q8_0": (gguf.GGMLQuantizationType.Q8_0, gguf.LlamaFileType.MOSTLY_Q8_0),
}


def _encode(name: str, w: np.ndarray, qtype: gguf.GGMLQuantizationType) -> tuple[np.ndarray, gguf.GGMLQuantizationType]:
    """Encode one tensor: 1-D tensors (norms, biases) stay F32; rows not a multiple of the block fall back to F16."""
    if w.ndim <= 1 or qtype == gguf.GGMLQuantizationType.F32:
        return w.astype(np.float32), gguf.GGMLQuantizationType.F32
    if qtype in (gguf.GGMLQuantizationType.F16, gguf.GGMLQuantizationType.BF16):
        if qtype == gguf.GGMLQuantizationType.F16:
            return w.astype(np.float16), qtype
        return gguf.quants.quantize(w.astype(np.float32), qtype), qtype
    block = gguf.GGML_QUANT_SIZES[qtype][0]
    if w.shape[-1] % block:
        return w.astype(np.float16), gguf.GGMLQuantizationType.F16
    return gguf.quants.quantize(w.astype(np.float32), qtype), qtype


def write_model(
    path: Path,
    base: BaseModel,
    *,
    outtype: str = "f16",
    transform: Callable[[str, np.ndarray], np.ndarray] | None = None,
    name: str | None = None,
    progress: bool = True,
) -> dict[str, object]:
    """Write ``base`` (each tensor passed through ``transform(name, w)``, e.g. a LoRA merge) as a GGUF at ``path``.

    The file appears atomically. Returns a summary (tensor count, types, metadata source).
    """
    qtype, ftype = NUMPY_TYPES[outtype]
    counts: dict[str, int] = {}
    with atomic.atomic_path(path) as tmp:
        writer = gguf.GGUFWriter(tmp, base.hp.arch)
        meta = base.write_metadata(writer)
        if name:
            writer.kv_data[0].pop("general.name", None)
            writer.add_key_value("general.name", name, gguf.GGUFValueType.STRING)
        writer.add_file_type(int(ftype))
        writer.add_quantization_version(gguf.GGML_QUANT_VERSION)
        names = base.tensor_names()
        for tname in tqdm(names, desc=f"writing {Path(path).name}", unit="tensor", disable=not progress, leave=False):
            w = base.tensor(tname)
            if transform is not None:
                w = transform(tname, w)
            data, used = _encode(tname, w, qtype)
            counts[used.name] = counts.get(used.name, 0) + 1
            writer.add_tensor(tname, data, raw_dtype=used)
        writer.write_header_to_file()
        writer.write_kv_data_to_file()
        writer.write_tensors_to_file()
        writer.close()
    return {"tensors": len(names), "types": counts, "metadata": meta}
