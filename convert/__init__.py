"""Merge, GGUF writing, llama.cpp quantization and bundles; installed as ``umi_edge.convert``. Runs without torch."""
