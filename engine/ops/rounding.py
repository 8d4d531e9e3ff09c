"""Rounding and integer division: ops whose value moves in steps.

Steps:      Step (floor ceil round trunc sign): piecewise constant, so the gradient is 0
            wherever it exists, as PyTorch's
            frac = a - trunc(a) (gradient 1)
Division:   FloorDivide (a // b, gradient 0), Remainder (a % b, the sign of b: Python's
            and PyTorch's), Fmod (C's: the sign of a); div(rounding_mode=) picks one

On integer tensors they compute in integers and stay outside the graph (integers never
require grad).
"""

from engine.backend import xp_of
from engine.ops.elementwise import div, operands, sub
from engine.tensor import Function, Tensor


class Step(Function):
    """``kind`` of ``a``: 'floor', 'ceil', 'round' (to ``decimals``, half to even), 'trunc' or
    'sign' (0 at nan, as PyTorch)."""

    saved_inputs = ()

    def forward(self, a, kind, decimals=0):
        xp = xp_of(a)
        if a.dtype.kind in "biu" and kind != "sign":
            return a.copy()  # an integer is its own floor, ceil, round and trunc
        if kind == "round":
            return xp.round(a, decimals)
        if kind == "sign":
            if a.dtype.kind == "b":
                return a.copy()
            return xp.nan_to_num(xp.sign(a), nan=0.0)
        return getattr(xp, kind)(a)

    def backward(self, grad):
        return xp_of(grad).zeros_like(grad)  # flat between the steps


class FloorDivide(Function):
    saved_inputs = ()

    def forward(self, a, b):
        return xp_of(a).floor_divide(a, b)

    def backward(self, grad):
        zero = xp_of(grad).zeros_like(grad)
        return zero, zero  # flat between the steps (PyTorch does not differentiate it)


class Remainder(Function):
    saved_inputs = (0, 1)
    kind, rounding = "remainder", "floor"  # a % b = a - b * floor(a / b)

    def forward(self, a, b):
        self.a, self.b = a, b
        return getattr(xp_of(a), self.kind)(a, b)

    def backward(self, grad):
        # d (a - b q) = da - q db, q constant between the steps
        quotient = getattr(xp_of(grad), self.rounding)(self.a / self.b)
        return grad, -grad * quotient


class Fmod(Remainder):
    kind, rounding = "fmod", "trunc"  # fmod(a, b) = a - b * trunc(a / b)


def floor(a):
    return Step.apply(a, kind="floor")


def ceil(a):
    return Step.apply(a, kind="ceil")


def round(a, decimals=0):
    """Round half to even (0.5 -> 0, 1.5 -> 2), to ``decimals`` places, as PyTorch."""
    return Step.apply(a, kind="round", decimals=decimals)


def trunc(a):
    return Step.apply(a, kind="trunc")


fix = trunc


def sign(a):
    return Step.apply(a, kind="sign")


def frac(a):
    """The fractional part, with the sign of ``a``: ``a - trunc(a)``."""
    return sub(a, trunc(a))


def floor_divide(a, b):
    """``a // b`` rounded down (PyTorch's and Python's)."""
    return FloorDivide.apply(*operands(a, b))


def remainder(a, b):
    """``a % b`` with the sign of ``b`` (Python's): ``a - b * floor(a / b)``."""
    return Remainder.apply(*operands(a, b))


def fmod(a, b):
    """The remainder with the sign of ``a`` (C's): ``a - b * trunc(a / b)``."""
    return Fmod.apply(*operands(a, b))


def true_divide(a, b):
    return div(a, b)


def divide(a, b, *, rounding_mode=None):
    """``a / b``; ``rounding_mode='trunc'`` or ``'floor'`` rounds the quotient, as PyTorch's
    ``div`` (integers then stay integers)."""
    if rounding_mode is None:
        return div(a, b)
    if rounding_mode == "floor":
        return floor_divide(a, b)
    if rounding_mode == "trunc":
        a, b = operands(a, b)
        if a.dtype.kind == "f":
            return trunc(div(a, b))
        xp = xp_of(a.array)
        quotient = xp.floor_divide(a.array, b.array)
        quotient += (quotient < 0) & (xp.remainder(a.array, b.array) != 0)  # toward zero
        return Tensor._make(xp.asarray(quotient), False, None, 0)
    raise ValueError(f"div: rounding_mode must be None, 'trunc' or 'floor'; got {rounding_mode!r}")
