"""Tiny real models for tests: a sentencepiece tokenizer trained on the spot and a random-init llama, built offline.

Everything is built in a given directory in a few seconds, deterministically (same seed → same files):

- :func:`build_tokenizer` trains a sentencepiece BPE model (byte fallback, so every character, JSON and non-ASCII
  included, has ids) on α-UMi-like text and saves it as a transformers ``LlamaTokenizer`` directory holding
  ``tokenizer.model`` (for GGUF writers), ``tokenizer.json`` and ``tokenizer_config.json``.
  ids: ``<unk>`` 0, ``<s>`` 1 (BOS, added at the start), ``</s>`` 2 (EOS). Like LLaMA's HF tokenizer, the literal
  text ``</s>`` inside a string is parsed as the EOS token (id 2); raw sentencepiece spells it as bytes instead.
- :func:`build_model` saves a random-init ``LlamaForCausalLM`` (hidden 64, 2 layers, 4 heads, 2 KV heads, tied
  embeddings like SmolLM2) with that tokenizer as a HF directory (safetensors).
- :func:`build_role_data` writes a synthetic per-role data DIR (``backbone/planner/caller/summarizer.jsonl``,
  records ``{"tools", "history", "input", "target"}``) in the α-UMi formats.

Tests use the fixtures ``tiny_tokenizer_dir``, ``tiny_model_dir`` and ``tiny_data_dir`` (session-scoped, built once):
``from tiny import tiny_data_dir, tiny_model_dir  # noqa: F401`` in a test module makes them available
(pytest puts tests/ on sys.path: tests/ has no __init__.py). Build by hand: ``python tests/tiny.py OUT_DIR``.
"""

from __future__ import annotations

import io
import json
import random
import shutil
from pathlib import Path

import pytest

SEED = 1234
VOCAB_SIZE = 800

# The α-UMi templates (see ../shared/reference/alpha-umi-format.md); kept here so the fixture has no dependencies.
_HEAD = "You have assess to the following apis:\n{doc}\nThe conversation history is:\n{history}\n"
PLANNER = (
    _HEAD + "You are the assistant to plan what to do next and whether is caller's or conclusion's turn to answer.\n"
    "Answer with a following format:\n"
    "The thought of the next step, followed by Next: caller or conclusion or give up."
)
CALLER = (
    _HEAD + "The thought of this step is:\n{thought}\n"
    "Base on the thought make an api call in the following format:\n"
    "Action: the name of api that should be called in this step, should be exactly in [{tool_names}],\n"
    "Action Input: the api call request."
)
SUMMARIZER = "Make a conclusion based on the conversation history:\n{history}"
BACKBONE = (
    _HEAD + "You should answer the action of next step in the following format:\n"
    "The thought to solve the question,\n"
    "Action: the name of api that should be called in this step, should be exactly in [{tool_names}],\n"
    "Action Input: the api call request.\n"
    "Once you think the question is finished, output conclusion: the final answer of the question or give up if "
    "you think you cannot answer this question.\n"
)

_CITIES = [
    "Paris",
    "Berlin",
    "Tokyo",
    "Lima",
    "Oslo",
    "Cairo",
    "Delhi",
    "Quito",
    "Rome",
    "Seoul",
    "Zürich",
    "São Paulo",
]
_TOOLS = [
    ("get_weather_for_openweather", "Get the current weather of a city.", {"city": "string, name of the city"}),
    ("convert_currency_for_fx", "Convert an amount between currencies.", {"amount": "number, ", "to": "string, "}),
    ("search_news_for_newsapi", "Search recent news articles.", {"query": "string, words to search"}),
    ("get_time_for_timezone", "Get the local time in a city.", {"city": "string, the city"}),
    ("calculate_for_calculator", "Evaluate an arithmetic expression.", {"expression": "string, e.g. 2*(3+4)"}),
]


def _doc(tools: list[dict]) -> str:
    return "".join(json.dumps(t) + "\n" for t in tools)


def _fill(template: str, **values: str) -> str:
    for k, v in values.items():
        template = template.replace("{" + k + "}", v)
    return template


def _history_text(history: list[dict]) -> str:
    out = []
    for turn in history:
        sep = "" if turn["from"] == "observation" else "</s>"
        out.append(f"{turn['from']}: {turn['value']}{sep}")
    return "".join(out)


def _episode(rng: random.Random, i: int) -> dict:
    """One synthetic trajectory: a question, one call, an observation, a conclusion."""
    name, func, args = rng.choice(_TOOLS)
    tools = [{"Name": name, "function": func, "input": args}]
    for other in rng.sample([t for t in _TOOLS if t[0] != name], 2):
        tools.append({"Name": other[0], "function": other[1], "input": other[2]})
    rng.shuffle(tools)
    city = rng.choice(_CITIES)
    value = rng.randint(1, 999)
    question = f"Please use {name.split('_for_')[0].replace('_', ' ')} for {city} (request #{i}, value {value})."
    call_args = {k: (city if k in ("city", "query") else value if k == "amount" else f"{value}*2") for k in args}
    if "to" in call_args:
        call_args["to"] = "EUR"
    thought = f"I need to call {name} with {city} to answer the user.\n Next: caller."
    action = f"Action: {name}\nAction Input: {json.dumps(call_args)}"
    observation = json.dumps({"error": "", "response": {"city": city, "value": value, "note": "ok"}})
    final = f"The result for {city} is {value}; the {name.split('_for_')[0].split('_')[-1]} service answered ok."
    return {
        "tools": tools,
        "question": question,
        "thought": thought,
        "action": action,
        "observation": observation,
        "conclude": f"I have the result for {city}, time to conclude.\n Next: conclusion.",
        "final": final,
    }


def _records(ep: dict) -> dict[str, list[dict]]:
    tools = ep["tools"]
    doc, names = _doc(tools), ", ".join(t["Name"] for t in tools)
    h0 = [{"from": "user", "value": ep["question"]}]
    h1 = h0 + [
        {"from": "assistant", "value": ep["thought"]},
        {"from": "caller", "value": ep["action"]},
        {"from": "observation", "value": ep["observation"]},
    ]
    h2 = h1 + [{"from": "assistant", "value": ep["conclude"]}]
    out: dict[str, list[dict]] = {"backbone": [], "planner": [], "caller": [], "summarizer": []}

    def add(role: str, history: list[dict], text: str, target: str) -> None:
        out[role].append({"tools": tools, "history": history, "input": text, "target": target})

    for hist, target in ((h0, ep["thought"]), (h1, ep["conclude"])):
        add("planner", hist, _fill(PLANNER, doc=doc, history=_history_text(hist)) + " assistant: ", target)
    cal = _fill(CALLER, doc=doc, history=_history_text(h0), thought=ep["thought"], tool_names=names)
    add("caller", h0, cal + " caller: ", ep["action"])
    add("summarizer", h2, _fill(SUMMARIZER, history=_history_text(h2)) + " conclusion: ", ep["final"])
    # Backbone: the assistant turn merges thought and action, no separate caller turn.
    merged = ep["thought"].split("\n Next:")[0] + "\n" + ep["action"]
    bh1 = h0 + [{"from": "assistant", "value": merged}, {"from": "observation", "value": ep["observation"]}]
    for hist, target in ((h0, merged), (bh1, "I have the result.\nconclusion: " + ep["final"])):
        add(
            "backbone",
            hist,
            _fill(BACKBONE, doc=doc, history=_history_text(hist), tool_names=names) + " assistant: ",
            target,
        )
    return out


def build_role_data(directory: str | Path, n_episodes: int = 12, seed: int = SEED) -> Path:
    """Write DIR/{backbone,planner,caller,summarizer}.jsonl from ``n_episodes`` synthetic trajectories.

    Per episode: 2 backbone, 2 planner, 1 caller, 1 summarizer records (12 episodes → 24/24/12/12).
    """
    d = Path(directory)
    d.mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)
    roles: dict[str, list[dict]] = {"backbone": [], "planner": [], "caller": [], "summarizer": []}
    for i in range(n_episodes):
        for role, recs in _records(_episode(rng, i)).items():
            roles[role].extend(recs)
    for role, recs in roles.items():
        with open(d / f"{role}.jsonl", "w", encoding="utf-8") as fh:
            for rec in recs:
                fh.write(json.dumps(rec, ensure_ascii=False) + "\n")
    return d


def _corpus(seed: int) -> list[str]:
    rng = random.Random(seed)
    lines: list[str] = []
    for i in range(60):
        for recs in _records(_episode(rng, i)).values():
            for rec in recs:
                # Split at newlines: like LLaMA's vocabulary, no piece holds "\n" (it becomes the byte <0x0A>).
                lines.extend(("system: " + rec["input"] + rec["target"]).split("\n"))
    lines += ['{"key": [1, 2.5, -3e4, null, true, false], "nested": {"a": "b\\"c"}}', "<>/{}[]()'`~!@#$%^&*_+=|\\;?"]
    return [ln for ln in lines if ln]


def build_tokenizer(directory: str | Path, vocab_size: int = VOCAB_SIZE, seed: int = SEED) -> Path:
    """Train a sentencepiece BPE tokenizer and save it as a LlamaTokenizer directory; returns the directory."""
    import sentencepiece as spm
    from transformers import LlamaTokenizer

    d = Path(directory)
    d.mkdir(parents=True, exist_ok=True)
    buf = io.BytesIO()
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(_corpus(seed)),
        model_writer=buf,
        vocab_size=vocab_size,
        model_type="bpe",
        byte_fallback=True,
        character_coverage=1.0,
        hard_vocab_limit=False,
        split_digits=True,
        remove_extra_whitespaces=False,
        normalization_rule_name="identity",
        unk_id=0,
        bos_id=1,
        eos_id=2,
        pad_id=-1,
        num_threads=1,
        max_sentence_length=1 << 16,
        seed_sentencepiece_size=100000,
        minloglevel=2,
    )
    staging = d / ".sp"
    staging.mkdir(exist_ok=True)
    (staging / "tokenizer.model").write_bytes(buf.getvalue())
    tok = LlamaTokenizer.from_pretrained(str(staging), add_bos_token=True, add_eos_token=False, legacy=False)
    tok.save_pretrained(str(d))
    shutil.copy(staging / "tokenizer.model", d / "tokenizer.model")
    shutil.rmtree(staging)
    return d


def build_model(
    directory: str | Path,
    *,
    hidden: int = 64,
    layers: int = 2,
    heads: int = 4,
    kv_heads: int = 2,
    intermediate: int = 128,
    tie_embeddings: bool = True,
    seed: int = SEED,
    tokenizer_dir: str | Path | None = None,
) -> Path:
    """Save a random-init LlamaForCausalLM plus its tokenizer in ``directory`` (built there unless given)."""
    import torch
    from transformers import AutoTokenizer, LlamaConfig, LlamaForCausalLM

    d = Path(directory)
    if tokenizer_dir is None:
        build_tokenizer(d, seed=seed)
    else:
        d.mkdir(parents=True, exist_ok=True)
        for f in Path(tokenizer_dir).iterdir():
            if f.is_file():
                shutil.copy(f, d / f.name)
    tok = AutoTokenizer.from_pretrained(str(d))
    cfg = LlamaConfig(
        vocab_size=len(tok),
        hidden_size=hidden,
        intermediate_size=intermediate,
        num_hidden_layers=layers,
        num_attention_heads=heads,
        num_key_value_heads=kv_heads,
        max_position_embeddings=2048,
        rms_norm_eps=1e-5,
        initializer_range=0.1,  # larger than the 0.02 default: tied embeddings then give logits LoRA can move
        rope_theta=10000.0,
        tie_word_embeddings=tie_embeddings,
        bos_token_id=tok.bos_token_id,
        eos_token_id=tok.eos_token_id,
        pad_token_id=None,
        torch_dtype="float32",
    )
    torch.manual_seed(seed)
    model = LlamaForCausalLM(cfg)
    model.generation_config.pad_token_id = tok.eos_token_id
    model.save_pretrained(str(d), safe_serialization=True)
    return d


@pytest.fixture(scope="session")
def tiny_tokenizer_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A trained sentencepiece LlamaTokenizer directory (with tokenizer.model)."""
    return build_tokenizer(tmp_path_factory.mktemp("tiny_tok"))


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A random-init tiny llama HF directory (config, safetensors, tokenizer files; same tokenizer as above)."""
    return build_model(tmp_path_factory.mktemp("tiny_model"))


@pytest.fixture(scope="session")
def tiny_data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A synthetic per-role data DIR: backbone/planner 24 records, caller/summarizer 12."""
    return build_role_data(tmp_path_factory.mktemp("tiny_data"))


if __name__ == "__main__":  # pragma: no cover
    import sys

    out = Path(sys.argv[1] if len(sys.argv) > 1 else "tiny")
    build_model(out / "model")
    build_role_data(out / "data")
    print(f"tiny model in {out / 'model'}, data in {out / 'data'}")
