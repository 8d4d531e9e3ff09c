"""The ops, by kind: elementwise, reduce, shape, linalg. Each file lists its contents."""

from engine.ops.elementwise import (
    abs,
    add,
    astype,
    clip,
    div,
    exp,
    less,
    less_equal,
    log,
    maximum,
    minimum,
    mul,
    neg,
    pow,
    relu,
    sigmoid,
    sqrt,
    sub,
    tanh,
    where,
)
from engine.ops.linalg import matmul
from engine.ops.reduce import log_softmax, logsumexp, max, mean, min, softmax, sum
from engine.ops.shape import (
    broadcast_to,
    chunk,
    concatenate,
    getitem,
    permute,
    reshape,
    split,
    squeeze,
    stack,
    swapaxes,
    to_device,
    transpose,
    unsqueeze,
)

__all__ = [
    "abs", "add", "astype", "broadcast_to", "chunk", "clip", "concatenate", "div", "exp",
    "getitem", "less", "less_equal", "log", "log_softmax", "logsumexp", "matmul", "max",
    "maximum", "mean", "min", "minimum", "mul", "neg", "permute", "pow", "relu", "reshape",
    "sigmoid", "softmax", "split", "sqrt", "squeeze", "stack", "sub", "sum", "swapaxes",
    "tanh", "to_device", "transpose", "unsqueeze", "where",
]
