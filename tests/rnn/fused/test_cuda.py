"""rnn.fused.cuda: the CUDA kernels run on the CPU (cuda_on_cpu.py) against the array way
and the composed reference; the launcher's arguments (ints as C ints, NULL as 8 zero
bytes, the debug checks); the source as CUDA where nvcc is installed; each way on the GPU
against the CPU where there is one. The tests of test_sequence.py that take
``kernel_way`` run every way too."""

import functools
import pathlib
import re
import shutil
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given

import engine
import rnn
from engine import backend
from rnn import fused
from rnn.fused import cuda
from tests.rnn.fused.common import KINDS, assert_same, composed, configs, problem, results
from tests.rnn.fused.conftest import needs_compiler
from tests.rnn.fused.cuda_on_cpu import cpu_kernel

KERNEL_WAYS = ["gates", "step", "sequence"]
KERNEL_NAMES = {f"{kind}_{pass_}{whole}" for kind in ("lstm", "gru", "rnn")
                for pass_ in ("forward", "backward") for whole in ("", "_sequence")}
ROOT = pathlib.Path(__file__).resolve().parents[3]
needs_a_gpu = pytest.mark.skipif(not engine.cuda_available(),
                                 reason=backend.cuda_unavailable_reason() or "needs a GPU")


def run(way, config, compile=cpu_kernel, device="cpu"):
    """Outputs, final states and gradients of ``config``, the steps run ``way``'s way."""
    x, state, weights, upstream = problem(**config, device=device)
    with fused.use_way(way, compile):
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
    with fused.use_way("arrays"):
        want = train_step(layer, x, lengths)
    with fused.use_way(way, cpu_kernel):
        got = train_step(layer, x, lengths)
    for a, b in zip(got, want):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-13)


# ---------------------------------------------------------------- the launcher


class Recorder:
    """A ``compile`` whose kernels record what they were given (and run nothing)."""

    def __init__(self):
        self.calls = []

    def __call__(self, source, name):
        return lambda grid, block, args: self.calls.append((name, grid, block, args))


def test_the_wrappers_put_the_arguments_in_the_cu_order_as_c_types():
    """ints (a NumPy integer too) go as numpy.int32, None as an 8-byte NULL, batch and
    hidden from the shapes: in the order the kernel's source declares."""
    record = Recorder()
    steps = cuda.CudaSteps("step", np.float64, record)
    hs, tanh_c = np.zeros((4, 3, 2)), np.zeros((3, 3, 2))
    gates, w_hh_t = np.zeros((3, 3, 8)), np.zeros((2, 8))
    steps.lstm_forward(gates=gates, hs=hs, cs=hs, tanh_c=tanh_c, t=np.int64(1), rows=2,
                       w_hh_t=w_hh_t)
    name, grid, block, args = record.calls[0]
    parameters = cuda.signature(cuda.source(np.float64), "lstm_forward")
    assert [p for _, p in parameters] == ["gates", "recurrent", "w_hh_t", "hs", "cs", "tanh_c",
                                         "t", "rows", "batch", "hidden"]
    assert args[0] is gates and args[2] is w_hh_t and args[3] is hs
    assert type(args[1]) is np.intp and args[1] == 0  # NULL: no product buffer
    assert [(type(a), int(a)) for a in args[6:]] == [(np.int32, 1), (np.int32, 2),
                                                    (np.int32, 3), (np.int32, 2)]
    assert (name, grid, block) == ("lstm_forward", (1,), (cuda.THREADS_PER_BLOCK,))


@needs_compiler
def test_a_numpy_integer_step_runs_as_a_python_int_does():
    """t and rows as numpy.int64 (8 bytes to CuPy) reach the kernel as C ints: the same
    numbers as Python ints (the CPU runner refuses anything but numpy.int32)."""
    outs = []
    for number in (int, np.int64):
        hs = np.zeros((3, 2, 4))
        hs[1:] = np.arange(16.0).reshape(2, 2, 4) / 16
        steps = cuda.CudaSteps("step", np.float64, cpu_kernel)
        steps.rnn_forward(hs=hs, relu=number(0), t=number(0), rows=number(2),
                          w_hh_t=np.eye(4) / 2)
        outs.append(hs.copy())
    np.testing.assert_array_equal(outs[0], outs[1])
    assert np.tanh(1 / 16) == outs[0][1, 0, 1]


def test_the_launch_checks_catch_what_a_kernel_would_read_as_garbage(monkeypatch):
    """With CHECK_LAUNCHES (LOOPGRAD_CHECK_KERNELS=1): a float64 buffer for a float32
    kernel, a strided one, a float where an int goes, an int64 lengths array."""
    monkeypatch.setattr(cuda, "CHECK_LAUNCHES", True)
    steps = cuda.CudaSteps("sequence", np.float32, Recorder())
    hs, w = np.zeros((4, 3, 2), np.float32), np.zeros((2, 2), np.float32)
    lengths = np.array([3, 2, 1], np.int32)
    steps.rnn_forward_sequence(hs=hs, w_hh_t=w, relu=1, lengths=lengths)  # all fine
    for bad, message in [
        (dict(hs=hs.astype(np.float64)), r"rnn_forward_sequence\(hs\): expected a "
                                         r"C-contiguous float32 array; got a float64"),
        (dict(w_hh_t=np.zeros((2, 4), np.float32)[:, ::2]), r"\(w_hh_t\): .*C-contiguous: "
                                                            "False"),
        (dict(relu=1.0), r"rnn_forward_sequence\(relu\): expected an int for int; got float"),
        (dict(lengths=lengths.astype(np.int64)), r"\(lengths\): expected a C-contiguous "
                                                 "int32 array"),
    ]:
        arguments = dict(hs=hs, w_hh_t=w, relu=1, lengths=lengths) | bad
        with pytest.raises(TypeError, match=message):
            steps.rnn_forward_sequence(**arguments)
    with pytest.raises(TypeError, match="10 arguments expected, 9 given"):
        cuda.check_arguments("k", cuda.signature(cuda.source(np.float32), "gru_forward"),
                             [None] * 9, np.dtype(np.float32))


def test_the_switch_is_read_from_the_environment():
    code = "from rnn.fused import cuda; print(cuda.CHECK_LAUNCHES)"
    for value, printed in (("1", "True"), ("0", "False")):
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                             check=True, env={"LOOPGRAD_CHECK_KERNELS": value, "PATH": ""},
                             cwd=str(ROOT))
        assert out.stdout.strip() == printed


def test_the_source_is_read_when_the_first_kernel_is_built(monkeypatch):
    """Not on import, not when the steps are made: when a kernel is first launched."""
    read = []
    real = cuda.source.__wrapped__

    def counting(dtype):
        read.append(dtype)
        return real(dtype)

    monkeypatch.setattr(cuda, "source", functools.cache(counting))
    steps = cuda.CudaSteps("gates", np.float64, Recorder())
    assert read == []
    hs = np.zeros((2, 1, 1))
    steps.rnn_forward(hs=hs, relu=0, t=0, rows=1, recurrent=np.zeros((1, 1)))
    steps.rnn_forward(hs=hs, relu=0, t=1, rows=1, recurrent=np.zeros((1, 1)))
    assert read == [np.dtype(np.float64)]


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
    with pytest.raises(TypeError, match=r"twice\(x\): None for a pointer: .*numpy.intp\(0\)"):
        cpu_kernel(TOY, "twice")((2,), (3,), (out, None, np.int32(5)))
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
    (tmp_path / "kernels.cu").write_text(cuda.source(dtype))
    subprocess.run(["nvcc", "--ptx", "-arch=sm_80", "-o", str(tmp_path / "kernels.ptx"),
                    str(tmp_path / "kernels.cu")], check=True, capture_output=True)
    entries = re.findall(r"\.entry (\w+)\(", (tmp_path / "kernels.ptx").read_text())
    assert set(entries) == KERNEL_NAMES


def test_the_source_names_its_twelve_kernels_and_each_has_a_wrapper():
    for dtype, real in (("float32", "float"), ("float64", "double")):
        text = cuda.source(dtype)
        assert f"typedef {real} real;" in text
        assert set(re.findall(r'extern "C" __global__ void (\w+)\(', text)) == KERNEL_NAMES
    assert all(callable(getattr(cuda.CudaSteps, name)) for name in KERNEL_NAMES)


def test_kernels_for_another_dtype_are_refused_clearly():
    with pytest.raises(ValueError, match="written for float32 and float64; got float16"):
        with fused.use_way("gates", cpu_kernel):
            fused.select(np, 2, 2, np.float16)


# ---------------------------------------------------------------- on the GPU


@pytest.mark.gpu
@needs_a_gpu
@pytest.mark.parametrize("way", fused.WAYS)
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
