"""``convert_run``: a training run (or role models, or one model) → a bundle directory the runtime loads.

The bundle is assembled in a temporary sibling directory and renamed into place only when complete, with
``umi.json`` written last: an interrupted or failed conversion never leaves a loadable half bundle.
"""

from __future__ import annotations

import dataclasses
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

from umi_edge import atomic, bundle
from umi_edge.engine import derive
from umi_edge.engine.quantize import check_quant, quantize
from umi_edge.errors import UserError
from umi_edge.formats.prompts import Style

from .gguf_model import write_model
from .lora import LoraAdapter, merged_transform, write_adapter
from .run import Run, read_run, resolved_base
from .source import BaseModel, GgufModel

MODES = ("adapters", "merged")


@dataclass(frozen=True)
class ConvertOptions:
    """How :func:`convert_run` builds a bundle.

    ``mode``: ``"adapters"`` (one base GGUF + a LoRA GGUF per role; the default when the roles are adapters) or
    ``"merged"`` (one full GGUF per role; the default for full role models). ``single`` converts the stage-1
    backbone only. ``quant``: f16, q8_0, q4_k_m, q5_k_m or q6_k, or ``keep`` (adapters mode on a GGUF base: the
    base file is used as it is, referenced inside its installed package when it comes from one, e.g. SmolLM2).
    ``base`` / ``vocab_gguf``: a base model, and a GGUF whose vocabulary is copied, instead of the run's.
    ``prompt_style`` / ``context_length``: recorded in ``umi.json`` (default: the run's style; at least 4096 tokens,
    capped by the base's window). ``global_under_roles``: the role adapters were trained on the base with
    ``global/`` merged in (not the layout ``umi-edge train`` writes, where every adapter applies to the unchanged
    base). ``verify`` adds logits and tokenization checks on ``verify_samples`` prompts against transformers + PEFT
    (needs torch) to ``convert_report.md``. ``derive_base`` (``f16`` or ``q8_0``, with ``quant="keep"``): the
    runtime loads a copy of the kept base re-quantized to that type, made once into the user's cache
    (:mod:`umi_edge.engine.derive`); the copy is made here too and its SHA-256 recorded.
    """

    quant: str = "q4_k_m"
    mode: str | None = None
    single: bool = False
    verify: bool = False
    base: str | Path | None = None
    vocab_gguf: str | Path | None = None
    prompt_style: str | None = None
    context_length: int | None = None
    threads: int | None = None
    progress: bool = True
    verify_samples: int = 4
    global_under_roles: bool = False
    derive_base: str | None = None


@dataclass
class ConvertReport:
    """What :func:`convert_run` wrote: the bundle, its manifest, seconds per step, and the verification figures
    (``ok``, ``roles``, ``parity``, report lines under ``markdown``; empty without ``verify``)."""

    bundle_dir: Path
    manifest: bundle.Manifest
    timings: dict[str, float]
    verification: dict[str, Any] = field(default_factory=dict)


def _check_out(out_dir: Path, run_dir: Path) -> None:
    if out_dir.exists():
        if not out_dir.is_dir():
            raise UserError(f"{out_dir}: exists and is not a directory")
        if any(out_dir.iterdir()) and not (out_dir / bundle.MANIFEST).exists():
            raise UserError(f"{out_dir}: exists, is not empty and is not a bundle; refusing to replace it")
    if out_dir.resolve() == run_dir.resolve() or run_dir.resolve() in out_dir.resolve().parents:
        raise UserError(f"{out_dir}: the bundle must not be inside the run directory")


class _Builder:
    def __init__(self, run: Run, tmp: Path, work: Path, options: ConvertOptions) -> None:
        self.run, self.tmp, self.work, self.quant = run, tmp, work, options.quant
        self.threads, self.progress, self.verify = options.threads, options.progress, options.verify
        self.f16: dict[str, Path] = {}  # label → F16 file in the work dir (for verification)
        self.files: dict[str, Path] = {}  # label → final file in the bundle
        self.timings: dict[str, float] = {}
        self.details: dict[str, Any] = {}

    def model(self, label: str, base: BaseModel, adapters: list[LoraAdapter], requant_name: str) -> Path:
        """Write base (+ merged adapters) as F16, then quantize into the bundle; returns the bundle file.

        With ``quant="keep"`` (a GGUF base, nothing merged) the base file itself is returned, untouched; the F16
        copy is then written only for verification.
        """
        t0 = time.perf_counter()
        f16 = self.work / f"{label}.f16.gguf"
        transform = merged_transform(adapters, base.names) if adapters else None
        if self.quant == "keep":
            if adapters or base.kind != "gguf":
                raise UserError(
                    f"--quant keep: only a GGUF base with nothing merged into it can be kept ({label} is not)"
                )
            if self.verify:
                write_model(f16, base, outtype="f16", progress=self.progress)
                self.f16[label] = f16
            self.files[label] = base.path
            self.timings[label] = time.perf_counter() - t0
            return base.path
        self.details[label] = write_model(f16, base, outtype="f16", transform=transform, progress=self.progress)
        self.f16[label] = f16
        final = self.tmp / f"{requant_name}.{self.quant}.gguf"
        if self.quant == "f16":
            shutil.copyfile(f16, final)
        else:
            quantize(f16, final, self.quant, threads=self.threads)
        self.files[label] = final
        self.timings[label] = time.perf_counter() - t0
        return final

    def adapter(self, label: str, adapter: LoraAdapter, base: BaseModel) -> Path:
        t0 = time.perf_counter()
        final = self.tmp / f"{label}.lora.gguf"
        self.details[label] = write_adapter(final, adapter, base.hp)
        self.files[label] = final
        self.timings[label] = time.perf_counter() - t0
        return final


def _ref(path: Path, bundle_dir: Path) -> bundle.FileRef:
    """A reference to ``path``, a file inside ``bundle_dir``, by its path relative to the bundle."""
    return bundle.FileRef(path=path.relative_to(bundle_dir).as_posix(), sha256=bundle.sha256_file(path))


def _kept_base_ref(run: Run, tmp: Path) -> tuple[bundle.FileRef, str]:
    """Reference a kept GGUF base: inside its installed package when it lives in one, else copied into the bundle.

    Returns the reference and the base's own quantization name (e.g. ``q4_1``).
    """
    import gguf

    if not isinstance(run.base, GgufModel):
        raise UserError(f"{run.base_path}: --quant keep needs a GGUF base, got a {run.base.kind} model")
    ft = run.base.reader.get_field("general.file_type")
    qname = gguf.LlamaFileType(int(ft.contents())).name.removeprefix("MOSTLY_").lower() if ft else "unknown"
    resolved = resolved_base(run.config)
    pkg, file = resolved.get("package"), resolved.get("file")
    if pkg and file and bundle.package_file(pkg, file).resolve() == run.base_path.resolve():
        return bundle.FileRef(package=pkg, file=file, sha256=bundle.sha256_file(run.base_path)), qname
    dst = tmp / f"base.{qname}.gguf"
    shutil.copyfile(run.base_path, dst)
    return _ref(dst, tmp), qname


def convert_run(run_dir: str | Path, out_dir: str | Path, options: ConvertOptions | None = None) -> ConvertReport:
    """Convert ``run_dir`` into the bundle ``out_dir`` as ``options`` say (see :class:`ConvertOptions`).

    Bad input raises UserError and leaves no bundle behind.
    """
    t_start = time.perf_counter()
    opts = options or ConvertOptions()
    quant = "keep" if opts.quant.lower() == "keep" else check_quant(opts.quant)
    if opts.mode is not None and opts.mode not in MODES:
        raise UserError(f"--mode: expected 'adapters' or 'merged', got {opts.mode!r}")
    run_dir, out_dir = Path(run_dir), Path(out_dir)
    _check_out(out_dir, run_dir)
    run = read_run(
        run_dir,
        single=opts.single,
        base=Path(opts.base) if opts.base else None,
        vocab_gguf=Path(opts.vocab_gguf) if opts.vocab_gguf else None,
        global_under_roles=opts.global_under_roles,
    )
    mode = opts.mode
    if mode is None:
        mode = "adapters" if run.adapters_only and run.kind == "run" else "merged"
    if mode == "adapters" and not run.adapters_only:
        raise UserError(f"{run_dir}: the roles are full models, not LoRA adapters; use --mode merged")
    if quant == "keep" and mode != "adapters":
        raise UserError("--quant keep: keeping the base GGUF as it is needs adapters mode")
    if opts.derive_base is not None:
        if quant != "keep":
            raise UserError("--derive-base: needs --quant keep (a base referenced as it is, re-quantized at run time)")
        if opts.derive_base not in bundle.DERIVE_TYPES:
            raise UserError(
                f"--derive-base: expected one of {', '.join(bundle.DERIVE_TYPES)}, got {opts.derive_base!r}"
            )
    config_style = run.config.get("prompt_style") or run.config.get("style") or "toolbench"
    style = opts.prompt_style or str(config_style).lower()
    if style not in bundle.PROMPT_STYLES:
        raise UserError(f"{run_dir}: prompt style {style!r}: expected one of {bundle.PROMPT_STYLES}")
    # Room for every tool doc and a few steps of history: the runtime prompt (all registered tools) is longer than
    # the training samples (a few tools each), so the default is at least 4096, capped by the base's window.
    trained = run.config.get("max_length")
    ctx = opts.context_length or min(run.base.hp.context_length, max(trained if isinstance(trained, int) else 0, 4096))
    if ctx < 256:
        raise UserError(f"--context-length: expected an integer >= 256, got {ctx}")
    resolved = dataclasses.replace(opts, quant=quant, mode=mode, prompt_style=style, context_length=ctx)
    work_parent = Path(tempfile.mkdtemp(prefix="umi-convert-"))
    try:
        return _build(run, out_dir, work_parent, resolved, t_start)
    except OSError as exc:  # disk full, file size limit, permissions: nothing half-written is left behind
        raise UserError(f"{out_dir}: writing the bundle failed: {exc.strerror or exc}") from None
    finally:
        shutil.rmtree(work_parent, ignore_errors=True)


def _build(run: Run, out_dir: Path, work_parent: Path, opts: ConvertOptions, t_start: float) -> ConvertReport:
    """Write the bundle; ``opts`` is resolved (``mode``, ``prompt_style`` and ``context_length`` set and checked)."""
    from .report import write_report

    assert opts.mode is not None and opts.prompt_style is not None and opts.context_length is not None
    mode, quant, derive_base = opts.mode, opts.quant, opts.derive_base
    with atomic.atomic_dir(out_dir) as tmp:
        b = _Builder(run, tmp, work_parent, opts)
        roles: dict[str, bundle.RoleSpec] = {}
        base_ref = None
        if mode == "adapters":
            under = [run.global_adapter] if run.global_adapter is not None else []
            base_file = b.model("base", run.base, under, "base")
            if quant == "keep":
                base_ref, quant = _kept_base_ref(run, tmp)
                if derive_base is not None:
                    t0 = time.perf_counter()
                    base_ref.derive = derive_base
                    copy = derive.model_file(base_ref, tmp, threads=opts.threads, verified=True)
                    base_ref.derived_sha256 = bundle.sha256_file(copy)
                    b.timings[f"base (derived {derive_base})"] = time.perf_counter() - t0
                    quant = derive_base
            else:
                base_ref = _ref(base_file, tmp)
            for role, src in run.roles.items():
                assert isinstance(src, LoraAdapter)
                roles[role] = bundle.RoleSpec(adapter=_ref(b.adapter(role, src, run.base), tmp), scale=1.0)
        else:
            for role, src in run.roles.items():
                if isinstance(src, LoraAdapter):
                    under = [run.global_adapter] if run.global_adapter is not None else []
                    f = b.model(role, run.base, [*under, src], role)
                else:
                    f = b.model(role, src, [], role)
                roles[role] = bundle.RoleSpec(model=_ref(f, tmp))
        manifest = bundle.Manifest(
            mode="single" if (opts.single or run.kind == "model") else cast(bundle.Mode, mode),
            roles=roles,
            base=base_ref,
            quantization=quant,
            prompt_style=cast(Style, opts.prompt_style),
            context_length=opts.context_length,
            run=_run_info(run, mode),
        )
        results: dict[str, Any] = {}
        if opts.verify:
            from .verify import verify_bundle

            results = verify_bundle(run, b, manifest, samples=opts.verify_samples, threads=opts.threads)
        b.timings["total"] = time.perf_counter() - t_start
        write_report(tmp / "convert_report.md", run, b, manifest, mode, results)
        bundle.save(manifest, tmp)  # last
        for f in tmp.iterdir():
            f.chmod(0o644)
        tmp.chmod(0o755)
    return ConvertReport(out_dir, manifest, b.timings, results)


def _run_info(run: Run, mode: str) -> dict[str, Any]:
    info: dict[str, Any] = {
        "path": str(run.path.resolve()),
        "kind": run.kind,
        "convert_mode": mode,
        "base": str(run.base_path.resolve()),
        "architecture": run.base.hp.arch,
    }
    if run.base_path.is_file():
        info["base_sha256"] = bundle.sha256_file(run.base_path)
    if run.global_adapter is not None:
        info["global_adapter"] = str(run.global_adapter.path.resolve())
    if run.config:
        info["config"] = {k: v for k, v in run.config.items() if isinstance(v, (str, int, float, bool))}
    return info
