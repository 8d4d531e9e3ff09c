"""RNN, LSTM, GRU layers: against NumPy loops, gradcheck, batch_first, dropout, errors."""

import contextlib

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import engine
import rnn
from rnn import fused
from tests.rnn.common import (
    LAYERS,
    check_errors,
    flat,
    gradcheck,
    leaves,
    make_layer,
    numpy_layer,
    numpy_of,
    randn,
    small,
)
from tests.rnn.fused.cuda_on_cpu import compiler, cpu_kernel

KINDS = sorted(LAYERS)


@st.composite
def configs(draw):
    """A small layer configuration, an input batch, optional lengths and an optional hx."""
    kind = draw(st.sampled_from(KINDS))
    steps, batch, inputs, hidden = draw(small), draw(small), draw(small), draw(small)
    options = {
        "num_layers": draw(st.integers(1, 2)),
        "bidirectional": draw(st.booleans()),
        "batch_first": draw(st.booleans()),
        "bias": draw(st.booleans()),
        "fused": draw(st.booleans()),  # the fused ops and the composed reference alike
    }
    lengths = draw(st.none() | st.lists(st.integers(1, steps), min_size=batch, max_size=batch))
    give_hx = draw(st.booleans())
    return kind, steps, batch, inputs, hidden, options, lengths, give_hx, draw(st.integers(0, 99))


def build(config):
    """(layer, x as the layer takes it (a leaf), x time-major (NumPy), hx or None, lengths)."""
    kind, steps, batch, inputs, hidden, options, lengths, give_hx, seed = config
    rng = np.random.default_rng(seed)
    layer = make_layer(kind, inputs, hidden, seed=seed, **options)
    x = rng.standard_normal((steps, batch, inputs))
    x_in = engine.Tensor(x.swapaxes(0, 1) if options["batch_first"] else x, requires_grad=True)
    hx = None
    if give_hx:
        shape = (options["num_layers"] * layer.num_directions, batch, hidden)
        parts = tuple(randn(rng, *shape, requires_grad=True)
                      for _ in range(layer.kind.states))
        hx = parts if len(parts) > 1 else parts[0]
    return layer, x_in, x, hx, lengths


@given(configs())
def test_layer_matches_numpy_loops(config):
    layer, x_in, x, hx, lengths = build(config)
    output, h_n = layer(x_in, hx, lengths=lengths)
    if layer.batch_first:
        output = output.swapaxes(0, 1)
    hx_arrays = None if hx is None else numpy_of(hx)
    expected, expected_h_n = numpy_layer(config[0], layer, x, hx_arrays, lengths)
    np.testing.assert_allclose(output.numpy(), expected, rtol=1e-10, atol=1e-12)
    for got, want in zip(numpy_of(h_n), expected_h_n):
        np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12)


@given(configs())
def test_layer_gradcheck(config):
    layer, x_in, _, hx, lengths = build(config)
    inputs = [x_in, *leaves(hx if hx is not None else ()), *layer.parameters()]
    hx_count = 0 if hx is None else len(leaves(hx))

    def run(x_in, *rest):
        state = None if hx is None else (rest[0] if hx_count == 1 else tuple(rest[:hx_count]))
        return flat(layer(x_in, state, lengths=lengths))

    gradcheck(run, inputs)


def test_parameter_names_shapes_and_order_are_pytorchs():
    layer = rnn.LSTM(2, 3, num_layers=2, bidirectional=True)
    names = [f"{kind}_l{k}{suffix}" for k in range(2) for suffix in ("", "_reverse")
             for kind in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")]
    assert list(layer.state_dict()) == names
    assert layer.weight_ih_l0.shape == (12, 2) and layer.weight_ih_l1_reverse.shape == (12, 6)
    assert layer.weight_hh_l1.shape == (12, 3) and layer.bias_hh_l0_reverse.shape == (12,)
    assert list(rnn.GRU(2, 3, bias=False).state_dict()) == ["weight_ih_l0", "weight_hh_l0"]
    bound = 1 / np.sqrt(3)
    assert all(np.abs(p.numpy()).max() <= bound for p in layer.parameters())


@pytest.mark.parametrize("kind", KINDS)
def test_batch_first_moves_x_and_output_but_never_the_state(kind):
    rng = np.random.default_rng(0)
    time_major = make_layer(kind, 2, 3, num_layers=2, bidirectional=True)
    batch_first = make_layer(kind, 2, 3, num_layers=2, bidirectional=True, batch_first=True)
    x = randn(rng, 4, 2, 2)
    hx = randn(rng, 4, 2, 3)
    hx = (hx, hx * 2) if kind == "lstm" else hx
    out, h_n = time_major(x, hx, lengths=[4, 2])
    out_bf, h_n_bf = batch_first(x.swapaxes(0, 1), hx, lengths=[4, 2])
    np.testing.assert_array_equal(out_bf.numpy(), out.numpy().swapaxes(0, 1))
    for a, b in zip(numpy_of(h_n_bf), numpy_of(h_n)):
        assert a.shape == (4, 2, 3)
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("kind", KINDS)
def test_unbatched_input_is_a_batch_of_one(kind):
    rng = np.random.default_rng(0)
    layer = make_layer(kind, 2, 3, num_layers=2, bidirectional=True, batch_first=True)
    x = randn(rng, 4, 2)  # (T, I): batch_first does not apply, as in PyTorch
    out, h_n = layer(x)
    out_batched, h_n_batched = layer(x.unsqueeze(0))
    assert out.shape == (4, 6)
    np.testing.assert_array_equal(out.numpy(), out_batched.numpy()[0])
    for a, b in zip(numpy_of(h_n), numpy_of(h_n_batched)):
        assert a.shape == (4, 3)
        np.testing.assert_array_equal(a, b[:, 0])
    again, _ = layer(x, h_n)  # an unbatched state goes back in
    assert again.shape == (4, 6)


def test_h_n_is_layer_major_forward_first_at_each_sequences_own_end():
    rng = np.random.default_rng(0)
    layer = make_layer("gru", 2, 3, num_layers=2, bidirectional=True)
    lengths = [2, 4, 1]
    out, h_n = layer(randn(rng, 4, 3, 2), lengths=lengths)
    for b, length in enumerate(lengths):
        np.testing.assert_array_equal(h_n[2, b].numpy(), out[length - 1, b, :3].numpy())
        np.testing.assert_array_equal(h_n[3, b].numpy(), out[0, b, 3:].numpy())
        assert not out[length:, b].numpy().any()


def test_dropout_between_layers_only_in_training_and_seeded():
    rng = np.random.default_rng(0)
    x = randn(rng, 3, 2, 2)
    dropped = make_layer("lstm", 2, 4, num_layers=2, dropout=0.5, seed=7)
    plain = make_layer("lstm", 2, 4, num_layers=2, seed=7)
    again = make_layer("lstm", 2, 4, num_layers=2, dropout=0.5, seed=7)
    eval_out = plain(x)[0].numpy()
    train_out = dropped(x)[0].numpy()
    assert not np.allclose(train_out, eval_out)
    np.testing.assert_array_equal(again(x)[0].numpy(), train_out)  # same seed, same masks
    np.testing.assert_array_equal(dropped.eval()(x)[0].numpy(), eval_out)
    single = make_layer("gru", 2, 4, dropout=0.5)  # one layer: nothing between layers
    np.testing.assert_array_equal(single(x)[0].numpy(), single.eval()(x)[0].numpy())


def test_load_state_dict_gives_the_same_outputs():
    rng = np.random.default_rng(0)
    source = make_layer("lstm", 2, 3, num_layers=2, bidirectional=True, seed=1)
    target = make_layer("lstm", 2, 3, num_layers=2, bidirectional=True, seed=2)
    target.load_state_dict(source.state_dict())
    x = randn(rng, 3, 2, 2)
    for a, b in zip(numpy_of(source(x)), numpy_of(target(x))):
        np.testing.assert_array_equal(a, b)


def test_float32_by_default():
    layer = rnn.GRU(2, 3, rng=np.random.default_rng(0))
    out, h_n = layer(engine.zeros(4, 1, 2))
    assert layer.weight_ih_l0.dtype == out.dtype == h_n.dtype == np.float32


def test_layer_errors_name_expected_and_received_and_run_nothing():
    rng = np.random.default_rng(0)
    lstm = make_layer("lstm", 2, 3, num_layers=2, dropout=0.5)
    gru = make_layer("gru", 2, 3, batch_first=True, bidirectional=True)
    x = randn(rng, 4, 5, 2)
    h = randn(rng, 2, 5, 3)
    before = lstm.rng.bit_generator.state
    check_errors([
        (lambda: lstm(randn(rng, 4, 5, 3)), ValueError,
         "LSTM: input must be (T, B, I=2) or unbatched (T, I); got shape (4, 5, 3) with I=3"),
        (lambda: gru(randn(rng, 1, 4, 5, 2)), ValueError,
         "GRU: input must be (B, T, I=2) or unbatched (T, I); got shape (1, 4, 5, 2)"),
        (lambda: lstm(x, h), ValueError,
         "LSTM: hx must be a tuple (h_0, c_0) of (2, 5, 3) (D*num_layers, B, H), never "
         "batch-first; got (2, 5, 3)"),
        (lambda: lstm(x, (h, randn(rng, 5, 2, 3))), ValueError, "got ((2, 5, 3), (5, 2, 3))"),
        (lambda: gru(x, randn(rng, 2, 5, 3)), ValueError,
         "GRU: hx must be (2, 4, 3) (D*num_layers, B, H), never batch-first; got (2, 5, 3)"),
        (lambda: lstm(x, lengths=[4, 1, 1, 1, 0]), ValueError,
         "lengths must each be in 1..T = 1..4; got [4, 1, 1, 1, 0]"),
        (lambda: lstm(x, lengths=[4, 1]), ValueError,
         "lengths must hold one length per batch element, shape (5,); got shape (2,)"),
        (lambda: rnn.RNN(2, 3, nonlinearity="gelu"), ValueError,
         "RNN: nonlinearity must be 'tanh' or 'relu'; got 'gelu'"),
        (lambda: rnn.GRU(2, 3, dropout=1.5), ValueError, "GRU: dropout must be in [0, 1); got 1.5"),
        (lambda: rnn.LSTM(2, 3, num_layers=0), ValueError,
         "LSTM: num_layers must be a positive int; got 0"),
        (lambda: rnn.GRU(3, True), TypeError,  # a bool is an int to Python, not a size
         "GRU: hidden_size must be a positive int; got True (bool)"),
        (lambda: rnn.LSTM(2.0, 3), TypeError, "LSTM: input_size must be a positive int; got 2.0"),
        (lambda: rnn.GRUCell(True, 3), TypeError,
         "GRUCell: input_size must be a positive int; got True (bool)"),
    ])
    assert lstm.rng.bit_generator.state == before  # no dropout mask was drawn


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("fused", [True, False])
def test_dtype_and_length_errors_are_pytorchs_on_both_paths(kind, fused):
    """An int64 (or float32) hx, an input of another dtype, T = 0: the same error on the
    fused and the composed path, PyTorch's type (a state is never cast)."""
    rng = np.random.default_rng(0)
    layer = make_layer(kind, 2, 3, fused=fused, bidirectional=True)  # float64
    name, x = type(layer).__name__, randn(rng, 4, 5, 2)
    h = randn(rng, 2, 5, 3)

    def state(h):
        return (randn(rng, 2, 5, 3), h) if kind == "lstm" else h  # LSTM: c is the odd one

    check_errors([
        (lambda: layer(x, state(engine.zeros(2, 5, 3, dtype="int64"))), RuntimeError,
         f"{name}: hx must have the weights' dtype float64; got int64"),
        (lambda: layer(x, state(h.to(engine.float32))), RuntimeError,
         f"{name}: hx must have the weights' dtype float64; got float32"),
        (lambda: layer(x.to(engine.float32)), ValueError,
         f"{name}: input dtype (float32) does not match weight dtype (float64)"),
        (lambda: layer(randn(rng, 0, 5, 2)), RuntimeError,
         f"{name}: expected sequence length to be larger than 0 in RNN; got input of shape "
         "(0, 5, 2)"),
        (lambda: layer(randn(rng, 0, 2)), RuntimeError,  # unbatched (T, I)
         f"{name}: expected sequence length to be larger than 0 in RNN"),
    ])


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("way", ["composed", *fused.WAYS])
@pytest.mark.parametrize("batch_first", [False, True])
def test_an_empty_batch_gives_empty_results_as_pytorch_does(kind, way, batch_first):
    """B = 0: output (T, 0, D*H), h_n (D*num_layers, 0, H) and zero weight gradients, on the
    composed path and each way of the fused one (which once failed to reshape)."""
    if way not in ("composed", "arrays") and compiler() is None:
        pytest.skip("needs a C++20 compiler (g++ 11 or newer)")
    layer = make_layer(kind, 2, 3, num_layers=2, bidirectional=True, fused=way != "composed",
                       batch_first=batch_first)
    x = engine.zeros((0, 4, 2) if batch_first else (4, 0, 2), dtype="float64",
                     requires_grad=True)
    with (contextlib.nullcontext() if way == "composed"
          else fused.use_way(way, cpu_kernel)):
        for lengths in (None, []):
            layer.zero_grad()
            output, final = layer(x, lengths=lengths)
            (output.sum() + sum(t.sum() for t in leaves(final))).backward()
            assert output.shape == ((0, 4, 6) if batch_first else (4, 0, 6))
            assert all(t.shape == (4, 0, 3) for t in leaves(final))
            assert x.grad.shape == x.shape
            assert all(p.grad is not None and not p.grad.numpy().any()
                       for p in layer.parameters())


@pytest.mark.parametrize("kind", KINDS)
def test_layer_cpu_and_device_agree(kind, device):
    rng = np.random.default_rng(0)
    layer = make_layer(kind, 2, 3, num_layers=2, bidirectional=True)
    x = randn(rng, 4, 3, 2)
    expected = numpy_of(layer(x, lengths=[4, 1, 2]))
    layer.to(device)
    got = layer(x.to(device), lengths=engine.tensor([4, 1, 2], device=device))
    for a, b in zip(numpy_of(got), expected):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)
