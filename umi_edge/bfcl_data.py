"""The BFCL data of the installed ``bfcl-eval`` package, read by category, and the train/test rule.

Install it without its dependencies (``pip install --no-deps bfcl-eval==2026.3.23``): it pins numpy and pulls about
thirty provider SDKs. Nothing here needs them. The files are read with :mod:`importlib.resources` from
``bfcl_eval/data/`` (``BFCL_v4_<category>.json``, JSON Lines) and ``possible_answer/``; the category names come from
``bfcl_eval.constants.category_mapping`` (plain constants). We do not call ``bfcl_eval.utils.load_dataset_entry``:
importing ``bfcl_eval.utils`` imports ``bfcl_eval.constants.eval_config``, which creates ``result/``, ``score/`` and
``.file_locks/`` directories beside the installed package and takes file locks for every read, and its loader
appends a "Python 3 syntax" note to every description. For the AST categories the data file is all it reads.

**Train/test rule**: only :data:`umi_edge.formats.bfcl.LIVE_CATEGORIES` may be imported for training
(:func:`check_importable`); every other category is a test set, like ToolBench's out_of_domain.json.
"""

from __future__ import annotations

import importlib.resources
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from umi_edge import jsonl
from umi_edge.errors import UserError
from umi_edge.formats.bfcl import LIVE_CATEGORIES

INSTALL_HINT = "pip install --no-deps bfcl-eval==2026.3.23 (see the README: never with its dependencies)"
EXTRA_TEST_NAMES = ("memory", "web_search", "format_sensitivity")
"""Data-file names that are not category names in ``category_mapping`` (it has ``memory_kv``, ...)."""


@dataclass(frozen=True)
class Entry:
    """One BFCL entry with its ground-truth line (None where the category has no answer file) and location."""

    category: str
    line: int
    entry: dict[str, Any]
    answer: dict[str, Any] | None
    source: str

    @property
    def id(self) -> str:
        return str(self.entry.get("id"))


def _package() -> Any:
    try:
        return importlib.resources.files("bfcl_eval")
    except ModuleNotFoundError:
        raise UserError(f"the bfcl-eval package is not installed: {INSTALL_HINT}") from None


def category_mapping() -> Any:
    """``bfcl_eval.constants.category_mapping`` (UserError when bfcl-eval is not installed)."""
    _package()
    from bfcl_eval.constants import category_mapping  # plain constants, no SDK imports

    return category_mapping


def prefix() -> str:
    return str(category_mapping().VERSION_PREFIX)


def known_categories() -> set[str]:
    """Every category name BFCL knows, plus the data-file names of the agentic and format sets."""
    m = category_mapping()
    return set(m.ALL_CATEGORIES) | set(EXTRA_TEST_NAMES)


def check_importable(categories: Iterable[str]) -> list[str]:
    """The categories, if each is a live one; a test set or an unknown name is a UserError."""
    out = []
    known = known_categories()
    live = ", ".join(LIVE_CATEGORIES)
    for c in categories:
        if c in LIVE_CATEGORIES:
            out.append(c)
        elif c in known or any(c.startswith(t) for t in ("multi_turn_", "memory_", "web_search_")):
            raise UserError(
                f"{c}: a BFCL test set, never trained or tuned on; import-bfcl takes only the live categories ({live})"
            )
        else:
            raise UserError(f"{c}: unknown BFCL category (the live categories are {live})")
    return list(dict.fromkeys(out))


def _read(path: Any, source: str) -> list[tuple[int, Any]]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise UserError(f"{source}: not in the installed bfcl-eval package ({INSTALL_HINT})") from None
    return list(jsonl.records(text, source))


def load(category: str) -> list[Entry]:
    """The entries of one category, each with its ground truth (matched by id)."""
    data = _package() / "data"
    name = f"{prefix()}_{category}.json"
    source = f"bfcl_eval/data/{name}"
    entries = _read(data / name, source)
    answers: dict[str, dict[str, Any]] = {}
    answer_file = data / "possible_answer" / name
    if answer_file.is_file():
        for line, rec in _read(answer_file, f"bfcl_eval/data/possible_answer/{name}"):
            if not isinstance(rec, dict) or not isinstance(rec.get("id"), str):
                raise UserError(f"bfcl_eval/data/possible_answer/{name}:{line}: field 'id': expected a string")
            answers[rec["id"]] = rec
    out = []
    for line, rec in entries:
        if not isinstance(rec, dict) or not isinstance(rec.get("id"), str):
            raise UserError(f"{source}:{line}: field 'id': expected a string")
        out.append(Entry(category, line, rec, answers.get(rec["id"]), source))
    return out
