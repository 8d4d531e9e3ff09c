"""Truth values, outside the graph (nothing here has a gradient).

Logical:    logical_not logical_and logical_or logical_xor: any dtype in, bool out
Bitwise:    bitwise_not bitwise_and bitwise_or bitwise_xor: integers and bools (what the
            operators ~ & | ^ do, as in PyTorch: on bools they are the logical ops)
Predicates: isnan isinf isfinite isclose, allclose equal (Python bools)
Positions:  nonzero (argwhere) count_nonzero

Either operand of a binary op may be a Python number or bool.
"""

import numpy as np

from engine.backend import xp_of
from engine.ops.reduce import normalize_axes
from engine.tensor import Tensor


def _outside(array):
    if isinstance(array, np.generic):  # NumPy turns 0-d results into scalars
        array = np.asarray(array)
    return Tensor._make(array, False, None, 0)


def _arrays(a, b, op_name):
    """The arrays of ``a`` and ``b`` (at most one a number), on one device."""
    if not isinstance(a, Tensor) and not isinstance(b, Tensor):
        raise TypeError(f"{op_name}: expected at least one Tensor; got {type(a).__name__} "
                        f"and {type(b).__name__}")
    if isinstance(a, Tensor) and isinstance(b, Tensor) and a.device != b.device:
        raise RuntimeError(f"{op_name}: inputs are on different devices: {a.device} and "
                           f"{b.device}")
    return tuple(t.array if isinstance(t, Tensor) else t for t in (a, b))


# ---------------------------------------------------------------- logical


def logical_not(a):
    return _outside(xp_of(a.array).logical_not(a.array))


def logical_and(a, b):
    x, y = _arrays(a, b, "logical_and")
    return _outside(xp_of(x).logical_and(x, y))


def logical_or(a, b):
    x, y = _arrays(a, b, "logical_or")
    return _outside(xp_of(x).logical_or(x, y))


def logical_xor(a, b):
    x, y = _arrays(a, b, "logical_xor")
    return _outside(xp_of(x).logical_xor(x, y))


# ---------------------------------------------------------------- bitwise


def _integers(op_name, *arrays):
    for array in arrays:
        if getattr(array, "dtype", None) is not None and array.dtype.kind not in "biu":
            raise TypeError(f"{op_name}: needs integer or bool tensors; got {array.dtype} "
                            "(for truth values use logical_and, logical_or, ...)")
        if isinstance(array, float):
            raise TypeError(f"{op_name}: needs integers or bools; got the float {array}")


def bitwise_not(a):
    _integers("bitwise_not", a.array)
    return _outside(xp_of(a.array).invert(a.array))


def bitwise_and(a, b):
    x, y = _arrays(a, b, "bitwise_and")
    _integers("bitwise_and", x, y)
    return _outside(xp_of(x).bitwise_and(x, y))


def bitwise_or(a, b):
    x, y = _arrays(a, b, "bitwise_or")
    _integers("bitwise_or", x, y)
    return _outside(xp_of(x).bitwise_or(x, y))


def bitwise_xor(a, b):
    x, y = _arrays(a, b, "bitwise_xor")
    _integers("bitwise_xor", x, y)
    return _outside(xp_of(x).bitwise_xor(x, y))


# ---------------------------------------------------------------- predicates


def isnan(a):
    xp = xp_of(a.array)
    return _outside(xp.isnan(a.array) if a.dtype.kind == "f" else xp.zeros(a.shape, bool))


def isinf(a):
    xp = xp_of(a.array)
    return _outside(xp.isinf(a.array) if a.dtype.kind == "f" else xp.zeros(a.shape, bool))


def isfinite(a):
    xp = xp_of(a.array)
    return _outside(xp.isfinite(a.array) if a.dtype.kind == "f" else xp.ones(a.shape, bool))


def isclose(a, b, rtol=1e-05, atol=1e-08, equal_nan=False):
    """``|a - b| <= atol + rtol |b|`` elementwise (PyTorch's and NumPy's test)."""
    x, y = _arrays(a, b, "isclose")
    return _outside(xp_of(x).isclose(x, y, rtol=rtol, atol=atol, equal_nan=equal_nan))


def allclose(a, b, rtol=1e-05, atol=1e-08, equal_nan=False):
    """Whether every element is ``isclose`` (a Python bool)."""
    return bool(isclose(a, b, rtol, atol, equal_nan).array.all())


def equal(a, b):
    """Whether ``a`` and ``b`` have one shape and the same elements (a Python bool)."""
    x, y = _arrays(a, b, "equal")
    return x.shape == y.shape and bool((x == y).all())


# ---------------------------------------------------------------- positions


def nonzero(a, *, as_tuple=False):
    """The indices of the nonzero elements: an (N, ndim) int64 tensor, one row per element
    in row-major order, or (``as_tuple=True``) one 1-D tensor per dimension."""
    xp = xp_of(a.array)
    positions = xp.nonzero(a.array.reshape(1) if a.ndim == 0 else a.array)
    if as_tuple:
        return tuple(_outside(xp.asarray(p, dtype=xp.int64)) for p in positions)
    rows = xp.stack(positions, axis=1) if a.ndim else xp.zeros((int(a.array != 0), 0), int)
    return _outside(xp.asarray(rows, dtype=xp.int64))


def argwhere(a):
    return nonzero(a)


def count_nonzero(a, dim=None):
    axes = normalize_axes(dim, a.ndim, "count_nonzero")
    return _outside(xp_of(a.array).asarray((a.array != 0).sum(axis=axes), dtype="int64"))
