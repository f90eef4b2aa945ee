"""Merge, GGUF writing, llama.cpp quantization and bundles; installed as ``umi_edge.convert``. Runs without torch.

Public API: :func:`convert_run` (a training run → a bundle directory); ``umi-edge convert`` is its command line.
"""

from .pipeline import convert_run

__all__ = ["convert_run"]
