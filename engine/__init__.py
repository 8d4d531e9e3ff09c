"""engine: tensors, reverse-mode autograd and gradient checking on NumPy or CuPy.

    >>> import engine
    >>> x = engine.tensor([1.0, 2.0, 3.0], requires_grad=True)
    >>> y = (x.tanh() * x).sum()
    >>> y.backward()
    >>> x.grad.shape
    (3,)
"""

from engine.backend import cuda_available
from engine.factories import (
    arange,
    eye,
    full,
    normal,
    ones,
    ones_like,
    rand,
    randn,
    uniform,
    zeros,
    zeros_like,
)
from engine.gradcheck import gradcheck
from engine.ops import (
    abs,
    add,
    astype,
    broadcast_to,
    chunk,
    clip,
    concatenate,
    div,
    exp,
    getitem,
    less,
    less_equal,
    log,
    log_softmax,
    logsumexp,
    matmul,
    max,
    maximum,
    mean,
    min,
    minimum,
    mul,
    neg,
    permute,
    pow,
    relu,
    reshape,
    sigmoid,
    softmax,
    split,
    sqrt,
    squeeze,
    stack,
    sub,
    sum,
    swapaxes,
    tanh,
    to_device,
    transpose,
    unsqueeze,
    where,
)
from engine.ops.elementwise import stable_sigmoid
from engine.tensor import (
    Function,
    Tensor,
    enable_grad,
    is_grad_enabled,
    no_grad,
    tensor,
    unbroadcast,
)

__all__ = [
    "Function", "Tensor", "abs", "add", "arange", "astype", "broadcast_to", "chunk", "clip",
    "concatenate", "cuda_available", "div", "enable_grad", "exp", "eye", "full", "getitem",
    "gradcheck", "is_grad_enabled", "less", "less_equal", "log", "log_softmax", "logsumexp",
    "matmul", "max", "maximum", "mean", "min", "minimum", "mul", "neg", "no_grad", "normal",
    "ones", "ones_like", "permute", "pow", "rand", "randn", "relu", "reshape", "sigmoid",
    "softmax", "split", "sqrt", "squeeze", "stable_sigmoid", "stack", "sub", "sum", "swapaxes",
    "tanh", "tensor", "to_device", "transpose", "unbroadcast", "uniform", "unsqueeze", "where",
    "zeros", "zeros_like",
]
