"""Reductions: Sum Mean Max Min LogSumExp, and Softmax LogSoftmax beside them.

``axis`` (None, an int or a tuple, negatives allowed) and ``keepdims`` are
normalised once, in ``normalize_axes``; every backward first puts the reduced axes back
(``_unreduce``) so the output gradient broadcasts against the input, and
``_drop_axes`` takes them away from a result computed with keepdims.
"""

from engine.backend import xp_of
from engine.tensor import Function


def normalize_axes(axis, ndim, op_name, shape=None):
    """``axis`` (None: all; an int or a tuple, negatives allowed) as a sorted tuple of
    non-negative axes, checked against ``ndim``."""
    if axis is None:
        return tuple(range(ndim))
    axes = tuple(axis) if isinstance(axis, (tuple, list)) else (axis,)
    for a in axes:
        if not -ndim <= a < ndim:
            raise ValueError(
                f"{op_name}: axis {a} is out of range for a tensor of {ndim} dimensions"
            )
    axes = tuple(sorted(a % ndim for a in axes))
    if len(set(axes)) != len(axes):
        where = "" if shape is None else f" for a tensor of shape {shape}"
        raise ValueError(f"{op_name}: repeated axis in {axis}{where}")
    return axes


def _unreduce(grad, axes, keepdims):
    """Reinsert the reduced axes (as size 1) so ``grad`` broadcasts against the input."""
    if keepdims or not axes:
        return grad
    dims = iter(grad.shape)
    return grad.reshape([1 if i in axes else next(dims) for i in range(grad.ndim + len(axes))])


def _drop_axes(array, axes):
    """``array`` (reduced with keepdims=True) without the size-1 ``axes``."""
    return array.reshape([n for i, n in enumerate(array.shape) if i not in axes])


class Sum(Function):
    def forward(self, a, axes, keepdims):
        self.shape, self.axes, self.keepdims = a.shape, axes, keepdims
        return a.sum(axis=axes, keepdims=keepdims)

    def backward(self, grad):
        # every input element contributes once: d sum(a) = sum(da)
        return xp_of(grad).broadcast_to(_unreduce(grad, self.axes, self.keepdims), self.shape)


class Mean(Function):
    def forward(self, a, axes, keepdims):
        self.shape, self.axes, self.keepdims = a.shape, axes, keepdims
        self.count = 1
        for axis in axes:
            self.count *= a.shape[axis]
        return a.mean(axis=axes, keepdims=keepdims)

    def backward(self, grad):
        grad = _unreduce(grad, self.axes, self.keepdims) / self.count  # d mean(a) = sum(da) / n
        return xp_of(grad).broadcast_to(grad, self.shape)


class Max(Function):
    """Largest element; ties share the gradient equally (as finite differences do)."""

    pick = "max"

    def forward(self, a, axes, keepdims):
        if a.size == 0:
            raise ValueError(f"{self.pick}: cannot reduce an empty tensor")
        self.axes, self.keepdims = axes, keepdims
        out = getattr(a, self.pick)(axis=axes, keepdims=True)
        winners = a == out
        self.share = winners / winners.sum(axis=axes, keepdims=True)
        return out if keepdims else _drop_axes(out, axes)

    def backward(self, grad):
        return _unreduce(grad, self.axes, self.keepdims) * self.share


class Min(Max):
    pick = "min"


class LogSumExp(Function):
    def forward(self, a, axes, keepdims):
        xp = xp_of(a)
        self.axes, self.keepdims = axes, keepdims
        shift = a.max(axis=axes, keepdims=True)
        shift = xp.where(xp.isfinite(shift), shift, 0)  # rows of -inf stay -inf, not nan
        e = xp.exp(a - shift)
        total = e.sum(axis=axes, keepdims=True)
        # saved from the shifted values: exp(a - lse) loses digits when lse is large (1e4)
        self.softmax = e / total
        out = shift + xp.log(total)
        return out if keepdims else _drop_axes(out, axes)

    def backward(self, grad):
        # d lse(a) = softmax(a) . da
        return _unreduce(grad, self.axes, self.keepdims) * self.softmax


class Softmax(Function):
    def forward(self, a, axis):
        xp = xp_of(a)
        self.axis = axis
        e = xp.exp(a - a.max(axis=axis, keepdims=True))
        self.out = e / e.sum(axis=axis, keepdims=True)
        return self.out

    def backward(self, grad):
        # d s_i = s_i (da_i - sum_j s_j da_j): the Jacobian-vector product without the Jacobian
        s = self.out
        return s * (grad - (grad * s).sum(axis=self.axis, keepdims=True))


class LogSoftmax(Function):
    def forward(self, a, axis):
        xp = xp_of(a)
        self.axis = axis
        shifted = a - a.max(axis=axis, keepdims=True)
        self.out = shifted - xp.log(xp.exp(shifted).sum(axis=axis, keepdims=True))
        return self.out

    def backward(self, grad):
        # d log s_i = da_i - sum_j s_j da_j
        return grad - xp_of(grad).exp(self.out) * grad.sum(axis=self.axis, keepdims=True)


def sum(a, axis=None, keepdims=False):
    return Sum.apply(a, axes=normalize_axes(axis, a.ndim, "sum"), keepdims=keepdims)


def mean(a, axis=None, keepdims=False):
    return Mean.apply(a, axes=normalize_axes(axis, a.ndim, "mean"), keepdims=keepdims)


def max(a, axis=None, keepdims=False):
    return Max.apply(a, axes=normalize_axes(axis, a.ndim, "max"), keepdims=keepdims)


def min(a, axis=None, keepdims=False):
    return Min.apply(a, axes=normalize_axes(axis, a.ndim, "min"), keepdims=keepdims)


def logsumexp(a, axis=None, keepdims=False):
    """log(sum(exp(a))) computed with the maximum shifted out: finite for logits of 1e4."""
    return LogSumExp.apply(a, axes=normalize_axes(axis, a.ndim, "logsumexp"), keepdims=keepdims)


def softmax(a, axis=-1):
    return Softmax.apply(a, axis=normalize_axes(axis, a.ndim, "softmax")[0])


def log_softmax(a, axis=-1):
    return LogSoftmax.apply(a, axis=normalize_axes(axis, a.ndim, "log_softmax")[0])
