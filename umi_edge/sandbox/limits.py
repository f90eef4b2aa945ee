"""Resource limits of a sandboxed process and the scrubbed environment it starts with."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

SAFE_PATH = "/usr/local/bin:/usr/bin:/bin"


@dataclass(frozen=True)
class Limits:
    """rlimits applied by the launcher to itself (so to the code it runs) plus the parent-side output cap.

    ``memory_mb`` is RLIMIT_AS (virtual memory: leave headroom, Python alone maps ~100 MB); ``cpu_seconds`` is
    RLIMIT_CPU (SIGXCPU); ``file_size_mb`` is RLIMIT_FSIZE (EFBIG); ``open_files`` is RLIMIT_NOFILE.
    ``max_output_bytes`` caps stdout + stderr: past it the process group is killed and the output truncated.
    The wall-clock timeout is the ``timeout`` of each call.
    """

    cpu_seconds: int = 15
    memory_mb: int = 1024
    file_size_mb: int = 16
    open_files: int = 64
    max_output_bytes: int = 1_000_000

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def scrubbed_env(tmp: str, *, home: str | None = None) -> dict[str, str]:
    """The whole environment of a sandboxed process: nothing is inherited from the parent (no tokens, keys,
    proxies, virtualenv variables), only a fixed PATH, a UTF-8 locale, and HOME/TMPDIR in the private tmp."""
    env = {
        "PATH": SAFE_PATH,
        "HOME": home or tmp,
        "TMPDIR": tmp,
        "TMP": tmp,
        "TEMP": tmp,
        "LANG": "C.UTF-8",
        "LC_ALL": "C.UTF-8",
        "PYTHONDONTWRITEBYTECODE": "1",
        "PYTHONIOENCODING": "utf-8",
        "OPENBLAS_NUM_THREADS": "1",
        "OMP_NUM_THREADS": "1",
        "MKL_NUM_THREADS": "1",
        "MPLCONFIGDIR": tmp,
    }
    return env
