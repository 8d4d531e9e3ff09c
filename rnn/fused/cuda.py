"""The fused ops' steps as CUDA kernels: the launcher of ``kernels.cu``, beside this file.

Contents:
    source        the CUDA C of kernels.cu for a dtype (read when a kernel is first built)
    signature     a kernel's parameters, as its source declares them
    CudaSteps     the kernels of one dtype and way, each behind a thin wrapper that puts its
                  arguments in the .cu order; steps(way, dtype, compile), one per process
    CHECK_LAUNCHES  the debug switch for the launch checks

Imported only on the way to a GPU kernel (``rnn.fused.ways.select``): the CPU path never
imports this module. One thread handles one (row, unit) of a step: it reads the
pre-activations of its G gates and writes their values (forward) or gradients
(backward); no two threads write the same element, and a step reads only what finished
steps wrote. Loops are grid-stride, so any launch size is correct.

A kernel takes whole C-contiguous buffers and the step index t, so a step makes no
array views on the host. ``compile(source, name)`` turns the source into a launchable
kernel: CuPy's RawKernel by default; the tests pass one that builds the same source with a
C++ compiler and runs it on the CPU (tests/rnn/fused/cuda_on_cpu.py).

Arguments go as a kernel reads them, where CuPy would send them otherwise:
- an ``int`` parameter gets a numpy.int32: CuPy sends a Python int or a numpy.int64 as
  8 bytes, which would shift every later argument;
- a NULL pointer is 8 zero bytes (numpy.intp(0)): some CuPy versions send None as a
  garbage address (cupy/cupy#9046);
- with ``CHECK_LAUNCHES`` (environment LOOPGRAD_CHECK_KERNELS=1, or set it), every buffer
  is checked first: a C-contiguous array of the kernel's dtype (int32 for ``int*``), on
  the device of the others. A kernel reads raw memory, so anything else would be read as
  garbage, silently; the check costs a few microseconds per launch, hence the switch.
"""

import functools
import importlib.resources
import os
import re

import numpy as np

from engine import backend

CHECK_LAUNCHES = os.environ.get("LOOPGRAD_CHECK_KERNELS") == "1"
THREADS_PER_BLOCK = 128  # per-step kernels; the sequence kernels take a warp multiple <= 256
NULL = np.intp(0)  # a NULL pointer, passed by value

_PRELUDE = {  # the lines before kernels.cu, per dtype
    np.dtype(np.float32): "typedef float real;\n"
                          "__device__ __forceinline__ float tanh_(float x) { return tanhf(x); }\n",
    np.dtype(np.float64): "typedef double real;\n"
                          "__device__ __forceinline__ double tanh_(double x) { return tanh(x); }\n",
}
_KERNEL = re.compile(r'extern "C" __global__ void (\w+)\(([^)]*)\)')


def _check_dtype(dtype):
    if np.dtype(dtype) not in _PRELUDE:
        raise ValueError(f"the fused CUDA kernels are written for float32 and float64; got "
                         f"{np.dtype(dtype)}")


@functools.cache
def source(dtype):
    """The complete CUDA source for ``dtype`` (float32 or float64), kernels.cu read once."""
    _check_dtype(dtype)
    text = (importlib.resources.files("rnn.fused") / "kernels.cu").read_text()
    return _PRELUDE[np.dtype(dtype)] + text


@functools.cache
def signature(text, name):
    """The parameters of kernel ``name`` in the source ``text``: [(type, name), ...], e.g.
    [('real*', 'gates'), ('const real*', 'recurrent'), ..., ('int', 't')]."""
    for match in _KERNEL.finditer(text):
        if match.group(1) == name:
            split = [re.match(r"\s*(.*?[\s*])(\w+)\s*$", p, re.S)
                     for p in match.group(2).split(",")]
            return tuple((" ".join(m.group(1).split()), m.group(2)) for m in split)
    raise ValueError(f"kernels.cu has no kernel {name!r}")


def check_arguments(name, parameters, args, dtype):
    """Raise a TypeError naming the kernel and the parameter unless ``args`` fit
    ``parameters``: an int for each ``int``; for each pointer None or a C-contiguous array
    of the kernel's ``dtype`` (int32 for ``int*``), all of them on one device."""
    if len(args) != len(parameters):
        raise TypeError(f"{name}: {len(parameters)} arguments expected, {len(args)} given")
    devices = set()
    for (kind, arg_name), arg in zip(parameters, args):
        where = f"{name}({arg_name})"
        if "*" not in kind:
            if isinstance(arg, bool) or not isinstance(arg, (int, np.integer)):
                raise TypeError(f"{where}: expected an int for {kind}; got {type(arg).__name__}")
            continue
        if arg is None:
            continue
        want = np.dtype(np.int32) if kind.replace("const ", "") == "int*" else dtype
        if not (backend.is_array(arg) and arg.dtype == want and arg.flags.c_contiguous):
            got = (f"a {arg.dtype} array, C-contiguous: {arg.flags.c_contiguous}"
                   if backend.is_array(arg) else type(arg).__name__)
            raise TypeError(f"{where}: expected a C-contiguous {want} array; got {got}")
        devices.add(backend.device_of(arg))
    if len(devices) > 1:
        raise TypeError(f"{name}: buffers on several devices: {sorted(devices)}")


class CudaSteps:
    """The kernels of kernels.cu for one dtype and one way ("gates", "step", "sequence"),
    with the step interface of ``rnn.fused.steps.ArraySteps``: a method per kernel, called
    by keyword, that puts its arguments in the .cu order (batch and hidden from the shapes).

    ``fused_product``: the kernels compute the recurrent product themselves (the loop
    passes the weights instead of a product); ``whole_sequence``: the loop calls the
    ``*_sequence`` methods, once, instead of a kernel per step.
    """

    def __init__(self, way, dtype, compile=None):
        self.way, self.dtype = way, np.dtype(dtype)
        self.fused_product = way in ("step", "sequence")
        self.whole_sequence = way == "sequence"
        self._compile = compile or backend.raw_kernel
        self._kernels = {}  # name -> (kernel, parameters), built on first launch
        _check_dtype(self.dtype)  # refused now; the source is read when a kernel is built

    def contiguous(self, a):
        """``a`` as the kernels can read it: C-contiguous (a copy only if it is not)."""
        return backend.xp_of(a).ascontiguousarray(a)

    def _launch(self, name, grid, block, *args):
        """Launch kernel ``name`` (built on first use), its arguments converted as the module
        text says, and checked first with CHECK_LAUNCHES."""
        if name not in self._kernels:
            text = source(self.dtype)
            self._kernels[name] = self._compile(text, name), signature(text, name)
        kernel, parameters = self._kernels[name]
        if CHECK_LAUNCHES:
            check_arguments(name, parameters, args, self.dtype)
        kernel((grid,), (block,), tuple(
            np.int32(a) if kind == "int" else NULL if a is None else a
            for (kind, _), a in zip(parameters, args)))

    def _per_step(self, name, rows, hidden, *args):
        """A per-step kernel: one thread per (row, unit) of the rows that run the step."""
        self._launch(name, -(-rows * hidden // THREADS_PER_BLOCK), THREADS_PER_BLOCK, *args)

    def _per_sequence(self, name, batch, hidden, *args):
        """A whole-sequence kernel: a block per row, a warp multiple of threads over its units."""
        self._launch(name, batch, min(-(-hidden // 32) * 32, 256), *args)

    # ------------------------------------------------------------ LSTM

    def lstm_forward(self, *, gates, hs, cs, tanh_c, t, rows, recurrent=None, w_hh_t=None):
        batch, hidden = hs.shape[1:]
        self._per_step("lstm_forward", rows, hidden, gates, recurrent, w_hh_t, hs, cs, tanh_c,
                       t, rows, batch, hidden)

    def lstm_backward(self, *, d_pre, gates, cs, tanh_c, d_out, d_cs, dh_next, dc, t, rows,
                      w_hh=None, next_rows=0):
        batch, hidden = dc.shape
        self._per_step("lstm_backward", rows, hidden, d_pre, gates, cs, tanh_c, d_out, d_cs,
                       dh_next, w_hh, dc, t, rows, next_rows, batch, hidden)

    def lstm_forward_sequence(self, *, gates, w_hh_t, hs, cs, tanh_c, lengths):
        batch, hidden = hs.shape[1:]
        self._per_sequence("lstm_forward_sequence", batch, hidden, gates, w_hh_t, hs, cs,
                           tanh_c, lengths, batch, hidden)

    def lstm_backward_sequence(self, *, d_pre, gates, cs, tanh_c, d_out, d_cs, dh_next, dc,
                               w_hh, lengths):
        batch, hidden = dc.shape
        self._per_sequence("lstm_backward_sequence", batch, hidden, d_pre, gates, cs, tanh_c,
                           d_out, d_cs, dh_next, w_hh, dc, lengths, batch, hidden)

    # ------------------------------------------------------------ GRU

    def gru_forward(self, *, gates, b_hn, hs, hn, t, rows, recurrent=None, w_hh_t=None):
        batch, hidden = hs.shape[1:]
        self._per_step("gru_forward", rows, hidden, gates, recurrent, w_hh_t, b_hn, hs, hn, t,
                       rows, batch, hidden)

    def gru_backward(self, *, d_pre, d_pre_n, gates, hn, hs, d_out, dh_next, carry, t, rows,
                     w_hh=None, next_rows=0):
        batch, hidden = carry.shape
        self._per_step("gru_backward", rows, hidden, d_pre, d_pre_n, gates, hn, hs, d_out,
                       dh_next, w_hh, carry, t, rows, next_rows, batch, hidden)

    def gru_forward_sequence(self, *, gates, w_hh_t, b_hn, hs, hn, lengths):
        batch, hidden = hs.shape[1:]
        self._per_sequence("gru_forward_sequence", batch, hidden, gates, w_hh_t, b_hn, hs, hn,
                           lengths, batch, hidden)

    def gru_backward_sequence(self, *, d_pre, d_pre_n, gates, hn, hs, d_out, dh_next, carry,
                              w_hh, lengths):
        batch, hidden = carry.shape
        self._per_sequence("gru_backward_sequence", batch, hidden, d_pre, d_pre_n, gates, hn,
                           hs, d_out, dh_next, w_hh, carry, lengths, batch, hidden)

    # ------------------------------------------------------------ Elman RNN

    def rnn_forward(self, *, hs, relu, t, rows, recurrent=None, w_hh_t=None):
        batch, hidden = hs.shape[1:]
        self._per_step("rnn_forward", rows, hidden, hs, recurrent, w_hh_t, relu, t, rows,
                       batch, hidden)

    def rnn_backward(self, *, d_pre, hs, d_out, dh_next, relu, t, rows, w_hh=None,
                     next_rows=0):
        batch, hidden = dh_next.shape
        self._per_step("rnn_backward", rows, hidden, d_pre, hs, d_out, dh_next, w_hh, relu, t,
                       rows, next_rows, batch, hidden)

    def rnn_forward_sequence(self, *, hs, w_hh_t, relu, lengths):
        batch, hidden = hs.shape[1:]
        self._per_sequence("rnn_forward_sequence", batch, hidden, hs, w_hh_t, relu, lengths,
                           batch, hidden)

    def rnn_backward_sequence(self, *, d_pre, hs, d_out, dh_next, w_hh, relu, lengths):
        batch, hidden = dh_next.shape
        self._per_sequence("rnn_backward_sequence", batch, hidden, d_pre, hs, d_out, dh_next,
                           w_hh, relu, lengths, batch, hidden)


@functools.cache
def steps(way, dtype, compile=None):
    """One CudaSteps per way, dtype and compiler for the whole process: each kernel is
    looked up (and built) once."""
    return CudaSteps(way, np.dtype(dtype), compile)
