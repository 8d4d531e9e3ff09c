"""Which way the fused ops run their steps: WAYS, select, use_way.

    "arrays"    array operations (``rnn.fused.steps.ArraySteps``: NumPy, or CuPy's own
                kernels), one Python loop per sequence: per step the product
                h_{t-1} W_hh^T, then a few elementwise operations, each a pass over the
                step's slab; the way on the CPU;
    "gates"     per step, the product by cuBLAS into a buffer, then ONE CUDA kernel for all
                the gate arithmetic (two host calls per step, each direction of time);
    "step"      per step, ONE kernel for everything: each thread computes its own G dot
                products of length H (a naive small matrix product), then its gates (one
                host call per step);
    "sequence"  ONE kernel for all the steps: h_t of a row depends only on that row's
                h_{t-1}, so a block of threads takes a row through every step, with a
                barrier between steps (one host call per sequence).

The last three are ``rnn.fused.cuda.CudaSteps``, imported only when one of them runs: the
CPU path never imports the CUDA module.
"""

import contextlib

import numpy as np

from rnn.fused.steps import ArraySteps

WAYS = ("arrays", "gates", "step", "sequence")
SEQUENCE_LIMIT = 4096  # B*H up to which select takes "sequence" on the GPU ...
SEQUENCE_HIDDEN_LIMIT = 256  # ... and H: a block per row, each thread a unit (or a few)
KERNEL_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))  # those kernels.cu is built for

_forced = None  # (way, compile) while use_way is active


def select(xp, batch, hidden, dtype):
    """The steps for one call of a fused op, whose arrays belong to ``xp`` (numpy, cupy).

    NumPy takes "arrays". CuPy takes "sequence" when ``batch * hidden <= SEQUENCE_LIMIT``
    and ``hidden <= SEQUENCE_HIDDEN_LIMIT``, else "gates": host calls dominate at small
    sizes, the naive product's arithmetic at large ones, and a row's block runs on one
    multiprocessor (the issue's H100 calibration; our thresholds are not measured yet).
    Dtypes other than float32 and float64 take "arrays". ``use_way`` overrides.
    """
    if _forced is not None:
        way, compile = _forced
    elif xp is np or np.dtype(dtype) not in KERNEL_DTYPES:
        way, compile = "arrays", None
    else:
        small = batch * hidden <= SEQUENCE_LIMIT and hidden <= SEQUENCE_HIDDEN_LIMIT
        way, compile = ("sequence" if small else "gates"), None
    if way == "arrays":
        return ArraySteps(xp, batch, hidden, dtype)  # its scratch space is per call
    from rnn.fused import cuda  # the CUDA launcher: only now, on the way to a GPU kernel

    return cuda.steps(way, dtype, compile)


@contextlib.contextmanager
def use_way(way, compile=None):
    """Run the fused ops' steps ``way``'s way (one of ``WAYS``) in this block, with kernels
    made by ``compile(source, name)`` (default: CuPy's RawKernel, cached; the tests pass
    one that builds the same source for the CPU).

    >>> with use_way("arrays"):
    ...     type(select(np, 32, 128, np.float32)).__name__
    'ArraySteps'
    """
    global _forced
    if way not in WAYS:
        raise ValueError(f"use_way: way must be one of {', '.join(map(repr, WAYS))}; got {way!r}")
    previous, _forced = _forced, (way, compile)
    try:
        yield
    finally:
        _forced = previous
