"""The autograd core, read top to bottom.

Contents:
    grad mode      no_grad, enable_grad, is_grad_enabled
    Function       one op: forward and backward on raw arrays, apply() records the graph
    unbroadcast    undoes NumPy broadcasting in backward, in one place
    Tensor         an array + requires_grad + grad + the Function that made it
    backward       iterative walk over the graph, latest node first
    operators      the dunders, written out, one line each

A Tensor made by an op remembers its Function (``_ctx``); the Function
remembers its input Tensors (``parents``) and whatever arrays its backward
needs, and its creation number (``sequence``). ``Tensor.backward`` walks the
Functions from the latest-created down, with an explicit heap (no recursion:
an RNN unrolled over 10,000 steps is a deep graph, as in Chainer's
``_get_ordered_func_heap``). A node is created after the nodes of its inputs,
so each one's backward runs once, after every consumer of its outputs has
contributed: a value used twice gets the sum of both paths.
"""

import functools
import heapq
import itertools

import numpy as np

from engine import backend

# ---------------------------------------------------------------- grad mode


class _GradMode:
    enabled = True


def is_grad_enabled():
    """Whether ops currently record the graph."""
    return _GradMode.enabled


class no_grad:
    """Context manager and decorator: ops inside record nothing.

    >>> x = tensor([1.0, 2.0], requires_grad=True)
    >>> with no_grad():
    ...     y = x * 2
    >>> y.requires_grad
    False
    """

    _mode = False

    def __enter__(self):
        self._previous = _GradMode.enabled
        _GradMode.enabled = self._mode

    def __exit__(self, *exc_info):
        _GradMode.enabled = self._previous

    def __call__(self, func):
        @functools.wraps(func)
        def wrapper(*args, **kwargs):
            with type(self)():
                return func(*args, **kwargs)

        return wrapper


class enable_grad(no_grad):
    """Context manager and decorator: record the graph even inside no_grad."""

    _mode = True


# ---------------------------------------------------------------- Function


class Function:
    """One differentiable op.

    A subclass defines ``forward(*arrays, **options)`` returning an array (or
    a tuple of arrays) and ``backward(*output_grads)`` returning one gradient
    per input (a tuple, or a bare array for a single input; None where
    ``needs_input_grad`` is False). Both work on raw arrays of the inputs'
    backend (numpy or cupy). Gradients may come back in the broadcast output
    shape; the backward walk reduces them to each input's shape.
    Arrays that backward needs are stored as attributes of ``self``.
    """

    parents = ()  # the input Tensors, in order
    needs_input_grad = ()
    num_outputs = 1
    retained = None  # {output index: Tensor} for non-leaf outputs that retain_grad()
    released = False  # True once backward() has freed what this node saved
    sequence = 0  # creation order of recorded nodes: each is later than its inputs' nodes

    @classmethod
    def apply(cls, *inputs, **options):
        """Run forward on the inputs' arrays and record the node if needed."""
        if len(inputs) > 1:
            _check_compatible(cls.__name__, inputs)
        ctx = cls()
        try:
            out = ctx.forward(*[t.data for t in inputs], **options)
        except (ValueError, IndexError) as error:
            shapes = ", ".join(str(t.shape) for t in inputs)
            raise type(error)(f"{cls.__name__}: {error} (input shapes: {shapes})") from None
        needs = tuple([t.requires_grad for t in inputs]) if _GradMode.enabled else ()
        requires_grad = True in needs
        if requires_grad:
            ctx.parents, ctx.needs_input_grad = inputs, needs
            ctx.sequence = next(_creation_order)  # later than the nodes of its inputs
        else:
            ctx = None
        if type(out) is not np.ndarray:  # a NumPy scalar, a CuPy array or several outputs
            if isinstance(out, np.generic):  # NumPy turns 0-d results into scalars
                out = np.asarray(out)
            elif isinstance(out, tuple):
                if ctx is not None:
                    ctx.num_outputs = len(out)
                    ctx.output_meta = [(o.shape, o.dtype) for o in out]
                return tuple(Tensor._make(o, requires_grad, ctx, i) for i, o in enumerate(out))
        return Tensor._make(out, requires_grad, ctx, 0)

    def forward(self, *arrays, **options):
        raise NotImplementedError

    def backward(self, *output_grads):
        raise NotImplementedError

    def release(self):
        """Drop everything saved for backward (and the links to the inputs)."""
        self.__dict__.clear()
        self.released = True


_creation_order = itertools.count()


def _check_compatible(op_name, inputs):
    """Raise before any work if the inputs live on two devices or mix float dtypes."""
    first = inputs[0].data
    on_cpu = isinstance(first, np.ndarray)
    for other in inputs[1:]:
        data = other.data
        if isinstance(data, np.ndarray) != on_cpu or (
            not on_cpu and other.device != inputs[0].device
        ):
            raise RuntimeError(
                f"{op_name}: inputs are on different devices: {inputs[0].device} and {other.device}"
            )
        if data.dtype != first.dtype and data.dtype.kind == "f" == first.dtype.kind:
            raise TypeError(
                f"{op_name}: inputs have different float dtypes: {first.dtype} and {data.dtype}"
                " (no silent upcast; convert one with .astype())"
            )


def unbroadcast(grad, shape, op_name="op"):
    """Sum ``grad`` over the axes that broadcasting added or stretched, to ``shape``."""
    if grad.shape == shape:
        return grad
    extra = grad.ndim - len(shape)
    stretched = [extra + i for i, n in enumerate(shape) if n == 1 and grad.shape[extra + i] != 1]
    axes = tuple(range(extra)) + tuple(stretched)
    if axes:
        grad = grad.sum(axis=axes, keepdims=True)
    if grad.size != int(np.prod(shape)):
        raise AssertionError(
            f"{op_name}.backward returned a gradient of shape {grad.shape} "
            f"that does not reduce to its input's shape {shape}"
        )
    return grad.reshape(shape)


# ---------------------------------------------------------------- Tensor


def _to_array(data, dtype):
    """NumPy or CuPy array from data, by the rules of ``tensor()``."""
    if isinstance(data, Tensor):
        data = data.data.copy()
    elif backend.is_array(data):
        pass  # an array keeps its dtype (and device)
    else:
        python_data = not isinstance(data, np.generic)  # a NumPy scalar keeps its dtype
        data = np.asarray(data)
        if dtype is None and python_data and data.dtype == np.float64:
            data = data.astype(np.float32)  # Python floats default to float32
    if dtype is not None and data.dtype != np.dtype(dtype):
        data = data.astype(dtype)
    return data


def _one_tuple(args):
    """``(2, 3)`` from the arguments ``2, 3`` or ``(2, 3)`` (a lone None stays None)."""
    if len(args) == 1 and not np.isscalar(args[0]):
        return None if args[0] is None else tuple(args[0])
    return args


class Tensor:
    """An n-dimensional array that records how it was made.

    Attributes: ``data`` (numpy or cupy array), ``grad`` (a Tensor of the same
    shape, dtype and device, or None), ``requires_grad``.

    >>> x = tensor([1.0, 2.0, 3.0], requires_grad=True)
    >>> (x * x).sum().backward()
    >>> x.grad
    tensor([2., 4., 6.])
    """

    __slots__ = ("data", "grad", "requires_grad", "_ctx", "_output_index", "__weakref__")
    __array_ufunc__ = None  # numpy defers to our reflected operators: ndarray * Tensor -> Tensor

    def __init__(self, data, dtype=None, requires_grad=False, device=None):
        data = _to_array(data, dtype)
        if device is not None:
            data = backend.to_device(data, device)
        if requires_grad and data.dtype.kind != "f":
            raise TypeError(f"only float tensors can require grad; got dtype {data.dtype}")
        self.data = data
        self.grad = None
        self.requires_grad = bool(requires_grad)
        self._ctx = None
        self._output_index = 0

    @classmethod
    def _make(cls, data, requires_grad, ctx, output_index):
        """Fast constructor used by Function.apply: no conversion, no checks."""
        out = object.__new__(cls)
        out.data = data
        out.grad = None
        out.requires_grad = requires_grad
        out._ctx = ctx
        out._output_index = output_index
        return out

    # -- what it is
    shape = property(lambda self: self.data.shape)
    ndim = property(lambda self: self.data.ndim)
    dtype = property(lambda self: self.data.dtype)
    size = property(lambda self: self.data.size)
    device = property(lambda self: backend.device_of(self.data))
    is_leaf = property(lambda self: self._ctx is None)
    T = property(lambda self: self.transpose())

    def __len__(self):
        return len(self.data)

    def __bool__(self):  # a one-element tensor only, as NumPy and PyTorch
        return bool(self.data)

    def __repr__(self):
        body = np.array2string(backend.to_numpy(self.data), separator=", ", prefix="tensor(")
        extras = "" if self.device == "cpu" else f", device='{self.device}'"
        if self.dtype not in (np.float32, np.int64, np.bool_):
            extras += f", dtype={self.dtype}"
        if self.requires_grad:
            extras += ", requires_grad=True"
        return f"tensor({body}{extras})"

    # -- conversions (none of them is recorded in the graph)
    def numpy(self):
        """A NumPy array (a copy from the GPU, or the data itself on the CPU)."""
        return backend.to_numpy(self.data)

    def item(self):
        if self.size != 1:
            raise ValueError(f"item() needs a tensor with one element; got shape {self.shape}")
        return self.data.reshape(()).item()

    def tolist(self):
        return self.numpy().tolist()

    def detach(self):
        """The same data, cut from the graph (shares memory, like PyTorch)."""
        return Tensor._make(self.data, False, None, 0)

    def to(self, device):
        """A copy on ``device`` ('cpu', 'cuda', 'cuda:N'), gradient flowing back."""
        from engine.ops.shape import to_device

        return to_device(self, device)

    def astype(self, dtype):
        """A copy with ``dtype``, gradient flowing back (cast to the input dtype)."""
        from engine.ops.elementwise import astype

        return astype(self, dtype)

    def retain_grad(self):
        """Keep ``.grad`` of this non-leaf tensor after backward (as PyTorch)."""
        if self._ctx is None:
            return
        if self._ctx.retained is None:
            self._ctx.retained = {}
        self._ctx.retained[self._output_index] = self

    def requires_grad_(self, requires_grad=True):
        if requires_grad and self.dtype.kind != "f":
            raise TypeError(f"only float tensors can require grad; got dtype {self.dtype}")
        self.requires_grad = requires_grad
        return self

    def _accumulate(self, grad):
        # first gradient is copied: backward may hand the same array to two inputs
        if self.grad is None:
            self.grad = Tensor._make(grad.copy(), False, None, 0)
        else:
            self.grad.data = self.grad.data + grad

    # ------------------------------------------------------------ backward

    def backward(self, grad=None, retain_graph=False):
        """Accumulate d(self)/d(leaf) * grad into ``.grad`` of every leaf that requires grad.

        ``grad`` defaults to 1 for a one-element tensor. The graph (and the
        arrays it saved) is freed afterwards unless ``retain_graph=True``.
        """
        if not self.requires_grad:
            raise RuntimeError("backward(): this tensor does not require grad and has no graph")
        if grad is None:
            if self.size != 1:
                raise RuntimeError(
                    f"backward(): grad can be implicit only for a one-element tensor; got shape "
                    f"{self.shape}: pass grad= of that shape"
                )
            grad = backend.xp_of(self.data).ones_like(self.data)
        else:
            grad = grad.data if isinstance(grad, Tensor) else grad
            if not hasattr(grad, "shape"):
                raise TypeError(f"backward(): grad must be a Tensor or an array of shape "
                                f"{self.shape}; got {type(grad).__name__}")
            if grad.shape != self.shape:
                raise ValueError(
                    f"backward(): grad has shape {grad.shape}, expected the tensor's {self.shape}"
                )
            if type(grad) is not type(self.data):
                raise RuntimeError(f"backward(): grad is not on the tensor's device {self.device}")
            grad = grad.astype(self.dtype, copy=False)
        if self._ctx is None:
            self._accumulate(grad)
            return
        _run_backward(self._ctx, self._output_index, grad, retain_graph)

    # ------------------------------------------------------------ operators
    # Each line calls the op; reflected forms put the operands back in order.

    def __add__(self, other):
        return ops.add(self, other)

    def __radd__(self, other):
        return ops.add(other, self)

    def __sub__(self, other):
        return ops.sub(self, other)

    def __rsub__(self, other):  # other - self
        return ops.sub(other, self)

    def __mul__(self, other):
        return ops.mul(self, other)

    def __rmul__(self, other):
        return ops.mul(other, self)

    def __truediv__(self, other):
        return ops.div(self, other)

    def __rtruediv__(self, other):  # other / self
        return ops.div(other, self)

    def __pow__(self, exponent):
        return ops.pow(self, exponent)

    def __rpow__(self, base):  # base ** self
        return ops.pow(base, self)

    def __matmul__(self, other):
        return ops.matmul(self, other)

    def __rmatmul__(self, other):  # other @ self
        return ops.matmul(other, self)

    def __neg__(self):
        return ops.neg(self)

    def __getitem__(self, index):
        return ops.getitem(self, index)

    # comparisons give bool tensors outside the graph (== and != keep Python identity)
    def __lt__(self, other):
        return ops.less(self, other)

    def __le__(self, other):
        return ops.less_equal(self, other)

    def __gt__(self, other):
        return ops.less(other, self)

    def __ge__(self, other):
        return ops.less_equal(other, self)

    __hash__ = object.__hash__

    # ------------------------------------------------------------ methods
    # The math lives in engine.ops; these are the method spellings of it.

    def exp(self):
        return ops.exp(self)

    def log(self):
        return ops.log(self)

    def sqrt(self):
        return ops.sqrt(self)

    def tanh(self):
        return ops.tanh(self)

    def sigmoid(self):
        return ops.sigmoid(self)

    def relu(self):
        return ops.relu(self)

    def abs(self):
        return ops.abs(self)

    def clip(self, min=None, max=None):
        return ops.clip(self, min, max)

    def sum(self, axis=None, keepdims=False):
        return ops.sum(self, axis, keepdims)

    def mean(self, axis=None, keepdims=False):
        return ops.mean(self, axis, keepdims)

    def max(self, axis=None, keepdims=False):
        return ops.max(self, axis, keepdims)

    def min(self, axis=None, keepdims=False):
        return ops.min(self, axis, keepdims)

    def logsumexp(self, axis=None, keepdims=False):
        return ops.logsumexp(self, axis, keepdims)

    def softmax(self, axis=-1):
        return ops.softmax(self, axis)

    def log_softmax(self, axis=-1):
        return ops.log_softmax(self, axis)

    def reshape(self, *shape):  # x.reshape(2, 3) or x.reshape((2, 3))
        return ops.reshape(self, _one_tuple(shape))

    def transpose(self, *axes):  # x.transpose(1, 0) or x.transpose((1, 0)); none: reversed
        return ops.transpose(self, _one_tuple(axes) or None)

    def permute(self, *axes):
        return ops.transpose(self, _one_tuple(axes))

    def swapaxes(self, axis1, axis2):
        return ops.swapaxes(self, axis1, axis2)

    def broadcast_to(self, shape):
        return ops.broadcast_to(self, shape)

    def squeeze(self, axis=None):
        return ops.squeeze(self, axis)

    def unsqueeze(self, axis):
        return ops.unsqueeze(self, axis)

    def matmul(self, other):
        return ops.matmul(self, other)


# ---------------------------------------------------------------- the backward walk


def _run_backward(root, output_index, grad, retain_graph):
    """Propagate ``grad`` (of output ``output_index`` of node ``root``) down to the leaves.

    Nodes run latest-created first: each consumer of a node's outputs was created
    after it, so it has added its share to ``pending`` by the time the node runs.
    """
    if root.released:
        raise RuntimeError(_FREED)
    pending = {root: [None] * root.num_outputs}  # node -> the gradient of each output
    pending[root][output_index] = grad
    leaf_grads = {}  # leaf Tensor -> its summed gradient, stored once at the end
    heap = [(-root.sequence, root)]
    pop, push = heapq.heappop, heapq.heappush
    while heap:
        node = pop(heap)[1]
        output_grads = pending.pop(node)
        if node.retained:
            for index, tensor in node.retained.items():
                if output_grads[index] is not None:
                    tensor._accumulate(output_grads[index])
        if node.num_outputs == 1:
            input_grads = node.backward(output_grads[0])
        else:
            input_grads = node.backward(*_fill_missing(node, output_grads))
        if not isinstance(input_grads, tuple):
            input_grads = (input_grads,)
        for parent, needed, g in zip(node.parents, node.needs_input_grad, input_grads):
            if not needed or g is None:
                continue
            if isinstance(g, np.generic):  # NumPy turns 0-d results into scalars
                g = np.asarray(g)
            data = parent.data
            if g.shape != data.shape:
                g = unbroadcast(g, data.shape, type(node).__name__)
            if g.dtype != data.dtype:
                g = g.astype(data.dtype)
            producer = parent._ctx
            if producer is None:
                previous = leaf_grads.get(parent)
                leaf_grads[parent] = g if previous is None else previous + g
                continue
            slots = pending.get(producer)
            if slots is None:
                if producer.released:
                    raise RuntimeError(_FREED)
                slots = pending[producer] = [None] * producer.num_outputs
                push(heap, (-producer.sequence, producer))
            index = parent._output_index
            slots[index] = g if slots[index] is None else slots[index] + g
        if not retain_graph:
            node.release()
    for leaf, g in leaf_grads.items():
        leaf._accumulate(g)


_FREED = (
    "backward(): part of this graph was freed by an earlier backward(); "
    "pass retain_graph=True to the earlier call"
)


def _fill_missing(node, output_grads):
    """Zeros for the outputs of a multi-output node that got no gradient."""
    xp = backend.xp_of(node.parents[0].data)
    return [
        xp.zeros(shape, dtype) if g is None else g
        for g, (shape, dtype) in zip(output_grads, node.output_meta)
    ]


def tensor(data, dtype=None, requires_grad=False, device=None):
    """Make a Tensor.

    A NumPy array keeps its dtype; Python floats (and lists of them) become
    float32; Python ints stay integer (int64) and bools bool. ``device=None``
    keeps an array where it is and puts Python data on the CPU.

    >>> tensor([1.0, 2.0]).dtype
    dtype('float32')
    >>> tensor(np.arange(3)).dtype
    dtype('int64')
    """
    return Tensor(data, dtype=dtype, requires_grad=requires_grad, device=device)


# The ops import Tensor and Function from this module, and the operators above
# call the ops: importing them last, once both classes exist, breaks the cycle.
from engine import ops  # noqa: E402
