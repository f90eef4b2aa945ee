"""Markdown reports of the evaluations: our row beside the paper's rows and the majority-plan baseline."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from umi_edge.eval.paper import COLUMNS, HEADERS, Split, paper_rows


def _fmt(v: float | None) -> str:
    return "—" if v is None else f"{v:.2f}"


PROTOCOL_TEXT = {
    "unconstrained": "unconstrained caller (the paper's protocol: Hallu. counts calls to tools the dialogue lacks)",
    "constrained": "caller grammar-constrained to the dialogue's tools, as at run time",
}


def _protocol_lines(summary: dict[str, Any]) -> list[str]:
    protocols = summary.get("protocols") or {}
    lines = [f"- caller protocol: {'; '.join(PROTOCOL_TEXT.get(p, p) for p in protocols)}"] if protocols else []
    for name, figures in protocols.items():
        if figures.get("caller_cut_steps"):
            lines.append(
                f"- {name}: calls cut by the caller's token budget (a cut name counts in Hallu.): "
                f"{figures['caller_cut_steps']}"
            )
        if figures.get("grammar_unavailable_steps"):
            lines.append(
                f"- {name}: calls made unconstrained because the dialogue's tools give no grammar: "
                f"{figures['grammar_unavailable_steps']}"
            )
    return lines


def _ours(summary: dict[str, Any], label: str) -> list[tuple[str, dict[str, Any]]]:
    """(row label, metrics) per caller protocol; the label is unchanged for a paper-protocol-only summary."""
    protocols = summary.get("protocols") or {"unconstrained": {"metrics": summary["metrics"]}}
    named = list(protocols) != ["unconstrained"]
    return [(f"{label}, {name} caller" if named else label, f["metrics"]) for name, f in protocols.items()]


def static_markdown(summary: dict[str, Any], *, split: Split, label: str) -> str:
    """The static report from :meth:`umi_edge.eval.static.StaticRun.to_json` plus a ``label`` for our row(s):
    one row per caller protocol of the run, named after it unless the run is the paper's unconstrained one only."""
    m = summary["metrics"]
    base = summary["majority_baseline"]
    split_name = "in-domain" if split == "in" else "out-of-domain"
    lines = [
        f"# Static evaluation: {Path(summary['file']).name}",
        "",
        f"- mode: {summary['mode']}-LLM; bundle: `{summary.get('engine', {}).get('bundle', '?')}`",
        *_protocol_lines(summary),
        f"- dialogues: {summary['dialogues']}; gold steps: {summary['steps']} "
        f"({m['call_steps']} call, {m['finish_steps']} finish, {m['give_up_steps']} give up)",
        f"- wall time: {summary['wall_seconds']:.1f} s"
        + (f" ({summary['seconds_per_step']:.2f} s per step)" if summary.get("seconds_per_step") else ""),
        f"- prompt tokens evaluated / reused from the KV cache: {summary['prompt_tokens']['evaluated']} / "
        f"{summary['prompt_tokens']['reused']}; generated tokens: {summary['generated_tokens']}",
    ]
    checks = summary.get("finish_checks")
    if checks:
        lines.append(
            f"- finish checks (`--finish-checks`, the runtime's rule): {checks['overruled']} conclusions became a "
            f"call or a give-up; the planner's own Plan ACC: {_fmt(checks['planner_plan_acc'])}"
        )
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
    ours = _ours(summary, label)
    lines += [f"| **{lab}** | " + " | ".join(f"**{_fmt(o[c])}**" for c in COLUMNS) + " |" for lab, o in ours]
    f = base["file"]
    lines.append("")
    for lab, o in ours:
        where = f" ({lab})" if len(ours) > 1 else ""
        lines.append(
            f"Arg. F1 easy (gold arguments `{{}}`) / hard{where}: {_fmt(o['arg_f1_easy'])} / {_fmt(o['arg_f1_hard'])}."
        )
    lines += [
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
    if summary.get("second"):
        lines.insert(
            3,
            f"- as the second question of a session: {s['succeeded']}/{s['tasks']}; the same tasks as first "
            f"questions: {s['first_succeeded']}/{s['tasks']} ({s['first_success_rate']:.1f}%); "
            f"second minus first: {s['second_minus_first']:+.1f} points",
        )
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
