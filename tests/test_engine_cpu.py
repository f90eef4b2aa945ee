"""The engine's CPU buffer policy: llama.cpp's extra weight buffers are off on AMX CPUs, where its AMX matrix
multiply crashes the process (ggml-org/llama.cpp#20824), and on as llama.cpp chooses elsewhere."""

from __future__ import annotations

import llama_cpp
import pytest
from edge_bundles import merged_bundle

from umi_edge.engine import Engine, native
from umi_edge.engine.options import EngineOptions

AMX = "processor\t: 0\nflags\t\t: fpu sse avx512f amx_bf16 amx_tile amx_int8 avx512_vnni\n"
NO_AMX = "processor\t: 0\nflags\t\t: fpu sse avx2 avx512f avx512_vnni\nbugs\t\t: amx_tile_is_not_a_flag_here\n"


def test_amx_is_read_from_the_flags_line() -> None:
    assert native.amx_in_cpuinfo(AMX)
    assert not native.amx_in_cpuinfo(NO_AMX)
    assert not native.amx_in_cpuinfo("flags : amx_bf16\n")  # bf16 alone has no int8 matrix multiply


@pytest.mark.parametrize("has_amx", [True, False])
def test_extra_buffers_default_follows_amx(monkeypatch: pytest.MonkeyPatch, has_amx: bool) -> None:
    monkeypatch.setattr(native, "cpu_has_amx", lambda: has_amx)
    assert native.extra_buffers(EngineOptions()) is (not has_amx)
    assert native.model_default_params(EngineOptions()).use_extra_bufts is (not has_amx)
    for forced in (True, False):
        assert native.extra_buffers(EngineOptions(extra_buffers=forced)) is forced
        assert native.model_default_params(EngineOptions(extra_buffers=forced)).use_extra_bufts is forced


def test_high_level_llama_gets_the_policy_and_the_default_comes_back() -> None:
    before = llama_cpp.llama_cpp.llama_model_default_params
    library_default = before().use_extra_bufts
    with native.high_level_defaults(EngineOptions(extra_buffers=not library_default)):
        assert llama_cpp.llama_cpp.llama_model_default_params().use_extra_bufts is (not library_default)
    assert llama_cpp.llama_cpp.llama_model_default_params is before
    assert before().use_extra_bufts is library_default


def test_the_real_model_generates_under_the_default_policy(tmp_path) -> None:  # noqa: ANN001
    """On an AMX CPU this crashed the test process (SIGSEGV in llama_decode) before the policy."""
    with Engine.from_bundle(merged_bundle(tmp_path / "b"), EngineOptions(threads=1)) as engine:
        gen = engine.complete("planner", "The capital of France is", max_tokens=4, stop=())
    assert gen.generated_tokens == 4
