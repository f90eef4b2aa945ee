"""``umi-edge convert``: a training run → a llama.cpp bundle (GGUF base + LoRA adapters, or merged models);
``umi-edge convert inspect FILE|BUNDLE`` describes GGUF files and bundles."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from umi_edge import bundle
from umi_edge.errors import UserError

_QUANTS = ("f16", "q8_0", "q4_k_m", "q5_k_m", "q6_k")

DESCRIPTION = """\
Convert a training run of `umi-edge train` (RUN/global, RUN/planner, RUN/caller, RUN/summarizer and
RUN/config.toml), a folder of full role models, or a single model (.gguf or Hugging Face directory) into a bundle
the runtime loads: BUNDLE/umi.json (written last), the GGUF files, and BUNDLE/convert_report.md.

  adapters mode (default for LoRA runs): one base GGUF, the run's base unchanged (every adapter of a
                `umi-edge train` run applies to it; with --global-under-roles the stage-1 adapter is merged in), at
                the chosen quantization, plus one LoRA GGUF per role, so the roles share one copy of the weights.
  merged mode:  every role merged into the base and written as its own GGUF, then quantized.

Runs without torch; --verify compares llama.cpp with transformers/PEFT and needs the train extra.

  umi-edge convert inspect FILE|BUNDLE   describe a GGUF file or a bundle (`convert inspect --help`)
"""

INSPECT_DESCRIPTION = """\
Describe a GGUF file (type, architecture, size, tensor types, bits per weight, metadata; for a LoRA GGUF its alpha,
ranks and modules) or a bundle (its umi.json and every file it references, SHA-256 checked; a derived base is made
or checked in the user's cache).
"""

EPILOG = """\
examples:
  umi-edge convert runs/smol -o bundles/smol --q4_k_m --verify
  umi-edge convert runs/smol -o bundles/smol-merged --mode merged --quant q8_0
  umi-edge convert runs/smol -o bundles/single --single
  umi-edge convert inspect bundles/smol
"""


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "convert",
        help="turn a training run into a llama.cpp bundle (GGUF + LoRA adapters, quantized, verified)",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        add_help=False,
    )
    p.add_argument("-h", "--help", action=_Help)
    p.add_argument("run", metavar="RUN", help="training run directory, role-model folder, .gguf or HF model dir")
    p.add_argument("target", nargs="?", metavar="FILE|BUNDLE", help=argparse.SUPPRESS)
    p.add_argument("-o", "--output", metavar="BUNDLE", help="bundle directory to write (replaced only when complete)")
    p.add_argument(
        "--quant",
        default="q4_k_m",
        metavar="TYPE",
        help=f"quantization of the model files: {', '.join(_QUANTS)} (default q4_k_m), or keep: use a GGUF base "
        "as it is (adapters mode; a base from an installed package such as SmolLM2 is referenced, not copied)",
    )
    for q in _QUANTS:
        p.add_argument(f"--{q}", dest="quant", action="store_const", const=q, help=f"same as --quant {q}")
    p.add_argument(
        "--derive-base",
        metavar="TYPE",
        choices=bundle.DERIVE_TYPES,
        help="with --quant keep: the runtime loads the kept base re-quantized to TYPE (f16 or q8_0), made once "
        "into the user's cache (UMI_EDGE_CACHE); faster prompt processing than Q4_1 on x86 CPUs",
    )
    p.add_argument(
        "--mode",
        default=None,
        metavar="MODE",
        help="adapters (one base + LoRA GGUF per role) or merged (one GGUF per role); default: adapters for LoRA "
        "runs, merged for full models",
    )
    p.add_argument("--single", action="store_true", help="convert the stage-1 backbone only (single-LLM baseline)")
    p.add_argument(
        "--global-under-roles",
        action="store_true",
        help="the role adapters were trained on base + merged global adapter (not umi-edge train's layout, where "
        "every adapter applies to the unchanged base); the merged model becomes the shared base",
    )
    p.add_argument(
        "--verify",
        action="store_true",
        help="compare llama.cpp with transformers/PEFT logits, quantized vs F16, and tokenization (needs torch)",
    )
    p.add_argument("--samples", type=int, default=4, metavar="N", help="verification samples per role (default 4)")
    p.add_argument("--base", metavar="PATH", help="base model (.gguf or HF dir) when the run does not say")
    p.add_argument(
        "--vocab-gguf",
        metavar="FILE",
        help="copy the tokenizer metadata from this GGUF of the same base (for HF bases with a BPE tokenizer)",
    )
    p.add_argument("--prompt-style", metavar="STYLE", help="toolbench (default) or toolalpaca")
    p.add_argument("--context-length", type=int, metavar="N", help="context length recorded in umi.json")
    p.add_argument("--threads", type=int, metavar="N", help="threads for quantization and verification")
    for flag in _INSPECT_FLAGS:  # parsed here, listed by `convert inspect --help`
        p.add_argument(flag, action="store_true", help=argparse.SUPPRESS)
    p.set_defaults(func=handle)


_INSPECT_FLAGS = {"--json": "print JSON", "--metadata": "print every metadata key (text output)"}


def _inspect_parser() -> argparse.ArgumentParser:
    """``convert inspect``'s options, for its help: they are parsed by ``convert``'s parser (RUN = inspect)."""
    p = argparse.ArgumentParser(prog="umi-edge convert inspect", description=INSPECT_DESCRIPTION)
    p.add_argument("target", metavar="FILE|BUNDLE", help="a .gguf file, or a bundle directory (or its umi.json)")
    for flag, what in _INSPECT_FLAGS.items():
        p.add_argument(flag, action="store_true", help=what)
    return p


class _Help(argparse.Action):
    """``-h/--help``: ``convert inspect --help`` shows inspect's help, anything else convert's."""

    def __init__(self, option_strings: list[str], dest: str = argparse.SUPPRESS, **kwargs: object) -> None:
        super().__init__(option_strings, dest=dest, default=argparse.SUPPRESS, nargs=0, help="show this help")

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace, *_: object) -> None:
        (_inspect_parser() if getattr(namespace, "run", None) == "inspect" else parser).print_help()
        parser.exit()


def _inspect(args: argparse.Namespace) -> int:
    from umi_edge.convert.inspect_gguf import inspect_path, render

    if not args.target:
        raise UserError("convert inspect: expected a GGUF file or a bundle directory")
    info = inspect_path(args.target)
    if args.json:
        print(json.dumps(info, indent=2, ensure_ascii=False, default=str))
    else:
        print(render(info, metadata=args.metadata))
    return 0


def handle(args: argparse.Namespace) -> int:
    if args.run == "inspect" and (args.target or not Path("inspect").exists()):
        return _inspect(args)
    if args.target:
        raise UserError(f"convert: unexpected argument {args.target!r} (the bundle goes after -o)")
    if not args.output:
        raise UserError("convert: -o/--output BUNDLE is required")
    if args.samples < 1:
        raise UserError(f"--samples: expected an integer >= 1, got {args.samples}")
    from umi_edge.convert.pipeline import ConvertOptions, convert_run

    options = ConvertOptions(
        quant=args.quant,
        mode=args.mode,
        single=args.single,
        verify=args.verify,
        base=args.base,
        vocab_gguf=args.vocab_gguf,
        prompt_style=args.prompt_style,
        context_length=args.context_length,
        threads=args.threads,
        progress=sys.stderr.isatty(),
        verify_samples=args.samples,
        global_under_roles=args.global_under_roles,
        derive_base=args.derive_base,
    )
    result = convert_run(args.run, args.output, options)
    out, results = result.bundle_dir, result.verification
    report = out / "convert_report.md"
    print(f"bundle written to {out} (report: {report})")
    if args.verify:
        for line in results.get("markdown", []):
            print(line.replace("**", ""))
        if not results.get("ok"):
            print(f"umi-edge: verification failed, see {report}", file=sys.stderr)
            return 1
    return 0
