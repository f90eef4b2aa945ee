"""Training samples: read per-role JSONL files, mix several data dirs by weight, tokenize, cut from the left.

Tokenization (the runtime must feed the model the same ids, see ``train/__init__.py``):

- prompt ids     = ``tokenizer(model_prompt(input))`` with the tokenizer's own special-token handling (a BOS when
  the tokenizer adds one; special-token text such as LLaMA's ``</s>`` inside the history is parsed as that token).
- completion ids = ``tokenizer(target, add_special_tokens=False)`` followed by the tokenizer's EOS id.

The prompt is tokenized on its own (not jointly with the target) because at inference time the runtime tokenizes
the prompt alone and the model generates from there; the loss covers exactly the completion ids.
Too long samples lose prompt tokens from the left (the BOS is kept); a completion longer than
``max_length - min_prompt_tokens`` is cut at its end (counted in the stats; it then has no EOS).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from umi_edge import jsonl
from umi_edge.errors import UserError
from umi_edge.formats.prompts import model_prompt

from .config import STAGE_DATA, DataSource


@dataclass
class Sample:
    """One tokenized sample: ``input_ids`` = prompt ids + completion ids; loss on ids from ``prompt_len`` on."""

    input_ids: list[int]
    prompt_len: int

    @property
    def completion_len(self) -> int:
        return len(self.input_ids) - self.prompt_len


@dataclass
class TokenStats:
    samples: int = 0
    prompt_cut: int = 0
    target_cut: int = 0
    prompt_tokens_dropped: int = 0
    target_tokens: int = 0
    tokens: int = 0
    extra: dict[str, Any] = field(default_factory=dict)


def check_dirs(sources: list[DataSource], stages: list[str]) -> None:
    """Every data dir exists and holds the role file of every requested stage."""
    if not sources:
        raise UserError("--data: no data directory given (use --data DIR or [[data]] in the config)")
    for src in sources:
        d = Path(src.path)
        if not d.is_dir():
            raise UserError(f"{d}: data directory not found (make one with `umi-edge data import-toolbench`)")
        missing = [f"{STAGE_DATA[s]}.jsonl" for s in stages if not (d / f"{STAGE_DATA[s]}.jsonl").is_file()]
        if missing:
            raise UserError(f"{d}: missing role file(s) {', '.join(missing)} for stage(s) {', '.join(stages)}")


def read_role_file(path: Path, *, allow_empty: bool = False) -> list[tuple[str, str]]:
    """(input, target) pairs of a per-role JSONL file; a bad line raises UserError naming file, line and field.
    An empty file is an error unless ``allow_empty`` (a source without samples of that role, e.g. BFCL's
    summarizer, in a mix whose other sources have them)."""
    out: list[tuple[str, str]] = []
    text = path.read_text(encoding="utf-8") if allow_empty and path.is_file() else None
    if text is not None and not text.strip():
        return out
    for lineno, rec in jsonl.records(text if text is not None else jsonl.read_text(path), path):
        if not isinstance(rec, dict):
            raise UserError(f"{path}:{lineno}: expected a JSON object {{tools, history, input, target}}")
        for key in ("input", "target"):
            if not isinstance(rec.get(key), str):
                raise UserError(f"{path}:{lineno}: field {key!r}: expected a string, got {rec.get(key)!r:.60}")
        out.append((rec["input"], rec["target"]))
    if not out and not allow_empty:
        raise UserError(f"{path}: no records")
    return out


def load_stage(sources: list[DataSource], stage: str, seed: int) -> list[tuple[str, str]]:
    """The stage's records from every source, mixed by weight: weight w keeps each record floor(w) times plus a
    seeded random (w - floor(w)) share of them once more."""
    rng = random.Random(f"{seed}:{stage}")
    out: list[tuple[str, str]] = []
    for src in sources:
        recs = read_role_file(Path(src.path) / f"{STAGE_DATA[stage]}.jsonl", allow_empty=len(sources) > 1)
        whole = int(src.weight)
        out.extend(recs * whole)
        frac = src.weight - whole
        if frac > 0:
            out.extend(rng.sample(recs, round(frac * len(recs))))
    if not out:
        names = ", ".join(f"{Path(s.path) / STAGE_DATA[stage]}.jsonl" for s in sources)
        raise UserError(f"{names}: no {stage} records in any data directory")
    return out


def split_eval(records: list[Any], fraction: float, max_samples: int, seed: int) -> tuple[list[Any], list[Any]]:
    """Seeded held-out slice: (train, eval). At least one eval record when fraction > 0 and there are >= 10."""
    if fraction <= 0 or len(records) < 10:
        return list(records), []
    idx = list(range(len(records)))
    random.Random(seed).shuffle(idx)
    n = min(max_samples, max(1, round(fraction * len(records))))
    held = set(idx[:n])
    return [r for i, r in enumerate(records) if i not in held], [records[i] for i in sorted(held)]


def tokenize(
    records: list[tuple[str, str]], tokenizer: Any, max_length: int, min_prompt_tokens: int
) -> tuple[list[Sample], TokenStats]:
    """Tokenize (input, target) pairs into :class:`Sample` s, cutting from the left to ``max_length``."""
    eos = tokenizer.eos_token_id
    if eos is None:
        raise UserError("tokenizer: the base model's tokenizer has no EOS token")
    bos = tokenizer.bos_token_id
    if not records:  # e.g. no held-out slice (eval_fraction = 0)
        return [], TokenStats(samples=0)
    prompts = tokenizer([model_prompt(i) for i, _ in records])["input_ids"]
    targets = tokenizer([t for _, t in records], add_special_tokens=False)["input_ids"]
    stats = TokenStats(samples=len(records))
    out: list[Sample] = []
    for p, t in zip(prompts, targets, strict=True):
        c = list(t) + [eos]
        p = list(p)
        if len(c) > max_length - min_prompt_tokens:
            stats.target_cut += 1
            c = c[: max_length - min_prompt_tokens]
        room = max_length - len(c)
        if len(p) > room:
            stats.prompt_cut += 1
            stats.prompt_tokens_dropped += len(p) - room
            keep_bos = bos is not None and p and p[0] == bos
            p = ([bos] + p[len(p) - room + 1 :]) if keep_bos else p[len(p) - room :]
        out.append(Sample(p + c, len(p)))
        stats.target_tokens += len(c)
        stats.tokens += len(p) + len(c)
    return out, stats
