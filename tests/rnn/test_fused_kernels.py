"""The CUDA kernels of rnn.fused_kernels: run on the CPU (tests/rnn/cuda_on_cpu.py) against
the array way and the composed reference; compiled as CUDA by nvcc where it is installed;
run on the GPU, each way, against the CPU where there is one. The tests of test_fused.py
that take ``kernel_way`` run every way too."""

import functools
import re
import shutil
import subprocess
import types

import numpy as np
import pytest
from hypothesis import given

import engine
import rnn
from rnn import fused, fused_kernels
from rnn.fused_steps import ArrayKernels
from tests.rnn.conftest import needs_compiler
from tests.rnn.cuda_on_cpu import cpu_kernel
from tests.rnn.fused_common import KINDS, assert_same, composed, configs, problem, results

KERNEL_WAYS = ["gates", "step", "sequence"]
KERNEL_NAMES = {f"{kind}_{pass_}{whole}" for kind in ("lstm", "gru", "rnn")
                for pass_ in ("forward", "backward") for whole in ("", "_sequence")}


def run(way, config, compile=cpu_kernel, device="cpu"):
    """Outputs, final states and gradients of ``config``, the steps run ``way``'s way."""
    x, state, weights, upstream = problem(**config, device=device)
    with fused_kernels.use_way(way, compile):
        return results(fused.run_direction, config["kind"], x, state, weights, upstream,
                       config["lengths"], config["reverse"])


# ---------------------------------------------------------------- on the CPU


@needs_compiler
@pytest.mark.parametrize("way", KERNEL_WAYS)
@given(config=configs())
def test_kernels_match_the_array_way_and_the_composed_path(way, config):
    got = run(way, config)
    assert_same(got, run("arrays", config), config["dtype"])
    x, state, weights, upstream = problem(**config)
    reference = results(composed, config["kind"], x, state, weights, upstream, config["lengths"],
                        config["reverse"])
    assert_same(got, reference, config["dtype"])


@needs_compiler
@pytest.mark.parametrize("way", KERNEL_WAYS)
@pytest.mark.parametrize("kind", sorted(KINDS))
@pytest.mark.parametrize("launch", [None, (2, 3), (1, 1)])
def test_any_launch_size_gives_the_same_numbers(way, kind, launch):
    """Grid-stride loops: one thread, six, or one per unit compute the same thing."""
    config = dict(kind=kind, steps=7, batch=5, inputs=3, hidden=6, dtype="float64", bias=True,
                  lengths=[7, 2, 5, 1, 7], reverse=True, seed=11)
    want = run("arrays", config)
    got = run(way, config, functools.partial(cpu_kernel, launch=launch))
    assert_same(got, want, "float64")


@pytest.mark.parametrize("way", ["arrays", *(pytest.param(way, marks=needs_compiler)
                                             for way in KERNEL_WAYS)])
@pytest.mark.parametrize("kind", sorted(KINDS))
def test_steps_that_no_sequence_reaches(way, kind):
    """Every length below T: the last steps run no row (no launch: CUDA refuses an empty
    one) and output zeros, as the composed path does."""
    for reverse in (False, True):
        config = dict(kind=kind, steps=6, batch=3, inputs=2, hidden=4, dtype="float64",
                      bias=True, lengths=[3, 1, 4], reverse=reverse, seed=13)
        got = run(way, config)
        x, state, weights, upstream = problem(**config)
        assert_same(got, results(composed, kind, x, state, weights, upstream, [3, 1, 4],
                                 reverse), "float64")
        assert not got[0][4:].any()


@needs_compiler
@pytest.mark.parametrize("way", KERNEL_WAYS)
def test_kernels_run_through_whole_layers(way):
    """Stacked, bidirectional, batch_first with lengths: the layer's outputs and gradients."""
    def train_step(layer, x, lengths):
        layer.zero_grad()
        output, (h_n, c_n) = layer(x, lengths=lengths)
        ((output * output).sum() + (h_n * c_n).sum()).backward()
        return [output.numpy(), h_n.numpy(), c_n.numpy()] + [p.grad.numpy()
                                                           for p in layer.parameters()]

    layer = rnn.LSTM(3, 5, num_layers=2, bidirectional=True, batch_first=True, dtype="float64",
                     rng=np.random.default_rng(0))
    x, lengths = engine.randn(4, 6, 3, rng=np.random.default_rng(1), dtype="float64"), [6, 3, 1, 4]
    with fused_kernels.use_way("arrays"):
        want = train_step(layer, x, lengths)
    with fused_kernels.use_way(way, cpu_kernel):
        got = train_step(layer, x, lengths)
    for a, b in zip(got, want):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-13)


TOY = r"""typedef double real;
extern "C" __global__ void twice(real* out, const real* x, int count) {
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i < count) out[i] = 2 * x[i];
}
extern "C" __global__ void sneaky(real* out, const real* x, int count) {
    ((real*)x)[0] = out[0] + 1;  // writes through a const pointer
}
extern "C" __global__ void reverse(real* out, real* scratch, const real* x, const int* count) {
    scratch[threadIdx.x] = x[threadIdx.x];
    __syncthreads();  // every thread's write done before any reads another's
    out[threadIdx.x] = scratch[count[0] - 1 - threadIdx.x];
}
"""


@needs_compiler
def test_the_cpu_runner_refuses_what_cupy_would_get_wrong():
    out, x = np.zeros(5), np.arange(5.0)
    cpu_kernel(TOY, "twice")((2,), (3,), (out, x, np.int32(5)))
    np.testing.assert_array_equal(out, 2 * x)
    with pytest.raises(TypeError, match=r"twice\(count\): expected numpy.int32 for int; got int"):
        cpu_kernel(TOY, "twice")((2,), (3,), (out, x, 5))
    with pytest.raises(TypeError, match=r"twice\(x\): expected a C-contiguous float64 array"):
        cpu_kernel(TOY, "twice")((2,), (3,), (out, x.astype(np.float32), np.int32(5)))
    with pytest.raises(TypeError, match=r"twice\(x\): expected a C-contiguous float64 array"):
        cpu_kernel(TOY, "twice")((2,), (3,), (out, np.arange(10.0)[::2], np.int32(5)))
    with pytest.raises(TypeError, match="3 arguments expected, 2 given"):
        cpu_kernel(TOY, "twice")((2,), (3,), (out, x))
    with pytest.raises(RuntimeError, match=r"twice: invalid configuration argument"):
        cpu_kernel(TOY, "twice")((0,), (3,), (out, x, np.int32(5)))
    with pytest.raises(AssertionError, match=r"sneaky\(x\) is const but the kernel changed it"):
        cpu_kernel(TOY, "sneaky")((1,), (1,), (out, x, np.int32(5)))
    with pytest.raises(TypeError, match=r"reverse\(count\): expected a C-contiguous int32"):
        cpu_kernel(TOY, "reverse")((1,), (5,), (out, np.zeros(5), x, np.array([5])))


@needs_compiler
def test_the_cpu_runner_gives_each_thread_of_a_block_that_synchronizes_its_own_thread():
    out, x = np.zeros(64), np.arange(64.0)
    cpu_kernel(TOY, "reverse")((1,), (64,), (out, np.zeros(64), x, np.array([64], np.int32)))
    np.testing.assert_array_equal(out, x[::-1])


# ---------------------------------------------------------------- the source as CUDA


@pytest.mark.skipif(shutil.which("nvcc") is None, reason="needs nvcc (the CUDA toolkit)")
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_the_source_compiles_as_cuda(dtype, tmp_path):
    (tmp_path / "kernels.cu").write_text(fused_kernels.source(dtype))
    subprocess.run(["nvcc", "--ptx", "-arch=sm_80", "-o", str(tmp_path / "kernels.ptx"),
                    str(tmp_path / "kernels.cu")], check=True, capture_output=True)
    entries = re.findall(r"\.entry (\w+)\(", (tmp_path / "kernels.ptx").read_text())
    assert set(entries) == KERNEL_NAMES


# ---------------------------------------------------------------- choosing the way


def test_select_by_backend_size_and_dtype():
    fake_gpu = types.SimpleNamespace(empty=np.empty)
    assert isinstance(fused_kernels.select(np, 1, 16, np.float32), ArrayKernels)
    small = fused_kernels.select(fake_gpu, 32, 128, np.float32)
    large = fused_kernels.select(fake_gpu, 32, 256, np.float64)
    wide = fused_kernels.select(fake_gpu, 1, 1024, np.float32)
    assert isinstance(small, fused_kernels.Kernels) and small.whole_sequence
    assert isinstance(large, fused_kernels.Kernels) and not large.fused_product
    assert not wide.fused_product  # one row, but too wide for one block
    assert isinstance(fused_kernels.select(fake_gpu, 1, 16, np.float16), ArrayKernels)


def test_use_way_is_undone_after_its_block_and_checks_its_name():
    with pytest.raises(RuntimeError, match="inside"):
        with fused_kernels.use_way("step", cpu_kernel):
            assert fused_kernels.select(np, 2, 2, np.float64).fused_product
            raise RuntimeError("inside")
    assert isinstance(fused_kernels.select(np, 2, 2, np.float64), ArrayKernels)
    with pytest.raises(ValueError, match="'gates', 'step', 'sequence'; got 'cudnn'"):
        with fused_kernels.use_way("cudnn"):
            pass


def test_kernels_for_another_dtype_are_refused_clearly():
    with pytest.raises(ValueError, match="written for float32 and float64; got float16"):
        with fused_kernels.use_way("gates", cpu_kernel):
            fused_kernels.select(np, 2, 2, np.float16)


def test_the_kernels_source_names_its_twelve_kernels():
    for dtype, real in (("float32", "float"), ("float64", "double")):
        text = fused_kernels.source(dtype)
        assert f"typedef {real} real;" in text
        assert set(re.findall(r'extern "C" __global__ void (\w+)\(', text)) == KERNEL_NAMES


# ---------------------------------------------------------------- on the GPU


@pytest.mark.gpu
@pytest.mark.skipif(not engine.cuda_available(), reason="needs CuPy and a CUDA GPU")
@pytest.mark.parametrize("way", fused_kernels.WAYS)
@pytest.mark.parametrize("kind", sorted(KINDS))
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_each_way_on_the_gpu_matches_the_cpu(way, kind, dtype):
    config = dict(kind=kind, steps=9, batch=6, inputs=5, hidden=7, dtype=dtype, bias=True,
                  lengths=[9, 3, 1, 9, 5, 2], reverse=False, seed=12)
    for reverse in (False, True):
        config["reverse"] = reverse
        want = run("arrays", config)
        got = run(way, config, compile=None, device="cuda")
        assert_same(got, want, dtype)
    with fused_kernels.use_way(way):  # H = 300: more units than a block has threads
        fused.check_fused(kind, device="cuda", dtype=dtype, seq_len=20, batch_size=33,
                          hidden_size=300)
