"""Packed sequences against PyTorch (skipped without it): packing and unpacking, the layers
on a PackedSequence, and the LSTM with a projection, outputs and every gradient."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import engine
import rnn
from rnn.packing import pack_padded_sequence, pack_sequence, pad_packed_sequence, pad_sequence
from tests.rnn.test_packing import lengths_of, padded

torch = pytest.importorskip("torch")
torch_utils = torch.nn.utils.rnn


@given(lengths=lengths_of, batch_first=st.booleans(), enforce_sorted=st.booleans(),
       extra=st.integers(0, 2))
def test_packing_matches_pytorch(lengths, batch_first, enforce_sorted, extra):
    if enforce_sorted:
        lengths = sorted(lengths, reverse=True)
    x = padded(lengths)
    x = x.swapaxes(0, 1) if batch_first else x
    ours = pack_padded_sequence(engine.tensor(x), lengths, batch_first, enforce_sorted)
    theirs = torch_utils.pack_padded_sequence(torch.tensor(x), torch.tensor(lengths),
                                              batch_first, enforce_sorted)
    np.testing.assert_array_equal(ours.data.numpy(), theirs.data.numpy())
    assert ours.batch_sizes.tolist() == theirs.batch_sizes.tolist()
    for a, b in [(ours.sorted_indices, theirs.sorted_indices),
                 (ours.unsorted_indices, theirs.unsorted_indices)]:
        assert (a is None and b is None) or a.tolist() == b.tolist()
    total = max(lengths) + extra
    our_pad, our_lengths = pad_packed_sequence(ours, batch_first, -1.0, total)
    their_pad, their_lengths = torch_utils.pad_packed_sequence(theirs, batch_first, -1.0, total)
    np.testing.assert_array_equal(our_pad.numpy(), their_pad.numpy())
    assert our_lengths.tolist() == their_lengths.tolist()


@given(lengths=lengths_of, batch_first=st.booleans())
def test_pad_sequence_and_pack_sequence_match_pytorch(lengths, batch_first):
    rng = np.random.default_rng(1)
    arrays = [rng.standard_normal((n, 3)) for n in lengths]
    ours = pad_sequence([engine.tensor(a) for a in arrays], batch_first, padding_value=7.0)
    theirs = torch_utils.pad_sequence([torch.tensor(a) for a in arrays], batch_first, 7.0)
    np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
    ours = pack_sequence([engine.tensor(a) for a in arrays], enforce_sorted=False)
    theirs = torch_utils.pack_sequence([torch.tensor(a) for a in arrays], enforce_sorted=False)
    np.testing.assert_array_equal(ours.data.numpy(), theirs.data.numpy())


LAYERS = {"rnn": (rnn.RNN, torch.nn.RNN), "lstm": (rnn.LSTM, torch.nn.LSTM),
          "gru": (rnn.GRU, torch.nn.GRU)}


def compare(ours, theirs, call_ours, call_theirs, inputs):
    """Load PyTorch's weights into ours, run both, backward the same weighted sum of every
    output, and compare outputs and the gradients of the inputs and of every parameter."""
    ours.load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()})
    our_inputs = [engine.tensor(a, requires_grad=True) for a in inputs]
    their_inputs = [torch.tensor(a, requires_grad=True) for a in inputs]
    our_out, their_out = call_ours(*our_inputs), call_theirs(*their_inputs)
    rng = np.random.default_rng(2)
    weights = [rng.standard_normal(tuple(t.shape)) for t in their_out]
    sum((a * w).sum() for a, w in zip(our_out, weights)).backward()
    sum((b * torch.tensor(w)).sum() for b, w in zip(their_out, weights)).backward()
    for a, b in zip(our_out, their_out):
        np.testing.assert_allclose(a.numpy(), b.detach().numpy(), rtol=1e-10, atol=1e-12)
    for a, b in zip(our_inputs, their_inputs):
        np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), rtol=1e-10, atol=1e-12)
    their_params = dict(theirs.named_parameters())
    for name, p in ours.named_parameters():
        np.testing.assert_allclose(p.grad.numpy(), their_params[name].grad.numpy(), rtol=1e-10,
                                   atol=1e-12, err_msg=name)


def outputs(result):
    """Every Tensor of ``(output, h_n)`` or ``(output, (h_n, c_n))``, a packed output's data."""
    output, state = result
    output = output.data if hasattr(output, "batch_sizes") else output
    return [output, *(state if isinstance(state, tuple) else (state,))]


@pytest.mark.parametrize("kind", sorted(LAYERS))
@pytest.mark.parametrize("bidirectional", [False, True])
@pytest.mark.parametrize("enforce_sorted", [True, False])
@pytest.mark.parametrize("with_state", [False, True])
def test_layers_on_a_packed_sequence_match_pytorch(kind, bidirectional, enforce_sorted,
                                                   with_state):
    torch.manual_seed(0)
    lengths = [5, 3, 3, 1] if enforce_sorted else [3, 5, 1, 3]
    ours_cls, theirs_cls = LAYERS[kind]
    theirs = theirs_cls(2, 4, num_layers=2, bidirectional=bidirectional).double()
    ours = ours_cls(2, 4, num_layers=2, bidirectional=bidirectional, dtype="float64")
    layers = 2 * (2 if bidirectional else 1)
    states = [np.random.default_rng(3 + i).standard_normal((layers, 4, 4))
              for i in range(2 if kind == "lstm" else 1)] if with_state else []

    def call(lib, pack):
        def run(x, *state):
            packed = pack(x, lengths, enforce_sorted=enforce_sorted)
            model = ours if lib is engine else theirs
            hx = (state[0] if len(state) == 1 else tuple(state)) if state else None
            return outputs(model(packed, hx))
        return run

    compare(ours, theirs, call(engine, pack_padded_sequence),
            call(torch, lambda x, n, **kw: torch_utils.pack_padded_sequence(
                x, torch.tensor(n), **kw)), [padded(lengths), *states])


@pytest.mark.parametrize("bidirectional", [False, True])
@pytest.mark.parametrize("packed", [False, True])
def test_an_lstm_with_a_projection_matches_pytorch(bidirectional, packed):
    torch.manual_seed(1)
    theirs = torch.nn.LSTM(3, 5, num_layers=2, proj_size=2, bidirectional=bidirectional,
                           batch_first=True).double()
    ours = rnn.LSTM(3, 5, num_layers=2, proj_size=2, bidirectional=bidirectional,
                    batch_first=True, dtype="float64")
    assert list(ours.state_dict()) == list(theirs.state_dict())
    lengths = [4, 2, 3]
    x = np.random.default_rng(4).standard_normal((3, 4, 3))

    def run(model, pack):
        def call(x):
            source = pack(x, lengths) if packed else x
            return outputs(model(source))
        return call

    compare(ours, theirs,
            run(ours, lambda x, n: pack_padded_sequence(x, n, True, enforce_sorted=False)),
            run(theirs, lambda x, n: torch_utils.pack_padded_sequence(
                x, torch.tensor(n), True, enforce_sorted=False)), [x])
