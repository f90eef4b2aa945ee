"""The llama.cpp engine on the real SmolLM2 GGUF: prefix reuse, per-role adapters, stops, cancellation, bad bundles."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import numpy as np
import pytest
from edge_bundles import adapters_bundle, merged_bundle, write_lora

from umi_edge.engine import Engine, EngineOptions, SamplingParams, native, physical_cores
from umi_edge.engine.role import RoleContext, common_prefix
from umi_edge.engine.stopping import RepetitionGuard, StopMatcher
from umi_edge.errors import UserError

PROMPT = (
    "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n<|im_start|>user\n"
    "Name three colours of the rainbow.<|im_end|>\n<|im_start|>assistant\n"
)


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Engine:
    d = merged_bundle(tmp_path_factory.mktemp("merged"), context_length=512)
    eng = Engine.from_bundle(d, EngineOptions(threads=1, context_length=512))
    yield eng
    eng.close()


def _run(gen):
    pieces = []
    while True:
        try:
            pieces.append(next(gen))
        except StopIteration as stop:
            return "".join(pieces), stop.value


def test_merged_roles_share_one_model_with_own_contexts(engine: Engine) -> None:
    assert set(engine.roles) == {"planner", "caller", "summarizer"}
    assert len(engine.models) == 1
    ctxs = {id(c.ctx.ctx) for c in engine.roles.values()}
    assert len(ctxs) == 3
    assert engine.options.n_threads == 1 and physical_cores() >= 1


def test_prefix_reuse_evaluates_only_the_suffix_and_matches_a_cold_run(engine: Engine) -> None:
    role = engine.role("planner")
    role.reset()
    first_text, first = _run(role.generate(PROMPT, max_tokens=6, stop=()))
    assert first.prompt_reused == 0 and first.prompt_evaluated == first.prompt_tokens
    follow = (
        PROMPT + "Red, green and blue.<|im_end|>\n<|im_start|>user\nAnd two more?<|im_end|>\n<|im_start|>assistant\n"
    )
    warm_text, warm = _run(role.generate(follow, max_tokens=12, stop=()))
    assert warm.prompt_reused >= first.prompt_tokens
    assert warm.prompt_evaluated == warm.prompt_tokens - warm.prompt_reused
    assert warm.prompt_evaluated < warm.prompt_tokens / 2
    # a cold evaluation of the same prompt gives the same greedy output
    cold_ctx = engine.role("summarizer")
    cold_ctx.reset()
    cold_text, cold = _run(cold_ctx.generate(follow, max_tokens=12, stop=()))
    assert cold.prompt_reused == 0 and cold.prompt_evaluated == cold.prompt_tokens
    assert cold_text == warm_text and cold.generated_tokens == warm.generated_tokens
    # the identical prompt again: only the last token is evaluated (it yields the logits)
    again_text, again = _run(role.generate(follow, max_tokens=12, stop=()))
    assert again.prompt_evaluated == 1 and again_text == warm_text


def test_prefix_reuse_can_be_turned_off(tmp_path: Path) -> None:
    d = merged_bundle(tmp_path / "b", context_length=512)
    with Engine.from_bundle(d, EngineOptions(threads=1, context_length=512, prefix_reuse=False)) as eng:
        _run(eng.generate("planner", PROMPT, max_tokens=2))
        _, g = _run(eng.generate("planner", PROMPT + "Red", max_tokens=2))
        assert g.prompt_reused == 0 and g.prompt_evaluated == g.prompt_tokens


def test_greedy_stops_at_eos_and_streams_text(engine: Engine) -> None:
    prompt = "<|im_start|>user\nWhat is the capital of France?<|im_end|>\n<|im_start|>assistant\n"
    text, g = _run(engine.generate("caller", prompt, max_tokens=40))
    assert g.stop_reason == "eos"
    assert "Paris" in text and text == g.text
    assert g.generated_tokens > 0 and g.generate_seconds > 0


def test_stop_string_is_cut_and_stop_after_is_kept() -> None:
    m = StopMatcher(["</s>"], ["\n Next: caller."])
    out = "".join(m.feed(p) for p in ["I will", " call\n", " Next: cal", "ler. and more</s>"])
    assert out == "I will call\n Next: caller." and m.hit == "\n Next: caller."
    m = StopMatcher(["</s>"])
    out = "".join(m.feed(p) for p in ["answer <", "/s", "> tail"])
    assert out == "answer " and m.hit == "</s>"
    m = StopMatcher(["</s>"])
    assert m.feed("a <") == "a " and m.flush() == "<"


def test_repetition_guard_counts_runs_per_period() -> None:
    g = RepetitionGuard(span=6, max_period=4)
    assert not any(g.feed(t) for t in [5, 1, 2, 3, 1, 2, 3, 1, 2])  # period 3, 6 repeats after the first cycle
    assert g.feed(3)
    g = RepetitionGuard(span=6, max_period=2)
    assert not any(g.feed(t) for t in [1, 2, 3, 1, 2, 3, 1, 2, 3, 1, 2, 3])  # period 3 is beyond max_period 2
    assert not any(RepetitionGuard(span=0).feed(7) for _ in range(100))  # 0: never


LOOP = "<|im_start|>user\nWrite the word go 200 times.<|im_end|>\n<|im_start|>assistant\n" + "go " * 40


def test_degenerate_loop_stops_early_without_changing_tokens(tmp_path: Path) -> None:
    d = merged_bundle(tmp_path / "b", context_length=512)
    with Engine.from_bundle(d, EngineOptions(threads=1, context_length=512, repeat_stop=0)) as eng:
        full, g_full = _run(eng.generate("planner", LOOP, max_tokens=80, stop=()))
    with Engine.from_bundle(d, EngineOptions(threads=1, context_length=512, repeat_stop=24)) as eng:
        cut, g_cut = _run(eng.generate("planner", LOOP, max_tokens=80, stop=()))
    assert g_full.stop_reason == "length" and g_full.generated_tokens == 80
    assert g_cut.stop_reason == "repetition" and g_cut.generated_tokens < 40
    assert full.startswith(cut) and cut


def test_literal_stop_text_ends_generation(engine: Engine) -> None:
    # the model repeats a list; stopping at a text it will write shows the literal-stop path on real output
    full, _ = _run(engine.generate("caller", PROMPT, max_tokens=16, stop=()))
    stop = full[8:12]
    cut, g = _run(engine.generate("caller", PROMPT, max_tokens=16, stop=(stop,)))
    assert g.stop_reason == "stop" and cut == full[: full.index(stop)]


def test_sampling_is_settable_per_role(engine: Engine) -> None:
    hot = SamplingParams(temperature=1.5, top_k=0, top_p=1.0, min_p=0.0, seed=7)
    a, _ = _run(engine.generate("planner", PROMPT, sampling=hot, max_tokens=12, stop=()))
    b, _ = _run(engine.generate("planner", PROMPT, sampling=hot, max_tokens=12, stop=()))
    assert a == b  # same seed, same text
    other = SamplingParams(temperature=1.5, top_k=0, top_p=1.0, min_p=0.0, seed=8)
    texts = {_run(engine.generate("planner", PROMPT, sampling=other, max_tokens=12, stop=()))[0]}
    greedy, _ = _run(engine.generate("planner", PROMPT, max_tokens=12, stop=()))
    assert texts | {a} != {greedy}


def test_cancel_between_tokens(engine: Engine) -> None:
    cancel = threading.Event()
    gen = engine.generate("planner", PROMPT, max_tokens=200, stop=(), cancel=cancel)
    n = 0
    while True:
        try:
            next(gen)
        except StopIteration as stop:
            g = stop.value
            break
        n += 1
        if n == 2:
            cancel.set()
    assert g.stop_reason == "cancelled"
    assert g.generated_tokens <= 3
    # the context stays usable after a cancel
    _, g2 = _run(engine.generate("planner", PROMPT, max_tokens=3, stop=()))
    assert g2.stop_reason == "length" and g2.generated_tokens == 3


def test_context_full_is_a_length_stop_and_overflow_raises(tmp_path: Path) -> None:
    from umi_edge.engine import ContextOverflow

    d = merged_bundle(tmp_path / "b", context_length=256)
    with Engine.from_bundle(d, EngineOptions(threads=1, context_length=256)) as eng:
        with pytest.raises(ContextOverflow):
            _run(eng.generate("planner", "word " * 400, max_tokens=4))
        _, g = _run(eng.generate("planner", "word " * 240, max_tokens=100, stop=()))
        assert g.stop_reason == "length" and g.context_used == 256


def test_adapters_mode_one_model_different_adapters_per_context(tmp_path: Path) -> None:
    d = adapters_bundle(tmp_path / "ad", context_length=256)
    with Engine.from_bundle(d, EngineOptions(threads=1, context_length=256)) as eng:
        assert len(eng.models) == 1 and len(eng.adapters) == 3
        text = "The capital of France is"
        logits = {r: np.array(eng.role(r).logits(text)) for r in ("planner", "caller", "summarizer")}
        assert np.abs(logits["planner"] - logits["caller"]).max() > 0.1
        assert np.abs(logits["caller"] - logits["summarizer"]).max() > 0.1
        # a context without adapter on the same model = the base model
        model = next(iter(eng.models.values()))
        bare = RoleContext("bare", model, 256, eng.options)
        base = np.array(bare.logits(text))
        bare.close()
        assert np.abs(base - logits["planner"]).max() > 0.1
        # no adapter leaks between contexts: each role's logits are those of its adapter alone, on a model of its own
        (path,) = eng.models
        for role in ("planner", "caller", "summarizer"):
            solo_model = native.load_model(path, eng.options)
            adapter = native.LoraAdapter(solo_model, d / f"{role}.lora.gguf")
            solo = RoleContext(role, solo_model, 256, eng.options, adapter=adapter)
            try:
                assert np.allclose(np.array(solo.logits(text)), logits[role], atol=1e-3), role
            finally:
                solo.close()
                solo_model.close()
        eng.role("planner").logits(text + " Paris")
        eng.role("planner").reset()
        assert np.allclose(np.array(eng.role("planner").logits(text)), logits["planner"], atol=1e-3)
    merged = merged_bundle(tmp_path / "m", context_length=256)
    with Engine.from_bundle(merged, EngineOptions(threads=1, context_length=256)) as eng:
        assert np.allclose(np.array(eng.role("planner").logits(text)), base, atol=1e-3)


def test_common_prefix() -> None:
    assert common_prefix([1, 2, 3], [1, 2, 4, 5]) == 2
    assert common_prefix([], [1]) == 0
    assert common_prefix([1, 2], [1, 2]) == 2


@pytest.mark.parametrize(
    "manifest, message",
    [
        ({"format_version": 1, "mode": "merged", "roles": {}}, "missing role"),
        (
            {
                "format_version": 1,
                "mode": "merged",
                "roles": {r: {"model": "nope.gguf"} for r in ("planner", "caller", "summarizer")},
            },
            "does not exist",
        ),
    ],
)
def test_bad_bundle_is_a_user_error(tmp_path: Path, manifest: dict, message: str) -> None:
    (tmp_path / "umi.json").write_text(json.dumps(manifest))
    with pytest.raises(UserError, match=message):
        Engine.from_bundle(tmp_path)


def test_not_a_gguf_and_bad_adapter_are_user_errors(tmp_path: Path) -> None:
    (tmp_path / "junk.gguf").write_bytes(b"not a model at all" * 10)
    roles = {r: {"model": "junk.gguf"} for r in ("planner", "caller", "summarizer")}
    (tmp_path / "umi.json").write_text(json.dumps({"format_version": 1, "mode": "merged", "roles": roles}))
    with pytest.raises(UserError, match="could not load"):
        Engine.from_bundle(tmp_path)
    d = adapters_bundle(tmp_path / "ad", context_length=256)
    (d / "caller.lora.gguf").write_bytes(b"junk" * 100)
    with pytest.raises(UserError, match="LoRA adapter"):
        Engine.from_bundle(d, EngineOptions(threads=1))
    write_lora(d / "caller.lora.gguf", seed=1)  # valid again
    Engine.from_bundle(d, EngineOptions(threads=1, context_length=256)).close()


def test_recorded_sha256_is_checked(tmp_path: Path) -> None:
    d = adapters_bundle(tmp_path / "ad", context_length=256)
    manifest = json.loads((d / "umi.json").read_text())
    manifest["roles"]["caller"]["adapter"] = {"path": "caller.lora.gguf", "sha256": "0" * 64}
    (d / "umi.json").write_text(json.dumps(manifest))
    with pytest.raises(UserError, match="SHA-256"):
        Engine.from_bundle(d, EngineOptions(threads=1))
    Engine.from_bundle(d, EngineOptions(threads=1, context_length=256, verify_sha=False)).close()
