"""The agent part of ``umi-edge bench``: wall time and prompt tokens of each step of a real agent run.

It lives beside :mod:`umi_edge.commands.bench` rather than in :mod:`umi_edge.engine.benchmark` so that the engine
never imports the agent (the leading underscore keeps it out of the CLI's subcommand discovery).
"""

from __future__ import annotations

import tempfile
import time
from typing import Any

from umi_edge.agent import Agent, AgentConfig
from umi_edge.agent.timings import Timings
from umi_edge.engine import Engine
from umi_edge.tools.registry import ToolRegistry


def agent_steps(engine: Engine, registry: ToolRegistry, steps: int, max_tokens: int) -> list[dict[str, Any]]:
    """Wall time of each step of a real agent run (planner + caller + tool, or summarizer), with its token counts."""
    if "planner" not in engine.roles and "backbone" not in engine.roles:
        return []
    cfg = AgentConfig(max_steps=steps, max_new_tokens=dict.fromkeys(AgentConfig().max_new_tokens, max_tokens))
    with tempfile.TemporaryDirectory(prefix="umi-bench-ws-") as ws:
        agent = Agent(engine, registry, workspace=ws, config=cfg)
        seconds: dict[int, float] = {}
        timings = Timings()
        last = time.perf_counter()
        for e in agent.run("What is 17.5% of 2340?"):
            step = getattr(e, "step", 0)
            now = time.perf_counter()
            seconds[step] = round(seconds.get(step, 0.0) + now - last, 4)
            last = now
            timings.add(e)
    return [
        {
            "step": s,
            "seconds": secs,
            "prompt_evaluated": timings.step(s).prompt_evaluated,
            "prompt_tokens": timings.step(s).prompt_tokens,
        }
        for s, secs in sorted(seconds.items())
        if s > 0
    ]
