"""Verification of a conversion: llama.cpp against transformers/PEFT on the same weights and token ids.

Per role: logits of the F16 files (base + LoRA GGUF, or the merged file) against transformers + PEFT (max abs
difference over all positions, top-1 agreement over the target tokens); the quantized files against F16 (top-1
agreement, perplexity ratio over the target tokens); and tokenization parity (llama.cpp's ids for the prompts,
targets and tricky texts equal the training tokenizer's, token for token).  Token ids are built exactly as training
builds them: ``tokenizer(prompt)`` + ``tokenizer(target, add_special_tokens=False)`` + EOS.

torch, transformers and peft are imported here only (``--verify`` needs the ``train`` extra).
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from umi_edge.errors import UserError

from .lora import LoraAdapter
from .samples import EXTRA_TEXTS, role_pairs

F16_MAX_ABS = 0.1  # pass limit for F16 vs transformers (logit units); tiny models stay far below
F16_TOP1 = 0.98


@dataclass
class Sample:
    ids: list[int]
    n_prompt: int  # target tokens are ids[n_prompt:]


@dataclass
class RoleResult:
    role: str
    n_samples: int = 0
    n_target: int = 0
    f16_max_abs: float = 0.0
    f16_top1: float = 0.0
    quant_top1: float | None = None
    ppl_f16: float | None = None
    ppl_quant: float | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.f16_max_abs <= F16_MAX_ABS and self.f16_top1 >= F16_TOP1


def load_training_tokenizer(base_kind: str, base_path: Path) -> Any:
    """The tokenizer ``umi-edge train`` uses for this base (transformers, local files only)."""
    from transformers import AutoTokenizer

    if base_kind == "gguf":
        return AutoTokenizer.from_pretrained(str(base_path.parent), gguf_file=base_path.name, local_files_only=True)
    return AutoTokenizer.from_pretrained(str(base_path), local_files_only=True)


def build_samples(tok: Any, pairs: list[tuple[str, str]]) -> list[Sample]:
    out = []
    for prompt, target in pairs:
        p = list(tok(prompt)["input_ids"])
        t = list(tok(target, add_special_tokens=False)["input_ids"]) + [tok.eos_token_id]
        out.append(Sample(p + t, len(p)))
    return out


class LlamaRunner:
    """A llama.cpp model (+ optional LoRA GGUF) giving all-position logits for token ids."""

    def __init__(self, model: Path, adapter: Path | None = None, *, n_ctx: int = 2048, threads: int | None = None):
        from llama_cpp import Llama

        from umi_edge.engine import native
        from umi_edge.engine.options import EngineOptions

        with (
            open(os.devnull, "w") as devnull,
            contextlib.redirect_stderr(devnull),
            native.high_level_defaults(EngineOptions()),
        ):
            self.llm = Llama(
                model_path=str(model),
                n_ctx=n_ctx,
                n_batch=n_ctx,
                n_ubatch=n_ctx,
                logits_all=True,
                lora_path=str(adapter) if adapter else None,
                n_threads=threads or max(1, os.cpu_count() or 1),
                verbose=False,
            )

    def logits(self, ids: list[int]) -> np.ndarray:
        self.llm.reset()
        self.llm.eval(ids)
        return np.array(self.llm.scores[: len(ids)], dtype=np.float32)

    def greedy(self, ids: list[int], n: int) -> list[int]:
        """``n`` greedy (argmax) tokens after ``ids``."""
        self.llm.reset()
        self.llm.eval(ids)
        out: list[int] = []
        for _ in range(n):
            out.append(int(np.argmax(self.llm.scores[self.llm.n_tokens - 1])))
            self.llm.eval([out[-1]])
        return out

    def tokenize(self, text: str, add_bos: bool) -> list[int]:
        return self.llm.tokenize(text.encode("utf-8"), add_bos=add_bos, special=True)

    def close(self) -> None:
        self.llm.close()


def _log_softmax(x: np.ndarray) -> np.ndarray:
    m = x.max(-1, keepdims=True)
    return x - m - np.log(np.exp(x - m).sum(-1, keepdims=True))


def _target_rows(s: Sample) -> tuple[slice, np.ndarray]:
    """Rows of the logits that predict the target tokens, and those tokens."""
    return slice(s.n_prompt - 1, len(s.ids) - 1), np.array(s.ids[s.n_prompt :])


def compare(ref: list[np.ndarray], got: list[np.ndarray], samples: list[Sample]) -> dict[str, float]:
    """max |Δ| over all positions, top-1 agreement and mean NLL (ref, got) over target positions."""
    max_abs, agree, n, nll_ref, nll_got = 0.0, 0, 0, 0.0, 0.0
    for r, g, s in zip(ref, got, samples, strict=True):
        max_abs = max(max_abs, float(np.abs(r - g).max()))
        rows, tgt = _target_rows(s)
        agree += int((r[rows].argmax(-1) == g[rows].argmax(-1)).sum())
        n += len(tgt)
        idx = np.arange(len(tgt))
        nll_ref -= float(_log_softmax(r[rows])[idx, tgt].sum())
        nll_got -= float(_log_softmax(g[rows])[idx, tgt].sum())
    return {"max_abs": max_abs, "top1": agree / max(n, 1), "n": n, "nll_ref": nll_ref / n, "nll_got": nll_got / n}


class HfRoles:
    """transformers + PEFT models of every role, built as ``umi-edge train`` built them."""

    def __init__(self, run: Any) -> None:
        try:
            import torch  # noqa: F401
            from peft import PeftModel  # noqa: F401
        except ImportError as exc:
            raise UserError(f"--verify needs torch, transformers and peft (pip install '.[train]'): {exc}") from None
        self.run = run
        self._peft: Any = None
        self._plain: dict[str, Any] = {}

    def _load(self, path: Path, kind: str) -> Any:
        import torch
        from transformers import AutoModelForCausalLM

        if kind == "gguf":
            with open(os.devnull, "w") as devnull, contextlib.redirect_stderr(devnull):
                model = AutoModelForCausalLM.from_pretrained(
                    str(path.parent), gguf_file=path.name, dtype=torch.float32, local_files_only=True
                )
            model.hf_quantizer = None
        else:
            model = AutoModelForCausalLM.from_pretrained(str(path), dtype=torch.float32, local_files_only=True)
        return model.eval()

    def _base(self) -> Any:
        from peft import PeftModel

        model = self._load(self.run.base_path, self.run.base.kind)
        if self.run.global_adapter is not None:
            model = PeftModel.from_pretrained(model, str(self.run.global_adapter.path)).merge_and_unload()
        return model

    def model(self, role: str) -> Any:
        from peft import PeftModel

        src = self.run.roles[role]
        if not isinstance(src, LoraAdapter):
            if role not in self._plain:
                self._plain = {role: self._load(src.path, src.kind)}
            return self._plain[role]
        if self._peft is None:
            self._peft = PeftModel.from_pretrained(self._base(), str(src.path), adapter_name=role)
        elif role not in self._peft.peft_config:
            self._peft.load_adapter(str(src.path), adapter_name=role)
        self._peft.set_adapter(role)
        return self._peft.eval()

    def logits(self, role: str, ids: list[int]) -> np.ndarray:
        import torch

        with torch.no_grad():
            return self.model(role)(torch.tensor([ids])).logits[0].float().numpy()


def tokenization_parity(tok: Any, runner: LlamaRunner, pairs: list[tuple[str, str]]) -> dict[str, Any]:
    """Compare ids text by text: prompts and extra texts with the tokenizer's specials, targets without."""
    checks: list[tuple[str, bool]] = [(p, True) for p, _ in pairs] + [(t, False) for _, t in pairs]
    checks += [(t, True) for t in EXTRA_TEXTS]
    specials = [s for s in (tok.bos_token, tok.eos_token, tok.unk_token) if s]
    checks += [(f"a{s}b {s}", True) for s in specials]
    add_bos = bool(tok("")["input_ids"])  # the tokenizer adds a BOS on its own
    bad: list[str] = []
    for text, with_specials in checks:
        want = list(tok(text, add_special_tokens=with_specials)["input_ids"])
        got = runner.tokenize(text, add_bos=add_bos and with_specials)
        if want != got:
            i = next((k for k, (a, b) in enumerate(zip(want, got, strict=False)) if a != b), min(len(want), len(got)))
            bad.append(
                f"{text[:40]!r}: first difference at token {i}: transformers {want[i : i + 4]} "
                f"{tok.convert_ids_to_tokens(want[i : i + 4])}, llama.cpp {got[i : i + 4]}"
            )
    return {"texts": len(checks), "mismatches": len(bad), "examples": bad[:5]}


def verify_bundle(run: Any, builder: Any, manifest: Any, *, samples: int = 4, threads: int | None = None) -> dict:
    """Run every check; returns figures plus report lines under ``markdown`` and ``ok``."""
    from umi_edge.bundle import MULTI_ROLES, OPTIONAL_ROLES

    tok = load_training_tokenizer(run.base.kind, run.base_path)
    hf = HfRoles(run)
    mode = "adapters" if "base" in builder.f16 else "merged"
    style = manifest.prompt_style
    results: list[RoleResult] = []
    parity: dict[str, Any] = {}
    per_role = {}
    for role in run.roles:
        sample_role = "caller" if role in OPTIONAL_ROLES else role if role in MULTI_ROLES else "backbone"
        pairs = role_pairs(sample_role, style)[:samples]
        per_role[role] = (pairs, build_samples(tok, pairs))
    n_ctx = max(len(s.ids) for _, ss in per_role.values() for s in ss) + 8
    quantized = manifest.quantization != "f16"
    for role, (pairs, ss) in per_role.items():
        res = RoleResult(role, n_samples=len(ss), n_target=sum(len(s.ids) - s.n_prompt for s in ss))
        if mode == "adapters":
            f16_files, q_files = (
                (builder.f16["base"], builder.files[role]),
                (builder.files["base"], builder.files[role]),
            )
        else:
            f16_files, q_files = (builder.f16[role], None), (builder.files[role], None)
        ref = [hf.logits(role, s.ids) for s in ss]
        f16 = LlamaRunner(*f16_files, n_ctx=n_ctx, threads=threads)  # one model in memory at a time
        try:
            got = [f16.logits(s.ids) for s in ss]
            if not parity:
                parity = tokenization_parity(tok, f16, pairs)
        finally:
            f16.close()
        c = compare(ref, got, ss)
        res.f16_max_abs, res.f16_top1 = c["max_abs"], c["top1"]
        if quantized:
            q = LlamaRunner(*q_files, n_ctx=n_ctx, threads=threads)
            try:
                cq = compare(got, [q.logits(s.ids) for s in ss], ss)
            finally:
                q.close()
            res.quant_top1 = cq["top1"]
            res.ppl_f16, res.ppl_quant = float(np.exp(cq["nll_ref"])), float(np.exp(cq["nll_got"]))
        results.append(res)
    ok = all(r.ok for r in results) and parity.get("mismatches", 1) == 0
    return {"roles": results, "parity": parity, "ok": ok, "markdown": _markdown(results, parity, manifest, ok)}


def _markdown(results: list[RoleResult], parity: dict[str, Any], manifest: Any, ok: bool) -> list[str]:
    q = manifest.quantization
    lines = [
        f"Overall: **{'PASS' if ok else 'FAIL'}** (F16 vs transformers: max |Δlogit| ≤ {F16_MAX_ABS} and top-1 ≥ "
        f"{F16_TOP1:.0%}; tokenization identical).",
        "",
        f"| role | samples | target tokens | F16 max abs Δ | F16 top-1 | {q} top-1 vs F16 | ppl F16 | ppl {q} | "
        "ppl ratio |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        if r.quant_top1 is not None and r.ppl_f16 is not None and r.ppl_quant is not None:
            quant = f"{r.quant_top1:.1%} | {r.ppl_f16:.3f} | {r.ppl_quant:.3f} | {r.ppl_quant / r.ppl_f16:.3f}"
        else:
            quant = "— | — | — | —"
        lines.append(f"| {r.role} | {r.n_samples} | {r.n_target} | {r.f16_max_abs:.4f} | {r.f16_top1:.1%} | {quant} |")
    lines += [
        "",
        f"Tokenization parity (llama.cpp vs the training tokenizer): {parity.get('texts', 0)} texts, "
        f"{parity.get('mismatches', 0)} mismatches.",
    ]
    for ex in parity.get("examples", []):
        lines.append(f"- {ex}")
    return lines
