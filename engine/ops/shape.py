"""Shape ops: Reshape Transpose BroadcastTo GetItem SetItem Concatenate Stack Split Unbind
ToDevice.

Wrappers: reshape, transpose, permute (= transpose), swapaxes, squeeze,
unsqueeze, broadcast_to, getitem, set_item, concatenate, stack, split, chunk,
unbind, to_device. Axes are PyTorch's ``dim`` or NumPy's ``axis``.
None of them computes anything; each backward routes the gradient back to
where the element came from.
"""

import numpy as np

from engine import backend
from engine.backend import xp_of
from engine.ops.reduce import normalize_axes
from engine.tensor import Function, Tensor


class Reshape(Function):
    saved_inputs, view = (), True

    def forward(self, a, shape):
        self.shape = a.shape
        return a.reshape(shape)

    def backward(self, grad):
        return grad.reshape(self.shape)


class Transpose(Function):
    saved_inputs, view = (), True

    def forward(self, a, axes):
        self.axes = axes
        return a.transpose(axes)

    def backward(self, grad):
        return grad.transpose(tuple(np.argsort(self.axes).tolist()))  # the inverse permutation


class BroadcastTo(Function):
    saved_inputs, view = (), True

    def forward(self, a, shape):
        return xp_of(a).broadcast_to(a, shape)

    def backward(self, grad):
        return grad  # Tensor.backward sums over the broadcast axes


def _picks_once(index):
    """True when ``index`` holds no integer array, so that no element is picked twice."""
    parts = index if isinstance(index, tuple) else (index,)
    return all(p.dtype.kind == "b" for p in parts if hasattr(p, "dtype"))


def _is_basic(index):
    """True when ``index`` holds only ints, slices, None and ...: NumPy then returns a view."""
    parts = index if isinstance(index, tuple) else (index,)
    return not any(hasattr(p, "dtype") or isinstance(p, (list, tuple)) for p in parts)


class GetItem(Function):
    saved_inputs, view = (), True  # a view for basic indexing; forward says which

    def forward(self, a, index):
        self.shape, self.dtype, self.index = a.shape, a.dtype, index
        self.view = _is_basic(index)  # arrays in the index: NumPy copies
        return a[index]

    def backward(self, grad):
        full = xp_of(grad).zeros(self.shape, dtype=self.dtype)
        if _picks_once(self.index):
            full[self.index] = grad
        else:  # integer arrays may repeat an element: every pick adds its gradient
            backend.scatter_add(full, self.index, grad)
        return full


class Concatenate(Function):
    saved_inputs = ()

    def forward(self, *arrays, axis):
        self.axis = axis
        self.ends = np.cumsum([a.shape[axis] for a in arrays])
        return xp_of(arrays[0]).concatenate(arrays, axis=axis)

    def backward(self, grad):
        starts = [0, *self.ends[:-1]]
        lead = (slice(None),) * self.axis
        return tuple(grad[(*lead, slice(s, e))] for s, e in zip(starts, self.ends))


class Stack(Function):
    saved_inputs = ()

    def forward(self, *arrays, axis):
        self.axis, self.count = axis, len(arrays)
        return xp_of(arrays[0]).stack(arrays, axis=axis)

    def backward(self, grad):
        lead = (slice(None),) * self.axis
        return tuple(grad[(*lead, i)] for i in range(self.count))


class Split(Function):
    """One input, one output per piece: the pieces' gradients are concatenated back."""

    saved_inputs, view = (), True

    def forward(self, a, sizes, axis):
        self.axis = axis
        lead = (slice(None),) * axis
        ends = np.cumsum(sizes)
        return tuple(a[(*lead, slice(end - size, end))] for size, end in zip(sizes, ends))

    def backward(self, *grads):
        return xp_of(grads[0]).concatenate(grads, axis=self.axis)


class Unbind(Function):
    """One input, one output per index along ``axis`` (that axis dropped): the pieces'
    gradients are stacked back."""

    saved_inputs, view = (), True

    def forward(self, a, axis):
        self.axis = axis
        lead = (slice(None),) * axis
        return tuple(a[(*lead, i)] for i in range(a.shape[axis]))

    def backward(self, *grads):
        return xp_of(grads[0]).stack(grads, axis=self.axis)


class SetItem(Function):
    """``a`` with ``a[index] = v``, out of place: the in-place ``t[index] = v`` records it."""

    saved_inputs = ()

    def forward(self, a, v, index):
        self.index, self.v_shape = index, v.shape
        out = a.copy()
        out[index] = v
        return out

    def backward(self, grad):
        grad_a = grad.copy()
        grad_a[self.index] = 0  # the overwritten elements do not reach a
        grad_v = grad[self.index]
        if grad_v.ndim < len(self.v_shape):  # NumPy drops leading 1s of v when assigning
            grad_v = grad_v.reshape((1,) * (len(self.v_shape) - grad_v.ndim) + grad_v.shape)
        return grad_a, grad_v


class ToDevice(Function):
    saved_inputs = ()

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


def squeeze(a, dim=None, *, axis=None):
    """Remove size-1 axes: all of them, or those of ``dim`` (an int or a tuple) that have
    size 1 (PyTorch leaves the others; NumPy's ``axis=`` insists they have size 1)."""
    strict = axis is not None
    dim = _one_of(dim, axis, "squeeze")
    if dim is None:
        axes = [i for i, n in enumerate(a.shape) if n == 1]
    else:
        axes = normalize_axes(dim, a.ndim, "squeeze", shape=a.shape)
        wrong = [x for x in axes if a.shape[x] != 1]
        if strict and wrong:
            raise ValueError(
                f"squeeze: axis {wrong[0]} of shape {a.shape} has size {a.shape[wrong[0]]}, not 1"
            )
        axes = [x for x in axes if a.shape[x] == 1]
    return Reshape.apply(a, shape=tuple(n for i, n in enumerate(a.shape) if i not in axes))


def unsqueeze(a, dim=None, *, axis=None):
    """Insert a size-1 axis at ``dim`` (negative counts from the end of the result)."""
    dim = _axis(_one_of(dim, axis, "unsqueeze"), a.ndim + 1, "unsqueeze")
    return Reshape.apply(a, shape=(*a.shape[:dim], 1, *a.shape[dim:]))


def _one_of(dim, axis, op_name, default=None):
    """PyTorch's ``dim`` or NumPy's ``axis``, whichever was given (not both), else ``default``."""
    if axis is None:
        return default if dim is None else dim
    if dim is not None:
        raise TypeError(f"{op_name}: give dim or axis, not both")
    return axis


def index_arrays(index, data):
    """Tensors in an index become arrays on the data's device."""
    def convert(part):
        if isinstance(part, Tensor):
            part = part.array
        if isinstance(part, list) or backend.is_array(part):
            if isinstance(part, list):  # [] would be float64: an empty pick is an int one
                part = np.asarray(part) if part else np.zeros(0, dtype=np.intp)
            return backend.to_device(part, backend.device_of(data))
        return part

    return tuple(convert(p) for p in index) if isinstance(index, tuple) else convert(index)


def getitem(a, index):
    """``a[index]`` with ints, slices, None, ..., integer arrays and bool masks."""
    return GetItem.apply(a, index=index_arrays(index, a.array))


def concatenate(tensors, dim=None, *, axis=None):
    """The tensors joined along ``dim`` (default 0)."""
    tensors = list(tensors)
    if not tensors:
        raise ValueError("concatenate: needs at least one tensor")
    dim = _axis(_one_of(dim, axis, "concatenate", 0), tensors[0].ndim, "concatenate")
    return Concatenate.apply(*tensors, axis=dim)


def stack(tensors, dim=None, *, axis=None):
    """The tensors (of one shape) stacked along a new axis ``dim`` (default 0)."""
    tensors = list(tensors)
    if not tensors:
        raise ValueError("stack: needs at least one tensor")
    shapes = {t.shape for t in tensors}
    if len(shapes) > 1:
        raise ValueError(f"stack: all tensors need one shape; got {[t.shape for t in tensors]}")
    dim = _axis(_one_of(dim, axis, "stack", 0), tensors[0].ndim + 1, "stack")
    return Stack.apply(*tensors, axis=dim)


def split(a, split_size_or_sections, dim=None, *, axis=None):
    """Pieces along ``dim``, as PyTorch: an int is the size of each piece (the last
    may be smaller), a list gives every piece's size and must add up to the axis."""
    dim = _axis(_one_of(dim, axis, "split", 0), a.ndim, "split")
    length = a.shape[dim]
    if isinstance(split_size_or_sections, (int, np.integer)):
        size = int(split_size_or_sections)
        if size <= 0:
            raise ValueError(f"split: piece size must be positive; got {size}")
        sizes = [min(size, length - start) for start in range(0, length, size)]
    else:
        sizes = [int(s) for s in split_size_or_sections]
        if sum(sizes) != length or min(sizes, default=0) < 0:
            raise ValueError(
                f"split: sizes {sizes} do not add up to dim {dim} of shape {a.shape}"
            )
    return Split.apply(a, sizes=sizes, axis=dim)


def chunk(a, chunks, dim=None, *, axis=None):
    """``chunks`` pieces of equal size (the last may be smaller), as torch.chunk."""
    dim = _axis(_one_of(dim, axis, "chunk", 0), a.ndim, "chunk")
    if isinstance(chunks, bool) or not isinstance(chunks, (int, np.integer)) or chunks < 1:
        raise ValueError(f"chunk: chunks must be a positive int; got {chunks!r}")
    return split(a, max(-(-a.shape[dim] // chunks), 1), dim)


def unbind(a, dim=0):
    """The slices along ``dim``, that axis removed: ``unbind(x)[i] == x[i]``."""
    return Unbind.apply(a, axis=_axis(dim, a.ndim, "unbind"))


def set_item(a, index, value):
    """``a`` with ``a[index] = value`` (a Tensor, array or number, cast to ``a``'s dtype), out of
    place, the gradient reaching ``value``: what the in-place ``a[index] = value`` records."""
    if not isinstance(value, Tensor):
        value = Tensor(backend.as_array(value))
    value = value.to(a.device).astype(a.dtype)
    return SetItem.apply(a, value, index=index_arrays(index, a.array))


def to_device(a, device):
    """A copy of ``a`` on ``device``; the gradient is copied back."""
    if backend.parse_device(device) == a.device:
        return a
    return ToDevice.apply(a, device=device)
