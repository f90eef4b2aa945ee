"""Grammar-constrained sampling that costs almost nothing when the model already follows the grammar.

llama.cpp's own strategy (common/sampling.cpp), which the low-level Python API does not expose: sample from the
unconstrained chain, check only that one token against the grammar; when the grammar rejects it, apply the grammar
to the whole vocabulary and sample again.  A trained Caller nearly always writes what the grammar allows, so the
full-vocabulary grammar pass (several ms per token on a 49k vocabulary) is rarely paid.
"""

from __future__ import annotations

import ctypes
import math

import llama_cpp
import numpy as np
from llama_cpp import _internals


class GrammarSampler:
    """Wraps an unconstrained sampler chain with a (validated) GBNF grammar."""

    def __init__(self, model: _internals.LlamaModel, chain: _internals.LlamaSampler, gbnf: str) -> None:
        ptr = llama_cpp.llama_sampler_init_grammar(model.vocab, gbnf.encode("utf-8"), b"root")
        if not ptr:
            raise ValueError("invalid grammar (validate it with umi_edge.engine.grammar.validate_gbnf first)")
        self.grammar = ptr
        self.chain = chain
        self.n_vocab = model.n_vocab()
        self._full = _internals.LlamaTokenDataArray(n_vocab=self.n_vocab)
        self._one = (llama_cpp.llama_token_data * 1)()
        self._one_arr = llama_cpp.llama_token_data_array(
            data=ctypes.cast(self._one, llama_cpp.llama_token_data_p), size=1, selected=-1, sorted=False
        )
        self.checked = 0
        self.rejected = 0

    def _allowed(self, token: int) -> bool:
        one = self._one[0]
        one.id, one.logit, one.p = token, 0.0, 0.0  # type: ignore[assignment]  # ctypes fields take plain values
        self._one_arr.size = 1
        self._one_arr.selected = -1
        llama_cpp.llama_sampler_apply(self.grammar, ctypes.byref(self._one_arr))
        return not math.isinf(self._one[0].logit)

    def sample(self, ctx: _internals.LlamaContext) -> int:
        """The next token: the chain's choice when the grammar allows it, else the best allowed one."""
        token = llama_cpp.llama_sampler_sample(self.chain.sampler, ctx.ctx, -1)
        self.checked += 1
        if not self._allowed(token):
            self.rejected += 1
            logits = np.ctypeslib.as_array(llama_cpp.llama_get_logits_ith(ctx.ctx, -1), shape=(self.n_vocab,))
            self._full.copy_logits(logits)
            arr = ctypes.byref(self._full.candidates)
            llama_cpp.llama_sampler_apply(self.grammar, arr)
            llama_cpp.llama_sampler_apply(self.chain.sampler, arr)
            token = int(self._full.candidates_data.id[self._full.candidates.selected])
        llama_cpp.llama_sampler_accept(self.grammar, token)
        return token

    def close(self) -> None:
        if self.grammar:
            llama_cpp.llama_sampler_free(self.grammar)
            self.grammar = None
