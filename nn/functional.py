"""Stateless functions on Tensors: the math that the layers in ``nn`` hold parameters for.

Layers:       linear  embedding (EmbeddingLookup)  layer_norm  batch_norm
Dropout:      dropout  dropout1d  dropout2d  (whole channels: feature_dropout)
Activations:  relu  tanh  sigmoid (engine's)  leaky_relu  elu  softplus  gelu  erf
              (LeakyReLU ELU Softplus GELU Erf: one Function each)
Softmax:      softmax  log_softmax (engine's, with PyTorch's implicit ``dim``)
Losses (defined in nn.losses): cross_entropy  nll_loss  mse_loss  l1_loss  smooth_l1_loss
              huber_loss  binary_cross_entropy  binary_cross_entropy_with_logits  kl_div

Names, signatures and numbers are PyTorch's. Layers are compositions of engine
ops (``embedding``'s backward, which adds rows up by index, is one Function);
activations whose plain composition would overflow or lose digits are one
Function each. Randomness (dropout) is drawn on the CPU from ``rng=`` (a
``numpy.random.Generator`` or a seed) or the default generator, then moved,
so a seed gives the same mask on every device. ``inplace=True`` writes the
result into the input (PyTorch's rules: recorded in the graph when gradients flow).
"""

import math
import warnings

import numpy as np

from engine import Function, Tensor, backend, no_grad, sigmoid, stable_sigmoid, tanh
from engine import log_softmax as _log_softmax
from engine import relu as _relu
from engine import softmax as _softmax
from engine.backend import xp_of
from engine.ops.linalg import rows_product, rows_product_grads
from engine.ops.shape import GetItem
from nn.init import generator
from nn.losses import (
    binary_cross_entropy,
    binary_cross_entropy_with_logits,
    cross_entropy,
    huber_loss,
    kl_div,
    l1_loss,
    mse_loss,
    nll_loss,
    smooth_l1_loss,
)
from nn.module import array_of

__all__ = [
    "batch_norm", "dropout", "dropout1d", "dropout2d", "elu", "embedding", "gelu",
    "layer_norm", "leaky_relu", "linear", "log_softmax", "relu", "sigmoid", "softmax",
    "softplus", "tanh",
    # losses (nn.losses)
    "binary_cross_entropy", "binary_cross_entropy_with_logits", "cross_entropy", "huber_loss",
    "kl_div", "l1_loss", "mse_loss", "nll_loss", "smooth_l1_loss",
]


def _in_place(input, inplace, compute, *operands):
    """``compute(input, *operands)``, written into ``input`` when ``inplace`` (PyTorch's
    in-place rules: an error on a leaf that requires grad, recorded in the graph otherwise)."""
    if inplace:
        return input._modify(compute, *operands)
    return compute(input, *operands)


# ---------------------------------------------------------------- layers


class Affine(Function):
    """y = x W^T + b as one node: x (..., in), weight (out, in)[, bias (out,)] -> (..., out).

    The leading axes fold into one (N, in) product, forward and backward, as PyTorch's
    ``linear`` does; the arithmetic is that of the graph it replaces, x.reshape(N, in) @
    W.T + b (the same products, the bias's gradient summed by the engine as an Add's), so
    the numbers are the same to the last bit:

        dx = dy W,    dW = (x^T dy)^T,    db = dy summed over the rows
    """

    saved_inputs = (0, 1)  # x and W (b only moves the output)

    def forward(self, x, weight, *bias):
        self.x, self.weight = x, weight
        out = rows_product(x, weight.T)  # (..., out)
        if bias:
            out += bias[0]
        return out

    def backward(self, grad):
        grad_x, grad_weight_t = rows_product_grads(self.x, self.weight.T, grad,
                                                   self.needs_input_grad)
        grad_weight = None if grad_weight_t is None else grad_weight_t.T
        grad_rows = grad.reshape(-1, grad.shape[-1])  # db: its sum, as an Add's, by the engine
        return (grad_x, grad_weight, grad_rows)[:len(self.needs_input_grad)]


def linear(x, weight, bias=None):
    """y = x W^T + b (``Affine``, one node).

    Shapes: x (..., in), weight (out, in), bias (out,) -> y (..., out).

    >>> import engine
    >>> x, w = engine.ones(2, 3), engine.ones(4, 3)
    >>> linear(x, w, engine.zeros(4)).shape
    (2, 4)
    """
    if weight.ndim != 2 or x.ndim == 0 or x.shape[-1] != weight.shape[1]:
        raise ValueError(
            f"linear: input of shape {x.shape} needs a last axis of size in_features and a "
            f"weight of shape (out_features, in_features); got weight {weight.shape}"
        )
    if bias is not None and bias.shape != (weight.shape[0],):
        raise ValueError(f"linear: bias must have shape ({weight.shape[0]},); got {bias.shape}")
    return Affine.apply(x, weight, *(() if bias is None else (bias,)))


class EmbeddingLookup(GetItem):
    """``weight[indices]`` (the engine's indexing, whose backward adds repeated rows' gradients),
    with the ``padding_idx`` row's gradient zeroed and, with ``scale_grad_by_freq``, each
    row's gradient divided by how often its index occurs."""

    def forward(self, weight, indices, padding_idx, scale_grad_by_freq):
        self.padding_idx, self.scale = padding_idx, scale_grad_by_freq
        if scale_grad_by_freq:
            self.indices = indices
        return super().forward(weight, index=indices)  # (*indices.shape, D)

    def backward(self, grad):
        dweight = super().backward(grad)  # (V, D)
        if self.scale:
            counts = xp_of(dweight).bincount(self.indices.ravel(), minlength=dweight.shape[0])
            dweight /= xp_of(dweight).maximum(counts, 1)[:, None]  # d/dw of the mean per index
        if self.padding_idx is not None:
            dweight[self.padding_idx] = 0  # the padding row is never trained
        return dweight


def padding_row(padding_idx, rows, op_name):
    """``padding_idx`` (None, or in [-rows, rows)) as a row number in [0, rows), or None."""
    if padding_idx is None:
        return None
    if not -rows <= padding_idx < rows:
        raise ValueError(f"{op_name}: padding_idx must be in [-{rows}, {rows}); got {padding_idx}")
    return padding_idx % rows


def _bounds(indices):
    """(min, max) of an integer array as ints: on a GPU both reductions come back in ONE
    copy to the host (each int() of a CuPy scalar waits for the GPU)."""
    low, high = indices.min(), indices.max()
    if not isinstance(indices, np.ndarray):
        low, high = backend.to_numpy(xp_of(indices).stack((low, high)))
    return int(low), int(high)


def embedding(input, weight, padding_idx=None, max_norm=None, norm_type=2.0,
              scale_grad_by_freq=False, sparse=False):
    """Rows of ``weight`` picked by integer ``input``; the ``padding_idx`` row gets no gradient.

    ``max_norm``: first rescale (in place, as PyTorch) each picked row whose
    ``norm_type``-norm exceeds it to norm ``max_norm``.
    Shapes: input (...) integer in [0, V), weight (V, D) -> (..., D).

    >>> import engine, numpy as np
    >>> w = engine.tensor(np.arange(6.0).reshape(3, 2))
    >>> embedding(np.array([[2, 0]]), w).tolist()
    [[[4.0, 5.0], [0.0, 1.0]]]
    """
    if weight.ndim != 2:
        raise ValueError(f"embedding: weight must have shape (V, D); got {weight.shape}")
    if sparse:
        raise NotImplementedError("embedding(sparse=True): sparse gradients are not supported; "
                                  "use sparse=False (a dense gradient, the same numbers)")
    indices = array_of(input)
    if indices.dtype.kind not in "iu":
        raise ValueError(f"embedding: indices must be integers; got dtype {indices.dtype}")
    rows = weight.shape[0]
    if indices.size:
        low, high = _bounds(indices)
        if low < 0 or high >= rows:
            raise ValueError(f"embedding: indices must be in [0, {rows}) for a weight of shape "
                             f"{weight.shape}; got values from {low} to {high}")
    padding_idx = padding_row(padding_idx, rows, "embedding")
    indices = backend.to_device(indices, weight.device)
    if max_norm is not None:
        _renorm_rows(weight, indices, max_norm, norm_type)
    return EmbeddingLookup.apply(weight, indices=indices, padding_idx=padding_idx,
                                 scale_grad_by_freq=bool(scale_grad_by_freq))


def _renorm_rows(weight, indices, max_norm, norm_type):
    """PyTorch's ``embedding_renorm_``: each picked row with norm > max_norm is scaled by
    max_norm / (norm + 1e-7), in place (outside the graph)."""
    xp = xp_of(weight.array)
    picked = xp.unique(indices.ravel())
    table = weight.array.copy()
    norms = xp.linalg.norm(table[picked], ord=norm_type, axis=1)  # (P,)
    scale = xp.where(norms > max_norm, max_norm / (norms + 1e-7), 1.0)
    table[picked] *= scale[:, None].astype(table.dtype)
    with no_grad():
        weight._write(table)


def layer_norm(input, normalized_shape, weight=None, bias=None, eps=1e-5):
    """y = (x - mean) / sqrt(var + eps) * weight + bias, over the last len(normalized_shape) axes.

    ``var`` is the biased variance (divided by n), as PyTorch.
    Shapes: x (..., *normalized_shape); weight, bias normalized_shape -> y like x.

    >>> import engine
    >>> y = layer_norm(engine.tensor([[1.0, 2.0, 3.0]]), 3)
    >>> [round(v, 3) for v in y.tolist()[0]]
    [-1.225, 0.0, 1.225]
    """
    x = input
    shape = (normalized_shape,) if isinstance(normalized_shape, int) else tuple(normalized_shape)
    if not shape or x.shape[x.ndim - len(shape):] != shape or x.ndim < len(shape):
        raise ValueError(
            f"layer_norm: input of shape {x.shape} must end in normalized_shape {shape}"
        )
    for name, t in (("weight", weight), ("bias", bias)):
        if t is not None and t.shape != shape:
            raise ValueError(f"layer_norm: {name} must have shape {shape}; got {t.shape}")
    axes = tuple(range(x.ndim - len(shape), x.ndim))
    centered = x - x.mean(axis=axes, keepdims=True)
    variance = (centered * centered).mean(axis=axes, keepdims=True)  # (..., 1, ..., 1)
    out = centered / (variance + eps).sqrt()
    if weight is not None:
        out = out * weight
    if bias is not None:
        out = out + bias
    return out


def batch_norm(input, running_mean, running_var, weight=None, bias=None, training=False,
               momentum=0.1, eps=1e-5):
    """y = (x - mean) / sqrt(var + eps) * weight + bias per channel (axis 1).

    Training: mean and the biased var over every axis but 1, and the running
    statistics (when given) move in place: r <- (1 - momentum) r + momentum s,
    with the unbiased var. Otherwise the running statistics normalise.
    Shapes: x (N, C, *); running_mean, running_var, weight, bias (C,) -> y like x.

    >>> import engine
    >>> y = batch_norm(engine.tensor([[1.0], [3.0]]), None, None, training=True)
    >>> [round(v, 3) for v in y.reshape(-1).tolist()]
    [-1.0, 1.0]
    """
    _check_batch_norm(input, running_mean, running_var, weight, bias, training)
    channels = input.shape[1]
    axes = (0, *range(2, input.ndim))
    per_channel = (1, channels) + (1,) * (input.ndim - 2)  # broadcasts (C,) against x
    if training:
        count = input.numel() // max(channels, 1)  # values per channel
        mean = input.mean(axis=axes, keepdims=True)  # (1, C, 1...)
        centered = input - mean
        variance = (centered * centered).mean(axis=axes, keepdims=True)  # biased
        if running_mean is not None and running_var is not None:
            with no_grad():
                unbiased = variance.array.reshape(channels) * (count / (count - 1))
                running_mean._write((1 - momentum) * running_mean.array
                                    + momentum * mean.array.reshape(channels))
                running_var._write((1 - momentum) * running_var.array + momentum * unbiased)
    else:
        centered = input - running_mean.reshape(per_channel)
        variance = running_var.reshape(per_channel)
    out = centered / (variance + eps).sqrt()
    if weight is not None:
        out = out * weight.reshape(per_channel)
    if bias is not None:
        out = out + bias.reshape(per_channel)
    return out


def _check_batch_norm(input, running_mean, running_var, weight, bias, training):
    """batch_norm's errors, PyTorch's types and words, naming what was expected and what came."""
    if input.ndim < 2:
        raise ValueError(f"batch_norm: expected an input (N, C, *) of 2 or more dimensions; got "
                         f"shape {tuple(input.shape)}")
    channels = input.shape[1]
    for name, t in (("running_mean", running_mean), ("running_var", running_var),
                    ("weight", weight), ("bias", bias)):
        if t is not None and t.shape != (channels,):
            raise RuntimeError(
                f"{name} should contain {channels} elements not {t.numel()}: an input of shape "
                f"{tuple(input.shape)} has {channels} channels (axis 1), {name} has shape "
                f"{tuple(t.shape)}")
    if not training and (running_mean is None or running_var is None):
        raise RuntimeError("batch_norm: running_mean and running_var must be given in "
                           "evaluation mode (training=False)")
    if training and input.numel() == channels:  # one value per channel: no variance
        raise ValueError("Expected more than 1 value per channel when training, got input size "
                         f"{input.size()}")


# ---------------------------------------------------------------- dropout


def _check_probability(p):
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")


def _dropped(input, p, training, mask_shape, inplace, rng):
    """input * mask / (1 - p), the mask's entries kept with probability 1 - p, drawn
    for ``mask_shape`` (broadcast against the input: whole channels when it has 1s);
    the input itself when not training, for p = 0 or when it is empty."""
    if not training or p == 0 or input.numel() == 0:
        return input
    if p == 1:
        keep = xp_of(input.array).zeros(mask_shape, dtype=input.dtype)  # all dropped
    else:
        kept = generator(rng).random(mask_shape) >= p  # each kept with probability 1 - p
        scale = np.asarray(1 / (1 - p), dtype=input.dtype)  # 1 / (1 - p), or 0 where dropped
        keep = backend.to_device(np.where(kept, scale, scale.dtype.type(0)), input.device)
    return _in_place(input, inplace, lambda t, m: t * m, Tensor(keep))


def dropout(input, p=0.5, training=True, inplace=False, *, rng=None):
    """Inverted dropout: each element is zeroed with probability p, the rest scaled by 1/(1-p).

    The expectation is unchanged, so evaluation (``training=False``) is the
    identity (the input itself). The mask is drawn from ``rng`` (the default
    generator when None) on the CPU, then moved to the input's device. Shape: any.

    >>> import engine, numpy as np
    >>> y = dropout(engine.ones(2, 4), 0.5, rng=np.random.default_rng(0))
    >>> sorted(set(y.numpy().ravel().tolist()))
    [0.0, 2.0]
    """
    _check_probability(p)
    return _dropped(input, p, training, input.shape, inplace, rng)


def _feature_dropout(input, p, training, inplace, rng):
    """Whole channels dropped: one draw per (n, c) of an (N, C, *) input (PyTorch's
    ``feature_dropout``; on (N, C) that is one draw per element)."""
    if input.ndim < 2:
        raise RuntimeError("Feature dropout requires at least 2 dimensions in the input")
    return _dropped(input, p, training, input.shape[:2] + (1,) * (input.ndim - 2), inplace,
                    rng)


def dropout1d(input, p=0.5, training=True, inplace=False, *, rng=None):
    """Channel-wise dropout of an (N, C, L) input, or an unbatched (C, L) one: each channel
    ``input[n, c]`` is zeroed whole with probability p, the rest scaled by 1/(1-p)."""
    _check_probability(p)
    if input.ndim not in (2, 3):
        raise RuntimeError(
            f"dropout1d: Expected 2D or 3D input, but received a {input.ndim}D input. Note that "
            "dropout1d exists to provide channel-wise dropout on inputs with 1 spatial "
            "dimension, a channel dimension, and an optional batch dimension (i.e. 2D or 3D "
            "inputs).")
    if input.ndim == 3:
        return _feature_dropout(input, p, training, inplace, rng)
    return _dropped(input, p, training, (input.shape[0], 1), inplace, rng)  # (C, L): a row each


def dropout2d(input, p=0.5, training=True, inplace=False, *, rng=None):
    """Channel-wise dropout of an (N, C, H, W) input: each ``input[n, c]`` is zeroed whole with
    probability p, the rest scaled by 1/(1-p).

    As PyTorch 2.13: a 3-D input is taken as (N, C, L) and a 2-D one as (N, C)
    (one draw per element, like ``dropout``), each with a warning.
    """
    _check_probability(p)
    if input.ndim not in (3, 4):
        warnings.warn(
            f"dropout2d: Received a {input.ndim}-D input to dropout2d, which is deprecated and "
            "will result in an error in a future release. To retain the behavior and silence "
            "this warning, please use dropout instead. Note that dropout2d exists to provide "
            "channel-wise dropout on inputs with 2 spatial dimensions, a channel dimension, and "
            "an optional batch dimension (i.e. 3D or 4D inputs).", stacklevel=2)
    if input.ndim == 3:
        warnings.warn(
            "dropout2d: Received a 3D input to dropout2d and assuming that channel-wise 1D "
            "dropout behavior is desired - input is interpreted as shape (N, C, L), where C is "
            "the channel dim. This behavior will change in a future release to interpret the "
            "input as one without a batch dimension, i.e. shape (C, H, W). To maintain the 1D "
            "channel-wise dropout behavior, please switch to using dropout1d instead.",
            stacklevel=2)
    return _feature_dropout(input, p, training, inplace, rng)


# ---------------------------------------------------------------- activations


def relu(input, inplace=False):
    """max(x, 0), elementwise."""
    return _in_place(input, inplace, _relu)


class LeakyReLU(Function):
    saved_inputs = ()

    def forward(self, a, negative_slope):
        self.positive, self.slope = a > 0, negative_slope
        return xp_of(a).where(self.positive, a, a * negative_slope)

    def backward(self, grad):
        # d leaky_relu(a) = da where a > 0, else negative_slope da
        return xp_of(grad).where(self.positive, grad, grad * self.slope)


def leaky_relu(input, negative_slope=0.01, inplace=False):
    """x where x > 0, else negative_slope * x."""
    return _in_place(input, inplace, lambda t: LeakyReLU.apply(t, negative_slope=negative_slope))


class ELU(Function):
    saved_inputs = ()

    def forward(self, a, alpha):
        xp = xp_of(a)
        self.positive, self.alpha = a > 0, alpha
        negative = xp.minimum(a, 0)  # exp only where it is used: it never overflows
        self.exp = xp.exp(negative)
        return xp.where(self.positive, a, alpha * xp.expm1(negative))

    def backward(self, grad):
        # d elu(a) = da where a > 0, else alpha exp(a) da
        return xp_of(grad).where(self.positive, grad, grad * self.alpha * self.exp)


def elu(input, alpha=1.0, inplace=False):
    """x where x > 0, else alpha * (exp(x) - 1)."""
    return _in_place(input, inplace, lambda t: ELU.apply(t, alpha=alpha))


class Softplus(Function):
    saved_inputs = ()

    def forward(self, a, beta, threshold):
        xp = xp_of(a)
        z = a * beta
        self.linear, self.slope = z > threshold, stable_sigmoid(z)
        smooth = (xp.maximum(z, 0) + xp.log1p(xp.exp(-xp.abs(z)))) / beta  # log(1 + e^z) / beta
        return xp.where(self.linear, a, smooth)

    def backward(self, grad):
        # d softplus(a) = sigmoid(beta a) da, or da where beta a > threshold (linear there)
        return xp_of(grad).where(self.linear, grad, grad * self.slope)


def softplus(input, beta=1.0, threshold=20.0):
    """log(1 + exp(beta x)) / beta, and x where beta x > threshold."""
    return Softplus.apply(input, beta=beta, threshold=threshold)


# W. J. Cody, "Rational Chebyshev approximations for the error function", Math. Comp. 23
# (1969) 631-638: erf on |x| <= 0.46875, erfc on (0.46875, 4] and on (4, inf), each a
# rational function, good to double precision (the coefficients of Netlib's CALERF).
_ERF_A = (3.16112374387056560e00, 1.13864154151050156e02, 3.77485237685302021e02,
          3.20937758913846947e03, 1.85777706184603153e-1)
_ERF_B = (2.36012909523441209e01, 2.44024637934444173e02, 1.28261652607737228e03,
          2.84423683343917062e03)
_ERFC_C = (5.64188496988670089e-1, 8.88314979438837594e00, 6.61191906371416295e01,
           2.98635138197400131e02, 8.81952221241769090e02, 1.71204761263407058e03,
           2.05107837782607147e03, 1.23033935479799725e03, 2.15311535474403846e-8)
_ERFC_D = (1.57449261107098347e01, 1.17693950891312499e02, 5.37181101862009858e02,
           1.62138957456669019e03, 3.29079923573345963e03, 4.36261909014324716e03,
           3.43936767414372164e03, 1.23033935480374942e03)
_ERFC_P = (3.05326634961232344e-1, 3.60344899949804439e-1, 1.25781726111229246e-1,
           1.60837851487422766e-2, 6.58749161529837803e-4, 1.63153871373020978e-2)
_ERFC_Q = (2.56852019228982242e00, 1.87295284992346047e00, 5.27905102951428412e-1,
           6.05183413124413191e-2, 2.33520497626869185e-3)
_SQRT_PI_INV = 5.6418958354775628695e-1  # 1 / sqrt(pi)


def _rational(y, top, bottom):
    """Cody's nested evaluation: (((top[-1] y + top[0]) y + top[1]) y ... + top[-2]) /
    (((y + bottom[0]) y + bottom[1]) y ... + bottom[-1])."""
    num, den = top[-1] * y, y
    for t, b in zip(top[:-2], bottom[:-1]):
        num, den = (num + t) * y, (den + b) * y
    return (num + top[-2]) / (den + bottom[-1])


def _erf_array(x):
    """erf(x) of a NumPy or CuPy float array, to double precision (Cody 1969)."""
    xp = xp_of(x)
    y = xp.abs(x)
    out = xp.empty_like(x)
    small = y <= 0.46875
    out[small] = x[small] * _rational(y[small] ** 2, _ERF_A, _ERF_B)
    mid = ~small & (y <= 4.0)
    large = ~small & ~mid  # and nan
    erfc = xp.empty_like(x)
    erfc[mid] = _rational(y[mid], _ERFC_C, _ERFC_D)
    tail = xp.minimum(y[large], 27.0)  # erfc is 0 in double precision from 26.543 on
    inverse_square = 1 / (tail * tail)
    erfc[large] = (_SQRT_PI_INV - inverse_square * _rational(inverse_square, _ERFC_P, _ERFC_Q)
                   ) / tail
    rest = ~small
    z = y[rest]
    z16 = xp.trunc(16 * xp.minimum(z, 27.0)) / 16  # exp(-z^2) in two factors keeps its digits
    erfc[rest] *= xp.exp(-z16 * z16) * xp.exp(-(z - z16) * (z + z16))
    out[rest] = xp.copysign(1 - erfc[rest], x[rest])
    return out


class Erf(Function):
    saved_inputs = (0,)

    def forward(self, a):
        self.a = a
        return _erf_array(a)

    def backward(self, grad):
        # d erf(a) = 2 / sqrt(pi) exp(-a^2) da
        return grad * (2 * _SQRT_PI_INV) * xp_of(grad).exp(-self.a * self.a)


def erf(input):
    """The error function, 2/sqrt(pi) * integral from 0 to x of exp(-t^2) dt, elementwise."""
    return Erf.apply(input)


_SQRT_2_OVER_PI = math.sqrt(2 / math.pi)


class GELU(Function):
    saved_inputs = (0,)

    def forward(self, a, approximate):
        xp = xp_of(a)
        self.a, self.approximate = a, approximate
        if approximate == "tanh":
            self.t = xp.tanh(_SQRT_2_OVER_PI * (a + 0.044715 * a**3))  # (...)
            return 0.5 * a * (1 + self.t)
        self.cdf = 0.5 * (1 + _erf_array(a * (1 / math.sqrt(2))))  # Phi(a)
        return a * self.cdf

    def backward(self, grad):
        a = self.a
        if self.approximate == "tanh":
            # d [a (1 + t) / 2] = (1 + t) / 2 + a / 2 (1 - t^2) sqrt(2/pi) (1 + 3 0.044715 a^2)
            inner = _SQRT_2_OVER_PI * (1 + 3 * 0.044715 * a * a)
            return grad * (0.5 * (1 + self.t) + 0.5 * a * (1 - self.t * self.t) * inner)
        # d [a Phi(a)] = Phi(a) + a phi(a), phi the standard normal density
        density = xp_of(a).exp(-0.5 * a * a) * (1 / math.sqrt(2 * math.pi))
        return grad * (self.cdf + a * density)


def gelu(input, approximate="none"):
    """x * Phi(x) (Phi the standard normal CDF, through erf), or with ``approximate='tanh'``
    0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))."""
    if approximate not in ("none", "tanh"):
        raise RuntimeError(f"approximate argument must be either none or tanh; got "
                           f"{approximate!r}")
    return GELU.apply(input, approximate=approximate)


# ---------------------------------------------------------------- softmax


def _softmax_dim(name, ndim, stacklevel):
    """PyTorch's implicit choice when ``dim`` is None (deprecated there: it warns)."""
    warnings.warn(f"Implicit dimension choice for {name} has been deprecated. Change the call "
                  "to include dim=X as an argument.", stacklevel=stacklevel)
    return 0 if ndim in (0, 1, 3) else 1


def softmax(input, dim=None, _stacklevel=3, dtype=None, *, axis=None):
    """exp(x) / sum(exp(x)) along ``dim`` (or NumPy's ``axis``)."""
    if dim is None and axis is None:
        dim = _softmax_dim("softmax", input.ndim, _stacklevel)
    return _softmax(input, dim, axis=axis, dtype=dtype)


def log_softmax(input, dim=None, _stacklevel=3, dtype=None, *, axis=None):
    """x - logsumexp(x) along ``dim`` (or NumPy's ``axis``)."""
    if dim is None and axis is None:
        dim = _softmax_dim("log_softmax", input.ndim, _stacklevel)
    return _log_softmax(input, dim, axis=axis, dtype=dtype)
