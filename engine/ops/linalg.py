"""Products and triangles.

MatMul    ``a @ b`` for 1-D, 2-D and batched N-D operands (NumPy's rules); mm bmm mv dot
          are it with PyTorch's shape checks, outer and addmm compositions
Einsum    NumPy's ``einsum`` forward; each operand's gradient is again an einsum, of the
          output gradient with the other operands, the operand's subscripts as the output
Tril Triu the lower / upper triangle of the last two dimensions (the rest zeroed)
"""

import string

from engine.backend import xp_of
from engine.ops.elementwise import add, mul, operands
from engine.ops.shape import reshape
from engine.tensor import Function, Tensor


class MatMul(Function):
    saved_inputs = (0, 1)

    def forward(self, a, b):
        self.a, self.b = a, b
        if _folds(a, b):  # (..., M, K) @ (K, N) as ONE (... * M, K) @ (K, N) product
            return rows_product(a, b)
        return a @ b

    def backward(self, grad):
        # out = a @ b  =>  da = grad @ b^T,  db = a^T @ grad, on 2-D views of 1-D operands
        a, b = self.a, self.b
        if _folds(a, b):
            return rows_product_grads(a, b, grad, self.needs_input_grad)
        a = a[None, :] if a.ndim == 1 else a  # (K,) -> (1, K)
        b = b[:, None] if b.ndim == 1 else b  # (K,) -> (K, 1)
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


def rows_product(a, b):
    """a (..., K) @ b (K, N) -> (..., N) as one product of all of a's rows, (N_rows, K) @
    (K, N), as PyTorch's matmul and linear compute it."""
    return (a.reshape(-1, a.shape[-1]) @ b).reshape(*a.shape[:-1], b.shape[-1])


def rows_product_grads(a, b, grad, needs=(True, True)):
    """The gradients of ``rows_product(a, b)`` from ``grad`` (..., N): da = grad b^T, one
    product, and db = a^T grad over all the rows at once (the sum over them is the
    product's own); None where ``needs`` says no."""
    rows, grad_rows = a.reshape(-1, a.shape[-1]), grad.reshape(-1, grad.shape[-1])
    grad_a = (grad_rows @ b.T).reshape(a.shape) if needs[0] else None
    grad_b = rows.T @ grad_rows if needs[1] else None
    return grad_a, grad_b


def _folds(a, b):
    """Whether ``a @ b`` is a stack of products by one matrix, (..., M, K) @ (K, N): then
    the stack folds into one product of all its rows, as PyTorch's matmul does. Left as
    a stack, NumPy makes one small product per matrix of it (a row each, for the
    (B, 1, K) of a decoder's step), and the gradient of b would be a stack of (K, N)
    products summed afterwards."""
    return a.ndim > 2 and b.ndim == 2


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


def _shapes_error(op_name, what, a, b):
    return ValueError(f"{op_name}: {what}; got shapes {a.shape} and {b.shape}")


def mm(a, b):
    """The product of two matrices: (n, k) @ (k, m) -> (n, m), nothing broadcast."""
    if a.ndim != 2 or b.ndim != 2:
        raise _shapes_error("mm", "expected two matrices (2-D)", a, b)
    return matmul(a, b)


def bmm(a, b):
    """Batched matrix product: (B, n, k) @ (B, k, m) -> (B, n, m), nothing broadcast."""
    if a.ndim != 3 or b.ndim != 3:
        raise _shapes_error("bmm", "expected two batches of matrices (3-D)", a, b)
    if a.shape[0] != b.shape[0]:
        raise _shapes_error("bmm", "the batch sizes differ", a, b)
    return matmul(a, b)


def mv(a, b):
    """Matrix times vector: (n, k) @ (k,) -> (n,)."""
    if a.ndim != 2 or b.ndim != 1:
        raise _shapes_error("mv", "expected a matrix (2-D) and a vector (1-D)", a, b)
    return matmul(a, b)


def dot(a, b):
    """The inner product of two vectors of one length: a 0-d tensor."""
    if a.ndim != 1 or b.ndim != 1:
        raise _shapes_error("dot", "expected two vectors (1-D)", a, b)
    if a.shape != b.shape:
        raise _shapes_error("dot", "the vectors differ in length", a, b)
    return matmul(a, b)


def outer(a, b):
    """``out[i, j] = a[i] * b[j]`` for vectors ``a`` (n,) and ``b`` (m,): (n, m)."""
    if a.ndim != 1 or b.ndim != 1:
        raise _shapes_error("outer", "expected two vectors (1-D)", a, b)
    return mul(reshape(a, (-1, 1)), reshape(b, (1, -1)))


ger = outer


def addmm(input, mat1, mat2, *, beta=1, alpha=1):
    """``beta * input + alpha * (mat1 @ mat2)``, ``input`` broadcasting."""
    product = mm(mat1, mat2)
    product = product if alpha == 1 else product * alpha
    return add(input if beta == 1 else input * beta, product)


# ---------------------------------------------------------------- triangles


class Tril(Function):
    saved_inputs = ()
    keep = "tril"  # xp.tril or xp.triu: both work on the last two dimensions

    def forward(self, a, diagonal):
        self.diagonal = diagonal
        return getattr(xp_of(a), self.keep)(a, diagonal)

    def backward(self, grad):
        return getattr(xp_of(grad), self.keep)(grad, self.diagonal)  # the zeroed part is constant


class Triu(Tril):
    keep = "triu"


def tril(a, diagonal=0):
    """The lower triangle (on and below the ``diagonal``-th diagonal) of the last two
    dimensions, the rest zero."""
    if a.ndim < 2:
        raise ValueError(f"tril: needs at least 2 dimensions; got shape {a.shape}")
    return Tril.apply(a, diagonal=int(diagonal))


def triu(a, diagonal=0):
    """The upper triangle (on and above the ``diagonal``-th diagonal), the rest zero."""
    if a.ndim < 2:
        raise ValueError(f"triu: needs at least 2 dimensions; got shape {a.shape}")
    return Triu.apply(a, diagonal=int(diagonal))


# ---------------------------------------------------------------- einsum


class Einsum(Function):
    """``xp.einsum`` of explicit subscripts (one string of letters per operand, and the
    output's), every letter's size known (``sizes``: the broadcast size of each letter)."""

    saved_inputs = None  # every operand: each one's gradient reads the others

    def forward(self, *arrays, inputs, output, sizes):
        self.arrays, self.inputs, self.output, self.sizes = arrays, inputs, output, sizes
        return xp_of(arrays[0]).einsum(f"{','.join(inputs)}->{output}", *arrays)

    def backward(self, grad):
        return tuple(self._grad(grad, i) if needed else None
                     for i, needed in enumerate(self.needs_input_grad))

    def _grad(self, grad, i):
        # out = sum over the other letters of prod_j a_j, so d out / d a_i is the einsum of
        # the output gradient with the other operands, a_i's letters as the output
        xp = xp_of(grad)
        subscripts, others = self.inputs[i], [s for j, s in enumerate(self.inputs) if j != i]
        seen = set(self.output).union(*others)
        letters = "".join(dict.fromkeys(subscripts))  # each once, in order: a diagonal is one
        reached = "".join(c for c in letters if c in seen)
        arrays = [a for j, a in enumerate(self.arrays) if j != i]
        g = xp.einsum(f"{','.join([self.output, *others])}->{reached}", grad, *arrays)
        # letters only a_i had were summed out: the gradient is the same along them (and a
        # letter of size 1 in the others than a_i is broadcast too)
        g = g.reshape([g.shape[reached.index(c)] if c in reached else 1 for c in letters])
        g = xp.broadcast_to(g, [self.sizes[c] for c in letters])
        shape = self.arrays[i].shape
        if letters != subscripts:  # a repeated letter (a diagonal): put g on that diagonal
            full = xp.zeros([self.sizes[c] for c in subscripts], dtype=grad.dtype)
            axes = [letters.index(c) for c in subscripts]
            full[tuple(xp.arange(self.sizes[c]).reshape(
                [-1 if k == axes[d] else 1 for k in range(len(letters))])
                for d, c in enumerate(subscripts))] = g
            g = full
        return g if g.shape == shape else g.sum(
            axis=tuple(d for d, n in enumerate(shape) if n == 1 and g.shape[d] != 1),
            keepdims=True)  # a letter broadcast from size 1


def _parse_einsum(equation, shapes):
    """Explicit subscripts (``...`` spelled out in spare letters, the implicit output made
    explicit) and each letter's broadcast size, checked against the operands' shapes."""
    equation = equation.replace(" ", "")
    given, arrow, output = equation.partition("->")
    inputs = given.split(",")
    if len(inputs) != len(shapes):
        raise ValueError(f"einsum: the equation {equation!r} has {len(inputs)} operands; "
                         f"got {len(shapes)} tensors")
    spare = iter(c for c in reversed(string.ascii_letters) if c not in equation)
    ellipsis_dims = max([len(shape) - len(s.replace("...", "")) for s, shape
                         in zip(inputs, shapes) if "..." in s], default=0)
    filler = "".join(next(spare) for _ in range(ellipsis_dims))
    explicit = []
    for s, shape in zip(inputs, shapes):
        if "..." in s:
            count = len(shape) - len(s.replace("...", ""))
            s = s.replace("...", filler[ellipsis_dims - count:] if count else "")
        if len(s) != len(shape) or not all(c in string.ascii_letters for c in s):
            raise ValueError(f"einsum: subscripts {s!r} do not fit an operand of shape {shape}")
        explicit.append(s)
    if not arrow:  # implicit: the letters that appear once, sorted, after the ellipsis
        counts = "".join(explicit)
        output = "..." * bool(filler) + "".join(
            sorted(c for c in set(counts) if counts.count(c) == 1 and c not in filler))
    output = output.replace("...", filler)
    sizes = {}
    for s, shape in zip(explicit, shapes):
        for c, n in zip(s, shape):
            if sizes.get(c, 1) not in (1, n) and n != 1:
                raise ValueError(f"einsum: subscript {c} has size {n} in an operand of shape "
                                 f"{shape}, which does not broadcast with size {sizes[c]}")
            sizes[c] = max(sizes.get(c, 1), n)
    for c in output:
        if c not in sizes or output.count(c) > 1:
            raise ValueError(f"einsum: output subscript {c} must appear once in the output and "
                             f"in some operand ({equation!r})")
    return explicit, output, sizes


def einsum(equation, *operands_):
    """Einstein summation (PyTorch's and NumPy's ``einsum``): ``einsum('ij,jk->ik', a, b)``
    is ``a @ b``; implicit outputs, ``...`` and diagonals (``'ii->i'``) included. The
    operands may also come as one list.

    >>> a = Tensor([[0.0, 1.0], [2.0, 3.0]])
    >>> einsum("ii", a), einsum("ij,j->i", a, Tensor([1.0, 1.0]))
    (tensor(3.), tensor([1., 5.]))
    """
    if len(operands_) == 1 and isinstance(operands_[0], (list, tuple)):
        operands_ = tuple(operands_[0])
    if not operands_ or not all(isinstance(t, Tensor) for t in operands_):
        raise TypeError(f"einsum: expected tensors after the equation; got "
                        f"{[type(t).__name__ for t in operands_]}")
    inputs, output, sizes = _parse_einsum(equation, [t.shape for t in operands_])
    return Einsum.apply(*operands_, inputs=inputs, output=output, sizes=sizes)
