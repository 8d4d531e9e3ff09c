"""PyTorch's Tensor methods that are not here, and what to use instead.

Each becomes an ``Unsupported`` descriptor on Tensor: reading it raises an AttributeError
that says what to do (so ``hasattr`` is False). A descriptor, not a ``__getattr__`` on
Tensor, which would slow every attribute read of every tensor.
"""

UNSUPPORTED = {
    "storage": ".array is the NumPy/CuPy array itself",
    "untyped_storage": ".array is the NumPy/CuPy array itself",
    "data_ptr": ".array.ctypes.data (NumPy) or .array.data.ptr (CuPy) is the address",
    "pin_memory": "host memory is NumPy's; .to('cuda') copies it",
    "share_memory_": "tensors are not shared between processes",
    "to_sparse": "sparse tensors are not supported",
    "cumprod": "for positive values use x.log().cumsum(dim).exp()",
    "lerp": "write it out: a + weight * (b - a)",
    "lerp_": "write it out under no_grad(): a.add_(weight * (b - a))",
    "addcmul": "write it out: t + value * a * b",
    "addcmul_": "write it out under no_grad(): t.add_(value * a * b)",
    "addcdiv": "write it out: t + value * a / b",
    "addcdiv_": "write it out under no_grad(): t.add_(value * a / b)",
    "addmv": "write it out: beta * t + alpha * m.mv(v)",
    "baddbmm": "write it out: beta * t + alpha * a.bmm(b)",
    "index_fill": "use masked_fill, or item assignment t[:, index] = value",
    "index_fill_": "use item assignment: t[:, index] = value",
    "index_copy": "use item assignment on a clone: t[:, index] = source",
    "index_copy_": "use item assignment: t[:, index] = source",
    "index_put": "use item assignment on a clone: t[indices] = values",
    "index_put_": "use item assignment: t[indices] = values",
    "masked_scatter": "use item assignment on a clone: t[mask] = source[:n]",
    "masked_scatter_": "use item assignment: t[mask] = source[:n]",
    "unfold": "slice the windows, then stack them",
    "as_strided": "strides are NumPy's; reshape, slice or expand instead",
    "resize_": "make a new tensor (new_zeros, reshape)",
    "resize_as_": "make a new tensor (new_zeros, reshape)",
    "set_": "assign .data instead: t.data = other",
    "apply_": "compute on t.numpy() and copy_ the result back",
    "map_": "compute on t.numpy() and copy_ the result back",
    "random_": "draw with engine.randint and copy_ it in",
    "exponential_": "draw with NumPy and copy_ it in",
    "geometric_": "draw with NumPy and copy_ it in",
    "cauchy_": "draw with NumPy and copy_ it in",
    "log_normal_": "use normal_() and then exp_()",
    "erf": "use nn.functional.erf(t) (loopgrad.nn.functional.erf)",
    "erfinv": "special functions are not supported yet",
    "lgamma": "special functions are not supported yet",
    "digamma": "special functions are not supported yet",
    "diag": "use einsum('ii->i', x) for the diagonal, or x * eye(n) to build one",
    "diagonal": "use einsum('ii->i', x) (or '...ii->...i')",
    "trace": "use einsum('ii', x)",
    "inverse": "matrix decompositions are not supported",
    "det": "matrix decompositions are not supported",
    "svd": "matrix decompositions are not supported",
    "qr": "matrix decompositions are not supported",
    "cholesky": "matrix decompositions are not supported",
    "bfloat16": "NumPy has no bfloat16; use half() or float()",
    "cfloat": "complex tensors are not supported",
    "cdouble": "complex tensors are not supported",
    "real": "complex tensors are not supported; a real tensor is its own real part",
    "imag": "complex tensors are not supported",
    "conj": "complex tensors are not supported; a real tensor is its own conjugate",
    "unique": "use numpy.unique(t.numpy())",
    "bincount": "use numpy.bincount(t.numpy())",
    "histc": "use numpy.histogram(t.numpy())",
    "record_stream": "CUDA streams are not exposed",
    "is_pinned": "host memory is NumPy's; it is never pinned",
}


class Unsupported:
    """A PyTorch Tensor method that is not here: reading it raises an AttributeError that
    says what to do instead."""

    def __init__(self, name, hint):
        self.name, self.hint = name, hint

    def __get__(self, obj, owner=None):
        raise AttributeError(f"Tensor.{self.name} (PyTorch's) is not supported: {self.hint}",
                             name=self.name, obj=obj)
