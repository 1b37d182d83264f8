"""precision: auto picks bf16 only where the machine runs it natively."""

import pytest

from sentidistill.precision import choose_precision, cpu_flags, resolve_precision

AVX2_ONLY = {"sse4_2", "avx", "avx2", "fma", "f16c"}
SAPPHIRE_RAPIDS = AVX2_ONLY | {"avx512f", "avx512_bf16", "amx_bf16", "amx_tile"}


def test_auto_on_a_cpu_without_native_bf16_is_fp32():
    c = choose_precision("auto", cuda=False, cuda_bf16=False, flags=AVX2_ONLY)
    assert c.used == "fp32" and "without native bf16" in c.reason


@pytest.mark.parametrize("flag", ["avx512_bf16", "amx_bf16"])
def test_auto_on_a_cpu_with_native_bf16_is_bf16(flag):
    c = choose_precision("auto", cuda=False, cuda_bf16=False, flags=AVX2_ONLY | {flag})
    assert c.used == "bf16" and flag in c.reason


def test_auto_on_gpus():
    assert choose_precision("auto", cuda=True, cuda_bf16=True, flags=AVX2_ONLY).used == "bf16"
    assert choose_precision("auto", cuda=True, cuda_bf16=False, flags=SAPPHIRE_RAPIDS).used == "fp16"


@pytest.mark.parametrize("explicit", ["fp32", "bf16", "fp16"])
def test_an_explicit_precision_is_kept_on_any_machine(explicit):
    for flags in (AVX2_ONLY, SAPPHIRE_RAPIDS):
        c = choose_precision(explicit, cuda=False, cuda_bf16=False, flags=flags)
        assert (c.requested, c.used, c.reason) == (explicit, explicit, "set explicitly")


def test_cpu_flags_reads_the_flags_line(tmp_path):
    info = tmp_path / "cpuinfo"
    info.write_text(
        "processor\t: 0\nmodel name\t: X\nflags\t\t: fpu avx2 avx512_bf16\n\nprocessor\t: 1\nflags\t: fpu\n"
    )
    assert cpu_flags(info) == {"fpu", "avx2", "avx512_bf16"}
    assert cpu_flags(tmp_path / "missing") == frozenset()


def test_resolve_precision_on_this_machine_agrees_with_its_flags():
    c = resolve_precision("auto")
    native = bool(cpu_flags() & {"avx512_bf16", "amx_bf16"})
    import torch

    if not torch.cuda.is_available():
        assert c.used == ("bf16" if native else "fp32")
