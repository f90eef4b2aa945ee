"""Markdown reports of the evaluations: our row beside the paper's rows and the majority-plan baseline."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from umi_edge.eval.paper import COLUMNS, HEADERS, Split, paper_rows


def _fmt(v: float | None) -> str:
    return "—" if v is None else f"{v:.2f}"


def static_markdown(summary: dict[str, Any], *, split: Split, label: str) -> str:
    """The static report from :meth:`umi_edge.eval.static.StaticRun.to_json` plus a ``label`` for our row."""
    m = summary["metrics"]
    base = summary["majority_baseline"]
    split_name = "in-domain" if split == "in" else "out-of-domain"
    lines = [
        f"# Static evaluation: {Path(summary['file']).name}",
        "",
        f"- mode: {summary['mode']}-LLM; bundle: `{summary.get('engine', {}).get('bundle', '?')}`",
        f"- dialogues: {summary['dialogues']}; gold steps: {summary['steps']} "
        f"({m['call_steps']} call, {m['finish_steps']} finish, {m['give_up_steps']} give up)",
        f"- wall time: {summary['wall_seconds']:.1f} s"
        + (f" ({summary['seconds_per_step']:.2f} s per step)" if summary.get("seconds_per_step") else ""),
        f"- prompt tokens evaluated / reused from the KV cache: {summary['prompt_tokens']['evaluated']} / "
        f"{summary['prompt_tokens']['reused']}; generated tokens: {summary['generated_tokens']}",
    ]
    if summary.get("truncated_steps"):
        lines.append(f"- steps whose prompt was cut from the left to fit the context: {summary['truncated_steps']}")
    if summary.get("interrupted"):
        lines.append("- **interrupted**: the figures cover the steps done before Ctrl-C")
    lines += [
        "",
        f"Paper rows: ToolBench {split_name} test set (Shen et al. 2024, Table 2). Figures in percent.",
        "",
        "| model | " + " | ".join(HEADERS[c] for c in COLUMNS) + " |",
        "|---|" + "---|" * len(COLUMNS),
    ]
    for model, row in paper_rows(split).items():
        lines.append(f"| {model} (paper) | " + " | ".join(_fmt(row[c]) for c in COLUMNS) + " |")
    ev = base["evaluated"]
    maj = [_fmt(ev["plan_acc"])] + ["—"] * (len(COLUMNS) - 1)
    lines.append(f"| majority plan (always {ev['label']}) | " + " | ".join(maj) + " |")
    lines.append(f"| **{label}** | " + " | ".join(f"**{_fmt(m[c])}**" for c in COLUMNS) + " |")
    f = base["file"]
    lines += [
        "",
        f"Arg. F1 easy (gold arguments `{{}}`) / hard: {_fmt(m['arg_f1_easy'])} / {_fmt(m['arg_f1_hard'])}.",
        f"Majority-plan baseline over the whole file: {f['plan_acc']:.1f} (always {f['label']}, {f['steps']} steps).",
        "",
    ]
    return "\n".join(lines)


def tasks_markdown(summary: dict[str, Any], *, label: str) -> str:
    """The executable-task report from :meth:`umi_edge.eval.tasks.TaskRun.to_json`."""
    s = summary["summary"]
    lines = [
        f"# Task evaluation: {Path(summary['file']).name}",
        "",
        f"- {label}: {s['succeeded']}/{s['tasks']} tasks succeeded (**{s['success_rate']:.1f}%**)",
        f"- average steps: {s['avg_steps']:.2f}; tool calls: {s['tool_calls']}; tool errors: {s['tool_errors']}; "
        f"calls to unknown tools: {s['unknown_tool_calls']}",
        f"- give-ups: {s['gave_up']}; max-step hits: {s['max_steps_hit']}; agent errors: {s['agent_errors']}",
        f"- ungrounded answers (a number neither the request nor any observation holds): "
        f"{s.get('ungrounded_answers', '—')}",
        f"- latency per task: mean {s['mean_seconds']:.1f} s, median {s['median_seconds']:.1f} s, "
        f"max {s['max_seconds']:.1f} s; wall time {summary['wall_seconds']:.1f} s",
    ]
    if summary.get("interrupted"):
        lines.append("- **interrupted**: the figures cover the tasks done before Ctrl-C")
    lines += [
        "",
        "| task | result | steps | tool errors | unknown tools | seconds | answer |",
        "|---|---|---|---|---|---|---|",
    ]
    for t in summary["tasks"]:
        answer = (t["answer"] or "").replace("\n", " ").replace("|", "\\|")
        if len(answer) > 80:
            answer = answer[:77] + "..."
        lines.append(
            f"| {t['id']} | {t['outcome']} | {t['steps']} | {t['tool_errors']} | {t['unknown_tool_calls']} | "
            f"{t['seconds']:.1f} | {answer} |"
        )
    lines.append("")
    return "\n".join(lines)
