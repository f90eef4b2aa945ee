"""Base quantization speed: the default bundle on its packaged Q4_1 base vs the same base derived to Q8_0 and F16.

Loads three copies of a bundle's manifest through the engine (``umi_edge.engine.derive`` makes the derived bases)
and measures, for the planner role with its adapter, in interleaved rounds so machine load hits all alike:

- prompt processing tokens/s: a fresh ~1,200-token agent prompt (KV cache reset before each repeat);
- decode tokens/s: ``--tokens`` greedy tokens after that prompt.

Reports medians of ``--repeats`` rounds and each type's ratio to Q4_1, measured in the same run. Needs an idle
machine to be quoted.

    python benchmarks/base_quant_speed.py [--bundle models] [--threads 2] [--repeats 5] [--tokens 64] [-o FILE]
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
from pathlib import Path

from umi_edge import bundle
from umi_edge.engine import Engine, EngineOptions
from umi_edge.formats.history import serialize_history
from umi_edge.formats.prompts import build_input, model_prompt
from umi_edge.formats.tooldoc import render_doc, tool_names
from umi_edge.tools.registry import builtin_registry

TYPES = ("keep", "q8_0", "f16")


def _variant(src: Path, dst: Path, derive: str) -> Path:
    manifest, bdir = bundle.load(src)
    assert manifest.base is not None, "needs an adapters bundle"
    data = manifest.to_json()
    data["base"] = {k: v for k, v in data["base"].items() if k not in ("derive", "derived_sha256")}
    if data["base"].get("path"):
        data["base"]["path"] = str(manifest.base.resolve(bdir))
    for spec in data["roles"].values():
        spec["adapter"]["path"] = str((bdir / spec["adapter"]["path"]).resolve())
    if derive != "keep":
        data["base"]["derive"] = derive
    dst.mkdir(parents=True)
    (dst / "umi.json").write_text(json.dumps(data))
    return dst


def _prompt() -> str:
    """The planner's first-step prompt with every built-in tool."""
    docs = builtin_registry().alpha_umi_docs()
    query = "Read inbox/titan.txt, take the budget, and tell me what 17.5% of it is, rounded to cents."
    history = serialize_history([{"from": "user", "value": query}])
    return model_prompt(build_input("planner", doc=render_doc(docs), history=history, tool_names=tool_names(docs)))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--bundle", default=str(bundle.default_bundle_dir()))
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--tokens", type=int, default=64)
    ap.add_argument("-o", "--output")
    args = ap.parse_args()
    prompt = _prompt()
    opts = EngineOptions(threads=args.threads, context_length=4096)
    pp: dict[str, list[float]] = {t: [] for t in TYPES}
    dec: dict[str, list[float]] = {t: [] for t in TYPES}
    with tempfile.TemporaryDirectory() as tmp:
        engines = {t: Engine.from_bundle(_variant(Path(args.bundle), Path(tmp) / t, t), opts) for t in TYPES}
        n_prompt = engines["keep"].count_tokens("planner", prompt)
        for _ in range(args.repeats):
            for t, eng in engines.items():
                eng.role("planner").reset()
                g = eng.complete("planner", prompt, max_tokens=args.tokens, stop=())
                pp[t].append(g.prompt_evaluated / g.prompt_seconds)
                dec[t].append(g.generated_tokens / g.generate_seconds)
        for eng in engines.values():
            eng.close()
    res = {
        "bundle": args.bundle,
        "threads": args.threads,
        "repeats": args.repeats,
        "prompt_tokens": n_prompt,
        "decode_tokens": args.tokens,
        "median_prompt_tokens_per_second": {t: round(statistics.median(v), 1) for t, v in pp.items()},
        "median_decode_tokens_per_second": {t: round(statistics.median(v), 1) for t, v in dec.items()},
    }
    base_pp, base_dec = res["median_prompt_tokens_per_second"]["keep"], res["median_decode_tokens_per_second"]["keep"]
    res["prompt_ratio_vs_keep"] = {t: round(v / base_pp, 2) for t, v in res["median_prompt_tokens_per_second"].items()}
    res["decode_ratio_vs_keep"] = {t: round(v / base_dec, 2) for t, v in res["median_decode_tokens_per_second"].items()}
    text = json.dumps(res, indent=2)
    print(text)
    if args.output:
        Path(args.output).write_text(text + "\n")


if __name__ == "__main__":
    main()
