"""The autograd core, read top to bottom.

Contents:
    grad mode      no_grad, enable_grad, set_grad_enabled, inference_mode, is_grad_enabled
    Function       one op: forward and backward on raw arrays, apply() records the graph
    unbroadcast    undoes NumPy broadcasting in backward, in one place
    Size           a shape, as ``size()`` returns it
    Tensor         an array + requires_grad + grad + the Function that made it
    in place       version counters, PyTorch's in-place rules, the Assign node
    backward       iterative walk over the graph, latest node first; autograd's ``grad``
    operators      the dunders, written out, one line each

A Tensor made by an op remembers its Function (``_ctx``); the Function
remembers its input Tensors (``parents``) and whatever arrays its backward
needs, and its creation number (``sequence``). ``Tensor.backward`` walks the
Functions from the latest-created down, with an explicit heap (no recursion:
an RNN unrolled over 10,000 steps is a deep graph, as in Chainer's
``_get_ordered_func_heap``). A node is created after the nodes of its inputs,
so each one's backward runs once, after every consumer of its outputs has
contributed: a value used twice gets the sum of both paths.

In-place ops follow PyTorch. Every tensor has a version counter (shared by the
views of one array), bumped by each in-place change; a node records the
versions of the arrays its backward reads, and ``backward()`` refuses to use
one that changed since. An in-place op on a tensor in the graph records an
``Assign`` node, so the gradient reaches the assigned value.
"""

import functools
import heapq
import itertools

import numpy as np

from engine import backend, dtypes, hooks, printing
from engine.hooks import _Anomaly
from engine.unsupported import UNSUPPORTED, Unsupported

# ---------------------------------------------------------------- grad mode


class _GradMode:
    enabled = True


def is_grad_enabled():
    """Whether ops currently record the graph."""
    return _GradMode.enabled


class set_grad_enabled:
    """Turn recording on or off: as a function call, a context manager or a decorator.

    >>> x = tensor([1.0, 2.0], requires_grad=True)
    >>> with set_grad_enabled(False):
    ...     y = x * 2
    >>> y.requires_grad
    False
    """

    def __init__(self, mode):
        self._previous = _GradMode.enabled
        _GradMode.enabled = bool(mode)

    def __enter__(self):
        pass

    def __exit__(self, *exc_info):
        _GradMode.enabled = self._previous

    def __call__(self, func):
        mode = _GradMode.enabled
        _GradMode.enabled = self._previous  # as a decorator it changes nothing until called

        @functools.wraps(func)
        def wrapper(*args, **kwargs):
            with set_grad_enabled(mode):
                return func(*args, **kwargs)

        return wrapper


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


class inference_mode(no_grad):
    """PyTorch's ``inference_mode``: here the same as ``no_grad`` (``mode=False``: recording on)."""

    def __init__(self, mode=True):
        self._mode = not mode


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

    What backward reads is declared, so that an in-place change of it is caught:
    ``saved_inputs`` (the indices of the inputs whose arrays it keeps; None, the
    default, for all of them) and ``saves_output`` (whether it keeps its output).
    An op whose outputs are views of its first input's memory sets ``view``.
    """

    parents = ()  # the input Tensors, in order
    needs_input_grad = ()
    num_outputs = 1
    hooks = None  # {output index: [hook, ...]}: register_hook and retain_grad of its outputs
    released = False  # True once backward() has freed what this node saved
    sequence = 0  # creation order of recorded nodes: each is later than its inputs' nodes
    saved_inputs = None  # indices of the inputs backward reads (None: all)
    saves_output = False  # backward reads the output array
    view = False  # the outputs share the first input's memory
    output_counter = None  # the output's version counter, once made, when backward reads it

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        # once per class, not per call: what apply() must record
        cls._saves = cls.saved_inputs != () or cls.saves_output

    @classmethod
    def apply(cls, *inputs, **options):
        """Run forward on the inputs' arrays and record the node if needed."""
        if len(inputs) > 1:
            _check_compatible(cls.__name__, inputs)
        node = cls()
        try:
            out = node.forward(*[t.array for t in inputs], **options)
        except (ValueError, IndexError) as error:
            shapes = ", ".join(str(t.shape) for t in inputs)
            raise type(error)(f"{cls.__name__}: {error} (input shapes: {shapes})") from None
        if _Anomaly.enabled:
            node.called_at = _check_forward(cls.__name__, inputs, out)
        needs = tuple([t.requires_grad for t in inputs]) if _GradMode.enabled else ()
        requires_grad = True in needs
        ctx = None
        if requires_grad:
            ctx = node
            ctx.parents, ctx.needs_input_grad = inputs, needs
            ctx.sequence = next(_creation_order)  # later than the nodes of its inputs
        if type(out) is not np.ndarray:  # a NumPy scalar, a CuPy array or several outputs
            if isinstance(out, np.generic):  # NumPy turns 0-d results into scalars
                out = np.asarray(out)
            elif isinstance(out, tuple):
                out = tuple(np.asarray(o) if isinstance(o, np.generic) else o for o in out)
                if ctx is not None:
                    ctx.num_outputs = len(out)
                    ctx.output_meta = [(o.shape, o.dtype) for o in out]
                outs = tuple(Tensor._make(o, requires_grad, ctx, i) for i, o in enumerate(out))
                if node.view:
                    for o in outs:
                        o._versions = _counter(inputs[0])
                return outs
        result = Tensor._make(out, requires_grad, ctx, 0)
        if cls.view and node.view:
            result._versions = _counter(inputs[0])  # one array, one counter
        return result

    def forward(self, *arrays, **options):
        raise NotImplementedError

    def backward(self, *output_grads):
        raise NotImplementedError

    def release(self):
        """Drop everything saved for backward (and the links to the inputs)."""
        self.__dict__.clear()
        self.released = True


_creation_order = itertools.count()  # numbers nodes and in-place changes, in the order made
Function._saves = True  # what __init_subclass__ computes for subclasses


def _check_compatible(op_name, inputs):
    """Raise before any work if the inputs live on two devices or mix float dtypes."""
    first = inputs[0].array
    kind = type(first)
    for other in inputs[1:]:
        array = other.array
        if type(array) is not kind:  # rare: NumPy and CuPy (or an ndarray subclass)
            apart = isinstance(array, np.ndarray) != isinstance(first, np.ndarray)
        else:
            apart = kind is not np.ndarray and other.device != inputs[0].device  # two GPUs
        if apart:
            raise RuntimeError(
                f"{op_name}: inputs are on different devices: {inputs[0].device} and {other.device}"
            )
        if array.dtype != first.dtype and array.dtype.kind == "f" == first.dtype.kind:
            raise TypeError(
                f"{op_name}: inputs have different float dtypes: {first.dtype} and {array.dtype}"
                " (no silent upcast; convert one with .to(dtype))"
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


class Size(tuple):
    """A shape, as ``Tensor.size()`` returns it: a tuple, with ``numel()``.

    >>> Size((2, 3)), Size((2, 3)).numel(), Size((2, 3)) == (2, 3)
    (Size([2, 3]), 6, True)
    """

    def numel(self):
        return int(np.prod(self, dtype=np.int64))

    def __repr__(self):
        return f"Size({list(self)})"

    def __getitem__(self, index):
        picked = tuple.__getitem__(self, index)
        return Size(picked) if isinstance(index, slice) else picked


def _to_array(data, dtype):
    """NumPy or CuPy array from data, by the rules of ``tensor()``."""
    if isinstance(data, Tensor):
        data = data.array.copy()
    elif backend.is_array(data):
        pass  # an array keeps its dtype (and device)
    else:
        python_data = not isinstance(data, np.generic)  # a NumPy scalar keeps its dtype
        if isinstance(data, (list, tuple)) and any(isinstance(x, Tensor) for x in data):
            data = [x.tolist() if isinstance(x, Tensor) else x for x in data]
        data = np.asarray(data)
        if dtype is None and python_data and data.dtype == np.float64:
            data = data.astype(dtypes.get_default_dtype())  # Python floats: the default dtype
    if dtype is not None:
        dtype = dtypes.as_dtype(dtype)
        if data.dtype != dtype:
            data = data.astype(dtype)
    return data


def _one_tuple(args):
    """``(2, 3)`` from the arguments ``2, 3`` or ``(2, 3)`` (a lone None stays None)."""
    if len(args) == 1 and not np.isscalar(args[0]):
        return None if args[0] is None else tuple(args[0])
    return args


class Tensor:
    """An n-dimensional array that records how it was made.

    Attributes: ``array`` (the numpy or cupy array itself), ``grad`` (a Tensor of
    the same shape, dtype and device, or None), ``requires_grad``; ``data`` is
    PyTorch's: a Tensor sharing the array, outside the graph.

    >>> x = tensor([1.0, 2.0, 3.0], requires_grad=True)
    >>> (x * x).sum().backward()
    >>> x.grad
    tensor([2., 4., 6.])
    """

    __slots__ = ("array", "grad", "requires_grad", "_ctx", "_output_index", "_versions",
                 "__weakref__")
    __array_ufunc__ = None  # numpy defers to our reflected operators: ndarray * Tensor -> Tensor

    def __init__(self, data, dtype=None, requires_grad=False, device=None):
        array = _to_array(data, dtype)
        if device is not None:
            array = backend.to_device(array, device)
        if requires_grad and array.dtype.kind != "f":
            raise TypeError(f"only float tensors can require grad; got dtype {array.dtype}")
        self.array = array
        self.grad = None
        self.requires_grad = bool(requires_grad)
        self._ctx = None
        self._output_index = 0
        self._versions = None  # made when first needed: [in-place changes, clock of the last]

    @staticmethod
    def _make(array, requires_grad, ctx, output_index):
        """Fast constructor used by Function.apply: no conversion, no checks."""
        out = _new(Tensor)
        out.array = array
        out.grad = None
        out.requires_grad = requires_grad
        out._ctx = ctx
        out._output_index = output_index
        out._versions = None
        return out

    # -- what it is
    shape = property(lambda self: self.array.shape)
    ndim = property(lambda self: self.array.ndim)
    dtype = property(lambda self: self.array.dtype)
    device = property(lambda self: backend.device_of(self.array))
    is_cuda = property(lambda self: not isinstance(self.array, np.ndarray))
    is_leaf = property(lambda self: self._ctx is None)
    grad_fn = property(lambda self: self._ctx)
    itemsize = property(lambda self: self.array.itemsize)
    nbytes = property(lambda self: self.array.nbytes)
    T = property(lambda self: ops.permute(self, tuple(range(self.ndim - 1, -1, -1))))
    mT = property(lambda self: self.transpose(-2, -1))

    def size(self, dim=None):
        """The shape as a ``Size`` (a tuple), or the length of axis ``dim``."""
        if dim is None:
            return Size(self.array.shape)
        return self.array.shape[_dim(dim, self.ndim, "size")]

    def numel(self):
        return self.array.size

    def dim(self):
        return self.array.ndim

    def element_size(self):
        return self.array.itemsize

    def is_floating_point(self):
        return self.array.dtype.kind == "f"

    @property
    def _version(self):
        """How many in-place changes this tensor's array has seen (PyTorch's ``_version``)."""
        return 0 if self._versions is None else self._versions[0]

    # -- Python's protocols
    def __len__(self):
        if self.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self.array.shape[0]

    def __iter__(self):
        if self.ndim == 0:
            raise TypeError("iteration over a 0-d tensor")
        return iter(self.unbind(0))

    def __bool__(self):  # a one-element tensor only, as PyTorch
        if self.array.size != 1:
            raise RuntimeError(f"Boolean value of Tensor with {self.array.size} values is "
                               "ambiguous; use .any() or .all()")
        return bool(self.array)

    def __float__(self):
        return float(self.item())

    def __int__(self):
        return int(self.item())

    def __index__(self):
        if self.array.size != 1 or self.array.dtype.kind not in "iub":
            raise TypeError("only integer tensors of a single element can be converted to an "
                            f"index; got dtype {self.dtype} and shape {self.shape}")
        return int(self.item())

    def __array__(self, dtype=None, copy=None):
        array = backend.to_numpy(self.array)
        return array if dtype is None else array.astype(dtype)

    def __format__(self, spec):
        if self.ndim == 0:  # f"{loss:.4f}", as PyTorch
            return format(self.item(), spec)
        return object.__format__(self, spec)

    def __repr__(self):
        return printing.tensor_repr(self)

    # -- conversions (none of them is recorded in the graph)
    def numpy(self):
        """A NumPy array: the array itself on the CPU (memory shared), a copy from the GPU."""
        return backend.to_numpy(self.array)

    def item(self):
        if self.array.size != 1:
            raise ValueError(f"item() needs a tensor with one element; got shape {self.shape}")
        return self.array.reshape(()).item()

    def tolist(self):
        return self.numpy().tolist()

    @property
    def data(self):
        """PyTorch's ``.data``: a Tensor sharing this array, outside the graph, whose
        in-place changes are not tracked (use ``detach()`` to have them tracked)."""
        return Tensor._make(self.array, False, None, 0)

    @data.setter
    def data(self, value):
        """``t.data = other`` makes ``t`` hold ``other``'s array (a Tensor, or an array)."""
        if isinstance(value, Tensor):
            value = value.array
        elif not backend.is_array(value):
            raise TypeError(f"assigned data must be a Tensor or an array; got "
                            f"{type(value).__name__}")
        self.array = value

    def detach(self):
        """The same array, cut from the graph (memory and version counter shared, as PyTorch)."""
        out = Tensor._make(self.array, False, None, 0)
        out._versions = _counter(self)
        return out

    def to(self, *args, device=None, dtype=None, non_blocking=False, copy=False):
        """``to(device)``, ``to(dtype)``, ``to(device, dtype)``, ``to(other_tensor)``: this
        tensor itself when nothing changes, else a copy, gradient flowing back."""
        for arg in args:
            if isinstance(arg, Tensor):
                device, dtype = arg.device, arg.dtype
            elif isinstance(arg, (str, int)) and not backend.names_a_dtype(arg):
                device = arg
            else:
                dtype = arg
        out = self
        if dtype is not None:
            out = out.astype(dtype)
        if device is not None:
            from engine.ops.shape import to_device

            out = to_device(out, device)
        return out.clone() if copy and out is self else out

    def astype(self, dtype):
        """A copy with ``dtype``, gradient flowing back (cast to the input dtype)."""
        from engine.ops.elementwise import astype

        return astype(self, dtype)

    def type(self, dtype=None):
        """The dtype's name without an argument, else ``to(dtype)``."""
        return str(self.dtype) if dtype is None else self.astype(dtype)

    def type_as(self, other):
        return self.astype(other.dtype)

    def cpu(self):
        return self.to("cpu")

    def cuda(self, device=None):
        return self.to("cuda" if device is None else backend.device(device))

    def float(self):
        return self.astype(dtypes.float32)

    def double(self):
        return self.astype(dtypes.float64)

    def half(self):
        return self.astype(dtypes.float16)

    def long(self):
        return self.astype(dtypes.int64)

    def int(self):
        return self.astype(dtypes.int32)

    def short(self):
        return self.astype(dtypes.int16)

    def byte(self):
        return self.astype(dtypes.uint8)

    def bool(self):
        return self.astype(dtypes.bool)

    def retain_grad(self):
        """Keep ``.grad`` of this non-leaf tensor after backward (as PyTorch; a hook that runs
        after the others)."""
        if self._ctx is not None and not self.retains_grad:
            self._hooks().append(hooks.RetainGrad(self))

    @property
    def retains_grad(self):
        return self._ctx is not None and any(
            isinstance(h, hooks.RetainGrad) for h in (self._ctx.hooks or {}).get(
                self._output_index, ()))

    def register_hook(self, hook):
        """Call ``hook(grad)`` with this tensor's gradient when backward has summed it; a Tensor
        it returns replaces the gradient. Returns a handle: ``handle.remove()`` undoes it.

        >>> x = tensor([1.0, 2.0], requires_grad=True)
        >>> handle = x.register_hook(lambda g: g * 10)
        >>> (x * x).sum().backward(); x.grad
        tensor([20., 40.])
        """
        if not self.requires_grad:
            raise RuntimeError("cannot register a hook on a tensor that doesn't require gradient")
        registered = self._hooks()
        registered.append(hook)
        return hooks.RemovableHandle(registered, hook)

    def _hooks(self):
        """The list of this tensor's hooks (made when first asked for)."""
        if self._ctx is None:
            return hooks.leaf_hooks.setdefault(self, [])
        if self._ctx.hooks is None:
            self._ctx.hooks = {}
        return self._ctx.hooks.setdefault(self._output_index, [])

    def requires_grad_(self, requires_grad=True):
        if requires_grad and self.dtype.kind != "f":
            raise TypeError(f"only float tensors can require grad; got dtype {self.dtype}")
        if not requires_grad and self._ctx is not None:
            raise RuntimeError("you can only change requires_grad flags of leaf variables; "
                               "use detach() for a tensor outside the graph")
        self.requires_grad = bool(requires_grad)
        return self

    def _accumulate(self, grad):
        # first gradient is copied: backward may hand the same array to two inputs
        if self.grad is None:
            self.grad = Tensor._make(grad.copy(), False, None, 0)
        else:
            self.grad.array = self.grad.array + grad

    # ------------------------------------------------------------ in place

    def _modify(self, compute, *operands):
        """Give this tensor the value ``compute(self, *operands)``, written into its own array.

        As in PyTorch: its version goes up (so a node that saved the old values
        refuses to run backward); on a leaf that requires grad it is an error
        outside ``no_grad``; on a tensor in the graph (or with an operand that
        requires grad) it is recorded as an ``Assign`` node, so the gradient
        reaches the new value and, through ``compute``, the old one.
        """
        if not self._records(operands):
            with no_grad():
                self._write(compute(self, *operands))
            return self
        if self._ctx is None and self.requires_grad:
            raise RuntimeError("a leaf Variable that requires grad is being used in an in-place "
                               "operation; do it under no_grad() or on .data")
        if self._ctx is not None and self._ctx.view:
            raise NotImplementedError(
                f"an in-place operation on a view ({type(self._ctx).__name__}) of a tensor in the "
                "graph is not supported; write it out of place (y = y + x) or on a .clone()")
        # the old value, in its own memory: nodes that compute() makes may save it
        before = Tensor._make(self.array.copy(), self.requires_grad, self._ctx,
                              self._output_index)
        value = compute(before, *operands)
        self._write(value)
        node = Assign.apply(before, value).grad_fn
        node.previous = (before._ctx, before._output_index)
        self._ctx, self._output_index, self.requires_grad = node, 0, True
        return self

    def _arithmetic_(self, ufunc, compute, other, alpha=1):
        """``self = self <ufunc> (other * alpha)`` in place. Outside the graph it goes straight
        into the array (an optimizer's ``p.data.add_(g, alpha=-lr)``: no node, one
        temporary), with PyTorch's rules: the result keeps this shape (else an error), and
        no float lands in an integer tensor."""
        array = other.array if isinstance(other, Tensor) else other
        if self._records((other,)) or (backend.is_array(array) and type(array) is not type(
                self.array)):  # recorded, or another device: the full path
            return self._modify(compute, other if alpha == 1 else other * alpha)
        if alpha != 1:  # other * alpha, as before; a float Tensor's without making a node
            if isinstance(other, Tensor) and other.dtype.kind == "f" and isinstance(
                    alpha, (int, float)):
                array = array * array.dtype.type(alpha)  # the number in its dtype, as ops.mul
            else:
                scaled = other * alpha
                array = scaled.array if isinstance(scaled, Tensor) else scaled
        xp = backend.xp_of(self.array)
        try:
            getattr(xp, ufunc)(self.array, array, out=self.array, casting="same_kind")
        except TypeError as error:  # NumPy's UFuncTypeError: a float result, an int tensor
            raise RuntimeError(f"result type can't be cast to the desired output type "
                               f"{self.dtype}: {error}") from None
        except ValueError:  # a result of another shape, or none
            shapes = (self.shape, tuple(getattr(array, "shape", np.shape(array))))
            try:
                shape = np.broadcast_shapes(*shapes)
            except ValueError:
                raise ValueError(f"operands could not be broadcast together with shapes "
                                 f"{shapes[0]} {shapes[1]}") from None
            raise RuntimeError(f"output with shape {self.shape} doesn't match the broadcast "
                               f"shape {shape}") from None
        self._bump_version()
        return self

    def _records(self, operands):
        """Whether an in-place change of this tensor by ``operands`` goes into the graph."""
        return _GradMode.enabled and (self.requires_grad or any(
            isinstance(o, Tensor) and o.requires_grad for o in operands))

    def _write(self, value):
        """Copy ``value``'s array into this tensor's own array (same shape; a cast only
        within a kind: no float into an integer tensor) and bump the version."""
        array = value.array if isinstance(value, Tensor) else value
        if array.shape != self.shape:
            raise RuntimeError(f"output with shape {self.shape} doesn't match the broadcast "
                               f"shape {array.shape}")
        if array.dtype != self.dtype and not np.can_cast(array.dtype, self.dtype, "same_kind"):
            raise RuntimeError(f"result type {array.dtype} can't be cast to the desired output "
                               f"type {self.dtype}")
        self.array[...] = array
        self._bump_version()

    def _bump_version(self):
        """Count an in-place change of this array (and of every view sharing it)."""
        counter = _counter(self)
        counter[0] += 1
        counter[1] = _last_change[0] = next(_creation_order)

    def __setitem__(self, index, value):
        """``t[index] = value``: written into t's array; recorded when gradients flow
        (PyTorch's CopySlices), so that they reach ``value``."""
        from engine.ops.shape import index_arrays, set_item

        if self._records((value,)):
            self._modify(set_item, index, value)
            return
        array = value.array if isinstance(value, Tensor) else value
        if backend.is_array(array):
            array = backend.to_device(array, self.device)
        self.array[index_arrays(index, self.array)] = array
        self._bump_version()

    # ------------------------------------------------------------ backward

    def backward(self, gradient=None, retain_graph=None, create_graph=False, inputs=None):
        """Accumulate d(self)/d(leaf) * gradient into ``.grad`` of every leaf that requires
        grad (or of ``inputs`` only, when given).

        ``gradient`` defaults to 1 for a one-element tensor. The graph (and the
        arrays it saved) is freed afterwards unless ``retain_graph=True``.
        """
        if create_graph:
            raise NotImplementedError("backward(create_graph=True): higher-order gradients are "
                                      "not supported yet")
        _backward([self], [gradient], bool(retain_graph), inputs)

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

    def __floordiv__(self, other):
        return ops.floor_divide(self, other)

    def __rfloordiv__(self, other):  # other // self
        return ops.floor_divide(other, self)

    def __mod__(self, other):
        return ops.remainder(self, other)

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

    def __pos__(self):
        return self

    def __abs__(self):
        return ops.abs(self)

    def __rmod__(self, other):  # other % self
        return ops.remainder(other, self)

    # ~ & | ^ are bitwise, as in PyTorch: on bool tensors, the logical not, and, or, xor
    def __invert__(self):
        return ops.bitwise_not(self)

    def __and__(self, other):
        return ops.bitwise_and(self, other)

    def __rand__(self, other):
        return ops.bitwise_and(other, self)

    def __or__(self, other):
        return ops.bitwise_or(self, other)

    def __ror__(self, other):
        return ops.bitwise_or(other, self)

    def __xor__(self, other):
        return ops.bitwise_xor(self, other)

    def __rxor__(self, other):
        return ops.bitwise_xor(other, self)

    def __getitem__(self, index):
        return ops.getitem(self, index)

    # in place: t += x changes t's own array (see _modify)
    def __iadd__(self, other):
        return self._modify(ops.add, other)

    def __isub__(self, other):
        return self._modify(ops.sub, other)

    def __imul__(self, other):
        return self._modify(ops.mul, other)

    def __itruediv__(self, other):
        return self._modify(ops.div, other)

    # comparisons give bool tensors outside the graph; hashing stays by identity
    def __eq__(self, other):
        return False if other is None else ops.eq(self, other)

    def __ne__(self, other):
        return True if other is None else ops.ne(self, other)

    def __lt__(self, other):
        return ops.lt(self, other)

    def __le__(self, other):
        return ops.le(self, other)

    def __gt__(self, other):
        return ops.gt(self, other)

    def __ge__(self, other):
        return ops.ge(self, other)

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

    def sum(self, dim=None, keepdim=False, *, dtype=None, axis=None, keepdims=None):
        return ops.sum(self, dim, keepdim, dtype=dtype, axis=axis, keepdims=keepdims)

    def mean(self, dim=None, keepdim=False, *, dtype=None, axis=None, keepdims=None):
        return ops.mean(self, dim, keepdim, dtype=dtype, axis=axis, keepdims=keepdims)

    def max(self, dim=None, keepdim=False, *, axis=None, keepdims=None):
        return ops.max(self, dim, keepdim, axis=axis, keepdims=keepdims)

    def min(self, dim=None, keepdim=False, *, axis=None, keepdims=None):
        return ops.min(self, dim, keepdim, axis=axis, keepdims=keepdims)

    def logsumexp(self, dim=None, keepdim=False, *, axis=None, keepdims=None):
        return ops.logsumexp(self, dim, keepdim, axis=axis, keepdims=keepdims)

    def softmax(self, dim=-1, *, axis=None):
        return ops.softmax(self, dim, axis=axis)

    def log_softmax(self, dim=-1, *, axis=None):
        return ops.log_softmax(self, dim, axis=axis)

    def reshape(self, *shape):  # x.reshape(2, 3) or x.reshape((2, 3))
        return ops.reshape(self, _sizes(shape, "reshape"))

    def view(self, *shape):  # a reshape: NumPy returns a view wherever one exists
        return ops.reshape(self, _sizes(shape, "view"))

    def view_as(self, other):
        return ops.reshape(self, other.shape)

    def transpose(self, *dims):  # x.transpose(0, 1) swaps two axes, as PyTorch
        return ops.transpose(self, *dims)

    def t(self):
        if self.ndim > 2:
            raise ValueError(f"t() expects a tensor of at most 2 dimensions; got {self.ndim}")
        return self if self.ndim < 2 else ops.swapaxes(self, 0, 1)

    def permute(self, *dims):
        return ops.permute(self, _sizes(dims, "permute"))

    def swapaxes(self, axis1, axis2):
        return ops.swapaxes(self, axis1, axis2)

    def broadcast_to(self, shape):
        return ops.broadcast_to(self, shape)

    def squeeze(self, dim=None, *, axis=None):
        return ops.squeeze(self, dim, axis=axis)

    def unsqueeze(self, dim):
        return ops.unsqueeze(self, dim)

    def unbind(self, dim=0):
        return ops.unbind(self, dim)

    def matmul(self, other):
        return ops.matmul(self, other)

    def clone(self):
        return ops.clone(self)

    def contiguous(self):  # a row-major copy when it is not one (as PyTorch)
        return self if self.array.flags.c_contiguous else ops.clone(self)

    # in place, PyTorch's spellings (see _modify)
    def add_(self, other, alpha=1):
        return self._arithmetic_("add", ops.add, other, alpha)

    def sub_(self, other, alpha=1):
        return self._arithmetic_("subtract", ops.sub, other, alpha)

    def mul_(self, other):
        return self._arithmetic_("multiply", ops.mul, other)

    def div_(self, other):
        return self._arithmetic_("true_divide", ops.div, other)

    def zero_(self):
        return self._modify(ops.copy_of, 0)

    def fill_(self, value):
        return self._modify(ops.copy_of, value)

    def copy_(self, src):
        return self._modify(ops.copy_of, src)

    # arithmetic
    def add(self, other, *, alpha=1):
        return ops.add(self, other if alpha == 1 else other * alpha)

    def sub(self, other, *, alpha=1):
        return ops.sub(self, other if alpha == 1 else other * alpha)

    def mul(self, other):
        return ops.mul(self, other)

    def div(self, other, *, rounding_mode=None):
        return ops.divide(self, other, rounding_mode=rounding_mode)

    def true_divide(self, other):
        return ops.div(self, other)

    def floor_divide(self, other):
        return ops.floor_divide(self, other)

    def remainder(self, other):
        return ops.remainder(self, other)

    def fmod(self, other):
        return ops.fmod(self, other)

    def pow(self, exponent):
        return ops.pow(self, exponent)

    def neg(self):
        return ops.neg(self)

    def square(self):
        return ops.square(self)

    def rsqrt(self):
        return ops.rsqrt(self)

    def expm1(self):
        return ops.expm1(self)

    def log1p(self):
        return ops.log1p(self)

    def sin(self):
        return ops.sin(self)

    def cos(self):
        return ops.cos(self)

    def sign(self):
        return ops.sign(self)

    def floor(self):
        return ops.floor(self)

    def ceil(self):
        return ops.ceil(self)

    def round(self, decimals=0):
        return ops.round(self, decimals)

    def trunc(self):
        return ops.trunc(self)

    def frac(self):
        return ops.frac(self)

    def clamp(self, min=None, max=None):
        return ops.clamp(self, min, max)

    def clamp_min(self, min):
        return ops.clamp(self, min=min)

    def clamp_max(self, max):
        return ops.clamp(self, max=max)

    def maximum(self, other):
        return ops.maximum(self, other)

    def minimum(self, other):
        return ops.minimum(self, other)

    def masked_fill(self, mask, value):
        return ops.masked_fill(self, mask, value)

    def where(self, condition, other):  # self where condition, else other
        return ops.where(condition, self, other)

    subtract, multiply, divide, negative, fix = sub, mul, div, neg, trunc  # PyTorch's aliases

    # comparisons and truth values (outside the graph)
    def eq(self, other):
        return ops.eq(self, other)

    def ne(self, other):
        return ops.ne(self, other)

    def lt(self, other):
        return ops.lt(self, other)

    def le(self, other):
        return ops.le(self, other)

    def gt(self, other):
        return ops.gt(self, other)

    def ge(self, other):
        return ops.ge(self, other)

    greater, greater_equal, less, less_equal, not_equal = gt, ge, lt, le, ne

    def logical_not(self):
        return ops.logical_not(self)

    def logical_and(self, other):
        return ops.logical_and(self, other)

    def logical_or(self, other):
        return ops.logical_or(self, other)

    def logical_xor(self, other):
        return ops.logical_xor(self, other)

    def bitwise_not(self):
        return ops.bitwise_not(self)

    def bitwise_and(self, other):
        return ops.bitwise_and(self, other)

    def bitwise_or(self, other):
        return ops.bitwise_or(self, other)

    def bitwise_xor(self, other):
        return ops.bitwise_xor(self, other)

    def isnan(self):
        return ops.isnan(self)

    def isinf(self):
        return ops.isinf(self)

    def isfinite(self):
        return ops.isfinite(self)

    def isclose(self, other, rtol=1e-05, atol=1e-08, equal_nan=False):
        return ops.isclose(self, other, rtol, atol, equal_nan)

    def allclose(self, other, rtol=1e-05, atol=1e-08, equal_nan=False):
        return ops.allclose(self, other, rtol, atol, equal_nan)

    def equal(self, other):
        return ops.equal(self, other)

    def nonzero(self, *, as_tuple=False):
        return ops.nonzero(self, as_tuple=as_tuple)

    def argwhere(self):
        return ops.nonzero(self)

    def count_nonzero(self, dim=None):
        return ops.count_nonzero(self, dim)

    # reductions
    def prod(self, dim=None, keepdim=False, *, dtype=None):
        return ops.prod(self, dim, keepdim, dtype=dtype)

    def var(self, dim=None, unbiased=None, keepdim=False, *, correction=None):
        return ops.var(self, dim, unbiased, keepdim, correction=correction)

    def std(self, dim=None, unbiased=None, keepdim=False, *, correction=None):
        return ops.std(self, dim, unbiased, keepdim, correction=correction)

    def norm(self, p="fro", dim=None, keepdim=False, dtype=None):
        return ops.norm(self, p, dim, keepdim, dtype)

    def cumsum(self, dim, *, dtype=None):
        return ops.cumsum(self, dim, dtype=dtype)

    def any(self, dim=None, keepdim=False):
        return ops.any(self, dim, keepdim)

    def all(self, dim=None, keepdim=False):
        return ops.all(self, dim, keepdim)

    def argmax(self, dim=None, keepdim=False):
        return ops.argmax(self, dim, keepdim)

    def argmin(self, dim=None, keepdim=False):
        return ops.argmin(self, dim, keepdim)

    def amax(self, dim=(), keepdim=False):
        return ops.amax(self, dim, keepdim)

    def amin(self, dim=(), keepdim=False):
        return ops.amin(self, dim, keepdim)

    def topk(self, k, dim=-1, largest=True, sorted=True):
        return ops.topk(self, k, dim, largest, sorted)

    def sort(self, dim=-1, descending=False, stable=False):
        return ops.sort(self, dim, descending, stable)

    def argsort(self, dim=-1, descending=False, stable=False):
        return ops.argsort(self, dim, descending, stable)

    def kthvalue(self, k, dim=-1, keepdim=False):
        return ops.kthvalue(self, k, dim, keepdim)

    def median(self, dim=None, keepdim=False):
        return ops.median(self, dim, keepdim)

    # linear algebra
    def mm(self, other):
        return ops.mm(self, other)

    def bmm(self, other):
        return ops.bmm(self, other)

    def mv(self, vector):
        return ops.mv(self, vector)

    def dot(self, other):
        return ops.dot(self, other)

    def outer(self, other):
        return ops.outer(self, other)

    def addmm(self, mat1, mat2, *, beta=1, alpha=1):
        return ops.addmm(self, mat1, mat2, beta=beta, alpha=alpha)

    def tril(self, diagonal=0):
        return ops.tril(self, diagonal)

    def triu(self, diagonal=0):
        return ops.triu(self, diagonal)

    # picking by index
    def index_select(self, dim, index):
        return ops.index_select(self, dim, index)

    def gather(self, dim, index):
        return ops.gather(self, dim, index)

    def take_along_dim(self, indices, dim):
        return ops.take_along_dim(self, indices, dim)

    def masked_select(self, mask):
        return ops.masked_select(self, mask)

    def scatter(self, dim, index, src=None, *, value=None, reduce=None):
        return ops.scatter(self, dim, index, src, value=value, reduce=reduce)

    def scatter_add(self, dim, index, src):
        return ops.scatter_add(self, dim, index, src)

    def index_add(self, dim, index, source, *, alpha=1):
        return ops.index_add(self, dim, index, source, alpha=alpha)

    def repeat_interleave(self, repeats, dim=None, *, output_size=None):
        return ops.repeat_interleave(self, repeats, dim)

    # shapes
    def flatten(self, start_dim=0, end_dim=-1):
        return ops.flatten(self, start_dim, end_dim)

    def unflatten(self, dim, sizes):
        return ops.unflatten(self, dim, sizes)

    def expand(self, *sizes):  # x.expand(2, -1) or x.expand((2, -1))
        return ops.expand(self, _sizes(sizes, "expand"))

    def expand_as(self, other):
        return ops.expand(self, other.shape)

    def repeat(self, *sizes):
        return ops.repeat(self, _sizes(sizes, "repeat"))

    def narrow(self, dim, start, length):
        return ops.narrow(self, dim, start, length)

    def movedim(self, source, destination):
        return ops.movedim(self, source, destination)

    def swapdims(self, dim0, dim1):
        return ops.swapaxes(self, dim0, dim1)

    def split(self, split_size, dim=0):
        return ops.split(self, split_size, dim)

    def chunk(self, chunks, dim=0):
        return ops.chunk(self, chunks, dim)

    def flip(self, *dims):  # x.flip(0), x.flip(0, 1) or x.flip((0, 1))
        return ops.flip(self, _one_tuple(dims))

    def fliplr(self):
        return ops.flip(self, 1)

    def flipud(self):
        return ops.flip(self, 0)

    def roll(self, shifts, dims=None):
        return ops.roll(self, shifts, dims)

    moveaxis = movedim

    def stride(self, dim=None):
        """Steps between elements along each dimension, counted in elements."""
        steps = tuple(s // self.array.itemsize for s in self.array.strides)
        return steps if dim is None else steps[dim]

    def is_contiguous(self, memory_format=None):
        return bool(self.array.flags.c_contiguous)

    def nelement(self):
        return self.array.size

    def ndimension(self):
        return self.array.ndim

    # new tensors, with this one's dtype and device unless given
    def new_zeros(self, *size, dtype=None, device=None, requires_grad=False):
        from engine import factories

        return factories.new(self, factories.zeros, *size, dtype=dtype, device=device,
                             requires_grad=requires_grad)

    def new_ones(self, *size, dtype=None, device=None, requires_grad=False):
        from engine import factories

        return factories.new(self, factories.ones, *size, dtype=dtype, device=device,
                             requires_grad=requires_grad)

    def new_empty(self, *size, dtype=None, device=None, requires_grad=False):
        from engine import factories

        return factories.new(self, factories.empty, *size, dtype=dtype, device=device,
                             requires_grad=requires_grad)

    def new_full(self, size, fill_value, *, dtype=None, device=None, requires_grad=False):
        from engine import factories

        return factories.new(self, factories.full, size, fill_value, dtype=dtype, device=device,
                             requires_grad=requires_grad)

    def new_tensor(self, data, *, dtype=None, device=None, requires_grad=False):
        from engine import factories

        return factories.new(self, tensor, data, dtype=dtype, device=device,
                             requires_grad=requires_grad)

    # more in place (see _modify)
    def clamp_(self, min=None, max=None):
        return self._modify(ops.clamp, min, max)

    def masked_fill_(self, mask, value):
        return self._modify(ops.masked_fill, mask, value)

    def scatter_(self, dim, index, src=None, *, value=None, reduce=None):
        return self._modify(lambda t, s: ops.scatter(t, dim, index, s, value=value, reduce=reduce),
                            src)

    def scatter_add_(self, dim, index, src):
        return self._modify(lambda t, s: ops.scatter_add(t, dim, index, s), src)

    def index_add_(self, dim, index, source, *, alpha=1):
        return self._modify(lambda t, s: ops.index_add(t, dim, index, s, alpha=alpha), source)

    def relu_(self):
        return self._modify(ops.relu)

    def tanh_(self):
        return self._modify(ops.tanh)

    def sigmoid_(self):
        return self._modify(ops.sigmoid)

    def exp_(self):
        return self._modify(ops.exp)

    def uniform_(self, from_=0.0, to=1.0, *, generator=None):
        from engine import factories

        return self._modify(factories.uniform_values, from_, to, generator)

    def normal_(self, mean=0.0, std=1.0, *, generator=None):
        from engine import factories

        return self._modify(factories.normal_values, mean, std, generator)

    def bernoulli_(self, p=0.5, *, generator=None):
        from engine import factories

        return self._modify(factories.bernoulli_values, p, generator)

    clip_ = clamp_


def _dim(dim, ndim, op_name):
    """One axis (negatives count from the end), checked against ``ndim``."""
    if not isinstance(dim, (int, np.integer)) or isinstance(dim, bool):
        raise TypeError(f"{op_name}: dim must be an int; got {dim!r}")
    if not -max(ndim, 1) <= dim < max(ndim, 1):
        raise IndexError(f"{op_name}: dimension {dim} is out of range for a tensor of "
                         f"{ndim} dimensions")
    return dim % max(ndim, 1)


def _sizes(args, method):
    """A method's sizes, given as varargs or one tuple (``x.view(2, 3)``, ``x.view((2, 3))``);
    none at all is PyTorch's TypeError."""
    if not args:
        raise TypeError(f"{method}() needs sizes: {method}(2, 3) or {method}((2, 3)); got none")
    return _one_tuple(args)


for _name, _hint in UNSUPPORTED.items():  # PyTorch's methods that are not here say so
    if _name in vars(Tensor):
        raise AssertionError(f"Tensor.{_name} exists: take it out of engine.unsupported")
    setattr(Tensor, _name, Unsupported(_name, _hint))


# ---------------------------------------------------------------- in place


class Assign(Function):
    """What an in-place change leaves in the graph: the tensor's value is now ``value``.

    Its old value (``before``) reaches the gradient only through ``value`` (e.g.
    ``value = before + x``), so nothing flows to ``before`` here. ``previous``
    keeps the node that had made the old value, for consumers that saw it.
    """

    saved_inputs = ()

    def forward(self, before, value):
        return value

    def backward(self, grad):
        return None, grad

    def release(self):
        previous, sequence = self.previous, self.sequence
        super().release()
        self.previous, self.sequence = previous, sequence  # consumers of the old value need them


def _as_seen_by(consumer, producer):
    """The (node, output index) that made a parent's value as ``consumer`` saw it, when the
    parent was changed in place after ``consumer`` used it (``producer`` is then later)."""
    if consumer.view:
        raise RuntimeError(
            f"a tensor was changed by an in-place operation after a view of it "
            f"({type(consumer).__name__}) was taken and used; loopgrad does not rebase views "
            "(PyTorch does): take the view after the change, or of a .clone()")
    index = None
    while producer is not None and producer.sequence > consumer.sequence:
        producer, index = producer.previous
    return producer, index


_new = object.__new__
_last_change = [-1]  # the creation number of the latest in-place change


def _counter(t):
    """The version counter of ``t``'s array: ``[changes, creation number of the last]``.

    Made when first needed (an in-place change, a view, ``detach``), off the hot path;
    a node whose backward reads this very array (its output) is then given it too.
    """
    counter = t._versions
    if counter is None:
        counter = t._versions = [0, 0]
        node = t._ctx
        if node is not None and node.saves_output:
            node.output_counter = counter
    return counter


def _check_versions(node):
    """Refuse to run ``node.backward`` if an array it saved was changed in place since."""
    saved = node.saved_inputs
    saved = range(len(node.parents)) if saved is None else saved
    counters = [(node.parents[i]._versions, f"input {i} of shape {node.parents[i].shape}")
                for i in saved]
    counters.append((node.output_counter, "output 0"))
    for counter, what in counters:
        if counter is not None and counter[1] > node.sequence:
            raise RuntimeError(
                "one of the variables needed for gradient computation has been modified by an "
                f"inplace operation: the {what} of {type(node).__name__} is at version "
                f"{counter[0]}, changed after {type(node).__name__} saved it. Hint: an in-place "
                "change (x += ..., x[i] = ..., x.add_(...), optimizer.step()) came between the "
                "forward pass and backward()"
            )


# ---------------------------------------------------------------- the backward walk


def _backward(tensors, gradients, retain_graph, inputs=None):
    """``backward`` of several outputs at once, each with its gradient (None: ones)."""
    roots = []
    for t, gradient in zip(tensors, gradients):
        if not t.requires_grad:
            raise RuntimeError("backward(): this tensor does not require grad and has no graph")
        roots.append((t, _root_gradient(t, gradient)))
    if inputs is not None:
        inputs = [inputs] if isinstance(inputs, Tensor) else list(inputs)
        for t, g in zip(inputs, _run_backward(roots, retain_graph, inputs)):
            if g is not None:
                t._accumulate(g)
        return
    _run_backward(roots, retain_graph)


def _root_gradient(t, gradient):
    """The gradient a backward walk starts ``t`` with, checked against ``t``."""
    if gradient is None:
        if t.array.size != 1:
            raise RuntimeError(
                f"grad can be implicitly created only for scalar outputs; got shape "
                f"{t.shape}: pass gradient= of that shape"
            )
        return backend.xp_of(t.array).ones_like(t.array)
    gradient = gradient.array if isinstance(gradient, Tensor) else gradient
    if not hasattr(gradient, "shape"):
        raise TypeError(f"backward(): gradient must be a Tensor or an array of shape "
                        f"{t.shape}; got {type(gradient).__name__}")
    if gradient.shape != t.shape:
        raise ValueError(
            f"backward(): gradient has shape {gradient.shape}, expected the tensor's {t.shape}"
        )
    if type(gradient) is not type(t.array):
        raise RuntimeError(f"backward(): gradient is not on the tensor's device {t.device}")
    return gradient.astype(t.dtype, copy=False)


def _run_backward(roots, retain_graph, capture=None):
    """Propagate each root's gradient (``roots``: (tensor, gradient array) pairs) down the graph.

    Without ``capture`` the gradients accumulate into ``.grad`` of the leaves
    (and of non-leaves that ``retain_grad()``). With ``capture`` (a list of
    tensors), nothing is accumulated: the gradient reaching each of those
    tensors is returned, in order (None where none reached it).

    Nodes run latest-created first: each consumer of a node's outputs was created
    after it, so it has added its share to ``pending`` by the time the node runs.
    """
    pending = {}  # node -> the gradient of each output
    leaf_grads = {}  # leaf Tensor -> its summed gradient, stored once at the end
    heap = []
    pop, push = heapq.heappop, heapq.heappush
    for t, grad in roots:
        if t._ctx is None:
            leaf_grads[t] = grad if t not in leaf_grads else leaf_grads[t] + grad
            continue
        node = t._ctx
        if node.released:
            raise RuntimeError(_FREED)
        if node not in pending:
            pending[node] = [None] * node.num_outputs
            push(heap, (-node.sequence, node))
        slots, index = pending[node], t._output_index
        slots[index] = grad if slots[index] is None else slots[index] + grad
    captured = {}  # (node, output index) of a non-leaf in ``capture`` -> its gradient
    wanted = {(t._ctx, t._output_index) for t in capture if t._ctx is not None} if capture else ()
    last_change = _last_change[0]  # nothing changes in place during the walk
    while heap:
        node = pop(heap)[1]
        output_grads = pending.pop(node)
        sequence = node.sequence
        if sequence < last_change and node._saves:
            _check_versions(node)  # something was changed in place since the node was made
        if node.hooks:
            for index, registered in node.hooks.items():
                if output_grads[index] is not None:
                    output_grads[index] = hooks.run_hooks(registered, output_grads[index],
                                                          _wrap, capture is not None)
        if wanted:
            for index, g in enumerate(output_grads):
                if (node, index) in wanted:
                    captured[node, index] = g
        if node.num_outputs == 1:
            input_grads = node.backward(output_grads[0])
        else:
            input_grads = node.backward(*_fill_missing(node, output_grads))
        if not isinstance(input_grads, tuple):
            input_grads = (input_grads,)
        if _Anomaly.enabled:
            _check_backward(node, input_grads)
        for parent, needed, g in zip(node.parents, node.needs_input_grad, input_grads):
            if not needed or g is None:
                continue
            if isinstance(g, np.generic):  # NumPy turns 0-d results into scalars
                g = np.asarray(g)
            array = parent.array
            if g.shape != array.shape:
                g = unbroadcast(g, array.shape, type(node).__name__)
            if g.dtype != array.dtype:
                g = g.astype(array.dtype)
            producer, index = parent._ctx, parent._output_index
            if producer is not None and producer.sequence > sequence:
                producer, index = _as_seen_by(node, producer)  # changed in place since
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
            slots[index] = g if slots[index] is None else slots[index] + g
        if not retain_graph:
            node.release()
    if hooks.leaf_hooks:
        for leaf, g in leaf_grads.items():
            registered = hooks.leaf_hooks.get(leaf)
            if registered:
                leaf_grads[leaf] = hooks.run_hooks(registered, g, _wrap, True)
    if capture is not None:
        return [leaf_grads.get(t) if t._ctx is None else captured.get((t._ctx, t._output_index))
                for t in capture]
    for leaf, g in leaf_grads.items():
        leaf._accumulate(g)


def _wrap(array):
    """A gradient array as a Tensor outside the graph, for a hook."""
    return Tensor._make(array, False, None, 0)


def _check_forward(op_name, inputs, out):
    """Anomaly mode: raise if the op's output holds a NaN (or an inf); else where it was
    called from, for backward's report."""
    line = hooks.user_line()
    for array in out if isinstance(out, tuple) else (out,):
        value = hooks.non_finite(array)
        if value:
            raise hooks.report(op_name, "output", value, inputs, line)
    return line


def _check_backward(node, input_grads):
    """Anomaly mode: raise if backward made a NaN (or an inf) for one of the node's inputs."""
    for i, g in enumerate(input_grads):
        value = None if g is None else hooks.non_finite(g)
        if value:
            line = getattr(node, "called_at", "(made outside detect_anomaly)")
            raise hooks.report(type(node).__name__, f"backward (the gradient of input {i})",
                               value, node.parents, line)


_FREED = (
    "backward(): part of this graph was freed by an earlier backward(); "
    "pass retain_graph=True to the earlier call"
)


def _fill_missing(node, output_grads):
    """Zeros for the outputs of a multi-output node that got no gradient."""
    xp = backend.xp_of(node.parents[0].array)
    return [
        xp.zeros(shape, dtype) if g is None else g
        for g, (shape, dtype) in zip(output_grads, node.output_meta)
    ]


def grad(outputs, inputs, grad_outputs=None, retain_graph=None, create_graph=False,
         allow_unused=False):
    """PyTorch's ``torch.autograd.grad``: the gradients of ``outputs`` with respect to each
    of ``inputs`` (leaves or not), returned as a tuple, without touching any ``.grad``.

    >>> x = tensor([1.0, 2.0], requires_grad=True)
    >>> grad((x * x).sum(), x)
    (tensor([2., 4.]),)
    """
    if create_graph:
        raise NotImplementedError("autograd.grad(create_graph=True): higher-order gradients "
                                  "are not supported yet")
    outputs = [outputs] if isinstance(outputs, Tensor) else list(outputs)
    inputs = [inputs] if isinstance(inputs, Tensor) else list(inputs)
    if grad_outputs is None or isinstance(grad_outputs, Tensor):
        grad_outputs = [grad_outputs] * len(outputs)
    roots = [(t, _root_gradient(t, g)) for t, g in zip(outputs, grad_outputs)]
    for i, t in enumerate(inputs):
        if not t.requires_grad:
            raise RuntimeError(f"autograd.grad: input {i} does not require grad")
    grads = _run_backward(roots, bool(retain_graph), inputs)
    for i, g in enumerate(grads):
        if g is None and not allow_unused:
            raise RuntimeError(f"autograd.grad: input {i} was not used in the graph; pass "
                               "allow_unused=True to get None for it")
    return tuple(None if g is None else Tensor._make(g, False, None, 0) for g in grads)


def tensor(data, dtype=None, device=None, requires_grad=False):
    """Make a Tensor (a copy of ``data``, as PyTorch's ``torch.tensor``).

    A NumPy array keeps its dtype; Python floats (and lists of them) become the
    default dtype (float32); Python ints stay integer (int64) and bools bool.
    ``device=None`` keeps an array where it is and puts Python data on the CPU.

    >>> tensor([1.0, 2.0]).dtype
    dtype('float32')
    >>> tensor(np.arange(3)).dtype
    dtype('int64')
    """
    array = _to_array(data, dtype)
    if backend.is_array(data) and array is data:
        array = array.copy()
    if device is None and not backend.is_array(data) and not isinstance(data, Tensor):
        device = backend.default_device()  # Python data: the default device (the CPU)
    return Tensor(array, requires_grad=requires_grad, device=device)


# The ops import Tensor and Function from this module, and the operators above
# call the ops: importing them last, once both classes exist, breaks the cycle.
from engine import ops  # noqa: E402
