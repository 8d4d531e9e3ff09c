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

import warnings
from collections.abc import Callable
from typing import NamedTuple

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import engine
from tests import strategies as s
from tests.engine import op_args as g
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


def np_norm(a, p, axis, keepdims):
    if p in ("fro", 2):
        return np.sqrt((a * a).sum(axis=axis, keepdims=keepdims))
    if p in (np.inf, -np.inf):
        return (np.max if p > 0 else np.min)(np.abs(a), axis=axis, keepdims=keepdims)
    return (np.abs(a) ** p).sum(axis=axis, keepdims=keepdims) ** (1 / p)


def np_sorted(a, dim, descending=False):
    return np.flip(np.sort(a, dim), dim) if descending else np.sort(a, dim)


def np_topk(a, dim, k, largest):
    return np.take(np_sorted(a, dim, largest), range(k), axis=dim)


def np_kthvalue(a, dim, k, keepdim):
    return np.take(np.sort(a, dim), [k - 1] if keepdim else k - 1, axis=dim)


def along(index, dim):
    """PyTorch's gather rule in NumPy: index along dim, the position itself elsewhere."""
    return tuple(index if d == dim % index.ndim else np.arange(n).reshape(
        [n if e == d else 1 for e in range(index.ndim)]) for d, n in enumerate(index.shape))


def np_scatter(a, index, src, dim, add=False):
    out, src = a.copy(), src[tuple(slice(0, n) for n in index.shape)]
    if add:
        np.add.at(out, along(index, dim), src)
    else:
        out[along(index, dim)] = src
    return out


def np_index_add(a, index, source, dim):
    out = a.copy()
    np.add.at(out, (slice(None),) * (dim % a.ndim) + (index,), source)
    return out


def np_masked_select(a, mask):
    shape = np.broadcast_shapes(a.shape, mask.shape)
    return np.broadcast_to(a, shape)[np.broadcast_to(mask, shape)]


def np_expand(a, sizes):
    extra = len(sizes) - a.ndim
    return np.broadcast_to(a, [a.shape[i - extra] if n == -1 else n for i, n in enumerate(sizes)])


def np_narrow(a, dim, start, length):
    start %= a.shape[dim]
    return np.take(a, range(start, start + length), axis=dim)


def np_unflatten(a, dim, sizes):
    dim %= a.ndim
    return a.reshape(a.shape[:dim] + tuple(sizes) + a.shape[dim + 1:])


def np_flatten(a, start_dim, end_dim):
    shape = a.shape or (1,)
    start, end = start_dim % len(shape), end_dim % len(shape)
    return a.reshape(shape[:start] + (-1,) + shape[end + 1:])


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
    Op("permute", lambda a, axes: a.permute(axes), s.permute_args(), np.transpose),
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
    # PyTorch's grammar: math
    Op("expm1", engine.expm1, args(array()), np.expm1),
    Op("log1p", engine.log1p, args(array(POSITIVE)), np.log1p),
    Op("rsqrt", engine.rsqrt, args(array(POSITIVE)), lambda a: 1 / np.sqrt(a)),
    Op("sin", engine.sin, args(array()), np.sin),
    Op("cos", engine.cos, args(array()), np.cos),
    Op("square", engine.square, args(array()), np.square),
    Op("floor", engine.floor, args(array(GRID)), np.floor),
    Op("ceil", engine.ceil, args(array(GRID)), np.ceil),
    Op("trunc", engine.trunc, args(array(GRID)), np.trunc),
    Op("round", engine.round, args(array(GRID), st.sampled_from([0, 1])), np.round),
    Op("sign", engine.sign, args(array(GRID)), np.sign),
    Op("frac", engine.frac, args(array(GRID)), lambda a: a - np.trunc(a)),
    Op("floor_divide", lambda a, b: a // b, g.division_args()),
    Op("remainder", lambda a, b: a % b, g.division_args()),
    Op("fmod", engine.fmod, g.division_args(), np.fmod),
    Op("clamp tensors", engine.clamp, g.clamp_args(), lambda a, lo, hi: np.minimum(
        np.maximum(a, lo), hi)),
    Op("clamp_min", engine.clamp_min, args(array(GRID), st.sampled_from([-1.0, 0.5])),
       np.maximum),
    Op("masked_fill", engine.masked_fill, g.masked_fill_args(),
       lambda a, mask, value: np.where(mask, value, a)),
    # reductions
    Op("prod", lambda a, **kw: engine.prod(a, **kw), s.reduce_args(), np.prod),
    Op("var", lambda a, correction, **kw: engine.var(a, correction=correction, **kw),
       g.var_args(), lambda a, correction, **kw: np.var(a, ddof=correction, **kw)),
    Op("std", lambda a, correction, **kw: engine.std(a, correction=correction, **kw),
       g.var_args(GRID, unique=True), lambda a, correction, **kw: np.std(a, ddof=correction, **kw)),
    Op("norm", lambda a, p, **kw: engine.norm(a, p, **kw), g.norm_args(), np_norm),
    Op("cumsum", lambda a, axis: engine.cumsum(a, axis), s.axis_args(), np.cumsum),
    Op("amax", lambda a, **kw: engine.amax(a, **kw), s.reduce_args(GRID, unique=True), np.amax),
    Op("amin", lambda a, **kw: engine.amin(a, **kw), s.reduce_args(GRID, unique=True), np.amin),
    Op("max dim", lambda a, dim, keepdim: a.max(dim, keepdim).values,
       g.dim_args(**g.UNIQUE, keepdim=True), lambda a, dim, keepdim: np.max(a, dim,
                                                                             keepdims=keepdim)),
    Op("sort", lambda a, dim, descending: a.sort(dim, descending).values, g.sort_args("sort"),
       np_sorted),
    Op("topk", lambda a, dim, k, largest: a.topk(k, dim, largest).values, g.sort_args("topk"),
       np_topk),
    Op("kthvalue", lambda a, dim, k, keepdim: a.kthvalue(k, dim, keepdim).values,
       g.sort_args("kthvalue"), np_kthvalue),
    # picking by index
    Op("gather", lambda a, index, dim: a.gather(dim, index), g.gather_args(),
       lambda a, index, dim: a[along(index, dim)]),
    Op("index_select", lambda a, index, dim: a.index_select(dim, index), g.index_select_args(),
       lambda a, index, dim: np.take(a, index, axis=dim)),
    Op("masked_select", engine.masked_select, g.masked_select_args(), np_masked_select),
    Op("scatter", lambda a, index, src, dim: a.scatter(dim, index, src),
       g.scatter_args(repeats=False), np_scatter),
    Op("scatter_add", lambda a, index, src, dim: a.scatter_add(dim, index, src),
       g.scatter_args(repeats=True), lambda *a, dim: np_scatter(*a, dim, add=True)),
    Op("index_add", lambda a, index, source, dim: a.index_add(dim, index, source),
       g.index_select_args(source=True), np_index_add),
    Op("repeat_interleave", engine.repeat_interleave, g.repeat_interleave_args(),
       lambda a, repeats, dim: np.repeat(a, repeats, dim)),
    # shapes
    Op("flatten", engine.flatten, g.flatten_args(), np_flatten),
    Op("unflatten", engine.unflatten, g.unflatten_args(), np_unflatten),
    Op("expand", lambda a, sizes: a.expand(sizes), g.expand_args(), np_expand),
    Op("repeat", lambda a, reps: a.repeat(reps), g.repeat_args(), np.tile),
    Op("narrow", engine.narrow, g.narrow_args(), np_narrow),
    Op("movedim", engine.movedim, g.movedim_args(), np.moveaxis),
    Op("flip", lambda a, dims: a.flip(dims), g.flip_args(), lambda a, dims: np.flip(a, dims)),
    Op("roll", engine.roll, g.roll_args(), lambda a, shifts, dims: np.roll(a, shifts, dims)),
    Op("hstack", lambda *a: engine.hstack(a), g.stack_args("hstack"), lambda *a: np.hstack(a)),
    Op("vstack", lambda *a: engine.vstack(a), g.stack_args("vstack"), lambda *a: np.vstack(a)),
    Op("cat", lambda *a, axis: engine.cat(list(a), dim=axis), s.join_args(),
       lambda *a, axis: np.concatenate(a, axis)),
    # linear algebra
    Op("mm", engine.mm, g.product_args("mm"), np.matmul),
    Op("bmm", engine.bmm, g.product_args("bmm"), np.matmul),
    Op("mv", engine.mv, g.product_args("mv"), np.matmul),
    Op("dot", engine.dot, g.product_args("dot"), np.dot),
    Op("outer", engine.outer, g.product_args("outer"), np.outer),
    Op("addmm", engine.addmm, g.product_args("addmm"),
       lambda c, a, b, beta, alpha: beta * c + alpha * (a @ b)),
    Op("einsum", engine.einsum, g.einsum_args(), np.einsum),
    Op("tril", engine.tril, g.triangle_args(), lambda a, diagonal: np.tril(a, diagonal)),
    Op("triu", engine.triu, g.triangle_args(), lambda a, diagonal: np.triu(a, diagonal)),
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


# ---------------------------------------------------------------- outside the graph
# Ops with no gradient (truth values, indices, integer arithmetic): forward against NumPy,
# on every device; every array input becomes a plain Tensor.

INTEGERS = hnp.arrays(np.int64, s.shapes(), elements=st.integers(-5, 5))
SPECIAL = st.sampled_from([0.0, -1.5, 2.0, np.nan, np.inf, -np.inf])
BOOLS = hnp.arrays(np.bool_, s.shapes())


def integer_pair(nonzero=False):
    """Two int64 arrays of broadcasting shapes (the second without zeros: a divisor)."""
    right = st.integers(1, 4).map(lambda n: n * (-1) ** n) if nonzero else st.integers(-5, 5)
    return s.broadcastable(st.integers(-9, 9), right).map(
        lambda pair: (tuple(p.astype(np.int64) for p in pair), {}))


def np_trunc_divide(a, b):
    return (np.abs(a) // np.abs(b)) * np.sign(a) * np.sign(b)


def np_argsort(a, dim, descending):
    return np.argsort(-a if descending else a, axis=dim, kind="stable")


DISCRETE = [
    Op("isnan", engine.isnan, args(s.arrays(s.shapes(), SPECIAL)), np.isnan),
    Op("isinf", engine.isinf, args(s.arrays(s.shapes(), SPECIAL)), np.isinf),
    Op("isfinite", engine.isfinite, args(s.arrays(s.shapes(), SPECIAL)), np.isfinite),
    Op("isnan int", engine.isnan, args(INTEGERS), np.isnan),
    Op("logical_not", engine.logical_not, args(INTEGERS), np.logical_not),
    Op("logical_and", engine.logical_and, integer_pair(), np.logical_and),
    Op("logical_or", engine.logical_or, s.broadcastable(REAL, REAL).map(lambda p: (p, {})),
       np.logical_or),
    Op("logical_xor", engine.logical_xor, args(BOOLS, st.booleans()), np.logical_xor),
    Op("~ int", lambda a: ~a, args(INTEGERS), np.invert),
    Op("~ bool", lambda a: ~a, args(BOOLS), np.invert),
    Op("& int", lambda a, b: a & b, integer_pair(), np.bitwise_and),
    Op("| bool", lambda a, b: a | b, args(BOOLS, BOOLS.map(lambda m: m.reshape(-1)[:1])),
       np.bitwise_or),
    Op("^ number", lambda a, b: a ^ b, args(INTEGERS, st.integers(0, 3)), np.bitwise_xor),
    Op("// int", lambda a, b: a // b, integer_pair(nonzero=True), np.floor_divide),
    Op("% int", lambda a, b: a % b, integer_pair(nonzero=True), np.remainder),
    Op("div trunc int", lambda a, b: engine.divide(a, b, rounding_mode="trunc"),
       integer_pair(nonzero=True), np_trunc_divide),
    Op("div int", engine.div, integer_pair(nonzero=True), lambda a, b: (a / b).astype("float32")),
    Op("sign int", engine.sign, args(INTEGERS), np.sign),
    Op("argmax", lambda a, **kw: engine.argmax(a, **kw), s.reduce_args(unique=True).filter(
        lambda c: not isinstance(c[1]["axis"], tuple)), np.argmax),
    Op("argmin", lambda a, dim, keepdim: a.argmin(dim, keepdim), g.dim_args(**g.UNIQUE,
                                                                             keepdim=True),
       lambda a, dim, keepdim: np.argmin(a, dim, keepdims=keepdim)),
    Op("any", lambda a, **kw: engine.any(a, **kw), s.reduce_args(GRID.map(lambda x: x > 1)),
       np.any),
    Op("all", lambda a, **kw: engine.all(a, **kw), s.reduce_args(), np.all),
    Op("count_nonzero", lambda a, axis: engine.count_nonzero(a, axis),
       args(INTEGERS, st.none()), np.count_nonzero),
    Op("nonzero", engine.nonzero, args(INTEGERS), np.argwhere),
    Op("nonzero as_tuple", lambda a: engine.nonzero(a, as_tuple=True), args(INTEGERS),
       lambda a: np.nonzero(np.atleast_1d(a))),
    Op("where(condition)", engine.where, args(BOOLS), lambda a: np.nonzero(np.atleast_1d(a))),
    Op("argsort", lambda a, dim, descending: a.argsort(dim, descending), g.sort_args("sort"),
       np_argsort),
    Op("sort indices", lambda a, dim, descending: a.sort(dim, descending).indices,
       g.sort_args("sort"), np_argsort),
    Op("isclose", engine.isclose, s.broadcastable(GRID, GRID).map(lambda p: (p, {})),
       np.isclose),
    Op("sum bool", lambda a: a.sum(), args(BOOLS), lambda a: a.sum().astype(np.int64)),
    Op("cumsum int", lambda a, axis: a.cumsum(axis), s.axis_args().map(
        lambda c: ((c[0][0].round().astype(np.int32),), c[1])),
       lambda a, axis: np.cumsum(a, axis, dtype=np.int64)),
    Op("prod bool", lambda a: a.prod(), args(BOOLS), lambda a: a.prod().astype(np.int64)),
]


@pytest.mark.parametrize("op", DISCRETE, ids=[op.name for op in DISCRETE])
@any_fixture
@given(data=st.data())
def test_outside_the_graph(op, device, data):
    inputs, options = data.draw(op.args)
    tensors = [engine.tensor(x, device=device) if isinstance(x, np.ndarray) else x
               for x in inputs]
    out, expected = op.fn(*tensors, **options), op.ref(*inputs, **options)
    outs, expected = (out, expected) if isinstance(out, tuple) else ((out,), (expected,))
    assert len(outs) == len(expected)
    for o, e in zip(outs, expected):
        e = np.asarray(e)
        assert not o.requires_grad and (o.dtype, o.shape) == (e.dtype, e.shape)
        np.testing.assert_array_equal(o.numpy(), e)


def test_python_bools():
    x = engine.tensor([1.0, 2.0])
    assert engine.equal(x, x.clone()) is True and engine.equal(x, x[:1]) is False
    assert x.allclose(x + 1e-7) is True and engine.allclose(x, x + 1e-3) is False
    assert engine.allclose(x * np.nan, x * np.nan, equal_nan=True) is True


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_sigmoid_is_accurate_and_quiet_at_every_magnitude(dtype):
    """sigmoid(a) = 1 / (1 + exp(-a)) to a few ulps against long-double arithmetic, from
    -1000 to 1000, down to the smallest normal number (below it, where exp(-a) overflows,
    the result is 0, as PyTorch's is), with no warning (the test fails on any), and
    log(sigmoid(a)) finite wherever sigmoid(a) > 0."""
    a = np.concatenate([np.linspace(-1000, 1000, 2001), np.linspace(-40, 40, 801)]).astype(dtype)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        s = engine.sigmoid(engine.tensor(a)).numpy()
    exact = (1 / (1 + np.exp(-a.astype(np.longdouble)))).astype(dtype)
    np.testing.assert_allclose(s, exact, rtol=4 * np.finfo(dtype).eps,
                               atol=np.finfo(dtype).tiny)
    assert s.dtype == dtype and np.isnan(engine.sigmoid(engine.tensor([np.nan])).item())
    assert np.all(np.isfinite(np.log(s[s > 0])))
