"""The one seam between the engine and its array libraries.

This is the only file that imports CuPy, and it does so lazily: without CuPy
(or without a GPU) everything on the CPU works and asking for ``"cuda"`` raises
a RuntimeError that says what is missing.

Contents: get_cupy, cuda_available, cuda_unavailable_reason, device_count, device,
set_default_device, get_default_device, default_device, parse_device, device_of,
on_device_of, xp_of,
to_device, is_array, as_array, to_numpy, elementwise_kernel, raw_kernel, scatter_add.
"""

import contextlib
import functools
import sys

import numpy as np

_GPU_HINT = "install the gpu extra: pip install 'loopgrad[gpu]' (CUDA 12) or 'loopgrad[gpu-cuda13]'"


@functools.cache
def _import_cupy():
    """Return the cupy module, or the reason it cannot be used (a string)."""
    try:
        import cupy
    except ImportError as error:  # CuPy not installed, or its CUDA libraries missing
        return f"CuPy is not installed ({error}); {_GPU_HINT}"
    try:
        count = cupy.cuda.runtime.getDeviceCount()
    except Exception as error:  # driver missing or broken, or older than the CUDA runtime
        return f"CuPy is installed but no CUDA GPU is usable ({type(error).__name__}: {error})"
    if count == 0:
        return "CuPy is installed but this machine has no CUDA GPU"
    try:
        _first_operation(cupy)
    except Exception as error:  # NVRTC or cuBLAS missing, a driver too old for the runtime
        return (f"CuPy sees {count} CUDA GPU(s), but a first operation on one failed "
                f"({type(error).__name__}: {error})")
    return cupy


def _first_operation(cupy):
    """One tiny op of each kind the engine runs, to decide whether the GPU is usable: an
    elementwise kernel (compiled by NVRTC), a matrix product (cuBLAS), a reduction, and the
    copy of its result to the host (which waits for all of them)."""
    a = cupy.arange(4, dtype=cupy.float32).reshape(2, 2)
    total = float(((a * 2 + 1) @ a).sum())  # [[1, 3], [5, 7]] @ [[0, 1], [2, 3]]: 56
    if total != 56.0:
        raise RuntimeError(f"a (2, 2) matrix product summed to {total}, not 56")


def get_cupy():
    """The cupy module; a RuntimeError naming what is missing otherwise."""
    cupy = _import_cupy()
    if isinstance(cupy, str):
        raise RuntimeError(f"device 'cuda' is unavailable: {cupy}")
    return cupy


def cuda_available():
    """True when CuPy imports, sees a GPU and runs a first operation on it."""
    return not isinstance(_import_cupy(), str)


def cuda_unavailable_reason():
    """Why ``cuda_available()`` is False, in words (None when it is True): what a GPU test
    says when it skips."""
    reason = _import_cupy()
    return reason if isinstance(reason, str) else None


def device_count():
    """How many CUDA GPUs CuPy sees (0 without CuPy or a GPU)."""
    cupy = _import_cupy()
    return 0 if isinstance(cupy, str) else cupy.cuda.runtime.getDeviceCount()


class device(str):
    """A device, PyTorch's ``torch.device``: 'cpu', 'cuda' or 'cuda:N', which compares
    equal to its name (``device("cuda:1") == "cuda:1"``), with ``type`` and ``index``.

    >>> device("cuda", 1), device("cpu") == "cpu", device("cuda:1").index
    (device(type='cuda', index=1), True, 1)
    """

    def __new__(cls, type_or_name, index=None):
        if isinstance(type_or_name, device) and index is None:
            return type_or_name
        if isinstance(type_or_name, int) and not isinstance(type_or_name, bool):
            type_or_name, index = "cuda", type_or_name  # a bare ordinal is a GPU, as in PyTorch
        name = str(type_or_name) if index is None else f"{type_or_name}:{index}"
        kind, colon, number = name.partition(":")
        if kind not in ("cpu", "cuda") or (colon and not (kind == "cuda" and number.isdigit())):
            raise ValueError(f"unknown device {name!r}; expected 'cpu', 'cuda' or 'cuda:N'")
        return super().__new__(cls, name)

    type = property(lambda self: self.partition(":")[0])
    index = property(lambda self: int(self[5:]) if self.startswith("cuda:") else None)

    def __repr__(self):
        index = "" if self.index is None else f", index={self.index}"
        return f"device(type='{self.type}'{index})"

    __hash__ = str.__hash__


CPU = device("cpu")


@functools.cache
def _gpu(number):
    return device("cuda", number)


_default_device = [None]  # None: the CPU, where every new tensor goes unless told otherwise


def set_default_device(name):
    """Where new tensors go when a factory is given no ``device`` (PyTorch's
    ``torch.set_default_device``); None or 'cpu': the CPU."""
    _default_device[0] = None if name is None or device(name) == "cpu" else device(name)


def get_default_device():
    return _default_device[0] or CPU


def default_device():
    """The default device for a factory: None for the CPU (nothing to move)."""
    return _default_device[0]


def names_a_dtype(value):
    """Whether a string passed to ``to()`` names a dtype ('float64') rather than a device."""
    if not isinstance(value, str) or isinstance(value, device):
        return False
    try:
        np.dtype(value)
    except TypeError:
        return False
    return True


def parse_device(name):
    """Normalise 'cpu' | 'cuda' | 'cuda:N' (a string or a ``device``) to 'cpu' or 'cuda:N'."""
    name = device(name)
    return "cuda:0" if name == "cuda" else str(name)


def device_of(array):
    """The ``device`` of an array: 'cpu' for NumPy (or a scalar), 'cuda:N' for CuPy on GPU N."""
    if isinstance(array, (np.ndarray, np.generic)):
        return CPU
    return _gpu(array.device.id)


_ON_THE_CPU = contextlib.nullcontext()


def on_device_of(array):
    """A context in which ``array``'s GPU is the current device (CuPy runs kernels, cuBLAS
    and RawKernels on the current device, whatever device their arrays live on); nothing
    for a NumPy array.

    >>> with on_device_of(np.zeros(2)):
    ...     pass
    """
    if isinstance(array, (np.ndarray, np.generic)):
        return _ON_THE_CPU
    return get_cupy().cuda.Device(array.device.id)


def xp_of(array):
    """The array module (numpy or cupy) that ``array`` belongs to."""
    if isinstance(array, (np.ndarray, np.generic)):
        return np
    return get_cupy()


def to_device(array, device):
    """A copy of ``array`` on ``device`` (or ``array`` itself if already there)."""
    device = parse_device(device)
    if device == device_of(array):
        return array
    if device == "cpu":
        return array.get()
    cupy = get_cupy()
    with cupy.cuda.Device(int(device[5:])):
        return cupy.array(array, copy=True)  # asarray may keep an array on its old GPU


def is_array(value):
    """True for a NumPy or a CuPy array, and nothing else: a PyTorch CUDA tensor or a Numba
    array has ``__cuda_array_interface__`` but not CuPy's methods (``as_array`` converts it)."""
    if isinstance(value, np.ndarray):
        return True
    cupy = sys.modules.get("cupy")  # not imported: no value can be a CuPy array
    return cupy is not None and isinstance(value, cupy.ndarray)


def as_array(value):
    """An array as it is (on its device); another GPU array (anything with
    ``__cuda_array_interface__``) as a CuPy array sharing its memory; anything else through
    ``numpy.asarray``."""
    if is_array(value):
        return value
    if hasattr(value, "__cuda_array_interface__"):
        return get_cupy().asarray(value)  # zero-copy
    return np.asarray(value)


def to_numpy(array):
    """Always a NumPy array (copied from the GPU when needed)."""
    if isinstance(array, (np.ndarray, np.generic)):
        return np.asarray(array)
    return array.get()


@functools.cache
def elementwise_kernel(in_params, out_params, operation, name, preamble=""):
    """A compiled, cached ``cupy.ElementwiseKernel``."""
    return get_cupy().ElementwiseKernel(in_params, out_params, operation, name, preamble=preamble)


@functools.cache
def raw_kernel(code, name, options=()):
    """A compiled, cached ``cupy.RawKernel``."""
    return get_cupy().RawKernel(code, name, options=options)


def _row_index(index, target, values):
    """The integer array of an index that picks whole rows of ``target`` (``a[rows]``,
    ``a[rows, ...]``) with ``values`` of shape ``rows.shape + target.shape[1:]``, else None."""
    if isinstance(index, tuple):
        index = index[0] if len(index) == 1 or len(index) == 2 and index[1] is Ellipsis else None
    if not (isinstance(index, np.ndarray) and index.dtype.kind in "iu"):
        return None
    if np.shape(values) != index.shape + target.shape[1:] or not index.size or (
            index.min() < -len(target) or index.max() >= len(target)):  # add.at raises
        return None
    return index


def _add_rows(target, rows, values):
    """``target[rows] += values``, repeated rows accumulating, as NumPy's ``add.at`` does but
    without its per-element loop (which dominates an embedding's backward): sort the rows,
    sum each run of equal ones in their order (``add.reduceat``), add each sum once."""
    rows = rows.ravel() % target.shape[0]  # negative rows count from the end
    values = values.reshape(rows.size, *target.shape[1:])
    order = np.argsort(rows, kind="stable")
    sorted_rows = rows[order]
    starts = np.flatnonzero(np.concatenate(([True], sorted_rows[1:] != sorted_rows[:-1])))
    target[sorted_rows[starts]] += np.add.reduceat(values[order], starts, axis=0)


def scatter_add(target, index, values):
    """``target[index] += values`` in place, repeated indices accumulating."""
    if isinstance(target, np.ndarray):
        rows = _row_index(index, target, values)
        if rows is None:
            np.add.at(target, index, values)
        else:
            _add_rows(target, rows, values)
    else:
        import cupyx

        cupyx.scatter_add(target, index, values)
