"""Tools no training data names (issue 17): plain requests over ``examples/tools/household.py``, per bundle.

Each case is run by ``umi-edge run`` (the real agent, greedy) with only the four household tools registered. A call
case is right when the first call names the right tool with the right arguments and the finished answer states the
observation's number; a refusal case is right when no tool is called. The three requests of the slow test
(``tests/test_unseen_tools.py``) are not repeated here.

    python benchmarks/unseen_tools.py --bundle models --bundle bundles/round7 -o benchmarks/unseen-tools.json
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from umi_edge.atomic import write_json
from umi_edge.numbers import numbers_in

REPO = Path(__file__).resolve().parent.parent
TOOLS = REPO / "examples" / "tools" / "household.py"
ONLY = "trip_fuel_litres,paint_tins_needed,salary_over_months,plant_watering_schedule"
CASES: list[tuple[str, str | None, dict[str, float], float | None]] = [
    ("We're driving 520 km and the car burns 7.2 litres every 100 km. How many litres is that?", "trip_fuel_litres",
     {"distance_km": 520, "litres_per_100km": 7.2}, 37.44),
    ("how much petrol for a 95 km trip, my car does 5.8 l/100km", "trip_fuel_litres",
     {"distance_km": 95, "litres_per_100km": 5.8}, 5.51),
    ("Could you tell me how much fuel a 1200 km road trip takes if we use 8 litres per 100 km?", "trip_fuel_litres",
     {"distance_km": 1200, "litres_per_100km": 8}, 96),
    ("The walls of my bedroom are 38 square metres. How many tins of paint for 3 coats?", "paint_tins_needed",
     {"wall_area_m2": 38, "coats": 3}, 5),
    ("I want to paint 60 m2 of wall, one coat only. Tins needed?", "paint_tins_needed",
     {"wall_area_m2": 60, "coats": 1}, 3),
    ("My pay is 2750 per month. What will I have earned after 18 months?", "salary_over_months",
     {"monthly_pay": 2750, "months": 18}, 49500),
    ("If someone makes 4100 a month, how much is that over 9 months?", "salary_over_months",
     {"monthly_pay": 4100, "months": 9}, 36900),
    ("How often should I water a fern in a 3 litre pot?", "plant_watering_schedule",
     {"pot_litres": 3}, 3),
    ("I have a cactus in a 1.5 litre pot. How much water does it need each time?", "plant_watering_schedule",
     {"pot_litres": 1.5}, 150),
    ("What is the capital of France?", None, {}, None),
    ("Book me a table for two at an Italian restaurant tonight.", None, {}, None),
    ("What's the weather like in Oslo right now?", None, {}, None),
]  # fmt: skip


def run_case(bundle: Path, query: str, threads: int, extra: list[str]) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="umi-unseen-") as ws:
        t0 = time.perf_counter()
        out = subprocess.run(
            [sys.executable, "-m", "umi_edge", "run", query, "--json", "--threads", str(threads), "--bundle",
             str(bundle), "--tools", str(TOOLS), "--only-tools", ONLY, "--workspace", ws, "--no-transcript", *extra],
            capture_output=True, text=True, timeout=900, stdin=subprocess.DEVNULL,
        )  # fmt: skip
        seconds = time.perf_counter() - t0
    if out.returncode not in (0, 1):
        raise SystemExit(f"umi-edge run failed ({out.returncode}): {out.stderr[-1000:]}")
    doc = json.loads(out.stdout)
    calls = [  # the calls made: one holding made-up numbers is not run (grounded calls)
        {"name": e["name"], "arguments": e["arguments"]}
        for e in doc["events"]
        if e["type"] == "ToolCall" and not e.get("ungrounded")
    ]
    chosen = [{k: e[k] for k in ("number", "model_choice", "logprobs", "relevance")}
              for e in doc["events"] if e["type"] == "AnswerNumberChosen"]  # fmt: skip
    voted = [{k: v for k, v in e.items() if k != "type"} for e in doc["events"] if e["type"] == "CallVoted"]
    return {"status": doc["status"], "answer": doc.get("answer"), "calls": calls, "answer_prior": chosen,
            "voted": voted, "seconds": round(seconds, 2)}  # fmt: skip


def judge(case: tuple[str, str | None, dict[str, float], float | None], got: dict[str, Any]) -> dict[str, bool]:
    _, name, args, answer = case
    calls = got["calls"]
    if name is None:
        return {"tool": not calls, "arguments": not calls, "answer": not calls, "right": not calls}
    tool = bool(calls) and calls[0]["name"] == name
    argsok = tool and all(abs(float(calls[0]["arguments"].get(k, "nan")) - v) < 1e-9 for k, v in args.items())
    nums = numbers_in(got["answer"] or "") if got["status"] == "finished" else []
    ans = answer is not None and any(abs(x - answer) < 1e-6 for x in nums)
    return {"tool": tool, "arguments": argsok, "answer": ans, "right": tool and argsok and ans}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--bundle", action="append", type=Path, required=True, help="bundle directory (repeatable)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("-o", "--output", type=Path, required=True, help="JSON file for the results")
    ap.add_argument("--ungrounded-calls", action="store_true", help="run calls holding made-up values too")
    ap.add_argument("--tool-prior", type=float, default=None, metavar="W", help="umi-edge run's --tool-prior")
    ap.add_argument("--tool-prior-floor", default=None, metavar="T", help="umi-edge run's, a number or off")
    ap.add_argument("--answer-prior", type=float, default=None, metavar="W", help="umi-edge run's --answer-prior")
    ap.add_argument("--call-vote", action="store_true", help="umi-edge run's --call-vote")
    ap.add_argument("--no-call-check", action="store_true", help="umi-edge run's --no-call-check")
    args = ap.parse_args()
    extra = ["--ungrounded-calls"] if args.ungrounded_calls else []
    if args.tool_prior is not None:
        extra += ["--tool-prior", str(args.tool_prior)]
    if args.tool_prior_floor is not None:
        extra += ["--tool-prior-floor", args.tool_prior_floor]
    if args.answer_prior is not None:
        extra += ["--answer-prior", str(args.answer_prior)]
    if args.call_vote:
        extra += ["--call-vote"]
    if args.no_call_check:
        extra += ["--no-call-check"]
    results: dict[str, Any] = {
        "tools": str(TOOLS.relative_to(REPO)),
        "grounded_calls": not args.ungrounded_calls,
        "tool_prior": args.tool_prior,
        "tool_prior_floor": args.tool_prior_floor,
        "answer_prior": args.answer_prior,
        "call_vote": args.call_vote,
        "call_check": not args.no_call_check,
        "bundles": {},
    }
    for bundle in args.bundle:
        rows = []
        for case in CASES:
            got = run_case(bundle, case[0], args.threads, extra)
            rows.append({"query": case[0], "expected_tool": case[1], **got, **judge(case, got)})
            print(f"{bundle}: {'ok ' if rows[-1]['right'] else 'BAD'} {case[0][:60]} -> {got['calls'][:1]} "
                  f"{(got['answer'] or '')[:80]!r}", file=sys.stderr)  # fmt: skip
        calls = [r for r in rows if r["expected_tool"] is not None]
        refuse = [r for r in rows if r["expected_tool"] is None]
        results["bundles"][str(bundle)] = {
            "right": sum(r["right"] for r in rows),
            "cases": len(rows),
            "right_tool": sum(r["tool"] for r in calls),
            "right_arguments": sum(r["arguments"] for r in calls),
            "answer_from_observation": sum(r["answer"] for r in calls),
            "call_cases": len(calls),
            "refused": sum(r["right"] for r in refuse),
            "refusal_cases": len(refuse),
            "rows": rows,
        }
        s = results["bundles"][str(bundle)]
        print(f"{bundle}: {s['right']}/{s['cases']} right; tool {s['right_tool']}/{s['call_cases']}, arguments "
              f"{s['right_arguments']}, answer {s['answer_from_observation']}; refused {s['refused']}/"
              f"{s['refusal_cases']}")  # fmt: skip
    write_json(args.output, results)


if __name__ == "__main__":
    main()
