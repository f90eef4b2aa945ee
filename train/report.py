"""``RUN/train_report.json``, ``RUN/train_report.md`` and the loss-curve PNG (matplotlib, headless)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from umi_edge import atomic

REPORT_JSON = "train_report.json"
REPORT_MD = "train_report.md"
LOSS_PNG = "loss_curve.png"


def load(run: Path) -> dict[str, Any]:
    p = run / REPORT_JSON
    if p.is_file():
        return json.loads(p.read_text(encoding="utf-8"))
    return {"stages": {}}


def save(run: Path, report: dict[str, Any]) -> None:
    """Write the JSON report, the loss-curve PNG and the markdown summary (each atomically)."""
    atomic.write_json(run / REPORT_JSON, report)
    plot(run, report)
    atomic.write_text(run / REPORT_MD, markdown(report))


def plot(run: Path, report: dict[str, Any]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 4.5), dpi=100)
    for name, st in report.get("stages", {}).items():
        curve = st.get("loss_curve") or []
        if curve:
            ax.plot([p[0] for p in curve], [p[1] for p in curve], label=f"{name} (train)", linewidth=1.2)
        if st.get("eval_loss") is not None and curve:
            ax.scatter([curve[-1][0]], [st["eval_loss"]], marker="x", s=50, label=f"{name} (eval)")
    ax.set_xlabel("optimizer step (per stage)")
    ax.set_ylabel("loss (target tokens + EOS)")
    ax.set_title(f"umi-edge train: {report.get('method', '')} on {Path(str(report.get('base', ''))).name}")
    ax.grid(alpha=0.3)
    if ax.lines or ax.collections:
        ax.legend(fontsize=8)
    with atomic.atomic_path(run / LOSS_PNG) as tmp:
        fig.savefig(tmp, format="png")
    plt.close(fig)


def _fmt(v: Any) -> str:
    if v is None:
        return "–"
    if isinstance(v, float):
        return f"{v:.4g}"
    return str(v)


def markdown(report: dict[str, Any]) -> str:
    cols = [
        ("steps", "steps"),
        ("samples", "samples"),
        ("eval_samples", "eval samples"),
        ("target_tokens", "target tokens"),
        ("processed_tokens", "processed tokens"),
        ("padding_ratio", "padding"),
        ("first_loss", "first loss"),
        ("last_loss", "last loss"),
        ("eval_loss", "eval loss"),
        ("wall_seconds", "wall s"),
        ("tokens_per_second", "tokens/s"),
    ]
    lines = [
        "# umi-edge training report",
        "",
        f"- base: `{report.get('base')}` ({report.get('base_kind')}); method: {report.get('method')}; "
        f"device: {report.get('device')}; bf16: {report.get('bf16')}",
        f"- role adapters apply to: {report.get('adapters_apply_to', '–')}",
        "",
        "| stage | " + " | ".join(c[1] for c in cols) + " |",
        "|---|" + "---|" * len(cols),
    ]
    for name, st in report.get("stages", {}).items():
        lines.append(f"| {name} | " + " | ".join(_fmt(st.get(c[0])) for c in cols) + " |")
    lines += ["", f"![loss curve]({LOSS_PNG})", ""]
    cut = {n: (st.get("prompt_cut"), st.get("target_cut")) for n, st in report.get("stages", {}).items()}
    if any(a or b for a, b in cut.values()):
        lines.append("Samples cut to max length (prompt cut from the left / target cut at the end):")
        lines += [f"- {n}: {a} / {b}" for n, (a, b) in cut.items()]
        lines.append("")
    return "\n".join(lines)
