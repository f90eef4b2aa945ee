"""``umi-edge bench``: decode and prompt speed per role, prefix-reuse effect, grammar cost and memory of a bundle."""

from __future__ import annotations

import argparse
import json
import time
from typing import Any

from umi_edge.commands import _options as opt


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "bench",
        help="measure speed and memory of a bundle on this machine",
        description="Measure, on this machine and the bundle's own GGUF files (greedy, medians of --repeats): "
        "decode tokens/s per role through the engine vs raw llama-cpp-python (ratio), the planner's prompt "
        "tokens evaluated and prompt latency per step of a synthetic episode with and without prefix reuse, the "
        "constrained vs unconstrained caller cost per token, and peak RSS of the bundle vs one full model per "
        "role vs one model alone (each in a subprocess, weights read into memory). Run it on an idle machine.",
    )
    opt.add_engine_options(p)
    opt.add_tool_options(p, sandbox=False)
    p.add_argument("--tokens", type=opt.positive, default=48, metavar="N", help="tokens per decode measurement (48)")
    p.add_argument(
        "--repeats", type=opt.positive, default=3, metavar="N", help="repeats per figure; medians reported (3)"
    )
    p.add_argument("--steps", type=opt.positive, default=6, metavar="N", help="steps of the prefix-reuse episode (6)")
    p.add_argument("--agent-steps", type=opt.positive, default=2, metavar="N", help="steps of the timed agent run (2)")
    p.add_argument("--skip-memory", action="store_true", help="skip the RSS measurements (subprocesses)")
    p.add_argument("--skip-raw", action="store_true", help="skip the raw llama-cpp-python comparison")
    p.add_argument("--json", action="store_true", help="print the figures as JSON")
    p.add_argument("-o", "--output", default=None, metavar="FILE", help="also write the JSON figures to FILE")
    p.set_defaults(func=handler)


def handler(args: argparse.Namespace) -> int:
    from rich.console import Console

    from umi_edge import atomic
    from umi_edge.commands._bench_agent import agent_steps
    from umi_edge.engine import Engine, derive
    from umi_edge.engine import benchmark as bm

    con = Console(stderr=True)
    opts = opt.engine_options(args)
    bundle = opt.bundle_path(args)
    registry = opt.tool_registry(args, entry_points=False)
    t0 = time.perf_counter()
    res: dict[str, Any] = {}
    with Engine.from_bundle(bundle, opts) as engine:
        res["engine"] = engine.describe()
        res["decode"] = {}
        for role in engine.roles:
            con.print(f"decode speed: {role}")
            mine = bm.decode_speed(engine, role, args.tokens, args.repeats)
            row: dict[str, Any] = {"engine_tokens_per_second": mine["tokens_per_second"]}
            if not args.skip_raw:
                spec = engine.manifest.roles[role]
                ref = spec.model or engine.manifest.base
                assert ref is not None
                adapter = spec.adapter.resolve(engine.bundle_dir) if spec.adapter else None
                model = derive.model_file(ref, engine.bundle_dir)
                raw = bm.raw_decode_speed(model, adapter, opts, args.tokens, args.repeats)
                row["raw_llama_cpp_tokens_per_second"] = raw["tokens_per_second"]
                row["ratio"] = (
                    round(mine["tokens_per_second"] / raw["tokens_per_second"], 3) if raw["tokens_per_second"] else None
                )
            res["decode"][role] = row
        con.print("prefix reuse")
        res["prefix_reuse"] = bm.prefix_reuse(engine, registry, args.steps)
        con.print("agent steps")
        res["agent_steps"] = agent_steps(engine, registry, args.agent_steps, args.tokens)
        con.print("grammar cost")
        res["grammar"] = bm.grammar_cost(engine, registry, args.tokens, args.repeats)
        manifest, bundle_dir = engine.manifest, engine.bundle_dir
    if not args.skip_memory:
        con.print("memory (subprocesses)")
        res["memory"] = bm.memory(manifest, bundle_dir, opts.n_threads, opts.context_length or 2048)
    res["seconds"] = round(time.perf_counter() - t0, 1)
    if args.output:
        atomic.write_json(args.output, res)
    if args.json:
        print(json.dumps(res, indent=2))
    else:
        _print(res)
    return 0


def _print(res: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.table import Table

    con = Console()
    e = res["engine"]
    con.print(f"bundle {e['bundle']}  mode {e['mode']}  threads {e['threads']}  gpu layers {e['gpu_layers']}")
    t = Table("role", "engine tok/s", "raw llama-cpp-python tok/s", "ratio", title="decode (median)")
    for role, row in res["decode"].items():
        t.add_row(
            role,
            str(row["engine_tokens_per_second"]),
            str(row.get("raw_llama_cpp_tokens_per_second", "-")),
            str(row.get("ratio", "-")),
        )
    con.print(t)
    t = Table("step", "prompt tokens", "evaluated (reuse)", "s (reuse)", "evaluated (none)", "s (none)")
    t.title = "planner prompt per step: prefix reuse vs none"
    for i, (a, b) in enumerate(
        zip(res["prefix_reuse"]["with_reuse"], res["prefix_reuse"]["without_reuse"], strict=True), 1
    ):
        t.add_row(
            str(i),
            str(a["prompt_tokens"]),
            str(a["evaluated"]),
            str(a["seconds"]),
            str(b["evaluated"]),
            str(b["seconds"]),
        )
    con.print(t)
    for row in res.get("agent_steps", []):
        con.print(
            f"agent step {row['step']}: {row['seconds']} s, prompt tokens evaluated "
            f"{row['prompt_evaluated']} of {row['prompt_tokens']}"
        )
    g = res["grammar"]
    con.print(
        f"caller ms/token: unconstrained {g['unconstrained_ms_per_token']}, constrained "
        f"{g['constrained_ms_per_token']} (overhead {g['overhead_ms_per_token']}, "
        f"grammar rejected {g.get('grammar_rejection_rate', 0):.0%} of the model's first choices)"
    )
    for name, m in res.get("memory", {}).items():
        con.print(f"peak RSS {name}: {m}")
    con.print(f"total {res['seconds']} s")
