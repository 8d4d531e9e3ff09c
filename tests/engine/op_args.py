"""Strategies for the op table rows of PyTorch's grammar (the style of tests/strategies.py).

Each draws ``(args, options)``: positional inputs (float64 arrays become Tensors that
require grad, integer and bool arrays plain Tensors, numbers stay numbers) and keyword
options, inside a domain where central differences are honest: steps (floor, //) and
kinks (clamp, sort) stay at least 0.01 away from where they jump.
"""

import string

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from tests.strategies import (
    GRID,
    MAX_DIMS,
    MAX_SIDE,
    REAL,
    arrays,
    broadcastable,
    reduce_args,
    shapes,
)

UNIQUE = dict(elements=GRID, unique=True)  # no ties: max, sort, topk pick one element


def dims(ndim, min_value=None):
    """One dimension of an ``ndim``-dimensional tensor, negatives included."""
    return st.integers(-ndim if min_value is None else min_value, ndim - 1)


@st.composite
def division_args(draw):
    """``a`` and ``b`` (broadcasting) with ``a / b`` at least 0.1 from an integer."""
    b_shape, q_shape = draw(hnp.mutually_broadcastable_shapes(
        num_shapes=2, max_dims=MAX_DIMS, max_side=MAX_SIDE)).input_shapes
    b = draw(arrays(b_shape, st.sampled_from([-1.5, -0.75, 0.5, 1.25, 2.0])))
    whole = draw(hnp.arrays(np.float64, q_shape, elements=st.integers(-3, 2)))
    part = draw(arrays(q_shape, st.floats(0.1, 0.9)))
    return (b * (whole + part), b), {}


@st.composite
def clamp_args(draw):
    """``a``, ``min``, ``max`` broadcasting, on three grids that never meet (no ties)."""
    a, low, high = draw(broadcastable(GRID, GRID, GRID))
    low, high = np.round(low * 20) / 20, np.round(high * 20) / 20 + 0.0125
    return (a, np.asarray(low), np.asarray(high)), {}


@st.composite
def masked_fill_args(draw):
    """An array, a bool mask broadcasting against it, a number or a 0-d array."""
    a_shape, mask_shape = draw(hnp.mutually_broadcastable_shapes(
        num_shapes=2, max_dims=MAX_DIMS, max_side=MAX_SIDE)).input_shapes
    value = draw(REAL | arrays((), REAL))
    return (draw(arrays(a_shape)), draw(hnp.arrays(np.bool_, mask_shape)), value), {}


@st.composite
def var_args(draw, elements=REAL, unique=False):
    """An array, axes (None, an int or a tuple), keepdims and a correction below the count
    (``unique`` for std: at a constant row it has no derivative)."""
    (a,), options = draw(reduce_args(elements, unique))
    axes = options["axis"]
    axes = range(a.ndim) if axes is None else [axes] if isinstance(axes, int) else axes
    count = int(np.prod([a.shape[i] for i in axes]))
    options["correction"] = draw(st.integers(0, min(count - 1, 2)))
    return (a,), options


@st.composite
def norm_args(draw):
    (a,), options = draw(reduce_args(GRID, unique=True))  # three tied |a| break differences
    p = draw(st.sampled_from(["fro", 2, 1, 3, 0.5, np.inf, -np.inf]))
    axes = options.get("axis")
    if p == "fro" and isinstance(axes, tuple) and len(axes) > 2:
        p = 2  # 'fro' is a vector or a matrix norm: over three axes it is an error
    return (a,), {**options, "p": p}


@st.composite
def dim_args(draw, elements=REAL, unique=False, keepdim=False):
    """An array of at least one dimension, one ``dim`` of it (and ``keepdim``)."""
    shape = draw(shapes(min_dims=1))
    options = {"dim": draw(dims(len(shape)))}
    if keepdim:
        options["keepdim"] = draw(st.booleans())
    return (draw(arrays(shape, elements, unique)),), options


@st.composite
def sort_args(draw, kind):
    """An array of unique values, a dim, and: ``descending`` (sort), ``k``/``largest`` (topk),
    ``k``/``keepdim`` (kthvalue)."""
    (a,), options = draw(dim_args(**UNIQUE))
    length = a.shape[options["dim"]]
    if kind == "sort":
        options["descending"] = draw(st.booleans())
    elif kind == "topk":
        options.update(k=draw(st.integers(0, length)), largest=draw(st.booleans()))
    else:
        options.update(k=draw(st.integers(1, length)), keepdim=draw(st.booleans()))
    return (a,), options


@st.composite
def gather_args(draw, repeats=True):
    """An array, a dim and an index no larger than the array (except along dim). Without
    ``repeats``, no position along dim is picked twice (what scatter needs)."""
    shape = draw(shapes(min_dims=1))
    dim = draw(st.integers(0, len(shape) - 1))
    index_shape = [draw(st.integers(1, n)) for n in shape]
    length = shape[dim]
    if repeats:
        index_shape[dim] = draw(st.integers(1, 4))
        index = draw(hnp.arrays(np.int64, index_shape, elements=st.integers(0, length - 1)))
    else:
        index_shape[dim] = draw(st.integers(1, length))
        rng = np.random.default_rng(draw(st.integers(0, 2**16)))
        index = np.argsort(rng.random([*index_shape[:dim], length, *index_shape[dim + 1:]]),
                           axis=dim).take(range(index_shape[dim]), axis=dim)
    return (draw(arrays(shape)), index), {"dim": dim - draw(st.sampled_from([0, len(shape)]))}


@st.composite
def scatter_args(draw, repeats):
    """gather_args plus a ``src`` at least as large as the index."""
    (a, index), options = draw(gather_args(repeats))
    src_shape = [n + draw(st.integers(0, 1)) for n in index.shape]
    return (a, index, draw(arrays(tuple(src_shape)))), options


@st.composite
def index_select_args(draw, source=False):
    """An array, a dim and a 1-D index (repeats allowed); with ``source``, index_add's
    ``source`` (the array's shape, the index's length along dim)."""
    shape = draw(shapes(min_dims=1))
    dim = draw(dims(len(shape)))
    index = draw(hnp.arrays(np.int64, draw(st.integers(1, 4)),
                            elements=st.integers(0, shape[dim] - 1)))
    inputs = (draw(arrays(shape)), index)
    if source:
        source_shape = list(shape)
        source_shape[dim] = len(index)
        inputs += (draw(arrays(tuple(source_shape))),)
    return inputs, {"dim": dim}


@st.composite
def masked_select_args(draw):
    a_shape, mask_shape = draw(hnp.mutually_broadcastable_shapes(
        num_shapes=2, max_dims=MAX_DIMS, max_side=MAX_SIDE)).input_shapes
    return (draw(arrays(a_shape)), draw(hnp.arrays(np.bool_, mask_shape))), {}


@st.composite
def repeat_interleave_args(draw):
    shape = draw(shapes(min_dims=1))
    dim = draw(st.none() | dims(len(shape)))
    length = int(np.prod(shape)) if dim is None else shape[dim]
    repeats = draw(st.integers(0, 3) | st.lists(st.integers(0, 3), min_size=length,
                                                max_size=length))
    return (draw(arrays(shape)),), {"repeats": repeats, "dim": dim}


@st.composite
def flatten_args(draw):
    shape = draw(shapes())
    ndim = max(len(shape), 1)
    start, end = sorted([draw(st.integers(0, ndim - 1)), draw(st.integers(0, ndim - 1))])
    return (draw(arrays(shape)),), {"start_dim": start - draw(st.sampled_from([0, ndim])),
                                    "end_dim": end}


@st.composite
def unflatten_args(draw):
    shape = draw(shapes(min_dims=1))
    dim = draw(dims(len(shape)))
    n = shape[dim]
    first = draw(st.sampled_from([d for d in range(1, n + 1) if n % d == 0]))
    sizes = draw(st.sampled_from([(first, n // first), (first, -1), (-1, first), (n,), (1, n, 1)]))
    return (draw(arrays(shape)),), {"dim": dim, "sizes": sizes}


@st.composite
def expand_args(draw):
    """An array and ``sizes`` it expands to: its sides kept (or -1) or stretched from 1,
    maybe new leading sides."""
    target = draw(shapes())
    cut = draw(st.integers(0, len(target)))
    shape = tuple(draw(st.sampled_from([1, n])) for n in target[cut:])
    sizes = list(target[:cut]) + [draw(st.sampled_from([t, -1])) if s == t else t
                                  for s, t in zip(shape, target[cut:])]
    return (draw(arrays(shape)),), {"sizes": tuple(sizes)}


@st.composite
def repeat_args(draw):
    shape = draw(shapes(max_dims=2))
    reps = draw(st.lists(st.integers(1, 3), min_size=len(shape), max_size=len(shape) + 1))
    return (draw(arrays(shape)),), {"reps": tuple(reps)}


@st.composite
def narrow_args(draw):
    """A dim, a start (maybe negative: counted from the end) and a length that fits."""
    shape = draw(shapes(min_dims=1))
    dim = draw(dims(len(shape)))
    n = shape[dim]
    start = draw(st.integers(0, n - 1))
    length = draw(st.integers(0, n - start))
    start -= draw(st.sampled_from([0, n]))
    return (draw(arrays(shape)),), {"dim": dim, "start": start, "length": length}


@st.composite
def movedim_args(draw):
    shape = draw(shapes(min_dims=1))
    ndim = len(shape)
    count = draw(st.integers(1, ndim))
    source = draw(st.permutations(range(ndim)))[:count]
    destination = draw(st.permutations(range(ndim)))[:count]
    if count == 1 and draw(st.booleans()):
        source, destination = source[0], destination[0] - ndim  # ints, one negative
    return (draw(arrays(shape)),), {"source": source, "destination": destination}


@st.composite
def flip_args(draw):
    shape = draw(shapes(min_dims=1))
    flipped = draw(hnp.valid_tuple_axes(len(shape)))
    return (draw(arrays(shape)),), {"dims": flipped}


@st.composite
def roll_args(draw):
    shape = draw(shapes(min_dims=1))
    if draw(st.booleans()):
        return (draw(arrays(shape)),), {"shifts": draw(st.integers(-5, 5)), "dims": None}
    rolled = draw(hnp.valid_tuple_axes(len(shape), min_size=1))
    shifts = tuple(draw(st.integers(-5, 5)) for _ in rolled)
    return (draw(arrays(shape)),), {"shifts": shifts, "dims": rolled}


@st.composite
def stack_args(draw, kind):
    """2 or 3 arrays for hstack / vstack: 1-D ones, or one shape except along the joined dim."""
    ndim = draw(st.integers(1, 3))
    shape = list(draw(shapes(min_dims=ndim, max_dims=ndim)))
    joined = 0 if ndim == 1 and kind == "hstack" else (1 if kind == "hstack" else 0)
    pieces = []
    for _ in range(draw(st.integers(2, 3))):
        if kind == "hstack" or ndim > 1:
            shape[joined] = draw(st.integers(1, 3))
        pieces.append(draw(arrays(tuple(shape))))
    return tuple(pieces), {}


@st.composite
def product_args(draw, kind):
    """Operands of mm, bmm, mv, dot, outer and addmm."""
    b, n, k, m = (draw(st.integers(1, 3)) for _ in range(4))
    operands = {"mm": [(n, k), (k, m)], "bmm": [(b, n, k), (b, k, m)], "mv": [(n, k), (k,)],
                "dot": [(k,), (k,)], "outer": [(n,), (m,)],
                "addmm": [draw(st.sampled_from([(n, m), (m,), (1, m), ()])), (n, k), (k, m)]}[kind]
    options = {"beta": draw(st.sampled_from([1, 0.5])), "alpha": draw(st.sampled_from([1, -2.0]))}
    return tuple(draw(arrays(shape)) for shape in operands), options if kind == "addmm" else {}


EQUATIONS = [
    "ij,jk->ik", "ij,jk", "bij,bjk->bik", "i,i->", "i,j->ij", "ij->ji", "ij->", "ij", "ii->i",
    "ii", "iij->j", "ij,ij,ij->i", "...ij,...jk->...ik", "b...,b...->...b", "ij,kj", "i,i",
    "ba,ab->", "Ab,bA->A",
]


@st.composite
def einsum_args(draw):
    """An equation and operands of sizes that fit it (``...`` from 0 to 2 dimensions, a
    letter sometimes of size 1 in one operand: broadcast)."""
    equation = draw(st.sampled_from(EQUATIONS))
    sizes = {c: draw(st.integers(1, 3)) for c in string.ascii_letters}
    ellipsis = [draw(st.integers(1, 3)) for _ in range(draw(st.integers(0, 2)))]
    operands = []
    for subscripts in equation.split("->")[0].split(","):
        head = list(ellipsis) if "..." in subscripts else []
        if head and draw(st.booleans()):
            head = [1] * len(head)  # broadcast against the other operand
        operands.append(draw(arrays(tuple(head + [sizes[c] for c in subscripts.replace(
            "...", "")]))))
    return (equation, *operands), {}


@st.composite
def triangle_args(draw):
    shape = draw(shapes(min_dims=2))
    return (draw(arrays(shape)),), {"diagonal": draw(st.integers(-2, 2))}
