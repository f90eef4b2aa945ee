"""The isolation layers the launcher applies to itself, each a function that raises :class:`LayerError` on failure.

- network namespace: ``unshare(CLONE_NEWNET)`` (root), or with a user namespace (unprivileged) — no interfaces
  but a down loopback, so every connect fails;
- capabilities: the bounding set and effective/permitted/inheritable sets are emptied (root keeps uid 0 but
  loses CAP_SYS_RESOURCE, CAP_DAC_OVERRIDE, CAP_KILL...);
- Landlock: filesystem rights per path tree (read/exec: the interpreter, the code's package, system dirs;
  write: workspace + private tmp), TCP bind/connect denied (ABI ≥ 4), signals and abstract UNIX sockets scoped
  to the sandbox (ABI ≥ 6).  Uses the ``landlock`` package's syscall wrappers with an extended ruleset
  attribute, because the package itself only knows the filesystem part (ABI ≤ 5);
- seccomp (``pyseccomp``): EPERM for sockets other than AF_UNIX, connect/bind/listen/accept, sending to an
  address (sendto with one, sendmsg, sendmmsg: datagrams to host UNIX sockets such as /dev/log), ptrace and
  process_vm_*, io_uring, mount and namespace calls, kernel/keyring/bpf calls, System V IPC, raising rlimits, signals to
  other processes, and process creation (fork/vfork/clone without CLONE_THREAD; clone3 → ENOSYS so glibc falls
  back to clone for threads).  Non-native syscall ABIs (32-bit entry points) kill the process;
- parent death: the launcher is SIGKILLed when its parent dies (``PR_SET_PDEATHSIG``, which seccomp then
  forbids changing), so a crashed agent leaves no sandboxed process behind;
- rlimits: CPU seconds, address space, file size, open files, no core dumps.
"""

from __future__ import annotations

import ctypes
import errno
import os
import resource
import socket
from collections.abc import Iterable
from enum import StrEnum
from typing import Any, Literal

from umi_edge.sandbox.limits import Limits


class Layer(StrEnum):
    """The sandbox's layers: the one place their names are spelled (also the keys of specs, reports and JSON)."""

    NETNS = "netns"
    CAPABILITIES = "capabilities"
    LANDLOCK = "landlock"
    SECCOMP = "seccomp"
    RLIMITS = "rlimits"
    TIMEOUT = "timeout"
    ENVIRONMENT = "environment"


LayerMode = Literal["require", "try", "off"]
"""How a run wants a switchable layer: fail closed when it cannot be applied, apply it if possible, or skip it."""

SWITCHABLE: tuple[Layer, ...] = (Layer.NETNS, Layer.CAPABILITIES, Layer.LANDLOCK, Layer.SECCOMP)
"""Layers a run switches with a :data:`LayerMode`, in the order the launcher applies them (rlimits, always on,
go between Landlock and seccomp, which forbids setting limits afterwards)."""
ISOLATION: tuple[Layer, ...] = (Layer.LANDLOCK, Layer.SECCOMP)
"""Layers that isolate on their own: code tools refuse to run when none of them works."""
GUARDS: tuple[Layer, ...] = (Layer.TIMEOUT, Layer.ENVIRONMENT)
"""Enforced by the parent on every run (so always active, never probed, left out of the status bar)."""
REPORTED: tuple[Layer, ...] = (
    Layer.LANDLOCK,
    Layer.SECCOMP,
    Layer.NETNS,
    Layer.CAPABILITIES,
    Layer.RLIMITS,
    Layer.TIMEOUT,
    Layer.ENVIRONMENT,
)
"""Every layer, in the order the sandbox status lists them."""

CLONE_NEWUSER = 0x10000000
CLONE_NEWNET = 0x40000000
CLONE_THREAD = 0x00010000
PR_SET_NO_NEW_PRIVS = 38
PR_SET_PDEATHSIG = 1
PR_CAPBSET_DROP = 24
_CAP_VERSION_3 = 0x20080522

# Landlock ABI ≥ 4: network rights; ABI ≥ 6: scopes.
LANDLOCK_ACCESS_NET_BIND_TCP = 1 << 0
LANDLOCK_ACCESS_NET_CONNECT_TCP = 1 << 1
LANDLOCK_SCOPE_ABSTRACT_UNIX_SOCKET = 1 << 0
LANDLOCK_SCOPE_SIGNAL = 1 << 1

# System paths a Python process needs to run (read + execute); missing ones are skipped.
SYSTEM_READ = (
    "/usr",
    "/lib",
    "/lib64",
    "/lib32",
    "/bin",
    "/sbin",
    "/etc/ld.so.cache",
    "/etc/localtime",
    "/etc/alternatives",
    "/sys/devices/system/cpu",
)
DEVICES_RW = ("/dev/null",)
DEVICES_R = ("/dev/zero", "/dev/urandom", "/dev/random")


class LayerError(Exception):
    """A layer could not be applied; the message says why (the launcher then refuses to run the code)."""


def _libc() -> ctypes.CDLL:
    return ctypes.CDLL(None, use_errno=True)


def _check(ret: int, what: str) -> int:
    if ret < 0:
        err = ctypes.get_errno()
        raise LayerError(f"{what}: {os.strerror(err)} (errno {err})")
    return ret


# ---- network namespace -----------------------------------------------------------------------------------------
def enter_network_namespace() -> str:
    """Move into a fresh network namespace; returns how ("root" or "user namespace")."""
    libc = _libc()
    if os.geteuid() == 0 and libc.unshare(CLONE_NEWNET) == 0:
        return "root"
    uid, gid = os.geteuid(), os.getegid()
    _check(libc.unshare(CLONE_NEWUSER | CLONE_NEWNET), "unshare(CLONE_NEWUSER|CLONE_NEWNET)")
    try:
        with open("/proc/self/setgroups", "w") as fh:
            fh.write("deny")
        with open("/proc/self/uid_map", "w") as fh:
            fh.write(f"{uid} {uid} 1")
        with open("/proc/self/gid_map", "w") as fh:
            fh.write(f"{gid} {gid} 1")
    except OSError as exc:
        raise LayerError(f"user namespace id maps: {exc}") from None
    return "user namespace"


# ---- no_new_privs and capabilities -----------------------------------------------------------------------------
def die_with_parent(parent_pid: int) -> bool:
    """SIGKILL this process when the parent (the thread that started it) dies; False if it is already gone."""
    import signal

    _check(_libc().prctl(PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0), "prctl(PR_SET_PDEATHSIG)")
    return os.getppid() == parent_pid


def set_no_new_privs() -> None:
    _check(_libc().prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "prctl(PR_SET_NO_NEW_PRIVS)")


class _CapHeader(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]


class _CapData(ctypes.Structure):
    _fields_ = [("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32), ("inheritable", ctypes.c_uint32)]


def drop_capabilities() -> int:
    """Empty the bounding set and the effective/permitted/inheritable capability sets; returns caps dropped."""
    libc = _libc()
    try:
        last = int(open("/proc/sys/kernel/cap_last_cap").read())
    except OSError:
        last = 40
    dropped = 0
    for cap in range(last + 1):
        if libc.prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) == 0:
            dropped += 1
    header = _CapHeader(_CAP_VERSION_3, 0)
    data = (_CapData * 2)()
    _check(libc.capset(ctypes.byref(header), data), "capset")
    return dropped


# ---- Landlock --------------------------------------------------------------------------------------------------
class _RulesetAttr(ctypes.Structure):
    _fields_ = [
        ("handled_access_fs", ctypes.c_uint64),
        ("handled_access_net", ctypes.c_uint64),
        ("scoped", ctypes.c_uint64),
    ]


class _PathBeneath(ctypes.Structure):
    _pack_ = 1
    _fields_ = [("allowed_access", ctypes.c_uint64), ("parent_fd", ctypes.c_int32)]


def landlock_abi() -> int:
    """The kernel's Landlock ABI version (0 when Landlock is unavailable)."""
    try:
        from landlock import landlock_abi_version

        return int(landlock_abi_version())
    except Exception:
        return 0


def _fs_rights(abi: int) -> tuple[int, int, int]:
    """(all handled rights, read+exec rights, file-only rights) for this ABI."""
    from landlock import FSAccess as A

    read = A.EXECUTE | A.READ_FILE | A.READ_DIR
    handled = int(A.all())  # the package adds REFER/TRUNCATE/IOCTL_DEV by ABI
    file_only = A.EXECUTE | A.WRITE_FILE | A.READ_FILE
    if abi >= 3:
        file_only |= A.TRUNCATE
    if abi >= 5:
        file_only |= A.IOCTL_DEV
    return handled, int(read), int(file_only)


def apply_landlock(read_paths: Iterable[str], write_paths: Iterable[str], *, network: bool = False) -> dict[str, Any]:
    """Restrict this process: read/exec only under ``read_paths``, everything only under ``write_paths``; TCP bind
    and connect denied (ABI ≥ 4) unless ``network``."""
    abi = landlock_abi()
    if abi < 1:
        raise LayerError("Landlock is not available (kernel < 5.13, or not enabled in the LSM list)")
    from landlock import FSAccess as A
    from landlock.plumbing import SYSCALL_ADD_RULE, SYSCALL_CREATE_RULESET, SYSCALL_RESTRICT_SELF

    libc = _libc()
    libc.syscall.restype = ctypes.c_long

    handled, read, file_only = _fs_rights(abi)
    attr = _RulesetAttr(handled, 0, 0)
    size = ctypes.sizeof(ctypes.c_uint64)
    if abi >= 4 and not network:
        attr.handled_access_net = LANDLOCK_ACCESS_NET_BIND_TCP | LANDLOCK_ACCESS_NET_CONNECT_TCP
        size = 2 * ctypes.sizeof(ctypes.c_uint64)
    if abi >= 6:
        attr.scoped = LANDLOCK_SCOPE_ABSTRACT_UNIX_SOCKET | LANDLOCK_SCOPE_SIGNAL
        size = 3 * ctypes.sizeof(ctypes.c_uint64)
    fd = _check(
        libc.syscall(SYSCALL_CREATE_RULESET, ctypes.byref(attr), ctypes.c_size_t(size), 0), "landlock_create_ruleset"
    )
    rules: list[tuple[str, int]] = []
    for p in read_paths:
        rules.append((p, read))
    for p in write_paths:
        rules.append((p, handled))
    for p in DEVICES_RW:
        rules.append((p, int(A.READ_FILE | A.WRITE_FILE) | (int(A.TRUNCATE) if abi >= 3 else 0)))
    for p in DEVICES_R:
        rules.append((p, int(A.READ_FILE)))
    allowed: list[str] = []
    try:
        for path, rights in rules:
            try:
                pfd = os.open(path, os.O_PATH | os.O_CLOEXEC)
            except OSError:
                continue  # a path that does not exist here needs no rule
            try:
                if not os.path.isdir(path):
                    rights &= file_only
                rule = _PathBeneath(rights, pfd)
                # 1 = LANDLOCK_RULE_PATH_BENEATH
                _check(libc.syscall(SYSCALL_ADD_RULE, fd, 1, ctypes.byref(rule), 0), f"landlock_add_rule({path})")
                allowed.append(path)
            finally:
                os.close(pfd)
        set_no_new_privs()
        _check(libc.syscall(SYSCALL_RESTRICT_SELF, fd, 0), "landlock_restrict_self")
    finally:
        os.close(fd)
    return {"abi": abi, "net": abi >= 4 and not network, "scoped": abi >= 6, "rules": len(allowed)}


# ---- seccomp ---------------------------------------------------------------------------------------------------
_EPERM_ALWAYS = (
    "connect",
    "bind",
    "listen",
    "accept",
    "accept4",
    "ptrace",
    "process_vm_readv",
    "process_vm_writev",
    "pidfd_open",
    "pidfd_getfd",
    "pidfd_send_signal",
    "kcmp",
    "io_uring_setup",
    "io_uring_enter",
    "io_uring_register",
    "mount",
    "umount2",
    "pivot_root",
    "chroot",
    "move_mount",
    "open_tree",
    "fsopen",
    "fsconfig",
    "fsmount",
    "fspick",
    "mount_setattr",
    "unshare",
    "setns",
    "bpf",
    "perf_event_open",
    "userfaultfd",
    "keyctl",
    "add_key",
    "request_key",
    "kexec_load",
    "kexec_file_load",
    "init_module",
    "finit_module",
    "delete_module",
    "reboot",
    "swapon",
    "swapoff",
    "settimeofday",
    "clock_settime",
    "adjtimex",
    "clock_adjtime",
    "acct",
    "quotactl",
    "syslog",
    "iopl",
    "ioperm",
    "name_to_handle_at",
    "open_by_handle_at",
    "setrlimit",
    "fork",
    "vfork",
    "tkill",
    # System V IPC: host shared memory segments, message queues and semaphores
    "shmget",
    "shmat",
    "shmctl",
    "msgget",
    "msgsnd",
    "msgrcv",
    "msgctl",
    "semget",
    "semop",
    "semctl",
    "semtimedop",
)


def apply_seccomp(pyseccomp: Any) -> dict[str, Any]:
    """Load the filter described in the module docstring (``pyseccomp`` imported before Landlock)."""
    sc = pyseccomp
    flt = sc.SyscallFilter(defaction=sc.ALLOW)
    eperm = sc.ERRNO(errno.EPERM)
    skipped: list[str] = []

    def rule(action: int, name: str, *args: Any) -> None:
        try:
            flt.add_rule(action, name, *args)
        except Exception:  # syscall unknown on this architecture
            skipped.append(name)

    for name in _EPERM_ALWAYS:
        rule(eperm, name)
    rule(sc.ERRNO(errno.EAFNOSUPPORT), "socket", sc.Arg(0, sc.NE, socket.AF_UNIX))
    rule(eperm, "socketpair", sc.Arg(0, sc.NE, socket.AF_UNIX))
    rule(eperm, "sendto", sc.Arg(4, sc.NE, 0))  # only to the connected peer (a socketpair), never to an address
    rule(eperm, "sendmsg")
    rule(eperm, "sendmmsg")
    rule(eperm, "clone", sc.Arg(0, sc.MASKED_EQ, CLONE_THREAD, 0))
    rule(sc.ERRNO(errno.ENOSYS), "clone3")
    rule(eperm, "prctl", sc.Arg(0, sc.EQ, PR_SET_PDEATHSIG))  # keep dying with the parent
    rule(eperm, "prlimit64", sc.Arg(2, sc.NE, 0))
    pid = os.getpid()
    for name in ("kill", "tgkill", "rt_sigqueueinfo", "rt_tgsigqueueinfo"):
        rule(eperm, name, sc.Arg(0, sc.NE, pid))
    try:
        flt.load()
    except OSError as exc:
        raise LayerError(f"seccomp filter load: {exc}") from None
    return {"rules": len(_EPERM_ALWAYS) + 13 - len(skipped), "skipped": skipped}


# ---- rlimits ---------------------------------------------------------------------------------------------------
def apply_rlimits(limits: Limits) -> dict[str, int]:
    mb = 1024 * 1024
    wanted = {
        "RLIMIT_CPU": limits.cpu_seconds,
        "RLIMIT_AS": limits.memory_mb * mb,
        "RLIMIT_FSIZE": limits.file_size_mb * mb,
        "RLIMIT_NOFILE": limits.open_files,
        "RLIMIT_CORE": 0,
    }
    for name, value in wanted.items():
        res = getattr(resource, name)
        hard = value + 1 if name == "RLIMIT_CPU" else value  # SIGXCPU at the soft limit, SIGKILL one second later
        try:
            resource.setrlimit(res, (value, hard))
        except (ValueError, OSError) as exc:
            raise LayerError(f"setrlimit({name}={value}): {exc}") from None
    return wanted
