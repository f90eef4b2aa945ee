"""Every private or low-level llama-cpp-python API that umi_edge uses, by name.

The engine is built on ``llama_cpp._internals`` (LlamaModel, LlamaContext, LlamaBatch, LlamaSampler,
LlamaTokenDataArray), ``llama_cpp._logger``, the ctypes bindings of llama.h, and a subclass of
``llama_cpp.llama_grammar.SchemaConverter`` that overrides ``_build_object_rule``.  None of these is a
stable API, so the dependency has an upper bound (pyproject.toml); an upgrade that renames, removes or
re-signs one fails here with its name instead of somewhere deep in a generation.
"""

from __future__ import annotations

import ctypes
import inspect
import logging
from typing import Any

import llama_cpp
import pytest
from edge_bundles import smollm2_path
from llama_cpp import _internals, _logger
from llama_cpp.llama_grammar import SchemaConverter

from umi_edge.engine import EngineOptions, native
from umi_edge.engine.grammar import _AnyOrderConverter
from umi_edge.engine.quantize import _FTYPES

# name → number of C arguments (the ctypes binding's argtypes)
C_FUNCTIONS = {
    "llama_backend_init": 0,
    "llama_supports_gpu_offload": 0,
    "llama_model_default_params": 0,
    "llama_context_default_params": 0,
    "llama_model_quantize_default_params": 0,
    "llama_model_quantize": 3,  # fname_inp, fname_out, params
    "llama_adapter_lora_init": 2,  # model, path_lora
    "llama_set_adapters_lora": 4,  # ctx, adapters, n_adapters, scales
    "llama_token_to_piece": 6,  # vocab, token, buf, length, lstrip, special
    "llama_vocab_is_eog": 2,  # vocab, token
    "llama_sampler_init_grammar": 3,  # vocab, grammar_str, grammar_root
    "llama_sampler_apply": 2,  # smpl, cur_p
    "llama_sampler_sample": 3,  # smpl, ctx, idx
    "llama_sampler_accept": 2,  # smpl, token
    "llama_sampler_free": 1,  # smpl
    "llama_get_logits_ith": 2,  # ctx, i
}

# C struct → the fields umi_edge reads or sets
C_STRUCTS = {
    "llama_model_params": {"n_gpu_layers", "load_mode", "use_extra_bufts"},
    "llama_context_params": {"n_ctx", "n_batch", "n_ubatch", "n_seq_max", "n_threads", "n_threads_batch"}
    | {"flash_attn_type"},
    "llama_model_quantize_params": {"ftype", "nthread", "allow_requantize"},
    "llama_token_data": {"id", "logit", "p"},
    "llama_token_data_array": {"data", "size", "selected", "sorted"},
}

C_CONSTANTS = [
    "LLAMA_LOAD_MODE_MMAP",
    "LLAMA_LOAD_MODE_NONE",
    "LLAMA_FLASH_ATTN_TYPE_ENABLED",
    "LLAMA_FLASH_ATTN_TYPE_DISABLED",
    *_FTYPES.values(),
]

# class in llama_cpp._internals → {method: parameter names after self} (constructor as "__init__")
INTERNALS: dict[str, dict[str, tuple[str, ...]]] = {
    "LlamaModel": {
        "__init__": ("path_model", "params", "verbose"),
        "n_vocab": (),
        "n_ctx_train": (),
        "add_bos_token": (),
        "token_eos": (),
        "tokenize": ("text", "add_bos", "special"),
        "close": (),
    },
    "LlamaContext": {
        "__init__": ("model", "params", "verbose"),
        "n_ctx": (),
        "kv_cache_clear": (),
        "kv_cache_seq_rm": ("seq_id", "p0", "p1"),
        "decode": ("batch",),
        "get_logits_ith": ("i",),
        "close": (),
    },
    "LlamaBatch": {
        "__init__": ("n_tokens", "embd", "n_seq_max", "verbose"),
        "set_batch": ("batch", "n_past", "logits_all"),
        "close": (),
    },
    "LlamaSampler": {
        "__init__": (),
        "add_penalties": ("n_vocab", "penalty_last_n", "penalty_repeat", "penalty_freq", "penalty_present"),
        "add_greedy": (),
        "add_top_k": ("k",),
        "add_top_p": ("p", "min_keep"),
        "add_min_p": ("p", "min_keep"),
        "add_temp": ("temp",),
        "add_dist": ("seed",),
        "sample": ("ctx", "idx"),
        "close": (),
    },
    "LlamaTokenDataArray": {"__init__": ("n_vocab",), "copy_logits": ("logits",)},
}

# SchemaConverter members the grammar's subclass calls or overrides → parameter names after self
SCHEMA_CONVERTER = {
    "__init__": ("prop_order", "allow_fetch", "dotall", "raw_pattern"),
    "_build_object_rule": ("properties", "required", "name", "additional_properties"),
    "visit": ("schema", "name"),
    "_format_literal": ("literal",),
    "_add_rule": ("name", "rule"),
    "resolve_refs": ("schema", "url"),
    "format_grammar": (),
}


def _params(func: Any) -> tuple[str, ...]:
    return tuple(p for p in inspect.signature(func).parameters if p != "self")


@pytest.mark.parametrize(("name", "n_args"), C_FUNCTIONS.items(), ids=list(C_FUNCTIONS))
def test_c_function(name: str, n_args: int) -> None:
    func = getattr(llama_cpp, name, None)
    assert func is not None, f"llama_cpp.{name} is gone"
    assert callable(func), f"llama_cpp.{name} is not callable"
    argtypes = getattr(func, "argtypes", None) or []
    assert len(argtypes) == n_args, f"llama_cpp.{name} now takes {len(argtypes)} arguments, not {n_args}"


@pytest.mark.parametrize(("name", "fields"), C_STRUCTS.items(), ids=list(C_STRUCTS))
def test_c_struct(name: str, fields: set[str]) -> None:
    struct = getattr(llama_cpp, name, None)
    assert struct is not None and issubclass(struct, ctypes.Structure), f"llama_cpp.{name} is gone"
    missing = fields - {f[0] for f in struct._fields_}
    assert not missing, f"llama_cpp.{name} lost the fields {sorted(missing)}"


@pytest.mark.parametrize("name", C_CONSTANTS)
def test_c_constant(name: str) -> None:
    assert isinstance(getattr(llama_cpp, name, None), int), f"llama_cpp.{name} is gone"


def test_c_pointer_types() -> None:
    for name in ("llama_adapter_lora_p_ctypes", "llama_token_data_p"):
        assert getattr(llama_cpp, name, None) is not None, f"llama_cpp.{name} is gone"
    assert issubclass(llama_cpp.llama_adapter_lora_p_ctypes, ctypes._Pointer), "llama_adapter_lora_p_ctypes"


@pytest.mark.parametrize(
    ("cls", "method", "params"),
    [(c, m, p) for c, methods in INTERNALS.items() for m, p in methods.items()],
    ids=[f"_internals.{c}.{m}" for c, methods in INTERNALS.items() for m in methods],
)
def test_internals_method(cls: str, method: str, params: tuple[str, ...]) -> None:
    klass = getattr(_internals, cls, None)
    assert klass is not None, f"llama_cpp._internals.{cls} is gone"
    func = getattr(klass, method, None)
    assert callable(func), f"llama_cpp._internals.{cls}.{method} is gone"
    got = _params(func)
    assert got[: len(params)] == params, f"llama_cpp._internals.{cls}.{method}{got}: expected {params}"
    assert all(
        p.default is not inspect.Parameter.empty
        for p in list(inspect.signature(func).parameters.values())[len(params) + 1 :]
        if p.kind not in (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD)
    ), f"llama_cpp._internals.{cls}.{method} has new required parameters: {got}"


def test_internals_instance_attributes() -> None:
    """The native handles umi_edge passes to C functions: ``model.model``, ``model.vocab``, ``ctx.ctx``,
    ``sampler.sampler`` and the candidates of a token data array."""
    opts = EngineOptions(threads=1, context_length=64)
    model = native.load_model(smollm2_path(), opts)
    try:
        assert model.model and model.vocab, "LlamaModel.model / LlamaModel.vocab"
        ctx = native.new_context(model, 64, opts)
        try:
            assert ctx.ctx, "LlamaContext.ctx"
        finally:
            ctx.close()
        smpl = _internals.LlamaSampler()
        assert smpl.sampler, "LlamaSampler.sampler"
        smpl.close()
        arr = _internals.LlamaTokenDataArray(n_vocab=model.n_vocab())
        assert isinstance(arr.candidates, llama_cpp.llama_token_data_array), "LlamaTokenDataArray.candidates"
        assert arr.candidates_data.id.shape == (model.n_vocab(),), "LlamaTokenDataArray.candidates_data"
    finally:
        model.close()


def test_high_level_llama_reads_model_default_params_from_the_low_level_module() -> None:
    """``native.high_level_defaults`` swaps ``llama_cpp.llama_cpp.llama_model_default_params`` because that is
    where ``Llama.__init__`` looks it up."""
    import llama_cpp.llama as high_level

    assert high_level.llama_cpp is llama_cpp.llama_cpp, "llama_cpp.llama no longer imports llama_cpp.llama_cpp"
    source = inspect.getsource(high_level.Llama.__init__)
    assert "llama_cpp.llama_model_default_params()" in source, "Llama.__init__ no longer calls it"


def test_logger() -> None:
    """``_logger.set_verbose`` and the logger's name, which engine/quantize.py silences by name."""
    assert _params(_logger.set_verbose) == ("verbose",), "llama_cpp._logger.set_verbose"
    assert _logger.logger is logging.getLogger("llama-cpp-python"), "llama_cpp._logger.logger name"


@pytest.mark.parametrize(("method", "params"), SCHEMA_CONVERTER.items(), ids=list(SCHEMA_CONVERTER))
def test_schema_converter_method(method: str, params: tuple[str, ...]) -> None:
    func = getattr(SchemaConverter, method, None)
    assert callable(func), f"llama_cpp.llama_grammar.SchemaConverter.{method} is gone"
    assert _params(func) == params, f"SchemaConverter.{method}{_params(func)}: expected {params}"


def test_schema_converter_builds_every_object_through_build_object_rule() -> None:
    """The hook the any-order grammar relies on: ``visit`` makes nested objects through ``_build_object_rule``."""
    seen: list[str] = []

    class Spy(SchemaConverter):
        def _build_object_rule(self, properties, required, name, additional_properties):  # type: ignore[no-untyped-def]
            seen.append(name)
            return super()._build_object_rule(properties, required, name, additional_properties)

    schema = {
        "type": "object",
        "properties": {"a": {"type": "object", "properties": {"b": {"type": "integer"}}}},
        "additionalProperties": False,
    }
    conv = Spy(prop_order={}, allow_fetch=False, dotall=False, raw_pattern=False)
    conv.visit(conv.resolve_refs(schema, "t"), "args")
    assert seen == ["args", "args-a"], seen
    assert issubclass(_AnyOrderConverter, SchemaConverter)
