"""CUDA kernels for the fused sequence ops: the gate arithmetic of one step in ONE launch.

Contents:
    SOURCE        the CUDA C of the six kernels (forward and backward of LSTM, GRU, RNN)
    Kernels       the kernels of one dtype, and how to launch them
    select        which way a call of ``rnn.fused_ops`` runs its steps (``ArrayKernels``
                  of ``rnn.fused_steps`` for "arrays", else ``Kernels``)
    use_path      force a way (tests, benchmarks), optionally with another compiler

``rnn.fused_ops`` runs each step of a sequence one of three ways:

    "arrays"   array operations (NumPy, or CuPy's own kernels): the product h_{t-1} W_hh^T,
               then about a dozen elementwise operations, each a pass over the (B, G*H)
               slab; the way on the CPU;
    "gates"    the product by cuBLAS into a buffer, then ONE kernel for all the gate
               arithmetic of the step (two host calls per step each way);
    "step"     ONE kernel for the whole step: each thread computes its own G dot products
               of length H (a naive small matrix product), then its gates (one host call
               per step). When B*H is small, host time dominates and this wins; when it is
               large, cuBLAS's tiled product does.

The kernels mirror the "arrays" code of ``rnn.fused_ops`` operation for operation, in the
same order, so the three ways agree to rounding. One thread handles one (row, unit) of the
step: it reads the pre-activations of its G gates and writes their values (forward) or
gradients (backward); different threads never write the same element, and a step only
reads what earlier launches wrote. Loops are grid-stride, so any launch size is correct.

The kernels take whole C-contiguous buffers and the step index t, so a step costs no array
views on the host. ``compile(source, name)`` turns the source into a launchable kernel:
CuPy's RawKernel by default; the tests pass one that builds the same source with a C++
compiler and runs it on the CPU, so the arithmetic is checked where there is no GPU.
"""

import contextlib

import numpy as np

from engine import backend
from rnn.fused_steps import ArrayKernels

SOURCE = r"""
// Gate arithmetic of one step of rnn/fused_ops.py. `real` (float or double) and tanh_()
// are defined by the lines before this text. One thread per (row, unit) of step t.
// Sigmoid gates arrive halved (their weights were scaled by 1/2): sigmoid(a) is then
// tanh(a / 2) / 2 + 1 / 2, which never overflows.

#define FOR_EACH_UNIT(count)                                                        \
    for (long long index = (long long)blockIdx.x * blockDim.x + threadIdx.x;         \
         index < (count); index += (long long)blockDim.x * gridDim.x)

__device__ __forceinline__ real sigmoid_from_half(real half) {
    return tanh_(half) * (real)0.5 + (real)0.5;
}

// sum over m of row[m] * matrix[m, column], matrix (inner, width) row-major: the naive
// small matrix product of the "step" way (threads of a warp read adjacent columns)
__device__ __forceinline__ real row_times_column(const real* row, const real* matrix,
                                                 int inner, int width, int column) {
    real total = 0;
    for (int m = 0; m < inner; ++m) total += row[m] * matrix[(long long)m * width + column];
    return total;
}

// LSTM, gates i f g o. gates (T, B, 4H): x W_ih^T on entry, the gate values on exit;
// recurrent (B, 4H): h_{t-1} W_hh^T by cuBLAS, or NULL: computed here from w_hh_t (H, 4H);
// bias (4H,); hs, cs (T+1, B, H), step t+1 written; tanh_c (T, B, H) <- tanh(c_t).
extern "C" __global__ void lstm_forward(
        real* gates, const real* recurrent, const real* w_hh_t, const real* bias,
        real* hs, real* cs, real* tanh_c, int t, int rows, int batch, int hidden) {
    const int width = 4 * hidden;
    FOR_EACH_UNIT((long long)rows * hidden) {
        const int row = index / hidden, unit = index % hidden;
        const long long slab = ((long long)t * batch + row) * width;  // gates[t, row, 0]
        const long long at = ((long long)t * batch + row) * hidden;   // hs[t, row, 0]
        const long long next = at + (long long)batch * hidden + unit;  // hs[t + 1, row, unit]
        real value[4];
        for (int k = 0; k < 4; ++k) {
            const int column = k * hidden + unit;
            const real product = recurrent ? recurrent[(long long)row * width + column]
                : row_times_column(hs + at, w_hh_t, hidden, width, column);
            value[k] = gates[slab + column] + product + bias[column];
        }
        const real i = sigmoid_from_half(value[0]), f = sigmoid_from_half(value[1]);
        const real g = tanh_(value[2]), o = sigmoid_from_half(value[3]);
        gates[slab + unit] = i;
        gates[slab + hidden + unit] = f;
        gates[slab + 2 * hidden + unit] = g;
        gates[slab + 3 * hidden + unit] = o;
        const real c = f * cs[at + unit] + i * g;
        const real tanh_of_c = tanh_(c);
        cs[next] = c;
        tanh_c[at + unit] = tanh_of_c;
        hs[next] = o * tanh_of_c;
    }
}

// d_pre (T, B, 4H) <- the pre-activation gradients of step t. dh_next (B, H): dA_{t+1} W_hh
// for rows that ran step t+1 and d h_n for the others; or, with w_hh (4H, H) given, d h_n
// only, and rows below next_rows compute dA_{t+1} W_hh here. d_cs (T, B, H) or NULL;
// dc (B, H): d c_t in, d c_{t-1} out.
extern "C" __global__ void lstm_backward(
        real* d_pre, const real* gates, const real* cs, const real* tanh_c,
        const real* d_out, const real* d_cs, const real* dh_next, const real* w_hh, real* dc,
        int t, int rows, int next_rows, int batch, int hidden) {
    const int width = 4 * hidden;
    FOR_EACH_UNIT((long long)rows * hidden) {
        const int row = index / hidden, unit = index % hidden;
        const long long slab = ((long long)t * batch + row) * width;
        const long long state = ((long long)t * batch + row) * hidden + unit;
        const long long carried = (long long)row * hidden + unit;
        const real from_next = (w_hh && row < next_rows)
            ? row_times_column(d_pre + slab + (long long)batch * width, w_hh, width, hidden, unit)
            : dh_next[carried];
        const real dh = from_next + d_out[state];
        real dc_t = dc[carried];
        if (d_cs) dc_t += d_cs[state];
        const real i = gates[slab + unit], f = gates[slab + hidden + unit];
        const real g = gates[slab + 2 * hidden + unit], o = gates[slab + 3 * hidden + unit];
        const real tanh_of_c = tanh_c[state];
        const real d_o = dh * tanh_of_c;
        dc_t += (dh - d_o * tanh_of_c) * o;  // dh o (1 - tanh^2 c)
        d_pre[slab + unit] = dc_t * g * ((1 - i) * i);
        d_pre[slab + hidden + unit] = dc_t * cs[state] * ((1 - f) * f);
        d_pre[slab + 2 * hidden + unit] = dc_t * i * (1 - g * g);
        d_pre[slab + 3 * hidden + unit] = d_o * ((1 - o) * o);
        dc[carried] = dc_t * f;
    }
}

// GRU, gates r z n. gates (T, B, 3H): x W_ih^T on entry, r z n on exit; recurrent (B, 3H):
// h_{t-1} W_hh^T, or NULL: computed here from w_hh_t (H, 3H); bias (3H,) (b_ih, plus b_hh
// in the r and z rows); b_hn (H,); hs (T+1, B, H), step t+1 written; hn (T, B, H) <- W_hn h + b_hn.
extern "C" __global__ void gru_forward(
        real* gates, const real* recurrent, const real* w_hh_t, const real* bias,
        const real* b_hn, real* hs, real* hn, int t, int rows, int batch, int hidden) {
    const int width = 3 * hidden;
    FOR_EACH_UNIT((long long)rows * hidden) {
        const int row = index / hidden, unit = index % hidden;
        const long long slab = ((long long)t * batch + row) * width;
        const long long at = ((long long)t * batch + row) * hidden;
        real product[3];
        for (int k = 0; k < 3; ++k) {
            const int column = k * hidden + unit;
            product[k] = recurrent ? recurrent[(long long)row * width + column]
                : row_times_column(hs + at, w_hh_t, hidden, width, column);
        }
        const real r = sigmoid_from_half(gates[slab + unit] + bias[unit] + product[0]);
        const real z = sigmoid_from_half(gates[slab + hidden + unit] + bias[hidden + unit]
                                         + product[1]);
        const real hn_t = product[2] + b_hn[unit];
        const real n = tanh_(gates[slab + 2 * hidden + unit] + bias[2 * hidden + unit]
                             + r * hn_t);
        gates[slab + unit] = r;
        gates[slab + hidden + unit] = z;
        gates[slab + 2 * hidden + unit] = n;
        hn[at + unit] = hn_t;
        hs[at + (long long)batch * hidden + unit] = (hs[at + unit] - n) * z + n;
    }
}

// d_pre_h (T, B, 3H) <- (dr, dz, dn r), d_pre_n (T, B, H) <- dn, pre-activation gradients of
// step t. dh_next (B, H): dA_h,{t+1} W_hh for rows that ran step t+1, zero for the others;
// or, with w_hh (3H, H) given, unused: rows below next_rows compute it here. carry (B, H):
// dh_{t+1} z_{t+1} (d h_n before a row's last step) in, dh_t z_t out.
extern "C" __global__ void gru_backward(
        real* d_pre_h, real* d_pre_n, const real* gates, const real* hn, const real* hs,
        const real* d_out, const real* dh_next, const real* w_hh, real* carry,
        int t, int rows, int next_rows, int batch, int hidden) {
    const int width = 3 * hidden;
    FOR_EACH_UNIT((long long)rows * hidden) {
        const int row = index / hidden, unit = index % hidden;
        const long long slab = ((long long)t * batch + row) * width;
        const long long state = ((long long)t * batch + row) * hidden + unit;
        const long long carried = (long long)row * hidden + unit;
        const real* d_next = d_pre_h + slab + (long long)batch * width;  // d_pre_h[t + 1, row]
        const real from_next = !w_hh ? dh_next[carried] : row >= next_rows ? (real)0
            : row_times_column(d_next, w_hh, width, hidden, unit);
        const real dh = carry[carried] + from_next + d_out[state];
        const real r = gates[slab + unit], z = gates[slab + hidden + unit];
        const real n = gates[slab + 2 * hidden + unit];
        const real dn = (1 - n * n) * dh * (1 - z);
        d_pre_h[slab + unit] = dn * hn[state] * ((1 - r) * r);
        d_pre_h[slab + hidden + unit] = (hs[state] - n) * dh * ((1 - z) * z);
        d_pre_h[slab + 2 * hidden + unit] = dn * r;
        d_pre_n[state] = dn;
        carry[carried] = dh * z;
    }
}

// Elman RNN. hs (T+1, B, H): step t+1 holds x W_ih^T on entry, h_t on exit (zero in the
// rows from `rows` on: padding); recurrent (B, H): h_{t-1} W_hh^T, or NULL: computed here
// from w_hh_t (H, H); bias (H,); relu: 1 for relu, 0 for tanh.
extern "C" __global__ void rnn_forward(
        real* hs, const real* recurrent, const real* w_hh_t, const real* bias, int relu,
        int t, int rows, int batch, int hidden) {
    FOR_EACH_UNIT((long long)batch * hidden) {
        const int row = index / hidden, unit = index % hidden;
        const long long at = ((long long)t * batch + row) * hidden;
        const long long next = at + (long long)batch * hidden + unit;
        if (row >= rows) {
            hs[next] = 0;
            continue;
        }
        const real product = recurrent ? recurrent[index]
            : row_times_column(hs + at, w_hh_t, hidden, hidden, unit);
        const real pre = hs[next] + product + bias[unit];
        hs[next] = relu ? (pre < 0 ? (real)0 : pre) : tanh_(pre);
    }
}

// d_pre (T, B, H) <- the pre-activation gradient of step t; dh_next and w_hh as for
// lstm_backward (w_hh (H, H)).
extern "C" __global__ void rnn_backward(
        real* d_pre, const real* hs, const real* d_out, const real* dh_next, const real* w_hh,
        int relu, int t, int rows, int next_rows, int batch, int hidden) {
    FOR_EACH_UNIT((long long)rows * hidden) {
        const int row = index / hidden, unit = index % hidden;
        const long long state = ((long long)t * batch + row) * hidden + unit;
        const real from_next = (w_hh && row < next_rows)
            ? row_times_column(d_pre + state - unit + (long long)batch * hidden, w_hh,
                               hidden, hidden, unit)
            : dh_next[index];
        const real dh = from_next + d_out[state];
        const real h = hs[state + (long long)batch * hidden];
        d_pre[state] = relu ? dh * (real)(h > 0) : (1 - h * h) * dh;
    }
}
"""

_PRELUDE = {  # the lines before SOURCE, per dtype
    np.dtype(np.float32): "typedef float real;\n"
                          "__device__ __forceinline__ float tanh_(float x) { return tanhf(x); }\n",
    np.dtype(np.float64): "typedef double real;\n"
                          "__device__ __forceinline__ double tanh_(double x) { return tanh(x); }\n",
}
THREADS_PER_BLOCK = 128
STEP_LIMIT = 4096  # B*H up to which "auto" takes "step" on the GPU (see select)


def source(dtype):
    """The complete CUDA source for ``dtype`` (float32 or float64)."""
    return _PRELUDE[np.dtype(dtype)] + SOURCE


class Kernels:
    """The six kernels for one dtype, launched one thread per (row, unit).

    ``fused_product`` is True for the "step" way: the kernels compute the recurrent
    product themselves (the caller passes the weights and no product buffer).
    """

    def __init__(self, path, dtype, compile):
        self.fused_product = path == "step"
        self._source, self._compile, self._compiled = source(dtype), compile, {}

    def launch(self, name, units, *args):
        """Run kernel ``name`` over ``units`` threads; ints go as C ``int``, None as NULL."""
        kernel = self._compiled.get(name)
        if kernel is None:
            kernel = self._compiled[name] = self._compile(self._source, name)
        blocks = -(-units // THREADS_PER_BLOCK)
        kernel((blocks,), (THREADS_PER_BLOCK,),
               tuple(np.int32(a) if isinstance(a, int) else a for a in args))


_forced = None  # (path, compile) while use_path is active


def select(xp, batch, hidden, dtype):
    """The kernels for one call of a fused op: ``ArrayKernels`` for the "arrays" way, else
    ``Kernels``.

    NumPy takes "arrays". CuPy takes "step" when ``batch * hidden <= STEP_LIMIT``, else
    "gates": the choice the issue's H100 calibration points to (host time dominates at
    small sizes, the naive product's arithmetic at large ones); other dtypes than float32
    and float64 take "arrays". ``use_path`` overrides.
    """
    if _forced is not None:
        path, compile = _forced
    elif xp is np or np.dtype(dtype) not in _PRELUDE:
        path, compile = "arrays", None
    else:
        path = "step" if batch * hidden <= STEP_LIMIT else "gates"
        compile = backend.raw_kernel
    if path == "arrays":
        return ArrayKernels(xp, batch, hidden, dtype)
    return Kernels(path, dtype, compile)


@contextlib.contextmanager
def use_path(path, compile=None):
    """Run the fused ops' steps ``path``'s way ("arrays", "gates" or "step") in this block,
    with kernels made by ``compile(source, name)`` (default: CuPy's RawKernel, cached).

    >>> with use_path("arrays"):
    ...     type(select(np, 32, 128, np.float32)).__name__
    'ArrayKernels'
    """
    global _forced
    if path not in ("arrays", "gates", "step"):
        raise ValueError(f"use_path: path must be 'arrays', 'gates' or 'step'; got {path!r}")
    previous, _forced = _forced, (path, compile or backend.raw_kernel)
    try:
        yield
    finally:
        _forced = previous
