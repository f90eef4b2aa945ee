"""Round 6 bundle: round 6's planner with the shipped (round-4) caller and summarizer, read back from models/.

Run from the repository root after `umi-edge train ... --config examples/train-default-bundle-round6.toml`, then
`umi-edge convert runs/r6-bundle -o bundles/round6 --quant keep --derive-base q8_0`.
"""

import shutil
from pathlib import Path

from umi_edge.train import config as cfgmod
from umi_edge.train import from_bundle, glpft
from umi_edge.train.model import load_model

src, dst = Path("runs/default-round6"), Path("runs/r6-bundle")
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
