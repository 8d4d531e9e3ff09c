"""Shared by the fused-op tests: problems drawn by hypothesis, and their results
(outputs, final states, every gradient) under the fused or the composed path."""

import numpy as np
from hypothesis import strategies as st

import rnn
from engine import Tensor
from rnn.fused import KINDS  # kind name -> its CellKind record

TOLERANCE = {"float64": dict(rtol=1e-9, atol=1e-11), "float32": dict(rtol=2e-4, atol=2e-5)}


@st.composite
def configs(draw):
    """A small problem: kind, sizes, dtype, bias, direction and lengths (or None)."""
    steps, batch = draw(st.integers(1, 5)), draw(st.integers(1, 4))
    lengths = draw(st.none() | st.lists(st.integers(1, steps), min_size=batch, max_size=batch))
    return dict(kind=draw(st.sampled_from(sorted(KINDS))), steps=steps, batch=batch,
                inputs=draw(st.integers(1, 4)), hidden=draw(st.integers(1, 4)),
                dtype=draw(st.sampled_from(["float64", "float32"])), bias=draw(st.booleans()),
                reverse=draw(st.booleans()), lengths=lengths, seed=draw(st.integers(0, 2**16)))


def problem(kind, steps, batch, inputs, hidden, dtype, bias, seed, device="cpu", **_):
    """Leaves x, state (a list), weights (4, biases maybe None) and upstream gradients."""
    rng = np.random.default_rng(seed)
    gates = KINDS[kind].gates

    def draw(*shape, grad=True):
        data = rng.standard_normal(shape) * (0.5 if len(shape) < 3 else 1.0)
        return Tensor(data, dtype=dtype, device=device, requires_grad=grad)

    x = draw(steps, batch, inputs)
    state = [draw(batch, hidden) for _ in range(KINDS[kind].states)]
    weights = [draw(gates * hidden, inputs), draw(gates * hidden, hidden)]
    weights += [draw(gates * hidden), draw(gates * hidden)] if bias else [None, None]
    upstream = [draw(steps, batch, hidden, grad=False)]
    upstream += [draw(batch, hidden, grad=False) for _ in state]
    return x, state, weights, upstream


def results(direction, kind, x, state, weights, upstream, lengths, reverse):
    """NumPy outputs, final states and the gradients of every leaf under ``direction``."""
    leaves = [t for t in (x, *state, *weights) if t is not None and t.requires_grad]
    for leaf in leaves:
        leaf.grad = None
    output, final = direction(KINDS[kind].function, x,
                              state[0] if len(state) == 1 else tuple(state), weights, lengths,
                              reverse)
    finals = list(final) if isinstance(final, tuple) else [final]
    sum((r * u).sum() for r, u in zip([output, *finals], upstream)).backward()
    return [t.numpy() for t in [output, *finals]] + [leaf.grad.numpy() for leaf in leaves]


def composed(step, x, state, weights, lengths, reverse):
    return rnn.unroll(lambda x_t, s: step(x_t, s, *weights), x, state, lengths, reverse)


def assert_same(got, want, dtype):
    assert len(got) == len(want)
    for i, (a, b) in enumerate(zip(got, want)):
        assert a.shape == b.shape and a.dtype == b.dtype, (i, a.shape, b.shape)
        np.testing.assert_allclose(a, b, err_msg=f"result {i}", **TOLERANCE[dtype])
