"""Make samples teach reading tool docs: shuffled tool lists, distractor tools, masked names (issue 17, point 2).

Applied to each trajectory before its per-role samples are built (``data synth``, ``data import-bfcl`` and, with
``--augment on``, ``data import-toolbench``), with one random stream per trajectory (seeded by ``--seed`` and the
trajectory's instruction and tools), so the result does not depend on the order of the data:

- **shuffle**: the offered tools in a random order.
- **subset**: in ``drop_share`` of the trajectories each tool that no caller turn names is left out with
  probability one half (the agent at run time may offer a top-k selection).
- **distractors**: up to ``distractors`` tools drawn from a large pool (the functions of BFCL's live train split),
  skipping any whose name or description shares a content word with the request (so a distractor never fits the
  request better than the tool used, and a give-up stays right), and only while the doc stays within
  ``doc_chars`` characters (training cuts long prompts from the left, which would drop the docs).
- **masking** (the function masking of the Hammer models): in ``mask_share`` of the trajectories every offered
  tool gets a meaningless name (``fn_<6 chars>``) and every parameter one (``arg_<3 chars>``), consistently in the
  docs, the caller turns, and wherever the name appears as a word in a thought, observation or answer, so the
  caller can only get them right by reading the descriptions.
- **unnamed thoughts**: in ``unnamed_share`` of the trajectories (default none) every planner thought before a call
  that is BFCL's call thought naming the function (:func:`umi_edge.formats.bfcl.call_thought`) becomes one that names
  none (:func:`~umi_edge.formats.bfcl.unnamed_call_thought`), so the caller learns to choose the function from the
  request and the docs when a thought does not name it (round 19's caller followed a wrong thought on tools it never
  saw). Synthetic thoughts, which carry the call's values, are left as they are.
- **earlier questions**: in ``earlier_share`` of the synthetic trajectories a finished question of another
  trajectory (its request and answer, the compact session record the runtime gives the roles) comes first, so the
  roles learn to answer the new question, not the old one. No sample is built for those two turns.
- **irrelevant twins** (:func:`variants`): for ``irrelevant_share`` of the trajectories that call a tool, one more
  record asks the same request with none of its tools, only pool functions that share no content word with it,
  and its one planner step gives up. It is the pair BFCL's irrelevance set tests (a request beside functions that
  cannot serve it), built from requests whose right call we know, so the planner learns that a call depends on the
  offered docs. Only that first planner step is emitted: its history is the request alone, so nothing is invented.

Observations are left as the tools wrote them except for those renames: nothing is invented. A trajectory whose
caller turns do not parse is only shuffled. The random choices are hand-written (a few lines of ``random``); no
augmentation library knows α-UMi trajectories.
"""

from __future__ import annotations

import functools
import hashlib
import json
import random
import re
import string
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from umi_edge.formats.bfcl import give_up_thought, is_call_thought, unnamed_call_thought
from umi_edge.formats.parse import parse_call, parse_plan, render_call, render_plan
from umi_edge.formats.tooldoc import render_doc


@dataclass(frozen=True)
class AugmentOptions:
    """How samples are varied; :data:`OFF` leaves trajectories as they are."""

    shuffle: bool = True
    distractors: int = 3
    drop_share: float = 0.5
    mask_share: float = 0.25
    doc_chars: int = 2400
    earlier_share: float = 0.1
    irrelevant_share: float = 0.2
    unnamed_share: float = 0.0
    seed: int = 0

    @property
    def active(self) -> bool:
        return (
            self.shuffle or self.distractors > 0 or self.drop_share > 0 or self.mask_share > 0 or self.unnamed_share > 0
        )


OFF = AugmentOptions(
    shuffle=False, distractors=0, drop_share=0.0, mask_share=0.0, earlier_share=0.0, irrelevant_share=0.0
)
EARLIER_TURNS = "earlier_turns"
"""Key of a varied record: how many leading turns are an earlier finished question (no samples are built there)."""

_STOP = frozenset(
    "the and for with from that this what which when where into your about have will would could should please "
    "tell give show find make need want does using used use get set list than then them they their there here "
    "some many much more most each every also only just like over under after before value values number numbers "
    "name names file files data function call tool tools return returns given string".split()
)
_WORD = re.compile(r"[A-Za-z][A-Za-z]+")


def content_words(text: str) -> set[str]:
    """Lower-case words of four or more letters that are not stop words (names split at ``_`` and case changes)."""
    spaced = re.sub(r"([a-z])([A-Z])", r"\1 \2", text).replace("_", " ").replace(".", " ")
    return {w for w in (m.group(0).lower() for m in _WORD.finditer(spaced)) if len(w) >= 4 and w not in _STOP}


@functools.lru_cache(maxsize=1)
def distractor_pool() -> tuple[dict[str, Any], ...]:
    """α-UMi docs of the distinct functions of BFCL's live train split (UserError without bfcl-eval)."""
    from umi_edge import bfcl_data
    from umi_edge.formats.bfcl import LIVE_CATEGORIES, BfclFormatError, is_validation, tool_doc

    seen: dict[str, dict[str, Any]] = {}
    for category in LIVE_CATEGORIES:
        for e in bfcl_data.load(category):
            if is_validation(e.id):
                continue
            for fn in e.entry.get("function") or ():
                try:
                    doc = tool_doc(fn)
                except (BfclFormatError, KeyError, TypeError, ValueError):
                    continue
                seen.setdefault(doc["Name"], doc)
    return tuple(seen[k] for k in sorted(seen))


def _rng(opts: AugmentOptions, rec: Mapping[str, Any], stream: str = "") -> random.Random:
    parts: list[Any] = [opts.seed, rec.get("instruction", ""), [t.get("Name") for t in rec.get("tools", [])]]
    if stream:  # the main stream keeps the key it always had, so earlier data is re-made byte for byte
        parts.append(stream)
    key = json.dumps(parts)
    return random.Random(int.from_bytes(hashlib.sha256(key.encode()).digest()[:8], "big"))


def _called(conversations: Sequence[Mapping[str, str]]) -> set[str] | None:
    """Names of the tools the caller turns call, or None when one does not parse."""
    names = set()
    for turn in conversations:
        if turn["from"] == "caller":
            try:
                names.add(parse_call(turn["value"]).name)
            except ValueError:
                return None
    return names


def _unnamed(conversations: Sequence[Mapping[str, str]]) -> list[dict[str, str]]:
    """The turns with each BFCL call thought before a caller turn replaced by one that names no function."""
    out = [dict(t) for t in conversations]
    for turn, after in zip(out, out[1:], strict=False):
        if turn["from"] != "assistant" or after["from"] != "caller":
            continue
        plan = parse_plan(turn["value"])
        n = is_call_thought(plan.thought, parse_call(after["value"]).name)
        if n is not None:
            turn["value"] = render_plan(unnamed_call_thought(n), plan.label)
    return out


def _token(rng: random.Random, prefix: str, n: int, taken: set[str]) -> str:
    while True:
        name = prefix + "".join(rng.choice(string.ascii_lowercase + string.digits) for _ in range(n))
        if name not in taken:
            taken.add(name)
            return name


def _mask(rec: dict[str, Any], rng: random.Random) -> dict[str, Any]:
    taken: set[str] = set()
    tool_map: dict[str, str] = {}
    arg_maps: dict[str, dict[str, str]] = {}
    tools = []
    for t in rec["tools"]:
        new = _token(rng, "fn_", 6, taken)
        tool_map[t["Name"]] = new
        args = {a: _token(rng, "arg_", 3, taken) for a in t.get("input", {})}
        arg_maps[new] = args
        tools.append({**t, "Name": new, "input": {args[a]: v for a, v in t.get("input", {}).items()}})
    words = sorted(tool_map, key=len, reverse=True)
    pattern = re.compile(r"(?<![\w.])(" + "|".join(re.escape(w) for w in words) + r")(?![\w])") if words else None

    def rename_text(text: str) -> str:
        return pattern.sub(lambda m: tool_map[m.group(1)], text) if pattern else text

    convs = []
    for turn in rec["conversations"]:
        value = turn["value"]
        if turn["from"] == "caller":
            call = parse_call(value)
            name = tool_map.get(call.name, call.name)
            amap = arg_maps.get(name, {})
            value = render_call(name, {amap.get(k, k): v for k, v in call.arguments.items()})
        elif turn["from"] != "user":
            value = rename_text(value)
            if turn["from"] == "observation":
                for amap in arg_maps.values():
                    for old, new in amap.items():
                        value = value.replace(f"'{old}'", f"'{new}'").replace(f'\\"{old}\\"', f'\\"{new}\\"')
        convs.append({**turn, "value": value})
    return {**rec, "tools": tools, "conversations": convs}


def _draw(
    rng: random.Random,
    request: str,
    tools: Sequence[Mapping[str, Any]],
    wanted: int,
    doc_chars: int,
    avoid_names: frozenset[str] = frozenset(),
) -> list[dict[str, Any]]:
    """Up to ``wanted`` pool functions that are not among ``tools`` (or ``avoid_names``), share no content word with
    ``request``, and keep the doc of ``tools`` plus them within ``doc_chars`` characters."""
    avoid = content_words(request)
    names = {t["Name"] for t in tools} | avoid_names
    pool = distractor_pool()
    drawn: list[dict[str, Any]] = []
    for _ in range(wanted * 4):
        if len(drawn) >= wanted:
            break
        cand = pool[rng.randrange(len(pool))]
        if cand["Name"] in names or content_words(cand["Name"] + " " + cand.get("function", "")) & avoid:
            continue
        if len(render_doc([*tools, *drawn, cand])) > doc_chars:
            continue
        drawn.append(cand)
        names.add(cand["Name"])
    return drawn


IRRELEVANT = "irrelevant_twin"
"""Key set on an irrelevant twin record (:func:`irrelevant_twin`)."""


def irrelevant_twin(rec: Mapping[str, Any], opts: AugmentOptions) -> dict[str, Any] | None:
    """The give-up twin of a trajectory that calls a tool (see the module doc), or None: not drawn, no call, a
    caller turn that does not parse, or no pool function that fits the rules."""
    if opts.irrelevant_share <= 0:
        return None
    called = _called(rec["conversations"])
    if not called:
        return None
    rng = _rng(opts, rec, "irrelevant")
    if rng.random() >= opts.irrelevant_share:
        return None
    first = rec["conversations"][0]
    if first["from"] != "user":
        return None
    own = frozenset(t["Name"] for t in rec["tools"])
    tools = _draw(
        rng,
        str(rec.get("instruction", first["value"])),
        [],
        rng.randint(1, max(1, opts.distractors)),
        opts.doc_chars,
        own,
    )
    if not tools:
        return None
    plan = {"from": "assistant", "value": render_plan(give_up_thought([t["Name"] for t in tools]), "give_up")}
    return {
        **{k: v for k, v in rec.items() if k not in ("tools", "conversations")},
        "tools": tools,
        "conversations": [dict(first), plan],
        IRRELEVANT: True,
    }


def variants(
    rec: Mapping[str, Any], opts: AugmentOptions, earlier: Sequence[tuple[str, str]] = ()
) -> list[dict[str, Any]]:
    """The records whose samples stand for ``rec``: :func:`augment` of it, and its :func:`irrelevant_twin` if drawn."""
    twin = irrelevant_twin(rec, opts)
    return [augment(rec, opts, earlier), *([twin] if twin is not None else [])]


def augment(rec: Mapping[str, Any], opts: AugmentOptions, earlier: Sequence[tuple[str, str]] = ()) -> dict[str, Any]:
    """A varied copy of the trajectory ``rec`` (``{tools, instruction, conversations, ...}``); see the module doc.

    ``earlier``: finished ``(request, answer)`` pairs of other trajectories; in ``earlier_share`` of the records
    one goes first, as the compact record of an earlier question of the session (:mod:`umi_edge.agent.earlier`),
    and ``out[EARLIER_TURNS]`` says how many turns it took."""
    out: dict[str, Any] = dict(rec)
    if not opts.active:
        return out
    rng = _rng(opts, rec)
    called = _called(rec["conversations"])
    tools = [dict(t) for t in rec["tools"]]
    if called is not None and opts.drop_share > 0 and rng.random() < opts.drop_share:
        tools = [t for t in tools if t["Name"] in called or rng.random() < 0.5]
    if called is not None and opts.distractors > 0:
        tools += _draw(rng, str(rec.get("instruction", "")), tools, rng.randint(0, opts.distractors), opts.doc_chars)
    if opts.shuffle:
        rng.shuffle(tools)
    out["tools"] = tools
    if called is not None and opts.unnamed_share > 0 and rng.random() < opts.unnamed_share:
        out["conversations"] = _unnamed(out["conversations"])
    if called is not None and opts.mask_share > 0 and rng.random() < opts.mask_share:
        out = _mask(out, rng)
    if earlier and opts.earlier_share > 0 and rng.random() < opts.earlier_share:
        q, a = earlier[rng.randrange(len(earlier))]
        if q != rec.get("instruction"):
            head = [{"from": "user", "value": q}, {"from": "conclusion", "value": a}]
            out["conversations"] = head + list(out["conversations"])
            out[EARLIER_TURNS] = len(head)
    return out
