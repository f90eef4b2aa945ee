"""Thin helpers over llama-cpp-python's low-level API: models, contexts, LoRA adapters, tokens.

Uses the ``llama_cpp._internals`` wrappers (``LlamaModel``, ``LlamaContext``, ``LlamaBatch``, ``LlamaSampler``),
which llama-cpp-python's own ``Llama`` class is built on and which free native objects in the right order, plus
the C functions the wrappers lack (per-context LoRA adapters, grammar validation, piece decoding without padding).
"""

from __future__ import annotations

import contextlib
import ctypes
import functools
import re
from collections.abc import Callable, Iterator
from pathlib import Path

import llama_cpp
from llama_cpp import _internals, _logger

from umi_edge.engine.options import EngineOptions
from umi_edge.errors import UserError

_BACKEND_READY = False


def init_backend(verbose: bool = False) -> None:
    """Initialise llama.cpp once per process and route its log through llama-cpp-python's logger."""
    global _BACKEND_READY
    _logger.set_verbose(verbose)
    if not _BACKEND_READY:
        llama_cpp.llama_backend_init()
        _BACKEND_READY = True


def gpu_offload_supported() -> bool:
    """True when this llama.cpp build can offload layers to a GPU."""
    return bool(llama_cpp.llama_supports_gpu_offload())


@functools.cache
def cpu_has_amx() -> bool:
    """True when this CPU reports Intel AMX (``amx_int8`` or ``amx_tile`` in /proc/cpuinfo)."""
    try:
        return amx_in_cpuinfo(Path("/proc/cpuinfo").read_text(encoding="ascii", errors="replace"))
    except OSError:
        return False


def amx_in_cpuinfo(text: str) -> bool:
    """True when a ``flags`` line of /proc/cpuinfo text names ``amx_int8`` or ``amx_tile``."""
    return bool(re.search(r"^flags\s*:.*\bamx_(int8|tile)\b", text, re.MULTILINE))


def extra_buffers(options: EngineOptions) -> bool:
    """Whether llama.cpp may put weights in its extra CPU buffer types (AMX and repacked layouts).

    ``EngineOptions.extra_buffers`` decides; ``None`` (the default) turns them off on CPUs with AMX only:
    llama.cpp's AMX matrix multiply crashes the process there (ggml-org/llama.cpp#20824; seen with the SmolLM2
    GGUFs of the default bundle on a Xeon with AMX), while elsewhere they stay on as llama.cpp chooses."""
    return options.extra_buffers if options.extra_buffers is not None else not cpu_has_amx()


def model_default_params(
    options: EngineOptions, default: Callable[[], llama_cpp.llama_model_params] | None = None
) -> llama_cpp.llama_model_params:
    """llama.cpp's default model parameters with this runtime's CPU buffer policy (:func:`extra_buffers`)."""
    params = (default or llama_cpp.llama_model_default_params)()
    params.use_extra_bufts = extra_buffers(options)
    return params


@contextlib.contextmanager
def high_level_defaults(options: EngineOptions) -> Iterator[None]:
    """While open, llama-cpp-python's high-level ``Llama`` class gets :func:`model_default_params` too: it builds
    its parameters from ``llama_cpp.llama_cpp.llama_model_default_params`` and has no option for the buffers."""
    original = llama_cpp.llama_cpp.llama_model_default_params
    llama_cpp.llama_cpp.llama_model_default_params = lambda: model_default_params(options, original)
    try:
        yield
    finally:
        llama_cpp.llama_cpp.llama_model_default_params = original


def load_model(path: Path, options: EngineOptions) -> _internals.LlamaModel:
    """Load a GGUF model; a missing or unreadable file is a UserError naming it."""
    init_backend(options.verbose)
    if not path.exists():
        raise UserError(f"{path}: model file does not exist")
    params = model_default_params(options)
    params.n_gpu_layers = options.gpu_layers if options.gpu_layers >= 0 else 0x7FFFFFFF
    params.load_mode = llama_cpp.LLAMA_LOAD_MODE_MMAP if options.mmap else llama_cpp.LLAMA_LOAD_MODE_NONE
    try:
        return _internals.LlamaModel(path_model=str(path), params=params, verbose=options.verbose)
    except ValueError:
        raise UserError(f"{path}: llama.cpp could not load this file as a GGUF model") from None


def new_context(model: _internals.LlamaModel, n_ctx: int, options: EngineOptions) -> _internals.LlamaContext:
    """A fresh context (its own KV cache) on ``model`` with explicit threads and batch size."""
    params = llama_cpp.llama_context_default_params()
    params.n_ctx = n_ctx
    params.n_batch = min(options.batch_size, n_ctx)
    params.n_ubatch = min(options.batch_size, n_ctx)
    params.n_seq_max = 1
    params.n_threads = options.n_threads
    params.n_threads_batch = options.n_threads
    flash = options.flash_attn if options.flash_attn is not None else (options.gpu_layers != 0)
    params.flash_attn_type = (
        llama_cpp.LLAMA_FLASH_ATTN_TYPE_ENABLED if flash else llama_cpp.LLAMA_FLASH_ATTN_TYPE_DISABLED
    )
    try:
        return _internals.LlamaContext(model=model, params=params, verbose=options.verbose)
    except ValueError:
        raise UserError(f"llama.cpp could not create a context of {n_ctx} tokens (out of memory?)") from None


class LoraAdapter:
    """A LoRA adapter GGUF loaded onto one model; freed with the model (llama.cpp owns it after init)."""

    def __init__(self, model: _internals.LlamaModel, path: Path) -> None:
        if not path.exists():
            raise UserError(f"{path}: adapter file does not exist")
        ptr = llama_cpp.llama_adapter_lora_init(model.model, str(path).encode("utf-8"))
        if not ptr:
            raise UserError(f"{path}: llama.cpp could not load this file as a LoRA adapter for its base model")
        self.ptr = ptr
        self.path = path


def set_adapter(ctx: _internals.LlamaContext, adapter: LoraAdapter | None, scale: float = 1.0) -> None:
    """Make ``adapter`` (or none) the only LoRA adapter of ``ctx``; other contexts on the model are unaffected."""
    if adapter is None:
        rc = llama_cpp.llama_set_adapters_lora(ctx.ctx, None, 0, None)
    else:
        arr = (llama_cpp.llama_adapter_lora_p_ctypes * 1)(adapter.ptr)
        scales = (ctypes.c_float * 1)(scale)
        rc = llama_cpp.llama_set_adapters_lora(ctx.ctx, arr, 1, scales)
    if rc != 0:
        raise UserError(f"llama.cpp refused the LoRA adapter {adapter.path if adapter else ''} (code {rc})")


def tokenize(model: _internals.LlamaModel, text: str, *, add_bos: bool | None = None) -> list[int]:
    """Token ids of ``text``; special-token texts are parsed as the training tokenizer does."""
    bos = model.add_bos_token() if add_bos is None else add_bos
    return model.tokenize(text.encode("utf-8"), bos, True)


def token_bytes(model: _internals.LlamaModel, token: int) -> bytes:
    """The bytes of one token's text (special tokens rendered as nothing)."""
    buf = ctypes.create_string_buffer(64)
    n = llama_cpp.llama_token_to_piece(model.vocab, token, buf, len(buf), 0, False)
    if n < 0:
        buf = ctypes.create_string_buffer(-n)
        n = llama_cpp.llama_token_to_piece(model.vocab, token, buf, len(buf), 0, False)
    return buf.raw[:n]


def is_eog(model: _internals.LlamaModel, token: int) -> bool:
    """True for end-of-generation tokens (EOS, EOT, ...)."""
    return bool(llama_cpp.llama_vocab_is_eog(model.vocab, token))
