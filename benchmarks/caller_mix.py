"""A bundle run whose caller is a weight-space mix of two caller adapters (session 25, candidate (c)).

Both adapters apply to the same unchanged base (each role adapter of `umi-edge train` continues the global adapter),
so peft's `add_weighted_adapter(..., combination_type="cat")` gives their weighted sum exactly, at the summed rank.
Run from the repository root after `python benchmarks/round6_bundle.py runs/round17 runs/r17-bundle --checker`:

    python benchmarks/caller_mix.py runs/r17-bundle runs/r17mix-bundle 0.5

writes runs/r17mix-bundle: the first run's planner, summarizer and checker, and as caller WEIGHT × its caller plus
(1 - WEIGHT) × its checker (round 4's caller). Then
`umi-edge convert runs/r17mix-bundle -o bundles/round17-mix --quant keep --derive-base q8_0`.
"""

import shutil
import sys
from pathlib import Path

from peft import PeftModel
from umi_edge.train import config as cfgmod
from umi_edge.train import glpft
from umi_edge.train.model import load_model

src, dst, weight = Path(sys.argv[1]), Path(sys.argv[2]), float(sys.argv[3])
shutil.rmtree(dst, ignore_errors=True)
shutil.copytree(src, dst, ignore=shutil.ignore_patterns("caller"))
cfg = cfgmod.load_saved(src / "config.toml")
base = load_model(glpft.prepare(cfg).spec)
model = PeftModel.from_pretrained(base, str(src / "caller"), adapter_name="new")
model.load_adapter(str(src / "checker"), adapter_name="old")
model.add_weighted_adapter(["new", "old"], [weight, 1.0 - weight], "mix", combination_type="cat")
model.delete_adapter("new")
model.delete_adapter("old")
model.save_pretrained(str(dst / "tmp"), selected_adapters=["mix"])
saved = dst / "tmp" / "mix" if (dst / "tmp" / "mix").is_dir() else dst / "tmp"
shutil.move(str(saved), str(dst / "caller"))
shutil.rmtree(dst / "tmp", ignore_errors=True)
for f in (src / "caller").iterdir():  # tokenizer files and the like beside the adapter
    if not (dst / "caller" / f.name).exists():
        shutil.copy(f, dst / "caller" / f.name)
print("ok", sorted(x.name for x in (dst / "caller").iterdir()))
