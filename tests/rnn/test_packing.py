"""PyTorch's packed sequences over our padding: packing and unpacking checked by finite
differences, bad input, the projection's rules (tests/rnn/test_packing_torch.py compares
with PyTorch)."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import engine
import rnn
from rnn.packing import PackedSequence, pack_padded_sequence, pad_packed_sequence

lengths_of = st.lists(st.integers(1, 5), min_size=1, max_size=4)


def padded(lengths, features=2, seed=0):
    """A (T, B, F) float64 batch, T = max(lengths), its padding zero."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((max(lengths), len(lengths), features))
    x[np.arange(max(lengths))[:, None] >= np.array(lengths)[None, :]] = 0
    return x


@given(lengths=lengths_of, batch_first=st.booleans())
def test_pack_then_pad_gives_the_batch_back_and_gradients_flow(lengths, batch_first):
    x = engine.tensor(padded(lengths), requires_grad=True)

    def round_trip(x):
        source = x.transpose(0, 1) if batch_first else x
        packed = pack_padded_sequence(source, lengths, batch_first, enforce_sorted=False)
        return pad_packed_sequence(packed, batch_first)[0] * 2

    out = round_trip(x)
    np.testing.assert_array_equal((out * 0.5).numpy(), x.transpose(0, 1).numpy() if batch_first
                                  else x.numpy())
    assert engine.gradcheck(round_trip, [x])


def test_the_padding_of_an_unpacked_batch_gets_no_gradient():
    x = engine.tensor(padded([3, 1]) + 1, requires_grad=True)  # nonzero padding, on purpose
    padded_back, _ = pad_packed_sequence(pack_padded_sequence(x, [3, 1]))
    padded_back.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy()[:, 1, 0], [1, 0, 0])


def test_unsorted_lengths_with_enforce_sorted_raise_pytorchs_error():
    with pytest.raises(RuntimeError, match="must be sorted in decreasing order"):
        pack_padded_sequence(engine.zeros(3, 2, 1), [1, 3])
    with pytest.raises(ValueError, match=r"longer than the input's 3 steps"):
        pack_padded_sequence(engine.zeros(3, 2, 1), [4, 1])
    with pytest.raises(ValueError, match=r"one length per batch element, shape \(2,\)"):
        pack_padded_sequence(engine.zeros(3, 2, 1), [3])
    packed = pack_padded_sequence(engine.zeros(3, 2, 1), [3, 1])
    with pytest.raises(ValueError, match="at least the length of the longest sequence"):
        pad_packed_sequence(packed, total_length=2)


def test_projection_sizes_follow_pytorchs_rules():
    for proj_size, words in [(5, "smaller than hidden_size"), (-1, "positive integer or zero")]:
        with pytest.raises(ValueError, match=words):
            rnn.LSTM(3, 5, proj_size=proj_size)
    with pytest.raises(ValueError, match="only supported for LSTM"):
        rnn.recurrent.RNNBase("GRU", 3, 5, proj_size=2)
    layer = rnn.LSTM(3, 5, proj_size=2)
    with pytest.raises(ValueError, match=r"\(1, 4, 2\) and \(1, 4, 5\)"):
        layer(engine.zeros(2, 4, 3), (engine.zeros(1, 4, 5), engine.zeros(1, 4, 5)))


def test_a_packed_sequence_moves_and_casts():
    packed = pack_padded_sequence(engine.zeros(3, 2, 1), [3, 1])
    assert isinstance(packed.double(), PackedSequence) and packed.double().data.dtype == "float64"
    assert packed.to("cpu").batch_sizes is packed.batch_sizes and not packed.is_cuda
