"""How a tensor prints: PyTorch's repr (``tensor([0.1000, 2.0000], requires_grad=True)``).

    tensor_repr  the whole text
    float_text   PyTorch's rules for floats: ``1.`` when every value is an integer, 4
                 decimals, or 4-digit scientific notation over wide ranges
"""

import numpy as np

from engine import backend, dtypes


def tensor_repr(t):
    """``tensor(<values>, <what is not the default>)``, as PyTorch prints it."""
    values = backend.to_numpy(t.array)
    options = {}
    if values.dtype.kind == "f":
        options = {"formatter": {"float_kind": float_text(values)}}  # PyTorch's rules
    elif values.dtype.kind == "b":  # as wide as the widest present: [True], [ True, False]
        width = 5 if not values.all() and values.size else 4
        options = {"formatter": {"bool": lambda v: str(v).rjust(width)}}
    body = np.array2string(values, separator=", ", prefix="tensor(", threshold=1000,
                           edgeitems=3, max_line_width=80, **options)
    extras = "" if values.size or values.shape == (0,) else f", size={values.shape}"
    extras += "" if t.device == "cpu" else f", device='{t.device}'"
    if t.dtype not in (dtypes.get_default_dtype(), np.int64, np.bool_):
        extras += f", dtype={t.dtype}"
    if t._ctx is not None:
        extras += f", grad_fn=<{type(t._ctx).__name__}>"
    elif t.requires_grad:
        extras += ", requires_grad=True"
    return f"tensor({body}{extras})"


def float_text(values):
    """How PyTorch prints the floats ``values``: ``1.``-style when every finite one is an
    integer, 4 decimals otherwise, 4-digit scientific notation when the nonzero magnitudes span
    more than 1000x, pass 1e8 or go below 1e-4; right-aligned to the widest."""
    nonzero = values[np.isfinite(values) & (values != 0)].astype(np.float64)
    size = np.abs(nonzero)
    if nonzero.size and (size.max() / size.min() > 1000 or size.max() > 1e8 or size.min() < 1e-4):
        def text(v):
            return f"{v:.4e}"
    elif np.array_equal(nonzero, np.ceil(nonzero)):
        def text(v):
            return f"{v:.0f}." if np.isfinite(v) else f"{v:.0f}"
    else:
        def text(v):
            return f"{v:.4f}"
    # the widest text is that of an extreme: the largest, smallest, or largest/smallest |v|
    extremes = [nonzero[i] for i in (nonzero.argmax(), nonzero.argmin(), size.argmax(),
                                     size.argmin())] if nonzero.size else []
    width = max([len(text(v)) for v in extremes], default=1)
    return lambda v: text(v).rjust(width)
