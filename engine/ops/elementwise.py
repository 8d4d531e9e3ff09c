"""Elementwise ops: one Function each (forward beside backward), then its wrapper.

Binary:  Add Sub Mul Div Pow PowScalar Maximum Minimum Where
Unary:   Neg Exp Expm1 Log Log1p Sqrt Rsqrt Sin Cos Tanh Sigmoid ReLU Abs Clip Astype Clone
Compositions: square, clamp (= clip; number or tensor bounds) clamp_min clamp_max, masked_fill
Copies:  clone, copy_of (what ``copy_`` and ``fill_`` write)
Outside the graph: eq ne lt le gt ge (bool results)

Broadcasting is NumPy's; each backward returns gradients in the broadcast
output shape and ``Tensor.backward`` sums them back to each input's shape.
"""

import operator

import numpy as np

from engine import dtypes
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


def add(a, b, *, alpha=1):
    """``a + alpha * b``, as PyTorch's ``add``."""
    if alpha != 1:
        b = mul(b, alpha)
    return Add.apply(*operands(a, b))


def sub(a, b, *, alpha=1):
    """``a - alpha * b``, as PyTorch's ``sub``."""
    if alpha != 1:
        b = mul(b, alpha)
    return Sub.apply(*operands(a, b))


def mul(a, b):
    return Mul.apply(*operands(a, b))


def div(a, b, *, rounding_mode=None):
    """``a / b``; ``rounding_mode='trunc'`` or ``'floor'`` rounds the quotient (PyTorch's)."""
    if rounding_mode is not None:
        from engine.ops.rounding import divide  # rounding.py imports this module

        return divide(a, b, rounding_mode=rounding_mode)
    a, b = operands(a, b)
    if a.array.dtype.kind != "f":  # 7 / 2 is 3.5, in the default float dtype, as in PyTorch
        dtype = dtypes.get_default_dtype()
        a, b = (Tensor._make(t.array.astype(dtype), False, None, 0) for t in (a, b))
    return Div.apply(a, b)


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


def where(condition, a=None, b=None):
    """``a`` where ``condition`` is true, else ``b`` (broadcast together); ``where(condition)``
    alone is ``nonzero(condition, as_tuple=True)``, as in PyTorch."""
    if not isinstance(condition, Tensor):
        condition = Tensor(condition)
    if a is None and b is None:
        from engine.ops.logic import nonzero  # logic.py imports this module

        return nonzero(condition, as_tuple=True)
    if condition.dtype != np.bool_:
        raise TypeError(f"where: condition must be bool; got {condition.dtype}")
    if not isinstance(a, Tensor) and not isinstance(b, Tensor):
        a = Tensor(a)  # two numbers: promoted together, as PyTorch does (1, 0.5: float)
    return Where.apply(condition, *operands(a, b))


def _compare(a, b, compare):
    a, b = operands(a, b)
    out = compare(a.array, b.array)
    if isinstance(out, np.generic):  # NumPy compares 0-d arrays into scalars
        out = np.asarray(out)
    return Tensor._make(out, False, None, 0)


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


class Expm1(Function):
    saved_inputs, saves_output = (), True

    def forward(self, a):
        self.out = xp_of(a).expm1(a)  # exp(a) - 1 without losing digits near 0
        return self.out

    def backward(self, grad):
        return grad * (self.out + 1)  # d (exp(a) - 1) = exp(a) da


class Log1p(Function):
    saved_inputs = (0,)

    def forward(self, a):
        self.a = a
        return xp_of(a).log1p(a)  # log(1 + a) without losing digits near 0

    def backward(self, grad):
        return grad / (1 + self.a)  # d log(1 + a) = da / (1 + a)


class Rsqrt(Function):
    saved_inputs, saves_output = (), True

    def forward(self, a):
        self.out = 1 / xp_of(a).sqrt(a)
        return self.out

    def backward(self, grad):
        return grad * -0.5 * self.out**3  # d a^(-1/2) = -1/2 a^(-3/2) da


class Sin(Function):
    saved_inputs = (0,)

    def forward(self, a):
        self.a = a
        return xp_of(a).sin(a)

    def backward(self, grad):
        return grad * xp_of(grad).cos(self.a)  # d sin(a) = cos(a) da


class Cos(Function):
    saved_inputs = (0,)

    def forward(self, a):
        self.a = a
        return xp_of(a).cos(a)

    def backward(self, grad):
        return grad * -xp_of(grad).sin(self.a)  # d cos(a) = -sin(a) da


def stable_sigmoid(a):
    """1 / (1 + exp(-a)), PyTorch's formula, accurate to a few ulps down to the smallest
    normal number: where exp(-a) overflows (a < -88.7 in float32) it is inf and the result
    its limit, 0, so NumPy's overflow warning is silenced; a NaN stays NaN. Four passes
    over ``a``, one of them exp (the costly one at these sizes)."""
    xp = xp_of(a)
    with np.errstate(over="ignore"):
        e = xp.exp(-a)
    e += 1
    return xp.reciprocal(e, out=e) if isinstance(e, xp.ndarray) else 1 / e


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


def expm1(a):
    return Expm1.apply(a)


def log(a):
    return Log.apply(a)


def log1p(a):
    return Log1p.apply(a)


def rsqrt(a):
    return Rsqrt.apply(a)


def sin(a):
    return Sin.apply(a)


def cos(a):
    return Cos.apply(a)


def square(a):
    return pow(a, 2)


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


def clamp(a, min=None, max=None):
    """Limit values to [min, max] (either may be None): ``minimum(maximum(a, min), max)``.
    Bounds are numbers or tensors (broadcasting); the gradient reaches ``a`` where it lies
    inside (bounds included) and a tensor bound where it wins, as PyTorch's."""
    if min is None and max is None:
        raise ValueError("clamp: give at least one of min and max")
    if not isinstance(min, Tensor) and not isinstance(max, Tensor):
        if a.dtype.kind != "f" and any(isinstance(v, float) for v in (min, max)):
            a = astype(a, dtypes.get_default_dtype())  # int tensor, float bound: a float result
        return Clip.apply(a, low=min, high=max)
    out = a
    if min is not None:
        out = where(out < min, min, out)
    if max is not None:
        out = where(out > max, max, out)  # after min: max wins when min > max
    return out


clip = clamp  # NumPy's and PyTorch's other name


def clamp_min(a, min):
    return clamp(a, min=min)


def clamp_max(a, max):
    return clamp(a, max=max)


def masked_fill(a, mask, value):
    """``a`` with ``value`` (a number, or a 0-d tensor that may require grad) where the bool
    ``mask`` (broadcast against ``a``) is true."""
    if not isinstance(mask, Tensor) or mask.dtype != np.bool_:
        kind = mask.dtype if isinstance(mask, Tensor) else type(mask).__name__
        raise TypeError(f"masked_fill: mask must be a bool tensor; got {kind}")
    if isinstance(value, Tensor):
        if value.ndim != 0:
            raise ValueError(f"masked_fill: value must be a number or a 0-d tensor; got a "
                             f"tensor of shape {value.shape}")
        value = astype(value, a.dtype)
    else:
        value = Tensor._make(xp_of(a.array).asarray(value, dtype=a.dtype), False, None, 0)
    return Where.apply(mask, value, a)


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
    if np.broadcast_shapes(src.shape, like.shape) != like.shape:
        raise RuntimeError(f"the source of shape {src.shape} cannot be broadcast to the "
                           f"tensor's shape {like.shape}")
    src = src.to(like.device).astype(like.dtype)
    return src if src.shape == like.shape else src.broadcast_to(like.shape)
