"""Multi-part requests: two or three independent questions in one message, each solved by its own tool call(s).

ToolBench's requests often ask for several things at once ("get X, and also tell me Y"), and its gold trajectories
call again after the first observation. A planner trained only on one-question tasks concludes after the first
observation (issue 17: 28 of 59 gold call steps of ToolBench's train example). Here each part is a task of a
one-question family, run with the real tools; after a part is answered, the next part's first thought states that
answer and says the request asks more, and only after the last part does the planner conclude. The summarizer
answers every part.

The checkable answer is the last part's (the task format holds one); the earlier parts' answers are checked against
the generator's own computation while the script runs.
"""

from __future__ import annotations

import random
from collections.abc import Sequence

from umi_edge.synth import pools as P
from umi_edge.synth.families._common import Family
from umi_edge.synth.families.arithmetic import FAMILIES as _ARITHMETIC
from umi_edge.synth.families.chains import FAMILIES as _CHAINS
from umi_edge.synth.families.code import FAMILIES as _CODE
from umi_edge.synth.families.formulas import FAMILIES as _FORMULAS
from umi_edge.synth.families.measures import FAMILIES as _MEASURES
from umi_edge.synth.families.workspace import FAMILIES as _WORKSPACE
from umi_edge.synth.pools import Split
from umi_edge.synth.runner import SynthBug, check_outcome
from umi_edge.synth.task import Call, Finish, Recipe, Script

PART_FAMILIES: list[Family] = [
    f
    for f in [*_ARITHMETIC, *_MEASURES, *_WORKSPACE, *_CODE, *_CHAINS]
    if f.name in {"chain_file_calc", "chain_file_date", "chain_sql_calc"}
    or not f.name.startswith(("chain_", "recover"))
]
"""Families whose tasks end in an answer (no give-up, no direct reply) over built-in tools."""
(FORMULA,) = _FORMULAS
"""The ``multipart_new`` family's one part over a new tool (drawn again when it is one of that family's give-ups)."""
WORKSPACE_WIDE = {"file_list", "file_search"}
"""Families whose answer depends on every file in the workspace: at most one per request, and the parts' files never
share a top folder, so one part's files cannot change another's answer."""

JOIN2 = [
    "{0} Also: {1}",
    "{0} And one more: {1}",
    "Two questions. First: {0} Second: {1}",
    "1) {0} 2) {1}",
    "{0} {1}",
    "{0} After that, please answer this too: {1}",
    "I need two things. {0} Then: {1}",
    "{0} Plus: {1}",
    "Could you help me with two things? {0} And: {1}",
    "First question: {0} Next question: {1}",
    "{0} Oh, and {1}",
    "Please do both. {0} {1}",
    "{0} Additionally, {1}",
    "I'm sorting out a few things today. {0} Furthermore: {1}",
    "{0} In addition, I'd like to know this: {1}",
    "I need your help with a small project. {0} Also, {1}",
    "{0} Besides that: {1}",
    "Can you help? {0} And could you also answer: {1}",
]
JOIN3 = [
    "{0} {1} {2}",
    "1) {0} 2) {1} 3) {2}",
    "Three things. {0} Also: {1} And finally: {2}",
    "{0} Then: {1} One more: {2}",
    "I have three questions. {0} {1} {2}",
    "First: {0} Second: {1} Third: {2}",
    "{0} Also: {1} Plus: {2}",
    "Help me with these. {0} And: {1} Last one: {2}",
    "{0} Additionally, {1} Furthermore: {2}",
    "I'm planning my week and need a few answers. {0} Also: {1} And: {2}",
    "{0} In addition: {1} Finally, {2}",
    "Could you do three things for me? {0} {1} {2}",
]
BRIDGE = [
    "That answers part {k}: {done} The request also asks something else, so I continue.",
    "Part {k} is done: {done} There is still another question in the request.",
    "I have the answer to part {k}: {done} The user asked for more, so another call is needed.",
    "Done with part {k}: {done} Now the next part of the request.",
    "The request is not fully answered yet. So far: {done} Next part.",
    "{done} That was only part {k} of the request; the next part still needs a tool.",
]
FINAL = [
    "Every part of the request is answered now.",
    "All the questions are answered.",
    "I have everything the user asked for.",
    "Each part has its answer from a tool, so I can answer now.",
]


def _sentence(text: str) -> str:
    """``text`` closed by a full stop when it ends without one (a part's answer may end in a quoted value)."""
    text = text.strip()
    return text if text.endswith((".", "!", "?")) else text + "."


def _draw_parts(rng: random.Random, split: Split, available: Sequence[str], n: int, new_tool: bool) -> list[Recipe]:
    """``n`` tasks of distinct families whose fixtures (folders, databases) do not touch; with ``new_tool``, one of
    them (at a random place) is a ``formula`` task that calls its own new tool."""
    fams = [f for f in PART_FAMILIES if all(t in available for t in f.needs)]
    if len(fams) < n:
        raise SynthBug(f"multipart: {len(fams)} part families for {n} parts")
    for _ in range(50):
        picked = rng.sample(fams, n)
        if new_tool:
            picked[rng.randrange(n)] = FORMULA
        parts = [f.make(rng, split, available) for f in picked]
        if any(r.family == "formula" and "/none/" in r.template for r in parts):  # its give-up variant
            continue
        folders = [{p.split("/")[0] for p in r.files} for r in parts]
        dbs = [d for r in parts for d in r.sqlite]
        wide = sum(r.family in WORKSPACE_WIDE for r in parts)
        if sum(map(len, folders)) == len(set().union(*folders)) and len(set(dbs)) == len(dbs) and wide <= 1:
            return parts
    raise SynthBug("multipart: no parts with disjoint fixtures in 50 draws")


def make_multipart(rng: random.Random, split: Split, available: Sequence[str], new_tool: bool = False) -> Recipe:
    n = 3 if rng.random() < 0.3 else 2
    parts = _draw_parts(rng, split, available, n, new_tool)
    jid, join = P.template(rng, JOIN3 if n == 3 else JOIN2, split)
    bridges = [rng.choice(BRIDGE) for _ in parts[1:]]
    final = rng.choice(FINAL)
    offered = {t for r in parts for t in r.tools}
    extra = [t for r in parts for t in r.extra_tools]

    def solve() -> Script:
        answers: list[Finish] = []
        for k, part in enumerate(parts):
            script = part.solve()
            call = next(script)
            if k:  # a later part's first thought states the answer of the part before it
                done = _sentence(answers[-1].conclusion)
                call = Call(f"{bridges[k - 1].format(done=done, k=k)} {call.thought}", call.tool, call.args)
            while True:
                result = yield call
                try:
                    call = script.send(result)
                except StopIteration as stop:
                    outcome = stop.value
                    break
            if not isinstance(outcome, Finish):
                raise SynthBug(f"multipart: part {part.family} ended with {outcome!r}, expected Finish")
            check_outcome(part, outcome)
            answers.append(outcome)
        last = answers[-1]
        return Finish(
            f"{final} {last.thought}", " ".join(_sentence(a.conclusion) for a in answers), last.answer, last.match
        )

    return Recipe(
        "multipart_new" if new_tool else "multipart",
        f"multipart/{n}/{jid}/" + "+".join(r.template for r in parts),
        ("multipart", jid, *(r.key for r in parts)),
        join.format(*(r.query for r in parts)),
        [t for t in available if t in offered] + [t.name for t in extra],
        solve,
        files={p: c for r in parts for p, c in r.files.items()},
        sqlite={d: s for r in parts for d, s in r.sqlite.items()},
        expected=parts[-1].expected,
        extra_tools=extra,
    )


def make_multipart_new(rng: random.Random, split: Split, available: Sequence[str]) -> Recipe:
    """A multipart request one of whose parts needs a new tool the task brings (a ``formula`` task)."""
    return make_multipart(rng, split, available, new_tool=True)


FAMILIES = [
    # needs the calculator: its three families always give two or three distinct parts; the other parts come from
    # whatever tools are available
    Family("multipart", ("calculator",), 0.5, make_multipart, "two or three independent questions, answered in turn"),
    Family(
        "multipart_new",
        ("calculator",),
        0.3,
        make_multipart_new,
        "multipart, one part needing a new tool the task brings",
        brings_tools=True,
    ),
]
