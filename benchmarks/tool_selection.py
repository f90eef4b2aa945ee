"""Tool selection: prompt tokens per agent step with 59 tools (the 9 built-ins + tools50.py) vs the 9 built-ins.

Loads a bundle once (default: the shipped models/, its real tokenizer and contexts) and, for each request:

- the tools the agent offers for the request (``offer_tools``, as ``Agent.run`` does), with each tool set;
- the planner and caller prompts of steps 1..``--steps`` of a fixed episode (the same turns for both tool sets:
  the request, then per step a planner thought, a call and an observation), counted with the role's tokenizer;
  a step's prompt tokens are its planner's plus its caller's;
- with ``--agent-runs N``, also real agent runs of the first N requests with both tool sets (``--agent-steps``
  steps, outputs capped at ``--tokens``): the prompt tokens of each step from the runs' Timing events.

Prints per-step figures and the ratios (59 tools / built-ins): the mean over all steps and the largest single one.
Target: at most 1.5.

    python benchmarks/tool_selection.py [--bundle models] [--steps 4] [--agent-runs 0] [-o FILE]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import threading
from pathlib import Path
from typing import Any

from umi_edge import bundle
from umi_edge.agent import Agent, AgentConfig
from umi_edge.agent import events as ev
from umi_edge.agent.selection import doc_roles, offer_tools
from umi_edge.agent.state import RunState
from umi_edge.engine import Engine, EngineOptions
from umi_edge.formats.history import serialize_history
from umi_edge.formats.prompts import build_input, model_prompt
from umi_edge.tools.loading import default_registry
from umi_edge.tools.registry import ToolRegistry, builtin_registry

TOOLS50 = Path(__file__).resolve().parent / "tools50.py"
REQUESTS = [
    "What is 17.5% of 2340?",
    "Read notes.txt and tell me how many lines it has.",
    "Convert 26.2 miles to kilometers.",
    "What day of the week is 2025-12-25?",
    "What's the weather like in Paris today?",
    "Send an email to Bob saying the meeting moved to 3 pm.",
    "Find me a flight from London to Tokyo on 2025-05-01.",
    "Is 7919 a prime number?",
    "What is the monthly payment on a 250000 loan at 4.5% over 30 years?",
    "Translate 'good morning' into French.",
]
THOUGHT = "I should call a tool for the next part of the request.\n Next: caller."
CALL = 'Action: calculator\nAction Input: {"expression": "2340 * 17.5 / 100"}'
OBSERVATION = '{"expression": "2340 * 17.5 / 100", "result": 409.5}'


def _offered(engine: Engine, registry: ToolRegistry, query: str) -> tuple[RunState, ev.ToolsSelected | None]:
    state = RunState(engine, registry, AgentConfig(), Path.cwd(), threading.Event())
    state.add_turn("user", query)
    events = list(offer_tools(state, query, doc_roles(False)))
    return state, next((e for e in events if isinstance(e, ev.ToolsSelected)), None)


def step_prompt_tokens(engine: Engine, registry: ToolRegistry, query: str, steps: int) -> dict[str, Any]:
    """Planner + caller prompt tokens of each step of the fixed episode, with the tools offered for ``query``."""
    state, sel = _offered(engine, registry, query)
    doc, names = state.doc_text, state.names_text
    turns: list[dict[str, str]] = [{"from": "user", "value": query}]
    per_step = []
    for _ in range(steps):
        history = serialize_history(turns)
        planner = build_input("planner", doc=doc, history=history, tool_names=names, style=state.style)
        history = serialize_history([*turns, {"from": "assistant", "value": THOUGHT}])
        caller = build_input("caller", doc=doc, history=history, tool_names=names, thought=THOUGHT, style=state.style)
        n = engine.count_tokens("planner", model_prompt(planner)) + engine.count_tokens("caller", model_prompt(caller))
        per_step.append(n)
        turns += [
            {"from": f, "value": v} for f, v in (("assistant", THOUGHT), ("caller", CALL), ("observation", OBSERVATION))
        ]
    return {"k": len(state.registry), "total": len(registry), "tokens_per_step": per_step, "reason": sel and sel.reason}


def agent_prompt_tokens(engine: Engine, registry: ToolRegistry, query: str, steps: int, tokens: int) -> list[int]:
    """Prompt tokens (all roles) of each step of a real agent run."""
    cfg = AgentConfig(max_steps=steps, max_new_tokens=dict.fromkeys(AgentConfig().max_new_tokens, tokens))
    per_step: dict[int, int] = {}
    with tempfile.TemporaryDirectory(prefix="umi-bench-ws-") as ws:
        for e in Agent(engine, registry, workspace=ws, config=cfg, approve=lambda _call: True).run(query):
            if isinstance(e, ev.Timing):
                per_step[e.step] = per_step.get(e.step, 0) + e.prompt_tokens
    return [per_step[s] for s in sorted(per_step)]


def _ratios(many: list[list[int]], few: list[list[int]]) -> dict[str, float]:
    pairs = [(m, f) for ms, fs in zip(many, few, strict=True) for m, f in zip(ms, fs, strict=False)]
    return {
        "mean_tokens_per_step_59": round(sum(m for m, _ in pairs) / len(pairs), 1),
        "mean_tokens_per_step_9": round(sum(f for _, f in pairs) / len(pairs), 1),
        "ratio_of_means": round(sum(m for m, _ in pairs) / sum(f for _, f in pairs), 3),
        "largest_step_ratio": round(max(m / f for m, f in pairs), 3),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--bundle", default=str(bundle.default_bundle_dir()))
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--steps", type=int, default=4, help="steps of the fixed episode (4)")
    ap.add_argument("--agent-runs", type=int, default=0, help="requests to also run with the real agent (0)")
    ap.add_argument("--agent-steps", type=int, default=2, help="steps of each real agent run (2)")
    ap.add_argument("--tokens", type=int, default=32, help="output cap per role in the real runs (32)")
    ap.add_argument("-o", "--output")
    args = ap.parse_args()
    few, many = builtin_registry(), default_registry([TOOLS50], entry_points=False)
    res: dict[str, Any] = {"bundle": args.bundle, "tools": {"few": len(few), "many": len(many)}, "requests": []}
    with Engine.from_bundle(Path(args.bundle), EngineOptions(threads=args.threads)) as engine:
        res["context"] = {r: engine.context_size(r) for r in ("planner", "caller")}
        for q in REQUESTS:
            a, b = step_prompt_tokens(engine, many, q, args.steps), step_prompt_tokens(engine, few, q, args.steps)
            res["requests"].append({"request": q, "many": a, "few": b})
        rows = res["requests"]
        res["episode"] = _ratios(
            [r["many"]["tokens_per_step"] for r in rows], [r["few"]["tokens_per_step"] for r in rows]
        )
        if args.agent_runs:
            runs = [
                (agent_prompt_tokens(engine, many, q, args.agent_steps, args.tokens),
                 agent_prompt_tokens(engine, few, q, args.agent_steps, args.tokens))
                for q in REQUESTS[: args.agent_runs]
            ]  # fmt: skip
            res["agent_runs"] = {"per_request": runs, **_ratios([m for m, _ in runs], [f for _, f in runs])}
    for r in rows:
        print(f"{r['many']['k']:>2} of {r['many']['total']} tools  {r['many']['tokens_per_step']} vs "
              f"{r['few']['tokens_per_step']} (9 built-ins)  {r['request']}")  # fmt: skip
    print(f"fixed episode, {args.steps} steps: {json.dumps(res['episode'])}")
    if "agent_runs" in res:
        print(f"real agent runs: {json.dumps(res['agent_runs'])}")
    if args.output:
        Path(args.output).write_text(json.dumps(res, indent=2) + "\n")


if __name__ == "__main__":
    main()
