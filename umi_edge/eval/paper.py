"""The paper's ToolBench static results (Shen et al. 2024, Table 2), to print beside ours."""

from __future__ import annotations

from typing import Literal

Split = Literal["in", "out"]
COLUMNS = ("plan_acc", "action_em", "hallu", "arg_f1", "rouge_l")
HEADERS = {"plan_acc": "Plan ACC", "action_em": "Act. EM", "hallu": "Hallu.", "arg_f1": "Arg. F1", "rouge_l": "R-L"}

# model -> column -> (in-domain, out-of-domain), in percent.
PAPER_ROWS: dict[str, dict[str, tuple[float, float]]] = {
    "GPT-4 0-shot": {
        "plan_acc": (80.28, 77.80),
        "action_em": (55.52, 55.26),
        "hallu": (5.98, 5.12),
        "arg_f1": (48.74, 47.45),
        "rouge_l": (28.69, 30.61),
    },
    "Single-LLM 7B": {
        "plan_acc": (81.92, 84.61),
        "action_em": (53.26, 56.54),
        "hallu": (2.32, 2.26),
        "arg_f1": (45.57, 50.09),
        "rouge_l": (42.66, 47.99),
    },
    "α-UMi 7B": {
        "plan_acc": (88.92, 89.72),
        "action_em": (58.94, 60.47),
        "hallu": (0.57, 0.45),
        "arg_f1": (52.24, 53.60),
        "rouge_l": (43.17, 46.26),
    },
    "α-UMi 13B": {
        "plan_acc": (87.87, 88.73),
        "action_em": (63.03, 64.21),
        "hallu": (0.37, 0.24),
        "arg_f1": (57.65, 57.38),
        "rouge_l": (43.46, 42.50),
    },
}


def paper_rows(split: Split) -> dict[str, dict[str, float]]:
    """The paper's rows for the in-domain or out-of-domain test set."""
    i = 0 if split == "in" else 1
    return {model: {c: v[i] for c, v in cols.items()} for model, cols in PAPER_ROWS.items()}


def guess_split(file_name: str) -> Split:
    """``in`` for a file named like ``in_domain*.json``, else ``out``."""
    return "in" if "in_domain" in file_name and "out_of_domain" not in file_name else "out"
