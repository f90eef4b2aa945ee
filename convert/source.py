"""Base models to convert: a Hugging Face llama/qwen2 directory (safetensors) or a GGUF file.

Both expose the same view: hyperparameters, GGUF tensor names, and each tensor as float32 numpy in llama.cpp's
layout (Q/K rows already permuted for llama), so merging and writing never care where the weights came from.
"""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

import gguf
import numpy as np

from umi_edge.errors import UserError

from .arch import Hparams, NameMap, hparams_from_gguf, hparams_from_hf, permute_qk
from .safetensors_io import Checkpoint
from .vocab import add_hf_vocab, check_vocab_gguf, copy_fields, has_chat_template

# HF tensors that have no GGUF counterpart and carry no weights llama.cpp needs.
_IGNORED_SUFFIXES = ("rotary_emb.inv_freq",)


class BaseModel(Protocol):
    path: Path
    kind: str  # "hf" or "gguf"
    hp: Hparams
    names: NameMap

    def tensor_names(self) -> list[str]: ...
    def shape(self, name: str) -> tuple[int, ...]: ...
    def tensor(self, name: str) -> np.ndarray: ...
    def write_metadata(self, writer: gguf.GGUFWriter) -> dict[str, object]: ...


class HfModel:
    """A Hugging Face model directory: ``config.json``, safetensors and a tokenizer."""

    kind = "hf"

    def __init__(self, path: Path, *, vocab_gguf: Path | None = None, vocab_dir: Path | None = None) -> None:
        self.path = Path(path)
        self.vocab_dir = Path(vocab_dir) if vocab_dir is not None else self.path  # where the tokenizer files are
        self.hp = hparams_from_hf(self.path)
        self.names = NameMap(self.hp)
        self.ckpt = Checkpoint(self.path)
        self.vocab_gguf = vocab_gguf
        self._hf_key: dict[str, str] = {}
        for key in self.ckpt.keys():
            if key.endswith(_IGNORED_SUFFIXES):
                continue
            if key == "lm_head.weight" and self.hp.tied_embeddings:
                continue
            name = self.names.gguf_name(key)
            if name is None:
                raise UserError(f"{self.path}: tensor {key!r} has no llama.cpp counterpart for {self.hp.arch}")
            self._hf_key[name] = key
        if "token_embd.weight" not in self._hf_key:
            raise UserError(f"{self.path}: no token embedding tensor (model.embed_tokens.weight)")
        emb = self.ckpt.shape(self._hf_key["token_embd.weight"])
        if emb != (self.hp.n_vocab, self.hp.n_embd):
            raise UserError(
                f"{self.path}: token embedding shape {emb} does not match config ({self.hp.n_vocab}, {self.hp.n_embd})"
            )

    def tensor_names(self) -> list[str]:
        return list(self._hf_key)

    def shape(self, name: str) -> tuple[int, ...]:
        return self.ckpt.shape(self._hf_key[name])

    def tensor(self, name: str) -> np.ndarray:
        w = self.ckpt.get(self._hf_key[name]).astype(np.float32, copy=False)
        n_head = self.names.permute_heads(name)
        if n_head is not None:
            w = permute_qk(w, n_head)
        return w

    def write_metadata(self, writer: gguf.GGUFWriter) -> dict[str, object]:
        from .arch import add_hparams

        writer.add_name(self.path.name)
        add_hparams(writer, self.hp)
        if self.vocab_gguf is not None:
            reader = open_gguf(self.vocab_gguf)
            check_vocab_gguf(reader, self.vocab_gguf, self.hp.n_vocab)
            n = copy_fields(writer, reader, prefixes=("tokenizer.",))
            if not has_chat_template(reader):
                from .vocab import DEFAULT_CHAT_TEMPLATE

                writer.add_chat_template(DEFAULT_CHAT_TEMPLATE)
            return {"source": f"copied from {self.vocab_gguf.name}", "fields": n}
        return add_hf_vocab(writer, self.vocab_dir, self.hp.n_vocab)


def open_gguf(path: Path) -> gguf.GGUFReader:
    """Open a GGUF file, turning a corrupt or truncated file into a one-line error."""
    path = Path(path)
    if not path.is_file():
        raise UserError(f"{path}: file not found")
    try:
        return gguf.GGUFReader(path)
    except (ValueError, OSError, KeyError, IndexError, TypeError, AssertionError) as exc:
        raise UserError(f"{path}: not a valid GGUF file ({type(exc).__name__}: {exc})") from None


class GgufModel:
    """A GGUF model file (any tensor type gguf-py can dequantize); metadata is copied with exact value types."""

    kind = "gguf"

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.reader = open_gguf(self.path)
        self.hp = hparams_from_gguf(self.reader, self.path)
        self.names = NameMap(self.hp)
        self._tensors = {t.name: t for t in self.reader.tensors}
        if "token_embd.weight" not in self._tensors:
            raise UserError(f"{self.path}: no token_embd.weight tensor")

    def tensor_names(self) -> list[str]:
        return list(self._tensors)

    def shape(self, name: str) -> tuple[int, ...]:
        return tuple(int(x) for x in reversed(self._tensors[name].shape))

    def tensor(self, name: str) -> np.ndarray:
        t = self._tensors[name]
        try:
            w = gguf.quants.dequantize(t.data, t.tensor_type)
        except NotImplementedError:
            raise UserError(f"{self.path}: tensor {name}: cannot read type {t.tensor_type.name}") from None
        return np.asarray(w, dtype=np.float32).reshape(self.shape(name))

    def tensor_type(self, name: str) -> gguf.GGMLQuantizationType:
        return self._tensors[name].tensor_type

    def write_metadata(self, writer: gguf.GGUFWriter) -> dict[str, object]:
        n = copy_fields(writer, self.reader)
        if not has_chat_template(self.reader):
            from .vocab import DEFAULT_CHAT_TEMPLATE

            writer.add_chat_template(DEFAULT_CHAT_TEMPLATE)
        return {"source": f"copied from {self.path.name}", "fields": n}


def open_base(path: Path, *, vocab_gguf: Path | None = None) -> HfModel | GgufModel:
    """Open a base model: a ``.gguf`` file or a Hugging Face directory."""
    path = Path(path)
    if path.is_file():
        if path.suffix != ".gguf":
            raise UserError(f"{path}: expected a .gguf file or a Hugging Face model directory")
        return GgufModel(path)
    if path.is_dir():
        ggufs = sorted(path.glob("*.gguf"))
        if not (path / "config.json").exists() and len(ggufs) == 1:
            return GgufModel(ggufs[0])
        return HfModel(path, vocab_gguf=vocab_gguf)
    raise UserError(f"{path}: base model not found")
