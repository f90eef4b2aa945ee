"""``umi-edge serve`` on a random loopback port, driven by the real ``openai`` client (and raw httpx for what the
client cannot send): tool calls, the round trip, streaming, the agent model, errors, the API key, the queue."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from edge_bundles import merged_bundle

pytest.importorskip("starlette")
pytest.importorskip("uvicorn")
openai = pytest.importorskip("openai")
httpx = pytest.importorskip("httpx")

from umi_edge.agent.config import AgentConfig  # noqa: E402
from umi_edge.engine import Engine, EngineOptions  # noqa: E402
from umi_edge.serve.app import AGENT_MODEL, STEP_MODEL, ServerState, create_app  # noqa: E402
from umi_edge.tools.registry import builtin_registry  # noqa: E402

FAST = {"planner": 24, "caller": 48, "summarizer": 16, "backbone": 32}
WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Current weather for a city.",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string", "description": "City name"}},
            "required": ["city"],
        },
    },
}


class Server:
    def __init__(self, state: ServerState) -> None:
        import uvicorn

        self.state = state
        self.server = uvicorn.Server(uvicorn.Config(create_app(state), host="127.0.0.1", port=0, log_level="warning"))
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()
        while not self.server.started:
            time.sleep(0.02)
        self.port = self.server.servers[0].sockets[0].getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"

    def client(self, key: str = "none") -> openai.OpenAI:
        return openai.OpenAI(base_url=self.url + "/v1", api_key=key, max_retries=0, timeout=120)

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=30)


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    eng = Engine.from_bundle(
        merged_bundle(tmp_path_factory.mktemp("serve"), context_length=1024), EngineOptions(threads=1)
    )
    yield eng
    eng.close()


@pytest.fixture(scope="module")
def server(engine: Engine, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    ws = tmp_path_factory.mktemp("ws")
    state = ServerState(
        engine, builtin_registry().subset(["calculator"]), AgentConfig(max_steps=2, max_new_tokens=dict(FAST)), ws
    )
    s = Server(state)
    yield s
    s.stop()


def _ask(client: openai.OpenAI, **kw):
    messages = kw.pop("messages", [{"role": "user", "content": "What is the weather in Paris?"}])
    return client.chat.completions.create(model=STEP_MODEL, messages=messages, tools=[WEATHER], **kw)


def test_tool_call_and_round_trip(server: Server) -> None:
    client = server.client()
    first = _ask(client, tool_choice="required")
    choice = first.choices[0]
    assert choice.finish_reason == "tool_calls"
    call = choice.message.tool_calls[0]
    assert call.function.name == "get_weather"
    assert set(json.loads(call.function.arguments)) == {"city"}  # the caller's grammar follows the schema
    assert first.usage.prompt_tokens > 0
    messages = [
        {"role": "user", "content": "What is the weather in Paris?"},
        {"role": "assistant", "content": choice.message.content, "tool_calls": [call.model_dump()]},
        {"role": "tool", "tool_call_id": call.id, "content": json.dumps({"temp_c": 17, "sky": "clear"})},
    ]
    second = _ask(client, messages=messages, tool_choice="none")
    assert second.choices[0].finish_reason == "stop"
    assert isinstance(second.choices[0].message.content, str) and not second.choices[0].message.tool_calls


def test_streaming(server: Server) -> None:
    client = server.client()
    chunks = list(_ask(client, tool_choice="required", stream=True))
    assert chunks[0].choices[0].delta.role == "assistant"
    calls = [c for ch in chunks for c in (ch.choices[0].delta.tool_calls or [])]
    assert calls and calls[0].function.name == "get_weather"
    assert chunks[-1].choices[0].finish_reason == "tool_calls"
    text = list(_ask(client, tool_choice="none", stream=True, max_tokens=8))
    assert text[-1].choices[0].finish_reason == "stop"
    assert sum(bool(ch.choices[0].delta.content) for ch in text) >= 1


def test_models_and_health(server: Server) -> None:
    ids = {m.id for m in server.client().models.list()}
    assert ids == {STEP_MODEL, AGENT_MODEL}
    health = httpx.get(server.url + "/health").json()
    assert health["status"] == "ok" and health["model_loaded"] is True


def test_agent_model_runs_the_loop(server: Server) -> None:
    out = server.client().chat.completions.create(
        model=AGENT_MODEL, messages=[{"role": "user", "content": "What is 6 times 7?"}]
    )
    extra = out.model_extra["umi_edge"]
    assert extra["status"] in {"finished", "gave_up", "max_steps"}
    assert extra["conversation"][0] == {"from": "user", "value": "What is 6 times 7?"}
    assert any(e["type"] == "PlanDecided" for e in extra["events"])


@pytest.mark.parametrize(
    ("body", "status", "needle"),
    [
        ("{not json", 400, "not valid JSON"),
        ({"model": "gpt-4", "messages": [{"role": "user", "content": "hi"}]}, 404, "does not exist"),
        ({"model": STEP_MODEL, "messages": [{"role": "assistant", "content": "hi"}]}, 400, "before any user"),
        ({"model": STEP_MODEL, "messages": [{"role": "tool", "tool_call_id": "x", "content": "{}"}]}, 400,
         "no assistant"),
        ({"model": STEP_MODEL, "messages": [{"role": "user", "content": "hi"}],
          "tools": [{"type": "function", "function": {"name": "f", "parameters": {"properties": 3}}}]},
         400, "invalid JSON Schema"),
        ({"model": STEP_MODEL, "messages": [{"role": "user", "content": "hi"}],
          "tools": [{"type": "function", "function": {"name": "f", "description": "word " * 3000}}]},
         400, "does not fit"),
        ({"model": STEP_MODEL, "messages": [{"role": "user", "content": "hi"}]}, 400, "needs the request's tools"),
    ],
)  # fmt: skip
def test_bad_requests_get_openai_errors(server: Server, body: object, status: int, needle: str) -> None:
    raw = body if isinstance(body, str) else json.dumps(body)
    r = httpx.post(
        server.url + "/v1/chat/completions", content=raw, headers={"content-type": "application/json"}, timeout=120
    )
    assert r.status_code == status, r.text
    err = r.json()["error"]
    assert needle in err["message"] and set(err) == {"message", "type", "param", "code"}
    assert "Traceback" not in r.text
    assert httpx.get(server.url + "/health").json()["status"] == "ok"  # still serving


def test_api_key_and_full_queue(engine: Engine, tmp_path: Path) -> None:
    config = AgentConfig(max_new_tokens=dict(FAST))
    calc = builtin_registry().subset(["calculator"])
    state = ServerState(engine, calc, config, tmp_path, api_key="sekret", queue_size=0)
    s = Server(state)
    try:
        with pytest.raises(openai.AuthenticationError):
            _ask(s.client("wrong"))
        client = s.client("sekret")
        long = {
            "messages": [{"role": "user", "content": "Tell a long story."}],
            "tool_choice": "none",
            "max_tokens": 400,
        }
        done: list = []
        t = threading.Thread(target=lambda: done.append(_ask(client, **long)))
        t.start()
        headers = {"authorization": "Bearer sekret"}
        while not httpx.get(s.url + "/health").json()["busy"]:
            time.sleep(0.01)
        busy = {"model": STEP_MODEL, "messages": [{"role": "user", "content": "hi"}], "tools": [WEATHER]}
        r = httpx.post(s.url + "/v1/chat/completions", headers=headers, timeout=60, json=busy)
        assert r.status_code == 503 and r.headers["retry-after"] == "1" and r.json()["error"]["type"] == "server_busy"
        t.join()
        assert done and done[0].choices[0].finish_reason == "stop"
    finally:
        s.stop()


def test_disconnect_cancels_the_stream(server: Server, engine: Engine) -> None:
    from umi_edge.formats.history import serialize_history
    from umi_edge.formats.parse import render_plan
    from umi_edge.formats.prompts import build_input, model_prompt

    story = "Tell a long story."
    body = {"model": STEP_MODEL, "messages": [{"role": "user", "content": story}], "tools": [WEATHER],
            "tool_choice": "none", "max_tokens": 600, "stream": True}  # fmt: skip
    served = httpx.get(server.url + "/health").json()["served"]
    with httpx.stream("POST", server.url + "/v1/chat/completions", json=body, timeout=60) as r:
        lines = r.iter_lines()
        assert next(lines).startswith("data: ")  # the role chunk
        while not next(lines).startswith("data: "):  # the first token of the answer
            pass
    while httpx.get(server.url + "/health").json()["busy"]:
        time.sleep(0.05)
    assert httpx.get(server.url + "/health").json()["served"] == served + 1
    turns = [{"from": "user", "value": story}, {"from": "assistant", "value": render_plan("", "finish")}]
    prompt = engine.count_tokens(
        "summarizer", model_prompt(build_input("summarizer", doc="", history=serialize_history(turns)))
    )
    generated = len(engine.role("summarizer").tokens) - prompt
    whole = _ask(server.client(), messages=body["messages"], tool_choice="none", max_tokens=600)  # not cancelled
    assert 0 < generated < whole.usage.completion_tokens, (generated, whole.usage.completion_tokens)
