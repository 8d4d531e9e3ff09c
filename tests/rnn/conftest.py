"""The ``kernel_path`` fixture: a fused-op test run each way a step can be computed."""

import pytest

from rnn import fused_kernels
from tests.rnn.cuda_on_cpu import compiler, cpu_kernel

needs_compiler = pytest.mark.skipif(compiler() is None, reason="needs a C++ compiler (g++)")


@pytest.fixture(params=["arrays", pytest.param("gates", marks=needs_compiler),
                        pytest.param("step", marks=needs_compiler)])
def kernel_path(request):
    """Array operations, or the CUDA kernels of either way run on the CPU
    (tests/rnn/cuda_on_cpu.py), for the whole test."""
    with fused_kernels.use_path(request.param, cpu_kernel):
        yield request.param
