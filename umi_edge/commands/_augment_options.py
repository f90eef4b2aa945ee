"""The sample-variation options of the ``data`` commands that build samples (synth, import-bfcl, import-toolbench).

Defined once here; :mod:`umi_edge.augment` does the work.
"""

from __future__ import annotations

import argparse

from umi_edge.augment import OFF, AugmentOptions
from umi_edge.errors import UserError

_DEFAULT = AugmentOptions()


def add_augment_options(parser: argparse.ArgumentParser, *, default_on: bool) -> None:
    """``--augment on|off``, ``--distractors N``, ``--mask SHARE``, ``--irrelevant SHARE``,
    ``--unnamed-thoughts SHARE``, ``--augment-seed S``."""
    g = parser.add_argument_group("sample variation (read the docs, not memorise the tools)")
    g.add_argument(
        "--augment",
        choices=("on", "off"),
        default="on" if default_on else "off",
        help="shuffle each trajectory's tools, drop some unused ones, add distractor tools from BFCL's live "
        f"functions and mask names in a share of them (default {'on' if default_on else 'off'})",
    )
    g.add_argument(
        "--distractors",
        type=int,
        default=_DEFAULT.distractors,
        metavar="N",
        help=f"at most N distractor tools per trajectory (default {_DEFAULT.distractors}; needs bfcl-eval)",
    )
    g.add_argument(
        "--mask",
        type=float,
        default=_DEFAULT.mask_share,
        metavar="SHARE",
        help=f"share of trajectories whose tool and parameter names are masked (default {_DEFAULT.mask_share})",
    )
    g.add_argument(
        "--irrelevant",
        type=float,
        default=_DEFAULT.irrelevant_share,
        metavar="SHARE",
        help="share of the trajectories that call a tool which also get an irrelevant twin: the same request beside "
        f"only unrelated tools, whose planner step gives up (default {_DEFAULT.irrelevant_share}; needs bfcl-eval)",
    )
    g.add_argument(
        "--unnamed-thoughts",
        type=float,
        default=_DEFAULT.unnamed_share,
        metavar="SHARE",
        help="share of the trajectories whose BFCL call thoughts name no function, so the caller chooses it from "
        f"the request and the docs (default {_DEFAULT.unnamed_share})",
    )
    g.add_argument(
        "--augment-seed", type=int, default=_DEFAULT.seed, metavar="S", help="seed of the variation (default 0)"
    )


def augment_options(args: argparse.Namespace) -> AugmentOptions:
    """The options given, or a one-line error."""
    if args.augment == "off":
        return OFF
    if args.distractors < 0:
        raise UserError(f"--distractors: expected a count of 0 or more, got {args.distractors}")
    if not 0.0 <= args.mask <= 1.0:
        raise UserError(f"--mask: expected a share from 0 to 1, got {args.mask}")
    if not 0.0 <= args.irrelevant <= 1.0:
        raise UserError(f"--irrelevant: expected a share from 0 to 1, got {args.irrelevant}")
    if not 0.0 <= args.unnamed_thoughts <= 1.0:
        raise UserError(f"--unnamed-thoughts: expected a share from 0 to 1, got {args.unnamed_thoughts}")
    return AugmentOptions(
        distractors=args.distractors,
        mask_share=args.mask,
        irrelevant_share=args.irrelevant,
        unnamed_share=args.unnamed_thoughts,
        seed=args.augment_seed,
    )
