"""unroll: the plain loop, lengths (padding invariance), reverse, truncated BPTT; masks."""

import sys

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import engine
import rnn
from rnn.masks import check_lengths, lengths_to_mask, reverse_padded
from tests.rnn.common import (
    CELLS,
    check_errors,
    flat,
    gradients,
    leaves,
    make_cell,
    randn,
    small,
    weighted_sum,
)

KINDS = sorted(CELLS)


@st.composite
def batches(draw):
    """(kind, T, B, I, H, lengths, seed) of a small padded batch."""
    kind = draw(st.sampled_from(KINDS))
    steps, batch, inputs, hidden = draw(small), draw(small), draw(small), draw(small)
    lengths = draw(st.lists(st.integers(1, steps), min_size=batch, max_size=batch))
    return kind, steps, batch, inputs, hidden, np.array(lengths), draw(st.integers(0, 2**16))


@pytest.mark.parametrize("kind", KINDS)
def test_unroll_is_the_loop_over_time(kind):
    rng = np.random.default_rng(0)
    cell = make_cell(kind, 2, 3)
    x = randn(rng, 4, 2, 2)
    outputs, final = rnn.unroll(cell, x)
    state = None
    for t in range(4):
        state = cell(x[t], state)
        np.testing.assert_array_equal(outputs[t].numpy(), leaves(state)[0].numpy())
    for a, b in zip(leaves(final), leaves(state)):
        np.testing.assert_array_equal(a.numpy(), b.numpy())


@given(batches())
def test_lengths_give_each_sequence_its_own_run(case):
    """Outputs and final state of sequence b are those of running it alone for lengths[b] steps."""
    kind, steps, batch, inputs, hidden, lengths, seed = case
    rng = np.random.default_rng(seed)
    cell = make_cell(kind, inputs, hidden, seed=seed)
    x = randn(rng, steps, batch, inputs)
    for reverse in (False, True):
        outputs, final = rnn.unroll(cell, x, lengths=lengths, reverse=reverse)
        for b, length in enumerate(lengths):
            alone = x[:length, b : b + 1]
            alone_out, alone_final = rnn.unroll(cell, alone, reverse=reverse)
            np.testing.assert_allclose(outputs[:length, b].numpy(), alone_out[:, 0].numpy(),
                                       rtol=1e-12, atol=1e-14)
            assert not outputs[length:, b].numpy().any()  # padded outputs are zero
            for a, c in zip(leaves(final), leaves(alone_final)):
                np.testing.assert_allclose(a[b].numpy(), c[0].numpy(), rtol=1e-12, atol=1e-14)


FILLS = st.sampled_from([np.nan, np.inf, -np.inf]) | st.floats(allow_nan=True,
                                                               allow_infinity=True)


@given(batches(), st.integers(1, 3), st.booleans(), FILLS)
def test_padding_invariance(case, extra, reverse, fill):
    """Appending padding steps, and overwriting the padding there is, with any value (NaN and
    inf included) changes no valid output, final state or gradient."""
    kind, steps, batch, inputs, hidden, lengths, seed = case
    rng = np.random.default_rng(seed)
    cell = make_cell(kind, inputs, hidden, seed=seed)
    x = rng.standard_normal((steps, batch, inputs))
    padded = np.concatenate([x, np.full((extra, batch, inputs), fill)])
    padded[:steps][np.arange(steps)[:, None] >= lengths] = fill  # (T, B): x's own padding too

    def run(array):
        xt = engine.Tensor(array, requires_grad=True)
        result = rnn.unroll(cell, xt, lengths=lengths, reverse=reverse)
        valid = result[0][:steps]  # the padding steps' outputs are zero and not compared
        return xt, valid, result[1]

    x_short, out_short, final_short = run(x)
    x_long, out_long, final_long = run(padded)
    np.testing.assert_allclose(out_long.numpy(), out_short.numpy(), rtol=1e-12, atol=1e-14)
    for a, b in zip(leaves(final_long), leaves(final_short)):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-12, atol=1e-14)
    params = list(cell.parameters())
    grads_short = gradients(lambda: weighted_sum((out_short, final_short)), [x_short, *params])
    grads_long = gradients(lambda: weighted_sum((out_long, final_long)), [x_long, *params])
    np.testing.assert_allclose(grads_long[0][:steps], grads_short[0], rtol=1e-12, atol=1e-14)
    assert not grads_long[0][steps:].any()
    for a, b in zip(grads_long[1:], grads_short[1:]):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-14)


@given(batches())
def test_reverse_matches_hand_reversed_loop(case):
    """reverse=True == reverse each valid prefix in NumPy, run forward, reverse back by hand."""
    kind, steps, batch, inputs, hidden, lengths, seed = case
    rng = np.random.default_rng(seed)
    cell = make_cell(kind, inputs, hidden, seed=seed)
    x = rng.standard_normal((steps, batch, inputs))
    flipped = x.copy()
    for b, length in enumerate(lengths):
        flipped[:length, b] = x[:length, b][::-1]
    forward_out, forward_final = rnn.unroll(cell, engine.Tensor(flipped), lengths=lengths)
    expected = forward_out.numpy().copy()
    for b, length in enumerate(lengths):
        expected[:length, b] = expected[:length, b][::-1]
    outputs, final = rnn.unroll(cell, engine.Tensor(x), lengths=lengths, reverse=True)
    np.testing.assert_allclose(outputs.numpy(), expected, rtol=1e-12, atol=1e-14)
    for a, b in zip(leaves(final), leaves(forward_final)):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-12, atol=1e-14)


@given(batches(), st.booleans())
def test_unroll_gradcheck(case, reverse):
    kind, steps, batch, inputs, hidden, lengths, seed = case
    rng = np.random.default_rng(seed)
    cell = make_cell(kind, inputs, hidden, seed=seed)
    x = randn(rng, steps, batch, inputs, requires_grad=True)
    h0 = randn(rng, batch, hidden, requires_grad=True)
    state = h0 if CELLS[kind][1] == 1 else (h0, randn(rng, batch, hidden))
    engine.gradcheck(lambda x, h0, *p: flat(rnn.unroll(cell, x, state, lengths, reverse)),
                     [x, h0, *cell.parameters()])


def test_lengths_may_be_a_list_an_array_or_an_integer_tensor():
    rng = np.random.default_rng(0)
    cell = make_cell("gru", 2, 2)
    x = randn(rng, 3, 2, 2)
    expected = rnn.unroll(cell, x, lengths=[3, 1])[0].numpy()
    for lengths in (np.array([3, 1], dtype=np.int32), engine.tensor([3, 1])):
        np.testing.assert_array_equal(rnn.unroll(cell, x, lengths=lengths)[0].numpy(), expected)


def test_long_sequence_backward_has_no_recursion_limit():
    cell = make_cell("rnn_tanh", 1, 1)
    x = engine.zeros(3000, 1, 1, dtype="float64", requires_grad=True)
    outputs, _ = rnn.unroll(cell, x)
    outputs.sum().backward()
    assert x.grad.shape == (3000, 1, 1)


def test_detach_state_carries_values_not_the_graph():
    """Truncated BPTT: chunk 2's gradients equal a fresh run from chunk 1's (detached) state."""
    rng = np.random.default_rng(0)
    cell = make_cell("lstm", 2, 3)
    x = randn(rng, 6, 2, 2)
    _, state = rnn.unroll(cell, x[:3])
    carried = rnn.detach_state(state)
    assert all(not t.requires_grad and t.is_leaf for t in carried)
    np.testing.assert_array_equal(carried[0].numpy(), state[0].numpy())
    params = list(cell.parameters())
    grads = gradients(lambda: rnn.unroll(cell, x[3:], carried)[0].sum(), params)
    fresh = tuple(engine.Tensor(t.numpy().copy()) for t in state)
    expected = gradients(lambda: rnn.unroll(cell, x[3:], fresh)[0].sum(), params)
    for a, b in zip(grads, expected):
        np.testing.assert_array_equal(a, b)
    nested = rnn.detach_state(((state[0], state[1]), state[0]))
    assert [t.requires_grad for t in leaves(nested)] == [False] * 3
    assert rnn.detach_state(None) is None


def test_unroll_errors():
    rng = np.random.default_rng(0)
    cell = make_cell("gru", 2, 3)
    x = randn(rng, 3, 2, 2)
    check_errors([
        (lambda: rnn.unroll(cell, randn(rng, 3, 2)), ValueError,
         "unroll: inputs must be (T, B, I) with T >= 1; got (3, 2)"),
        (lambda: rnn.unroll(cell, randn(rng, 0, 2, 2)), ValueError,  # not stack's words
         "unroll: inputs must be (T, B, I) with T >= 1; got (0, 2, 2)"),
        (lambda: rnn.run_direction(rnn.gru_cell, x, engine.zeros(2, 3, dtype="int64"),
                                   cell.weights()), RuntimeError,
         "run_direction: the state must have the weights' dtype float64; got int64"),
        (lambda: rnn.unroll(cell, x, randn(rng, 4, 3)), ValueError,
         "unroll: the state's h must be (B, H) with B = 2; got (4, 3)"),
        (lambda: rnn.unroll(cell, x, lengths=[4, 1]), ValueError,
         "lengths must each be in 1..T = 1..3; got [4, 1]"),
        (lambda: rnn.unroll(lambda x, h: h, x), TypeError,
         "unroll: state=None needs cell.zero_state(batch_size), which function lacks"),
        (lambda: rnn.unroll(cell, randn(rng, 3, 2, 5)), ValueError,
         "GRUCell: expected x with I = 2 features; got shape (2, 5)"),
    ])


# ---------------------------------------------------------------- masks


def test_lengths_to_mask():
    mask = lengths_to_mask([2, 3, 1], 3)
    assert mask.dtype == np.bool_ and mask.shape == (3, 3)
    np.testing.assert_array_equal(mask.numpy(), [[1, 1, 1], [1, 1, 0], [0, 1, 0]])


def test_bad_lengths_raise_naming_expected_and_received():
    in_range = "lengths must each be in 1..T = 1..3; got "
    per_element = "lengths must hold one length per batch element, shape (2,); got shape "
    check_errors([
        (lambda: check_lengths([0, 2], 3, 2), ValueError, in_range + "[0, 2]"),
        (lambda: check_lengths([-1, 2], 3, 2), ValueError, in_range + "[-1, 2]"),
        (lambda: check_lengths([4, 2], 3, 2), ValueError, in_range + "[4, 2]"),
        (lambda: check_lengths([1, 2, 3], 3, 2), ValueError, per_element + "(3,): [1, 2, 3]"),
        (lambda: check_lengths([[1, 2]], 3, 2), ValueError, per_element + "(1, 2): [[1, 2]]"),
        (lambda: check_lengths([1.0, 2.0], 3, 2), TypeError,
         "lengths must be integers; got dtype float64: [1.0, 2.0]"),
    ])


def test_reverse_padded_is_its_own_inverse_and_differentiable():
    rng = np.random.default_rng(0)
    x = randn(rng, 4, 3, 2, requires_grad=True)
    lengths = [4, 1, 3]
    twice = reverse_padded(reverse_padded(x, lengths), lengths)
    np.testing.assert_array_equal(twice.numpy(), x.numpy())
    np.testing.assert_array_equal(reverse_padded(x).numpy(), x.numpy()[::-1])
    engine.gradcheck(lambda x: reverse_padded(x, lengths), [x])


def test_lengths_may_be_a_cupy_array(monkeypatch):
    """A raw CuPy array refuses np.asarray (an implicit copy from the GPU): check_lengths
    copies it to the host itself (the lengths steer loops there)."""
    from tests.engine.test_backend import fake_cupy

    cupy = fake_cupy()
    monkeypatch.setitem(sys.modules, "cupy", cupy)
    lengths = cupy.ndarray([3, 1])
    with pytest.raises(TypeError, match="Implicit conversion"):
        np.asarray(lengths)
    np.testing.assert_array_equal(check_lengths(lengths, 3, 2), [3, 1])
    np.testing.assert_array_equal(lengths_to_mask(lengths, 3).numpy(),
                                  [[True, True], [True, False], [True, False]])
