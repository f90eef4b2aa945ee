"""Measurements behind ``umi-edge bench``: decode speed vs raw llama-cpp-python, prefix reuse, grammar cost, RSS.

Every figure is a median over ``repeats`` runs on the bundle's own GGUF files, greedy decoding.
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from umi_edge import bundle as bundle_mod
from umi_edge.engine import derive, native
from umi_edge.engine.engine import Engine
from umi_edge.engine.options import EngineOptions
from umi_edge.formats.prompts import Role

STORY = "<|im_start|>user\nWrite a long story about a robot who learns to paint.<|im_end|>\n<|im_start|>assistant\n"


def _median(xs: list[float]) -> float:
    return round(statistics.median(xs), 4) if xs else 0.0


def decode_speed(engine: Engine, role: str, tokens: int, repeats: int, prompt: str = STORY) -> dict[str, float]:
    """Decode tokens/s of ``role`` through the engine (prompt cached, so this is decode time)."""
    engine.complete(role, prompt, max_tokens=4, stop=())  # warm: prompt in the KV cache
    rates: list[float] = []
    for _ in range(repeats):
        g = engine.complete(role, prompt, max_tokens=tokens, stop=())
        total = g.prompt_seconds + g.generate_seconds
        rates.append(g.generated_tokens / total if total else 0.0)
    return {"tokens_per_second": _median(rates), "tokens": tokens}


def raw_decode_speed(
    model_path: Path, adapter: Path | None, options: EngineOptions, tokens: int, repeats: int, prompt: str = STORY
) -> dict[str, float]:
    """The same measurement with llama-cpp-python's high-level ``Llama`` (its own prefix cache, greedy)."""
    from llama_cpp import Llama

    with native.high_level_defaults(options):
        llm = Llama(
            model_path=str(model_path),
            lora_path=str(adapter) if adapter else None,
            n_ctx=1024,
            n_threads=options.n_threads,
            n_threads_batch=options.n_threads,
            n_gpu_layers=options.gpu_layers if options.gpu_layers >= 0 else -1,
            verbose=False,
        )
    try:
        llm.create_completion(prompt, max_tokens=4, temperature=0.0)
        rates: list[float] = []
        for _ in range(repeats):
            t = time.perf_counter()
            out = llm.create_completion(prompt, max_tokens=tokens, temperature=0.0)
            dt = time.perf_counter() - t
            assert isinstance(out, dict)  # not streamed
            n = out["usage"]["completion_tokens"]
            rates.append(n / dt if dt else 0.0)
        return {"tokens_per_second": _median(rates), "tokens": tokens}
    finally:
        llm.close()


def episode_turns(steps: int) -> list[list[dict[str, str]]]:
    """Growing α-UMi histories of a synthetic episode (the planner's view at each step)."""
    turns = [
        {"from": "user", "value": "Which files in the workspace mention invoices, and how many lines do they have?"}
    ]
    views = [list(turns)]
    for i in range(1, steps):
        turns += [
            {"from": "assistant", "value": f"I should look at step {i} of the search.\n Next: caller."},
            {"from": "caller", "value": f'Action: search_files\nAction Input: {{"pattern": "invoice", "page": {i}}}'},
            {"from": "observation", "value": json.dumps({"matches": [f"notes/{i}-{k}.txt" for k in range(6)]})},
        ]
        views.append(list(turns))
    return views


def prefix_reuse(engine: Engine, registry: Any, steps: int) -> dict[str, Any]:
    """Planner prompt tokens evaluated per step and prompt latency, with and without prefix reuse."""
    from umi_edge.formats.history import serialize_history
    from umi_edge.formats.prompts import build_input, model_prompt
    from umi_edge.formats.tooldoc import render_doc, tool_names

    docs = registry.alpha_umi_docs()
    doc, names = render_doc(docs), tool_names(docs)
    role: Role = "planner" if "planner" in engine.roles else "backbone"
    out: dict[str, Any] = {}
    for reuse in (True, False):
        engine.options.prefix_reuse = reuse
        engine.role(role).reset()
        rows = []
        for view in episode_turns(steps):
            prompt = model_prompt(
                build_input(role, doc=doc, history=serialize_history(view), tool_names=names, style=engine.prompt_style)
            )
            g = engine.complete(role, prompt, max_tokens=8, stop=())
            rows.append(
                {
                    "prompt_tokens": g.prompt_tokens,
                    "evaluated": g.prompt_evaluated,
                    "seconds": round(g.prompt_seconds, 4),
                }
            )
        out["with_reuse" if reuse else "without_reuse"] = rows
    engine.options.prefix_reuse = True
    return out


def grammar_cost(engine: Engine, registry: Any, tokens: int, repeats: int) -> dict[str, float]:
    """Caller ms/token with the registry grammar vs unconstrained (same prompt, greedy)."""
    role = "caller" if "caller" in engine.roles else next(iter(engine.roles))
    gbnf = engine.tool_grammar((t.name, t.parameters) for t in registry.tools())
    prompt = "<|im_start|>user\nCall a tool to list the files in the folder notes.<|im_end|>\n<|im_start|>assistant\n"
    res: dict[str, float] = {}
    for name, grammar in (("unconstrained", None), ("constrained", gbnf)):
        per: list[float] = []
        rejected: list[float] = []
        engine.complete(role, prompt, max_tokens=2, stop=(), grammar=grammar)
        for _ in range(repeats):
            g = engine.complete(role, prompt, max_tokens=tokens, stop=(), grammar=grammar)
            if g.generated_tokens:
                per.append(1000 * g.generate_seconds / g.generated_tokens)
                rejected.append(g.grammar_rejections / g.generated_tokens)
        res[f"{name}_ms_per_token"] = _median(per)
        if grammar is not None:
            res["grammar_rejection_rate"] = _median(rejected)
    res["overhead_ms_per_token"] = round(res["constrained_ms_per_token"] - res["unconstrained_ms_per_token"], 4)
    return res


_RSS_CHILD = r"""
import json, resource, sys
from umi_edge.engine import Engine, EngineOptions
opts = EngineOptions(threads=int(sys.argv[2]), mmap=False, context_length=int(sys.argv[3]))
with Engine.from_bundle(sys.argv[1], opts) as e:
    for r in e.roles:
        e.complete(r, "Hello there, how are you today?", max_tokens=4, stop=())
    status = dict(l.split(":", 1) for l in open("/proc/self/status") if ":" in l)
    mb = lambda k: round(int(status[k].split()[0]) / 1024, 1) if k in status else None
    print(json.dumps({"rss_mb": mb("VmRSS"), "peak_rss_mb": mb("VmHWM"),
                      "models": len(e.models), "contexts": len(e.roles)}))
"""


def _rss_of(bundle_dir: Path, threads: int, ctx: int) -> dict[str, Any]:
    out = subprocess.run(
        [sys.executable, "-c", _RSS_CHILD, str(bundle_dir), str(threads), str(ctx)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    if out.returncode != 0:
        return {"error": out.stderr.strip().splitlines()[-1] if out.stderr.strip() else f"exit {out.returncode}"}
    return json.loads(out.stdout.strip().splitlines()[-1])


def memory(manifest: bundle_mod.Manifest, bundle_dir: Path, threads: int, ctx: int) -> dict[str, Any]:
    """RSS after loading and one short generation per role, and peak RSS (weights read into memory, no mmap), of:
    this bundle; each role as its own full model (what merged mode costs); one model alone with one context.
    KV-cache pages that were never written are not resident, so they do not count."""
    res: dict[str, Any] = {f"{manifest.mode}_bundle": _rss_of(bundle_dir, threads, ctx)}
    roles = list(manifest.roles)
    first = manifest.roles[roles[0]]
    base_ref = first.model or manifest.base
    assert base_ref is not None
    base = derive.model_file(base_ref, bundle_dir, threads=threads)
    with tempfile.TemporaryDirectory(prefix="umi-bench-") as tmp:
        t = Path(tmp)
        alone = {
            "format_version": 1,
            "mode": "single",
            "context_length": ctx,
            "roles": {"backbone": {"model": str(base)}},
        }
        (t / "alone").mkdir()
        (t / "alone" / "umi.json").write_text(json.dumps(alone))
        res["one_model_alone"] = _rss_of(t / "alone", threads, ctx)
        if manifest.mode == "adapters" and len(roles) > 1:
            # merged mode holds one full model per role: distinct files (hard links, else copies) of the base
            (t / "merged").mkdir()
            spec = {}
            for r in roles:
                dst = t / "merged" / f"{r}.gguf"
                try:
                    os.link(base, dst)
                except OSError:
                    shutil.copyfile(base, dst)
                spec[r] = {"model": dst.name}
            merged = {"format_version": 1, "mode": "merged", "context_length": ctx, "roles": spec}
            (t / "merged" / "umi.json").write_text(json.dumps(merged))
            res["merged_equivalent"] = _rss_of(t / "merged", threads, ctx)
    return res


def self_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
