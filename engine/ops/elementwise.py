"""Elementwise ops: one Function each (forward beside backward), then its wrapper.

Binary:  Add Sub Mul Div Pow PowScalar Maximum Minimum Where
Unary:   Neg Exp Log Sqrt Tanh Sigmoid ReLU Abs Clip Astype Clone
Copies:  clone, copy_of (what ``copy_`` and ``fill_`` write)
Outside the graph: eq ne lt le gt ge (bool results)

Broadcasting is NumPy's; each backward returns gradients in the broadcast
output shape and ``Tensor.backward`` sums them back to each input's shape.
"""

import operator

import numpy as np

from engine.backend import xp_of
from engine.tensor import Function, Tensor


def _constant(value, like):
    """A Python number or array as a constant Tensor beside the Tensor ``like``."""
    if isinstance(value, Tensor):
        return value
    if isinstance(value, (bool, int, float, np.generic)):
        if like.dtype.kind == "f":
            dtype = like.dtype  # a number takes the tensor's float dtype
        elif isinstance(value, (float, np.floating)):
            dtype = np.float32
        else:
            dtype = np.result_type(like.dtype, value)
        return Tensor._make(xp_of(like.array).asarray(value, dtype=dtype), False, None, 0)
    if isinstance(value, (list, tuple)) and like.dtype.kind == "f":
        return Tensor(value, dtype=like.dtype, device=like.device)  # like a number
    return Tensor(value)


def _float_of(tensor, like):
    """An integer or bool tensor next to a float one is cast to the float dtype."""
    if tensor.dtype.kind != "f" and like.dtype.kind == "f":
        return Tensor._make(tensor.array.astype(like.dtype), False, None, 0)
    return tensor


def operands(a, b):
    """Two Tensors from ``a`` and ``b``, at most one of which may be a number or array."""
    if isinstance(a, Tensor) and isinstance(b, Tensor) and a.array.dtype == b.array.dtype:
        return a, b  # the common case, first
    if not isinstance(a, Tensor):
        if not isinstance(b, Tensor):
            raise TypeError(
                f"expected at least one Tensor; got {type(a).__name__} and {type(b).__name__}"
            )
        a = _constant(a, b)
    elif not isinstance(b, Tensor):
        b = _constant(b, a)
    return _float_of(a, b), _float_of(b, a)


# ---------------------------------------------------------------- binary


class Add(Function):
    saved_inputs = ()

    def forward(self, a, b):
        return a + b

    def backward(self, grad):
        return grad, grad  # d(a + b) = da + db


class Sub(Function):
    saved_inputs = ()

    def forward(self, a, b):
        return a - b

    def backward(self, grad):
        return grad, -grad  # d(a - b) = da - db


class Mul(Function):
    saved_inputs = (0, 1)

    def forward(self, a, b):
        self.a, self.b = a, b
        return a * b

    def backward(self, grad):
        # d(a * b) = b da + a db
        grad_a = grad * self.b if self.needs_input_grad[0] else None
        grad_b = grad * self.a if self.needs_input_grad[1] else None
        return grad_a, grad_b


class Div(Function):
    saved_inputs, saves_output = (1,), True

    def forward(self, a, b):
        self.b = b
        self.out = a / b
        return self.out

    def backward(self, grad):
        # d(a / b) = da / b - (a / b^2) db = da / b - out db / b
        grad_a = grad / self.b
        return grad_a, -grad_a * self.out


class Pow(Function):
    saved_inputs, saves_output = (0, 1), True

    def forward(self, a, b):
        self.a, self.b = a, b
        self.out = a**b
        return self.out

    def backward(self, grad):
        # d(a^b) = b a^(b-1) da + a^b log(a) db
        xp = xp_of(grad)
        grad_a = grad * self.b * self.a ** (self.b - 1) if self.needs_input_grad[0] else None
        grad_b = None
        if self.needs_input_grad[1]:
            # a^b log(a) -> 0 as a -> 0 for b >= 0 (0 * -inf would be nan): PyTorch's choice too
            with np.errstate(divide="ignore", invalid="ignore"):
                grad_b = grad * self.out * xp.log(self.a)
            grad_b = xp.where((self.a == 0) & (self.b >= 0), grad.dtype.type(0), grad_b)
        return grad_a, grad_b


class PowScalar(Function):
    saved_inputs = (0,)

    def forward(self, a, exponent):
        self.a, self.exponent = a, exponent
        return a**exponent

    def backward(self, grad):
        if self.exponent == 0:  # a^0 is constant (and 0 * a^-1 would be nan at a = 0)
            return xp_of(grad).zeros_like(grad)
        return grad * self.exponent * self.a ** (self.exponent - 1)  # d(a^p) = p a^(p-1) da


class Maximum(Function):
    saved_inputs = ()  # the shares are computed in forward

    def forward(self, a, b):
        # ties share the gradient equally, as the central difference sees it
        self.share_a = (a > b) + 0.5 * (a == b)
        return xp_of(a).maximum(a, b)

    def backward(self, grad):
        share_a = self.share_a.astype(grad.dtype, copy=False)
        return grad * share_a, grad * (1 - share_a)


class Minimum(Function):
    saved_inputs = ()

    def forward(self, a, b):
        self.share_a = (a < b) + 0.5 * (a == b)
        return xp_of(a).minimum(a, b)

    def backward(self, grad):
        share_a = self.share_a.astype(grad.dtype, copy=False)
        return grad * share_a, grad * (1 - share_a)


class Where(Function):
    saved_inputs = (0,)

    def forward(self, condition, a, b):
        self.condition = condition
        return xp_of(a).where(condition, a, b)

    def backward(self, grad):
        zero = grad.dtype.type(0)
        xp = xp_of(grad)
        return None, xp.where(self.condition, grad, zero), xp.where(self.condition, zero, grad)


def add(a, b):
    return Add.apply(*operands(a, b))


def sub(a, b):
    return Sub.apply(*operands(a, b))


def mul(a, b):
    return Mul.apply(*operands(a, b))


def div(a, b):
    return Div.apply(*operands(a, b))


def pow(a, exponent):
    """``a ** exponent``; a number exponent is a constant, a Tensor one gets a gradient."""
    if isinstance(a, Tensor) and isinstance(exponent, (int, float, np.generic)):
        if isinstance(exponent, np.generic):  # a Python number takes the tensor's dtype
            exponent = exponent.item()
        return PowScalar.apply(a, exponent=exponent)
    return Pow.apply(*operands(a, exponent))


def maximum(a, b):
    return Maximum.apply(*operands(a, b))


def minimum(a, b):
    return Minimum.apply(*operands(a, b))


def where(condition, a, b):
    """``a`` where ``condition`` is true, else ``b`` (broadcast together)."""
    like = a if isinstance(a, Tensor) else b
    if not isinstance(condition, Tensor):
        condition = Tensor(condition)
    if condition.dtype != np.bool_:
        raise TypeError(f"where: condition must be bool; got {condition.dtype}")
    a, b = operands(a, b) if isinstance(like, Tensor) else (Tensor(a), Tensor(b))
    return Where.apply(condition, a, b)


def _compare(a, b, compare):
    a, b = operands(a, b)
    return Tensor._make(compare(a.array, b.array), False, None, 0)


def eq(a, b):
    return _compare(a, b, operator.eq)


def ne(a, b):
    return _compare(a, b, operator.ne)


def lt(a, b):
    return _compare(a, b, operator.lt)


def le(a, b):
    return _compare(a, b, operator.le)


def gt(a, b):
    return _compare(a, b, operator.gt)


def ge(a, b):
    return _compare(a, b, operator.ge)


# ---------------------------------------------------------------- unary


class Neg(Function):
    saved_inputs = ()

    def forward(self, a):
        return -a

    def backward(self, grad):
        return -grad


class Exp(Function):
    saved_inputs, saves_output = (), True

    def forward(self, a):
        self.out = xp_of(a).exp(a)  # saved: the derivative is the output itself
        return self.out

    def backward(self, grad):
        return grad * self.out  # d exp(a) = exp(a) da


class Log(Function):
    saved_inputs = (0,)

    def forward(self, a):
        self.a = a
        return xp_of(a).log(a)

    def backward(self, grad):
        return grad / self.a  # d log(a) = da / a


class Sqrt(Function):
    saved_inputs, saves_output = (), True

    def forward(self, a):
        self.out = xp_of(a).sqrt(a)
        return self.out

    def backward(self, grad):
        return grad / (2 * self.out)  # d sqrt(a) = da / (2 sqrt(a))


class Tanh(Function):
    saved_inputs, saves_output = (), True

    def forward(self, a):
        self.out = xp_of(a).tanh(a)
        return self.out

    def backward(self, grad):
        return grad * (1 - self.out * self.out)  # d tanh(a) = (1 - tanh(a)^2) da


def stable_sigmoid(a):
    """1 / (1 + exp(-a)) without overflow: exp only ever sees -|a|."""
    xp = xp_of(a)
    e = xp.exp(-xp.abs(a))
    return xp.where(a >= 0, 1 / (1 + e), e / (1 + e))


class Sigmoid(Function):
    saved_inputs, saves_output = (), True

    def forward(self, a):
        self.out = stable_sigmoid(a)
        return self.out

    def backward(self, grad):
        return grad * self.out * (1 - self.out)  # d s(a) = s(a) (1 - s(a)) da


class ReLU(Function):
    saved_inputs = ()

    def forward(self, a):
        self.positive = a > 0
        return xp_of(a).maximum(a, 0)  # not a * positive: that is nan at -inf

    def backward(self, grad):
        return grad * self.positive  # d relu(a) = [a > 0] da


class Abs(Function):
    saved_inputs = ()

    def forward(self, a):
        self.sign = xp_of(a).sign(a)
        return xp_of(a).abs(a)

    def backward(self, grad):
        return grad * self.sign  # d |a| = sign(a) da


class Clip(Function):
    saved_inputs = ()

    def forward(self, a, low, high):
        self.inside = xp_of(a).ones(a.shape, dtype=bool)
        if low is not None:
            self.inside &= a >= low
        if high is not None:
            self.inside &= a <= high
        return xp_of(a).clip(a, low, high)

    def backward(self, grad):
        return grad * self.inside  # gradient passes only where a was not clipped


class Astype(Function):
    saved_inputs = ()

    def forward(self, a, dtype):
        return a.astype(dtype)

    def backward(self, grad):
        return grad  # Tensor.backward casts it back to the input's dtype


class Clone(Function):
    saved_inputs = ()

    def forward(self, a):
        return a.copy()

    def backward(self, grad):
        return grad


def neg(a):
    return Neg.apply(a)


def exp(a):
    return Exp.apply(a)


def log(a):
    return Log.apply(a)


def sqrt(a):
    return Sqrt.apply(a)


def tanh(a):
    return Tanh.apply(a)


def sigmoid(a):
    return Sigmoid.apply(a)


def relu(a):
    return ReLU.apply(a)


def abs(a):
    return Abs.apply(a)


def clip(a, min=None, max=None):
    """Limit values to [min, max] (either may be None)."""
    if min is None and max is None:
        raise ValueError("clip: give at least one of min and max")
    if isinstance(min, Tensor) or isinstance(max, Tensor):
        raise TypeError("clip: min and max must be numbers; for tensor bounds use "
                        "engine.maximum / engine.minimum")
    return Clip.apply(a, low=min, high=max)


def astype(a, dtype):
    """A copy with ``dtype``; to a non-float dtype it leaves the graph."""
    dtype = np.dtype(dtype)
    if dtype == a.dtype:
        return a
    if dtype.kind != "f":
        return Tensor._make(a.array.astype(dtype), False, None, 0)
    return Astype.apply(a, dtype=dtype)


def clone(a):
    """A copy in new memory, gradient flowing back."""
    return Clone.apply(a)


def copy_of(like, src):
    """``src`` (a Tensor, array or number) as ``like``'s shape, dtype and device: broadcast,
    cast and moved, gradient flowing to ``src``. It is what ``like.copy_(src)`` writes."""
    if not isinstance(src, Tensor):
        xp = xp_of(like.array)
        return Tensor._make(xp.broadcast_to(xp.asarray(src, dtype=like.dtype), like.shape),
                            False, None, 0)
    src = src.to(like.device).astype(like.dtype)
    return src if src.shape == like.shape else src.broadcast_to(like.shape)
