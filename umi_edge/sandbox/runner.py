"""Parent side of the sandbox: start the launcher, feed it the spec, collect capped output, enforce the timeout.

Safe to call from worker threads: it uses ``subprocess.Popen`` with ``start_new_session`` and ``pass_fds`` (no
``preexec_fn``).  On timeout or when stdout + stderr pass the cap, the whole process group is killed with SIGKILL;
after a normal exit the group is killed too (before the leader is reaped, so its id cannot have been reused).
"""

from __future__ import annotations

import ctypes.util
import functools
import inspect
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
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from umi_edge.sandbox.layers import SYSTEM_READ
from umi_edge.sandbox.limits import Limits, scrubbed_env

ISOLATION_LAYERS = ("landlock", "seccomp")
RESULT_CAP = 8_000_000
_LAUNCHER = [sys.executable, "-I", "-m", "umi_edge.sandbox.launch"]


class SandboxRefused(Exception):
    """Code was not run: no isolation layer works here (and unsandboxed runs were not allowed), or a layer
    that works on this machine failed to apply (fail closed).  The message says why and what to do."""


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


def plan_layers(status: dict[str, Any], allow_unsandboxed: bool) -> dict[str, str]:
    """Require every layer that works on this machine; refuse when no isolation layer works, unless allowed."""
    working = {name for name, info in status.items() if isinstance(info, dict) and info.get("active")}
    if not working & set(ISOLATION_LAYERS) and not allow_unsandboxed:
        why = "; ".join(f"{n}: {status.get(n, {}).get('detail', 'unknown')}" for n in ISOLATION_LAYERS)
        raise SandboxRefused(
            "Code tools refuse to run: no isolation layer works on this machine "
            f"({why}). Run `umi-edge tools doctor` for details, or pass --unsafe-no-sandbox to run code "
            "with only resource limits and a timeout."
        )
    return {
        n: ("require" if n in working else ("try" if allow_unsandboxed else "off"))
        for n in ("netns", "capabilities", "landlock", "seccomp")
    }


def run_function(
    func: Callable[..., Any],
    arguments: dict[str, Any],
    *,
    workspace: str | os.PathLike[str],
    timeout: float = 20.0,
    limits: Limits | None = None,
    source: str | None = None,
    inject_workspace: bool = False,
    allow_unsandboxed: bool = False,
    layers: dict[str, str] | None = None,
) -> SandboxResult:
    """Call ``func(**arguments)`` in a sandboxed process (``func`` must be importable by module and name, or
    defined in the file ``source``); its return value comes back as JSON.  ``layers`` overrides the plan
    (``{"landlock": "require"|"try"|"off", ...}``; by default every layer that works here is required)."""
    module = func.__module__
    qualname = func.__qualname__
    extra: list[str] = []
    if source:
        extra.append(source)
    else:
        try:
            extra.append(inspect.getfile(func))
        except TypeError:
            pass
    target = {
        "kind": "function",
        "module": module,
        "qualname": qualname,
        "file": source,
        "arguments": arguments,
        "inject_workspace": inject_workspace,
    }
    return _run(target, workspace, timeout, limits or Limits(), allow_unsandboxed, extra, layers)


def run_command(
    argv: Sequence[str],
    *,
    workspace: str | os.PathLike[str],
    timeout: float = 20.0,
    limits: Limits | None = None,
    allow_unsandboxed: bool = False,
    layers: dict[str, str] | None = None,
) -> SandboxResult:
    """Run a program (``argv[0]`` an absolute path, or found on the sandbox's PATH) in the sandbox."""
    exe = argv[0] if os.path.isabs(argv[0]) else shutil.which(argv[0], path=scrubbed_env("/")["PATH"])
    if not exe:
        raise FileNotFoundError(f"{argv[0]}: not found on {scrubbed_env('/')['PATH']}")
    target = {"kind": "exec", "argv": [exe, *argv[1:]]}
    return _run(target, workspace, timeout, limits or Limits(), allow_unsandboxed, [], layers)


def _run(
    target: dict[str, Any],
    workspace: str | os.PathLike[str],
    timeout: float,
    limits: Limits,
    allow_unsandboxed: bool,
    extra_read: list[str],
    layers: dict[str, str] | None = None,
) -> SandboxResult:
    from umi_edge.sandbox.status import sandbox_status

    ws = Path(workspace).resolve()
    if not ws.is_dir():
        raise FileNotFoundError(f"workspace {ws} is not a directory")
    if layers is None:
        layers = plan_layers(sandbox_status(), allow_unsandboxed)
    tmp = tempfile.mkdtemp(prefix="umi-sandbox-")
    try:
        return _spawn(target, ws, tmp, timeout, limits, layers, extra_read)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _spawn(
    target: dict[str, Any],
    ws: Path,
    tmp: str,
    timeout: float,
    limits: Limits,
    layers: dict[str, str],
    extra_read: list[str],
) -> SandboxResult:
    start = time.monotonic()
    rfd, wfd = os.pipe()
    spec = {
        "workspace": str(ws),
        "tmp": tmp,
        "limits": limits.to_dict(),
        "layers": layers,
        "read_paths": read_paths(extra_read),
        "write_paths": [str(ws), tmp],
        "result_fd": wfd,
        "parent_pid": os.getpid(),
        "target": target,
        "libraries": _libraries(),
    }
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
