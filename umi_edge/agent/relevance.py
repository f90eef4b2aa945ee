"""No tool fits: a request that shares no content word with any offered tool's doc gets no tool call.

The 135M planner does not judge whether a doc fits a request: trained to refuse, it refuses requests it could serve
(models/README.md, rounds 6–9). Requests that no offered tool can serve mostly share no word with any tool's doc
("What is the capital of France?" beside ``paint_tins_needed``). With ``relevance_gate`` on
(``--no-relevance-gate`` turns it off), when the planner routes to the caller while none of the question's content
words is held by an offered tool's doc (name, description, parameter names, descriptions, enum values and the
tool's ``keywords``, which the model never sees), the run
gives up and says which words no doc holds (:class:`~umi_edge.agent.events.NoToolFits`). A direct answer or a
give-up by the planner stands.

Content words are the ranking words (:func:`umi_edge.tools.ranking.words`) less :data:`FILLER_WORDS` (words of how a
request is asked, not of what it is about), :data:`GENERIC_DOC_STEMS` (words so common in tool docs that sharing one
says nothing: "retrieve", "user", "list"), digits and number words. A word is held when a doc word has the same
Snowball stem (nltk: ``calculate`` / ``calculator``) or, for words of five letters or more, the same first five
letters (``kilometers`` / ``kilometres``).
A question with no content word ("What is 311*427-677?", "hi") is not judged, and neither is a later question in a
session whose earlier questions' words a doc holds (a follow-up: "and in Berlin?"). Enforced at run time, not
trained; models/README.md reports what it costs and saves. No library decides this (it is a rule about our own
prompts); the stemmer is nltk's, the filler list is ours because nltk's stop-word list is a download.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from functools import cache
from typing import Any

from umi_edge.numbers import WORDS_OF_NUMBERS
from umi_edge.tools.ranking import tool_words, words
from umi_edge.tools.registry import Tool

FILLER_WORDS = frozenset(
    """
    about after again all also am any anything around be been before being both but each else even ever every few
    find give go going got had has have having he her here him his if into its just know let like look lookup made
    make many maybe more most much must need needed new next no not now off ok okay once one only other our out over
    own please pls quick quickly really right same say see she should so some something soon still such sure take
    tell thank thanks that then there these they thing things think this those through too try up us use using very
    want wanted way we well were what whatever whether while who whom whose yes yet you
    """.split()
)
"""Words of asking, not of the subject ("Could you please tell me how much ...")."""
GENERIC_DOC_STEMS = frozenset(
    "api base citi date format id identifi includ list mm name number provid retriev specif specifi state uniqu user"
    " yyyi".split()
)
"""Snowball stems held by more than a fifth of the distinct BFCL live *train-split* functions' docs (1,626), fillers
aside; ``python benchmarks/generic_doc_words.py`` derives them and measures the gate with and without them."""
PREFIX = 5
"""Words this long count as held when a doc word starts with the same letters."""


@cache
def _stemmer() -> Any:
    from nltk.stem.snowball import SnowballStemmer

    return SnowballStemmer("english")


@cache
def stem(word: str) -> str:
    """``word``'s Snowball stem (cached: the same doc words come back on every run over the same tools)."""
    return str(_stemmer().stem(word))


@cache
def match_keys(word: str) -> frozenset[str]:
    """What ``word`` matches by: itself, its Snowball stem and, when long enough, its first :data:`PREFIX` letters."""
    keys = {word, stem(word)}
    if len(word) >= PREFIX:
        keys.add(word[:PREFIX])
    return frozenset(keys)


def content_words(text: str) -> list[str]:
    """The words of ``text`` that say what it is about (see the module doc), in order, without repeats."""
    skip = FILLER_WORDS | WORDS_OF_NUMBERS
    out = [
        w
        for w in words(text)
        if w not in skip and len(w) > 1 and not _numberish(w) and stem(w) not in GENERIC_DOC_STEMS
    ]
    return list(dict.fromkeys(out))


def _numberish(word: str) -> bool:
    """A number as a word: ``12``, ``3rd``, ``2th`` (units such as ``km2`` or ``100km`` stay words)."""
    return bool(re.fullmatch(r"\d+(st|nd|rd|th)?", word))


def doc_words(tool: Tool) -> list[str]:
    """What ``tool``'s doc says: the ranking document (:func:`umi_edge.tools.ranking.tool_words`: name, description,
    parameter names and descriptions), its parameters' enum values and its
    :attr:`~umi_edge.tools.registry.Tool.keywords`."""
    extra = list(tool.keywords)
    for spec in tool.parameters.get("properties", {}).values():
        if isinstance(spec, dict):
            items = spec.get("items")
            for values in (spec.get("enum"), items.get("enum") if isinstance(items, dict) else None):
                if isinstance(values, list):
                    extra.extend(str(v) for v in values)
    return tool_words(tool) + words(" ".join(extra))


def held_keys(tools: Iterable[Tool]) -> set[str]:
    """Every match key (:func:`match_keys`) of the words the docs of ``tools`` hold."""
    held: set[str] = set()
    for t in tools:
        for w in doc_words(t):
            held |= match_keys(w)
    return held


def unheld_words(questions: Sequence[str], tools: Iterable[Tool]) -> list[str]:
    """The content words of the latest of ``questions`` when no word of any of ``questions`` is held by a doc of
    ``tools`` (the run may not call); [] when some word is held or the questions have no content word."""
    asked = [w for q in questions for w in content_words(q)]
    latest = content_words(questions[-1]) if questions else []
    if not asked or not latest:
        return []
    held = held_keys(tools)
    if any(match_keys(w) & held for w in asked):
        return []
    return latest


def held_share(question: str, tools: Iterable[Tool]) -> float | None:
    """The share of ``question``'s content words that a doc of ``tools`` holds (as :func:`unheld_words` matches
    them), or None when the question has no content word."""
    asked = content_words(question)
    if not asked:
        return None
    held = held_keys(tools)
    return sum(1 for w in asked if match_keys(w) & held) / len(asked)
