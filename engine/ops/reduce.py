"""Reductions: Sum Mean Prod Var Std Norm2 Max Min (amax amin) LogSumExp CumSum, and
Softmax LogSoftmax beside them; argmax argmin any all (outside the graph); norm (any p).

Each wrapper takes PyTorch's ``dim``/``keepdim`` or NumPy's ``axis``/``keepdims``
(``numpy_names``); the axes (None, an int or a tuple, negatives allowed) are
normalised once, in ``normalize_axes``; every backward first puts the reduced axes back
(``_unreduce``) so the output gradient broadcasts against the input, and
``_drop_axes`` takes them away from a result computed with keepdims.
"""

import builtins
from collections import namedtuple

import numpy as np

from engine import dtypes
from engine.backend import xp_of
from engine.ops.elementwise import abs, astype, maximum, minimum, pow
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


class Prod(Function):
    saved_inputs = (0,)

    def forward(self, a, axes, keepdims):
        self.a, self.axes, self.keepdims = a, axes, keepdims
        return a.prod(axis=axes, keepdims=keepdims)

    def backward(self, grad):
        # d prod(a) / d a_i = the product of the others: exclusive running products from
        # both ends, so that a zero needs no division
        xp = xp_of(grad)
        kept = [i for i in range(self.a.ndim) if i not in self.axes]
        order = kept + list(self.axes)
        moved = self.a.transpose(order)
        flat = moved.reshape(*moved.shape[: len(kept)], -1)  # (..., K): the reduced elements
        one = xp.ones_like(flat[..., :1])
        before = xp.cumprod(xp.concatenate([one, flat[..., :-1]], axis=-1), axis=-1)
        after = xp.cumprod(xp.concatenate([one, flat[..., :0:-1]], axis=-1), axis=-1)[..., ::-1]
        others = (before * after).reshape(moved.shape).transpose(np.argsort(order).tolist())
        return _unreduce(grad, self.axes, self.keepdims) * others


class Var(Function):
    """sum((a - mean)^2) / (N - correction), N the count of reduced elements."""

    saved_inputs = ()

    def forward(self, a, axes, keepdims, correction):
        self.axes, self.keepdims = axes, keepdims
        count = int(np.prod([a.shape[i] for i in axes]))
        self.dof = a.dtype.type(builtins.max(count - correction, 0))  # 0: inf or nan, as PyTorch
        self.centered = a - a.mean(axis=axes, keepdims=True)
        with np.errstate(divide="ignore", invalid="ignore"):
            return (self.centered**2).sum(axis=axes, keepdims=keepdims) / self.dof

    def backward(self, grad):
        # d var = 2 (a - mean) . da / (N - correction): the mean's own change sums to 0
        with np.errstate(divide="ignore", invalid="ignore"):
            return _unreduce(grad, self.axes, self.keepdims) * self.centered * (2 / self.dof)


class Std(Var):
    saves_output = True

    def forward(self, a, axes, keepdims, correction):
        with np.errstate(invalid="ignore"):
            self.out = xp_of(a).sqrt(super().forward(a, axes, keepdims, correction))
        return self.out

    def backward(self, grad):
        # d sqrt(var) = d var / (2 std); 0 where std is 0, as PyTorch
        with np.errstate(divide="ignore", invalid="ignore"):
            return _over_output(self, grad) * self.centered / self.dof


class Norm2(Function):
    """sqrt(sum(a^2)): the Euclidean (Frobenius) norm."""

    saved_inputs, saves_output = (0,), True

    def forward(self, a, axes, keepdims):
        self.a, self.axes, self.keepdims = a, axes, keepdims
        self.out = xp_of(a).sqrt((a * a).sum(axis=axes, keepdims=keepdims))
        return self.out

    def backward(self, grad):
        # d |a| = a . da / |a|; 0 at a = 0, as PyTorch (a subgradient)
        return _over_output(self, grad) * self.a


def _over_output(node, grad):
    """``grad / out`` of a root-of-a-sum node (Std, Norm2), the reduced axes put back; 0
    where ``out`` is 0."""
    out = _unreduce(node.out, node.axes, node.keepdims)
    with np.errstate(divide="ignore", invalid="ignore"):
        return xp_of(grad).where(out == 0, 0, _unreduce(grad, node.axes, node.keepdims) / out)


class CumSum(Function):
    saved_inputs = ()

    def forward(self, a, axis):
        self.axis = axis
        return xp_of(a).cumsum(a, axis=axis)

    def backward(self, grad):
        # out_j = sum_{i <= j} a_i, so d a_i collects grad_j for every j >= i
        xp = xp_of(grad)
        return xp.flip(xp.cumsum(xp.flip(grad, self.axis), axis=self.axis), self.axis)


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
    saved_inputs = ()  # keeps exp(a - max) and its sums, so backward needs no second exp

    def forward(self, a, axis):
        xp = xp_of(a)
        self.axis = axis
        out = a - a.max(axis=axis, keepdims=True)
        self.e = xp.exp(out)  # exp(a - max): s = e / total
        self.total = self.e.sum(axis=axis, keepdims=True)
        out -= xp.log(self.total)
        return out

    def backward(self, grad):
        # d log s_i = da_i - s_i sum_j da_j
        dx = self.e * (-grad.sum(axis=self.axis, keepdims=True) / self.total)
        dx += grad
        return dx


def numpy_names(dim, keepdim, axis, keepdims, op_name):
    """PyTorch's ``dim``/``keepdim`` or NumPy's ``axis``/``keepdims`` (one spelling, not both).
    Each keeps its meaning of an empty tuple: ``dim=()`` is every dim (PyTorch's), ``axis=()``
    none (NumPy's)."""
    if isinstance(dim, (tuple, list)) and not dim:
        dim = None
    if axis is not None:
        if dim is not None:
            raise TypeError(f"{op_name}: give dim or axis, not both")
        dim = axis
    return dim, keepdim if keepdims is None else keepdims


ValuesIndices = {name: namedtuple(name, ["values", "indices"])
                 for name in ("max", "min", "topk", "sort", "median", "mode", "kthvalue")}


def sum(a, dim=None, keepdim=False, *, dtype=None, axis=None, keepdims=None):
    dim, keepdim = numpy_names(dim, keepdim, axis, keepdims, "sum")
    a = a if dtype is None else astype(a, dtype)
    return Sum.apply(a, axes=normalize_axes(dim, a.ndim, "sum"), keepdims=keepdim)


def mean(a, dim=None, keepdim=False, *, dtype=None, axis=None, keepdims=None):
    dim, keepdim = numpy_names(dim, keepdim, axis, keepdims, "mean")
    a = a if dtype is None else astype(a, dtype)
    return Mean.apply(a, axes=normalize_axes(dim, a.ndim, "mean"), keepdims=keepdim)


def prod(a, dim=None, keepdim=False, *, dtype=None, axis=None, keepdims=None):
    """The product of the elements (all, or along ``dim``); bools and integers give int64."""
    dim, keepdim = numpy_names(dim, keepdim, axis, keepdims, "prod")
    if dtype is None and a.dtype.kind in "biu":
        dtype = dtypes.int64
    a = a if dtype is None else astype(a, dtype)
    return Prod.apply(a, axes=normalize_axes(dim, a.ndim, "prod"), keepdims=keepdim)


def _correction(dim, unbiased, correction, op_name):
    """PyTorch's ``var``/``std`` arguments: ``var(x, unbiased)``, ``var(x, dim, unbiased,
    keepdim)``, ``var(x, dim, correction=c)``; 1 (Bessel's) by default."""
    if isinstance(dim, bool):  # var(x, False): the old spelling of unbiased
        dim, unbiased = None, dim
    if unbiased is not None and correction is not None:
        raise TypeError(f"{op_name}: give unbiased or correction, not both")
    if correction is None:
        correction = 1 if unbiased is None or unbiased else 0
    return dim, correction


def var(a, dim=None, unbiased=None, keepdim=False, *, correction=None, axis=None,
        keepdims=None):
    """The variance: sum((a - mean)^2) / (N - correction), ``correction=1`` by default
    (``unbiased=False`` is ``correction=0``), over all elements or ``dim``."""
    dim, correction = _correction(dim, unbiased, correction, "var")
    dim, keepdim = numpy_names(dim, keepdim, axis, keepdims, "var")
    return Var.apply(a, axes=normalize_axes(dim, a.ndim, "var"), keepdims=keepdim,
                     correction=correction)


def std(a, dim=None, unbiased=None, keepdim=False, *, correction=None, axis=None,
        keepdims=None):
    """The standard deviation, ``sqrt(var(...))``, with ``var``'s arguments."""
    dim, correction = _correction(dim, unbiased, correction, "std")
    dim, keepdim = numpy_names(dim, keepdim, axis, keepdims, "std")
    return Std.apply(a, axes=normalize_axes(dim, a.ndim, "std"), keepdims=keepdim,
                     correction=correction)


def norm(a, p="fro", dim=None, keepdim=False, dtype=None, *, axis=None, keepdims=None):
    """The vector p-norm (sum |a|^p)^(1/p) over all elements or ``dim``: ``p`` = 2 or 'fro'
    (the default), inf (max |a|), -inf (min |a|), 0 (the count of nonzeros), any other number."""
    dim, keepdim = numpy_names(dim, keepdim, axis, keepdims, "norm")
    if a.dtype.kind != "f":
        raise TypeError(f"norm: needs a float tensor; got {a.dtype}")
    a = a if dtype is None else astype(a, dtype)
    axes = normalize_axes(dim, a.ndim, "norm")
    if p == "fro" and isinstance(dim, (tuple, list)) and len(dim) > 2:  # PyTorch's words
        raise RuntimeError(f"norm: p='fro' over dim must be a vector norm (one dim) or a "
                           f"matrix norm (a 2-tuple); got dim={tuple(dim)}")
    if p in ("fro", 2, 2.0):
        return Norm2.apply(a, axes=axes, keepdims=keepdim)
    if isinstance(p, str):
        raise NotImplementedError(f"norm: p={p!r} is not supported; use 'fro' or a number")
    if p == np.inf:
        return Max.apply(abs(a), axes=axes, keepdims=keepdim)
    if p == -np.inf:
        return Min.apply(abs(a), axes=axes, keepdims=keepdim)
    if p == 0:
        count = (a.array != 0).sum(axis=axes, keepdims=keepdim)
        return Tensor._make(xp_of(a.array).asarray(count, dtype=a.dtype), False, None, 0)
    return pow(Sum.apply(pow(abs(a), p), axes=axes, keepdims=keepdim), 1 / p)


def cumsum(a, dim=None, *, dtype=None, axis=None):
    """Running sums along ``dim``: ``out[i] = a[0] + ... + a[i]``; bools and integers
    give int64."""
    if dim is None and axis is None:
        raise TypeError("cumsum: give dim")
    dim = dim if axis is None else axis
    if dtype is None and a.dtype.kind in "biu":
        dtype = dtypes.int64
    a = a if dtype is None else astype(a, dtype)
    return CumSum.apply(a, axis=normalize_axes(dim, builtins.max(a.ndim, 1), "cumsum")[0])


def _truth(reduce, a, dim, keepdim, axis, keepdims, op_name):
    dim, keepdim = numpy_names(dim, keepdim, axis, keepdims, op_name)
    array = a.array if a.dtype.kind == "b" else a.array != 0
    out = getattr(array, reduce)(axis=normalize_axes(dim, a.ndim, op_name), keepdims=keepdim)
    return Tensor._make(xp_of(a.array).asarray(out), False, None, 0)


def any(a, dim=None, keepdim=False, *, axis=None, keepdims=None):
    """Whether any element (along ``dim``) is nonzero: a bool tensor, outside the graph."""
    return _truth("any", a, dim, keepdim, axis, keepdims, "any")


def all(a, dim=None, keepdim=False, *, axis=None, keepdims=None):
    """Whether every element (along ``dim``) is nonzero: a bool tensor, outside the graph."""
    return _truth("all", a, dim, keepdim, axis, keepdims, "all")


def _extreme(op, a, dim, keepdim, axis, keepdims):
    """max/min: over everything, over ``axis`` (NumPy: the values), or over ``dim``
    (PyTorch: the values and the indices, a named tuple, the gradient going to the element
    at the index); ``max(a, b)`` is ``maximum``."""
    name = op.pick
    if isinstance(dim, Tensor):
        return (maximum if name == "max" else minimum)(a, dim)
    if dim is None:
        dim, keepdim = numpy_names(dim, keepdim, axis, keepdims, name)
        return op.apply(a, axes=normalize_axes(dim, a.ndim, name), keepdims=keepdim)
    from engine.ops.index import gather  # index.py imports this module

    if isinstance(dim, (tuple, list)):
        raise TypeError(f"{name}: dim must be an int; for several dims use a{name}")
    dim, keepdim = numpy_names(dim, keepdim, axis, keepdims, name)
    dim = normalize_axes(dim, builtins.max(a.ndim, 1), name)[0]
    indices = (argmax if name == "max" else argmin)(a, dim, keepdim=True)
    values = gather(a, dim, indices)
    if not keepdim:
        values, indices = (t.squeeze(dim) for t in (values, indices))
    return ValuesIndices[name](values, indices)


def max(a, dim=None, keepdim=False, *, axis=None, keepdims=None):
    return _extreme(Max, a, dim, keepdim, axis, keepdims)


def min(a, dim=None, keepdim=False, *, axis=None, keepdims=None):
    return _extreme(Min, a, dim, keepdim, axis, keepdims)


def amax(a, dim=(), keepdim=False, *, axis=None, keepdims=None):
    """The largest elements over ``dim`` (an int or a tuple; () or None: all), ties sharing
    the gradient equally, as PyTorch's."""
    dim, keepdim = numpy_names(dim, keepdim, axis, keepdims, "amax")
    return Max.apply(a, axes=normalize_axes(dim, a.ndim, "amax"), keepdims=keepdim)


def amin(a, dim=(), keepdim=False, *, axis=None, keepdims=None):
    dim, keepdim = numpy_names(dim, keepdim, axis, keepdims, "amin")
    return Min.apply(a, axes=normalize_axes(dim, a.ndim, "amin"), keepdims=keepdim)


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
