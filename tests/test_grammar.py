"""The constrained Caller grammar: built from the registry, validated before use, never names an unknown tool."""

from __future__ import annotations

from pathlib import Path

import llama_cpp
import pytest
from edge_bundles import merged_bundle

from umi_edge.engine import Engine, EngineOptions, GrammarError, caller_grammar, validate_gbnf
from umi_edge.engine.grammar import MAX_ANY_ORDER
from umi_edge.engine.grammar_sampling import GrammarSampler
from umi_edge.formats.parse import parse_call
from umi_edge.tools.registry import builtin_registry

# A prompt that makes the untrained model write a tool that is not registered.
TEMPTING = (
    "<|im_start|>user\nSearch the web for today's news. Answer in the form\n"
    "Action: <tool>\nAction Input: <JSON><|im_end|>\n<|im_start|>assistant\nAction: web_search\nAction Input: "
)
CALL_PROMPT = "<|im_start|>user\nWhich tool should I call to search the web?<|im_end|>\n<|im_start|>assistant\n"


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Engine:
    d = merged_bundle(tmp_path_factory.mktemp("g"), context_length=512)
    eng = Engine.from_bundle(d, EngineOptions(threads=1, context_length=512))
    yield eng
    eng.close()


def test_every_builtin_tool_schema_makes_a_valid_grammar(engine: Engine) -> None:
    reg = builtin_registry()
    gbnf = engine.tool_grammar((t.name, t.parameters) for t in reg.tools())
    for name in reg.names():
        assert f'"{name}"' in gbnf
    validate_gbnf(engine.role("caller").model.vocab, gbnf)


@pytest.mark.parametrize(
    "gbnf",
    ['root ::= "a" | (', "root ::= undefined-rule", "", 'start ::= "x"', 'root ::= "unterminated'],
)
def test_invalid_grammar_is_rejected_without_a_crash(engine: Engine, gbnf: str) -> None:
    with pytest.raises(GrammarError):
        validate_gbnf(engine.role("caller").model.vocab, gbnf)
    gen = engine.generate("caller", CALL_PROMPT, grammar=gbnf, max_tokens=4)
    with pytest.raises(GrammarError):
        next(gen)
    # still alive and usable
    assert engine.complete("caller", CALL_PROMPT, max_tokens=2).generated_tokens == 2


def test_no_tools_or_unconvertible_schema_is_a_grammar_error() -> None:
    with pytest.raises(GrammarError, match="no tools"):
        caller_grammar([])
    with pytest.raises(GrammarError, match="bad"):
        caller_grammar([("bad", {"type": "object", "properties": {"x": {"$ref": "#/definitions/missing"}}})])


def test_constrained_caller_never_names_an_unknown_tool(engine: Engine) -> None:
    reg = builtin_registry().subset(["calculator", "list_files", "date_calc"])
    unconstrained = engine.complete("caller", TEMPTING, max_tokens=24)
    # the untrained model, left alone, does not produce a registered call
    try:
        call = parse_call("Action: web_search\nAction Input: " + unconstrained.text)
        assert call.name not in reg
    except ValueError:
        pass
    gbnf = engine.tool_grammar((t.name, t.parameters) for t in reg.tools())
    for prompt in (TEMPTING, CALL_PROMPT):
        g = engine.complete("caller", prompt, grammar=gbnf, max_tokens=64)
        assert g.constrained and g.text.lstrip(" ").startswith("Action: ")
        name = g.text.lstrip(" ").split("\n", 1)[0].removeprefix("Action: ")
        assert name in reg.names(), g.text
        if g.stop_reason == "eos":  # complete: the arguments are valid for that tool's schema
            call = parse_call(g.text)
            assert call.name == name and reg.validate(call.name, call.arguments) is None
        else:  # an untrained model may ramble inside a JSON string until max_tokens
            assert g.stop_reason == "length"


def test_grammar_forces_required_arguments(engine: Engine) -> None:
    schema = {
        "type": "object",
        "properties": {"city": {"type": "string"}, "unit": {"type": "string", "enum": ["C", "F"]}},
        "required": ["city", "unit"],
        "additionalProperties": False,
    }
    g = engine.complete("caller", CALL_PROMPT, grammar=caller_grammar([("weather", schema)]), max_tokens=64)
    call = parse_call(g.text)
    assert call.name == "weather" and set(call.arguments) == {"city", "unit"} and call.arguments["unit"] in "CF"


def test_grammar_is_cached_per_tool_set(engine: Engine, tmp_path: Path) -> None:
    tools = [("a", {"type": "object", "properties": {}})]
    assert engine.tool_grammar(tools) is engine.tool_grammar(list(tools))


def _accepts(engine: Engine, gbnf: str, text: str) -> bool:
    """Whether llama.cpp's grammar sampler lets ``text`` (as the model's tokens) through, then allows the end."""
    model = engine.role("caller").model
    sampler = GrammarSampler(model, None, gbnf)  # type: ignore[arg-type] - the chain is not used here
    try:
        for token in model.tokenize(text.encode("utf-8"), add_bos=False, special=False):
            if not sampler._allowed(token):
                return False
            llama_cpp.llama_sampler_accept(sampler.grammar, token)
        return sampler._allowed(model.token_eos())
    finally:
        sampler.close()


def test_arguments_may_come_in_any_order(engine: Engine) -> None:
    """JSON objects are unordered: a call that names `recursive` before `pattern` is not cut short after `true`."""
    reg = builtin_registry().subset(["list_files", "read_file"])
    gbnf = engine.tool_grammar((t.name, t.parameters) for t in reg.tools())
    validate_gbnf(engine.role("caller").model.vocab, gbnf)
    ok = [
        '{"recursive": true, "pattern": "titan.txt"}',
        '{"pattern": "titan.txt", "recursive": true}',
        '{"path": "docs", "recursive": false, "pattern": "*.csv"}',
        "{}",
    ]
    for args in ok:
        assert _accepts(engine, gbnf, f"Action: list_files\nAction Input: {args}"), args
    assert _accepts(engine, gbnf, 'Action: read_file\nAction Input: {"max_lines": 5, "path": "a.txt"}')
    bad = [
        ("list_files", '{"recursive": true, "recursive": false}'),  # a property twice
        ("list_files", '{"depth": 2}'),  # not a property of the closed schema
        ("read_file", '{"max_lines": 5}'),  # the required path is missing
        ("read_file", '{"path": "a.txt",}'),
    ]
    for name, args in bad:
        assert not _accepts(engine, gbnf, f"Action: {name}\nAction Input: {args}"), args


def _closed(props: dict[str, dict], required: list[str] | None = None) -> dict:
    return {"type": "object", "properties": props, "required": required or [], "additionalProperties": False}


def _numbered(n: int) -> dict:
    """A closed object of ``n`` required integer properties ``p0``..``p{n-1}``."""
    return _closed({f"p{i}": {"type": "integer"} for i in range(n)}, [f"p{i}" for i in range(n)])


def _json_in_order(keys: list[str]) -> str:
    return "{" + ", ".join(f'"{k}": {i}' for i, k in enumerate(keys)) + "}"


@pytest.mark.parametrize("n", [MAX_ANY_ORDER, MAX_ANY_ORDER + 1])
def test_any_order_up_to_max_any_order_properties_then_schema_order(engine: Engine, n: int) -> None:
    """Exactly ``MAX_ANY_ORDER`` properties: any order; one more: the converter's fixed schema order."""
    gbnf = caller_grammar([("t", _numbered(n))])
    validate_gbnf(engine.role("caller").model.vocab, gbnf)
    keys = [f"p{i}" for i in range(n)]
    assert _accepts(engine, gbnf, "Action: t\nAction Input: " + _json_in_order(keys))
    swapped = [keys[-1], *keys[1:-1], keys[0]]
    assert _accepts(engine, gbnf, "Action: t\nAction Input: " + _json_in_order(swapped)) == (n <= MAX_ANY_ORDER)
    assert not _accepts(engine, gbnf, "Action: t\nAction Input: " + _json_in_order(keys[:-1]))  # all required


def test_nested_closed_objects_take_any_order_too(engine: Engine) -> None:
    """Closed objects inside properties and array items get the any-order rule, at every depth."""
    inner = _closed({"c": {"type": "integer"}, "d": {"type": "string"}}, ["c"])
    opts = _closed({"a": {"type": "integer"}, "b": {"type": "boolean"}, "inner": inner}, ["a"])
    point = _closed({"x": {"type": "integer"}, "y": {"type": "integer"}}, ["x", "y"])
    schema = _closed(
        {"name": {"type": "string"}, "opts": opts, "points": {"type": "array", "items": point}},
        ["opts"],
    )
    gbnf = caller_grammar([("t", schema)])
    validate_gbnf(engine.role("caller").model.vocab, gbnf)
    ok = [
        '{"opts": {"b": true, "a": 1}}',
        '{"opts": {"inner": {"d": "z", "c": 3}, "a": 1}, "name": "n"}',
        '{"points": [{"y": 2, "x": 1}, {"x": 3, "y": 4}], "opts": {"a": 1}}',
    ]
    for args in ok:
        assert _accepts(engine, gbnf, f"Action: t\nAction Input: {args}"), args
    bad = [
        '{"opts": {"b": true}}',  # the nested required property is missing
        '{"opts": {"a": 1, "a": 2}}',  # a nested property twice
        '{"opts": {"a": 1, "z": 1}}',  # not a property of the nested closed object
        '{"opts": {"a": 1, "inner": {"d": "z"}}}',  # required at the second level
        '{"opts": {"a": 1}, "points": [{"y": 2}]}',  # required inside array items
    ]
    for args in bad:
        assert not _accepts(engine, gbnf, f"Action: t\nAction Input: {args}"), args
