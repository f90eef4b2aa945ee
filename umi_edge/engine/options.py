"""Engine and sampling options: threads, GPU offload, context size, mmap; greedy or sampled decoding per role."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path


def physical_cores() -> int:
    """Number of physical CPU cores this process may use (hyper-threads counted once).

    llama-cpp-python's own default (``cpu_count // 2``) is wrong on small machines (1 thread on 2 cores), so the
    engine always sets threads explicitly.  Read from sysfs topology; falls back to the affinity mask size.
    """
    try:
        allowed = os.sched_getaffinity(0)
    except AttributeError:  # pragma: no cover - non-Linux
        allowed = set(range(os.cpu_count() or 1))
    cores: set[str] = set()
    for cpu in allowed:
        sibs = Path(f"/sys/devices/system/cpu/cpu{cpu}/topology/thread_siblings_list")
        try:
            cores.add(sibs.read_text().strip())
        except OSError:
            cores.add(str(cpu))
    return max(1, len(cores))


@dataclass
class SamplingParams:
    """How one role decodes. ``temperature == 0`` means greedy (the default, as the paper's inference)."""

    temperature: float = 0.0
    top_k: int = 40
    top_p: float = 0.95
    min_p: float = 0.05
    repeat_penalty: float = 1.0
    seed: int = 0
    max_tokens: int = 512

    @property
    def greedy(self) -> bool:
        return self.temperature <= 0.0


@dataclass
class EngineOptions:
    """How the bundle is loaded. ``threads=None`` means the number of physical cores; ``context_length=None``
    takes the bundle's ``context_length``; ``gpu_layers`` (-1 = all) offloads to CUDA when llama.cpp has it, and
    then flash attention is turned on. ``repeat_stop``: end a generation (stop reason ``repetition``) once its
    last N tokens repeat one pattern of at most 32 tokens; 0 never does."""

    threads: int | None = None
    gpu_layers: int = 0
    context_length: int | None = None
    batch_size: int = 512
    mmap: bool = True
    flash_attn: bool | None = None
    prefix_reuse: bool = True
    verify_sha: bool = True
    repeat_stop: int = 48
    extra_buffers: bool | None = None
    """llama.cpp's extra CPU weight buffers (AMX, repacking); None: off on AMX CPUs only (see engine.native)."""
    verbose: bool = False
    sampling: dict[str, SamplingParams] = field(default_factory=dict)

    @property
    def n_threads(self) -> int:
        return self.threads if self.threads and self.threads > 0 else physical_cores()

    def sampling_for(self, role: str) -> SamplingParams:
        """Sampling of ``role`` (greedy defaults when not set)."""
        return self.sampling.get(role) or SamplingParams()
