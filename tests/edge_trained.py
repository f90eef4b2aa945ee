"""A tiny llama trained in the test to reproduce a few α-UMi trajectories exactly, as a merged-mode bundle.

The model (tests/tiny.py, with the llama.cpp-compatible tokenizer of tests/convert_fixtures.py) is fitted with torch on
every planner / caller / summarizer record of :data:`EPISODES` until it reproduces them greedily, then written as
a GGUF with umi_edge.convert and loaded by the real engine.  Prompts are tokenized by llama.cpp itself (from a first
GGUF of the untrained model), so training sees exactly the tokens the runtime will evaluate.  Observations come
from really calling the built-in calculator, as the agent will.
"""

from __future__ import annotations

import json
from pathlib import Path

from umi_edge.formats.parse import render_call
from umi_edge.formats.prompts import model_prompt
from umi_edge.formats.samples import role_samples

QUERY_FINISH = "What is 6 times 7?"
QUERY_GIVE_UP = "Book me a flight to Mars."
QUERY_RECOVER = "Divide 5 by zero, or else add 5 and 3."
QUERY_NO_MARKER = "Say hello."


def _obs(registry, expression: str) -> str:
    return registry.call("calculator", {"expression": expression}, workspace=".", max_chars=1024).content


def episodes(registry) -> list[dict]:
    """Stage-2 trajectories over the calculator: finish, give up, error-then-recover, planner without marker."""
    tools = registry.alpha_umi_docs()

    def call(expr: str) -> str:
        return render_call("calculator", {"expression": expr})

    convs = [
        [
            ("user", QUERY_FINISH),
            ("assistant", "I will compute 6*7.\n Next: caller."),
            ("caller", call("6*7")),
            ("observation", _obs(registry, "6*7")),
            ("assistant", "The result is 42.\n Next: conclusion."),
            ("conclusion", "6 times 7 is 42."),
        ],
        [("user", QUERY_GIVE_UP), ("assistant", "No tool can book flights.\n Next: give up.")],
        [
            ("user", QUERY_RECOVER),
            ("assistant", "Try 5/0 first.\n Next: caller."),
            ("caller", call("5/0")),
            ("observation", _obs(registry, "5/0")),
            ("assistant", "Division by zero failed, so add instead.\n Next: caller."),
            ("caller", call("5+3")),
            ("observation", _obs(registry, "5+3")),
            ("assistant", "The sum is 8.\n Next: conclusion."),
            ("conclusion", "5 divided by zero is undefined; 5 plus 3 is 8."),
        ],
        [
            ("user", QUERY_NO_MARKER),
            ("assistant", "Hello there friend\n Next: caller."),
            ("caller", call("1+1")),
            ("observation", _obs(registry, "1+1")),
        ],
    ]
    return [
        {"tools": tools, "instruction": c[0][1], "conversations": [{"from": f, "value": v} for f, v in c]}
        for c in convs
    ]


def _records(registry) -> list[tuple[str, str]]:
    pairs = []
    for ep in episodes(registry):
        samples = role_samples(ep)
        for role in ("planner", "caller", "summarizer"):
            for rec in samples[role]:
                target = rec["target"]
                if ep["instruction"] == QUERY_NO_MARKER and role == "planner":
                    target = "Hello there friend"  # the planner writes no marker: the runtime routes to the caller
                pairs.append((model_prompt(rec["input"]), target))
    return pairs


def build_trained_bundle(out: Path, registry, *, steps: int = 400) -> Path:
    import torch
    from convert_fixtures import llama_compatible_tokenizer
    from tiny import build_model
    from transformers import AutoModelForCausalLM
    from umi_edge.convert.gguf_model import write_model
    from umi_edge.convert.source import open_base

    from umi_edge.engine import EngineOptions, native

    raw = build_model(out / "raw", hidden=128, layers=2, heads=4, kv_heads=2, intermediate=256)
    base = llama_compatible_tokenizer(raw, out / "base")
    gguf_path = out / "model.gguf"
    write_model(gguf_path, open_base(base), outtype="f32", progress=False)
    lm = native.load_model(gguf_path, EngineOptions(threads=1))
    eos = lm.token_eos()
    seqs = []
    for prompt, target in _records(registry):
        p = native.tokenize(lm, prompt)
        t = native.tokenize(lm, target, add_bos=False) + [eos]
        seqs.append((p, t))
    lm.close()

    model = AutoModelForCausalLM.from_pretrained(str(base), dtype=torch.float32)
    n = max(len(p) + len(t) for p, t in seqs)
    ids = torch.zeros(len(seqs), n, dtype=torch.long)
    labels = torch.full((len(seqs), n), -100, dtype=torch.long)
    mask = torch.zeros(len(seqs), n, dtype=torch.long)
    for i, (p, t) in enumerate(seqs):
        full = p + t
        ids[i, : len(full)] = torch.tensor(full)
        labels[i, len(p) : len(full)] = torch.tensor(t)
        mask[i, : len(full)] = 1
    torch.manual_seed(0)
    opt = torch.optim.AdamW(model.parameters(), lr=3e-3)
    model.train()
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        done = 0
        for _ in range(steps):
            done += 1
            loss = model(input_ids=ids, attention_mask=mask, labels=labels).loss
            loss.backward()
            opt.step()
            opt.zero_grad()
            if loss.item() < 0.01:
                break
    finally:
        torch.set_num_threads(threads)
    model.save_pretrained(str(base))
    write_model(gguf_path, open_base(base), outtype="f32", progress=False)
    (out / "train.json").write_text(json.dumps({"steps": done, "loss": loss.item(), "samples": len(seqs)}))
    bundle = out / "bundle"
    bundle.mkdir()
    roles = {r: {"model": "../model.gguf"} for r in ("planner", "caller", "summarizer")}
    (bundle / "umi.json").write_text(
        json.dumps({"format_version": 1, "mode": "merged", "context_length": 1024, "roles": roles})
    )
    return bundle
