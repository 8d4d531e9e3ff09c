"""Picking elements by index tensors, and the sorts that produce such indices.

Picks:    gather index_select masked_select take_along_dim repeat_interleave: each an
          index (integer arrays, or a mask) handed to GetItem, whose backward adds the
          gradient back where each element came from (repeats accumulating)
Scatters: scatter (SetItem on the positions) scatter_add (ScatterAdd) index_add
Sorts:    sort argsort topk kthvalue median (values and indices; the gradient flows
          through the values, to the elements they were taken from)

``along(index, dim)`` is the one idea: the NumPy index that reads ``index[i, j, k]`` along
``dim`` and position ``(i, j, k)`` along every other dimension, PyTorch's gather rule.
"""

import numpy as np

from engine import backend
from engine.backend import xp_of
from engine.ops.reduce import ValuesIndices, normalize_axes
from engine.ops.shape import GetItem, SetItem, getitem, reshape
from engine.tensor import Function, Tensor


def along(index, dim):
    """The NumPy index (a tuple of broadcasting arrays) of ``out[i, j, k] = a[i, index[i, j, k],
    k]`` (for ``dim=1``): ``index`` along ``dim``, the position itself along the others."""
    xp = xp_of(index)
    shape = index.shape
    return tuple(
        index if d == dim else xp.arange(n).reshape([n if e == d else 1 for e in range(len(shape))])
        for d, n in enumerate(shape)
    )


def _dim(dim, ndim, op_name):
    if isinstance(dim, bool) or not isinstance(dim, (int, np.integer)):
        raise TypeError(f"{op_name}: dim must be an int; got {dim!r}")
    return normalize_axes(int(dim), max(ndim, 1), op_name)[0]


def _index_array(index, op_name, device):
    """An int64 array from an integer Tensor (or array, or list)."""
    array = index.array if isinstance(index, Tensor) else backend.as_array(index)
    if array.dtype.kind not in "iu":
        raise TypeError(f"{op_name}: index must be an integer tensor; got {array.dtype}")
    return backend.to_device(array.astype(np.int64, copy=False), device)


def _in_bounds(index, size, dim, op_name):
    """PyTorch's check: every index in [0, size) (NumPy would wrap negatives around)."""
    if not index.size:
        return
    low, high = int(index.min()), int(index.max())
    if low < 0 or high >= size:
        bad = low if low < 0 else high
        raise IndexError(f"{op_name}: index {bad} is out of bounds for dimension {dim} with "
                         f"size {size}")


def _gather_index(a, dim, index, op_name):
    """The index's shape and ``along(index, dim)``, the index checked as PyTorch checks
    gather's and scatter's: as many dims as ``a``, no larger except along ``dim``, in bounds."""
    dim = _dim(dim, a.ndim, op_name)
    index = _index_array(index, op_name, a.device)
    if index.ndim != a.ndim:
        raise ValueError(f"{op_name}: index must have as many dimensions as the input; got "
                         f"index of shape {index.shape} for input of shape {a.shape}")
    for d, (n, m) in enumerate(zip(index.shape, a.shape)):
        if d != dim and n > m:
            raise ValueError(f"{op_name}: index of shape {index.shape} is larger than input of "
                             f"shape {a.shape} at dimension {d}")
    _in_bounds(index, a.shape[dim], dim, op_name)
    return index.shape, along(index, dim)


# ---------------------------------------------------------------- picks


def gather(input, dim, index, *, sparse_grad=False):
    """``out[i][j][k] = input[i][index[i][j][k]][k]`` (for ``dim=1``): ``out`` has ``index``'s
    shape, which may be smaller than ``input``'s except along ``dim``.

    >>> gather(Tensor([[1, 2], [3, 4]]), 1, Tensor([[1, 1], [0, 1]]))
    tensor([[2, 2],
            [3, 4]])
    """
    return GetItem.apply(input, index=_gather_index(input, dim, index, "gather")[1])


def take_along_dim(input, indices, dim):
    """NumPy's ``take_along_axis``: ``gather``, ``indices`` broadcasting against ``input``."""
    dim = _dim(dim, input.ndim, "take_along_dim")
    indices = _index_array(indices, "take_along_dim", input.device)
    shape = list(np.broadcast_shapes(input.shape[:dim] + input.shape[dim + 1:],
                                     indices.shape[:dim] + indices.shape[dim + 1:]))
    xp = xp_of(indices)
    indices = xp.broadcast_to(indices, (*shape[:dim], indices.shape[dim], *shape[dim:]))
    input = input.broadcast_to((*shape[:dim], input.shape[dim], *shape[dim:]))
    return gather(input, dim, indices)


def index_select(input, dim, index):
    """The slices ``index`` (a 1-D integer tensor; repeats allowed) along ``dim``."""
    dim = _dim(dim, input.ndim, "index_select")
    index = _index_array(index, "index_select", input.device)
    if index.ndim > 1:
        raise IndexError(f"index_select: index must be a vector (0-d or 1-D); got shape "
                         f"{index.shape}")
    index = index.reshape(-1)
    if input.ndim == 0:
        input = reshape(input, (1,))
    _in_bounds(index, input.shape[dim], dim, "index_select")
    return GetItem.apply(input, index=(slice(None),) * dim + (index,))


def masked_select(input, mask):
    """The elements where the bool ``mask`` (broadcast against ``input``) is true, as 1-D."""
    if not isinstance(mask, Tensor) or mask.dtype != np.bool_:
        raise TypeError(f"masked_select: mask must be a bool tensor; got "
                        f"{mask.dtype if isinstance(mask, Tensor) else type(mask).__name__}")
    shape = np.broadcast_shapes(input.shape, mask.shape)
    mask = xp_of(mask.array).broadcast_to(mask.array, shape)
    return getitem(input if input.shape == shape else input.broadcast_to(shape), mask)


def repeat_interleave(input, repeats, dim=None, *, output_size=None):
    """Each slice along ``dim`` repeated ``repeats`` times (an int, or one count per slice);
    ``dim=None`` works on the flattened tensor."""
    if dim is None:
        input, dim = reshape(input, (-1,)), 0
    dim = _dim(dim, input.ndim, "repeat_interleave")
    counts = repeats.array if isinstance(repeats, Tensor) else repeats
    counts = backend.to_numpy(backend.as_array(counts)).reshape(-1)
    length = input.shape[dim]
    if counts.size not in (1, length) or (counts < 0).any():
        raise ValueError(f"repeat_interleave: repeats must be one count or {length} "
                         f"non-negative counts; got {counts.tolist()}")
    index = np.repeat(np.arange(length), counts if counts.size == length else int(counts[0]))
    return index_select(input, dim, backend.to_device(index, input.device))


# ---------------------------------------------------------------- scatters


class ScatterAdd(Function):
    """``a`` with ``src`` added at ``index`` (a NumPy index; repeated positions add up)."""

    saved_inputs = ()

    def forward(self, a, src, index):
        self.index = index
        out = a.copy()
        backend.scatter_add(out, index, src)
        return out

    def backward(self, grad):
        return grad, grad[self.index]  # d out = da + (dsrc put at index)


def _source(src, index_shape, like, op_name):
    """The part of ``src`` (a tensor at least ``index_shape`` big, or a number) that a
    scatter reads: ``src[:n0, :n1, ...]``, in ``like``'s dtype."""
    if not isinstance(src, Tensor):
        xp = xp_of(like.array)
        return Tensor._make(xp.full(index_shape, src, dtype=like.dtype), False, None, 0)
    if src.ndim != len(index_shape) or any(n > m for n, m in zip(index_shape, src.shape)):
        raise ValueError(f"{op_name}: src of shape {src.shape} is smaller than index of shape "
                         f"{index_shape}")
    part = src if src.shape == index_shape else src[tuple(slice(0, n) for n in index_shape)]
    return part.astype(like.dtype)


def scatter(input, dim, index, src=None, *, value=None, reduce=None):
    """``input`` with ``out[i][index[i][j][k]][k] = src[i][j][k]`` (for ``dim=1``); ``src``
    may be a number (or give ``value=``). Where index repeats a position, one write wins."""
    if reduce is not None:
        if reduce != "add":
            raise NotImplementedError(f"scatter: reduce={reduce!r} is not supported; "
                                      "reduce='add' is scatter_add")
        return scatter_add(input, dim, index, src)
    src = value if src is None else src
    index_shape, positions = _gather_index(input, dim, index, "scatter")
    return SetItem.apply(input, _source(src, index_shape, input, "scatter"), index=positions)


def scatter_add(input, dim, index, src):
    """``input`` with ``out[i][index[i][j][k]][k] += src[i][j][k]`` (for ``dim=1``), repeated
    positions adding up."""
    index_shape, positions = _gather_index(input, dim, index, "scatter_add")
    return ScatterAdd.apply(input, _source(src, index_shape, input, "scatter_add"),
                            index=positions)


def index_add(input, dim, index, source, *, alpha=1):
    """``input`` with ``alpha * source``'s slices added at the slices ``index`` along ``dim``
    (repeats adding up)."""
    dim = _dim(dim, input.ndim, "index_add")
    index = _index_array(index, "index_add", input.device).reshape(-1)
    _in_bounds(index, input.shape[dim], dim, "index_add")
    source = source if alpha == 1 else source * alpha
    return ScatterAdd.apply(input, source.astype(input.dtype),
                            index=(slice(None),) * dim + (index,))


# ---------------------------------------------------------------- sorts


def _order(array, axis, descending):
    """Indices that sort ``array`` along ``axis``, stably (equal elements keep their order;
    nan last ascending and first descending, as PyTorch)."""
    xp = xp_of(array)
    if not descending:
        return xp.argsort(array, axis=axis, kind="stable")
    # a stable ascending sort of the reversed array, read backwards, is a stable descending one
    last = array.shape[axis] - 1
    return last - xp.flip(xp.argsort(xp.flip(array, axis), axis=axis, kind="stable"), axis)


def _with_values(name, input, dim, order):
    indices = Tensor._make(order, False, None, 0)
    return ValuesIndices[name](gather(input, dim, indices), indices)


def sort(input, dim=-1, descending=False, stable=False):
    """``(values, indices)`` sorted along ``dim``; always stable here (``stable`` is
    accepted: PyTorch's unstable sort may order ties either way)."""
    if input.ndim == 0:
        return ValuesIndices["sort"](input, Tensor._make(xp_of(input.array).zeros((), np.int64),
                                                         False, None, 0))
    dim = _dim(dim, input.ndim, "sort")
    return _with_values("sort", input, dim, _order(input.array, dim, descending))


def argsort(input, dim=-1, descending=False, stable=False):
    dim = _dim(dim, input.ndim, "argsort")
    return Tensor._make(_order(input.array, dim, descending), False, None, 0)


def topk(input, k, dim=-1, largest=True, sorted=True):
    """The ``k`` largest (``largest=False``: smallest) elements along ``dim`` and their
    indices, largest first (smallest first); always in order here.

    >>> topk(Tensor([1.0, 3.0, 2.0]), 2)
    topk(values=tensor([3., 2.]), indices=tensor([1, 2]))
    """
    dim = _dim(dim, input.ndim, "topk")
    length = input.shape[dim] if input.ndim else 1
    if not 0 <= k <= length:
        raise IndexError(f"topk: k={k} is out of range for dimension {dim} of size {length}")
    order = _order(input.array, dim, descending=largest)
    first = (slice(None),) * dim + (slice(0, k),)
    return _with_values("topk", input, dim, order[first])


def kthvalue(input, k, dim=-1, keepdim=False):
    """The ``k``-th smallest element along ``dim`` (k from 1) and its index."""
    dim = _dim(dim, input.ndim, "kthvalue")
    if not 1 <= k <= input.shape[dim]:
        raise IndexError(f"kthvalue: k={k} is out of range for dimension {dim} of size "
                         f"{input.shape[dim]}")
    order = _order(input.array, dim, descending=False)
    picked = order[(slice(None),) * dim + (slice(k - 1, k),)]
    values, indices = _with_values("kthvalue", input, dim, picked)
    if not keepdim:
        values, indices = values.squeeze(dim), indices.squeeze(dim)
    return ValuesIndices["kthvalue"](values, indices)


def median(input, dim=None, keepdim=False):
    """The lower median (the ``(n - 1) // 2``-th smallest): of all elements (a 0-d tensor),
    or along ``dim`` as ``(values, indices)``."""
    if dim is None:
        flat = reshape(input, (-1,))
        return kthvalue(flat, (flat.shape[0] + 1) // 2, 0).values
    dim = _dim(dim, input.ndim, "median")
    values, indices = kthvalue(input, (input.shape[dim] + 1) // 2, dim, keepdim)
    return ValuesIndices["median"](values, indices)
