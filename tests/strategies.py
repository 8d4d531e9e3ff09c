"""Small hypothesis strategies: shapes, broadcastable arrays, per-op value domains.

Every strategy here that feeds an op table row draws ``(args, options)``: the
positional inputs (float64 arrays, bool arrays or Python numbers) and a dict of
keyword options (axis, keepdims, index, ...) that both the op and its NumPy
reference take.

Value domains keep finite differences honest:
    REAL      anywhere in [-3, 3]
    POSITIVE  [0.5, 3]: log, sqrt, the base of pow
    NONZERO   |x| in [0.5, 3]: divisors
    GRID      (k + 1/2) / 20: never 0 and never closer than 0.05 unless equal, so
              abs, relu, clip, max and maximum are evaluated away from their kinks
              (exact ties are fine: the engine splits a tie as the differences do)
"""

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

REAL = st.floats(-3, 3)
POSITIVE = st.floats(0.5, 3)
NONZERO = st.one_of(st.floats(-3, -0.5), st.floats(0.5, 3))
GRID = st.integers(-60, 59).map(lambda k: (k + 0.5) / 20)

MAX_DIMS, MAX_SIDE = 3, 4


def shapes(min_dims=0, max_dims=MAX_DIMS):
    return hnp.array_shapes(min_dims=min_dims, max_dims=max_dims, min_side=1, max_side=MAX_SIDE)


def arrays(shape, elements=REAL, unique=False):
    return hnp.arrays(np.float64, shape, elements=elements, unique=unique)


def args(*inputs, **options):
    """``(args, options)`` from one strategy per input and one per option."""
    return st.tuples(st.tuples(*inputs), st.fixed_dictionaries(options))


def array(elements=REAL):
    """An array of any small shape (0-d included)."""
    return arrays(shapes(), elements)


def binary(left=REAL, right=REAL):
    """Two arrays of mutually broadcastable shapes, no options."""
    return st.tuples(broadcastable(left, right), st.just({}))


@st.composite
def broadcastable(draw, *elements):
    """One array per entry of ``elements``, of mutually broadcastable shapes."""
    drawn = draw(hnp.mutually_broadcastable_shapes(
        num_shapes=len(elements), max_dims=MAX_DIMS, max_side=MAX_SIDE
    ))
    return tuple(draw(arrays(s, e)) for s, e in zip(drawn.input_shapes, elements))


@st.composite
def where_args(draw, number=None):
    """A bool condition and two arrays, broadcasting; input ``number`` (1 or 2) a float."""
    condition, a, b = draw(hnp.mutually_broadcastable_shapes(
        num_shapes=3, max_dims=MAX_DIMS, max_side=MAX_SIDE
    )).input_shapes
    inputs = [draw(hnp.arrays(np.bool_, condition)), draw(arrays(a)), draw(arrays(b))]
    if number is not None:
        inputs[number] = draw(REAL)
    return tuple(inputs), {}


@st.composite
def reduce_args(draw, elements=REAL, unique=False):
    """An array, an axis (None, an int or a tuple of ints) and keepdims."""
    shape = draw(shapes())
    ndim = len(shape)
    single = st.integers(-ndim, ndim - 1) if ndim else st.none()
    axis = draw(st.none() | single | hnp.valid_tuple_axes(ndim))
    return (draw(arrays(shape, elements, unique)),), {"axis": axis, "keepdims": draw(st.booleans())}


@st.composite
def axis_args(draw):
    """An array of at least one dimension and one axis of it."""
    shape = draw(shapes(min_dims=1))
    return (draw(arrays(shape)),), {"axis": draw(st.integers(-len(shape), len(shape) - 1))}


@st.composite
def matmul_args(draw):
    """1-D, 2-D and batched operands, batch dimensions broadcasting."""
    m, k, n = draw(st.tuples(*[st.integers(1, 3)] * 3))
    batch_a, batch_b = draw(hnp.mutually_broadcastable_shapes(
        num_shapes=2, max_dims=2, max_side=3
    )).input_shapes
    a = draw(st.sampled_from([(k,), (m, k), (*batch_a, m, k)]))
    b = draw(st.sampled_from([(k,), (k, n), (*batch_b, k, n)]))
    return (draw(arrays(a)), draw(arrays(b))), {}


@st.composite
def reshape_args(draw):
    shape = draw(shapes())
    size = int(np.prod(shape))
    targets = [(-1,), shape[::-1], (1, *shape), (size, 1)] + ([()] if size == 1 else [])
    target = draw(st.sampled_from(targets))
    return (draw(arrays(shape)),), {"shape": target}


@st.composite
def permute_args(draw):
    shape = draw(shapes())
    return (draw(arrays(shape)),), {"axes": tuple(draw(st.permutations(range(len(shape)))))}


@st.composite
def swapaxes_args(draw):
    shape = draw(shapes(min_dims=1))
    axis = st.integers(-len(shape), len(shape) - 1)
    return (draw(arrays(shape)),), {"axis1": draw(axis), "axis2": draw(axis)}


@st.composite
def broadcast_to_args(draw):
    """An array and a shape it broadcasts to (fewer dimensions, or sides of 1)."""
    target = draw(shapes())
    tail = target[draw(st.integers(0, len(target))):]
    shape = tuple(draw(st.sampled_from([1, n])) for n in tail)
    return (draw(arrays(shape)),), {"shape": target}


@st.composite
def squeeze_args(draw):
    shape = draw(hnp.array_shapes(min_dims=0, max_dims=MAX_DIMS, min_side=1, max_side=2))
    ones = [i for i, n in enumerate(shape) if n == 1]
    axis = draw(st.none() | st.sampled_from(ones)) if ones else None
    return (draw(arrays(shape)),), {"axis": axis}


@st.composite
def unsqueeze_args(draw):
    shape = draw(shapes())
    return (draw(arrays(shape)),), {"axis": draw(st.integers(-len(shape) - 1, len(shape)))}


@st.composite
def index_args(draw, kind):
    """An array and an index: ``basic`` (ints, slices, None, ...), ``integer`` arrays
    (elements may repeat), or a bool ``mask``."""
    shape = draw(shapes(min_dims=1))
    if kind == "basic":
        index = draw(hnp.basic_indices(shape, allow_newaxis=True))
    elif kind == "integer":
        index = draw(hnp.integer_array_indices(shape, result_shape=shapes(1, 2)))
    else:
        index = draw(hnp.arrays(np.bool_, shape[: draw(st.integers(1, len(shape)))]))
    return (draw(arrays(shape)),), {"index": index}


@st.composite
def join_args(draw, stack=False):
    """2 or 3 arrays to concatenate (sizes differ along ``axis``) or to stack (one shape)."""
    shape = list(draw(shapes(min_dims=0 if stack else 1)))
    count = draw(st.integers(2, 3))
    if stack:
        axis = draw(st.integers(-len(shape) - 1, len(shape)))
        return tuple(draw(arrays(tuple(shape))) for _ in range(count)), {"axis": axis}
    axis = draw(st.integers(-len(shape), len(shape) - 1))
    pieces = []
    for _ in range(count):
        shape[axis] = draw(st.integers(1, 3))
        pieces.append(draw(arrays(tuple(shape))))
    return tuple(pieces), {"axis": axis}


@st.composite
def split_args(draw, sections):
    """An array, an axis and ``cut``: a list of piece sizes (``sections="sizes"``), one
    piece size (``"size"``) or a number of pieces (``"chunks"``)."""
    shape = draw(shapes(min_dims=1))
    axis = draw(st.integers(-len(shape), len(shape) - 1))
    length = shape[axis]
    if sections == "sizes":
        cuts = sorted(draw(st.lists(st.integers(0, length), max_size=3)))
        cut = [b - a for a, b in zip([0, *cuts], [*cuts, length])]
    else:
        cut = draw(st.integers(1, length + 1))
    return (draw(arrays(shape)),), {"cut": cut, "axis": axis}
