"""``umi-edge serve``: the OpenAI-compatible HTTP API (:mod:`umi_edge.serve`), on uvicorn."""

from __future__ import annotations

import argparse
import ipaddress
import os

from umi_edge.commands import _options as opt
from umi_edge.errors import UserError

API_KEY_ENV = "UMI_EDGE_API_KEY"


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "serve",
        help="serve the agent over an OpenAI-compatible HTTP API (/v1/chat/completions, /v1/models)",
        description="Serve the bundle's α-UMi roles over OpenAI's chat-completions API. Model 'umi-edge' takes "
        "the client's tools: the planner decides, the caller's grammar-constrained call comes back as tool_calls, "
        "the client runs it and sends the tool message back; the summarizer's answer ends it. Model "
        "'umi-edge-agent' runs the whole loop on the server's tools (sandboxed, --approve decides; nothing is "
        "asked over HTTP). One generation at a time; --queue requests wait, more get 503. Binds to loopback; "
        f"any other address needs --api-key or ${API_KEY_ENV}. Needs the serve extra (pip install 'umi-edge[serve]').",
        epilog="example: umi-edge serve --port 8080   # then: OpenAI(base_url='http://127.0.0.1:8080/v1', api_key='x')",
    )
    opt.add_engine_options(p)
    opt.add_agent_options(p)
    opt.add_tool_options(p)
    opt.add_workspace_options(p)
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1, loopback only)")
    p.add_argument("--port", type=opt.int_at_least(0), default=8080, help="port (default 8080; 0: any free port)")
    p.add_argument("--api-key", default=None, help=f"require 'Authorization: Bearer KEY' (or set ${API_KEY_ENV})")
    p.add_argument(
        "--queue", type=opt.int_at_least(0), default=8, metavar="N", help="requests that may wait (default 8)"
    )
    p.set_defaults(func=handler)


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def handler(args: argparse.Namespace) -> int:
    key = args.api_key or os.environ.get(API_KEY_ENV) or None
    if not is_loopback(args.host) and not key:
        raise UserError(f"--host {args.host}: binding beyond loopback needs an API key (--api-key or ${API_KEY_ENV})")
    try:
        import uvicorn

        from umi_edge.serve.app import ServerState, create_app
    except ModuleNotFoundError as exc:
        raise UserError(f"serve needs the serve extra: pip install 'umi-edge[serve]' ({exc.name} is missing)") from None
    from umi_edge.engine import Engine

    workspace = opt.workspace(args)
    registry = opt.tool_registry(args)
    engine = Engine.from_bundle(opt.bundle_path(args), opt.engine_options(args))
    state = ServerState(engine, registry, opt.agent_config(args), workspace, api_key=key, queue_size=args.queue)
    try:
        uvicorn.run(create_app(state), host=args.host, port=args.port, log_level="info")
    finally:
        engine.close()
    return 0
