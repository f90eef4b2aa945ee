"""The Starlette app of ``umi-edge serve``: OpenAI's ``/v1/chat/completions`` and ``/v1/models``, and ``/health``.

- **Models.** :data:`STEP_MODEL` runs one α-UMi step on the client's ``tools`` (the client runs them and sends
  ``tool`` messages back); :data:`AGENT_MODEL` runs the whole loop on the server's registered tools, in the
  sandbox, with the server's approval policy (nothing can be asked over HTTP), and returns the answer with the
  trajectory in the extra field ``umi_edge``.
- **Concurrency.** The roles' llama.cpp contexts serve one generation at a time: requests wait in a queue of at most
  ``queue_size`` (the one running not counted); when it is full the answer is 503 with ``Retry-After``.
- **Errors** have OpenAI's shape and never carry a traceback; the server keeps serving.
- **Streaming** (``stream: true``): Server-Sent Events in OpenAI's chunk format; the summarizer's answer streams
  token by token, a tool call comes as one chunk. A client that disconnects cancels the generation.
- **Auth.** With an API key, every request needs ``Authorization: Bearer KEY`` (else 401).
"""

from __future__ import annotations

import asyncio
import json
import secrets
import threading
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from umi_edge.agent.config import AgentConfig
from umi_edge.engine import ContextOverflow, Engine
from umi_edge.errors import UserError
from umi_edge.serve.mapping import ApiError, ChatRequest, finished_message, parse_request
from umi_edge.serve.step import StepResult, run_step
from umi_edge.tools.registry import ToolRegistry

STEP_MODEL = "umi-edge"
AGENT_MODEL = "umi-edge-agent"
DEFAULT_QUEUE = 8


@dataclass
class ServerState:
    engine: Engine
    registry: ToolRegistry
    config: AgentConfig
    workspace: Path
    api_key: str | None = None
    queue_size: int = DEFAULT_QUEUE
    waiting: int = 0
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    served: int = 0


def _error(exc: ApiError) -> JSONResponse:
    return JSONResponse(exc.body(), status_code=exc.status, headers=exc.headers)


def _check_key(st: ServerState, request: Request) -> None:
    if st.api_key is None:
        return
    got = request.headers.get("authorization", "")
    if not secrets.compare_digest(got.encode(), f"Bearer {st.api_key}".encode()):
        raise ApiError(401, "invalid or missing API key (Authorization: Bearer KEY)", code="invalid_api_key")


def _models() -> list[dict[str, Any]]:
    now = int(time.time())
    return [{"id": m, "object": "model", "created": now, "owned_by": "umi-edge"} for m in (STEP_MODEL, AGENT_MODEL)]


async def _body(request: Request) -> Any:
    raw = await request.body()
    try:
        return json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ApiError(400, f"the request body is not valid JSON: {exc}") from None


class _Gate:
    """The bounded queue: one generation at a time, at most ``queue_size`` waiting.

    The lock is released when the worker thread ends, not when the request's task does: a cancelled request (a
    client that went away) must not let a second generation into the same llama.cpp contexts while the first is
    still stopping."""

    def __init__(self, st: ServerState) -> None:
        self.st = st

    async def enter(self) -> None:
        if self.st.lock.locked() and self.st.waiting >= self.st.queue_size:
            raise ApiError(503, "the server is busy; retry later", type="server_busy", headers={"Retry-After": "1"})
        self.st.waiting += 1
        try:
            await self.st.lock.acquire()
        finally:
            self.st.waiting -= 1

    def start(self, fn: Any, *args: Any) -> asyncio.Future[Any]:
        """Run ``fn(*args)`` in a worker thread; the gate opens when it ends."""
        future = asyncio.get_running_loop().run_in_executor(None, fn, *args)
        future.add_done_callback(lambda _: self._release())
        return future

    def _release(self) -> None:
        self.st.served += 1
        self.st.lock.release()


def _completion(req: ChatRequest, res: StepResult, extra: dict[str, Any] | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": "chatcmpl-" + uuid.uuid4().hex[:24],
        "object": "chat.completion",
        "created": int(time.time()),
        "model": req.model,
        "choices": [
            {"index": 0, "message": finished_message(res.content, res.calls), "finish_reason": res.finish_reason}
        ],
        "usage": {
            "prompt_tokens": res.prompt_tokens,
            "completion_tokens": res.completion_tokens,
            "total_tokens": res.prompt_tokens + res.completion_tokens,
        },
    }
    if extra is not None:
        out["umi_edge"] = extra
    return out


def _config(st: ServerState, req: ChatRequest) -> AgentConfig:
    if req.max_tokens is None:
        return st.config
    return replace(st.config, max_new_tokens=dict.fromkeys(st.config.max_new_tokens, req.max_tokens))


def _run(st: ServerState, req: ChatRequest, cancel: threading.Event, on_token: Any) -> tuple[StepResult, Any]:
    """The blocking part (in a worker thread): one step, or the whole agent loop for :data:`AGENT_MODEL`."""
    config = _config(st, req)
    try:
        if req.model == AGENT_MODEL:
            return _run_agent(st, req, config, cancel, on_token)
        if req.tools is None:
            raise ApiError(400, f"model {STEP_MODEL!r} needs the request's tools (or use {AGENT_MODEL!r})", "tools")
        res = run_step(
            st.engine, req.tools, req.turns, req.earlier, config,
            tool_choice=req.tool_choice, cancel=cancel, on_token=on_token,
        )  # fmt: skip
        return res, None
    except ContextOverflow as exc:
        raise ApiError(400, str(exc), code="context_length_exceeded") from None
    except UserError as exc:
        raise ApiError(400, str(exc)) from None


def _run_agent(
    st: ServerState, req: ChatRequest, config: AgentConfig, cancel: threading.Event, on_token: Any
) -> tuple[StepResult, dict[str, Any]]:
    from umi_edge.agent.agent import Agent
    from umi_edge.agent.events import Timing, TokenDelta

    if req.turns[-1]["from"] != "user":
        raise ApiError(400, f"model {AGENT_MODEL!r} runs its own tools: the last message must be a user message")
    agent = Agent(st.engine, st.registry, workspace=st.workspace, config=config)
    res = StepResult("stop", "")

    def relay() -> None:  # a client that went away (stream) cancels the agent
        cancel.wait()
        agent.cancel()

    threading.Thread(target=relay, daemon=True).start()
    for ev in agent.run(req.turns[-1]["value"], history=req.turns[:-1]):
        if isinstance(ev, TokenDelta) and ev.role == "summarizer":
            on_token(ev.role, ev.text)
        elif isinstance(ev, Timing):
            res.prompt_tokens += ev.prompt_tokens
            res.completion_tokens += ev.generated_tokens
    cancel.set()
    res.content = agent.answer or ("I could not answer this request." if agent.status != "finished" else "")
    summary = agent.summary()
    return res, {"status": agent.status, "conversation": summary["conversation"], "events": summary["events"]}


async def chat_completions(request: Request) -> Response:
    st: ServerState = request.app.state.umi
    try:
        _check_key(st, request)
        req = parse_request(await _body(request))
        if req.model not in (STEP_MODEL, AGENT_MODEL):
            raise ApiError(
                404, f"model {req.model!r} does not exist; GET /v1/models lists them", code="model_not_found"
            )
        if req.stream:
            return await _stream(st, req)
        cancel = threading.Event()
        gate = _Gate(st)
        await gate.enter()
        try:
            res, extra = await asyncio.shield(gate.start(_run, st, req, cancel, lambda role, text: None))
        except asyncio.CancelledError:
            cancel.set()
            raise
        return JSONResponse(_completion(req, res, extra))
    except ApiError as exc:
        return _error(exc)


def _chunk(req: ChatRequest, ident: str, delta: dict[str, Any], finish: str | None = None) -> str:
    body = {
        "id": ident,
        "object": "chat.completion.chunk",
        "created": int(time.time()),
        "model": req.model,
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }
    return f"data: {json.dumps(body, ensure_ascii=False)}\n\n"


async def _stream(st: ServerState, req: ChatRequest) -> Response:
    gate = _Gate(st)
    await gate.enter()  # a full queue answers 503 before the stream starts
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[tuple[str, Any]] = asyncio.Queue()
    cancel = threading.Event()

    def on_token(role: str, text: str) -> None:
        if role == "summarizer":
            loop.call_soon_threadsafe(queue.put_nowait, ("token", text))

    def work() -> None:
        try:
            res, _ = _run(st, req, cancel, on_token)
            loop.call_soon_threadsafe(queue.put_nowait, ("done", res))
        except ApiError as exc:
            loop.call_soon_threadsafe(queue.put_nowait, ("error", exc))
        except Exception as exc:  # noqa: BLE001 - reported to the client in OpenAI's shape, the server goes on
            loop.call_soon_threadsafe(
                queue.put_nowait, ("error", ApiError(500, f"{type(exc).__name__}: {exc}", "server_error"))
            )

    async def events() -> AsyncIterator[str]:
        ident = "chatcmpl-" + uuid.uuid4().hex[:24]
        try:
            yield _chunk(req, ident, {"role": "assistant", "content": ""})
            streamed = False
            while True:
                kind, value = await queue.get()
                if kind == "token":
                    streamed = True
                    yield _chunk(req, ident, {"content": value})
                elif kind == "error":
                    yield f"data: {json.dumps(value.body())}\n\n"
                    break
                else:
                    res: StepResult = value
                    if res.calls:
                        delta: dict[str, Any] = {"content": res.content} if res.content else {}
                        delta["tool_calls"] = [{"index": i, **c} for i, c in enumerate(res.calls)]
                        yield _chunk(req, ident, delta)
                    elif not streamed and res.content:
                        yield _chunk(req, ident, {"content": res.content})
                    yield _chunk(req, ident, {}, res.finish_reason)
                    break
            yield "data: [DONE]\n\n"
        finally:
            cancel.set()  # a client that went away stops the generation; the gate opens when it has stopped

    gate.start(work)  # started here, so the gate opens even if the response never starts streaming
    return StreamingResponse(events(), media_type="text/event-stream")


async def models(request: Request) -> Response:
    try:
        _check_key(request.app.state.umi, request)
    except ApiError as exc:
        return _error(exc)
    return JSONResponse({"object": "list", "data": _models()})


async def health(request: Request) -> Response:
    st: ServerState = request.app.state.umi
    return JSONResponse({"status": "ok", "model_loaded": bool(st.engine.roles), "busy": st.lock.locked(),
                         "waiting": st.waiting, "served": st.served})  # fmt: skip


async def _not_found(request: Request, exc: Exception) -> Response:
    return _error(ApiError(404, f"no route {request.url.path}", code="not_found"))


def create_app(st: ServerState) -> Starlette:
    app = Starlette(
        routes=[
            Route("/v1/chat/completions", chat_completions, methods=["POST"]),
            Route("/v1/models", models, methods=["GET"]),
            Route("/health", health, methods=["GET"]),
        ],
        exception_handlers={404: _not_found},
    )
    app.state.umi = st
    return app
