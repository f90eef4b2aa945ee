"""MCP tools (issue 18): a small stdio MCP server written here with the real SDK; its tools join the registry, calls
go through it, errors and a dead server become observations, clashing names are prefixed, and the agent uses them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("mcp")

from umi_edge.tools.mcp import McpServer, add_mcp_tools  # noqa: E402
from umi_edge.tools.registry import builtin_registry  # noqa: E402

SERVER = '''
import sys
from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import ToolAnnotations

app = MCPServer("{name}")

@app.tool(annotations=ToolAnnotations(readOnlyHint=True))
def tank_refill_cost(litres: float, price_per_litre: float) -> float:
    """Cost of refilling a fuel tank.

    Args:
        litres: Litres to fill.
        price_per_litre: Price of one litre.
    """
    return round(litres * price_per_litre, 2)

@app.tool()
def calculator(expression: str) -> str:
    """A clashing name."""
    return "not the built-in"

@app.tool()
def explode() -> str:
    """Always fails."""
    raise ToolError("boom")

@app.tool()
def die() -> str:
    """Ends the server process."""
    sys.exit(3)

app.run()
'''


@pytest.fixture
def server_file(tmp_path: Path) -> Path:
    p = tmp_path / "fuel_server.py"
    p.write_text(SERVER.replace("{name}", "fuel"), encoding="utf-8")
    return p


def test_mcp_tools_join_the_registry_and_run(server_file: Path, tmp_path: Path) -> None:
    reg = builtin_registry()
    servers = add_mcp_tools(reg, [f"{sys.executable} {server_file}"], cwd=tmp_path)
    try:
        assert [s.name for s in servers] == ["fuel"]
        t = reg.get("tank_refill_cost")
        assert t is not None and t.effect == "read" and set(t.parameters["properties"]) == {"litres", "price_per_litre"}
        assert reg.get("fuel__calculator") is not None and reg.get("calculator").description != "A clashing name."
        assert reg.get("explode").effect == "write"  # no read-only hint: the approval policy asks
        ok = reg.call("tank_refill_cost", {"litres": 40, "price_per_litre": 1.8}, workspace=tmp_path)
        assert not ok.is_error and "72" in ok.content
        bad = reg.call("tank_refill_cost", {"litres": "x"}, workspace=tmp_path)
        assert bad.is_error  # checked against the inputSchema before the server sees it
        err = reg.call("explode", {}, workspace=tmp_path)
        assert err.is_error and "boom" in err.content
        dead = reg.call("die", {}, workspace=tmp_path)
        assert dead.is_error
        after = reg.call("tank_refill_cost", {"litres": 1, "price_per_litre": 1}, workspace=tmp_path)
        assert after.is_error and ("not running" in after.content or "Connection closed" in after.content)
    finally:
        for s in servers:
            s.close()


def test_a_server_that_fails_to_start_is_left_out(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    reg = builtin_registry()
    before = reg.names()
    assert add_mcp_tools(reg, [f"{sys.executable} -c 'import sys; sys.exit(1)'"]) == []
    assert reg.names() == before
    assert "left out" in capsys.readouterr().err
    assert McpServer(f"{sys.executable} -c pass", timeout=10).error


def test_run_uses_an_mcp_tool(server_file: Path, tmp_path: Path) -> None:
    """`umi-edge run --mcp` on a real bundle: the MCP tool is offered and the caller's grammar covers it."""
    pytest.importorskip("llama_cpp")
    from edge_bundles import merged_bundle

    bundle = merged_bundle(tmp_path / "b", context_length=2048)
    (tmp_path / "ws").mkdir()
    out = subprocess.run(
        [sys.executable, "-m", "umi_edge", "run", "What does refilling 40 litres at 1.8 cost?", "--json",
         "--bundle", str(bundle), "--threads", "1", "--max-steps", "1", "--max-tokens", "128",
         "--mcp", f"{sys.executable} {server_file}", "--only-tools", "calculator,tank_refill_cost",
         "--workspace", str(tmp_path / "ws"), "--no-transcript", "--approve", "all"],
        capture_output=True, text=True, timeout=600, stdin=subprocess.DEVNULL, env=dict(os.environ),
    )  # fmt: skip
    assert out.returncode in (0, 1), out.stderr[-2000:]
    doc = json.loads(out.stdout)
    calls = [e for e in doc["events"] if e["type"] == "ToolCall"]
    offered = {"calculator", "tank_refill_cost"}  # --only-tools names an MCP tool too, and leaves the others out
    assert calls and calls[0]["name"] in offered and calls[0]["valid"], calls


PROBE_SERVER = '''
import os, socket
from mcp.server.mcpserver import MCPServer

app = MCPServer("probe")

@app.tool()
def try_write(path: str) -> str:
    """Write a file."""
    try:
        with open(path, "w") as fh:
            fh.write("x")
        return "written"
    except OSError as exc:
        return f"denied: {exc.strerror}"

@app.tool()
def try_connect(port: int) -> str:
    """Connect to a TCP port on loopback."""
    try:
        socket.create_connection(("127.0.0.1", port), timeout=5).close()
        return "connected"
    except OSError as exc:
        return f"denied: {exc.strerror}"

@app.tool()
def secret_env() -> str:
    """The parent's secret, if it leaked."""
    return os.environ.get("UMI_TEST_SECRET", "absent")

app.run()
'''


@pytest.mark.parametrize("network", [False, True])
def test_a_server_runs_inside_the_sandbox(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, network: bool) -> None:
    import socket

    from umi_edge.sandbox.layers import Layer
    from umi_edge.sandbox.status import sandbox_status
    from umi_edge.tools.mcp import McpSandbox

    status = sandbox_status()
    if not status[Layer.LANDLOCK].active:
        pytest.skip(f"Landlock does not work here: {status.detail(Layer.LANDLOCK)}")
    server = tmp_path / "srv" / "probe_server.py"
    server.parent.mkdir()
    server.write_text(PROBE_SERVER, encoding="utf-8")
    ws, outside = tmp_path / "ws", tmp_path / "outside"
    ws.mkdir()
    outside.mkdir()
    monkeypatch.setenv("UMI_TEST_SECRET", "s3cret")
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    reg = builtin_registry()
    servers = add_mcp_tools(reg, [f"{sys.executable} {server}"], cwd=ws, sandbox=McpSandbox(network=network))
    try:
        assert [s.name for s in servers] == ["probe"]

        def call(name: str, args: dict) -> str:
            res = reg.call(name, args, workspace=ws)
            assert not res.is_error, res.content
            return res.content

        assert "written" in call("try_write", {"path": str(ws / "in.txt")}) and (ws / "in.txt").exists()
        assert "denied" in call("try_write", {"path": str(outside / "out.txt")})
        assert not (outside / "out.txt").exists()
        assert "absent" in call("secret_env", {})  # the scrubbed environment
        got = call("try_connect", {"port": port})
        assert ("connected" in got) is network, got
    finally:
        for s in servers:
            s.close()
        listener.close()


def test_chat_offers_the_mcp_tools(server_file: Path, tmp_path: Path) -> None:
    """`umi-edge chat --mcp`: the chat backend's registry holds the server's tools (narrowed by --only-tools)."""
    from umi_edge.cli import build_parser
    from umi_edge.tui.backend import Backend, ChatOptions

    args = build_parser().parse_args(
        ["chat", "--mcp", f"{sys.executable} {server_file}", "--only-tools", "tank_refill_cost,read_file"]
    )
    assert args.mcp == [f"{sys.executable} {server_file}"] and not args.mcp_network
    backend = Backend(ChatOptions(mcp=args.mcp, only_tools=["tank_refill_cost", "read_file"], workspace=tmp_path))
    assert backend.registry is not None, backend._registry_error
    assert backend.registry.names() == ["tank_refill_cost", "read_file"]
    res = backend.registry.call("tank_refill_cost", {"litres": 10, "price_per_litre": 2}, workspace=tmp_path)
    assert not res.is_error and "20" in res.content
