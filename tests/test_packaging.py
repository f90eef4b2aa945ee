"""The package layout: every Python package is installed, the base install has no torch, the CLI starts."""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PYPROJECT = tomllib.loads((REPO / "pyproject.toml").read_text())


def _package_dirs() -> dict[str, Path]:
    mapping = PYPROJECT["tool"]["setuptools"]["package-dir"]
    found: dict[str, Path] = {}
    for pkg, folder in mapping.items():
        root = REPO / folder
        for init in root.rglob("__init__.py"):
            rel = init.parent.relative_to(root)
            name = ".".join((pkg, *rel.parts)) if rel.parts else pkg
            found[name] = init.parent
    return found


def test_every_package_is_listed() -> None:
    listed = set(PYPROJECT["tool"]["setuptools"]["packages"])
    on_disk = {n for n, p in _package_dirs().items() if not any(part.startswith(".") for part in p.parts)}
    assert on_disk - listed == set(), "add these to [tool.setuptools] packages"
    assert listed - on_disk == set(), "listed packages without an __init__.py"


def test_base_dependencies_have_no_torch() -> None:
    base = " ".join(PYPROJECT["project"]["dependencies"]).lower()
    for heavy in ("torch", "transformers", "peft", "accelerate"):
        assert heavy not in base
    assert any(d.startswith("torch") for d in PYPROJECT["project"]["optional-dependencies"]["train"])


def test_runtime_and_convert_import_without_torch() -> None:
    """Importing the runtime, the CLI (all commands) and convert must not load torch."""
    code = (
        "import sys, importlib, pkgutil\n"
        "import umi_edge, umi_edge.cli\n"
        "umi_edge.cli.build_parser()\n"
        "for m in pkgutil.walk_packages(umi_edge.__path__, 'umi_edge.'):\n"
        "    if m.name.startswith('umi_edge.train') or m.name.endswith('__main__'):\n"
        "        continue\n"
        "    importlib.import_module(m.name)\n"
        "assert 'torch' not in sys.modules, [k for k in sys.modules if k.startswith('torch')][:3]\n"
        "assert 'transformers' not in sys.modules\n"
        "print('ok')\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip().endswith("ok")


def test_cli_help_lists_commands() -> None:
    """``umi-edge --help`` lists exactly the commands of the README's command table, in its order."""
    out = subprocess.run([sys.executable, "-m", "umi_edge", "--help"], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0 and out.stdout.startswith("usage: umi-edge")
    documented = re.findall(r"^\| `umi-edge ([a-z][\w-]*)", (REPO / "README.md").read_text(), re.MULTILINE)
    listed = re.findall(r"^    ([a-z][\w-]*)\s", out.stdout.split("positional arguments:", 1)[1], re.MULTILINE)
    assert {"chat", "run", "train", "convert", "tools"} <= set(documented)
    assert listed == documented


def test_readme_test_command_is_ci() -> None:
    readme = (REPO / "README.md").read_text()
    ci = (REPO / ".ci" / "run").read_text()
    test_cmd = ci.strip().splitlines()[-1]
    assert test_cmd in readme
