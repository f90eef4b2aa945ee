"""A run that trained some roles made whole: the run's roles beside the shipped (round-4) adapters of the others,
read back from models/ (rounds 6, 8: the planner; round 11: the caller).

Run from the repository root after `umi-edge train ... --config examples/train-default-bundle-round6.toml`, then
`umi-edge convert runs/r6-bundle -o bundles/round6 --quant keep --derive-base q8_0`; for round 8,
`python benchmarks/round6_bundle.py runs/round8 runs/r8-bundle`; for round 11,
`python benchmarks/round6_bundle.py runs/round11 runs/r11-bundle`. With `--checker`, the shipped caller is also
written as the run's `checker/` role (the call check's second caller, umi_edge/agent/call_check.py; round 17).
"""

import shutil
import sys
from pathlib import Path

from umi_edge.train import config as cfgmod
from umi_edge.train import from_bundle, glpft
from umi_edge.train.model import load_model

from umi_edge.bundle import MULTI_ROLES

checker = "--checker" in sys.argv[1:]
argv = [a for a in sys.argv[1:] if a != "--checker"]
args = argv if len(argv) == 2 else ["runs/default-round6", "runs/r6-bundle"]
src, dst = Path(args[0]), Path(args[1])
trained = [r for r in MULTI_ROLES if (src / r).is_dir()]
if not trained:
    raise SystemExit(f"{src}: no role folder ({', '.join(MULTI_ROLES)})")
shutil.rmtree(dst, ignore_errors=True)
dst.mkdir(parents=True)
for f in src.iterdir():
    if f.is_file():
        shutil.copy(f, dst / f.name)
for role in trained:
    shutil.copytree(src / role, dst / role)
cfg = cfgmod.load_saved(src / "config.toml")
p = glpft.prepare(cfg)
base = load_model(p.spec)
shipped = {r: r for r in MULTI_ROLES if r not in trained} | ({"checker": "caller"} if checker else {})
for role, source in shipped.items():
    out = dst / role
    from_bundle.write_peft_adapter(Path(f"models/{source}.lora.gguf"), p.spec, base, out)
    for f in (src / trained[0]).iterdir():
        if not (out / f.name).exists():
            shutil.copy(f, out / f.name)
print("ok", sorted(x.name for x in dst.iterdir()))
