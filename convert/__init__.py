"""Merge, GGUF writing, llama.cpp quantization and bundles; installed as ``umi_edge.convert``. Runs without torch.

Public API: :func:`convert_run` (a training run → a bundle directory, as :class:`ConvertOptions` say; returns a
:class:`ConvertReport`); ``umi-edge convert`` is its command line.
"""

from .pipeline import ConvertOptions, ConvertReport, convert_run

__all__ = ["ConvertOptions", "ConvertReport", "convert_run"]
