"""umi-edge: the α-UMi multi-LLM tool agent on small quantized models, offline, on llama.cpp."""

__version__ = "0.1.0"
