"""One table of op specifications drives the property tests of every op.

A row: the op on Tensors (``fn``), the same math in NumPy (``ref``; None when
``fn`` works on NumPy arrays as it is), and the strategy drawing
``(args, options)`` inside the op's domain (see tests/strategies.py). Float
arrays become Tensors that require grad, bool arrays plain Tensors, Python
numbers stay numbers. Each row is checked for forward against NumPy (float64,
and float32 keeping its dtype), backward against float64 central differences
(``engine.gradcheck``) and inputs left untouched, on every device. Ops with
several outputs (split, chunk) are checked on their pieces flattened and joined.
"""

from collections.abc import Callable
from typing import NamedTuple

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import engine
from tests import strategies as s
from tests.strategies import GRID, NONZERO, POSITIVE, REAL, args, array, binary


class Op(NamedTuple):
    name: str
    fn: Callable
    args: st.SearchStrategy
    ref: Callable | None = None
    check: dict | None = None  # gradcheck options


def np_logsumexp(a, axis=None, keepdims=False):
    return np.log(np.exp(a).sum(axis=axis, keepdims=keepdims))


def np_softmax(a, axis):
    return np.exp(a) / np.exp(a).sum(axis=axis, keepdims=True)


def np_split(a, cut, axis):
    """torch.split in NumPy: ``cut`` is a piece size or a list of sizes."""
    if isinstance(cut, list):
        return np.split(a, np.cumsum(cut)[:-1], axis)
    return np.split(a, range(cut, a.shape[axis], cut), axis)


def np_chunk(a, cut, axis):
    """torch.chunk in NumPy: ``cut`` pieces of ceil(length / cut), the last one shorter."""
    return np_split(a, -(-a.shape[axis] // cut), axis)


def with_numbers(name, fn, ref, left=REAL, right=REAL):
    """A binary op three ways: two broadcast arrays, a number on the left, on the right."""
    return [
        Op(name, fn, binary(left, right), ref),
        Op(f"number {name}", fn, args(left, array(right)), ref),
        Op(f"{name} number", fn, args(array(left), right), ref),
    ]


OPS = [
    *with_numbers("add", lambda a, b: a + b, None),
    *with_numbers("sub", lambda a, b: a - b, None),
    *with_numbers("mul", lambda a, b: a * b, None),
    *with_numbers("div", lambda a, b: a / b, None, right=NONZERO),
    *with_numbers("pow", lambda a, b: a**b, None, left=POSITIVE),
    Op("pow int", lambda a, p: a**p, args(array(), st.integers(0, 3))),
    *with_numbers("maximum", engine.maximum, np.maximum, GRID, GRID),
    *with_numbers("minimum", engine.minimum, np.minimum, GRID, GRID),
    Op("matmul", lambda a, b: a @ b, s.matmul_args()),
    Op("where", engine.where, s.where_args(), np.where),
    Op("where number a", engine.where, s.where_args(number=1), np.where),
    Op("where number b", engine.where, s.where_args(number=2), np.where),
    Op("neg", lambda a: -a, args(array())),
    Op("exp", engine.exp, args(array()), np.exp),
    Op("log", engine.log, args(array(POSITIVE)), np.log),
    Op("sqrt", engine.sqrt, args(array(POSITIVE)), np.sqrt),
    Op("tanh", engine.tanh, args(array()), np.tanh),
    Op("sigmoid", engine.sigmoid, args(array()), lambda a: 1 / (1 + np.exp(-a))),
    Op("relu", engine.relu, args(array(GRID)), lambda a: np.maximum(a, 0)),
    Op("abs", engine.abs, args(array(GRID)), np.abs),
    Op("clip", lambda a, lo, hi: a.clip(lo, hi),
       args(array(GRID), st.sampled_from([-1.0, None]), st.sampled_from([0.5, 2.0])), np.clip),
    Op("sum", lambda a, **kw: a.sum(**kw), s.reduce_args()),
    Op("mean", lambda a, **kw: a.mean(**kw), s.reduce_args()),
    Op("max", lambda a, **kw: a.max(**kw), s.reduce_args(GRID, unique=True)),
    Op("min", lambda a, **kw: a.min(**kw), s.reduce_args(GRID, unique=True)),
    Op("logsumexp", engine.logsumexp, s.reduce_args(), np_logsumexp),
    Op("softmax", engine.softmax, s.axis_args(), np_softmax),
    Op("log_softmax", engine.log_softmax, s.axis_args(),
       lambda a, axis: np.log(np_softmax(a, axis))),
    Op("reshape", lambda a, shape: a.reshape(shape), s.reshape_args()),
    Op("transpose", lambda a, axes: a.transpose(axes), s.permute_args()),
    Op("permute", lambda a, axes: a.permute(*axes), s.permute_args(), np.transpose),
    Op("T", lambda a: a.T, args(array())),
    Op("swapaxes", lambda a, axis1, axis2: a.swapaxes(axis1, axis2), s.swapaxes_args()),
    Op("broadcast_to", engine.broadcast_to, s.broadcast_to_args(), np.broadcast_to),
    Op("squeeze", lambda a, axis: a.squeeze(axis), s.squeeze_args()),
    Op("unsqueeze", engine.unsqueeze, s.unsqueeze_args(), np.expand_dims),
    Op("getitem basic", lambda a, index: a[index], s.index_args("basic")),
    Op("getitem integer arrays", lambda a, index: a[index], s.index_args("integer")),
    Op("getitem bool mask", lambda a, index: a[index], s.index_args("mask")),
    Op("concatenate", lambda *a, axis: engine.concatenate(a, axis), s.join_args(),
       lambda *a, axis: np.concatenate(a, axis)),
    Op("stack", lambda *a, axis: engine.stack(a, axis), s.join_args(stack=True),
       lambda *a, axis: np.stack(a, axis)),
    Op("split sizes", lambda a, cut, axis: engine.split(a, cut, axis), s.split_args("sizes"),
       np_split),
    Op("split size", lambda a, cut, axis: engine.split(a, cut, axis), s.split_args("size"),
       np_split),
    Op("chunk", lambda a, cut, axis: engine.chunk(a, cut, axis), s.split_args("chunks"),
       np_chunk),
    # float32 rounding is far above eps=1e-6: a coarser step for the round trip
    Op("astype", lambda a: a.astype("float32").astype("float64"), args(array()),
       check={"eps": 1e-2, "rtol": 1e-4}),
]

table = pytest.mark.parametrize("op", OPS, ids=[op.name for op in OPS])
# the `device` fixture is a plain string: nothing in it needs resetting between examples
any_fixture = settings(
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
)


def draw_case(op, data, dtype, device):
    """The drawn NumPy inputs, the engine inputs, the op as one-output ``fn``, the expected."""
    inputs, options = data.draw(op.args)
    inputs = tuple(x.astype(dtype) if getattr(x, "dtype", None) == np.float64 else x
                   for x in inputs)
    tensors = [
        engine.tensor(x, requires_grad=x.dtype.kind == "f", device=device)
        if isinstance(x, np.ndarray) else x
        for x in inputs
    ]

    def fn(*ts):
        out = op.fn(*ts, **options)
        if isinstance(out, engine.Tensor):
            return out
        return engine.concatenate([piece.reshape(-1) for piece in out])

    expected = (op.ref or op.fn)(*inputs, **options)
    if isinstance(expected, (list, tuple)):
        expected = np.concatenate([piece.reshape(-1) for piece in expected])
    return inputs, tensors, fn, np.asarray(expected)


def assert_forward(out, expected, **tolerance):
    assert (out.dtype, out.shape) == (expected.dtype, expected.shape)
    np.testing.assert_allclose(out.numpy(), expected, **tolerance)


@table
@any_fixture
@given(data=st.data())
def test_forward_backward_float64(op, device, data):
    inputs, tensors, fn, expected = draw_case(op, data, np.float64, device)
    assert_forward(fn(*tensors), expected, rtol=1e-9, atol=1e-12)
    engine.gradcheck(fn, tensors, **(op.check or {}))
    for x, t in zip(inputs, tensors):
        if isinstance(x, np.ndarray):
            np.testing.assert_array_equal(t.numpy(), x)  # not mutated (nor left perturbed)


@table
@any_fixture
@given(data=st.data())
def test_float32_stays_float32(op, device, data):
    _, tensors, fn, expected = draw_case(op, data, np.float32, device)
    out = fn(*tensors)
    assert_forward(out, expected, rtol=1e-5, atol=1e-5)
    out.backward(engine.ones_like(out))
    for t in tensors:
        if isinstance(t, engine.Tensor) and t.requires_grad:
            assert (t.grad.dtype, t.grad.shape) == (np.float32, t.shape)


@pytest.mark.parametrize("name", ["logsumexp", "softmax", "log_softmax"])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_large_logits_stay_finite(name, dtype, device):
    x, w = np.array([1e4, -1e4, 0.0, 1e4]), np.array([1.0, 2.0, 3.0, 4.0])
    p, lse = np.array([0.5, 0.0, 0.0, 0.5]), 1e4 + np.log(2)
    fn, out_expected, grad_expected = {
        "logsumexp": (lambda t: t.logsumexp(keepdims=True), [lse], p * w.sum()),
        "softmax": (engine.softmax, p, p * (w - p @ w)),
        "log_softmax": (engine.log_softmax, x - lse, w - p * w.sum()),
    }[name]
    logits = engine.tensor(x, dtype=dtype, requires_grad=True, device=device)
    out = fn(logits)
    (out * engine.tensor(w, dtype=dtype, device=device)).sum().backward()
    np.testing.assert_allclose(out.numpy(), out_expected, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(logits.grad.numpy(), grad_expected, rtol=1e-6, atol=1e-6)
