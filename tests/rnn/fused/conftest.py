"""The ``kernel_way`` fixture: a fused-op test run each way a step can be computed."""

import pytest

from rnn import fused
from tests.rnn.fused.cuda_on_cpu import compiler, cpu_kernel

needs_compiler = pytest.mark.skipif(compiler() is None,
                                    reason="needs a C++20 compiler (g++ 11 or newer)")


@pytest.fixture(params=["arrays", *(pytest.param(way, marks=needs_compiler)
                                    for way in ("gates", "step", "sequence"))])
def kernel_way(request):
    """Array operations, or the CUDA kernels of each GPU way run on the CPU
    (tests/rnn/fused/cuda_on_cpu.py), for the whole test."""
    with fused.use_way(request.param, cpu_kernel):
        yield request.param
