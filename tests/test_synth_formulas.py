"""The ``formula`` synth family (issue 17): new tools per task, real observations, two calls, no fitting tool."""

from __future__ import annotations

import ast
import json
import tempfile
from pathlib import Path

from umi_edge.cli import main
from umi_edge.formats.parse import PLAN_MARKERS, parse_call
from umi_edge.synth.families.formulas import FORMULAS, formula_tool
from umi_edge.synth.generate import synthesize, trajectory_record
from umi_edge.tools import ToolRegistry, builtin_registry

HOUSEHOLD = Path(__file__).resolve().parent.parent / "examples" / "tools" / "household.py"


def _household_names() -> set[str]:
    tree = ast.parse(HOUSEHOLD.read_text(encoding="utf-8"))
    funcs = [n for n in tree.body if isinstance(n, ast.FunctionDef)]
    return {f.name for f in funcs} | {a.arg for f in funcs for a in f.args.args}


def test_no_formula_names_a_household_tool_or_parameter() -> None:
    """examples/tools/household.py tests tools that no training data names: keep the catalogue clear of them."""
    taken = _household_names()
    assert {"trip_fuel_litres", "distance_km", "monthly_pay"} <= taken
    names = {n for f in FORMULAS for n in f.names}
    assert not names & taken
    assert len(names) == sum(len(f.names) for f in FORMULAS)  # no name serves two formulas


def test_every_formula_tool_runs_for_every_naming() -> None:
    for f in FORMULAS:
        for i, name in enumerate(f.names):
            pnames = {p.slot: p.names[i % len(p.names)] for p in f.params}
            t = formula_tool(f, name, f.docs[0], pnames)
            args = {pnames[p.slot]: p.hi for p in f.params}
            with tempfile.TemporaryDirectory() as ws:
                res = ToolRegistry([t]).call(name, args, workspace=ws)
            assert not res.is_error, (name, res.content)
            assert res.value == {f.out: f.fn(**{p.slot: p.hi for p in f.params})}


def test_episodes_replay_with_their_own_tools_and_cover_the_three_kinds() -> None:
    eps = synthesize(60, 4, families=["formula"])
    kinds = {e.recipe.template.split("/")[2] for e in eps}
    assert kinds == {"one", "two", "none"}
    for ep in eps:
        reg = ToolRegistry([*builtin_registry().tools(), *ep.recipe.extra_tools])
        turns = ep.conversations
        assert [t["Name"] for t in ep.tools] == ep.recipe.tools
        calls = 0
        with tempfile.TemporaryDirectory() as ws:
            for i, turn in enumerate(turns):
                if turn["from"] == "caller":
                    call = parse_call(turn["value"])
                    assert reg.validate(call.name, call.arguments) is None
                    assert turns[i + 1]["value"] == reg.call(call.name, call.arguments, workspace=ws).content
                    calls += 1
        kind = ep.recipe.template.split("/")[2]
        assert calls == {"one": 1, "two": 2, "none": 0}[kind]
        if kind == "none":  # only unrelated tools are offered: the planner gives up at once
            assert turns[-1]["value"].endswith(PLAN_MARKERS["give_up"]) and len(turns) == 2
            key = ep.recipe.template.split("/")[1]
            own = next(f for f in FORMULAS if f.key == key).names
            assert not set(ep.recipe.tools) & set(own)
        else:  # the answer quotes the observations
            values = [next(iter(json.loads(t["value"]).values())) for t in turns if t["from"] == "observation"]
            assert all(json.dumps(v) in turns[-1]["value"] for v in values), (values, turns[-1])


def test_deterministic_and_left_out_of_tasks_out(tmp_path: Path, capsys) -> None:
    a = [trajectory_record(e, "x") for e in synthesize(15, 9, families=["formula", "units"])]
    assert a == [trajectory_record(e, "x") for e in synthesize(15, 9, families=["formula", "units"])]
    tasks = tmp_path / "tasks.jsonl"
    rc = main(["data", "synth", "-o", str(tmp_path / "d"), "-n", "15", "--seed", "9", "--families", "formula,units",
               "--tasks-out", str(tasks)])  # fmt: skip
    assert rc == 0
    n_formula = sum(r["family"] == "formula" for r in a)
    assert 0 < n_formula < 15
    assert len(tasks.read_text().splitlines()) == 15 - n_formula
    assert f"left out {n_formula} episodes with tools of their own" in capsys.readouterr().out
