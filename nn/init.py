"""Initialisers, PyTorch's formulas and signatures.

uniform_ normal_ trunc_normal_ constant_ zeros_ ones_ eye_ dirac_ xavier_uniform_
xavier_normal_ kaiming_uniform_ kaiming_normal_ orthogonal_ sparse_
(+ calculate_gain, fan_in_and_fan_out, and PyTorch's deprecated names without the "_")

Each fills a Tensor in place (keeping its dtype and device) and returns it.
Values are drawn in float64 on the CPU from ``generator=`` (an ``engine.Generator``)
or ``rng=`` (a ``numpy.random.Generator`` or an int seed), else from the default
generator, so one seed gives the same weights on every device.
"""

import math
import warnings

import numpy as np

from engine import backend
from engine.random import generator_of

__all__ = [
    "calculate_gain", "constant", "constant_", "dirac", "dirac_", "eye", "eye_",
    "fan_in_and_fan_out", "generator", "kaiming_normal", "kaiming_normal_", "kaiming_uniform",
    "kaiming_uniform_", "normal", "normal_", "ones_", "orthogonal", "orthogonal_", "sparse",
    "sparse_", "trunc_normal_", "uniform", "uniform_", "xavier_normal", "xavier_normal_",
    "xavier_uniform", "xavier_uniform_", "zeros_",
]

def _fill(tensor, values):
    """Write ``values`` into ``tensor``'s own array (in place, as PyTorch: its version goes up)."""
    tensor._write(backend.to_device(np.asarray(values).astype(tensor.dtype), tensor.device))
    return tensor


def fan_in_and_fan_out(tensor):
    """(fan_in, fan_out) of a weight of shape (out, in, *kernel), as PyTorch computes them."""
    if tensor.ndim < 2:
        raise ValueError("Fan in and fan out can not be computed for tensor with fewer than 2 "
                         f"dimensions; got shape {tuple(tensor.shape)}")
    receptive = math.prod(tensor.shape[2:])
    return tensor.shape[1] * receptive, tensor.shape[0] * receptive


_LINEAR = ("linear", "conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d",
           "conv_transpose3d", "sigmoid")


def calculate_gain(nonlinearity, param=None):
    """The recommended gain for a nonlinearity (PyTorch's table): 1 for linear ones and
    sigmoid, 5/3 for tanh, sqrt(2) for relu, sqrt(2 / (1 + slope^2)) for leaky_relu
    (slope ``param``, default 0.01), 3/4 for selu.

    >>> calculate_gain("tanh"), calculate_gain("leaky_relu", 0.2)
    (1.6666666666666667, 1.3867504905630728)
    """
    if nonlinearity in _LINEAR:
        return 1
    if nonlinearity == "tanh":
        return 5.0 / 3
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        if param is None:
            slope = 0.01
        elif isinstance(param, (int, float)) and not isinstance(param, bool):
            slope = param
        else:
            raise ValueError(f"negative_slope {param} not a valid number")
        return math.sqrt(2.0 / (1 + slope**2))
    if nonlinearity == "selu":
        return 3.0 / 4  # found empirically (PyTorch's pull request 50664)
    raise ValueError(f"Unsupported nonlinearity {nonlinearity}")


def uniform_(tensor, a=0.0, b=1.0, generator=None, *, rng=None):
    """Fill with U(a, b)."""
    return _fill(tensor, generator_of(rng, generator).uniform(a, b, tensor.shape))


def normal_(tensor, mean=0.0, std=1.0, generator=None, *, rng=None):
    """Fill with N(mean, std^2)."""
    return _fill(tensor, generator_of(rng, generator).normal(mean, std, tensor.shape))


def _normal_cdf(x):
    return (1.0 + math.erf(x / math.sqrt(2.0))) / 2.0


def trunc_normal_(tensor, mean=0.0, std=1.0, a=-2.0, b=2.0, generator=None, *, rng=None):
    """Fill with N(mean, std^2) truncated to [a, b], by rejection as PyTorch: normal draws
    redrawn until inside when [a, b] holds more than 30% of the mass, else uniform draws
    on [a, b] accepted with probability exp(-(x - mean)^2 / (2 std^2)) / its peak."""
    if mean < a - 2 * std or mean > b + 2 * std:
        warnings.warn("mean is more than 2 std from [a, b] in nn.init.trunc_normal_. The "
                      "distribution of values may be incorrect.", stacklevel=2)
    draw = generator_of(rng, generator)
    mass = _normal_cdf((b - mean) / std) - _normal_cdf((a - mean) / std)
    if mass > 0.3:
        values = draw.normal(mean, std, tensor.shape)
        redraw = (values < a) | (values > b)
        while redraw.any():
            values[redraw] = draw.normal(mean, std, int(redraw.sum()))
            redraw = (values < a) | (values > b)
        return _fill(tensor, values)
    mode = max(a, min(mean, b))
    log_peak = -0.5 * ((mode - mean) / std) ** 2

    def rejected(x):  # log u > log density(x) - log peak
        return np.log(draw.random(x.shape)) > -0.5 * ((x - mean) / std) ** 2 - log_peak

    values = draw.uniform(a, b, tensor.shape)
    redraw = rejected(values)
    while redraw.any():
        values[redraw] = draw.uniform(a, b, int(redraw.sum()))
        redraw[redraw] = rejected(values[redraw])
    return _fill(tensor, values)


def constant_(tensor, val):
    return _fill(tensor, np.full(tensor.shape, val))


def zeros_(tensor):
    return constant_(tensor, 0.0)


def ones_(tensor):
    return constant_(tensor, 1.0)


def eye_(tensor):
    """The identity matrix (ones on the diagonal of a 2-D tensor, zeros elsewhere)."""
    if tensor.ndim != 2:
        raise ValueError(f"Only tensors with 2 dimensions are supported; got shape "
                         f"{tuple(tensor.shape)}")
    return _fill(tensor, np.eye(*tensor.shape))


def dirac_(tensor, groups=1):
    """The Dirac delta of a convolution weight (out, in, *kernel): each of the first
    min(out / groups, in) output channels of each group passes its input channel
    through the kernel's centre, so the convolution is the identity there."""
    if tensor.ndim not in (3, 4, 5):
        raise ValueError(f"Only tensors with 3, 4, or 5 dimensions are supported; got shape "
                         f"{tuple(tensor.shape)}")
    if tensor.shape[0] % groups != 0:
        raise ValueError(f"dim 0 must be divisible by groups; got {tensor.shape[0]} and "
                         f"groups={groups}")
    per_group = tensor.shape[0] // groups
    values = np.zeros(tensor.shape)
    centre = tuple(size // 2 for size in tensor.shape[2:])
    for g in range(groups):
        for d in range(min(per_group, tensor.shape[1])):
            values[(g * per_group + d, d, *centre)] = 1
    return _fill(tensor, values)


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
    mode = mode.lower()
    if mode not in ("fan_in", "fan_out"):
        raise ValueError(f"Mode {mode} not supported, please use one of ['fan_in', 'fan_out']")
    fan = fan_in_and_fan_out(tensor)[0 if mode == "fan_in" else 1]
    return calculate_gain(nonlinearity, a) / math.sqrt(fan)


def _no_elements(tensor):
    """PyTorch's kaiming_ initialisers leave a tensor with no elements as it is, warning."""
    if 0 in tensor.shape:
        warnings.warn("Initializing zero-element tensors is a no-op", stacklevel=3)
        return True
    return False


def kaiming_uniform_(tensor, a=0.0, mode="fan_in", nonlinearity="leaky_relu", generator=None, *,
                     rng=None):
    """U(-b, b) with b = gain * sqrt(3 / fan) (He et al. 2015)."""
    if _no_elements(tensor):
        return tensor
    bound = math.sqrt(3.0) * _kaiming_std(tensor, a, mode, nonlinearity)
    return uniform_(tensor, -bound, bound, generator, rng=rng)


def kaiming_normal_(tensor, a=0.0, mode="fan_in", nonlinearity="leaky_relu", generator=None, *,
                    rng=None):
    """N(0, std^2) with std = gain / sqrt(fan)."""
    if _no_elements(tensor):
        return tensor
    return normal_(tensor, 0.0, _kaiming_std(tensor, a, mode, nonlinearity), generator, rng=rng)


def orthogonal_(tensor, gain=1.0, generator=None, *, rng=None):
    """A (semi-)orthogonal matrix from the QR decomposition of a Gaussian one (Saxe et al. 2013).

    Rows are orthonormal when there are fewer rows than columns, columns otherwise;
    extra dimensions are flattened into the columns, as PyTorch does.
    """
    if tensor.ndim < 2:
        raise ValueError(f"Only tensors with 2 or more dimensions are supported; got shape "
                         f"{tuple(tensor.shape)}")
    if tensor.numel() == 0:
        return tensor
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


def sparse_(tensor, sparsity, std=0.01, generator=None, *, rng=None):
    """A sparse 2-D matrix (Martens 2010): N(0, std^2), then in each column a fraction
    ``sparsity`` of the rows (rounded up), picked at random, set to zero."""
    if tensor.ndim != 2:
        raise ValueError(f"Only tensors with 2 dimensions are supported; got shape "
                         f"{tuple(tensor.shape)}")
    draw = generator_of(rng, generator)
    rows, cols = tensor.shape
    values = draw.normal(0.0, std, tensor.shape)
    zeros = math.ceil(sparsity * rows)
    for col in range(cols):
        values[draw.permutation(rows)[:zeros], col] = 0
    return _fill(tensor, values)


def _deprecated(function):
    """PyTorch's old name (without the trailing "_"), which warns and calls the new one."""
    old_name = function.__name__[:-1]

    def deprecated(*args, **kwargs):
        warnings.warn(f"`nn.init.{old_name}` is now deprecated in favor of "
                      f"`nn.init.{function.__name__}`.", FutureWarning, stacklevel=2)
        return function(*args, **kwargs)

    deprecated.__name__ = deprecated.__qualname__ = old_name
    deprecated.__doc__ = f"Deprecated: use ``{function.__name__}``."
    return deprecated


uniform = _deprecated(uniform_)
normal = _deprecated(normal_)
constant = _deprecated(constant_)
eye = _deprecated(eye_)
dirac = _deprecated(dirac_)
xavier_uniform = _deprecated(xavier_uniform_)
xavier_normal = _deprecated(xavier_normal_)
kaiming_uniform = _deprecated(kaiming_uniform_)
kaiming_normal = _deprecated(kaiming_normal_)
orthogonal = _deprecated(orthogonal_)
sparse = _deprecated(sparse_)
