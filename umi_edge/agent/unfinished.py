"""Not finished yet: the planner concludes, but the last call failed or the request asks for what no call has done.

The 135M planner concludes right after the first observation: on ToolBench's train example it predicts a
conclusion on 28 of 59 gold call steps (models/README.md, session 18), and training on multi-part requests
(rounds 14–16) moved that only part of the way. With ``finish_checks`` on (``--no-finish-checks`` turns it off), a
conclusion after at least one call of the current question is checked against two rules, which read only the turns
and the tool docs, no model:

- **The last call failed** (:func:`failed`: its observation is empty, an object with an ``"error"``, or a
  service's message that the call did not work: a status-only object, an error page, a short error text). Issue
  17 allows a retry or a give-up after a tool error, not a conclusion. Fewer than
  :data:`FAILURES_BEFORE_GIVING_UP` failures in a row: the turn becomes a call ("The call to X failed; I try
  again."), and :mod:`umi_edge.agent.repeats` still refuses the identical call. That many: a give-up, unless an
  earlier call of the question succeeded (the conclusion then stands).
- **A tool the request asks for was not called** (:func:`unasked_tool`): a content word of the request
  (:func:`umi_edge.agent.relevance.content_words`) is held by the doc of an offered tool that no call of this
  question used, by no called tool's doc and by no observation. The turn becomes a call naming that tool and those
  words, so the caller's tool prior (ranked for the thought after the first observation) points to it. Each tool is
  asked for once per question.

A call a check asked for is optional: when the caller's call is not made (it holds a made-up value, or repeats a
call that failed), the planner's conclusion stands after all, or, when no call of the question succeeded, the run
gives up (:func:`withdrawn`).

Words match as in the relevance gate (same word, Snowball stem, or first five letters). The runtime and ``eval
static --finish-checks`` share :func:`unfinished`; models/README.md reports what the checks change. No library does
this (it is a rule about our own agent's turns), so it is written here.
"""

from __future__ import annotations

import ast
import json
import re
from collections.abc import Generator, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from umi_edge.agent.events import Event, FinishOverruled, FinishRestored
from umi_edge.agent.relevance import content_words, doc_words, match_keys
from umi_edge.agent.state import RunState
from umi_edge.formats.parse import Plan, action_name, render_plan
from umi_edge.tools.ranking import words

FAILURES_BEFORE_GIVING_UP = 3
"""Failed calls in a row after which a conclusion becomes a give-up instead of another try."""


@dataclass(frozen=True)
class Unfinished:
    """Why a conclusion is early: ``reason`` ``failed`` (``failures`` calls in a row failed, the last to ``tool``)
    or ``unasked`` (``tool`` holds ``words`` of the request that no call or observation does)."""

    reason: Literal["failed", "unasked"]
    tool: str
    words: tuple[str, ...] = ()
    failures: int = 0

    @property
    def gives_up(self) -> bool:
        return self.reason == "failed" and self.failures >= FAILURES_BEFORE_GIVING_UP

    def plan(self) -> Plan:
        """The planner turn that replaces the conclusion."""
        if self.gives_up:
            thought = f"The last {self.failures} calls failed, so I cannot get what the user asked for."
            return Plan("give_up", thought, render_plan(thought, "give_up"))
        if self.reason == "failed":
            thought = f"The call to {self.tool} failed. I will call {self.tool} again with corrected arguments."
        else:
            thought = f"The user also asked about {', '.join(self.words)}. I will call {self.tool}."
        return Plan("call", thought, render_plan(thought, "call"))


FAILURE_WORDS = re.compile(
    r"\b(?:error|invalid|not found|does ?n[o']t exist|disabled|not subscribed|unauthori[sz]ed|forbidden|denied|failed|"
    r"failure|missing|required|timed? ?out|unavailable|blocked|too many requests|rate[ -]?limit|quota|exceeded|"
    r"bad request|not allowed|expired|unknown|unrecogni[sz]ed|unsupported|not supported)\b",
    re.I,
)
"""Words with which a service says a call did not work."""
MESSAGE_KEYS = frozenset(
    {"message", "messages", "msg", "detail", "details", "status", "code", "statuscode", "status_code", "success", "ok"}
)
"""Keys of an object that holds only a status message, no data."""
PROBLEM_KEYS = MESSAGE_KEYS | {"type", "title", "instance", "traceid"}
"""Keys of an HTTP problem report (RFC 7807), which fails when its status is an HTTP error (400 and above)."""
MESSAGE_CHARS = 400
"""Longer text is data, not an error message, whatever words it holds."""
_TITLE = re.compile(r"<title>(.*?)</title>", re.I | re.S)


def _value(text: str) -> Any:
    """``text`` read as JSON, or as a Python literal (ToolBench's observations), or None."""
    try:
        return json.loads(text)
    except ValueError:
        pass
    if text[:1] in "{[" and len(text) < 100_000:
        try:
            return ast.literal_eval(text)
        except (ValueError, SyntaxError, MemoryError, RecursionError, TypeError):
            return None
    return None


def error_object(observation: str) -> bool:
    """Whether nothing came back, or a JSON object with an ``"error"`` (how the sandbox reports a failed call)."""
    text = observation.strip()
    if not text:
        return True
    try:
        value = json.loads(text)
    except ValueError:
        return False
    return isinstance(value, dict) and bool(value.get("error"))


def failed(observation: str) -> bool:
    """Whether a tool's observation reports a failure: nothing came back, or the answer says the call did not work
    (:func:`service_failure`, which covers :func:`error_object`'s ``{"error": ...}`` too)."""
    return not observation.strip() or service_failure(observation)


def service_failure(observation: str) -> bool:
    """Whether a service's answer says the call did not work (ToolBench's RapidAPI services, MCP servers, user tools):
    an object with an ``"error"`` (JSON, as the sandbox writes it, or a Python literal); an object holding only a
    status message (:data:`MESSAGE_KEYS`) with a word of :data:`FAILURE_WORDS`, or only a problem report
    (:data:`PROBLEM_KEYS`) with an HTTP error status; an HTML page whose title has such a word; or a text of at most
    :data:`MESSAGE_CHARS` characters, no data, that has one."""
    text = observation.strip()
    if not text:
        return False
    if text.lower().startswith(("<!doctype html", "<html")):
        title = _TITLE.search(text)
        return title is not None and FAILURE_WORDS.search(title.group(1)) is not None
    value = _value(text)
    if isinstance(value, str):  # an observation that is one quoted string: read what it holds
        inner = _value(value.strip())
        value = inner if inner is not None else value
    if isinstance(value, dict):
        if value.get("error") or value.get("errors"):
            return True
        keys = {str(k).lower() for k in value}
        if keys and keys <= MESSAGE_KEYS and FAILURE_WORDS.search(str(value)) is not None:
            return True
        status = next((v for k, v in value.items() if str(k).lower() in ("status", "code", "statuscode")), None)
        return bool(keys) and keys <= PROBLEM_KEYS and isinstance(status, int) and 400 <= status < 600
    if value is None or isinstance(value, str):
        short = text if value is None else value
        return len(short) <= MESSAGE_CHARS and FAILURE_WORDS.search(short) is not None
    return False


def called_tools(turns: Sequence[Mapping[str, str]]) -> list[str]:
    """The tools the caller turns of ``turns`` called, in order."""
    return [name for t in turns if t["from"] == "caller" and (name := action_name(t["value"])) is not None]


def alpha_doc_words(doc: Mapping[str, Any]) -> list[str]:
    """The words of an α-UMi tool doc (``Name``, ``function``, ``input``), as :func:`doc_words` has a Tool's."""
    inputs = doc.get("input")
    params = " ".join(f"{k} {v}" for k, v in inputs.items()) if isinstance(inputs, dict) else str(inputs or "")
    return words(f"{doc.get('Name', '')} {doc.get('function', '')} {params}")


def unasked_tool(
    request: str,
    docs: Mapping[str, Sequence[str]],
    called: Iterable[str],
    observations: Iterable[str],
    skip: Iterable[str] = (),
) -> tuple[str, tuple[str, ...]] | None:
    """The uncalled tool of ``docs`` (name → doc words), not in ``skip``, that holds the most content words of
    ``request`` held by no called tool's doc and no observation, with those words; None when there is none (ties: the
    first in ``docs``)."""
    called = set(called)
    skipped = called | set(skip)
    covered: set[str] = set()
    for name in called:
        for w in docs.get(name, ()):
            covered |= match_keys(w)
    for text in observations:
        for w in words(text):
            covered |= match_keys(w)
    asked = [w for w in content_words(request) if not match_keys(w) & covered]
    best: tuple[str, tuple[str, ...]] | None = None
    for name, doc in docs.items():
        if name in skipped:
            continue
        held: set[str] = set()
        for w in doc:
            held |= match_keys(w)
        hits = tuple(w for w in asked if match_keys(w) & held)
        if hits and (best is None or len(hits) > len(best[1])):
            best = (name, hits)
    return best


def unfinished(
    request: str, docs: Mapping[str, Sequence[str]], turns: Sequence[Mapping[str, str]], asked: Iterable[str] = ()
) -> Unfinished | None:
    """Why concluding now is early, from the current question's ``turns`` (after its request), or None.

    ``docs``: the offered tools' doc words by name; ``asked``: tools already asked for by the unasked rule."""
    called = called_tools(turns)
    if not called:
        return None
    observations = [t["value"] for t in turns if t["from"] == "observation"]
    failures = 0
    for text in reversed(observations):
        if not failed(text):
            break
        failures += 1
    if failures:
        why = Unfinished("failed", called[-1], failures=failures)
        if why.gives_up and failures < len(observations):
            return None  # an earlier call of the question succeeded: its results may answer (grounded answers)
        return why
    found = unasked_tool(request, docs, called, observations, skip=asked)
    return None if found is None else Unfinished("unasked", found[0], found[1])


def keep_going(state: RunState, step: int, plan: Plan) -> Generator[Event, None, Plan]:
    """``plan``, or the call (or give-up) that replaces a conclusion :func:`unfinished` finds early; yields
    :class:`FinishOverruled` and keeps the conclusion in ``state.overruled``."""
    state.overruled = None
    if plan.label != "finish" or not state.config.finish_checks:
        return plan
    docs = {t.name: doc_words(t) for t in state.registry.tools()}
    why = unfinished(state.request, docs, state.turns[state.earlier :], state.asked_tools)
    if why is None:
        return plan
    if why.reason == "unasked":
        state.asked_tools.add(why.tool)
    new = why.plan()
    if new.label == "call":
        state.overruled = plan
    yield FinishOverruled(step, why.reason, why.tool, list(why.words), why.failures, new.label)
    return new


def withdrawn(state: RunState, step: int, reason: str) -> Generator[Event, None, Plan]:
    """The turn that follows when the call a check asked for is not made (``reason``): the planner's conclusion
    (``state.overruled``), or a give-up when no call of the question succeeded; yields :class:`FinishRestored`."""
    own, state.overruled = state.overruled, None
    assert own is not None, "no conclusion was overruled at this step"
    current = state.turns[state.earlier :]
    if any(t["from"] == "observation" and not failed(t["value"]) for t in current):
        plan = own
    else:
        thought = "No call of this question succeeded, so I cannot get what the user asked for."
        plan = Plan("give_up", thought, render_plan(thought, "give_up"))
    yield FinishRestored(step, reason, plan.label)
    return plan
