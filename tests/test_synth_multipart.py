"""The multipart family: several independent questions in one request, each answered by its own real call(s)."""

from __future__ import annotations

import random

import pytest

from umi_edge.eval.matching import matches
from umi_edge.formats.parse import PLAN_MARKERS, parse_call
from umi_edge.synth.families.multipart import PART_FAMILIES, WORKSPACE_WIDE, _draw_parts, make_multipart
from umi_edge.synth.generate import synthesize
from umi_edge.synth.runner import run_task
from umi_edge.tools import builtin_registry

NO_PYTHON = [t for t in builtin_registry().names() if t != "python"]  # the sandboxed python tool takes ~1 s a call


def _calls(conversations: list[dict[str, str]]) -> list[tuple[str, dict]]:
    out = []
    for turn in conversations:
        if turn["from"] == "caller":
            call = parse_call(turn["value"])
            out.append((call.name, call.arguments))
    return out


@pytest.mark.parametrize("split", ["train", "heldout"])
@pytest.mark.parametrize("seed", range(6))
def test_each_part_runs_as_alone_and_the_answer_holds_every_part(split, seed):
    registry = builtin_registry()
    rng = random.Random(f"mp:{split}:{seed}")
    recipe = make_multipart(rng, split, NO_PYTHON)
    again = random.Random(f"mp:{split}:{seed}")
    n = 3 if again.random() < 0.3 else 2
    parts = _draw_parts(again, split, NO_PYTHON, n, False)
    assert [p.query for p in parts] == [q for q in (p.query for p in parts) if q in recipe.query]
    whole = run_task(recipe, registry)
    alone = [run_task(p, registry) for p in parts]
    # the same calls, part after part, and the final answer states every part's answer
    assert _calls(whole.conversations) == [c for ep in alone for c in _calls(ep.conversations)]
    conclusion = whole.conversations[-1]["value"]
    for ep in alone:  # (a part's wording may differ: it draws from the task's random stream as it runs)
        assert matches(conclusion, [*ep.answer] if isinstance(ep.answer, list) else [ep.answer], ep.match)
    # the planner concludes once, after the last part; every earlier plan step asks for a call
    plans = [t["value"] for t in whole.conversations if t["from"] == "assistant"]
    assert all(p.endswith(PLAN_MARKERS["call"]) for p in plans[:-1])
    assert plans[-1].endswith(PLAN_MARKERS["finish"])
    # a later part's first thought says what the part before it found
    starts = [sum(ep.calls for ep in alone[:k]) for k in range(1, n)]
    for k, i in enumerate(starts):
        ep = alone[k]
        assert matches(plans[i], [*ep.answer] if isinstance(ep.answer, list) else [ep.answer], ep.match)


def test_parts_never_share_folders_databases_or_a_workspace_wide_family():
    for i in range(200):
        parts = _draw_parts(random.Random(i), "train", NO_PYTHON, 3, i % 2 == 1)
        folders = [{p.split("/")[0] for p in r.files} for r in parts]
        assert all(not (a & b) for j, a in enumerate(folders) for b in folders[j + 1 :])
        dbs = [d for r in parts for d in r.sqlite]
        assert len(dbs) == len(set(dbs))
        assert sum(r.family in WORKSPACE_WIDE for r in parts) <= 1
        assert len({r.family for r in parts}) == 3


def test_part_families_end_in_an_answer():
    names = {f.name for f in PART_FAMILIES}
    assert not names & {"direct", "give_up", "formula", "recover", "multipart"}
    assert {"calc_percent", "dates", "sql", "file_list", "chain_file_calc"} <= names


def test_synthesized_multipart_episodes_call_at_least_once_per_part():
    eps = synthesize(12, 4, tools=NO_PYTHON, families=["multipart"])
    assert len(eps) == 12
    for ep in eps:
        parts = ep.recipe.template.split("/")[1]
        assert ep.calls >= int(parts) and not ep.gave_up


def test_multipart_new_calls_the_new_tool_it_brings_and_stays_out_of_a_tools_limit():
    builtins = set(builtin_registry().names())
    eps = synthesize(8, 5, tools=None, families=["multipart_new"])
    for ep in eps:
        new = [t for t in ep.recipe.tools if t not in builtins]
        assert len(new) >= 2 and {t.name for t in ep.recipe.extra_tools} == set(new)
        called = {name for name, _ in _calls(ep.conversations)}
        assert called & set(new) and not ep.gave_up
    limited = synthesize(20, 5, tools=["calculator", "date_calc"])
    assert all(ep.recipe.family != "multipart_new" for ep in limited)
