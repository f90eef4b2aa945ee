"""Tools from MCP servers: ``--mcp "COMMAND ARGS"`` starts a stdio MCP server with the official ``mcp`` SDK, and
its tools join the registry (issue 18).

- Each MCP tool's ``inputSchema`` is the tool's JSON Schema, so the caller's grammar and the call checks cover it;
  ``annotations.readOnlyHint`` makes it a ``read`` tool, every other one is ``write``, so the approval policy
  asks before it runs, as for ``--tools`` functions.
- Names clash: when two servers (or a server and a registered tool) offer the same name, the later one is
  prefixed with its server's name (``server__tool``).
- A call returns the tool's structured content, else its text; an MCP error result, a timeout or a server that
  died becomes an error observation (``ToolError``), and the agent goes on. A server that fails to start is
  reported on stderr and left out.
- **Where it runs:** inside umi-edge's sandbox launcher (:func:`umi_edge.sandbox.spawn.launcher_command`), started
  by the SDK as a child process in the workspace, with the scrubbed environment and a private tmp. Landlock lets it
  write only there and read only the workspace, the interpreter, the system directories and the files its command
  line names; capabilities are dropped; rlimits cap memory and open files (not CPU seconds: it lives as long as
  the session). **No network** (a network namespace without interfaces, and Landlock's TCP rules) unless
  ``--mcp-network``. The seccomp layer is off for servers: it forbids new threads, which the SDK's stdio server
  uses to read stdin. Where no isolation layer works the server is left out, unless ``--unsafe-no-sandbox``;
  with ``sandbox=None`` (the Python API only) it runs as a plain child process.

The SDK is async; one background thread holds each server's event loop and session, and calls from the agent's
worker threads are handed to it with ``asyncio.run_coroutine_threadsafe``. Hand-written: only that bridge.
"""

from __future__ import annotations

import asyncio
import atexit
import os
import shlex
import shutil
import sys
import tempfile
import threading
from collections.abc import Iterable
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from umi_edge.errors import UserError
from umi_edge.sandbox.layers import Layer
from umi_edge.sandbox.limits import Limits
from umi_edge.tools.registry import Tool, ToolRegistry
from umi_edge.tools.result import ToolError

START_TIMEOUT = 30.0
"""Seconds a server has to start and list its tools."""
CALL_TIMEOUT = 30.0
SERVER_LIMITS = Limits(cpu_seconds=24 * 3600, memory_mb=4096, file_size_mb=64, open_files=256)
"""rlimits of a sandboxed server (a long-lived process: a day of CPU time, room for the SDK's threads)."""


@dataclass(frozen=True)
class McpSandbox:
    """How MCP servers are confined (see the module doc)."""

    network: bool = False
    allow_unsandboxed: bool = False

    def command(self, argv: list[str], workspace: Path, tmp: str) -> tuple[list[str], dict[str, str]]:
        """The launcher command and environment that run ``argv`` confined; SandboxRefused or FileNotFoundError."""
        from umi_edge.sandbox.runner import plan_layers
        from umi_edge.sandbox.spawn import launcher_command
        from umi_edge.sandbox.status import sandbox_status

        exe = shutil.which(argv[0])
        if exe is None:
            raise FileNotFoundError(f"{argv[0]}: command not found")
        exe = os.path.abspath(exe)
        layers = plan_layers(sandbox_status(), self.allow_unsandboxed)
        layers[Layer.SECCOMP] = "off"  # it forbids threads, which the SDK's stdio server reads stdin with
        if self.network:
            layers[Layer.NETNS] = "off"
        named = [a for a in argv[1:] if os.path.isabs(a) and os.path.exists(a)]
        extra = [exe, os.path.dirname(exe), *named]
        return launcher_command(
            [exe, *argv[1:]],
            workspace,
            tmp,
            limits=SERVER_LIMITS,
            layers=layers,
            extra_read=extra,
            network=self.network,
        )


def _absolute(arg: str) -> str:
    """``arg`` as an absolute path when it names an existing file or folder here, else as it is."""
    return os.path.abspath(arg) if not arg.startswith("-") and os.path.exists(arg) else arg


class McpServer:
    """One stdio MCP server and its session, on a background event loop."""

    def __init__(
        self,
        command_line: str,
        *,
        cwd: str | Path | None = None,
        timeout: float = START_TIMEOUT,
        sandbox: McpSandbox | None = None,
    ) -> None:
        argv = shlex.split(command_line)
        if not argv:
            raise UserError("--mcp: expected a command line, got an empty string")
        self.command_line = command_line
        # the server starts in the workspace: a file its command line names is taken from where umi-edge runs
        self.argv = [argv[0], *(_absolute(a) for a in argv[1:])]
        self.cwd = cwd
        self.sandbox = sandbox
        self._tmp: str | None = None
        self.name = Path(argv[0]).name
        self.tools: list[Any] = []
        self.error: str | None = None
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._stop: asyncio.Event | None = None
        self._session: Any = None
        self._thread = threading.Thread(target=self._loop.run_forever, name=f"mcp:{self.name}", daemon=True)
        self._thread.start()
        self._main = asyncio.run_coroutine_threadsafe(self._serve(), self._loop)
        if not self._ready.wait(timeout):
            self.error = self.error or f"did not start within {timeout:.0f} s"
        if self.error:
            self.close()

    async def _serve(self) -> None:
        from mcp import ClientSession, StdioServerParameters
        from mcp.client.stdio import stdio_client

        self._stop = asyncio.Event()
        try:
            if self.sandbox is None:
                params = StdioServerParameters(command=self.argv[0], args=self.argv[1:], cwd=self.cwd)
            else:
                workspace = Path(self.cwd or os.getcwd()).resolve()
                self._tmp = tempfile.mkdtemp(prefix="umi-mcp-")
                cmd, env = self.sandbox.command(self.argv, workspace, self._tmp)
                params = StdioServerParameters(command=cmd[0], args=cmd[1:], env=env, cwd=workspace)
            async with stdio_client(params, errlog=sys.stderr) as (read, write):
                async with ClientSession(read, write) as session:
                    init = await session.initialize()
                    info = getattr(init, "server_info", None) or getattr(init, "serverInfo", None)
                    if info is not None and getattr(info, "name", None):
                        self.name = str(info.name)
                    self.tools = list((await session.list_tools()).tools)
                    self._session = session
                    self._ready.set()
                    await self._stop.wait()
        except BaseException as exc:  # noqa: BLE001 - any failure of the server process is reported, not raised
            self.error = f"{type(exc).__name__}: {exc}"
        finally:
            self._session = None
            self._ready.set()

    @property
    def alive(self) -> bool:
        return self._session is not None and not self._main.done()

    def call(self, tool: str, arguments: dict[str, Any], timeout: float = CALL_TIMEOUT) -> Any:
        """The result of ``tool`` (structured content, else text); ToolError for an error result or a dead server."""
        if not self.alive:
            raise ToolError(f"MCP server {self.name!r} is not running ({self.error or 'it exited'})")
        fut = asyncio.run_coroutine_threadsafe(self._session.call_tool(tool, arguments, timeout), self._loop)
        try:
            res = fut.result(timeout + 5)
        except (FutureTimeout, TimeoutError):
            fut.cancel()
            raise ToolError(f"MCP tool {tool!r} timed out after {timeout:.0f} s") from None
        except Exception as exc:  # noqa: BLE001 - the server's failure becomes the observation
            raise ToolError(f"MCP tool {tool!r} failed: {type(exc).__name__}: {exc}") from None
        text = "\n".join(getattr(c, "text", "") for c in res.content if getattr(c, "type", "") == "text")
        is_error = getattr(res, "is_error", None) or getattr(res, "isError", False)
        if is_error:
            raise ToolError(text or f"MCP tool {tool!r} reported an error")
        structured = getattr(res, "structured_content", None) or getattr(res, "structuredContent", None)
        return structured if structured is not None else text

    def close(self) -> None:
        if self._stop is not None and self._loop.is_running():
            self._loop.call_soon_threadsafe(self._stop.set)
            try:
                self._main.result(10)
            except Exception:  # noqa: BLE001 - closing a dead server
                pass
        if self._loop.is_running():
            self._loop.call_soon_threadsafe(self._loop.stop)
        if self._tmp is not None:
            shutil.rmtree(self._tmp, ignore_errors=True)


def _tool(server: McpServer, spec: Any, name: str) -> Tool:
    schema = dict(getattr(spec, "input_schema", None) or getattr(spec, "inputSchema", None) or {})
    annotations = getattr(spec, "annotations", None)
    read_only = bool(getattr(annotations, "read_only_hint", None) or getattr(annotations, "readOnlyHint", None))
    remote = spec.name

    def call(**arguments: Any) -> Any:
        return server.call(remote, arguments)

    return Tool(
        name=name,
        description=spec.description or "",
        parameters=schema,
        effect="read" if read_only else "write",
        func=call,
    )


def add_mcp_tools(
    registry: ToolRegistry,
    command_lines: Iterable[str],
    *,
    cwd: str | Path | None = None,
    sandbox: McpSandbox | None = None,
) -> list[McpServer]:
    """Start every server (confined by ``sandbox``, see the module doc) and add its tools to ``registry`` (prefixed
    on a clash); returns the running servers."""
    servers = []
    for line in command_lines:
        server = McpServer(line, cwd=cwd, sandbox=sandbox)
        if server.error:
            print(f"umi-edge: warning: MCP server {line!r} left out: {server.error}", file=sys.stderr)
            continue
        for spec in server.tools:
            name = spec.name if spec.name not in registry else f"{server.name}__{spec.name}"
            try:
                registry.add(_tool(server, spec, name))
            except Exception as exc:  # noqa: BLE001 - one bad tool schema leaves only that tool out
                print(f"umi-edge: warning: MCP tool {spec.name!r} of {server.name!r} left out: {exc}", file=sys.stderr)
        servers.append(server)
        atexit.register(server.close)
    return servers
