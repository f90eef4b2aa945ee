"""A planner-only run made whole: the run's planner with the shipped (round-4) caller and summarizer, read back
from models/ (rounds 6 and 8).

Run from the repository root after `umi-edge train ... --config examples/train-default-bundle-round6.toml`, then
`umi-edge convert runs/r6-bundle -o bundles/round6 --quant keep --derive-base q8_0`; for round 8,
`python benchmarks/round6_bundle.py runs/round8 runs/r8-bundle`.
"""

import shutil
import sys
from pathlib import Path

from umi_edge.train import config as cfgmod
from umi_edge.train import from_bundle, glpft
from umi_edge.train.model import load_model

args = sys.argv[1:3] if len(sys.argv) == 3 else ["runs/default-round6", "runs/r6-bundle"]
src, dst = Path(args[0]), Path(args[1])
shutil.rmtree(dst, ignore_errors=True)
dst.mkdir(parents=True)
for f in src.iterdir():
    if f.is_file():
        shutil.copy(f, dst / f.name)
shutil.copytree(src / "planner", dst / "planner")
cfg = cfgmod.load_saved(src / "config.toml")
p = glpft.prepare(cfg)
base = load_model(p.spec)
for role in ("caller", "summarizer"):
    out = dst / role
    from_bundle.write_peft_adapter(Path(f"models/{role}.lora.gguf"), p.spec, base, out)
    for f in (src / "planner").iterdir():
        if not (out / f.name).exists():
            shutil.copy(f, out / f.name)
print("ok", sorted(x.name for x in dst.iterdir()))
