"""One role's llama.cpp context: its own KV cache, its own LoRA adapter, prefix reuse, streamed generation.

Prefix reuse: the context remembers the tokens whose keys/values it holds.  A new prompt is tokenized whole;
the longest common token prefix with the cached tokens is kept, the rest of the cache is dropped
(``llama_memory_seq_rm``) and only the new suffix is evaluated.  Because α-UMi prompts put the history before the
template's trailing part, step t+1 re-evaluates only the new turns and that trailing part.
"""

from __future__ import annotations

import codecs
import threading
import time
from collections.abc import Generator, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from llama_cpp import _internals

from umi_edge.engine import native
from umi_edge.engine.grammar import validate_gbnf
from umi_edge.engine.grammar_sampling import GrammarSampler
from umi_edge.engine.options import EngineOptions, SamplingParams
from umi_edge.engine.stopping import RepetitionGuard, StopMatcher
from umi_edge.errors import UserError


class ContextOverflow(UserError):
    """The prompt alone does not fit the role's context (the agent shortens history before this happens)."""

    def __init__(self, role: str, tokens: int, size: int) -> None:
        super().__init__(f"{role}: prompt of {tokens} tokens does not fit the context of {size} tokens")
        self.role, self.tokens, self.size = role, tokens, size


@dataclass
class Generation:
    """What one generation did: its text, why it stopped, and its prompt/decode figures."""

    role: str
    text: str
    stop_reason: str  # "stop" (a stop string), "eos", "length" (max tokens or context full), "cancelled"
    prompt_tokens: int
    prompt_evaluated: int
    prompt_reused: int
    generated_tokens: int
    prompt_seconds: float
    generate_seconds: float
    context_used: int
    context_size: int
    constrained: bool = False
    grammar_rejections: int = 0  # tokens the grammar refused, re-sampled over the whole vocabulary

    @property
    def tokens_per_second(self) -> float:
        return self.generated_tokens / self.generate_seconds if self.generate_seconds > 0 else 0.0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def common_prefix(a: Sequence[int], b: Sequence[int]) -> int:
    """Length of the longest common prefix of two token lists."""
    n = min(len(a), len(b))
    i = 0
    while i < n and a[i] == b[i]:
        i += 1
    return i


class RoleContext:
    """A llama.cpp context dedicated to one role (one adapter, one KV cache) on a possibly shared model."""

    def __init__(
        self,
        role: str,
        model: _internals.LlamaModel,
        n_ctx: int,
        options: EngineOptions,
        *,
        adapter: native.LoraAdapter | None = None,
        scale: float = 1.0,
    ) -> None:
        self.role = role
        self.model = model
        self.options = options
        self.ctx = native.new_context(model, n_ctx, options)
        self.n_ctx = self.ctx.n_ctx()
        self.n_batch = min(options.batch_size, self.n_ctx)
        self.adapter = adapter
        native.set_adapter(self.ctx, adapter, scale)
        self.batch = _internals.LlamaBatch(n_tokens=self.n_batch, embd=0, n_seq_max=1, verbose=options.verbose)
        self.tokens: list[int] = []

    # -- tokens -----------------------------------------------------------------------------------------------
    def tokenize(self, text: str) -> list[int]:
        return native.tokenize(self.model, text)

    def count_tokens(self, text: str) -> int:
        return len(self.tokenize(text))

    def reset(self) -> None:
        """Forget the cached prompt (the next call evaluates its whole prompt)."""
        self.ctx.kv_cache_clear()
        self.tokens = []

    # -- evaluation -------------------------------------------------------------------------------------------
    def _decode(self, toks: Sequence[int]) -> None:
        for start in range(0, len(toks), self.n_batch):
            chunk = toks[start : start + self.n_batch]
            self.batch.set_batch(chunk, n_past=len(self.tokens), logits_all=False)
            self.ctx.decode(self.batch)
            self.tokens.extend(chunk)

    def ingest(self, prompt: Sequence[int], cancel: threading.Event | None = None) -> tuple[int, int]:
        """Bring the KV cache to hold exactly ``prompt``; return (reused, evaluated) token counts."""
        if len(prompt) >= self.n_ctx:
            raise ContextOverflow(self.role, len(prompt), self.n_ctx)
        keep = common_prefix(self.tokens, prompt) if self.options.prefix_reuse else 0
        keep = min(keep, len(prompt) - 1)  # the last prompt token is always evaluated: it yields the logits
        if keep < len(self.tokens):
            if keep == 0 or not self.ctx.kv_cache_seq_rm(0, keep, -1):
                self.ctx.kv_cache_clear()
                keep = 0
            del self.tokens[keep:]
        todo = list(prompt[keep:])
        for start in range(0, len(todo), self.n_batch):
            if cancel is not None and cancel.is_set():
                break
            self._decode(todo[start : start + self.n_batch])
        return keep, len(self.tokens) - keep

    def _sampler(self, params: SamplingParams) -> _internals.LlamaSampler:
        smpl = _internals.LlamaSampler()
        if params.repeat_penalty != 1.0:
            smpl.add_penalties(self.model.n_vocab(), 64, params.repeat_penalty, 0.0, 0.0)
        if params.greedy:
            smpl.add_greedy()
        else:
            smpl.add_top_k(params.top_k)
            smpl.add_top_p(params.top_p, 1)
            smpl.add_min_p(params.min_p, 1)
            smpl.add_temp(params.temperature)
            smpl.add_dist(params.seed)
        return smpl

    def generate(
        self,
        prompt: str | Sequence[int],
        sampling: SamplingParams | None = None,
        *,
        stop: Sequence[str] = ("</s>",),
        stop_after: Sequence[str] = (),
        grammar: str | None = None,
        cancel: threading.Event | None = None,
        max_tokens: int | None = None,
    ) -> Generator[str, None, Generation]:
        """Stream the text of one generation; the generator's return value is the :class:`Generation`.

        Stops at a ``stop`` string (dropped), a ``stop_after`` string (kept), the model's end-of-generation token,
        ``max_tokens``, a full context, a degenerate loop (``EngineOptions.repeat_stop``), or when ``cancel`` is
        set (checked between tokens).
        """
        params = sampling or self.options.sampling_for(self.role)
        limit = max_tokens if max_tokens is not None else params.max_tokens
        if grammar is not None:
            validate_gbnf(self.model.vocab, grammar)  # an invalid grammar would crash llama.cpp
        smpl = self._sampler(params)
        constrained = GrammarSampler(self.model, smpl, grammar) if grammar is not None else None
        toks = self.tokenize(prompt) if isinstance(prompt, str) else list(prompt)
        t0 = time.perf_counter()
        reused, evaluated = self.ingest(toks, cancel)
        t1 = time.perf_counter()
        matcher = StopMatcher(stop, stop_after)
        loop = RepetitionGuard(self.options.repeat_stop)
        utf8 = codecs.getincrementaldecoder("utf-8")(errors="replace")
        reason, n_gen = "length", 0
        try:
            while True:
                if cancel is not None and cancel.is_set():
                    reason = "cancelled"
                    break
                if n_gen >= limit or len(self.tokens) >= self.n_ctx:
                    reason = "length"
                    break
                tok = constrained.sample(self.ctx) if constrained is not None else smpl.sample(self.ctx, -1)
                if native.is_eog(self.model, tok):
                    reason = "eos"
                    break
                n_gen += 1
                out = matcher.feed(utf8.decode(native.token_bytes(self.model, tok)))
                if out:
                    yield out
                if matcher.hit is not None:
                    reason = "stop"
                    break
                if loop.feed(tok):
                    reason = "repetition"
                    break
                self._decode([tok])
            if reason != "stop":  # release held-back text (also after a loop: the tokens so far are the output)
                tail = matcher.feed(utf8.decode(b"", final=True)) + matcher.flush()
                if tail:
                    yield tail
        finally:
            if constrained is not None:
                constrained.close()
            smpl.close()
        t2 = time.perf_counter()
        return Generation(
            role=self.role,
            text=matcher.text,
            stop_reason=reason,
            prompt_tokens=len(toks),
            prompt_evaluated=evaluated,
            prompt_reused=reused,
            generated_tokens=n_gen,
            prompt_seconds=t1 - t0,
            generate_seconds=t2 - t1,
            context_used=len(self.tokens),
            context_size=self.n_ctx,
            constrained=grammar is not None,
            grammar_rejections=constrained.rejected if constrained is not None else 0,
        )

    def continuation_logprobs(self, prompt: str, continuations: Sequence[str]) -> list[float]:
        """The log-probability of each of ``continuations`` right after ``prompt`` (the sum over its tokens).

        The prompt is evaluated once (with prefix reuse); each continuation is then decoded in one batch with the
        logits of every position, and cut from the KV cache again. A continuation is tokenized together with the
        prompt, and only the tokens after the prompt's are scored.
        """
        import numpy as np

        ptoks = self.tokenize(prompt)
        n_vocab = self.model.n_vocab()

        def logsoftmax(i: int) -> Any:
            row = np.ctypeslib.as_array(self.ctx.get_logits_ith(i), shape=(n_vocab,)).astype(np.float64)
            m = row.max()
            return row - m - np.log(np.exp(row - m).sum())

        firsts: dict[int, Any] = {}  # prompt tokens kept → the log-softmax after them (evaluated once)
        out: list[float] = []
        for text in continuations:
            full = self.tokenize(prompt + text)
            keep = max(1, common_prefix(ptoks, full))
            cont = full[keep:]
            if not cont:
                out.append(0.0)
                continue
            if len(self.tokens) != keep or keep not in firsts:  # the cache holds a prefix of the prompt: cut or extend
                self.ingest(ptoks[:keep])
            if keep not in firsts:
                firsts[keep] = logsoftmax(-1)
            total = float(firsts[keep][cont[0]])
            if len(cont) > 1:
                if len(self.tokens) + len(cont) - 1 >= self.n_ctx:
                    raise ContextOverflow(self.role, len(self.tokens) + len(cont), self.n_ctx)
                n_past = len(self.tokens)
                self.batch.set_batch(cont[:-1], n_past=n_past, logits_all=True)
                self.ctx.decode(self.batch)
                for j in range(1, len(cont)):
                    total += float(logsoftmax(j - 1)[cont[j]])
                self.ctx.kv_cache_seq_rm(0, n_past, -1)
            out.append(total)
        return out

    def logits(self, prompt: str) -> list[float]:
        """Next-token logits after ``prompt`` (for tests and diagnostics)."""
        toks = self.tokenize(prompt)
        self.ingest(toks)
        n_vocab = self.model.n_vocab()
        ptr = self.ctx.get_logits_ith(-1)
        return [ptr[i] for i in range(n_vocab)]

    def close(self) -> None:
        self.batch.close()
        self.ctx.close()
