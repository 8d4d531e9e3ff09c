"""Tensor factories, PyTorch's signatures: shapes as varargs or one tuple, ``dtype=``
(None: the default float dtype, or the one the values imply), ``device=``,
``requires_grad=``.

Filled:   zeros ones empty full eye arange linspace, *_like, as_tensor from_numpy
Random:   rand randn randint randperm normal uniform bernoulli multinomial, *_like
Methods:  new (what Tensor.new_zeros, new_ones, new_full, new_empty, new_tensor make);
          uniform_values normal_values bernoulli_values (what uniform_, normal_ and
          bernoulli_ write)

The random ones draw from ``generator=`` (an ``engine.Generator``) or ``rng=`` (a
``numpy.random.Generator`` or an int seed), else from the default generator;
numbers are drawn on the CPU, then moved, so a seed gives the same numbers on
every device.
"""

import numpy as np

from engine import backend, dtypes
from engine.random import generator_of
from engine.tensor import Tensor, _one_tuple


def _make(array, dtype, device, requires_grad):
    return Tensor(array, dtype=dtypes.as_dtype(dtype), requires_grad=requires_grad,
                  device=backend.default_device() if device is None else device)


def _shape(size):
    shape = _one_tuple(size)
    if shape is None:
        raise TypeError("expected a shape (ints, or one tuple of ints); got None")
    return tuple(int(n) for n in shape)


def zeros(*size, dtype=None, device=None, requires_grad=False):
    return _make(np.zeros(_shape(size)), dtype, device, requires_grad)


def ones(*size, dtype=None, device=None, requires_grad=False):
    return _make(np.ones(_shape(size)), dtype, device, requires_grad)


empty = zeros  # NumPy's memory is never handed out uninitialised here


def full(size, fill_value, dtype=None, device=None, requires_grad=False):
    """``size`` filled with ``fill_value``; without ``dtype``, an int gives int64 and a bool
    bool, as in PyTorch."""
    if dtype is None and np.asarray(fill_value).dtype.kind in "biu":
        dtype = np.asarray(fill_value).dtype
    return _make(np.full(_shape((size,)), fill_value), dtype, device, requires_grad)


def _like(t, dtype, device):
    return t.dtype if dtype is None else dtype, t.device if device is None else device


def zeros_like(input, dtype=None, device=None, requires_grad=False):
    """Zeros of ``input``'s shape, dtype and device (unless given)."""
    dtype, device = _like(input, dtype, device)
    return zeros(input.shape, dtype=dtype, device=device, requires_grad=requires_grad)


def ones_like(input, dtype=None, device=None, requires_grad=False):
    dtype, device = _like(input, dtype, device)
    return ones(input.shape, dtype=dtype, device=device, requires_grad=requires_grad)


empty_like = zeros_like


def full_like(input, fill_value, dtype=None, device=None, requires_grad=False):
    return full(input.shape, fill_value, *_like(input, dtype, device), requires_grad)


def new(like, make, *args, dtype=None, device=None, requires_grad=False):
    """``make(*args)`` (a factory) in ``like``'s dtype and on its device unless given: what
    ``like.new_zeros(2, 3)`` and the other ``Tensor.new_*`` methods make."""
    dtype, device = _like(like, dtype, device)
    return make(*args, dtype=dtype, device=device, requires_grad=requires_grad)


def arange(start, end=None, step=1, dtype=None, device=None, requires_grad=False):
    """``[start, end)`` in steps of ``step``: int64 for ints, the default float dtype when
    any of them is a float (PyTorch's rule)."""
    if dtype is None and all(isinstance(v, (int, np.integer)) for v in (start, end or 0, step)):
        dtype = dtypes.int64
    return _make(np.arange(start, end, step), dtype, device, requires_grad)


def linspace(start, end, steps, dtype=None, device=None, requires_grad=False):
    return _make(np.linspace(start, end, steps), dtype, device, requires_grad)


def eye(n, m=None, dtype=None, device=None, requires_grad=False):
    return _make(np.eye(n, m), dtype, device, requires_grad)


def as_tensor(data, dtype=None, device=None):
    """A Tensor sharing ``data``'s memory where it can (an array of that dtype and device)."""
    if isinstance(data, Tensor):
        return data.to(device=device, dtype=dtype)
    return Tensor(data, dtype=dtype, device=device)


def from_numpy(array):
    """A Tensor sharing the NumPy array's memory (its dtype kept)."""
    if not isinstance(array, np.ndarray):
        raise TypeError(f"from_numpy: expected a numpy.ndarray; got {type(array).__name__}")
    return Tensor(array)


# ---------------------------------------------------------------- random


def rand(*size, generator=None, dtype=None, device=None, requires_grad=False, rng=None):
    """Uniform samples in [0, 1)."""
    return _make(generator_of(rng, generator).random(_shape(size)), dtype, device, requires_grad)


def randn(*size, generator=None, dtype=None, device=None, requires_grad=False, rng=None):
    """Standard normal samples."""
    return _make(generator_of(rng, generator).standard_normal(_shape(size)), dtype, device,
                 requires_grad)


def randint(low, high=None, size=None, *, generator=None, dtype=None, device=None,
            requires_grad=False, rng=None):
    """Integers in [low, high) (``randint(high, size)`` starts at 0), int64 by default."""
    if size is None:  # randint(high, size)
        low, high, size = 0, low, high
    if size is None:
        raise TypeError("randint: give size, e.g. randint(10, (3,)) or randint(0, 10, (3,))")
    values = generator_of(rng, generator).integers(low, high, _shape((size,)))
    return _make(values, dtypes.int64 if dtype is None else dtype, device, requires_grad)


def randperm(n, *, generator=None, dtype=None, device=None, requires_grad=False, rng=None):
    """A random permutation of 0..n-1, int64 by default."""
    values = generator_of(rng, generator).permutation(int(n))
    return _make(values, dtypes.int64 if dtype is None else dtype, device, requires_grad)


def uniform(low, high, shape, rng=None, dtype=None, device=None, requires_grad=False, *,
            generator=None):
    """Uniform samples in [low, high)."""
    return _make(generator_of(rng, generator).uniform(low, high, _shape((shape,))), dtype,
                 device, requires_grad)


def normal(mean, std, size=None, rng=None, dtype=None, device=None, requires_grad=False, *,
           generator=None):
    """Normal samples: ``normal(mean, std, size)`` with numbers, or elementwise
    ``normal(mean_tensor, std_tensor)`` (PyTorch's two forms)."""
    draw = generator_of(rng, generator)
    if isinstance(mean, Tensor) or isinstance(std, Tensor):
        like = mean if isinstance(mean, Tensor) else std
        mean_, std_ = (backend.to_numpy(v.array) if isinstance(v, Tensor) else v
                       for v in (mean, std))
        return _make(draw.normal(mean_, std_), like.dtype, like.device, requires_grad)
    return _make(draw.normal(mean, std, _shape((size,))), dtype, device, requires_grad)


def bernoulli(input, p=None, *, generator=None, rng=None):
    """1 with probability ``input`` (or ``p``), else 0, in ``input``'s shape and dtype."""
    probabilities = backend.to_numpy(input.array) if p is None else np.full(input.shape, p)
    draws = generator_of(rng, generator).random(input.shape) < probabilities
    return _make(draws, input.dtype, input.device, False)


def multinomial(input, num_samples, replacement=False, *, generator=None, rng=None):
    """Indices drawn with the (unnormalised) weights of each row of ``input`` (C,) or (N, C)."""
    weights = backend.to_numpy(input.array).astype(np.float64)
    if weights.ndim not in (1, 2) or (weights < 0).any() or not np.isfinite(weights).all():
        raise ValueError(f"multinomial: input must be (C,) or (N, C) finite non-negative "
                         f"weights; got shape {input.shape}")
    rows = weights.reshape(-1, weights.shape[-1])
    if not replacement and num_samples > rows.shape[1]:
        raise ValueError(f"multinomial: cannot draw {num_samples} samples without replacement "
                         f"from {rows.shape[1]} categories")
    draw = generator_of(rng, generator)
    picks = [draw.choice(row.size, num_samples, replace=replacement, p=row / row.sum())
             for row in rows]
    picks = np.asarray(picks).reshape(*weights.shape[:-1], num_samples)
    return _make(picks, dtypes.int64, input.device, False)


def rand_like(input, *, generator=None, dtype=None, device=None, requires_grad=False):
    dtype, device = _like(input, dtype, device)
    return rand(input.shape, generator=generator, dtype=dtype, device=device,
                requires_grad=requires_grad)


def randn_like(input, *, generator=None, dtype=None, device=None, requires_grad=False):
    dtype, device = _like(input, dtype, device)
    return randn(input.shape, generator=generator, dtype=dtype, device=device,
                 requires_grad=requires_grad)


# ---------------------------------------------------------------- what t.uniform_() writes


def _drawn(values, like):
    """Drawn NumPy values as a constant Tensor of ``like``'s dtype, on its device."""
    array = backend.to_device(np.asarray(values, dtype=like.dtype), like.device)
    return Tensor._make(array, False, None, 0)


def uniform_values(like, low=0.0, high=1.0, generator=None):
    return _drawn(generator_of(None, generator).uniform(low, high, like.shape), like)


def normal_values(like, mean=0.0, std=1.0, generator=None):
    return _drawn(generator_of(None, generator).normal(mean, std, like.shape), like)


def bernoulli_values(like, p=0.5, generator=None):
    """1 with probability ``p`` (a number, or a tensor of probabilities broadcast to
    ``like``'s shape), else 0."""
    p = backend.to_numpy(p.array) if isinstance(p, Tensor) else p
    return _drawn(generator_of(None, generator).random(like.shape) < p, like)
