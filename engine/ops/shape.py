"""Shape ops: Reshape Transpose BroadcastTo GetItem Concatenate Stack Split ToDevice.

Wrappers: reshape, transpose, permute (= transpose), swapaxes, squeeze,
unsqueeze, broadcast_to, getitem, concatenate, stack, split, chunk, to_device.
None of them computes anything; each backward routes the gradient back to
where the element came from.
"""

import numpy as np

from engine import backend
from engine.backend import xp_of
from engine.ops.reduce import normalize_axes
from engine.tensor import Function, Tensor


class Reshape(Function):
    def forward(self, a, shape):
        self.shape = a.shape
        return a.reshape(shape)

    def backward(self, grad):
        return grad.reshape(self.shape)


class Transpose(Function):
    def forward(self, a, axes):
        self.axes = axes
        return a.transpose(axes)

    def backward(self, grad):
        return grad.transpose(tuple(np.argsort(self.axes).tolist()))  # the inverse permutation


class BroadcastTo(Function):
    def forward(self, a, shape):
        return xp_of(a).broadcast_to(a, shape)

    def backward(self, grad):
        return grad  # Tensor.backward sums over the broadcast axes


def _picks_once(index):
    """True when ``index`` holds no integer array, so that no element is picked twice."""
    parts = index if isinstance(index, tuple) else (index,)
    return all(p.dtype.kind == "b" for p in parts if hasattr(p, "dtype"))


class GetItem(Function):
    def forward(self, a, index):
        self.shape, self.dtype, self.index = a.shape, a.dtype, index
        return a[index]

    def backward(self, grad):
        full = xp_of(grad).zeros(self.shape, dtype=self.dtype)
        if _picks_once(self.index):
            full[self.index] = grad
        else:  # integer arrays may repeat an element: every pick adds its gradient
            backend.scatter_add(full, self.index, grad)
        return full


class Concatenate(Function):
    def forward(self, *arrays, axis):
        self.axis = axis
        self.ends = np.cumsum([a.shape[axis] for a in arrays])
        return xp_of(arrays[0]).concatenate(arrays, axis=axis)

    def backward(self, grad):
        starts = [0, *self.ends[:-1]]
        lead = (slice(None),) * self.axis
        return tuple(grad[(*lead, slice(s, e))] for s, e in zip(starts, self.ends))


class Stack(Function):
    def forward(self, *arrays, axis):
        self.axis, self.count = axis, len(arrays)
        return xp_of(arrays[0]).stack(arrays, axis=axis)

    def backward(self, grad):
        lead = (slice(None),) * self.axis
        return tuple(grad[(*lead, i)] for i in range(self.count))


class Split(Function):
    """One input, one output per piece: the pieces' gradients are concatenated back."""

    def forward(self, a, sizes, axis):
        self.axis = axis
        lead = (slice(None),) * axis
        ends = np.cumsum(sizes)
        return tuple(a[(*lead, slice(end - size, end))] for size, end in zip(sizes, ends))

    def backward(self, *grads):
        return xp_of(grads[0]).concatenate(grads, axis=self.axis)


class ToDevice(Function):
    def forward(self, a, device):
        self.source = backend.device_of(a)
        return backend.to_device(a, device)

    def backward(self, grad):
        return backend.to_device(grad, self.source)


# ---------------------------------------------------------------- wrappers


def _axis(axis, ndim, op_name):
    """One axis (an int, negatives allowed), checked against ``ndim``."""
    if not isinstance(axis, (int, np.integer)):
        raise TypeError(f"{op_name}: axis must be an int; got {axis!r}")
    return normalize_axes(axis, ndim, op_name)[0]


def reshape(a, shape):
    shape = (shape,) if isinstance(shape, int) else tuple(shape)
    return Reshape.apply(a, shape=shape)


def transpose(a, axes=None):
    """Permute the axes (reverse them when ``axes`` is None)."""
    axes = tuple(range(a.ndim))[::-1] if axes is None else tuple(axes)
    in_range = all(-a.ndim <= x < a.ndim for x in axes)
    if not in_range or sorted(x % a.ndim for x in axes) != list(range(a.ndim)):
        raise ValueError(
            f"transpose: axes {axes} are not a permutation of the axes of shape {a.shape}"
        )
    return Transpose.apply(a, axes=tuple(x % a.ndim for x in axes))


permute = transpose


def swapaxes(a, axis1, axis2):
    axes = list(range(a.ndim))
    i, j = _axis(axis1, a.ndim, "swapaxes"), _axis(axis2, a.ndim, "swapaxes")
    axes[i], axes[j] = axes[j], axes[i]
    return Transpose.apply(a, axes=tuple(axes))


def broadcast_to(a, shape):
    return BroadcastTo.apply(a, shape=tuple(shape))


def squeeze(a, axis=None):
    """Remove size-1 axes (all of them, or the given one(s), which must have size 1)."""
    if axis is None:
        axes = [i for i, n in enumerate(a.shape) if n == 1]
    else:
        axes = normalize_axes(axis, a.ndim, "squeeze", shape=a.shape)
        for x in axes:
            if a.shape[x] != 1:
                raise ValueError(
                    f"squeeze: axis {x} of shape {a.shape} has size {a.shape[x]}, not 1"
                )
    return Reshape.apply(a, shape=tuple(n for i, n in enumerate(a.shape) if i not in axes))


def unsqueeze(a, axis):
    """Insert a size-1 axis at ``axis`` (negative counts from the end of the result)."""
    axis = _axis(axis, a.ndim + 1, "unsqueeze")
    return Reshape.apply(a, shape=(*a.shape[:axis], 1, *a.shape[axis:]))


def _index_arrays(index, data):
    """Tensors in an index become arrays on the data's device."""
    def convert(part):
        if isinstance(part, Tensor):
            part = part.data
        if isinstance(part, list) or backend.is_array(part):
            if isinstance(part, list):  # [] would be float64: an empty pick is an int one
                part = np.asarray(part) if part else np.zeros(0, dtype=np.intp)
            return backend.to_device(part, backend.device_of(data))
        return part

    return tuple(convert(p) for p in index) if isinstance(index, tuple) else convert(index)


def getitem(a, index):
    """``a[index]`` with ints, slices, None, ..., integer arrays and bool masks."""
    return GetItem.apply(a, index=_index_arrays(index, a.data))


def concatenate(tensors, axis=0):
    tensors = list(tensors)
    if not tensors:
        raise ValueError("concatenate: needs at least one tensor")
    return Concatenate.apply(*tensors, axis=_axis(axis, tensors[0].ndim, "concatenate"))


def stack(tensors, axis=0):
    tensors = list(tensors)
    if not tensors:
        raise ValueError("stack: needs at least one tensor")
    shapes = {t.shape for t in tensors}
    if len(shapes) > 1:
        raise ValueError(f"stack: all tensors need one shape; got {[t.shape for t in tensors]}")
    return Stack.apply(*tensors, axis=_axis(axis, tensors[0].ndim + 1, "stack"))


def split(a, split_size_or_sections, axis=0):
    """Pieces along ``axis``, as PyTorch: an int is the size of each piece (the last
    may be smaller), a list gives every piece's size and must add up to the axis."""
    axis = _axis(axis, a.ndim, "split")
    length = a.shape[axis]
    if isinstance(split_size_or_sections, int):
        size = split_size_or_sections
        if size <= 0:
            raise ValueError(f"split: piece size must be positive; got {size}")
        sizes = [min(size, length - start) for start in range(0, length, size)]
    else:
        sizes = [int(s) for s in split_size_or_sections]
        if sum(sizes) != length or min(sizes, default=0) < 0:
            raise ValueError(
                f"split: sizes {sizes} do not add up to axis {axis} of shape {a.shape}"
            )
    return Split.apply(a, sizes=sizes, axis=axis)


def chunk(a, chunks, axis=0):
    """``chunks`` pieces of equal size (the last may be smaller), as torch.chunk."""
    length = a.shape[_axis(axis, a.ndim, "chunk")]
    return split(a, max(-(-length // chunks), 1), axis)


def to_device(a, device):
    """A copy of ``a`` on ``device``; the gradient is copied back."""
    if backend.parse_device(device) == a.device:
        return a
    return ToDevice.apply(a, device=device)
