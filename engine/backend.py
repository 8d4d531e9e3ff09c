"""The one seam between the engine and its array libraries.

This is the only file that imports CuPy, and it does so lazily: without CuPy
(or without a GPU) everything on the CPU works and asking for ``"cuda"`` raises
a RuntimeError that says what is missing.

Contents: get_cupy, cuda_available, parse_device, device_of, xp_of,
to_device, is_array, as_array, to_numpy, elementwise_kernel, raw_kernel, scatter_add.
"""

import functools

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
    except Exception as error:  # driver missing or broken
        return f"CuPy is installed but no CUDA GPU is usable ({error})"
    if count == 0:
        return "CuPy is installed but this machine has no CUDA GPU"
    return cupy


def get_cupy():
    """The cupy module; a RuntimeError naming what is missing otherwise."""
    cupy = _import_cupy()
    if isinstance(cupy, str):
        raise RuntimeError(f"device 'cuda' is unavailable: {cupy}")
    return cupy


def cuda_available():
    """True when CuPy imports and sees at least one GPU."""
    return not isinstance(_import_cupy(), str)


def parse_device(device):
    """Normalise 'cpu' | 'cuda' | 'cuda:N' to 'cpu' or 'cuda:N'."""
    device = str(device)
    if device == "cpu":
        return "cpu"
    if device == "cuda":
        return "cuda:0"
    if device.startswith("cuda:") and device[5:].isdigit():
        return device
    raise ValueError(f"unknown device {device!r}; expected 'cpu', 'cuda' or 'cuda:N'")


def device_of(array):
    """'cpu' for a NumPy array (or scalar), 'cuda:N' for a CuPy array on GPU N."""
    if isinstance(array, (np.ndarray, np.generic)):
        return "cpu"
    return f"cuda:{array.device.id}"


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
    """True for a NumPy or a CuPy array."""
    return isinstance(value, np.ndarray) or hasattr(value, "__cuda_array_interface__")


def as_array(value):
    """An array as it is (on its device); anything else through ``numpy.asarray``."""
    return value if is_array(value) else np.asarray(value)


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


def scatter_add(target, index, values):
    """``target[index] += values`` in place, repeated indices accumulating."""
    if isinstance(target, np.ndarray):
        np.add.at(target, index, values)
    else:
        import cupyx

        cupyx.scatter_add(target, index, values)
