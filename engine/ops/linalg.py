"""Matrix product: MatMul, for 1-D, 2-D and batched N-D operands (NumPy's rules)."""

from engine.ops.elementwise import operands
from engine.tensor import Function


class MatMul(Function):
    saved_inputs = (0, 1)

    def forward(self, a, b):
        self.a, self.b = a, b
        return a @ b

    def backward(self, grad):
        # out = a @ b  =>  da = grad @ b^T,  db = a^T @ grad, on 2-D views of 1-D operands
        a = self.a[None, :] if self.a.ndim == 1 else self.a  # (K,) -> (1, K)
        b = self.b[:, None] if self.b.ndim == 1 else self.b  # (K,) -> (K, 1)
        if self.a.ndim == 1:
            grad = grad[..., None, :] if self.b.ndim > 1 else grad[..., None]
        if self.b.ndim == 1:
            grad = grad[..., None]
        grad_a = grad_b = None
        if self.needs_input_grad[0]:
            grad_a = grad @ b.swapaxes(-1, -2)  # (..., M, K)
            grad_a = grad_a[..., 0, :] if self.a.ndim == 1 else grad_a
        if self.needs_input_grad[1]:
            grad_b = a.swapaxes(-1, -2) @ grad  # (..., K, N)
            grad_b = grad_b[..., 0] if self.b.ndim == 1 else grad_b
        return grad_a, grad_b


def matmul(a, b):
    """``a @ b``: (M, K) @ (K, N) -> (M, N); leading dimensions broadcast; 1-D operands
    are a row (on the left) or a column (on the right) that is dropped again."""
    a, b = operands(a, b)
    if a.ndim == 0 or b.ndim == 0:
        raise ValueError(
            f"matmul: operands must have at least 1 dimension; got shapes {a.shape} and {b.shape}"
        )
    inner_a, inner_b = a.shape[-1], b.shape[-2] if b.ndim > 1 else b.shape[0]
    if inner_a != inner_b:
        raise ValueError(
            f"matmul: shapes {a.shape} and {b.shape} do not align: {inner_a} (last axis of the "
            f"first) != {inner_b} ({'first' if b.ndim == 1 else 'second-to-last'} axis of the "
            "second)"
        )
    return MatMul.apply(a, b)
