"""Load and overhead of ``umi-edge serve`` (issue 18): N concurrent clients in bounded loops on loopback.

    python benchmarks/serve_load.py --clients 4 --requests 1000 --queue 8 -o serve-load.json

Starts the server in this process on a random loopback port over a bundle (default: the packaged SmolLM2 as a
merged bundle, the test bundle), then:
- **load**: ``--clients`` threads send ``--requests`` chat completions in all (the step model, one client tool,
  ``tool_choice: none``, ``--tokens`` new tokens), each with the real ``openai`` client; reports requests/s, p50 /
  p95 latency, how many got 503 (queue full, retried after ``Retry-After``), other errors (must be 0) and the
  server's RSS before and after;
- **overhead**: the same step through HTTP vs in-process (``umi_edge.serve.step.run_step`` on the same engine),
  medians of ``--repeats``, as a ratio measured in one run.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--bundle", type=Path, default=None)
    ap.add_argument("--clients", type=int, default=4)
    ap.add_argument("--requests", type=int, default=1000)
    ap.add_argument("--queue", type=int, default=8)
    ap.add_argument("--tokens", type=int, default=4)
    ap.add_argument("--repeats", type=int, default=20)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("-o", "--output", type=Path, default=None)
    args = ap.parse_args()

    import openai
    from edge_bundles import merged_bundle
    from test_serve import WEATHER, Server

    from umi_edge.agent.config import AgentConfig
    from umi_edge.engine import Engine, EngineOptions
    from umi_edge.serve.app import STEP_MODEL, ServerState
    from umi_edge.serve.mapping import client_tools
    from umi_edge.serve.step import run_step
    from umi_edge.tools.registry import builtin_registry

    bundle = args.bundle or merged_bundle(Path("/tmp/umi-serve-bench"), context_length=1024)
    engine = Engine.from_bundle(bundle, EngineOptions(threads=args.threads))
    tokens = {"planner": args.tokens, "caller": 48, "summarizer": args.tokens, "backbone": args.tokens}
    config = AgentConfig(max_new_tokens=tokens)
    server = Server(ServerState(engine, builtin_registry(), config, Path("/tmp"), queue_size=args.queue))
    messages = [{"role": "user", "content": "What is the weather in Paris?"}]

    def ask(client: openai.OpenAI) -> None:
        client.chat.completions.create(model=STEP_MODEL, messages=messages, tools=[WEATHER], tool_choice="none")

    # overhead: one step through HTTP vs in-process, interleaved
    client = server.client()
    tools = client_tools([WEATHER])
    turns = [{"from": "user", "value": messages[0]["content"]}]
    ask(client)
    http_s, local_s = [], []
    for _ in range(args.repeats):
        t = time.perf_counter()
        ask(client)
        http_s.append(time.perf_counter() - t)
        t = time.perf_counter()
        run_step(engine, tools, turns, 0, config, tool_choice="none")
        local_s.append(time.perf_counter() - t)

    rss_before = rss_mb()
    latencies: list[float] = []
    busy = errors = 0
    lock = threading.Lock()
    left = [args.requests]

    def loop() -> None:
        nonlocal busy, errors
        c = server.client()
        while True:
            with lock:
                if left[0] <= 0:
                    return
                left[0] -= 1
            t = time.perf_counter()
            while True:
                try:
                    ask(c)
                    break
                except openai.APIStatusError as exc:
                    if exc.status_code != 503:
                        with lock:
                            errors += 1
                        break
                    with lock:
                        busy += 1
                    time.sleep(float(exc.response.headers.get("retry-after", "1")))
                except Exception:  # noqa: BLE001 - counted: none may be lost
                    with lock:
                        errors += 1
                    break
            with lock:
                latencies.append(time.perf_counter() - t)

    t0 = time.perf_counter()
    workers = [threading.Thread(target=loop) for _ in range(args.clients)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    wall = time.perf_counter() - t0
    rss_after = rss_mb()
    served = server.state.served
    server.stop()
    engine.close()
    lat = sorted(latencies)
    out = {
        "clients": args.clients,
        "requests": args.requests,
        "queue": args.queue,
        "answered": len(lat),
        "errors": errors,
        "busy_503_retried": busy,
        "requests_per_s": len(lat) / wall,
        "p50_s": statistics.median(lat),
        "p95_s": lat[int(0.95 * (len(lat) - 1))],
        "rss_mb_before": rss_before,
        "rss_mb_after": rss_after,
        "server_served": served,
        "overhead": {
            "http_median_s": statistics.median(http_s),
            "in_process_median_s": statistics.median(local_s),
            "ratio": statistics.median(http_s) / statistics.median(local_s),
        },
    }
    print(json.dumps(out, indent=2))
    if args.output:
        args.output.write_text(json.dumps(out, indent=2) + "\n", encoding="utf-8")
    return 0 if errors == 0 and len(lat) == args.requests else 1


if __name__ == "__main__":
    raise SystemExit(main())
