"""Tokenizer metadata for a GGUF: copied from a GGUF of the same base (exact value types), or built from a Hugging
Face sentencepiece tokenizer with gguf-py's vocab classes.

BPE tokenizers from a Hugging Face directory need llama.cpp's pre-tokenizer name (``tokenizer.ggml.pre``), which
gguf-py cannot detect; they are written only when a GGUF of the same base supplies the vocabulary (``vocab_gguf``),
otherwise refused with a message saying so.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import gguf

from umi_edge.errors import UserError

# Written when a tokenizer brings no chat template (llama-cpp-python would otherwise silently use llama-2's):
# the α-UMi turn format, `role: content</s>`.
DEFAULT_CHAT_TEMPLATE = (
    "{% for message in messages %}{{ message['role'] }}: {{ message['content'] }}</s>{% endfor %}"
    "{% if add_generation_prompt %}assistant: {% endif %}"
)
_SKIP_COPY = ("GGUF.", "general.architecture", "general.type", "general.file_type", "general.quantization_version")


def copy_fields(writer: gguf.GGUFWriter, reader: gguf.GGUFReader, *, prefixes: tuple[str, ...] | None = None) -> int:
    """Copy metadata fields of ``reader`` into ``writer`` keeping each field's value type; returns the count.

    ``prefixes`` limits the copy (e.g. ``("tokenizer.",)``); the GGUF header fields, architecture, type, file type
    and quantization version are never copied (the writer sets its own).
    """
    n = 0
    for key, field in reader.fields.items():
        if key.startswith(_SKIP_COPY) or (prefixes is not None and not key.startswith(prefixes)):
            continue
        vtype = field.types[0]
        value = field.contents()
        sub = field.types[-1] if vtype == gguf.GGUFValueType.ARRAY else None
        if vtype == gguf.GGUFValueType.ARRAY and len(field.types) > 2:
            raise UserError(f"field {key!r}: nested arrays are not supported")
        writer.add_key_value(key, value, vtype, sub_type=sub)
        n += 1
    return n


def has_chat_template(reader: gguf.GGUFReader) -> bool:
    f = reader.get_field("tokenizer.chat_template")
    return f is not None and bool(f.contents())


def _added_token_types(model_dir: Path) -> dict[int, bool]:
    """id → special? for the tokens ``tokenizer_config.json`` / ``tokenizer.json`` declare as added."""
    out: dict[int, bool] = {}
    tj = model_dir / "tokenizer.json"
    if tj.is_file():
        for tok in json.loads(tj.read_text(encoding="utf-8")).get("added_tokens") or []:
            out[int(tok["id"])] = bool(tok.get("special", False))
    tc = model_dir / "tokenizer_config.json"
    if tc.is_file():
        for tid, tok in (json.loads(tc.read_text(encoding="utf-8")).get("added_tokens_decoder") or {}).items():
            out[int(tid)] = bool(tok.get("special", False))
    return out


def add_sentencepiece_vocab(writer: gguf.GGUFWriter, model_dir: Path, n_vocab: int) -> dict[str, object]:
    """Write a sentencepiece (``tokenizer.model``) vocabulary and the special-token metadata; returns a summary."""
    try:
        from sentencepiece import sentencepiece_model_pb2
    except ImportError as exc:
        raise UserError(
            f"{model_dir}: a sentencepiece tokenizer needs `sentencepiece` and `protobuf` ({exc})"
        ) from None

    model_dir = Path(model_dir)
    try:
        vocab = gguf.vocab.SentencePieceVocab(model_dir)
    except (FileNotFoundError, ValueError, RuntimeError) as exc:
        raise UserError(f"{model_dir}: cannot read the sentencepiece tokenizer ({exc})") from None
    tokens: list[bytes] = []
    scores: list[float] = []
    types: list[int] = []
    for text, score, ttype in vocab.all_tokens():
        tokens.append(text)
        scores.append(score)
        types.append(int(ttype))
    added = _added_token_types(model_dir)
    for tid, is_special in added.items():
        if tid < len(types) and types[tid] == gguf.TokenType.NORMAL:
            types[tid] = int(gguf.TokenType.CONTROL if is_special else gguf.TokenType.USER_DEFINED)
    if len(tokens) > n_vocab:
        raise UserError(f"{model_dir}: the tokenizer has {len(tokens)} tokens but the model only {n_vocab} embeddings")
    for i in range(len(tokens), n_vocab):  # embeddings padded beyond the tokenizer, as convert_hf_to_gguf does
        tokens.append(f"[PAD{i}]".encode())
        scores.append(-1000.0)
        types.append(int(gguf.TokenType.UNUSED))
    proto = sentencepiece_model_pb2.ModelProto()  # type: ignore[attr-defined]  # generated protobuf code
    proto.ParseFromString((vocab.fname_tokenizer).read_bytes())
    writer.add_tokenizer_model("llama")
    writer.add_tokenizer_pre("default")
    writer.add_token_list(tokens)
    writer.add_token_scores(scores)
    writer.add_token_types(types)
    writer.add_add_space_prefix(bool(proto.normalizer_spec.add_dummy_prefix))
    logging.getLogger("gguf.vocab").setLevel(logging.ERROR)  # it warns about pair templates llama.cpp never uses
    special = gguf.SpecialVocab(model_dir, n_vocab=len(tokens))
    special.add_to_gguf(writer, quiet=True)
    if special.chat_template is None:
        writer.add_chat_template(DEFAULT_CHAT_TEMPLATE)
    return {
        "source": "sentencepiece",
        "tokens": len(tokens),
        "special": dict(special.special_token_ids),
        "add_bos": special.add_special_token.get("bos"),
        "chat_template": "tokenizer" if special.chat_template is not None else "default (α-UMi turns)",
    }


def add_hf_vocab(writer: gguf.GGUFWriter, model_dir: Path, n_vocab: int) -> dict[str, object]:
    """Write the vocabulary of a Hugging Face model directory, refusing tokenizers we cannot write faithfully."""
    model_dir = Path(model_dir)
    if (model_dir / "tokenizer.model").is_file():
        return add_sentencepiece_vocab(writer, model_dir, n_vocab)
    kind = "no tokenizer"
    tj = model_dir / "tokenizer.json"
    if tj.is_file():
        try:
            kind = json.loads(tj.read_text(encoding="utf-8"))["model"]["type"] + " tokenizer.json"
        except (json.JSONDecodeError, KeyError, TypeError):
            kind = "an unreadable tokenizer.json"
    raise UserError(
        f"{model_dir}: unsupported tokenizer ({kind}): only sentencepiece (tokenizer.model) vocabularies are built "
        "here; for a BPE tokenizer pass --vocab-gguf with a GGUF of the same base model"
    )


def check_vocab_gguf(reader: gguf.GGUFReader, path: Path, n_vocab: int) -> None:
    """Refuse a vocabulary GGUF whose token count differs from the model's embeddings."""
    f = reader.get_field("tokenizer.ggml.tokens")
    if f is None:
        raise UserError(f"{path}: has no tokenizer metadata (tokenizer.ggml.tokens)")
    if len(f.data) != n_vocab:
        raise UserError(f"{path}: vocabulary of {len(f.data)} tokens does not match the model's {n_vocab} embeddings")
