"""rnn.fused.ways: the way chosen by backend, size and dtype; use_way; the CPU path never
importing the CUDA module."""

import pathlib
import subprocess
import sys
import types

import numpy as np
import pytest

from rnn import fused
from rnn.fused import cuda, ways
from rnn.fused.steps import ArraySteps
from tests.rnn.fused.cuda_on_cpu import cpu_kernel

ROOT = pathlib.Path(__file__).resolve().parents[3]


def test_select_by_backend_size_and_dtype():
    fake_gpu = types.SimpleNamespace(empty=np.empty)
    assert isinstance(fused.select(np, 1, 16, np.float32), ArraySteps)
    small = fused.select(fake_gpu, 32, 128, np.float32)
    large = fused.select(fake_gpu, 32, 256, np.float64)
    wide = fused.select(fake_gpu, 1, 1024, np.float32)
    assert isinstance(small, cuda.CudaSteps) and small.whole_sequence
    assert isinstance(large, cuda.CudaSteps) and not large.fused_product
    assert not wide.fused_product  # one row, but too wide for one block
    assert isinstance(fused.select(fake_gpu, 1, 16, np.float16), ArraySteps)
    assert fused.select(fake_gpu, 32, 128, np.float32) is small  # one per process


def test_use_way_is_undone_after_its_block_and_checks_its_name():
    with pytest.raises(RuntimeError, match="inside"):
        with fused.use_way("step", cpu_kernel):
            assert fused.select(np, 2, 2, np.float64).fused_product
            raise RuntimeError("inside")
    assert isinstance(fused.select(np, 2, 2, np.float64), ArraySteps)
    with pytest.raises(ValueError, match="'gates', 'step', 'sequence'; got 'cudnn'"):
        with fused.use_way("cudnn"):
            pass
    assert ways._forced is None


def test_the_cpu_path_never_imports_the_cuda_module():
    """A whole training step of every layer on the CPU, padded and bidirectional: no
    rnn.fused.cuda, so no kernels.cu read, on import or after."""
    code = """
import sys, numpy as np, engine, rnn
assert "rnn.fused.cuda" not in sys.modules, "on import"
for layer in (rnn.LSTM(2, 3, bidirectional=True), rnn.GRU(2, 3), rnn.RNN(2, 3)):
    out, _ = layer(engine.randn(4, 2, 2, rng=0), lengths=[4, 2])
    out.sum().backward()
rnn.fused.check_fused("gru")
assert "rnn.fused.cuda" not in sys.modules, "after running"
print("ok")
"""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          cwd=str(ROOT))
    assert done.stdout.strip() == "ok", done.stderr
