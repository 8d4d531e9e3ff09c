"""Initialisers, PyTorch's formulas and signatures.

uniform_ normal_ constant_ zeros_ ones_ xavier_uniform_ xavier_normal_
kaiming_uniform_ kaiming_normal_ orthogonal_ (+ calculate_gain, fan_in_and_fan_out)

Each fills a Tensor in place (keeping its dtype and device) and returns it.
Values are drawn in float64 on the CPU from ``generator=`` (an ``engine.Generator``)
or ``rng=`` (a ``numpy.random.Generator`` or an int seed), else from the default
generator, so one seed gives the same weights on every device.
"""

import math

import numpy as np

from engine import backend
from engine.random import generator_of


def _fill(tensor, values):
    """Write ``values`` into ``tensor``'s own array (in place, as PyTorch: its version goes up)."""
    tensor._write(backend.to_device(np.asarray(values).astype(tensor.dtype), tensor.device))
    return tensor


def fan_in_and_fan_out(tensor):
    """(fan_in, fan_out) of a weight of shape (out, in, *kernel), as PyTorch computes them."""
    if tensor.ndim < 2:
        raise ValueError(
            f"fan in and fan out need a tensor of 2 or more dimensions; got shape {tensor.shape}"
        )
    receptive = math.prod(tensor.shape[2:])
    return tensor.shape[1] * receptive, tensor.shape[0] * receptive


def calculate_gain(nonlinearity, param=None):
    """The recommended gain for a nonlinearity (PyTorch's table)."""
    if nonlinearity in ("linear", "sigmoid", "conv1d", "conv2d", "conv3d"):
        return 1.0
    if nonlinearity == "tanh":
        return 5.0 / 3
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        slope = 0.01 if param is None else param
        return math.sqrt(2.0 / (1 + slope**2))
    if nonlinearity == "selu":
        return 3.0 / 4
    raise ValueError(f"calculate_gain: unknown nonlinearity {nonlinearity!r}")


def uniform_(tensor, a=0.0, b=1.0, generator=None, *, rng=None):
    """Fill with U(a, b)."""
    return _fill(tensor, generator_of(rng, generator).uniform(a, b, tensor.shape))


def normal_(tensor, mean=0.0, std=1.0, generator=None, *, rng=None):
    """Fill with N(mean, std^2)."""
    return _fill(tensor, generator_of(rng, generator).normal(mean, std, tensor.shape))


def constant_(tensor, value):
    return _fill(tensor, np.full(tensor.shape, value))


def zeros_(tensor):
    return constant_(tensor, 0.0)


def ones_(tensor):
    return constant_(tensor, 1.0)


def xavier_uniform_(tensor, gain=1.0, generator=None, *, rng=None):
    """U(-a, a) with a = gain * sqrt(6 / (fan_in + fan_out)) (Glorot & Bengio 2010)."""
    fan_in, fan_out = fan_in_and_fan_out(tensor)
    bound = gain * math.sqrt(6.0 / (fan_in + fan_out))
    return uniform_(tensor, -bound, bound, generator, rng=rng)


def xavier_normal_(tensor, gain=1.0, generator=None, *, rng=None):
    """N(0, std^2) with std = gain * sqrt(2 / (fan_in + fan_out))."""
    fan_in, fan_out = fan_in_and_fan_out(tensor)
    return normal_(tensor, 0.0, gain * math.sqrt(2.0 / (fan_in + fan_out)), generator, rng=rng)


def _kaiming_std(tensor, a, mode, nonlinearity):
    if mode not in ("fan_in", "fan_out"):
        raise ValueError(f"kaiming: mode must be 'fan_in' or 'fan_out'; got {mode!r}")
    fan = fan_in_and_fan_out(tensor)[0 if mode == "fan_in" else 1]
    return calculate_gain(nonlinearity, a) / math.sqrt(fan)


def kaiming_uniform_(tensor, a=0.0, mode="fan_in", nonlinearity="leaky_relu", generator=None, *,
                     rng=None):
    """U(-b, b) with b = gain * sqrt(3 / fan) (He et al. 2015)."""
    bound = math.sqrt(3.0) * _kaiming_std(tensor, a, mode, nonlinearity)
    return uniform_(tensor, -bound, bound, generator, rng=rng)


def kaiming_normal_(tensor, a=0.0, mode="fan_in", nonlinearity="leaky_relu", generator=None, *,
                    rng=None):
    """N(0, std^2) with std = gain / sqrt(fan)."""
    return normal_(tensor, 0.0, _kaiming_std(tensor, a, mode, nonlinearity), generator, rng=rng)


def orthogonal_(tensor, gain=1.0, generator=None, *, rng=None):
    """A (semi-)orthogonal matrix from the QR decomposition of a Gaussian one (Saxe et al. 2013).

    Rows are orthonormal when there are fewer rows than columns, columns otherwise;
    extra dimensions are flattened into the columns, as PyTorch does.
    """
    if tensor.ndim < 2:
        raise ValueError(f"orthogonal_: needs 2 or more dimensions; got shape {tensor.shape}")
    rows = tensor.shape[0]
    cols = tensor.numel() // rows
    flat = generator_of(rng, generator).standard_normal((rows, cols))
    if rows < cols:
        flat = flat.T
    q, r = np.linalg.qr(flat)
    q *= np.sign(np.diag(r))  # makes the decomposition unique (uniform over orthogonal matrices)
    if rows < cols:
        q = q.T
    return _fill(tensor, gain * q.reshape(tensor.shape))


def generator(rng=None):
    """The ``numpy.random.Generator`` that ``rng`` names: itself, a seed's, an
    ``engine.Generator``'s, or the default generator's when it is None.

    Layers take ``rng=`` so that a seeded generator makes their weights
    reproducible; without one they draw from the default generator, which
    ``engine.manual_seed`` restarts, as in PyTorch.
    """
    return generator_of(rng)
