"""Continue training from a bundle: its llama.cpp LoRA GGUF role adapters back into PEFT adapter directories.

``init_from`` may name a run directory (``RUN/<stage>/adapter_config.json``) or an adapters-mode bundle (a folder
with ``umi.json``, e.g. the shipped ``models/``). A bundle's role adapter is read with gguf-py and written as a PEFT
adapter that peft then loads as usual: each ``blk.N.<tensor>.weight.lora_a`` / ``.lora_b`` pair becomes the
``lora_A`` / ``lora_B`` of the HF module whose GGUF name it is (convert's own :class:`NameMap`), the Q/K ``lora_b``
rows are un-permuted (the inverse of what ``convert`` wrote), and ``adapter.lora.alpha`` is the PEFT ``lora_alpha``
(``0`` means the scale was folded into ``lora_b``, so ``lora_alpha = r``). Written by hand because no library maps
llama.cpp adapters back to PEFT (llama.cpp's converter only goes the other way). The base must be the bundle's base
as training loads it (for the default bundle: the same GGUF, dequantized).
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import gguf
import numpy as np
from umi_edge.convert.arch import NameMap, hparams_from_gguf, hparams_from_hf, unpermute_qk
from umi_edge.convert.source import open_gguf

from umi_edge import atomic, bundle
from umi_edge.errors import UserError

from .model import BaseSpec


def is_bundle(path: str | Path) -> bool:
    return (Path(path) / bundle.MANIFEST).is_file()


def role_adapter_file(bundle_dir: str | Path, stage: str) -> Path:
    """The LoRA GGUF of ``stage``'s role in an adapters-mode bundle, or a one-line error."""
    manifest, bdir = bundle.load(bundle_dir)
    where = f"init_from: {bdir / bundle.MANIFEST}"
    if manifest.mode != "adapters":
        raise UserError(f"{where}: mode {manifest.mode!r}: only an 'adapters' bundle holds role adapters to continue")
    spec = manifest.roles.get(stage)
    if spec is None or spec.adapter is None:
        raise UserError(
            f"{where}: no {stage} adapter (a bundle holds planner, caller and summarizer; leave out the {stage} stage)"
        )
    path = spec.adapter.resolve(bdir)
    if not path.is_file():
        raise UserError(f"{where}: roles.{stage}.adapter: {path}: no such file")
    return path


def read_gguf_lora(path: Path) -> tuple[float, dict[str, tuple[np.ndarray, np.ndarray]]]:
    """``(alpha, {GGUF base tensor name: (lora_a r×in, lora_b out×r)})`` of a llama.cpp LoRA GGUF."""
    reader = open_gguf(path)
    field = reader.fields.get(gguf.Keys.Adapter.LORA_ALPHA)
    if field is None:
        raise UserError(f"{path}: not a LoRA GGUF (no {gguf.Keys.Adapter.LORA_ALPHA})")
    alpha = float(field.parts[field.data[0]][0])
    raw: dict[str, dict[str, np.ndarray]] = {}
    for t in reader.tensors:
        for side in ("a", "b"):
            if t.name.endswith(f".lora_{side}"):
                raw.setdefault(t.name.removesuffix(f".lora_{side}"), {})[side] = np.array(t.data, dtype=np.float32)
    pairs = {}
    for name, ab in raw.items():
        if set(ab) != {"a", "b"}:
            raise UserError(f"{path}: tensor {name}: lora_a and lora_b expected, found only lora_{''.join(ab)}")
        pairs[name] = (ab["a"], ab["b"])
    if not pairs:
        raise UserError(f"{path}: the adapter holds no LoRA tensors")
    return alpha, pairs


def _hparams(spec: BaseSpec) -> Any:
    if spec.kind == "gguf":
        return hparams_from_gguf(open_gguf(spec.path), spec.path)
    return hparams_from_hf(spec.path)


def write_peft_adapter(gguf_path: Path, spec: BaseSpec, base_model: Any, out: Path, dropout: float = 0.0) -> Path:
    """Write the LoRA GGUF ``gguf_path`` as a PEFT adapter directory ``out`` for ``base_model`` (atomically)."""
    import torch
    from peft import LoraConfig, get_peft_model

    alpha, pairs = read_gguf_lora(gguf_path)
    names = NameMap(_hparams(spec))
    modules: dict[str, str] = {}  # HF module name → GGUF tensor name
    for name, mod in base_model.named_modules():
        g = names.module_gguf_name(name) if isinstance(mod, torch.nn.Linear) else None
        if g is not None and g + ".weight" in pairs:
            modules[name] = g + ".weight"
    missing = sorted(set(pairs) - set(modules.values()))
    if missing:
        raise UserError(
            f"{gguf_path}: {len(missing)} adapter tensors have no module in the base, e.g. {missing[0]} "
            "(adapter made for another base?)"
        )
    ranks = {a.shape[0] for a, _ in pairs.values()}
    if len(ranks) != 1:
        raise UserError(f"{gguf_path}: modules of different ranks {sorted(ranks)}; expected one rank")
    r = ranks.pop()
    lc = LoraConfig(
        r=r,
        lora_alpha=alpha if alpha > 0 else r,  # alpha 0: each module's scale is folded into its lora_b
        lora_dropout=dropout,
        target_modules=sorted({m.rsplit(".", 1)[-1] for m in modules}),
        bias="none",
        task_type="CAUSAL_LM",
    )
    pm = get_peft_model(copy.deepcopy(base_model), lc)
    with torch.no_grad():
        for module, tname in modules.items():
            a, b = pairs[tname]
            n_head = names.permute_heads(tname)
            b = unpermute_qk(b, n_head) if n_head is not None else b
            lora = pm.base_model.model.get_submodule(module)
            wa, wb = lora.lora_A["default"].weight, lora.lora_B["default"].weight
            if tuple(wa.shape) != a.shape or tuple(wb.shape) != b.shape:
                raise UserError(f"{gguf_path}: {tname}: lora_a {a.shape} / lora_b {b.shape} do not fit {module}")
            wa.copy_(torch.from_numpy(np.ascontiguousarray(a)))
            wb.copy_(torch.from_numpy(np.ascontiguousarray(b)))
    with atomic.atomic_dir(out) as tmp:
        pm.save_pretrained(str(tmp))
    return out
