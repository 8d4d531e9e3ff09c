"""Reductions: Sum Mean Max Min LogSumExp, and Softmax LogSoftmax beside them;
argmax argmin (outside the graph).

Each wrapper takes PyTorch's ``dim``/``keepdim`` or NumPy's ``axis``/``keepdims``
(``numpy_names``); the axes (None, an int or a tuple, negatives allowed) are
normalised once, in ``normalize_axes``; every backward first puts the reduced axes back
(``_unreduce``) so the output gradient broadcasts against the input, and
``_drop_axes`` takes them away from a result computed with keepdims.
"""

from collections import namedtuple

from engine.backend import xp_of
from engine.ops.elementwise import maximum, minimum
from engine.tensor import Function, Tensor


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
    saved_inputs = ()

    def forward(self, a, axes, keepdims):
        self.shape, self.axes, self.keepdims = a.shape, axes, keepdims
        return a.sum(axis=axes, keepdims=keepdims)

    def backward(self, grad):
        # every input element contributes once: d sum(a) = sum(da)
        return xp_of(grad).broadcast_to(_unreduce(grad, self.axes, self.keepdims), self.shape)


class Mean(Function):
    saved_inputs = ()

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
    saved_inputs = ()  # the shares are computed in forward

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
    saved_inputs = ()

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
    saved_inputs, saves_output = (), True

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
    saved_inputs, saves_output = (), True

    def forward(self, a, axis):
        xp = xp_of(a)
        self.axis = axis
        shifted = a - a.max(axis=axis, keepdims=True)
        self.out = shifted - xp.log(xp.exp(shifted).sum(axis=axis, keepdims=True))
        return self.out

    def backward(self, grad):
        # d log s_i = da_i - sum_j s_j da_j
        return grad - xp_of(grad).exp(self.out) * grad.sum(axis=self.axis, keepdims=True)


def numpy_names(dim, keepdim, axis, keepdims, op_name):
    """PyTorch's ``dim``/``keepdim`` or NumPy's ``axis``/``keepdims`` (one spelling, not both)."""
    if axis is not None:
        if dim is not None:
            raise TypeError(f"{op_name}: give dim or axis, not both")
        dim = axis
    return dim, keepdim if keepdims is None else keepdims


ValuesIndices = {name: namedtuple(name, ["values", "indices"])
                 for name in ("max", "min", "topk", "sort", "median", "mode", "kthvalue")}


def sum(a, dim=None, keepdim=False, *, axis=None, keepdims=None):
    dim, keepdim = numpy_names(dim, keepdim, axis, keepdims, "sum")
    return Sum.apply(a, axes=normalize_axes(dim, a.ndim, "sum"), keepdims=keepdim)


def mean(a, dim=None, keepdim=False, *, axis=None, keepdims=None):
    dim, keepdim = numpy_names(dim, keepdim, axis, keepdims, "mean")
    return Mean.apply(a, axes=normalize_axes(dim, a.ndim, "mean"), keepdims=keepdim)


def _extreme(op, a, dim, keepdim, axis, keepdims):
    """max/min: over everything, over ``axis`` (NumPy: the values), or over ``dim``
    (PyTorch: the values and the indices, a named tuple); ``max(a, b)`` is ``maximum``."""
    name = op.pick
    if isinstance(dim, Tensor):
        return (maximum if name == "max" else minimum)(a, dim)
    by_dim = dim is not None
    dim, keepdim = numpy_names(dim, keepdim, axis, keepdims, name)
    values = op.apply(a, axes=normalize_axes(dim, a.ndim, name), keepdims=keepdim)
    if not by_dim:
        return values
    indices = (argmax if name == "max" else argmin)(a, dim, keepdim)
    return ValuesIndices[name](values, indices)


def max(a, dim=None, keepdim=False, *, axis=None, keepdims=None):
    return _extreme(Max, a, dim, keepdim, axis, keepdims)


def min(a, dim=None, keepdim=False, *, axis=None, keepdims=None):
    return _extreme(Min, a, dim, keepdim, axis, keepdims)


def _arg(pick, a, dim, keepdim, axis, keepdims):
    dim, keepdim = numpy_names(dim, keepdim, axis, keepdims, pick.__name__)
    xp = xp_of(a.array)
    if a.array.size == 0:
        raise ValueError(f"{pick.__name__}: cannot reduce an empty tensor")
    if dim is None:
        index = pick(a.array.reshape(-1))
        out = index.reshape((1,) * a.ndim) if keepdim else xp.asarray(index)
    else:
        axis = normalize_axes(dim, a.ndim, pick.__name__)[0]
        out = pick(a.array, axis=axis, keepdims=keepdim)
    return Tensor._make(xp.asarray(out, dtype=xp.int64), False, None, 0)


def argmax(a, dim=None, keepdim=False, *, axis=None, keepdims=None):
    """Index of the largest element (of the flattened tensor, or along ``dim``), int64."""
    return _arg(xp_of(a.array).argmax, a, dim, keepdim, axis, keepdims)


def argmin(a, dim=None, keepdim=False, *, axis=None, keepdims=None):
    return _arg(xp_of(a.array).argmin, a, dim, keepdim, axis, keepdims)


def logsumexp(a, dim=None, keepdim=False, *, axis=None, keepdims=None):
    """log(sum(exp(a))) computed with the maximum shifted out: finite for logits of 1e4."""
    dim, keepdim = numpy_names(dim, keepdim, axis, keepdims, "logsumexp")
    return LogSumExp.apply(a, axes=normalize_axes(dim, a.ndim, "logsumexp"), keepdims=keepdim)


def softmax(a, dim=-1, *, axis=None, dtype=None):
    dim = dim if axis is None else axis
    a = a if dtype is None else a.astype(dtype)
    return Softmax.apply(a, axis=normalize_axes(dim, a.ndim, "softmax")[0])


def log_softmax(a, dim=-1, *, axis=None, dtype=None):
    dim = dim if axis is None else axis
    a = a if dtype is None else a.astype(dtype)
    return LogSoftmax.apply(a, axis=normalize_axes(dim, a.ndim, "log_softmax")[0])
