"""Starting the launcher: feed it the spec, collect capped output and its JSON lines, enforce the timeout.

Safe to call from worker threads: it uses ``subprocess.Popen`` with ``start_new_session`` and ``pass_fds`` (no
``preexec_fn``).  On timeout or when stdout + stderr pass the cap, the whole process group is killed with SIGKILL;
after a normal exit the group is killed too (before the leader is reaped, so its id cannot have been reused).
Used by :mod:`umi_edge.sandbox.runner` (tool calls) and :mod:`umi_edge.sandbox.status` (the probe).
"""

from __future__ import annotations

import ctypes.util
import functools
import json
import os
import selectors
import shutil
import signal
import site
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from umi_edge.sandbox.layers import SYSTEM_READ, Layer, LayerMode
from umi_edge.sandbox.limits import Limits, scrubbed_env

RESULT_CAP = 8_000_000
_LAUNCHER = [sys.executable, "-I", "-m", "umi_edge.sandbox.launch"]


@dataclass
class SandboxResult:
    """What happened in one sandboxed run."""

    returncode: int | None
    stdout: str
    stderr: str
    value: Any = None
    has_value: bool = False
    error: str | None = None
    refused: str | None = None
    timed_out: bool = False
    output_truncated: bool = False
    seconds: float = 0.0
    timeout: float = 0.0
    layers: dict[str, Any] = field(default_factory=dict)
    limits: Limits = field(default_factory=Limits)

    @property
    def signal_name(self) -> str | None:
        if self.returncode is not None and self.returncode < 0:
            try:
                return signal.Signals(-self.returncode).name
            except ValueError:
                return f"signal {-self.returncode}"
        return None

    def problem(self) -> str | None:
        """Why the run failed as a whole (None when the code ran to completion)."""
        if self.refused:
            return self.refused
        if self.timed_out:
            return f"timed out after {self.timeout:g} s; the process group was killed"
        if self.output_truncated:
            return f"output passed the limit of {self.limits.max_output_bytes} bytes; the process group was killed"
        sig = self.signal_name
        if sig == "SIGXCPU" or (sig == "SIGKILL" and self.seconds >= self.limits.cpu_seconds):
            return f"CPU time limit of {self.limits.cpu_seconds} s exceeded; the process was killed"
        if sig == "SIGSYS":
            return "a blocked system call killed the process (sandbox)"
        if sig:
            return f"the process was killed by {sig}"
        if self.error:
            return self.error
        return None

    @property
    def is_error(self) -> bool:
        if self.problem():
            return True
        return isinstance(self.value, dict) and "error" in self.value

    def observation(self) -> dict[str, Any]:
        """The JSON object an agent sees: ``error`` (if any), ``stdout``/``stderr`` (if any), then the value."""
        obs: dict[str, Any] = {}
        problem = self.problem()
        if problem:
            obs["error"] = problem
        if self.stdout:
            obs["stdout"] = self.stdout
        if self.stderr.strip():
            obs["stderr"] = self.stderr[-4000:]
        if self.has_value and not problem:
            if isinstance(self.value, dict):
                for k, v in self.value.items():
                    obs.setdefault(k, v)
            elif self.value is not None:
                obs["result"] = self.value
        if self.returncode not in (0, None) and not problem and not self.has_value:
            obs["exit_code"] = self.returncode
        return obs


def read_paths(extra: Sequence[str | os.PathLike[str]] = ()) -> list[str]:
    """What sandboxed code may read and execute: the interpreter's installation, umi_edge's own package,
    the needed system directories, and ``extra`` files (a user's tools module). Never the home directory
    as such (only the interpreter's folder when it happens to live there)."""
    import umi_edge

    paths = [
        sys.prefix,
        sys.base_prefix,
        sys.exec_prefix,
        sys.base_exec_prefix,
        os.path.dirname(os.path.realpath(sys.executable)),
        str(Path(umi_edge.__file__).parent),
    ]
    try:
        paths += site.getsitepackages()
    except AttributeError:
        pass
    paths += [str(p) for p in extra]
    paths += list(SYSTEM_READ)
    out: list[str] = []
    for p in paths:
        for candidate in (p, os.path.realpath(p)):
            if candidate and os.path.exists(candidate) and candidate not in out:
                out.append(candidate)
    return out


def run_launcher(
    target: dict[str, Any],
    workspace: Path,
    *,
    timeout: float,
    limits: Limits,
    layers: Mapping[Layer, LayerMode],
    extra_read: Sequence[str] = (),
) -> SandboxResult:
    """Start the launcher on ``target`` (see :mod:`umi_edge.sandbox.launch` for its kinds) in the resolved
    directory ``workspace`` with exactly ``layers``, a private tmp (removed afterwards) and ``extra_read`` readable."""
    tmp = tempfile.mkdtemp(prefix="umi-sandbox-")
    try:
        return _spawn(target, workspace, tmp, timeout, limits, layers, list(extra_read))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def launcher_command(
    argv: Sequence[str],
    workspace: Path,
    tmp: str,
    *,
    limits: Limits,
    layers: Mapping[Layer, LayerMode],
    extra_read: Sequence[str] = (),
    network: bool = False,
) -> tuple[list[str], dict[str, str]]:
    """``(command, environment)`` that runs the program ``argv`` (``argv[0]`` absolute) inside the launcher, for a
    long-lived server that another library starts (the MCP SDK): the spec goes on the command line, stdin and stdout
    stay the program's, nothing is reported but a refusal (``result_fd`` null). ``network`` leaves TCP to Landlock's
    rules out (the caller turns the network-namespace layer off too). ``tmp`` is the private tmp the caller owns."""
    target = {"kind": "exec", "argv": list(argv)}
    spec = _spec(target, workspace, tmp, limits, layers, extra_read, result_fd=None, network=network)
    return [*_LAUNCHER, "--spec", json.dumps(spec)], scrubbed_env(tmp)


def _spec(
    target: dict[str, Any],
    ws: Path,
    tmp: str,
    limits: Limits,
    layers: Mapping[Layer, LayerMode],
    extra_read: Sequence[str],
    *,
    result_fd: int | None,
    network: bool = False,
) -> dict[str, Any]:
    """The launcher's spec (see :mod:`umi_edge.sandbox.launch`)."""
    return {
        "workspace": str(ws),
        "tmp": tmp,
        "limits": limits.to_dict(),
        "layers": dict(layers),
        "read_paths": read_paths(extra_read),
        "write_paths": [str(ws), tmp],
        "result_fd": result_fd,
        "parent_pid": os.getpid(),
        "network": network,
        "target": target,
        "libraries": _libraries(),
    }


def _spawn(
    target: dict[str, Any],
    ws: Path,
    tmp: str,
    timeout: float,
    limits: Limits,
    layers: Mapping[Layer, LayerMode],
    extra_read: list[str],
) -> SandboxResult:
    start = time.monotonic()
    rfd, wfd = os.pipe()
    spec = _spec(target, ws, tmp, limits, layers, extra_read, result_fd=wfd)
    try:
        proc = subprocess.Popen(
            _LAUNCHER,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            cwd=ws,
            env=scrubbed_env(tmp),
            start_new_session=True,
            pass_fds=(wfd,),
            close_fds=True,
        )
    finally:
        os.close(wfd)
    try:
        assert proc.stdin is not None and proc.stdout is not None and proc.stderr is not None
        try:
            proc.stdin.write(json.dumps(spec).encode("utf-8"))
            proc.stdin.close()
        except BrokenPipeError:
            pass
        res = _collect(proc, rfd, start + timeout, limits)
    finally:
        os.close(rfd)
        if proc.returncode is None:
            _kill_group(proc)
            proc.wait()
        for stream in (proc.stdin, proc.stdout, proc.stderr):
            if stream is not None:
                stream.close()
    res.seconds = time.monotonic() - start
    res.timeout = timeout
    res.limits = limits
    return res


def _read_available(fd: int, buf: bytearray) -> None:
    """Append to ``buf`` what a non-blocking ``fd`` holds now (until it would block or is at its end)."""
    while True:
        try:
            chunk = os.read(fd, 65536)
        except BlockingIOError:
            return
        if not chunk:
            return
        buf += chunk


def _collect(proc: subprocess.Popen[bytes], rfd: int, deadline: float, limits: Limits) -> SandboxResult:
    assert proc.stdout is not None and proc.stderr is not None
    bufs: dict[int, bytearray] = {
        proc.stdout.fileno(): bytearray(),
        proc.stderr.fileno(): bytearray(),
        rfd: bytearray(),
    }
    out_fd, err_fd = proc.stdout.fileno(), proc.stderr.fileno()
    sel = selectors.DefaultSelector()
    for fd in bufs:
        os.set_blocking(fd, False)
        sel.register(fd, selectors.EVENT_READ)
    timed_out = truncated = False
    open_fds = set(bufs)
    drain_until: float | None = None
    while open_fds:
        now = time.monotonic()
        if drain_until is None and _exited(proc.pid):
            drain_until = now + 0.5  # the leader is gone: a leftover child holding the pipes gets no more time
        if drain_until is not None and now > drain_until:
            # No more time for a leftover child, but what is already in the pipes is read: on a loaded machine
            # this process can be descheduled for longer than the grace period, and the tool's output must not
            # be lost for that.
            for fd in open_fds:
                _read_available(fd, bufs[fd])
            break
        remaining = deadline - now
        if remaining <= 0:
            timed_out = True
            break
        for key, _ in sel.select(timeout=min(remaining, 0.1)):
            fd = key.fd
            try:
                chunk = os.read(fd, 65536)
            except BlockingIOError:
                continue
            if not chunk:
                sel.unregister(fd)
                open_fds.discard(fd)
                continue
            bufs[fd] += chunk
        if len(bufs[out_fd]) + len(bufs[err_fd]) > limits.max_output_bytes or len(bufs[rfd]) > RESULT_CAP:
            truncated = True
            break
    sel.close()
    if timed_out or truncated:
        _kill_group(proc)
    # Wait for the leader to exit without reaping it, then kill whatever is left of its group, then reap.
    while not timed_out:
        if _exited(proc.pid):
            break
        if time.monotonic() > deadline:
            timed_out = True
            break
        time.sleep(0.01)
    _kill_group(proc)
    returncode = proc.wait()
    cap = limits.max_output_bytes
    stdout = bytes(bufs[out_fd][:cap]).decode("utf-8", "replace")
    stderr = bytes(bufs[err_fd][: max(0, cap - len(stdout))]).decode("utf-8", "replace")
    res = SandboxResult(
        returncode=returncode, stdout=stdout, stderr=stderr, timed_out=timed_out, output_truncated=truncated
    )
    for line in bytes(bufs[rfd]).decode("utf-8", "replace").splitlines():
        try:
            msg = json.loads(line)
        except json.JSONDecodeError:
            continue
        if not isinstance(msg, dict):
            continue
        if "layers" in msg and not res.layers:
            res.layers = msg["layers"]
        elif "refused" in msg:
            res.refused = str(msg["refused"])
        elif "value" in msg:
            res.value, res.has_value = msg["value"], True
        elif "error" in msg:
            res.error = str(msg["error"])
    if res.refused:
        res.stdout = res.stderr = ""
    return res


@functools.cache
def _libraries() -> dict[str, str]:
    """Shared-library paths the launcher needs (found once per process, passed to every launch)."""
    found = {name: ctypes.util.find_library(name) for name in ("c", "seccomp")}
    return {k: v for k, v in found.items() if v}


def _exited(pid: int) -> bool:
    """Whether the child has exited, without reaping it (so its process-group id stays reserved)."""
    try:
        return os.waitid(os.P_PID, pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is not None
    except ChildProcessError:
        return True


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
