"""Shape ops: Reshape Transpose BroadcastTo GetItem SetItem Concatenate Stack Split Unbind
Repeat Flip Roll ToDevice.

Wrappers: reshape, flatten, unflatten, transpose, permute, swapaxes (= swapdims), movedim,
squeeze, unsqueeze, broadcast_to, expand, expand_as, repeat, narrow, getitem, set_item,
concatenate (= cat, concat), stack, hstack, vstack, split, chunk, unbind, flip, roll,
to_device. Axes are PyTorch's ``dim`` or NumPy's ``axis``.
None of them computes anything; each backward routes the gradient back to
where the element came from.
"""

import numpy as np

from engine import backend
from engine.backend import xp_of
from engine.ops.reduce import normalize_axes
from engine.tensor import Function, Tensor, _one_tuple


class Reshape(Function):
    saved_inputs, view = (), True  # a view unless NumPy had to copy; forward says which

    def forward(self, a, shape):
        self.shape = a.shape
        out = a.reshape(shape)
        self.view = out.base is a or (out.base is not None and out.base is a.base)
        return out

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
    return all(p.dtype.kind == "b" for p in _parts(index) if hasattr(p, "dtype"))


def _parts(index):
    return index if isinstance(index, tuple) else (index,)


def _is_basic(index):
    """True when ``index`` holds only ints, slices, None and ...: NumPy then returns a view."""
    return not any(hasattr(p, "dtype") or isinstance(p, (list, tuple)) for p in _parts(index))


class GetItem(Function):
    saved_inputs, view = (), True  # a view for basic indexing; forward says which

    def forward(self, a, index):
        self.view = _is_basic(index)  # arrays in the index: NumPy copies
        if self.view and not any(p is Ellipsis for p in _parts(index)):
            index = (*_parts(index), Ellipsis)  # x[0] of a vector: a 0-d view, not a copy
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
        return tuple(a[(*lead, i, ...)] for i in range(a.shape[axis]))  # ...: 0-d views too

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


class Repeat(Function):
    """NumPy's ``tile``: ``a`` laid out ``reps[d]`` times along each dimension ``d`` (``a``
    has one dimension per count)."""

    saved_inputs = ()

    def forward(self, a, reps):
        self.shape, self.reps = a.shape, reps
        return xp_of(a).tile(a, reps)

    def backward(self, grad):
        # each output axis is (copies, size): every copy contributes, so sum over the copies
        pairs = [n for pair in zip(self.reps, self.shape) for n in pair]
        return grad.reshape(pairs).sum(axis=tuple(range(0, len(pairs), 2)))


class Flip(Function):
    saved_inputs = ()

    def forward(self, a, axes):
        self.axes = axes
        return xp_of(a).flip(a, axes).copy()  # a copy, as PyTorch's: NumPy's is a view

    def backward(self, grad):
        return xp_of(grad).flip(grad, self.axes)


class Roll(Function):
    saved_inputs = ()

    def forward(self, a, shifts, axes):
        self.shifts, self.axes = shifts, axes
        return xp_of(a).roll(a, shifts, axes)

    def backward(self, grad):
        negated = tuple(-n for n in self.shifts) if isinstance(self.shifts, tuple) else -self.shifts
        return xp_of(grad).roll(grad, negated, self.axes)


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


def transpose(a, *dims):
    """PyTorch's ``transpose(a, dim0, dim1)`` (two dims swapped), or NumPy's ``transpose(a)``
    (all reversed) and ``transpose(a, axes)`` (a permutation)."""
    if len(dims) == 2 and all(isinstance(d, (int, np.integer)) for d in dims):
        return swapaxes(a, *dims)
    if len(dims) > 1:
        raise TypeError(f"transpose: give two dims to swap, or one permutation; got {dims}")
    return permute(a, tuple(range(a.ndim))[::-1] if not dims or dims[0] is None else dims[0])


def permute(a, *dims):
    """The axes in the order ``dims`` (a permutation: ``permute(a, 1, 0, 2)`` or
    ``permute(a, (1, 0, 2))``)."""
    axes = _one_tuple(dims)
    in_range = all(-a.ndim <= x < a.ndim for x in axes)
    if not in_range or sorted(x % a.ndim for x in axes) != list(range(a.ndim)):
        raise ValueError(
            f"permute: axes {axes} are not a permutation of the axes of shape {a.shape}"
        )
    return Transpose.apply(a, axes=tuple(x % a.ndim for x in axes))


def swapaxes(a, axis1, axis2):
    axes = list(range(a.ndim))
    i, j = _axis(axis1, a.ndim, "swapaxes"), _axis(axis2, a.ndim, "swapaxes")
    axes[i], axes[j] = axes[j], axes[i]
    return Transpose.apply(a, axes=tuple(axes))


swapdims = swapaxes


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


def flatten(a, start_dim=0, end_dim=-1):
    """The dimensions ``start_dim`` to ``end_dim`` (both included) merged into one; a 0-d
    tensor becomes 1-D, as in PyTorch."""
    ndim = max(a.ndim, 1)
    start, end = (_axis(d, ndim, "flatten") for d in (start_dim, end_dim))
    if start > end:
        raise ValueError(f"flatten: start_dim {start_dim} comes after end_dim {end_dim}")
    shape = a.shape if a.ndim else (1,)
    merged = int(np.prod(shape[start:end + 1], dtype=np.int64))
    return Reshape.apply(a, shape=(*shape[:start], merged, *shape[end + 1:]))


def unflatten(a, dim, sizes):
    """Dimension ``dim`` split into ``sizes`` (one of them may be -1)."""
    dim = _axis(dim, a.ndim, "unflatten")
    sizes = tuple(int(n) for n in sizes)
    known, length = int(np.prod([n for n in sizes if n != -1], dtype=np.int64)), a.shape[dim]
    if -1 in sizes:
        fits = sizes.count(-1) == 1 and known > 0 and length % known == 0
    else:
        fits = known == length
    if not fits:
        raise ValueError(f"unflatten: sizes {list(sizes)} don't multiply up to the size of dim "
                         f"{dim} ({length}) of shape {a.shape}")
    sizes = tuple(a.shape[dim] // known if n == -1 else n for n in sizes)
    return Reshape.apply(a, shape=(*a.shape[:dim], *sizes, *a.shape[dim + 1:]))


def movedim(a, source, destination):
    """Dimensions ``source`` (an int or a tuple) moved to ``destination``, the others keeping
    their order (NumPy's ``moveaxis``)."""
    source = [source] if isinstance(source, (int, np.integer)) else list(source)
    destination = [destination] if isinstance(destination, (int, np.integer)) else list(destination)
    if len(source) != len(destination):
        raise ValueError(f"movedim: source {source} and destination {destination} must have "
                         "the same number of dimensions")
    source = [_axis(d, a.ndim, "movedim") for d in source]
    destination = [_axis(d, a.ndim, "movedim") for d in destination]
    if len(set(source)) != len(source) or len(set(destination)) != len(destination):
        raise ValueError(f"movedim: repeated dim in {source} or {destination}")
    order = [d for d in range(a.ndim) if d not in source]
    for to, frm in sorted(zip(destination, source)):
        order.insert(to, frm)
    return Transpose.apply(a, axes=tuple(order))


moveaxis = movedim


def expand(a, *sizes):
    """``a`` broadcast to ``sizes`` without copying (-1 keeps a size; new dimensions come
    first), as PyTorch's ``expand``."""
    sizes = tuple(int(n) for n in _one_tuple(sizes))
    extra = len(sizes) - a.ndim
    if extra < 0:
        raise ValueError(f"expand: the number of sizes ({len(sizes)}) must be at least the "
                         f"number of dimensions of the tensor ({a.ndim}); shape {a.shape}")
    shape = []
    for i, n in enumerate(sizes):
        old = a.shape[i - extra] if i >= extra else None
        if n == -1 and old is None:
            raise ValueError(f"expand: -1 is not allowed for the new leading dimension {i}")
        n = old if n == -1 else n
        if old is not None and old != 1 and n != old:
            raise ValueError(f"expand: the expanded size {n} must match the existing size "
                             f"{old} at non-singleton dimension {i}; target sizes "
                             f"{list(sizes)}, tensor sizes {list(a.shape)}")
        shape.append(n)
    return BroadcastTo.apply(a, shape=tuple(shape))


def expand_as(a, other):
    return expand(a, other.shape)


def repeat(a, *sizes):
    """``a`` repeated ``sizes[d]`` times along each dimension (PyTorch's ``repeat``,
    NumPy's ``tile``): extra leading counts add dimensions. A copy."""
    reps = tuple(int(n) for n in _one_tuple(sizes))
    if len(reps) < a.ndim:
        raise ValueError(f"repeat: give at least one count per dimension ({a.ndim} for shape "
                         f"{a.shape}); got {list(reps)}")
    a = Reshape.apply(a, shape=(1,) * (len(reps) - a.ndim) + a.shape)
    return Repeat.apply(a, reps=reps)


def narrow(a, dim, start, length):
    """The ``length`` slices from ``start`` along ``dim`` (a view); ``start`` may be
    negative, or a 0-d integer tensor."""
    dim = _axis(dim, a.ndim, "narrow")
    size = a.shape[dim]
    start = int(start)
    start = start + size if start < 0 else start
    if not 0 <= start <= size or length < 0 or start + length > size:
        raise ValueError(f"narrow: start ({start}) + length ({length}) exceeds dimension "
                         f"{dim} of size {size}")
    return getitem(a, (slice(None),) * dim + (slice(start, start + length),))


def flip(a, dims):
    """The elements in reverse order along each of ``dims`` (a copy, as PyTorch's)."""
    dims = (dims,) if isinstance(dims, (int, np.integer)) else tuple(dims)
    return Flip.apply(a, axes=normalize_axes(dims, a.ndim, "flip"))


def fliplr(a):
    return flip(a, 1)


def flipud(a):
    return flip(a, 0)


def roll(a, shifts, dims=None):
    """The elements shifted ``shifts`` places (wrapping around) along ``dims``; without
    ``dims`` over the flattened tensor, the shape kept."""
    if dims is None:
        return Roll.apply(a, shifts=int(shifts), axes=None)
    if isinstance(dims, (int, np.integer)):
        dims, shifts = (dims,), (shifts,)
    shifts, dims = tuple(int(n) for n in shifts), tuple(dims)
    if len(shifts) != len(dims):
        raise ValueError(f"roll: shifts {list(shifts)} and dims {list(dims)} differ in length")
    axes = tuple(_axis(d, a.ndim, "roll") for d in dims)
    return Roll.apply(a, shifts=shifts, axes=axes)


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


cat = concat = concatenate  # PyTorch's names


def hstack(tensors):
    """Joined along dim 1, or along dim 0 when they are 1-D (0-d ones become 1-D)."""
    tensors = [t if t.ndim else reshape(t, (1,)) for t in tensors]
    return concatenate(tensors, 0 if tensors and tensors[0].ndim == 1 else 1)


def vstack(tensors):
    """Joined along dim 0, 1-D (and 0-d) ones first made rows."""
    return concatenate([t if t.ndim >= 2 else reshape(t, (1, -1)) for t in tensors], 0)


row_stack = vstack


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
