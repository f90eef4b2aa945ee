"""Each sandbox layer on its own: only that layer is switched on, so a block seen here is that layer's.

Every attack is first run with no layer at all (only rlimits, which cannot be switched off), to show it works
there; then with the one layer that must stop it. A layer that does not work on this machine is skipped, saying
why (``umi-edge tools doctor`` shows the same).
"""

from __future__ import annotations

import os
import socket
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

import umi_edge
from umi_edge.sandbox import Layer, Limits, run_function, sandbox_status
from umi_edge.sandbox.layers import SWITCHABLE, LayerMode, landlock_abi
from umi_edge.tools.builtins.pyrun import run_code

STATUS = sandbox_status()
NONE: dict[Layer, LayerMode] = dict.fromkeys(SWITCHABLE, "off")
IS_ROOT = os.geteuid() == 0


def only(layer: Layer) -> dict[Layer, LayerMode]:
    return {**NONE, layer: "require"}


def needs(layer: Layer) -> pytest.MarkDecorator:
    return pytest.mark.skipif(
        not STATUS[layer].active, reason=f"the {layer} layer does not work on this machine: {STATUS[layer].detail}"
    )


def py(ws: Path, code: str, layers: dict[Layer, LayerMode], **kw: object) -> dict:
    """Run ``code`` with exactly ``layers``; checks the launcher applied those and no other."""
    res = run_function(run_code, {"code": code}, workspace=ws, timeout=30, layers=layers, **kw)  # type: ignore[arg-type]
    assert not res.refused, res.refused
    for name in SWITCHABLE:
        assert res.layers[name]["active"] == (layers[name] == "require"), (name, res.layers[name])
    assert res.layers[Layer.RLIMITS]["active"]
    return res.observation()


@pytest.fixture
def listener() -> Iterator[socket.socket]:
    """A TCP listener on the host's loopback."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind(("127.0.0.1", 0))
    s.listen(4)
    s.settimeout(0.5)
    yield s
    s.close()


def _connect_code(port: int) -> str:
    return f"import socket\ns = socket.create_connection(('127.0.0.1', {port}), timeout=3)\ns.sendall(b'hi')\n'sent'"


def _received(listener: socket.socket) -> bytes | None:
    try:
        conn, _ = listener.accept()
    except TimeoutError:
        return None
    with conn:
        conn.settimeout(3)
        return conn.recv(16)


def test_with_no_layer_the_attacks_work(ws: Path, listener: socket.socket) -> None:
    """The control: without layers the loopback listener is reached and the code makes sockets and processes."""
    obs = py(ws, _connect_code(listener.getsockname()[1]), NONE)
    assert obs == {"result": "'sent'"} and _received(listener) == b"hi"
    obs = py(ws, "import os\npid = os.fork()\nif pid == 0:\n    os._exit(0)\nos.waitpid(pid, 0)[1]", NONE)
    assert obs == {"result": "0"}


# ---- network namespace -----------------------------------------------------------------------------------------
@needs(Layer.NETNS)
def test_netns_alone_blocks_a_loopback_listener(ws: Path, listener: socket.socket) -> None:
    obs = py(ws, _connect_code(listener.getsockname()[1]), only(Layer.NETNS))
    assert obs["error"].startswith(("OSError", "ConnectionRefusedError")), obs
    assert _received(listener) is None
    # only a (down) loopback interface inside
    obs = py(ws, "import socket\nsorted(name for _, name in socket.if_nameindex())", only(Layer.NETNS))
    assert obs == {"result": "['lo']"}


# ---- capabilities ----------------------------------------------------------------------------------------------
def _caps(ws: Path, layers: dict[Layer, LayerMode]) -> dict[str, int]:
    code = (
        "caps = {}\nfor line in open('/proc/self/status'):\n    key, _, value = line.partition(':')\n"
        "    if key.startswith('Cap'):\n        caps[key] = int(value, 16)\ncaps"
    )
    return eval(py(ws, code, layers)["result"])  # noqa: S307 - the repr of a dict of ints


@needs(Layer.CAPABILITIES)
def test_capabilities_alone_empties_every_set(ws: Path) -> None:
    caps = _caps(ws, only(Layer.CAPABILITIES))
    assert caps["CapEff"] == caps["CapPrm"] == caps["CapInh"] == caps["CapAmb"] == 0
    if IS_ROOT:  # emptying the bounding set needs CAP_SETPCAP
        assert caps["CapBnd"] == 0
    if IS_ROOT:
        assert _caps(ws, NONE)["CapEff"] != 0  # the control: root has capabilities without the layer


@needs(Layer.CAPABILITIES)
@pytest.mark.skipif(not IS_ROOT, reason="only root has capabilities to lose (CAP_CHOWN here)")
def test_capabilities_alone_stop_root_from_chown(ws: Path) -> None:
    code = "import os\nopen('f', 'w').close()\nos.chown('f', 12345, 12345)\nos.stat('f').st_uid"
    assert py(ws, code, NONE) == {"result": "12345"}
    (ws / "f").unlink()
    obs = py(ws, code, only(Layer.CAPABILITIES))
    assert obs["error"].startswith("PermissionError"), obs
    assert (ws / "f").stat().st_uid == 0


# ---- Landlock --------------------------------------------------------------------------------------------------
@needs(Layer.LANDLOCK)
def test_landlock_alone_keeps_read_only_paths_read_only(ws: Path, tmp_path: Path) -> None:
    """Places sandboxed code may read but never write: umi_edge's installed package, the interpreter's
    installation, a system directory, and a user tool's own file."""
    name = f".umi-sandbox-escape-{os.getpid()}"
    dirs = [Path(umi_edge.__file__).resolve().parent, Path(sys.prefix).resolve(), Path("/usr/lib")]
    tool_file = tmp_path / "mytools" / "tool.py"
    tool_file.parent.mkdir()
    original = "from umi_edge.tools.builtins.pyrun import run_code\n"
    tool_file.write_text(original)
    append = f"open({str(tool_file)!r}, 'a').write('# changed')"
    assert "error" not in py(ws, append, NONE, source=str(tool_file))  # the control: without the layer it works
    assert tool_file.read_text() != original
    tool_file.write_text(original)
    try:
        for d in dirs:
            assert not (d / name).exists(), d
            obs = py(ws, f"open({str(d / name)!r}, 'w').write('escaped')", only(Layer.LANDLOCK))
            assert obs["error"].startswith("PermissionError"), (d, obs)
            assert not (d / name).exists(), d
            obs = py(ws, f"import os\nlen(os.listdir({str(d)!r})) > 0", only(Layer.LANDLOCK))
            assert obs == {"result": "True"}, (d, obs)  # readable all the same
        obs = py(ws, append, only(Layer.LANDLOCK), source=str(tool_file))
        assert obs["error"].startswith("PermissionError"), obs
        assert tool_file.read_text() == original
    finally:
        for d in dirs:
            (d / name).unlink(missing_ok=True)


@needs(Layer.LANDLOCK)
def test_landlock_alone_confines_writes_and_reads(ws: Path, tmp_path: Path) -> None:
    sibling = tmp_path / "ws-other"
    sibling.mkdir()
    secret = tmp_path / "home" / ".ssh" / "id_secret"
    secret.parent.mkdir(parents=True)
    secret.write_text("PRIVATE KEY MATERIAL\n")
    write_out = f"open({str(sibling / 'x')!r}, 'w').write('escaped')"
    read_out = f"open({str(secret)!r}).read()"
    assert "error" not in py(ws, write_out, NONE) and (sibling / "x").exists()  # the control
    (sibling / "x").unlink()
    assert py(ws, read_out, NONE) == {"result": repr("PRIVATE KEY MATERIAL\n")}
    assert py(ws, write_out, only(Layer.LANDLOCK))["error"].startswith("PermissionError")
    assert not (sibling / "x").exists()
    assert py(ws, read_out, only(Layer.LANDLOCK))["error"].startswith("PermissionError")
    obs = py(
        ws,
        "import tempfile\nopen('in-ws.txt', 'w').write('ok')\nopen(tempfile.mkstemp()[1], 'w').write('ok')",
        only(Layer.LANDLOCK),
    )
    assert obs == {"result": "2"} and (ws / "in-ws.txt").read_text() == "ok"


@needs(Layer.LANDLOCK)
@pytest.mark.skipif(landlock_abi() < 4, reason=f"Landlock ABI {landlock_abi()} has no network rights (needs 4)")
def test_landlock_alone_denies_tcp_connect(ws: Path, listener: socket.socket) -> None:
    obs = py(ws, _connect_code(listener.getsockname()[1]), only(Layer.LANDLOCK))
    assert obs["error"].startswith("PermissionError"), obs
    assert _received(listener) is None


# ---- seccomp ---------------------------------------------------------------------------------------------------
@needs(Layer.SECCOMP)
def test_seccomp_alone_refuses_sockets_processes_and_ptrace(ws: Path) -> None:
    obs = py(ws, "import socket\nsocket.socket(socket.AF_INET, socket.SOCK_STREAM)", only(Layer.SECCOMP))
    assert obs["error"].startswith("OSError") and "Address family not supported" in obs["error"], obs
    obs = py(ws, "import os\nos.fork()", only(Layer.SECCOMP))
    assert obs["error"].startswith("PermissionError"), obs
    code = "import ctypes, os\nlibc = ctypes.CDLL(None, use_errno=True)\n"
    code += "[libc.ptrace(16, os.getppid(), 0, 0), ctypes.get_errno()]"
    assert py(ws, code, only(Layer.SECCOMP)) == {"result": "[-1, 1]"}  # PTRACE_ATTACH → EPERM


@needs(Layer.SECCOMP)
def test_seccomp_alone_blocks_connecting_to_a_host_unix_socket(ws: Path, tmp_path: Path) -> None:
    path = tmp_path / "host.sock"
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(str(path))
    server.listen(1)
    server.settimeout(0.5)
    code = f"import socket\ns = socket.socket(socket.AF_UNIX)\ns.connect({str(path)!r})\ns.sendall(b'hi')\n'sent'"
    try:
        assert py(ws, code, NONE) == {"result": "'sent'"}  # the control
        server.accept()[0].close()
        obs = py(ws, code, only(Layer.SECCOMP))
        assert obs["error"].startswith("PermissionError"), obs
        with pytest.raises(TimeoutError):
            server.accept()
    finally:
        server.close()


# ---- rlimits (always on) ---------------------------------------------------------------------------------------
def test_rlimits_alone_are_the_requested_limits(ws: Path) -> None:
    limits = Limits(cpu_seconds=7, memory_mb=700, file_size_mb=3, open_files=33)
    code = (
        "import resource as r\n[r.getrlimit(x) for x in "
        "(r.RLIMIT_CPU, r.RLIMIT_AS, r.RLIMIT_FSIZE, r.RLIMIT_NOFILE, r.RLIMIT_CORE)]"
    )
    res = run_function(run_code, {"code": code}, workspace=ws, timeout=30, limits=limits, layers=NONE)
    mb = 1024 * 1024
    assert eval(res.observation()["result"]) == [(7, 8), (700 * mb,) * 2, (3 * mb,) * 2, (33, 33), (0, 0)]  # noqa: S307
    res = run_function(
        run_code, {"code": "open('big', 'wb').write(b'x' * (8 * 1024 * 1024))"}, workspace=ws, timeout=30,
        limits=limits, layers=NONE,
    )  # fmt: skip
    assert "File too large" in res.observation()["error"] and (ws / "big").stat().st_size <= 3 * mb
