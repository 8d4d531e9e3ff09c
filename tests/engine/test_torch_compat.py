"""PyTorch's tensor grammar, checked against PyTorch itself (skipped without it).

One row per function or method: ``fn(lib, *tensors, **options)`` is written once and run
twice, with ``lib`` = ``engine`` and the inputs engine Tensors, then with ``lib`` = ``torch``
and torch tensors, so the row is also a check that the spelling is PyTorch's. The
strategy draws the inputs (float64 arrays, cast to the example's dtype: float32 or
float64, and for rows that allow them int64 or bool) and the options (dims negative
included, keepdim, ...). Compared: the type (tensor, named tuple and its fields, Python
number or bool), shapes, dtypes, values, and the gradients of a random weighting of the
float outputs with respect to every float input.
"""

import math
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
from tests.strategies import GRID, NONZERO, POSITIVE, REAL, arrays, shapes

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.filterwarnings("ignore:.*degrees of freedom:UserWarning")  # var of 1


class Spec(NamedTuple):
    name: str
    fn: Callable  # fn(lib, *inputs, **options), lib being engine or torch
    args: st.SearchStrategy  # draws (inputs, options)
    kinds: str = "f"  # the dtypes the float64 inputs may become: f float, i int64, b bool
    grad: bool = True  # False where PyTorch has no derivative (floor_divide, remainder's b)


def one(elements=REAL, min_dims=0, unique=False, **options):
    """One array of any small shape, and fixed options."""
    return st.tuples(st.tuples(arrays(shapes(min_dims), elements, unique)), st.just(options))


def two(left=REAL, right=REAL):
    """Two arrays of broadcasting shapes."""
    return s.broadcastable(left, right).map(lambda pair: (pair, {}))


@st.composite
def with_dim(draw, elements=REAL, unique=False, keepdim=True, none=False):
    """An array of at least one dimension, a dim of it (negatives too; None with ``none``)
    and keepdim."""
    shape = draw(shapes(min_dims=1))
    dim = draw(st.integers(-len(shape), len(shape) - 1) | (st.none() if none else st.nothing()))
    options = {"dim": dim} | ({"keepdim": draw(st.booleans())} if keepdim else {})
    return (draw(arrays(shape, elements, unique)),), options


@st.composite
def with_dims(draw, elements=REAL, unique=False):
    """An array, dim None, an int or a non-empty tuple (negatives too), and keepdim."""
    shape = draw(shapes(min_dims=1))
    ndim = len(shape)
    dim = draw(st.none() | st.integers(-ndim, ndim - 1) | hnp.valid_tuple_axes(ndim, min_size=1)
               .map(lambda axes: tuple(a - ndim if a % 2 else a for a in axes)))
    return (draw(arrays(shape, elements, unique)),), {"dim": dim, "keepdim": draw(st.booleans())}


def numpy_to_dim(strategy):
    """An op_args/strategies draw with NumPy's option names given PyTorch's."""
    names = {"axis": "dim", "keepdims": "keepdim"}
    return strategy.map(lambda case: (case[0], {names.get(k, k): v for k, v in case[1].items()}))


@st.composite
def integer_index(draw, kind):
    """An array and integer indices for a[index]: one index tensor, or two broadcasting."""
    shape = draw(shapes(min_dims=2 if kind == "two" else 1))
    first = hnp.arrays(np.int64, draw(shapes(1, 2)), elements=st.integers(-shape[0], shape[0] - 1))
    if kind == "one":
        return (draw(arrays(shape)), draw(first)), {}
    second = hnp.arrays(np.int64, draw(shapes(1, 2)), elements=st.integers(0, shape[1] - 1))
    index = (draw(first), draw(second))
    try:
        np.broadcast_shapes(index[0].shape, index[1].shape)
    except ValueError:
        index = (index[0], index[1].reshape(-1)[:1])
    return (draw(arrays(shape)), *index), {}


@st.composite
def mask_index(draw):
    shape = draw(shapes(min_dims=1))
    mask = draw(hnp.arrays(np.bool_, shape[: draw(st.integers(1, len(shape)))]))
    return (draw(arrays(shape)), mask), {}


@st.composite
def sizes_of(draw, kind):
    """An array and a target for view / reshape (with -1) or new_* (a shape)."""
    shape = draw(shapes())
    n = int(np.prod(shape))
    if kind == "new":
        return (draw(arrays(shape)),), {"size": draw(shapes(min_dims=1))}
    target = draw(st.sampled_from([(-1,), (n, -1), shape[::-1], (1, *shape)]))
    return (draw(arrays(shape)),), {"shape": target}


@st.composite
def split_args(draw, kind):
    (a,), options = draw(with_dim(keepdim=False))
    length = a.shape[options["dim"]]
    if kind == "sizes":
        cuts = sorted(draw(st.lists(st.integers(0, length), max_size=3)))
        options["cut"] = [b - a for a, b in zip([0, *cuts], [*cuts, length])]
    else:
        options["cut"] = draw(st.integers(1, length + 1))
    return (a,), options


@st.composite
def join_args(draw):
    shape = list(draw(shapes(min_dims=1)))
    dim = draw(st.integers(-len(shape), len(shape) - 1))
    pieces = []
    for _ in range(draw(st.integers(1, 3))):
        shape[dim] = draw(st.integers(1, 3))
        pieces.append(draw(arrays(tuple(shape))))
    return tuple(pieces), {"dim": dim}


@st.composite
def stack_args(draw):
    shape = draw(shapes())
    count = draw(st.integers(1, 3))
    dim = draw(st.integers(-len(shape) - 1, len(shape)))
    return tuple(draw(arrays(shape)) for _ in range(count)), {"dim": dim}


@st.composite
def permute_args(draw):
    shape = draw(shapes())
    return (draw(arrays(shape)),), {"dims": tuple(draw(st.permutations(range(len(shape)))))}


@st.composite
def squeeze_args(draw):
    shape = draw(hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=2))
    return (draw(arrays(shape)),), {"dim": draw(st.integers(-len(shape), len(shape) - 1))}


@st.composite
def take_along_args(draw):
    """An array, a dim, and indices whose other sides are the array's or 1 (broadcast)."""
    shape = draw(shapes(min_dims=1))
    dim = draw(st.integers(-len(shape), len(shape) - 1))
    index_shape = [draw(st.sampled_from([1, n])) for n in shape]
    index_shape[dim] = draw(st.integers(1, 4))
    index = hnp.arrays(np.int64, index_shape, elements=st.integers(0, shape[dim] - 1))
    return (draw(arrays(shape)), draw(index)), {"dim": dim}


def exact_source(case):
    """A scatter's src cut to the index's shape (PyTorch's backward fails on a larger one)."""
    (a, index, src), options = case
    return (a, index, src[tuple(slice(0, n) for n in index.shape)]), options


SPECIAL = st.sampled_from([0.0, -1.5, 2.0, np.nan, np.inf, -np.inf])


def T(lib, x):
    return x.T


SPECS = [
    # elementwise math
    Spec("abs", lambda lib, x: lib.abs(x), one(GRID)),
    Spec("exp", lambda lib, x: x.exp(), one()),
    Spec("expm1", lambda lib, x: lib.expm1(x), one()),
    Spec("log", lambda lib, x: lib.log(x), one(POSITIVE)),
    Spec("log1p", lambda lib, x: x.log1p(), one(POSITIVE)),
    Spec("sqrt", lambda lib, x: lib.sqrt(x), one(POSITIVE)),
    Spec("rsqrt", lambda lib, x: x.rsqrt(), one(POSITIVE)),
    Spec("sin", lambda lib, x: lib.sin(x), one()),
    Spec("cos", lambda lib, x: x.cos(), one()),
    Spec("tanh", lambda lib, x: lib.tanh(x), one()),
    Spec("sigmoid", lambda lib, x: x.sigmoid(), one()),
    Spec("relu", lambda lib, x: lib.relu(x), one(GRID)),
    Spec("neg", lambda lib, x: -x, one(), "fi"),
    Spec("square", lambda lib, x: lib.square(x), one(), "fi"),
    Spec("sign", lambda lib, x: lib.sign(x), one(GRID), "fib"),
    Spec("floor", lambda lib, x: lib.floor(x), one(GRID)),
    Spec("ceil", lambda lib, x: x.ceil(), one(GRID)),
    Spec("round", lambda lib, x: lib.round(x), one(GRID)),
    Spec("round decimals", lambda lib, x: x.round(decimals=1), one(GRID)),
    Spec("trunc", lambda lib, x: lib.trunc(x), one(GRID)),
    Spec("frac", lambda lib, x: x.frac(), one(GRID)),
    Spec("pow", lambda lib, x, y: lib.pow(x, y), two(POSITIVE)),
    Spec("pow number", lambda lib, x: x ** 3, one(), "fi"),
    Spec("rpow", lambda lib, x: 2.0 ** x, one()),
    Spec("add alpha", lambda lib, x, y: lib.add(x, y, alpha=2), two(), "fi"),
    Spec("sub method", lambda lib, x, y: x.sub(y, alpha=0.5), two()),
    Spec("mul", lambda lib, x, y: lib.mul(x, y), two(), "fib"),
    Spec("div", lambda lib, x, y: lib.div(x, y), two(REAL, NONZERO)),
    Spec("div floor", lambda lib, x, y: x.div(y, rounding_mode="floor"), g.division_args(),
         grad=False),
    Spec("div trunc", lambda lib, x, y: lib.div(x, y, rounding_mode="trunc"), g.division_args()),
    Spec("truediv int", lambda lib, x: x / 2, one(), "i"),
    Spec("floor_divide", lambda lib, x, y: x // y, g.division_args(), "fi", grad=False),
    Spec("remainder", lambda lib, x, y: x % y, g.division_args()),
    Spec("rmod", lambda lib, x: 5.5 % x, one(POSITIVE), grad=False),
    Spec("fmod", lambda lib, x, y: lib.fmod(x, y), g.division_args()),
    Spec("maximum", lambda lib, x, y: lib.maximum(x, y), two(GRID, GRID), "fi"),
    Spec("minimum", lambda lib, x, y: x.minimum(y), two(GRID, GRID), "fi"),
    Spec("max of two", lambda lib, x, y: lib.max(x, y), two(GRID, GRID)),
    Spec("clamp", lambda lib, x: lib.clamp(x, -1.0, 0.5), one(GRID)),
    Spec("clamp min", lambda lib, x: x.clamp(min=0.25), one(GRID)),
    Spec("clamp int", lambda lib, x: x.clamp(-1, 1), one(), "i"),
    Spec("clip", lambda lib, x: lib.clip(x, max=0.5), one(GRID)),
    Spec("clamp tensors", lambda lib, x, lo, hi: lib.clamp(x, lo, hi), g.clamp_args().map(
        lambda c: ((np.broadcast_to(c[0][0], np.broadcast_shapes(*(a.shape for a in c[0])))
                    .copy(), *c[0][1:]), {}))),  # PyTorch's backward needs x the largest
    Spec("clamp_min", lambda lib, x: x.clamp_min(0.0), one(GRID)),
    Spec("clamp_max", lambda lib, x: lib.clamp_max(x, 0.0), one(GRID)),
    Spec("masked_fill", lambda lib, x, m: x.masked_fill(m, -1.5), g.masked_fill_args().map(
        lambda case: (case[0][:2], {})), "fi"),
    Spec("masked_fill 0-d", lambda lib, x, m, v: lib.masked_fill(x, m, v),
         g.masked_fill_args().map(lambda c: (c[0][:2] + (np.asarray(c[0][2]),), {}))),
    Spec("where", lambda lib, c, x, y: lib.where(c, x, y), s.where_args(), "fi"),
    Spec("where numbers", lambda lib, c: lib.where(c, 1.0, 0.0),
         st.tuples(st.tuples(hnp.arrays(np.bool_, shapes())), st.just({}))),
    Spec("where method", lambda lib, c, x, y: x.where(c, y), s.where_args()),
    Spec("where(condition)", lambda lib, c: lib.where(c),
         st.tuples(st.tuples(hnp.arrays(np.bool_, shapes(1))), st.just({}))),
    # comparisons and truth values
    Spec("eq", lambda lib, x, y: lib.eq(x, y), two(GRID, GRID), "fib"),
    Spec("ne", lambda lib, x, y: x.ne(y), two(GRID, GRID), "fi"),
    Spec("lt", lambda lib, x, y: x < y, two(GRID, GRID), "fi"),
    Spec("le", lambda lib, x, y: lib.le(x, y), two(GRID, GRID), "fi"),
    Spec("gt number", lambda lib, x: x > 0.5, one(GRID), "fi"),
    Spec("ge", lambda lib, x, y: x.ge(y), two(GRID, GRID), "fi"),
    Spec("logical_not", lambda lib, x: lib.logical_not(x), one(), "fib"),
    Spec("logical_and", lambda lib, x, y: lib.logical_and(x, y), two(), "fib"),
    Spec("logical_or", lambda lib, x, y: x.logical_or(y), two(), "fib"),
    Spec("logical_xor", lambda lib, x, y: lib.logical_xor(x, y), two(), "fib"),
    Spec("~", lambda lib, x: ~x, one(), "ib"),
    Spec("&", lambda lib, x, y: x & y, two(), "ib"),
    Spec("|", lambda lib, x, y: x | y, two(), "ib"),
    Spec("^", lambda lib, x, y: x ^ y, two(), "ib"),
    Spec("isnan", lambda lib, x: lib.isnan(x), one(SPECIAL)),
    Spec("isinf", lambda lib, x: x.isinf(), one(SPECIAL)),
    Spec("isfinite", lambda lib, x: lib.isfinite(x), one(SPECIAL)),
    Spec("isnan int", lambda lib, x: x.isnan(), one(), "ib"),
    Spec("isclose", lambda lib, x, y: lib.isclose(x, x + y * 1e-6), two()),
    Spec("allclose", lambda lib, x, y: lib.allclose(x, x + y * 1e-5), two()),
    Spec("equal", lambda lib, x, y: lib.equal(x, y), two(GRID, GRID), "fib"),
    Spec("equal itself", lambda lib, x: x.equal(x.clone()), one(), "fib"),
    # reductions
    Spec("sum", lambda lib, x, **kw: lib.sum(x, **kw), with_dims(), "fib"),
    Spec("sum method", lambda lib, x, **kw: x.sum(**kw), with_dims(), "fib"),
    Spec("sum dtype", lambda lib, x: x.sum(dtype=lib.float64), one(), "fi"),
    Spec("mean", lambda lib, x, **kw: x.mean(**kw), with_dims()),
    Spec("prod", lambda lib, x, **kw: lib.prod(x, **kw), with_dim(), "fib"),
    Spec("prod all", lambda lib, x: x.prod(), one(), "fib"),
    Spec("var", lambda lib, x, **kw: lib.var(x, **kw), with_dims()),
    Spec("var correction", lambda lib, x, dim, keepdim: x.var(dim, keepdim=keepdim,
                                                              correction=0), with_dims()),
    Spec("std", lambda lib, x, **kw: x.std(**kw), with_dims(GRID, unique=True)),
    Spec("std unbiased", lambda lib, x, dim, keepdim: lib.std(x, dim, False, keepdim),
         with_dims(GRID, unique=True)),
    Spec("norm", lambda lib, x: x.norm(), one(GRID)),
    Spec("norm dim", lambda lib, x, dim, keepdim: lib.norm(x, dim=dim, keepdim=keepdim),
         with_dims(GRID)),
    Spec("norm p", lambda lib, x, p, **kw: x.norm(p, **kw), numpy_to_dim(g.norm_args()).map(
        lambda c: (c[0], {**c[1], "p": float(c[1]["p"]) if c[1]["p"] != "fro" else 2}))),
    Spec("cumsum", lambda lib, x, dim: lib.cumsum(x, dim), with_dim(keepdim=False), "fib"),
    Spec("cumsum method", lambda lib, x, dim: x.cumsum(dim=dim), with_dim(keepdim=False)),
    Spec("any", lambda lib, x, **kw: lib.any(x, **kw), with_dim(none=True), "fib"),
    Spec("all", lambda lib, x, **kw: x.all(**kw), with_dim(none=True), "fib"),
    Spec("any all", lambda lib, x: (x.any(), lib.all(x)), one(), "fib"),
    Spec("argmax", lambda lib, x, **kw: x.argmax(**kw), with_dim(none=True), "fi"),
    Spec("argmin", lambda lib, x, **kw: lib.argmin(x, **kw), with_dim(none=True), "fi"),
    Spec("argmax all", lambda lib, x: lib.argmax(x), one(), "fi"),
    Spec("max dim", lambda lib, x, **kw: lib.max(x, **kw), with_dim(), "fi"),
    Spec("max dim positional", lambda lib, x, dim, keepdim: x.max(dim, keepdim), with_dim()),
    Spec("min dim", lambda lib, x, **kw: x.min(**kw), with_dim(), "fi"),
    Spec("max", lambda lib, x: lib.max(x), one(GRID), "fi"),
    Spec("min", lambda lib, x: x.min(), one(GRID), "fi"),
    Spec("amax", lambda lib, x, **kw: lib.amax(x, **kw), with_dims(GRID), "fi"),
    Spec("amin", lambda lib, x, **kw: x.amin(**kw), with_dims(GRID), "fi"),
    Spec("logsumexp", lambda lib, x, dim, keepdim: lib.logsumexp(x, dim, keepdim),
         with_dim()),
    Spec("softmax", lambda lib, x, dim: lib.softmax(x, dim), with_dim(keepdim=False)),
    Spec("log_softmax", lambda lib, x, dim: x.log_softmax(dim), with_dim(keepdim=False)),
    Spec("topk", lambda lib, x, k, dim, largest: lib.topk(x, k, dim, largest),
         g.sort_args("topk")),
    Spec("topk method", lambda lib, x, dim, **kw: x.topk(1, dim=dim), g.sort_args("topk")),
    Spec("sort", lambda lib, x, dim, descending: lib.sort(x, dim, descending),
         g.sort_args("sort")),
    Spec("sort stable", lambda lib, x, dim, descending: x.sort(dim=dim, descending=descending,
                                                               stable=True),
         g.sort_args("sort").map(lambda c: ((np.round(c[0][0]),), c[1])), "fib"),
    Spec("argsort", lambda lib, x, dim, descending: lib.argsort(x, dim, descending),
         g.sort_args("sort"), "fi"),
    Spec("kthvalue", lambda lib, x, k, dim, keepdim: x.kthvalue(k, dim, keepdim),
         g.sort_args("kthvalue")),
    Spec("median", lambda lib, x: lib.median(x), one(GRID, unique=True)),
    Spec("median dim", lambda lib, x, dim, keepdim: x.median(dim, keepdim),
         with_dim(GRID, unique=True)),
    Spec("count_nonzero", lambda lib, x, dim: lib.count_nonzero(x, dim),
         with_dim(keepdim=False, none=True), "fib"),
    # linear algebra
    Spec("matmul", lambda lib, x, y: x @ y, s.matmul_args()),
    Spec("matmul function", lambda lib, x, y: lib.matmul(x, y), s.matmul_args()),
    Spec("mm", lambda lib, x, y: lib.mm(x, y), g.product_args("mm")),
    Spec("bmm", lambda lib, x, y: x.bmm(y), g.product_args("bmm")),
    Spec("mv", lambda lib, x, y: lib.mv(x, y), g.product_args("mv")),
    Spec("dot", lambda lib, x, y: x.dot(y), g.product_args("dot")),
    Spec("outer", lambda lib, x, y: lib.outer(x, y), g.product_args("outer")),
    Spec("addmm", lambda lib, c, x, y, **kw: lib.addmm(c, x, y, **kw), g.product_args("addmm")),
    Spec("einsum", lambda lib, eq, *xs: lib.einsum(eq, *xs), g.einsum_args()),
    Spec("einsum summed ellipsis", lambda lib, x, y: lib.einsum("b...,b...->b", x, y),
         two().filter(lambda c: c[0][0].ndim >= 1 and c[0][0].shape[:1] == c[0][1].shape[:1])),
    Spec("einsum list", lambda lib, x, y: lib.einsum("ij,jk->ik", [x, y]), g.product_args("mm")),
    Spec("tril", lambda lib, x, diagonal: lib.tril(x, diagonal), g.triangle_args(), "fib"),
    Spec("triu", lambda lib, x, diagonal: x.triu(diagonal=diagonal), g.triangle_args()),
    # picking by index
    Spec("getitem integer tensor", lambda lib, x, i: x[i], integer_index("one"), "fib"),
    Spec("getitem two integer tensors", lambda lib, x, i, j: x[i, j], integer_index("two")),
    Spec("getitem mixed", lambda lib, x, i, j: x[:, j], integer_index("two")),
    Spec("getitem bool mask", lambda lib, x, m: x[m], mask_index(), "fib"),
    Spec("gather", lambda lib, x, i, dim: lib.gather(x, dim, i), g.gather_args(), "fib"),
    Spec("gather method", lambda lib, x, i, dim: x.gather(dim, i), g.gather_args()),
    Spec("take_along_dim", lambda lib, x, i, dim: lib.take_along_dim(x, i, dim),
         take_along_args()),
    Spec("index_select", lambda lib, x, i, dim: lib.index_select(x, dim, i),
         g.index_select_args(), "fib"),
    Spec("index_select method", lambda lib, x, i, dim: x.index_select(dim, i),
         g.index_select_args()),
    Spec("masked_select", lambda lib, x, m: lib.masked_select(x, m), g.masked_select_args(),
         "fib"),
    Spec("masked_select method", lambda lib, x, m: x.masked_select(m), g.masked_select_args()),
    Spec("scatter", lambda lib, x, i, src, dim: x.scatter(dim, i, src),
         g.scatter_args(repeats=False).map(exact_source)),
    Spec("scatter value", lambda lib, x, i, src, dim: lib.scatter(x, dim, i, 2.5),
         g.scatter_args(repeats=True)),
    Spec("scatter_add", lambda lib, x, i, src, dim: lib.scatter_add(x, dim, i, src),
         g.scatter_args(repeats=True).map(exact_source)),
    Spec("index_add", lambda lib, x, i, src, dim: x.index_add(dim, i, src),
         g.index_select_args(source=True)),
    Spec("nonzero", lambda lib, x: lib.nonzero(x), one(), "fib"),
    Spec("nonzero as_tuple", lambda lib, x: x.nonzero(as_tuple=True), one(min_dims=1), "fib"),
    Spec("argwhere", lambda lib, x: lib.argwhere(x), one(), "ib"),
    Spec("repeat_interleave", lambda lib, x, repeats, dim: x.repeat_interleave(repeats, dim),
         g.repeat_interleave_args().filter(lambda c: isinstance(c[1]["repeats"], int)), "fib"),
    Spec("repeat_interleave tensor", lambda lib, x, r, dim: lib.repeat_interleave(x, r, dim),
         g.repeat_interleave_args().filter(lambda c: c[1]["dim"] is not None).map(
             lambda c: ((c[0][0], np.asarray(c[1]["repeats"], dtype=np.int64) * np.ones(
                 c[0][0].shape[c[1]["dim"]], np.int64)), {"dim": c[1]["dim"]}))),
    # shapes
    Spec("view", lambda lib, x, shape: x.view(*shape), sizes_of("view"), "fib"),
    Spec("view tuple", lambda lib, x, shape: x.view(shape), sizes_of("view")),
    Spec("reshape", lambda lib, x, shape: lib.reshape(x, shape), sizes_of("view")),
    Spec("view_as", lambda lib, x: x.view_as(x.reshape(-1)), one()),
    Spec("flatten", lambda lib, x, start_dim, end_dim: lib.flatten(x, start_dim, end_dim),
         g.flatten_args(), "fib"),
    Spec("flatten method", lambda lib, x, **kw: x.flatten(**kw), g.flatten_args()),
    Spec("unflatten", lambda lib, x, dim, sizes: x.unflatten(dim, sizes), g.unflatten_args()),
    Spec("expand", lambda lib, x, sizes: x.expand(*sizes), g.expand_args(), "fib"),
    Spec("expand tuple", lambda lib, x, sizes: x.expand(sizes), g.expand_args()),
    Spec("expand_as", lambda lib, x, sizes: x.expand_as(lib.zeros(
        [n if n != -1 else m for n, m in zip(sizes, (1,) * (len(sizes) - x.ndim) + x.shape)],
        dtype=x.dtype)), g.expand_args()),
    Spec("repeat", lambda lib, x, reps: x.repeat(*reps), g.repeat_args(), "fib"),
    Spec("repeat tuple", lambda lib, x, reps: x.repeat(reps), g.repeat_args()),
    Spec("narrow", lambda lib, x, **kw: x.narrow(**kw), g.narrow_args(), "fib"),
    Spec("narrow function", lambda lib, x, dim, start, length: lib.narrow(x, dim, start,
                                                                          length), g.narrow_args()),
    Spec("unbind", lambda lib, x, dim: lib.unbind(x, dim), with_dim(keepdim=False)),
    Spec("unbind method", lambda lib, x, dim: x.unbind(dim), with_dim(keepdim=False)),
    Spec("t", lambda lib, x: x.t(), st.tuples(st.tuples(arrays(shapes(0, 2))), st.just({}))),
    Spec("T", T, st.tuples(st.tuples(arrays(shapes(2, 2))), st.just({}))),
    Spec("transpose", lambda lib, x, dim: x.transpose(dim, 0), with_dim(keepdim=False)),
    Spec("transpose function", lambda lib, x, dim: lib.transpose(x, -1, dim),
         with_dim(keepdim=False)),
    Spec("permute", lambda lib, x, dims: x.permute(*dims), permute_args(), "fib"),
    Spec("permute tuple", lambda lib, x, dims: lib.permute(x, dims), permute_args()),
    Spec("movedim", lambda lib, x, source, destination: x.movedim(source, destination),
         g.movedim_args()),
    Spec("squeeze", lambda lib, x: x.squeeze(), one(), "fib"),
    Spec("squeeze dim", lambda lib, x, dim: lib.squeeze(x, dim), squeeze_args()),
    Spec("unsqueeze", lambda lib, x, dim: x.unsqueeze(dim), numpy_to_dim(s.unsqueeze_args())),
    Spec("split", lambda lib, x, dim, cut: x.split(cut, dim=dim), split_args("size")),
    Spec("split sizes", lambda lib, x, dim, cut: lib.split(x, cut, dim), split_args("sizes")),
    Spec("chunk", lambda lib, x, dim, cut: x.chunk(cut, dim), split_args("chunks")),
    Spec("chunk function", lambda lib, x, dim, cut: lib.chunk(x, cut, dim=dim),
         split_args("chunks")),
    Spec("cat", lambda lib, *xs, dim: lib.cat(xs, dim), join_args(), "fib"),
    Spec("cat list", lambda lib, *xs, dim: lib.cat(list(xs), dim=dim), join_args()),
    Spec("concat", lambda lib, *xs, dim: lib.concat(xs, dim=dim), join_args()),
    Spec("stack", lambda lib, *xs, dim: lib.stack(xs, dim), stack_args(), "fib"),
    Spec("hstack", lambda lib, *xs: lib.hstack(xs), g.stack_args("hstack")),
    Spec("vstack", lambda lib, *xs: lib.vstack(list(xs)), g.stack_args("vstack")),
    Spec("flip", lambda lib, x, dims: lib.flip(x, dims), g.flip_args(), "fib"),
    Spec("flip method", lambda lib, x, dims: x.flip(*dims) if dims else x.flip(dims),
         g.flip_args()),
    Spec("roll", lambda lib, x, shifts, dims: lib.roll(x, shifts, dims), g.roll_args(), "fib"),
    Spec("roll method", lambda lib, x, shifts, dims: x.roll(shifts, dims), g.roll_args()),
    # new tensors
    Spec("new_zeros", lambda lib, x, size: x.new_zeros(size), sizes_of("new"), "fib"),
    Spec("new_ones", lambda lib, x, size: x.new_ones(*size), sizes_of("new"), "fib"),
    Spec("new_full", lambda lib, x, size: x.new_full(size, 3), sizes_of("new"), "fib"),
    Spec("new_empty shape", lambda lib, x, size: x.new_empty(size).shape, sizes_of("new")),
    Spec("new_tensor", lambda lib, x: x.new_tensor([[1, 2], [3, 4]]), one(), "fib"),
    Spec("new_zeros dtype", lambda lib, x: x.new_zeros(2, dtype=lib.int64), one()),
    Spec("zeros_like", lambda lib, x: lib.zeros_like(x), one(), "fib"),
    Spec("ones_like", lambda lib, x: lib.ones_like(x, dtype=lib.float64), one(), "fib"),
    Spec("full_like", lambda lib, x: lib.full_like(x, 7), one(), "fib"),
    # sizes
    Spec("size", lambda lib, x, dim: (tuple(x.size()), x.size(dim), x.numel(), x.dim(),
                                      x.ndim, len(x)), with_dim(keepdim=False), "fib"),
]

settings_ = settings(suppress_health_check=[HealthCheck.too_slow])
DTYPES = {"f": ["float32", "float64"], "i": ["int64"], "b": ["bool"]}


def cast(array, dtype):
    """A drawn float64 array as ``dtype`` (ints rounded, bools where positive)."""
    if isinstance(array, np.generic):  # NumPy makes 0-d results scalars: a 0-d tensor here
        array = np.asarray(array)
    if not isinstance(array, np.ndarray) or array.dtype != np.float64:
        return array
    if dtype == "bool":
        return np.asarray(array > 0)
    return np.asarray(np.round(array)).astype(dtype) if dtype == "int64" else array.astype(dtype)


def both(inputs, grad):
    """The inputs as engine Tensors and as torch tensors, the floats requiring grad."""
    ours = [engine.tensor(x, requires_grad=grad and x.dtype.kind == "f")
            if isinstance(x, np.ndarray) else x for x in inputs]
    theirs = [torch.tensor(x, requires_grad=grad and x.dtype.kind == "f")
              if isinstance(x, np.ndarray) else x for x in inputs]
    return ours, theirs


def float_outputs(out):
    """The tensors in an output (a tensor, a tuple or named tuple of them) that carry
    gradients."""
    items = out if isinstance(out, tuple) else (out,)
    return [t for t in items if hasattr(t, "requires_grad") and t.requires_grad]


def assert_same(ours, theirs, tolerance, where="output"):
    if isinstance(theirs, torch.Tensor):
        assert isinstance(ours, engine.Tensor), f"{where}: {type(ours).__name__}, not a tensor"
        assert tuple(ours.shape) == tuple(theirs.shape), f"{where}: shape {ours.shape}"
        assert str(ours.dtype) == str(theirs.dtype).removeprefix("torch."), (
            f"{where}: dtype {ours.dtype}, torch's {theirs.dtype}")
        np.testing.assert_allclose(ours.numpy(), theirs.detach().numpy(), **tolerance,
                                   err_msg=where)
    elif isinstance(theirs, tuple):
        assert isinstance(ours, tuple) and len(ours) == len(theirs), f"{where}: {ours!r}"
        if hasattr(theirs, "n_fields"):  # torch.return_types: a named tuple
            assert type(ours).__name__ == type(theirs).__name__
            assert ours._fields == ("values", "indices") and ours.values is ours[0]
        for i, (o, t) in enumerate(zip(ours, theirs)):
            assert_same(o, t, tolerance, f"{where}[{i}]")
    else:
        assert type(ours) is type(theirs), f"{where}: {type(ours).__name__}, torch's " \
                                           f"{type(theirs).__name__}"
        assert ours == theirs or math.isclose(ours, theirs, rel_tol=1e-5), where


def tolerance_of(dtype):
    return {"rtol": 1e-4, "atol": 1e-5} if dtype == "float32" else {"rtol": 1e-7, "atol": 1e-9}


@pytest.mark.parametrize("spec", SPECS, ids=[spec.name for spec in SPECS])
@settings_
@given(data=st.data())
def test_like_torch(spec, data):
    inputs, options = data.draw(spec.args)
    dtype = data.draw(st.sampled_from([d for kind in spec.kinds for d in DTYPES[kind]]))
    inputs = tuple(cast(x, dtype) for x in inputs)
    ours, theirs = both(inputs, spec.grad)
    try:
        expected = spec.fn(torch, *theirs, **options)
    except (RuntimeError, IndexError, ValueError, TypeError):
        with pytest.raises(Exception):  # noqa: B017  PyTorch refuses it: so do we
            spec.fn(engine, *ours, **options)
        return
    out = spec.fn(engine, *ours, **options)
    tolerance = tolerance_of(dtype)
    assert_same(out, expected, tolerance)
    theirs_out, ours_out = float_outputs(expected), float_outputs(out)
    assert len(ours_out) == len(theirs_out), "which outputs carry gradients"
    if not theirs_out:
        return
    rng = np.random.default_rng(0)
    weights = [rng.standard_normal(t.shape) for t in theirs_out]
    sum(((t * torch.tensor(w, dtype=t.dtype)).sum() for t, w in zip(theirs_out, weights)),
        torch.tensor(0.0, dtype=theirs_out[0].dtype)).backward()
    sum((o * engine.tensor(w, dtype=o.dtype)).sum() for o, w in zip(ours_out, weights)).backward()
    for i, (o, t) in enumerate(zip(ours, theirs)):
        if isinstance(t, torch.Tensor) and t.requires_grad:
            if t.grad is None:
                assert o.grad is None or not o.grad.numpy().any(), f"input {i}: grad"
            else:
                assert_same(o.grad, t.grad, tolerance, f"the gradient of input {i}")


# ---------------------------------------------------------------- the rest of a tensor's manners


def test_named_tuples():
    x = engine.tensor([[1.0, 3.0, 2.0], [5.0, 4.0, 6.0]])
    assert engine.max(x, dim=1).indices.tolist() == [1, 2]
    assert x.min(1).values.tolist() == [1.0, 4.0]
    values, indices = x.topk(1)
    assert values.tolist() == [[3.0], [6.0]] and indices.tolist() == [[1], [2]]
    assert x.sort(dim=0, descending=True).indices.tolist() == [[1, 1, 1], [0, 0, 0]]
    assert type(engine.max(x, 1)).__name__ == "max" and type(x.sort()).__name__ == "sort"
    assert repr(x.max(1)).startswith("max(values=tensor([3., 6.]), indices=tensor([1, 2]))")


@pytest.mark.parametrize("data, dtype", [
    ([0.1, 2.0], None), ([1, 2], None), ([1.0, 2.0], None), ([True, False], None),
    ([[1.0, -2.5], [3.0, 4.0]], None), (1.5, None), (3, None), ([1e5, 1e-3], None),
    ([1e-5, 1.0], None), ([float("nan"), 1.5], None), ([float("inf"), 1.0], None),
    ([], None), ([123456.789], None), ([-0.0], None), ([1, 2], "int32"), ([0.5], "float64"),
    ([1.0, 2.0], "float16"), ([100.0, 2.5], None), ([[True]], None), ([0.0, 0.0], None),
])
def test_repr_is_torch_s(data, dtype):
    ours = engine.tensor(data, dtype=dtype)
    theirs = torch.tensor(data, dtype=getattr(torch, dtype) if dtype else None)
    assert repr(ours) == repr(theirs).replace("torch.", "")


def test_repr_of_graph_tensors_and_empty_shapes():
    x = engine.tensor([1.0, 2.0], requires_grad=True)
    assert repr(x) == "tensor([1., 2.], requires_grad=True)"
    assert repr(engine.zeros(0, 3)) == repr(torch.zeros(0, 3)) == "tensor([], size=(0, 3))"
    assert repr(x * 2).startswith("tensor([2., 4.], grad_fn=<")


def test_format_of_a_0d_tensor():
    assert format(engine.tensor(2.0 / 3), ".3f") == format(torch.tensor(2.0 / 3), ".3f")
    assert f"{engine.tensor(5)}" == f"{torch.tensor(5)}" == "5"
    assert f"{engine.tensor(1.5):.2e}" == f"{torch.tensor(1.5):.2e}"


def test_sizes():
    x = engine.zeros(2, 3, 4)
    t = torch.zeros(2, 3, 4)
    assert x.size() == t.size() and x.size(-1) == t.size(-1) and x.numel() == t.numel()
    assert x.dim() == t.dim() and x.nelement() == t.nelement() and x.ndimension() == 3
    assert x.size()[1:] == t.size()[1:] and x.size().numel() == t.size().numel()
    assert x.stride() == t.stride() and x.transpose(0, 2).stride() == t.transpose(0, 2).stride()
    assert x.is_contiguous() and not x.transpose(0, 1).is_contiguous()
    assert x.transpose(0, 1).contiguous().is_contiguous() and x.contiguous() is x


def test_in_place_random_fills_draw_from_the_generator():
    for fill in (lambda t, g: t.uniform_(-2, 3, generator=g),
                 lambda t, g: t.normal_(1.0, 0.5, generator=g),
                 lambda t, g: t.bernoulli_(0.3, generator=g)):
        a, b = engine.zeros(1000), engine.zeros(1000)
        assert fill(a, engine.Generator().manual_seed(3)) is a
        fill(b, engine.Generator().manual_seed(3))
        assert engine.equal(a, b) and a._version == 1
    u = engine.zeros(1000, dtype="float64").uniform_(-2, 3)
    assert u.dtype == engine.float64 and -2 <= u.min().item() and u.max().item() < 3
    n = engine.empty(4000).normal_(1.0, 0.5)
    assert abs(n.mean().item() - 1) < 0.05 and abs(n.std().item() - 0.5) < 0.05
    p = engine.empty(4000).bernoulli_(engine.full((4000,), 0.25))
    assert set(np.unique(p.numpy()).tolist()) <= {0.0, 1.0}
    assert abs(p.mean().item() - 0.25) < 0.05
    leaf = engine.zeros(3, requires_grad=True)
    with pytest.raises(RuntimeError, match="leaf Variable that requires grad"):
        leaf.uniform_()
    with engine.no_grad():
        leaf.normal_()  # nn.init's way
    assert leaf.requires_grad and leaf.is_leaf


def test_in_place_spellings_match_torch():
    for name, args in [("clamp_", (-0.5, 0.5)), ("relu_", ()), ("tanh_", ()), ("sigmoid_", ()),
                       ("exp_", ()), ("masked_fill_", ("mask", 9.0)), ("fill_", (2.0,)),
                       ("zero_", ()), ("scatter_", (1, "index", "src")),
                       ("scatter_add_", (1, "index", "src")),
                       ("index_add_", (0, "index1", "source"))]:
        base = np.linspace(-1, 1, 6).reshape(2, 3)
        extra = {"mask": base > 0, "index": np.array([[2, 0], [1, 2]]),
                 "src": np.ones((2, 2)) * 5, "index1": np.array([1, 1]),
                 "source": np.ones((2, 3))}
        ours, theirs = engine.tensor(base), torch.tensor(base)
        our_args = [engine.tensor(extra[a]) if isinstance(a, str) else a for a in args]
        their_args = [torch.tensor(extra[a]) if isinstance(a, str) else a for a in args]
        assert getattr(ours, name)(*our_args) is ours
        getattr(theirs, name)(*their_args)
        np.testing.assert_allclose(ours.numpy(), theirs.numpy(), err_msg=name)


def test_unsupported_names_say_what_to_use():
    x = engine.zeros(2)
    with pytest.raises(AttributeError, match=r"Tensor.cumprod .*not supported.*cumsum"):
        x.cumprod(0)
    with pytest.raises(AttributeError, match=r"^'Tensor' object has no attribute 'frobnicate'$"):
        x.frobnicate  # noqa: B018
    assert not hasattr(x, "__array_interface__")
    from engine.unsupported import UNSUPPORTED as _UNSUPPORTED

    for name in _UNSUPPORTED:
        assert hasattr(torch.Tensor, name), f"{name} is not a PyTorch Tensor method"
        assert not hasattr(x, name), f"{name} answers: it is supported, or the table is wrong"
