"""The sandbox, with real processes: each test asserts the specific block (file system, network, processes,
memory, file size, CPU, wall clock, output, environment, /proc) and that the host is fine afterwards."""

from __future__ import annotations

import ast
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from umi_edge.sandbox import (
    Layer,
    LayerStatus,
    Limits,
    SandboxRefused,
    SandboxStatus,
    plan_layers,
    run_command,
    run_function,
    sandbox_status,
)
from umi_edge.sandbox import runner as sandbox_runner
from umi_edge.sandbox import spawn as sandbox_spawn
from umi_edge.sandbox.layers import REPORTED, SWITCHABLE
from umi_edge.tools import builtin_registry
from umi_edge.tools.builtins.pyrun import run_code

STATUS = sandbox_status()
needs_landlock = pytest.mark.skipif(not STATUS[Layer.LANDLOCK].active, reason="Landlock not available here")
needs_seccomp = pytest.mark.skipif(not STATUS[Layer.SECCOMP].active, reason="seccomp not available here")


@pytest.fixture
def fake_home(tmp_path: Path) -> Path:
    home = tmp_path / "home"
    home.mkdir()
    (home / ".ssh").mkdir()
    (home / ".ssh" / "id_secret").write_text("PRIVATE KEY MATERIAL\n")
    return home


def _processes_in(ws: Path) -> list[int]:
    """Pids of processes whose working directory is ``ws``."""
    pids = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                if os.readlink(f"/proc/{entry}/cwd") == str(ws):
                    pids.append(int(entry))
            except OSError:
                continue
    return pids


def py(ws: Path, code: str, *, timeout: float = 20.0, limits: Limits | None = None) -> dict:
    res = run_function(run_code, {"code": code}, workspace=ws, timeout=timeout, limits=limits)
    return res.observation()


def test_status_reports_every_layer() -> None:
    assert [layer.name for layer in STATUS.layers] == list(REPORTED)
    for layer in STATUS.layers:
        assert isinstance(layer, LayerStatus) and layer.detail and layer.description
    assert STATUS[Layer.RLIMITS].active and STATUS[Layer.TIMEOUT].active and STATUS[Layer.ENVIRONMENT].active
    assert STATUS.isolation == (STATUS[Layer.LANDLOCK].active or STATUS[Layer.SECCOMP].active)
    probed = [n for n in STATUS.active if n not in (Layer.TIMEOUT, Layer.ENVIRONMENT)]
    assert STATUS.summary() == ("+".join(probed) if STATUS.isolation else "none (code tools refuse to run)")
    assert "rlimits" in STATUS.summary().split("+") or not STATUS.isolation
    with pytest.raises(KeyError):
        STATUS["no-such-layer"]


def test_status_json_keeps_its_shape() -> None:
    """``tools doctor --json``: ``{layer: {"active", "detail", "description"}, ..., "isolation": bool}``."""
    out = json.loads(json.dumps(STATUS.to_dict()))
    assert list(out) == [*map(str, REPORTED), "isolation"]
    assert out["isolation"] is STATUS.isolation
    for layer in STATUS.layers:
        assert out[layer.name] == {"active": layer.active, "detail": layer.detail, "description": layer.description}


def test_code_runs_and_sees_the_workspace(ws: Path) -> None:
    (ws / "data.txt").write_text("42\n")
    obs = py(ws, "import os\nprint(os.getcwd())\nint(open('data.txt').read()) + 1")
    assert obs == {"stdout": f"{ws}\n", "result": "43"}


def test_writes_inside_workspace_and_private_tmp_work(ws: Path) -> None:
    obs = py(
        ws, "import tempfile\nopen('out.txt','w').write('ok')\nt = tempfile.mkstemp()[1]\nopen(t,'w').write('x')\nt"
    )
    assert "error" not in obs
    assert (ws / "out.txt").read_text() == "ok"
    private = ast.literal_eval(obs["result"])
    assert not private.startswith(str(ws)) and not os.path.exists(private)  # the private tmp is removed afterwards


@needs_landlock
def test_write_outside_workspace_is_blocked(ws: Path, tmp_path: Path) -> None:
    target = tmp_path / "outside.txt"
    obs = py(ws, f"open({str(target)!r}, 'w').write('escaped')")
    assert obs["error"].startswith("PermissionError")
    assert not target.exists()
    obs = py(ws, "open('/etc/umi-edge-escape', 'w')")
    assert obs["error"].startswith("PermissionError")
    assert not Path("/etc/umi-edge-escape").exists()


@needs_landlock
def test_reading_a_home_directory_is_blocked(ws: Path, fake_home: Path) -> None:
    secret = fake_home / ".ssh" / "id_secret"
    assert secret.read_text()  # readable from the parent
    obs = py(ws, f"open({str(secret)!r}).read()")
    assert obs["error"].startswith("PermissionError") and "PRIVATE" not in json.dumps(obs)
    obs = py(ws, f"import os\nos.listdir({str(fake_home)!r})")
    assert obs["error"].startswith("PermissionError")
    real_home = Path.home().resolve()
    allowed = [Path(p) for p in sandbox_runner.read_paths()]
    if real_home.is_dir() and not any(real_home == p or real_home.is_relative_to(p) for p in allowed):
        obs = py(ws, f"import os\nos.listdir({str(real_home)!r})")  # the real home, even when the interpreter is in it
        assert obs["error"].startswith("PermissionError")


@needs_landlock
def test_symlink_and_dotdot_escapes_are_blocked(ws: Path, fake_home: Path) -> None:
    (ws / "link").symlink_to(fake_home / ".ssh" / "id_secret")
    obs = py(ws, "open('link').read()")
    assert obs["error"].startswith("PermissionError")
    obs = py(ws, "open('../home/.ssh/id_secret').read()")
    assert obs["error"].startswith("PermissionError")
    (ws / "dirlink").symlink_to(fake_home)
    obs = py(ws, "open('dirlink/new.txt', 'w').write('x')")
    assert obs["error"].startswith("PermissionError")
    assert not (fake_home / "new.txt").exists()


def test_network_connect_to_a_loopback_listener_fails(ws: Path) -> None:
    if not any(STATUS[n].active for n in (Layer.SECCOMP, Layer.NETNS, Layer.LANDLOCK)):
        pytest.skip("no network-blocking layer here")
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    listener.settimeout(0.5)
    port = listener.getsockname()[1]
    try:
        code = f"import socket\ns = socket.create_connection(('127.0.0.1', {port}), timeout=3)\ns.sendall(b'hi')"
        obs = py(ws, code)
        assert "error" in obs and obs["error"].split(":")[0] in ("OSError", "PermissionError", "ConnectionRefusedError")
        with pytest.raises(TimeoutError):
            listener.accept()  # nothing ever arrived
    finally:
        listener.close()


@needs_seccomp
def test_raw_and_udp_sockets_are_refused(ws: Path) -> None:
    obs = py(ws, "import socket\nsocket.socket(socket.AF_INET, socket.SOCK_DGRAM)")
    assert obs["error"].startswith("OSError") and "Address family not supported" in obs["error"]
    obs = py(ws, "import socket\na, b = socket.socketpair()\na.send(b'x')\nb.recv(1)")  # AF_UNIX stays usable
    assert obs == {"result": "b'x'"}


@needs_seccomp
def test_fork_bomb_is_stopped_and_the_host_stays_healthy(ws: Path) -> None:
    obs = py(ws, "import os\nwhile True:\n    os.fork()", timeout=10)
    assert obs["error"].startswith("PermissionError")
    obs = py(ws, "import subprocess\nsubprocess.run(['/bin/true'])", timeout=10)
    assert obs["error"].startswith("PermissionError")
    assert _processes_in(ws) == []  # nothing left running in the workspace
    assert py(ws, "import threading\nt = threading.Thread(target=print, args=('thread ok',))\nt.start()\nt.join()") == {
        "stdout": "thread ok\n"
    }


def test_memory_bomb_is_stopped(ws: Path) -> None:
    code = "chunks = []\nwhile True:\n    chunks.append(bytearray(50 * 1024 * 1024))"
    obs = py(ws, code, timeout=60, limits=Limits(memory_mb=512))
    assert obs["error"].startswith("MemoryError")


def test_oversized_file_is_stopped(ws: Path) -> None:
    obs = py(
        ws,
        "f = open('big.bin', 'wb')\nfor _ in range(64):\n    f.write(b'x' * 1024 * 1024)",
        limits=Limits(file_size_mb=4),
    )
    assert obs["error"].startswith("OSError") and "File too large" in obs["error"]
    assert (ws / "big.bin").stat().st_size <= 4 * 1024 * 1024


def test_cpu_limit_kills_a_spin(ws: Path) -> None:
    start = time.monotonic()
    obs = py(ws, "while True:\n    pass", timeout=30, limits=Limits(cpu_seconds=1))
    assert "CPU time limit of 1 s" in obs["error"]
    assert time.monotonic() - start < 15


def test_wall_clock_timeout_kills_the_process_group(ws: Path) -> None:
    start = time.monotonic()
    obs = py(ws, "import time\nprint('started', flush=True)\ntime.sleep(300)", timeout=1.5)
    assert obs["error"].startswith("timed out after 1.5 s") and obs["stdout"] == "started\n"
    assert _processes_in(ws) == []
    assert time.monotonic() - start < 10


def test_timeout_kills_children_too(ws: Path) -> None:
    """With process creation allowed (seccomp off), a background child dies with its group at the timeout."""
    layers = dict.fromkeys(SWITCHABLE, "off")
    res = run_command(
        ["/bin/sh", "-c", "sleep 300 & echo $! > child.pid; wait"], workspace=ws, timeout=1.5, layers=layers
    )
    assert res.timed_out
    pid = int((ws / "child.pid").read_text())
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            break
        # a zombie re-parented to init is gone as a process; check its state
        try:
            if Path(f"/proc/{pid}/stat").read_text().split()[2] == "Z":
                break
        except OSError:
            break
        time.sleep(0.05)
    else:
        pytest.fail(f"child {pid} survived the timeout")


def test_huge_output_is_capped_and_stopped(ws: Path) -> None:
    start = time.monotonic()
    res = run_function(
        run_code,
        {"code": "while True:\n    print('x' * 1000)"},
        workspace=ws,
        timeout=30,
        limits=Limits(max_output_bytes=200_000),
    )
    assert res.output_truncated and not res.timed_out
    assert len(res.stdout) <= 200_000
    assert "output passed the limit" in res.observation()["error"]
    assert time.monotonic() - start < 15


def test_parent_environment_secrets_are_not_visible(ws: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("UMI_TEST_API_TOKEN", "s3cr3t-token-value")
    obs = py(ws, "import os\nsorted(os.environ.items())")
    assert "s3cr3t-token-value" not in obs["result"] and "UMI_TEST_API_TOKEN" not in obs["result"]
    assert "PATH" in obs["result"]


@needs_landlock
def test_parent_process_through_proc_is_blocked(ws: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("UMI_TEST_API_TOKEN", "s3cr3t-token-value")
    parent = os.getpid()
    for path in (f"/proc/{parent}/environ", f"/proc/{parent}/mem", f"/proc/{parent}/cmdline"):
        obs = py(ws, f"open({path!r}, 'rb').read(100)")
        assert obs["error"].startswith("PermissionError"), path
    obs = py(ws, "import os\nos.kill(os.getppid(), 0)")
    assert obs["error"].startswith("PermissionError")


@needs_seccomp
def test_ptrace_sysv_ipc_and_limit_raising_are_refused(ws: Path) -> None:
    code = "import ctypes, os\nlibc = ctypes.CDLL(None, use_errno=True)\n"
    obs = py(ws, code + "[libc.ptrace(16, os.getppid(), 0, 0), ctypes.get_errno()]")
    assert obs["result"] == "[-1, 1]"  # PTRACE_ATTACH → EPERM
    obs = py(ws, code + "[libc.shmget(0, 4096, 0o1000 | 0o600), ctypes.get_errno()]")
    assert obs["result"] == "[-1, 1]"  # System V shared memory → EPERM
    obs = py(ws, "import resource\nresource.setrlimit(resource.RLIMIT_CPU, (1000, 1000))")
    assert obs["error"].startswith(("PermissionError", "ValueError", "OSError"))


def _status(**active: tuple[bool, str]) -> SandboxStatus:
    return SandboxStatus(tuple(LayerStatus(Layer(n), on, why, "") for n, (on, why) in active.items()))


def test_no_isolation_refuses_unless_allowed() -> None:
    down = {"landlock": (False, "kernel too old"), "seccomp": (False, "libseccomp missing"), "netns": (False, "EPERM")}
    status = _status(**down)
    assert not status.isolation and status.summary() == "none (code tools refuse to run)"
    with pytest.raises(SandboxRefused, match="--unsafe-no-sandbox") as info:
        plan_layers(status, allow_unsandboxed=False)
    assert "kernel too old" in str(info.value) and "libseccomp missing" in str(info.value)
    assert plan_layers(status, allow_unsandboxed=True) == dict.fromkeys(SWITCHABLE, "try")
    seccomp_only = _status(**{**down, "seccomp": (True, "rules=80")}, capabilities=(True, "dropped 41"))
    assert seccomp_only.isolation and seccomp_only.summary() == "seccomp+capabilities"
    assert plan_layers(seccomp_only, allow_unsandboxed=False) == {
        Layer.NETNS: "off",
        Layer.CAPABILITIES: "require",
        Layer.LANDLOCK: "off",
        Layer.SECCOMP: "require",
    }
    netns_only = _status(**{**down, "netns": (True, "root")})
    assert not netns_only.isolation  # a network namespace alone does not let code tools run
    with pytest.raises(SandboxRefused):
        plan_layers(netns_only, allow_unsandboxed=False)


@needs_seccomp
def test_a_required_layer_that_fails_refuses_to_run(ws: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail closed: the launcher cannot load libseccomp, seccomp is required, so nothing runs."""
    monkeypatch.setattr(sandbox_spawn, "_libraries", lambda: {"seccomp": "/nonexistent/libseccomp.so.2"})
    res = run_function(run_code, {"code": "open('ran.txt', 'w').write('x')"}, workspace=ws, timeout=20)
    assert res.refused and "seccomp" in res.refused
    assert res.is_error and not (ws / "ran.txt").exists()


def test_registry_python_tool_goes_through_the_sandbox(ws: Path) -> None:
    reg = builtin_registry()
    res = reg.call("python", {"code": "import os\nprint(len(os.environ) < 20)"}, workspace=ws, timeout=20)
    assert not res.is_error and json.loads(res.content) == {"stdout": "True\n"}
    res = reg.call("python", {"code": "import time\ntime.sleep(60)"}, workspace=ws, timeout=1)
    assert res.is_error and "timed out" in res.content and res.seconds < 10


def test_host_is_healthy_afterwards(ws: Path) -> None:
    assert py(ws, "sum(range(10))") == {"result": "45"}
    out = os.popen(f"{sys.executable} -c 'print(6*7)'").read().strip()
    assert out == "42"


def test_sandboxed_process_dies_with_its_parent(ws: Path) -> None:
    """An agent killed mid-call leaves no sandboxed process behind (PR_SET_PDEATHSIG, not changeable inside)."""
    code = (
        "import ctypes, os, time\nopen('pid', 'w').write(str(os.getpid()))\n"
        "print(ctypes.CDLL(None, use_errno=True).prctl(1, 0, 0, 0, 0), flush=True)\ntime.sleep(300)"
    )
    agent = (
        "import sys\nfrom umi_edge.tools import builtin_registry\n"
        f"builtin_registry().call('python', {{'code': {code!r}}}, workspace={str(ws)!r}, timeout=300)\n"
    )
    proc = subprocess.Popen([sys.executable, "-c", agent])
    pid_file = ws / "pid"
    deadline = time.monotonic() + 30
    while not (pid_file.exists() and pid_file.read_text()) and time.monotonic() < deadline:
        time.sleep(0.05)
    pid = int(pid_file.read_text())
    assert Path(f"/proc/{pid}").exists()
    proc.kill()
    proc.wait()
    deadline = time.monotonic() + 10
    while Path(f"/proc/{pid}").exists() and time.monotonic() < deadline:
        stat = Path(f"/proc/{pid}/stat").read_text().split() if Path(f"/proc/{pid}/stat").exists() else []
        if stat and stat[2] == "Z":
            break
        time.sleep(0.05)
    else:
        if Path(f"/proc/{pid}").exists():
            pytest.fail(f"sandboxed process {pid} outlived its parent")


@needs_seccomp
def test_datagrams_to_host_unix_sockets_are_blocked(ws: Path, tmp_path: Path) -> None:
    path = str(tmp_path / "host.sock")
    server = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    server.bind(path)
    server.settimeout(0.5)
    try:
        code = f"import socket\ns = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)\ns.sendto(b'hello', {path!r})"
        obs = py(ws, code)
        assert obs["error"].startswith("PermissionError")
        with pytest.raises(TimeoutError):
            server.recv(100)
    finally:
        server.close()


def test_output_already_in_the_pipes_survives_a_starved_parent(ws: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """On a loaded machine the parent can miss the 0.5 s it gives a leftover child after the leader exits. What
    the tool printed before it exited must still come back (it was lost: a synth run failed on KeyError 'stdout').
    The parent's selector here sees no event until well past that grace period, as a descheduled process would."""
    real = sandbox_spawn.selectors.DefaultSelector

    class Starved:
        def __init__(self) -> None:
            self.sel, self.blind_until = real(), None

        def register(self, *a: object) -> None:
            self.sel.register(*a)

        def unregister(self, *a: object) -> None:
            self.sel.unregister(*a)

        def close(self) -> None:
            self.sel.close()

        def select(self, timeout: float | None = None) -> list:
            if self.blind_until is None:
                self.blind_until = time.monotonic() + 1.5
            if time.monotonic() < self.blind_until:
                time.sleep(0.05)
                return []
            return self.sel.select(timeout)

    monkeypatch.setattr(sandbox_spawn.selectors, "DefaultSelector", Starved)
    obs = py(ws, "print('made it')\n6 * 7")
    assert obs == {"stdout": "made it\n", "result": "42"}
