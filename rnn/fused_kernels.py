"""CUDA kernels for the fused sequence ops: a step, or a whole sequence, in ONE launch.

Contents:
    SOURCE        the CUDA C of ``rnn/fused_kernels.cu``: per (row, unit) functions, and
                  the kernels that run them over one step or over every step (LSTM, GRU,
                  RNN; forward, backward)
    Kernels       the kernels of one dtype, and how to launch them
    select        which way a call of ``rnn.fused_ops`` runs its steps (``ArrayKernels``
                  of ``rnn.fused_steps`` for "arrays", else ``Kernels``)
    use_way       force a way (tests, benchmarks), optionally with another compiler

``rnn.fused_ops`` runs the steps of a sequence one of four ways:

    "arrays"    array operations (NumPy, or CuPy's own kernels): the product h_{t-1} W_hh^T,
                then about a dozen elementwise operations, each a pass over the (B, G*H)
                slab; the way on the CPU;
    "gates"     per step, the product by cuBLAS into a buffer, then ONE kernel for all the
                gate arithmetic (two host calls per step, each direction of time);
    "step"      per step, ONE kernel for everything: each thread computes its own G dot
                products of length H (a naive small matrix product), then its gates (one
                host call per step);
    "sequence"  ONE kernel for all the steps: h_t of a row depends only on that row's
                h_{t-1}, so a block of threads takes a row through every step, with a
                barrier (__syncthreads) between steps (one host call per sequence).

When B*H is small, host calls dominate and "sequence" should win; when it is large,
cuBLAS's tiled product does, and "gates" should. The kernels mirror the array code of
``rnn.fused_steps`` operation for operation, in the same order, so all ways agree to
rounding. One thread handles one (row, unit) of a step: it reads the pre-activations of
its G gates and writes their values (forward) or gradients (backward); no two threads
write the same element, and a step reads only what finished steps wrote. Loops are
grid-stride, so any launch size is correct.

The kernels (``rnn/fused_kernels.cu``) take whole C-contiguous buffers and the step index
t, so a step costs no array views on the host. ``compile(source, name)`` turns the source
into a launchable kernel: CuPy's RawKernel by default; the tests pass one that builds the
same source with a C++ compiler and runs it on the CPU, so the arithmetic is checked
where there is no GPU.
"""

import contextlib
import functools
import importlib.resources

import numpy as np

from engine import backend
from rnn.fused_steps import ArrayKernels

SOURCE = (importlib.resources.files("rnn") / "fused_kernels.cu").read_text()

_PRELUDE = {  # the lines before SOURCE, per dtype
    np.dtype(np.float32): "typedef float real;\n"
                          "__device__ __forceinline__ float tanh_(float x) { return tanhf(x); }\n",
    np.dtype(np.float64): "typedef double real;\n"
                          "__device__ __forceinline__ double tanh_(double x) { return tanh(x); }\n",
}
WAYS = ("arrays", "gates", "step", "sequence")
THREADS_PER_BLOCK = 128  # per-step kernels; the sequence kernels take a warp multiple <= 256
SEQUENCE_LIMIT = 4096  # B*H up to which select takes "sequence" on the GPU ...
SEQUENCE_HIDDEN_LIMIT = 256  # ... and H: a block per row, each thread a unit (or a few)


def source(dtype):
    """The complete CUDA source for ``dtype`` (float32 or float64)."""
    if np.dtype(dtype) not in _PRELUDE:
        raise ValueError(f"the fused CUDA kernels are written for float32 and float64; got "
                         f"{np.dtype(dtype)}")
    return _PRELUDE[np.dtype(dtype)] + SOURCE


class Kernels:
    """The kernels of SOURCE for one dtype and one way ("gates", "step" or "sequence").

    ``fused_product``: the kernels compute the recurrent product themselves (the caller
    passes the weights and no product buffer); ``whole_sequence``: the caller launches the
    ``*_sequence`` kernels, once, instead of a kernel per step.
    """

    def __init__(self, way, dtype, compile):
        self.fused_product = way in ("step", "sequence")
        self.whole_sequence = way == "sequence"
        self._source, self._compile, self._compiled = source(dtype), compile, {}

    def contiguous(self, a):
        """``a`` as these kernels can read it: C-contiguous (a copy only if it is not)."""
        return backend.xp_of(a).ascontiguousarray(a)

    def _run(self, name, grid, block, args):
        kernel = self._compiled.get(name)
        if kernel is None:
            kernel = self._compiled[name] = self._compile(self._source, name)
        kernel((grid,), (block,), tuple(np.int32(a) if isinstance(a, int) else a for a in args))

    def launch(self, name, units, *args):
        """Run the per-step kernel ``name`` on ``units`` threads (ints go as C ``int``, None
        as NULL)."""
        self._run(name, -(-units // THREADS_PER_BLOCK), THREADS_PER_BLOCK, args)

    def launch_sequence(self, name, *args):
        """Run the ``*_sequence`` kernel ``name``, whose last arguments are ``batch, hidden``:
        a block per row, threads over the units."""
        batch, hidden = args[-2:]
        self._run(name, batch, min(-(-hidden // 32) * 32, 256), args)


_forced = None  # (way, compile) while use_way is active


def select(xp, batch, hidden, dtype):
    """The kernels for one call of a fused op: ``ArrayKernels`` for the "arrays" way, else
    ``Kernels``.

    NumPy takes "arrays". CuPy takes "sequence" when ``batch * hidden <= SEQUENCE_LIMIT``
    and ``hidden <= SEQUENCE_HIDDEN_LIMIT``, else "gates": host calls dominate at small
    sizes, the naive product's arithmetic at large ones, and a row's block runs on one
    multiprocessor (the issue's H100 calibration; our thresholds are not measured yet).
    Dtypes other than float32 and float64 take "arrays". ``use_way`` overrides.
    """
    if _forced is not None:
        way, compile = _forced
    elif xp is np or np.dtype(dtype) not in _PRELUDE:
        way, compile = "arrays", None
    else:
        small = batch * hidden <= SEQUENCE_LIMIT and hidden <= SEQUENCE_HIDDEN_LIMIT
        way = "sequence" if small else "gates"
        compile = backend.raw_kernel
    if way == "arrays":
        return ArrayKernels(xp, batch, hidden, dtype)  # its scratch space is per call
    return _kernels(way, np.dtype(dtype), compile)


@functools.cache
def _kernels(way, dtype, compile):
    """One Kernels per way, dtype and compiler, for the whole process: each kernel is
    looked up (and compiled) once."""
    return Kernels(way, dtype, compile)


@contextlib.contextmanager
def use_way(way, compile=None):
    """Run the fused ops' steps ``way``'s way (one of ``WAYS``) in this block, with kernels
    made by ``compile(source, name)`` (default: CuPy's RawKernel, cached).

    >>> with use_way("arrays"):
    ...     type(select(np, 32, 128, np.float32)).__name__
    'ArrayKernels'
    """
    global _forced
    if way not in WAYS:
        raise ValueError(f"use_way: way must be one of {', '.join(map(repr, WAYS))}; got {way!r}")
    previous, _forced = _forced, (way, compile or backend.raw_kernel)
    try:
        yield
    finally:
        _forced = previous
