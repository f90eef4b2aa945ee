"""PEFT LoRA adapters without torch: read ``adapter_config.json`` + ``adapter_model.safetensors``, check them against
the base, merge them into base weights (numpy), and write llama.cpp LoRA GGUFs.

Adapter GGUF layout (llama.cpp's ``convert_lora_to_gguf``): ``general.type = adapter``, ``adapter.type = lora``,
``adapter.lora.alpha``; tensors ``<base tensor>.lora_a`` (r × in) and ``.lora_b`` (out × r), Q/K lora_b rows permuted
like the base weight for llama. llama.cpp scales each pair by alpha / r (r read from the tensor); adapters
whose PEFT scale is not one alpha / r for every module (rsLoRA, alpha patterns) are written with alpha = 0
(llama.cpp then applies scale 1) and each module's exact PEFT scale folded into its lora_b.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path

import gguf
import numpy as np

from umi_edge import atomic
from umi_edge.errors import UserError

from .arch import Hparams, NameMap, permute_qk
from .safetensors_io import Checkpoint

_PREFIX = "base_model.model."


@dataclass
class LoraPair:
    a: np.ndarray  # r × in (PEFT lora_A)
    b: np.ndarray  # out × r (PEFT lora_B), HF row order
    scale: float  # PEFT scaling for this module (alpha / r, or alpha / sqrt(r) for rsLoRA)


@dataclass
class LoraAdapter:
    path: Path
    r: int
    alpha: float
    uniform: bool  # every module scaled alpha / r (llama.cpp can express it with one alpha)
    base_model: str | None
    pairs: dict[str, LoraPair] = field(default_factory=dict)  # GGUF base tensor name (with .weight) → pair
    config: dict = field(default_factory=dict)

    @property
    def n_params(self) -> int:
        return sum(p.a.size + p.b.size for p in self.pairs.values())

    def delta(self, name: str, names: NameMap) -> np.ndarray | None:
        """scale · B·A in llama.cpp's layout (Q/K rows permuted), or None when the adapter does not touch ``name``."""
        p = self.pairs.get(name)
        if p is None:
            return None
        d = p.scale * (p.b.astype(np.float32) @ p.a.astype(np.float32))
        n_head = names.permute_heads(name)
        return permute_qk(d, n_head) if n_head is not None else d


def is_adapter_dir(path: Path) -> bool:
    return (Path(path) / "adapter_config.json").is_file()


def load_adapter(path: Path, hp: Hparams, base_shapes: dict[str, tuple[int, ...]]) -> LoraAdapter:
    """Read a PEFT LoRA directory and check every tensor against the base (names and shapes)."""
    path = Path(path)
    cfg_path = path / "adapter_config.json"
    if not cfg_path.is_file():
        raise UserError(f"{path}: not a PEFT adapter directory (no adapter_config.json)")
    try:
        cfg = json.loads(cfg_path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise UserError(f"{cfg_path}:{exc.lineno}: invalid JSON: {exc.msg}") from None
    if cfg.get("peft_type", "LORA") != "LORA":
        raise UserError(f"{cfg_path}: field 'peft_type': expected 'LORA', got {cfg.get('peft_type')!r}")
    if cfg.get("use_dora"):
        raise UserError(f"{cfg_path}: field 'use_dora': DoRA adapters cannot run on llama.cpp")
    if cfg.get("modules_to_save"):
        raise UserError(
            f"{cfg_path}: field 'modules_to_save': fully trained modules {cfg['modules_to_save']} cannot be a LoRA "
            "GGUF; use --mode merged"
        )
    try:
        r = int(cfg["r"])
        alpha = float(cfg.get("lora_alpha", r))
    except (KeyError, TypeError, ValueError):
        raise UserError(f"{cfg_path}: field 'r': expected an integer rank") from None
    alpha_pattern = cfg.get("alpha_pattern") or {}
    rslora = bool(cfg.get("use_rslora"))
    uniform = not (alpha_pattern or rslora)  # per-module ranks are fine: llama.cpp reads r per tensor
    names = NameMap(hp)
    ckpt = Checkpoint(path, stem="adapter_model")
    raw: dict[str, dict[str, np.ndarray]] = {}
    for key in ckpt.keys():
        if "lora_embedding" in key:
            raise UserError(f"{path}: tensor {key!r}: LoRA on embeddings is not supported")
        if ".lora_A." not in key and ".lora_B." not in key:
            raise UserError(f"{path}: tensor {key!r} is not a LoRA A/B matrix")
        side = "a" if ".lora_A." in key else "b"
        module = key.split(f".lora_{side.upper()}.")[0].removeprefix(_PREFIX)
        raw.setdefault(module, {})[side] = ckpt.get(key).astype(np.float32)
    if not raw:
        raise UserError(f"{path}: the adapter holds no LoRA tensors")
    adapter = LoraAdapter(path, r, alpha, uniform, cfg.get("base_model_name_or_path"), config=cfg)
    for module, ab in raw.items():
        if set(ab) != {"a", "b"}:
            raise UserError(f"{path}: module {module!r} lacks its lora_{'B' if 'a' in ab else 'A'} tensor")
        base_name = names.module_gguf_name(module)
        if base_name is None:
            raise UserError(f"{path}: module {module!r} has no llama.cpp counterpart for {hp.arch}")
        tname = base_name + ".weight"
        if tname not in base_shapes:
            raise UserError(f"{path}: module {module!r} ({tname}) is not in the base model")
        out_dim, in_dim = base_shapes[tname]
        a, b = ab["a"], ab["b"]
        if a.ndim != 2 or b.ndim != 2 or a.shape[1] != in_dim or b.shape[0] != out_dim or a.shape[0] != b.shape[1]:
            raise UserError(
                f"{path}: module {module!r}: lora_A {a.shape} / lora_B {b.shape} do not fit the base weight "
                f"{(out_dim, in_dim)} (adapter made for another base?)"
            )
        rank = a.shape[0]
        short = module.split(".")[-1]
        m_alpha = float(next((v for k, v in alpha_pattern.items() if module.endswith(k) or short == k), alpha))
        scale = m_alpha / math.sqrt(rank) if rslora else m_alpha / rank
        adapter.pairs[tname] = LoraPair(a, b, scale)
    return adapter


def write_adapter(path: Path, adapter: LoraAdapter, hp: Hparams, *, outtype: str = "f16") -> dict[str, object]:
    """Write ``adapter`` as a llama.cpp LoRA GGUF (atomically). Returns a summary."""
    names = NameMap(hp)
    dtype = np.float16 if outtype == "f16" else np.float32
    with atomic.atomic_path(path) as tmp:
        w = gguf.GGUFWriter(tmp, hp.arch)
        w.add_type(gguf.GGUFType.ADAPTER)
        w.add_string(gguf.Keys.Adapter.TYPE, "lora")
        w.add_float32(gguf.Keys.Adapter.LORA_ALPHA, adapter.alpha if adapter.uniform else 0.0)
        for tname, p in adapter.pairs.items():
            b = p.b if adapter.uniform else p.b * p.scale
            n_head = names.permute_heads(tname)
            if n_head is not None:
                b = permute_qk(b, n_head)
            w.add_tensor(tname + ".lora_a", np.ascontiguousarray(p.a).astype(dtype))
            w.add_tensor(tname + ".lora_b", np.ascontiguousarray(b).astype(dtype))
        w.write_header_to_file()
        w.write_kv_data_to_file()
        w.write_tensors_to_file()
        w.close()
    return {"tensors": 2 * len(adapter.pairs), "rank": adapter.r, "alpha": adapter.alpha, "params": adapter.n_params}


def merged_transform(adapters: list[LoraAdapter], names: NameMap):
    """A ``transform(name, w)`` for :func:`gguf_model.write_model` adding every adapter's delta to the base."""

    def transform(name: str, w: np.ndarray) -> np.ndarray:
        for ad in adapters:
            d = ad.delta(name, names)
            if d is not None:
                w = w + d
        return w

    return transform
