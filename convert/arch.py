"""Model hyperparameters (architecture, sizes, rope) read from a Hugging Face ``config.json`` or GGUF metadata,
and the tensor layout rules that depend on them (HF → GGUF tensor names, the llama Q/K row permutation)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import gguf
import numpy as np

from umi_edge.errors import UserError

# HF model_type / architectures -> gguf architecture name.
HF_ARCHS = {
    "llama": ("llama", gguf.MODEL_ARCH.LLAMA),
    "qwen2": ("qwen2", gguf.MODEL_ARCH.QWEN2),
}
GGUF_ARCHS = {name: arch for name, arch in HF_ARCHS.values()}
# Architectures whose rope rotates adjacent pairs in llama.cpp but halves in HF: Q/K rows are permuted.
PERMUTED_ARCHS = {"llama"}


@dataclass
class Hparams:
    arch: str  # gguf architecture name
    n_layer: int
    n_embd: int
    n_ff: int
    n_head: int
    n_head_kv: int
    n_vocab: int
    context_length: int
    rope_theta: float
    rms_eps: float
    head_dim: int
    tied_embeddings: bool

    @property
    def model_arch(self) -> gguf.MODEL_ARCH:
        return GGUF_ARCHS[self.arch]

    def to_json(self) -> dict[str, Any]:
        return dict(self.__dict__)


def hparams_from_hf(model_dir: Path) -> Hparams:
    """Read ``config.json`` of a Hugging Face model directory; refuse architectures we cannot write."""
    path = Path(model_dir) / "config.json"
    if not path.is_file():
        raise UserError(f"{model_dir}: not a Hugging Face model directory (no config.json)")
    try:
        cfg = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise UserError(f"{path}:{exc.lineno}: invalid JSON: {exc.msg}") from None
    mt = cfg.get("model_type")
    if mt not in HF_ARCHS:
        raise UserError(
            f"{path}: field 'model_type': unsupported architecture {mt!r}, expected one of {sorted(HF_ARCHS)}"
        )
    if cfg.get("rope_scaling") or (cfg.get("rope_parameters") or {}).get("rope_type", "default") != "default":
        raise UserError(f"{path}: field 'rope_scaling': scaled rope is not supported by this converter")
    try:
        n_head = int(cfg["num_attention_heads"])
        n_embd = int(cfg["hidden_size"])
        theta = cfg.get("rope_theta")
        if theta is None:
            theta = (cfg.get("rope_parameters") or {}).get("rope_theta", 10000.0)
        hp = Hparams(
            arch=HF_ARCHS[mt][0],
            n_layer=int(cfg["num_hidden_layers"]),
            n_embd=n_embd,
            n_ff=int(cfg["intermediate_size"]),
            n_head=n_head,
            n_head_kv=int(cfg.get("num_key_value_heads") or n_head),
            n_vocab=int(cfg["vocab_size"]),
            context_length=int(cfg.get("max_position_embeddings") or 4096),
            rope_theta=float(theta),
            rms_eps=float(cfg.get("rms_norm_eps", 1e-6)),
            head_dim=int(cfg.get("head_dim") or n_embd // n_head),
            tied_embeddings=bool(cfg.get("tie_word_embeddings", False)),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise UserError(f"{path}: missing or invalid field {exc}") from None
    return hp


def hparams_from_gguf(reader: gguf.GGUFReader, path: Path) -> Hparams:
    """Read the hyperparameters of a GGUF model file."""

    def get(key: str, default: Any = None) -> Any:
        f = reader.get_field(key)
        return default if f is None else f.contents()

    arch = get("general.architecture")
    if arch not in GGUF_ARCHS:
        raise UserError(f"{path}: unsupported architecture {arch!r}, expected one of {sorted(GGUF_ARCHS)}")
    if get("general.type", "model") != "model":
        raise UserError(f"{path}: is a GGUF {get('general.type')!r}, expected a model")
    names = {t.name for t in reader.tensors}
    try:
        n_head = int(get(f"{arch}.attention.head_count"))
        n_embd = int(get(f"{arch}.embedding_length"))
        n_vocab = get(f"{arch}.vocab_size")
        if n_vocab is None:
            tokens = reader.get_field("tokenizer.ggml.tokens")
            if tokens is None:
                raise UserError(f"{path}: no '{arch}.vocab_size' and no 'tokenizer.ggml.tokens' to count")
            n_vocab = len(tokens.data)
        return Hparams(
            arch=arch,
            n_layer=int(get(f"{arch}.block_count")),
            n_embd=n_embd,
            n_ff=int(get(f"{arch}.feed_forward_length")),
            n_head=n_head,
            n_head_kv=int(get(f"{arch}.attention.head_count_kv", n_head)),
            n_vocab=int(n_vocab),
            context_length=int(get(f"{arch}.context_length", 4096)),
            rope_theta=float(get(f"{arch}.rope.freq_base", 10000.0)),
            rms_eps=float(get(f"{arch}.attention.layer_norm_rms_epsilon", 1e-6)),
            head_dim=int(get(f"{arch}.rope.dimension_count", n_embd // n_head)),
            tied_embeddings="output.weight" not in names,
        )
    except (TypeError, ValueError, AttributeError) as exc:
        raise UserError(f"{path}: missing or invalid hyperparameter metadata ({exc})") from None


def add_hparams(writer: gguf.GGUFWriter, hp: Hparams) -> None:
    """Write the typed hyperparameter keys llama.cpp reads."""
    writer.add_context_length(hp.context_length)
    writer.add_embedding_length(hp.n_embd)
    writer.add_block_count(hp.n_layer)
    writer.add_feed_forward_length(hp.n_ff)
    writer.add_head_count(hp.n_head)
    writer.add_head_count_kv(hp.n_head_kv)
    writer.add_rope_freq_base(hp.rope_theta)
    writer.add_layer_norm_rms_eps(hp.rms_eps)
    writer.add_rope_dimension_count(hp.head_dim)
    writer.add_vocab_size(hp.n_vocab)
    if hp.head_dim * hp.n_head != hp.n_embd:
        writer.add_key_length(hp.head_dim)
        writer.add_value_length(hp.head_dim)


def permute_qk(w: np.ndarray, n_head: int) -> np.ndarray:
    """HF (rotate halves) → llama.cpp (rotate pairs) row order of a Q or K projection (or a LoRA B of one)."""
    return w.reshape(n_head, 2, w.shape[0] // n_head // 2, *w.shape[1:]).swapaxes(1, 2).reshape(w.shape)


def unpermute_qk(w: np.ndarray, n_head: int) -> np.ndarray:
    """Inverse of :func:`permute_qk`."""
    return w.reshape(n_head, w.shape[0] // n_head // 2, 2, *w.shape[1:]).swapaxes(1, 2).reshape(w.shape)


class NameMap:
    """HF module/tensor names → GGUF tensor names, plus the Q/K permutation each GGUF tensor needs."""

    def __init__(self, hp: Hparams) -> None:
        self.hp = hp
        self._map = gguf.get_tensor_name_map(hp.model_arch, hp.n_layer)

    def gguf_name(self, hf_name: str) -> str | None:
        """GGUF name of an HF tensor (``model.layers.0.self_attn.q_proj.weight`` → ``blk.0.attn_q.weight``)."""
        return self._map.get_name(hf_name, try_suffixes=(".weight", ".bias"))

    def module_gguf_name(self, hf_module: str) -> str | None:
        """GGUF base name (no suffix) of an HF module (``...q_proj`` → ``blk.0.attn_q``)."""
        return self._map.get_name(hf_module)

    def permute_heads(self, gguf_name: str) -> int | None:
        """Number of heads to permute rows with (Q: n_head, K: n_head_kv), or None when not permuted."""
        if self.hp.arch not in PERMUTED_ARCHS:
            return None
        base = gguf_name.removesuffix(".weight").removesuffix(".bias")
        if base.endswith(".attn_q"):
            return self.hp.n_head
        if base.endswith(".attn_k"):
            return self.hp.n_head_kv
        return None
