"""The llama.cpp engine: a bundle's models, one context (KV cache, LoRA adapter) per role, prefix reuse,
grammar-constrained streamed generation."""

from umi_edge.engine.engine import Engine
from umi_edge.engine.grammar import GrammarError, caller_grammar, validate_gbnf
from umi_edge.engine.options import EngineOptions, SamplingParams, physical_cores
from umi_edge.engine.role import ContextOverflow, Generation, RoleContext

__all__ = [
    "ContextOverflow",
    "Engine",
    "EngineOptions",
    "Generation",
    "GrammarError",
    "RoleContext",
    "SamplingParams",
    "caller_grammar",
    "physical_cores",
    "validate_gbnf",
]
