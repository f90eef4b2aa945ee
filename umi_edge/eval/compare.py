"""``eval compare``: the same evaluation for several bundles, one table and one bar chart.

Each bundle is evaluated in its own mode: a single-mode bundle as the single LLM (backbone format), any other as
α-UMi's three roles. The typical set is the untrained base prompted with the α-UMi templates, the single-LLM model
and the three-role model, each from the same base and data. A ``NAME=RESULT.json`` entry takes a saved
``eval static --json`` / ``eval tasks --json`` result of the same file instead of a bundle, so evaluations can run
in parallel (or on other machines) and be tabled afterwards.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from umi_edge.errors import UserError
from umi_edge.eval.paper import COLUMNS, HEADERS

TASK_COLUMNS = ("success_rate", "avg_steps", "tool_errors", "unknown_tool_calls", "gave_up", "max_steps_hit")
TASK_HEADERS = {
    "success_rate": "success %",
    "avg_steps": "avg steps",
    "tool_errors": "tool errors",
    "unknown_tool_calls": "unknown tools",
    "gave_up": "give-ups",
    "max_steps_hit": "max-step hits",
}


def parse_bundles(spec: str) -> list[tuple[str, Path]]:
    """``"base=B0,single=B1,umi=B2"`` → ``[("base", Path("B0")), ...]``; one-line UserError on a bad spec."""
    out: list[tuple[str, Path]] = []
    for part in spec.split(","):
        name, sep, path = part.strip().partition("=")
        if not sep or not name.strip() or not path.strip():
            raise UserError(f"--bundles: expected NAME=BUNDLE[,NAME=BUNDLE...], got {part.strip()!r}")
        if any(name.strip() == n for n, _ in out):
            raise UserError(f"--bundles: the name {name.strip()!r} is used twice")
        out.append((name.strip(), Path(path.strip())))
    return out


def is_saved_result(path: Path) -> bool:
    """A ``NAME=...`` entry naming a saved ``--json`` result rather than a bundle directory."""
    return path.suffix == ".json" and path.is_file()


def saved_row(name: str, path: Path, file: Path, kind: str) -> dict[str, Any]:
    """The table row of a saved ``eval static --json`` / ``eval tasks --json`` result; checks it matches ``file``."""
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise UserError(f"{path}: not a readable JSON result of umi-edge eval ({e})") from None
    key = "metrics" if kind == "static" else "summary"
    if not isinstance(doc, dict) or key not in doc or "mode" not in doc or "wall_seconds" not in doc:
        raise UserError(f"{path}: expected the --json output of `umi-edge eval {kind}` (field {key!r} missing)")
    if Path(str(doc.get("file", ""))).name != file.name:
        raise UserError(f"{path}: field 'file': the result is of {doc.get('file')!r}, not {file.name!r}")
    return _row(name, path, doc, kind)


def _row(name: str, source: Path, doc: dict[str, Any], kind: str) -> dict[str, Any]:
    """A table row from an ``eval static/tasks`` JSON document (run here or saved); static rows carry the
    majority-plan accuracy of their steps under ``majority``."""
    if kind == "static":
        majority = ((doc.get("majority_baseline") or {}).get("evaluated") or {}).get("plan_acc")
        extra = {"metrics": doc["metrics"], "steps": doc.get("steps"), "majority": majority}
    else:
        extra = {"summary": doc["summary"]}
    return {"name": name, "bundle": str(source), "mode": doc["mode"], **extra, "wall_seconds": doc["wall_seconds"]}


def bundle_is_single(path: Path) -> bool:
    from umi_edge import bundle as bundle_mod

    manifest, _ = bundle_mod.load(path)
    return manifest.mode == "single"


def _fmt(v: Any) -> str:
    if v is None:
        return "—"
    return f"{v:.2f}" if isinstance(v, float) else str(v)


def compare_markdown(result: dict[str, Any]) -> str:
    """One table: a row per bundle (static metrics, or task figures)."""
    static = result["kind"] == "static"
    cols = COLUMNS if static else TASK_COLUMNS
    heads = HEADERS if static else TASK_HEADERS
    lines = [
        f"# Comparison ({result['kind']}): {Path(result['file']).name}",
        "",
        "| model | mode | " + " | ".join(heads[c] for c in cols) + " | wall s |",
        "|---|---|" + "---|" * (len(cols) + 1),
    ]
    for row in result["rows"]:
        vals = row["metrics"] if static else row["summary"]
        lines.append(
            f"| {row['name']} | {row['mode']} | "
            + " | ".join(_fmt(vals.get(c)) for c in cols)
            + f" | {row['wall_seconds']:.1f} |"
        )
    if static and result.get("majority_plan_acc") is not None:
        lines += ["", f"Majority-plan baseline on the evaluated steps: Plan ACC {result['majority_plan_acc']:.2f}."]
    if result.get("chart"):
        lines += ["", f"![comparison]({Path(result['chart']).name})"]
    lines.append("")
    return "\n".join(lines)


def bar_chart(result: dict[str, Any], path: Path) -> None:
    """A grouped bar chart (PNG) of the comparison; needs matplotlib."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise UserError("the PNG chart needs matplotlib: pip install matplotlib (or leave out --chart)") from None
    from umi_edge import atomic

    static = result["kind"] == "static"
    cols = COLUMNS if static else ("success_rate",)
    heads = HEADERS if static else TASK_HEADERS
    rows = result["rows"]
    width = 0.8 / max(1, len(rows))
    fig, ax = plt.subplots(figsize=(max(6, 1.6 * len(cols) + 2), 4))
    for i, row in enumerate(rows):
        vals = row["metrics"] if static else row["summary"]
        xs = [j + i * width for j in range(len(cols))]
        ax.bar(xs, [vals.get(c) or 0.0 for c in cols], width, label=f"{row['name']} ({row['mode']})")
    ax.set_xticks([j + width * (len(rows) - 1) / 2 for j in range(len(cols))])
    ax.set_xticklabels([heads[c] + (" (lower is better)" if c == "hallu" else "") for c in cols])
    ax.set_ylabel("percent")
    ax.set_title(f"{Path(result['file']).name}: {result['kind']} evaluation")
    ax.legend()
    fig.tight_layout()
    with atomic.atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=120)
    plt.close(fig)


def run_compare(
    file: Path,
    bundles: list[tuple[str, Path]],
    *,
    kind: str,
    engine_options: Any,
    static_kw: dict[str, Any] | None = None,
    tasks_kw: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Evaluate every bundle on ``file`` (``kind`` static or tasks); returns the comparison document."""
    from umi_edge.engine import Engine

    # validate every manifest / saved result first
    modes = [(name, path, None if is_saved_result(path) else bundle_is_single(path)) for name, path in bundles]
    saved = {name: saved_row(name, path, file, kind) for name, path, single in modes if single is None}
    rows: list[dict[str, Any]] = []
    majority = None
    for name, path, single in modes:
        if single is None:
            row = saved[name]
        else:
            with Engine.from_bundle(path, engine_options) as engine:
                if kind == "static":
                    from umi_edge.eval.static import run_static

                    doc = run_static(file, engine, single=single, **(static_kw or {})).to_json()
                else:
                    from umi_edge.eval.tasks import run_tasks

                    doc = run_tasks(file, engine, single=single, **(tasks_kw or {})).to_json()
            row = _row(name, path, doc, kind)
        if row.get("majority") is not None:
            majority = row["majority"]
        row.pop("majority", None)
        rows.append(row)
    return {"file": str(file), "kind": kind, "rows": rows, "majority_plan_acc": majority}
