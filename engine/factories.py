"""Tensor factories. The random ones take an explicit ``numpy.random.Generator``
(drawn on the CPU, then moved, so a seed gives the same numbers on every device).

zeros ones full zeros_like ones_like arange eye randn rand uniform normal
"""

import numpy as np

from engine.backend import xp_of
from engine.tensor import Tensor, _one_tuple


def _make(array, dtype, device, requires_grad):
    return Tensor(array, dtype=np.dtype(dtype), requires_grad=requires_grad, device=device)


def zeros(*shape, dtype="float32", device=None, requires_grad=False):
    return _make(np.zeros(_one_tuple(shape)), dtype, device, requires_grad)


def ones(*shape, dtype="float32", device=None, requires_grad=False):
    return _make(np.ones(_one_tuple(shape)), dtype, device, requires_grad)


def full(shape, value, dtype="float32", device=None, requires_grad=False):
    return _make(np.full(shape, value), dtype, device, requires_grad)


def zeros_like(t, requires_grad=False):
    """Zeros of ``t``'s shape, dtype and device."""
    return Tensor(xp_of(t.data).zeros_like(t.data), requires_grad=requires_grad)


def ones_like(t, requires_grad=False):
    """Ones of ``t``'s shape, dtype and device."""
    return Tensor(xp_of(t.data).ones_like(t.data), requires_grad=requires_grad)


def arange(start, stop=None, step=1, dtype="int64", device=None):
    return _make(np.arange(start, stop, step), dtype, device, False)


def eye(n, dtype="float32", device=None, requires_grad=False):
    return _make(np.eye(n), dtype, device, requires_grad)


def randn(*shape, rng, dtype="float32", device=None, requires_grad=False):
    """Standard normal samples from ``rng`` (a ``numpy.random.Generator``)."""
    return _make(rng.standard_normal(_one_tuple(shape)), dtype, device, requires_grad)


def rand(*shape, rng, dtype="float32", device=None, requires_grad=False):
    """Uniform samples in [0, 1) from ``rng``."""
    return _make(rng.random(_one_tuple(shape)), dtype, device, requires_grad)


def uniform(low, high, shape, rng, dtype="float32", device=None, requires_grad=False):
    return _make(rng.uniform(low, high, shape), dtype, device, requires_grad)


def normal(mean, std, shape, rng, dtype="float32", device=None, requires_grad=False):
    return _make(rng.normal(mean, std, shape), dtype, device, requires_grad)
