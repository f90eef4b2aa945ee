"""OpenAI chat-completions requests as α-UMi turns, and the client's tools as a docs-only registry.

The server keeps no state: every request carries the whole conversation, which is mapped back to α-UMi turns:

- ``system`` / ``developer`` messages before the first user message go before its text (a blank line between);
- ``user`` → a ``user`` turn (text content, or text parts);
- ``assistant`` with ``tool_calls`` → per call a planner turn (the message's content as the thought of the first,
  ``Next: caller.``), the caller turn ``Action: NAME\\nAction Input: {json}`` and the observation from the
  ``tool`` message with that ``tool_call_id``;
- ``assistant`` without calls → a planner turn routing to the conclusion, then the ``conclusion`` turn;
- the last message must be ``user`` or ``tool``: that is what the next step answers.

Everything the mapping cannot read is an :class:`ApiError` (HTTP 400, OpenAI's error shape). Hand-written: the
mapping is α-UMi-specific; requests are plain JSON, validated field by field with one-line messages.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import jsonschema

from umi_edge.formats.parse import render_call, render_plan
from umi_edge.tools.registry import Tool, ToolRegistry


@dataclass
class ApiError(Exception):
    """An error answered in OpenAI's shape ``{"error": {"message", "type", "param", "code"}}``."""

    status: int
    message: str
    type: str = "invalid_request_error"
    param: str | None = None
    code: str | None = None
    headers: dict[str, str] = field(default_factory=dict)

    def body(self) -> dict[str, Any]:
        return {"error": {"message": self.message, "type": self.type, "param": self.param, "code": self.code}}


def bad(message: str, param: str | None = None, code: str | None = None) -> ApiError:
    return ApiError(400, message, param=param, code=code)


@dataclass
class ChatRequest:
    """The fields of a chat-completions request that the server uses."""

    model: str
    turns: list[dict[str, str]]
    earlier: int
    tools: ToolRegistry | None
    tool_choice: str | None  # "auto" | "none" | "required" | a function name
    stream: bool
    max_tokens: int | None


def _text(content: Any, where: str) -> str:
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        parts = []
        for i, part in enumerate(content):
            if not isinstance(part, Mapping) or part.get("type") != "text" or not isinstance(part.get("text"), str):
                raise bad(f"{where}[{i}]: only text content parts are supported", param=where)
            parts.append(part["text"])
        return "".join(parts)
    raise bad(f"{where}: expected a string or a list of text parts", param=where)


def client_tools(tools: Any) -> ToolRegistry:
    """The request's ``tools`` (``[{"type": "function", "function": {name, description, parameters}}]``)."""
    if not isinstance(tools, list) or not tools:
        raise bad("tools: expected a non-empty list of function tools", param="tools")
    reg = ToolRegistry()
    for i, t in enumerate(tools):
        where = f"tools[{i}]"
        fn = t.get("function") if isinstance(t, Mapping) else None
        if not isinstance(t, Mapping) or t.get("type") != "function" or not isinstance(fn, Mapping):
            raise bad(f"{where}: expected {{'type': 'function', 'function': {{...}}}}", param=where)
        name = fn.get("name")
        if not isinstance(name, str) or not name:
            raise bad(f"{where}.function.name: expected a non-empty string", param=f"{where}.function.name")
        params = fn.get("parameters") or {"type": "object", "properties": {}}
        if not isinstance(params, Mapping) or params.get("type", "object") != "object":
            raise bad(f"{where}.function.parameters: expected a JSON Schema of type object", param=where)
        try:
            tool = Tool(name=name, description=str(fn.get("description") or ""), parameters=dict(params))
        except (jsonschema.SchemaError, ValueError) as exc:
            msg = str(exc).splitlines()[0][:200]
            raise bad(f"{where}.function.parameters: invalid JSON Schema: {msg}", param=where) from None
        if name in reg:
            raise bad(f"{where}.function.name: {name!r} is given twice", param=where)
        reg.add(tool)
    return reg


def tool_choice(value: Any, tools: ToolRegistry | None) -> str | None:
    if value is None:
        return None
    if value in ("auto", "none", "required"):
        return str(value)
    if isinstance(value, Mapping) and value.get("type") == "function":
        name = (value.get("function") or {}).get("name")
        if tools is None or name not in tools:
            raise bad(f"tool_choice: function {name!r} is not among the request's tools", param="tool_choice")
        return str(name)
    raise bad("tool_choice: expected 'auto', 'none', 'required' or {'type': 'function', ...}", param="tool_choice")


def conversation(messages: Any) -> tuple[list[dict[str, str]], int]:
    """``(turns, earlier)``: the α-UMi turns of ``messages`` and how many belong to earlier questions."""
    if not isinstance(messages, list) or not messages:
        raise bad("messages: expected a non-empty list", param="messages")
    turns: list[dict[str, str]] = []
    system: list[str] = []
    pending: list[dict[str, Any]] = []  # the last assistant message's calls, waiting for their tool messages
    results: dict[str, str] = {}
    last_user = 0

    def flush() -> None:
        if not pending:
            return
        missing = [c["id"] for c in pending if c["id"] not in results]
        if missing:
            raise bad(f"messages: tool call {missing[0]!r} has no tool message with its result", param="messages")
        for c in pending:
            turns.append({"from": "assistant", "value": render_plan(c["thought"], "call")})
            turns.append({"from": "caller", "value": render_call(c["name"], c["arguments"])})
            turns.append({"from": "observation", "value": results[c["id"]]})
        pending.clear()
        results.clear()

    for i, m in enumerate(messages):
        where = f"messages[{i}]"
        if not isinstance(m, Mapping):
            raise bad(f"{where}: expected an object", param=where)
        role = m.get("role")
        if role != "tool":
            flush()
        if role in ("system", "developer"):
            if turns:
                raise bad(f"{where}: a {role} message is only read before the first user message", param=where)
            system.append(_text(m.get("content"), f"{where}.content"))
        elif role == "user":
            text = _text(m.get("content"), f"{where}.content")
            if system and not turns:
                text = "\n\n".join([*system, text])
            last_user = len(turns)
            turns.append({"from": "user", "value": text})
        elif role == "assistant":
            if not turns:
                raise bad(f"{where}: an assistant message before any user message", param=where)
            content = _text(m.get("content"), f"{where}.content").strip()
            calls = m.get("tool_calls") or []
            if not calls:
                turns.append({"from": "assistant", "value": render_plan("I can answer now.", "finish")})
                turns.append({"from": "conclusion", "value": content})
            for k, c in enumerate(calls):
                fn = c.get("function") if isinstance(c, Mapping) else None
                if not isinstance(fn, Mapping) or not isinstance(c.get("id"), str):
                    raise bad(f"{where}.tool_calls[{k}]: expected {{id, type, function: {{name, arguments}}}}")
                try:
                    args = json.loads(fn.get("arguments") or "{}")
                except (TypeError, json.JSONDecodeError):
                    raise bad(f"{where}.tool_calls[{k}].function.arguments: not a JSON object text") from None
                if not isinstance(args, dict):
                    raise bad(f"{where}.tool_calls[{k}].function.arguments: not a JSON object text")
                name = str(fn.get("name"))
                thought = content if k == 0 and content else f"I will call {name}."
                pending.append({"id": c["id"], "name": name, "arguments": args, "thought": thought})
        elif role == "tool":
            ident = m.get("tool_call_id")
            if not pending or ident not in {c["id"] for c in pending}:
                raise bad(f"{where}: tool message for {ident!r}, which no assistant message called", param=where)
            results[str(ident)] = _text(m.get("content"), f"{where}.content")
        else:
            raise bad(f"{where}.role: expected system, user, assistant or tool, got {role!r}", param=where)
    last = messages[-1].get("role")
    flush()
    if last not in ("user", "tool"):
        raise bad("messages: the last message must be a user or tool message (nothing to answer)", param="messages")
    return turns, last_user


def parse_request(body: Any) -> ChatRequest:
    """Read a chat-completions body, or raise :class:`ApiError`."""
    if not isinstance(body, Mapping):
        raise bad("expected a JSON object")
    model = body.get("model")
    if not isinstance(model, str) or not model:
        raise bad("model: expected a model id (GET /v1/models lists them)", param="model")
    turns, earlier = conversation(body.get("messages"))
    tools = client_tools(body["tools"]) if body.get("tools") is not None else None
    choice = tool_choice(body.get("tool_choice"), tools)
    max_tokens = body.get("max_completion_tokens", body.get("max_tokens"))
    if max_tokens is not None and (not isinstance(max_tokens, int) or max_tokens < 1):
        raise bad("max_tokens: expected a positive integer", param="max_tokens")
    return ChatRequest(model, turns, earlier, tools, choice, bool(body.get("stream")), max_tokens)


def finished_message(content: str, calls: Sequence[Mapping[str, Any]] = ()) -> dict[str, Any]:
    msg: dict[str, Any] = {"role": "assistant", "content": content}
    if calls:
        msg["tool_calls"] = list(calls)
    return msg
