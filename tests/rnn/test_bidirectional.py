"""Bidirectional: two cells or two layers == a bidirectional layer; lengths; merge; errors."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import rnn
from rnn.cells import map_state
from tests.rnn.common import (
    LAYERS,
    check_errors,
    flat,
    gradcheck,
    leaves,
    make_cell,
    make_layer,
    numpy_of,
    randn,
    small,
)


@st.composite
def cases(draw):
    kind = draw(st.sampled_from(sorted(LAYERS)))
    steps, batch, inputs, hidden = draw(small), draw(small), draw(small), draw(small)
    lengths = draw(st.none() | st.lists(st.integers(1, steps), min_size=batch, max_size=batch))
    return kind, steps, batch, inputs, hidden, lengths, draw(st.integers(0, 99))


def wrapped_and_layer(kind, inputs, hidden, seed, wrap):
    """Bidirectional of two cells or two layers, and the bidirectional layer with their weights."""
    if wrap == "cells":
        parts = [make_cell(kind, inputs, hidden, seed=seed + k) for k in range(2)]
        suffixes = ("_l0", "_l0_reverse")
    else:
        parts = [make_layer(kind, inputs, hidden, seed=seed + k) for k in range(2)]
        suffixes = ("", "_reverse")
    layer = make_layer(kind, inputs, hidden, bidirectional=True)
    layer.load_state_dict({name + suffix: value for part, suffix in zip(parts, suffixes)
                           for name, value in part.state_dict().items()})
    return rnn.Bidirectional(*parts), layer


@pytest.mark.parametrize("wrap", ["cells", "layers"])
@given(case=cases())
def test_bidirectional_equals_the_layers_bidirectional_mode(wrap, case):
    kind, steps, batch, inputs, hidden, lengths, seed = case
    wrapped, layer = wrapped_and_layer(kind, inputs, hidden, seed, wrap)
    x = randn(np.random.default_rng(seed), steps, batch, inputs)
    outputs, (forward_final, backward_final) = wrapped(x, lengths=lengths)
    expected, h_n = layer(x, lengths=lengths)
    np.testing.assert_allclose(outputs.numpy(), expected.numpy(), rtol=1e-12, atol=1e-14)
    finals = [forward_final, backward_final]
    if wrap == "layers":  # a layer's state has a leading (D * num_layers,) = (1,) axis
        finals = [map_state(lambda t: t[0], final) for final in finals]
    for direction, final in enumerate(finals):
        for got, part in zip(leaves(final), leaves(h_n)):
            np.testing.assert_allclose(got.numpy(), part[direction].numpy(), rtol=1e-12)


def test_backward_direction_starts_at_each_sequences_own_last_step():
    rng = np.random.default_rng(0)
    forward, backward = make_cell("gru", 2, 3, seed=1), make_cell("gru", 2, 3, seed=2)
    x = randn(rng, 4, 3, 2)
    lengths = [2, 4, 1]
    outputs, _ = rnn.Bidirectional(forward, backward)(x, lengths=lengths)
    for b, length in enumerate(lengths):
        first = backward(x[length - 1, b])  # the first backward step, from zeros
        np.testing.assert_allclose(outputs[length - 1, b, 3:].numpy(), first.numpy(), rtol=1e-12)
        assert not outputs[length:, b].numpy().any()


def test_merge_sum_and_initial_states():
    rng = np.random.default_rng(0)
    forward, backward = make_cell("lstm", 2, 3, seed=1), make_cell("lstm", 2, 3, seed=2)
    x = randn(rng, 3, 2, 2)
    states = ((randn(rng, 2, 3), randn(rng, 2, 3)), (randn(rng, 2, 3), randn(rng, 2, 3)))
    concat, finals = rnn.Bidirectional(forward, backward)(x, states, lengths=[3, 2])
    summed, _ = rnn.Bidirectional(forward, backward, merge="sum")(x, states, lengths=[3, 2])
    np.testing.assert_allclose(summed.numpy(), concat.numpy()[..., :3] + concat.numpy()[..., 3:])
    expected = rnn.unroll(backward, x, states[1], lengths=[3, 2], reverse=True)[1]
    for a, b in zip(numpy_of(finals[1]), numpy_of(expected)):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("wrap", ["cells", "layers"])
@given(case=cases())
def test_bidirectional_gradcheck(wrap, case):
    kind, steps, batch, inputs, hidden, lengths, seed = case
    wrapped, _ = wrapped_and_layer(kind, inputs, hidden, seed, wrap)
    x = randn(np.random.default_rng(seed), steps, batch, inputs, requires_grad=True)
    gradcheck(lambda x, *p: flat(wrapped(x, lengths=lengths)), [x, *wrapped.parameters()])


def test_bidirectional_errors():
    rng = np.random.default_rng(0)
    gru = make_cell("gru", 2, 3)
    both = rnn.Bidirectional(gru, make_cell("gru", 2, 3, seed=1))
    x = randn(rng, 3, 2, 2)
    check_errors([
        (lambda: rnn.Bidirectional(gru, gru, merge="mean"), ValueError,
         "Bidirectional: merge must be 'concat' or 'sum'; got 'mean'"),
        (lambda: rnn.Bidirectional(gru, make_cell("gru", 2, 4), merge="sum"), ValueError,
         "Bidirectional: merge='sum' needs outputs of one width; got 3 (forward) and 4 (backward)"),
        (lambda: rnn.Bidirectional(gru, make_layer("gru", 2, 3, batch_first=True)), ValueError,
         "Bidirectional: the backward module is batch_first"),
        (lambda: both(randn(rng, 3, 2)), ValueError,
         "Bidirectional: x must be (T, B, I); got shape (3, 2)"),
        (lambda: both(randn(rng, 3, 2, 5)), ValueError,
         "Bidirectional: GRUCell expects I = 2 features; got x of shape (3, 2, 5)"),
        (lambda: both(x, randn(rng, 2, 3)), ValueError,
         "Bidirectional: state must be None or a pair (forward state, backward state); got Tensor"),
        (lambda: both(x, (randn(rng, 2, 3), randn(rng, 1, 3))), ValueError,
         "Bidirectional (GRUCell): expected a state of shape (2, 3); got (1, 3)"),
        (lambda: both(x, lengths=[3]), ValueError,
         "lengths must hold one length per batch element, shape (2,); got shape (1,)"),
    ])
