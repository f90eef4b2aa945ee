"""Training configuration: defaults, TOML/YAML config files, validation, and the resolved ``RUN/config.toml``.

Defaults follow the paper's GLPFT recipe (../shared/reference/alpha-umi-format.md: stage 1 lr 5e-5, 2 epochs, warmup
0.4; planner/caller lr 1e-5, 1 epoch, warmup 0.2; summarizer lr 1e-5, 2 epochs, warmup 0.4; weight decay 0.01;
cosine; loss on target + EOS; left truncation) adjusted for LoRA: learning rates x4 (LoRA on a small model needs
larger steps than full fine-tuning; 2e-4 / 5e-5), rank 16 / alpha 32 on every linear layer of the blocks (the
release's LoRA variant used r=8 on q/v only; llama.cpp applies adapters on all linear layers at no extra cost), and
LoRA dropout 0 (the release: 0.05): dropout keeps a copy of every adapted layer's input for the backward pass, about
a quarter more activation memory and time on CPU. Batches hold at most ``batch_tokens`` = 2048 padded tokens (LoRA
on SmolLM2-135M in fp32 needs about 2 MB of activations per token), 8 of them per optimizer step; samples are cut
to ``max_length`` = 2048 tokens (the paper: 4096; on ToolBench data with SmolLM2's tokenizer about 75% of the
samples fit in 2048 whole).
Full fine-tuning (``method = "full"``) uses the paper's learning rates unchanged.

A config file holds any of the top-level keys below plus ``[lora]``, ``[stage.<stage>]`` tables and
``[[data]]`` entries ``{path, weight}``; unknown keys are errors. :func:`resolve` combines defaults, the file and
the command line (in that order of precedence).
"""

from __future__ import annotations

import dataclasses
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from umi_edge.errors import UserError

STAGES = ("global", "planner", "caller", "summarizer")
STAGE_DATA = {"global": "backbone", "planner": "planner", "caller": "caller", "summarizer": "summarizer"}
"""Which per-role file of a data DIR each stage trains on."""
METHODS = ("lora", "full")
DEVICES = ("auto", "cpu", "cuda")
PRECISIONS = ("auto", "fp32", "bf16")

# (lr for LoRA, lr for full, epochs, warmup ratio) per stage.
_RECIPE = {
    "global": (2e-4, 5e-5, 2.0, 0.4),
    "planner": (5e-5, 1e-5, 1.0, 0.2),
    "caller": (5e-5, 1e-5, 1.0, 0.2),
    "summarizer": (5e-5, 1e-5, 2.0, 0.4),
}


@dataclass
class StageConfig:
    """Per-stage hyper-parameters; ``None`` means the method's default from the recipe."""

    lr: float | None = None
    epochs: float | None = None
    warmup_ratio: float | None = None
    max_steps: int | None = None


@dataclass
class LoraConfig:
    r: int = 16
    alpha: int = 32
    dropout: float = 0.0
    target_modules: list[str] = field(
        default_factory=lambda: ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]
    )


@dataclass
class DataSource:
    path: str
    weight: float = 1.0


@dataclass
class TrainConfig:
    base: str = ""
    data: list[DataSource] = field(default_factory=list)
    stages: list[str] = field(default_factory=lambda: list(STAGES))
    method: str = "lora"
    device: str = "auto"
    precision: str = "auto"
    seed: int = 42
    max_length: int = 2048
    min_prompt_tokens: int = 64
    batch_size: int = 4
    grad_accum: int = 8
    max_steps: int = -1
    epochs: float | None = None
    weight_decay: float = 0.01
    lr_scheduler: str = "cosine"
    max_grad_norm: float = 1.0
    eval_fraction: float = 0.05
    eval_max_samples: int = 64
    batch_tokens: int = 2048
    share_prefix: bool = True
    threads: int = 0
    gradient_checkpointing: str = "auto"
    save_steps: int = 50
    save_minutes: float = 10.0
    keep_checkpoints: bool = False
    init_from: str = ""
    """A finished run whose adapter of each stage is that stage's starting point (continued training); "" for none."""
    lora: LoraConfig = field(default_factory=LoraConfig)
    stage: dict[str, StageConfig] = field(default_factory=lambda: {s: StageConfig() for s in STAGES})

    def stage_params(self, stage: str) -> dict[str, Any]:
        """Effective lr, epochs, warmup ratio and max steps of one stage (config, CLI and recipe combined)."""
        lr_lora, lr_full, epochs, warmup = _RECIPE[stage]
        sc = self.stage.get(stage, StageConfig())
        return {
            "lr": sc.lr if sc.lr is not None else (lr_lora if self.method == "lora" else lr_full),
            "epochs": sc.epochs if sc.epochs is not None else (self.epochs if self.epochs is not None else epochs),
            "warmup_ratio": sc.warmup_ratio if sc.warmup_ratio is not None else warmup,
            "max_steps": sc.max_steps if sc.max_steps is not None else self.max_steps,
        }

    def to_toml_dict(self) -> dict[str, Any]:
        """Plain dict for tomli_w (no ``None``), with every stage's effective parameters written out."""
        d = dataclasses.asdict(self)
        d["stage"] = {s: {k: v for k, v in self.stage_params(s).items()} for s in STAGES}
        if d["epochs"] is None:
            del d["epochs"]
        return d


_SCALARS = {
    f.name: f.type
    for f in dataclasses.fields(TrainConfig)
    if f.name not in ("data", "stages", "lora", "stage", "base", "epochs")
}


def _expect(where: str, key: str, value: Any, kind: type | tuple[type, ...], what: str) -> Any:
    if isinstance(value, bool) and kind is not bool and bool not in (kind if isinstance(kind, tuple) else (kind,)):
        raise UserError(f"{where}: field {key!r}: expected {what}, got {value!r}")
    if not isinstance(value, kind):
        raise UserError(f"{where}: field {key!r}: expected {what}, got {value!r}")
    return value


def read_file(path: Path) -> dict[str, Any]:
    """Parse a TOML (.toml) or YAML (.yaml/.yml) config file into a dict; errors name the file and line."""
    if not path.is_file():
        raise UserError(f"{path}: config file not found")
    text = path.read_text(encoding="utf-8")
    if path.suffix.lower() in (".yaml", ".yml"):
        import yaml

        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            line = f":{mark.line + 1}" if mark is not None else ""
            raise UserError(f"{path}{line}: invalid YAML: {getattr(exc, 'problem', exc)}") from None
        data = {} if data is None else data
    elif path.suffix.lower() == ".toml":
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise UserError(f"{path}: invalid TOML: {exc}") from None
    else:
        raise UserError(f"{path}: expected a .toml, .yaml or .yml config file")
    if not isinstance(data, dict):
        raise UserError(f"{path}: expected a table/mapping at the top level")
    return data


def from_dict(data: dict[str, Any], where: str) -> TrainConfig:
    """Build a validated :class:`TrainConfig` from a parsed config file (``where`` names it in errors)."""
    cfg = TrainConfig()
    for key, value in data.items():
        if key == "base":
            cfg.base = _expect(where, key, value, str, "a model directory, GGUF file or alias")
        elif key == "data":
            cfg.data = _data_list(where, value)
        elif key == "stages":
            cfg.stages = parse_stages(value, where)
        elif key == "epochs":
            cfg.epochs = float(_expect(where, key, value, (int, float), "a number"))
        elif key == "lora":
            cfg.lora = _lora(where, value)
        elif key in ("stage", "stages_params"):
            cfg.stage = _stage_tables(where, value)
        elif key in _SCALARS:
            _set_scalar(cfg, key, value, where)
        else:
            raise UserError(f"{where}: unknown field {key!r} (known: {', '.join(sorted([*_SCALARS, *_OTHER]))})")
    validate(cfg, where)
    return cfg


_OTHER = ("base", "data", "stages", "epochs", "lora", "stage")


def _set_scalar(cfg: TrainConfig, key: str, value: Any, where: str) -> None:
    kind = _SCALARS[key]
    if kind in ("int", int):
        setattr(cfg, key, _expect(where, key, value, int, "an integer"))
    elif kind in ("float", float):
        setattr(cfg, key, float(_expect(where, key, value, (int, float), "a number")))
    elif kind in ("bool", bool):
        setattr(cfg, key, _expect(where, key, value, bool, "true or false"))
    else:
        setattr(cfg, key, _expect(where, key, value, str, "a string"))


def _data_list(where: str, value: Any) -> list[DataSource]:
    items = value if isinstance(value, list) else [value]
    out = []
    for i, item in enumerate(items):
        if isinstance(item, str):
            out.append(DataSource(item))
            continue
        if not isinstance(item, dict) or "path" not in item:
            raise UserError(f"{where}: field 'data[{i}]': expected a path or {{path, weight}}, got {item!r}")
        unknown = set(item) - {"path", "weight"}
        if unknown:
            raise UserError(f"{where}: field 'data[{i}]': unknown key(s) {sorted(unknown)}")
        path = _expect(where, f"data[{i}].path", item["path"], str, "a directory")
        weight = float(_expect(where, f"data[{i}].weight", item.get("weight", 1.0), (int, float), "a number > 0"))
        if weight <= 0:
            raise UserError(f"{where}: field 'data[{i}].weight': expected a number > 0, got {weight}")
        out.append(DataSource(path, weight))
    return out


def _lora(where: str, value: Any) -> LoraConfig:
    if not isinstance(value, dict):
        raise UserError(f"{where}: field 'lora': expected a table, got {value!r}")
    lc = LoraConfig()
    for k, v in value.items():
        if k in ("r", "alpha"):
            setattr(lc, k, _expect(where, f"lora.{k}", v, int, "an integer"))
        elif k == "dropout":
            lc.dropout = float(_expect(where, "lora.dropout", v, (int, float), "a number"))
        elif k == "target_modules":
            if not (isinstance(v, list) and v and all(isinstance(x, str) for x in v)):
                raise UserError(f"{where}: field 'lora.target_modules': expected a list of module names, got {v!r}")
            lc.target_modules = list(v)
        else:
            raise UserError(f"{where}: unknown field 'lora.{k}' (known: r, alpha, dropout, target_modules)")
    if lc.r < 1 or lc.alpha < 1:
        raise UserError(f"{where}: field 'lora.r'/'lora.alpha': expected positive integers, got {lc.r}/{lc.alpha}")
    return lc


def _stage_tables(where: str, value: Any) -> dict[str, StageConfig]:
    if not isinstance(value, dict):
        raise UserError(f"{where}: field 'stage': expected a table of stage -> settings, got {value!r}")
    out = {s: StageConfig() for s in STAGES}
    for name, table in value.items():
        if name not in STAGES:
            raise UserError(f"{where}: field 'stage.{name}': unknown stage, expected one of {', '.join(STAGES)}")
        if not isinstance(table, dict):
            raise UserError(f"{where}: field 'stage.{name}': expected a table, got {table!r}")
        sc = out[name]
        for k, v in table.items():
            if k in ("lr", "epochs", "warmup_ratio"):
                setattr(sc, k, float(_expect(where, f"stage.{name}.{k}", v, (int, float), "a number")))
            elif k == "max_steps":
                sc.max_steps = _expect(where, f"stage.{name}.max_steps", v, int, "an integer")
            else:
                raise UserError(
                    f"{where}: unknown field 'stage.{name}.{k}' (known: lr, epochs, warmup_ratio, max_steps)"
                )
    return out


def parse_stages(value: Any, where: str = "--stages") -> list[str]:
    """A comma-separated string or a list of stage names, validated and put in GLPFT order."""
    names = value.split(",") if isinstance(value, str) else value
    if not isinstance(names, list) or not names:
        raise UserError(f"{where}: expected stage names from {', '.join(STAGES)}, got {value!r}")
    out = []
    for n in names:
        n = str(n).strip()
        if n not in STAGES:
            raise UserError(f"{where}: unknown stage {n!r}, expected one of {', '.join(STAGES)}")
        if n not in out:
            out.append(n)
    return [s for s in STAGES if s in out]


def validate(cfg: TrainConfig, where: str) -> None:
    """Range and choice checks shared by config files and command-line options."""
    checks = [
        ("method", cfg.method in METHODS, f"one of {', '.join(METHODS)}"),
        ("device", cfg.device in DEVICES, f"one of {', '.join(DEVICES)}"),
        ("precision", cfg.precision in PRECISIONS, f"one of {', '.join(PRECISIONS)}"),
        ("gradient_checkpointing", cfg.gradient_checkpointing in ("auto", "on", "off"), "auto, on or off"),
        ("max_length", cfg.max_length >= 32, "an integer >= 32"),
        ("min_prompt_tokens", 1 <= cfg.min_prompt_tokens < cfg.max_length, "an integer in [1, max_length)"),
        ("batch_size", cfg.batch_size >= 1, "an integer >= 1"),
        ("grad_accum", cfg.grad_accum >= 1, "an integer >= 1"),
        ("max_steps", cfg.max_steps == -1 or cfg.max_steps >= 1, "-1 (no limit) or an integer >= 1"),
        ("epochs", cfg.epochs is None or cfg.epochs > 0, "a number > 0"),
        ("eval_fraction", 0 <= cfg.eval_fraction < 0.5, "a number in [0, 0.5)"),
        ("batch_tokens", cfg.batch_tokens >= 32, "an integer >= 32"),
        ("threads", cfg.threads >= 0, "an integer >= 0 (0: all cores)"),
        ("save_steps", cfg.save_steps >= 1, "an integer >= 1"),
        ("save_minutes", cfg.save_minutes > 0, "a number > 0"),
        (
            "lr_scheduler",
            cfg.lr_scheduler in ("cosine", "linear", "constant_with_warmup"),
            "cosine, linear or constant_with_warmup",
        ),
    ]
    if cfg.init_from and cfg.method != "lora":
        raise UserError(f"{where}: field 'init_from': continued training needs method 'lora', got {cfg.method!r}")
    for key, ok, what in checks:
        if not ok:
            raise UserError(f"{where}: field {key!r}: expected {what}, got {getattr(cfg, key)!r}")
    for name, sc in cfg.stage.items():
        for k in ("lr", "epochs"):
            v = getattr(sc, k)
            if v is not None and v <= 0:
                raise UserError(f"{where}: field 'stage.{name}.{k}': expected a number > 0, got {v}")
        if sc.warmup_ratio is not None and not 0 <= sc.warmup_ratio < 1:
            raise UserError(f"{where}: field 'stage.{name}.warmup_ratio': expected a number in [0, 1)")
        if sc.max_steps is not None and not (sc.max_steps == -1 or sc.max_steps >= 1):
            raise UserError(f"{where}: field 'stage.{name}.max_steps': expected -1 or an integer >= 1")


def load_saved(path: Path) -> TrainConfig:
    """Read a resolved ``RUN/config.toml`` back (for ``--resume``)."""
    data = read_file(path)
    data.pop("resolved", None)
    return from_dict(data, str(path))


def save(cfg: TrainConfig, path: Path, resolved: dict[str, Any]) -> None:
    """Write the resolved config (every default spelled out) plus a ``[resolved]`` table describing the base."""
    import tomli_w

    from umi_edge import atomic

    d = cfg.to_toml_dict()
    d["resolved"] = resolved
    atomic.write_text(path, tomli_w.dumps(d))


OPTIONS = (
    "base",
    "data",
    "stages",
    "method",
    "device",
    "max_steps",
    "epochs",
    "max_length",
    "batch_size",
    "batch_tokens",
    "grad_accum",
    "seed",
    "init_from",
)
"""Config keys that ``umi-edge train`` also takes as options (``--max-steps`` sets ``max_steps``, ...)."""


def resolve(config_file: Path | None, options: dict[str, Any]) -> tuple[TrainConfig, list[str]]:
    """Training settings by one rule for every setting: defaults < config file < command line.

    ``options`` maps keys of :data:`OPTIONS` to command-line values (``None``: not given; ``data``: directories,
    ``stages``: a comma-separated string). The command line's training length holds for every stage: ``max_steps``
    also replaces the file's ``[stage.*] max_steps``, ``epochs`` the file's ``[stage.*] epochs`` and, unless
    ``max_steps`` is given too, every ``max_steps`` of the file (which would override epochs). ``data`` replaces the
    file's whole ``[[data]]`` mix. Returns the validated config and one note per file setting the command line
    replaced where that may surprise (a data mix, per-stage values), for stderr.
    """
    cfg = from_dict(read_file(config_file), str(config_file)) if config_file else TrainConfig()
    notes: list[str] = []
    given = {k: v for k, v in options.items() if v is not None}
    for key, value in given.items():
        flag = "--" + key.replace("_", "-")
        if key == "data":
            if cfg.data:
                mix = ", ".join(f"{d.path} (weight {d.weight:g})" for d in cfg.data)
                notes.append(f"{flag} replaces the config's [[data]] mix: {mix}")
            cfg.data = [DataSource(str(d)) for d in value]
        elif key == "stages":
            cfg.stages = parse_stages(value)
        elif key == "max_steps":
            cfg.max_steps = value
            notes += _clear_stages(cfg, "max_steps", flag)
        elif key == "epochs":
            cfg.epochs = value
            notes += _clear_stages(cfg, "epochs", flag)
            if "max_steps" not in given:  # the file's max_steps would override these epochs
                if cfg.max_steps != -1:
                    notes.append(f"{flag} replaces the config's max_steps = {cfg.max_steps}")
                    cfg.max_steps = -1
                notes += _clear_stages(cfg, "max_steps", flag)
        elif key in OPTIONS:
            setattr(cfg, key, value)
        else:
            raise ValueError(f"not a train option: {key!r}")
    validate(cfg, "options")
    return cfg, notes


def _clear_stages(cfg: TrainConfig, key: str, flag: str) -> list[str]:
    """Drop every ``[stage.*] key`` of ``cfg`` (the command line set it for all stages); a note when any was set."""
    old = {s: getattr(sc, key) for s, sc in cfg.stage.items() if getattr(sc, key) is not None}
    for sc in cfg.stage.values():
        setattr(sc, key, None)
    if not old:
        return []
    return [f"{flag} replaces the config's [stage.*] {key}: {', '.join(f'{s} {v:g}' for s, v in old.items())}"]
