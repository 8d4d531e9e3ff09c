"""Cells: the docstring equations in NumPy, gradcheck, the protocol, errors, devices."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import engine
import nn
import rnn
from tests.rnn.common import (
    CELLS,
    check_errors,
    flat,
    leaves,
    make_cell,
    make_layer,
    numpy_cell,
    numpy_of,
    randn,
    random_state,
    sigmoid,
    small,
)

KINDS = sorted(CELLS)
BUILT_IN = sorted(rnn.cells.CELL_KINDS)  # the kinds whose cells run fused or composed
PATHS = [(kind, fused) for kind in KINDS for fused in (True, False)
         if fused or kind in BUILT_IN]  # (kind, fused): a user's own cell has one path


@pytest.mark.parametrize("kind", KINDS)
@given(batch=small, inputs=small, hidden=small, seed=st.integers(0, 2**16))
def test_cell_matches_docstring_equations(kind, batch, inputs, hidden, seed):
    rng = np.random.default_rng(seed)
    cell = make_cell(kind, inputs, hidden, seed=seed)
    x = randn(rng, batch, inputs)
    state = random_state(rng, CELLS[kind][1], batch, hidden)
    weights = [p.numpy() for p in cell.parameters()]
    expected = numpy_cell(kind, x.numpy(), tuple(numpy_of(state)) if CELLS[kind][1] == 2
                          else state.numpy(), *weights)
    for got, want in zip(numpy_of(cell(x, state)), leaves(expected)):
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("kind, fused", PATHS)
@given(batch=small, inputs=small, hidden=small, seed=st.integers(0, 2**16))
def test_cell_gradcheck(kind, fused, batch, inputs, hidden, seed):
    rng = np.random.default_rng(seed)
    cell = make_cell(kind, inputs, hidden, seed=seed,
                     **({"fused": fused} if kind in BUILT_IN else {}))
    x = randn(rng, batch, inputs, requires_grad=True)
    state = random_state(rng, CELLS[kind][1], batch, hidden, requires_grad=True)
    count = len(leaves(state))

    def step(x, *rest):  # rest: the state Tensors, then the parameters (perturbed in place)
        return flat(cell(x, rest[0] if count == 1 else rest[:count]))

    engine.gradcheck(step, [x, *leaves(state), *cell.parameters()])


@pytest.mark.parametrize("kind", BUILT_IN)
@given(batch=small, inputs=small, hidden=small, bias=st.booleans(),
       dtype=st.sampled_from(["float64", "float32"]), seed=st.integers(0, 2**16))
def test_fused_step_is_the_composed_cell(kind, batch, inputs, hidden, bias, dtype, seed):
    """The one-node step (rnn.fused.cell, the default) against the cell function's graph
    (fused=False): the new state and the gradient of every input and parameter, from
    upstream gradients on every part of the state."""
    rng = np.random.default_rng(seed)
    x = engine.Tensor(rng.standard_normal((batch, inputs)), dtype=dtype, requires_grad=True)
    state = random_state(rng, CELLS[kind][1], batch, hidden, requires_grad=True)
    state = engine.Tensor(state.numpy(), dtype=dtype, requires_grad=True) if isinstance(
        state, engine.Tensor) else tuple(engine.Tensor(s.numpy(), dtype=dtype,
                                                       requires_grad=True) for s in state)
    upstream = [rng.standard_normal((batch, hidden)) for _ in leaves(state)]
    got = []
    for fused in (True, False):
        cell = make_cell(kind, inputs, hidden, seed=seed, bias=bias, fused=fused).to(dtype)
        tensors = [x, *leaves(state), *cell.parameters()]
        for t in tensors:
            t.grad = None
        new = leaves(cell(x, state))
        sum((n * engine.tensor(u, dtype=dtype)).sum() for n, u in zip(new, upstream)).backward()
        got.append([n.numpy() for n in new] + [t.grad.numpy() for t in tensors])
    tolerance = dict(rtol=1e-10, atol=1e-12) if dtype == "float64" else dict(rtol=1e-4,
                                                                             atol=1e-5)
    for fused_value, composed_value in zip(*got):
        np.testing.assert_allclose(fused_value, composed_value, **tolerance)


@pytest.mark.parametrize("fused", [True, False], ids=["fused", "composed"])
@pytest.mark.parametrize("kind", BUILT_IN)
def test_cell_without_bias(kind, fused):
    cell = make_cell(kind, 2, 3, bias=False, fused=fused)
    assert [name for name, _ in cell.named_parameters()] == ["weight_ih", "weight_hh"]
    assert cell.bias_ih is None and cell.bias_hh is None
    rng = np.random.default_rng(0)
    x = randn(rng, 2, 2, requires_grad=True)
    engine.gradcheck(lambda x, *p: flat(cell(x)), [x, *cell.parameters()])


@pytest.mark.parametrize("kind, gates", [("rnn_tanh", 1), ("lstm", 4), ("gru", 3)])
def test_parameters_are_pytorchs(kind, gates):
    cell = make_cell(kind, 2, 5)
    shapes = {name: p.shape for name, p in cell.named_parameters()}
    assert shapes == {"weight_ih": (gates * 5, 2), "weight_hh": (gates * 5, 5),
                      "bias_ih": (gates * 5,), "bias_hh": (gates * 5,)}
    bound = 1 / np.sqrt(5)
    assert all(np.abs(p.numpy()).max() <= bound for p in cell.parameters())
    again = make_cell(kind, 2, 5)  # the same seed draws the same weights
    for a, b in zip(cell.parameters(), again.parameters()):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    assert cell.weight_ih.dtype == np.float64
    assert rnn.LSTMCell(2, 5).weight_ih.dtype == np.float32


@pytest.mark.parametrize("kind", KINDS)
def test_zero_state_and_unbatched_input(kind):
    rng = np.random.default_rng(0)
    cell = make_cell(kind, 3, 2)
    x = randn(rng, 3)
    zeros = cell.zero_state(1)
    batched = cell(x.unsqueeze(0), zeros)
    for got, want in zip(leaves(cell(x)), leaves(batched)):
        assert got.shape == (2,)
        np.testing.assert_array_equal(got.numpy(), want.numpy()[0])
    unbatched_state = tuple(t.squeeze(0) for t in leaves(zeros))
    again = cell(x, unbatched_state[0] if len(unbatched_state) == 1 else unbatched_state)
    assert [t.shape for t in leaves(again)] == [(2,)] * len(unbatched_state)


def test_state_flows_gradient_to_initial_state():
    cell = make_cell("lstm", 2, 2)
    rng = np.random.default_rng(0)
    h, c = random_state(rng, 2, 1, 2, requires_grad=True)
    out_h, _ = cell(randn(rng, 1, 2), (h, c))
    out_h.sum().backward()
    assert h.grad is not None and c.grad is not None


class MinimalCell(nn.Module):
    """A user cell that does not subclass rnn.Cell: only the protocol."""

    def __init__(self, hidden_size):
        super().__init__()
        self.hidden_size = hidden_size
        self.scale = nn.Parameter(np.full(hidden_size, 0.5))

    def zero_state(self, batch_size):
        return engine.zeros(batch_size, self.hidden_size, dtype="float64")

    def forward(self, x, h):
        return (x[:, : self.hidden_size] + h * self.scale).tanh()


def test_a_protocol_only_cell_works_with_unroll_and_bidirectional():
    rng = np.random.default_rng(0)
    cell = MinimalCell(2)
    x = randn(rng, 4, 3, 2, requires_grad=True)
    outputs, h = rnn.unroll(cell, x, lengths=[4, 1, 2])
    assert outputs.shape == (4, 3, 2) and h.shape == (3, 2)
    both, _ = rnn.Bidirectional(cell, MinimalCell(2), merge="sum")(x, lengths=[4, 1, 2])
    assert both.shape == (4, 3, 2)
    engine.gradcheck(lambda x, s: flat(rnn.unroll(cell, x, lengths=[4, 1, 2])), [x, cell.scale])


@given(batch=small, inputs=small, hidden=small, seed=st.integers(0, 2**16))
def test_skip_lstm_cell_gradcheck_through_unroll(batch, inputs, hidden, seed):
    rng = np.random.default_rng(seed)
    cell = make_cell("skip_lstm", inputs, hidden, seed=seed)
    x = randn(rng, 3, batch, inputs, requires_grad=True)
    lengths = rng.integers(1, 4, size=batch)
    engine.gradcheck(lambda x, *p: flat(rnn.unroll(cell, x, lengths=lengths, reverse=True)),
                     [x, *cell.parameters()])


# ---------------------------------------------------------------- the kinds' records


def numpy_gates(kind, x, h, w_ih, w_hh, b_ih, b_hh):
    """The gates of one step after their activations, by the docstring equations."""
    blocks = len(w_ih) // len(w_hh[0])
    pre_x = np.split(x @ w_ih.T + b_ih, blocks, axis=-1)
    pre_h = np.split(h @ w_hh.T + b_hh, blocks, axis=-1)
    if kind == "lstm":
        i, f, g, o = (a + b for a, b in zip(pre_x, pre_h))
        return {"i": sigmoid(i), "f": sigmoid(f), "g": np.tanh(g), "o": sigmoid(o)}
    if kind == "gru":
        r, z = sigmoid(pre_x[0] + pre_h[0]), sigmoid(pre_x[1] + pre_h[1])
        return {"r": r, "z": z, "n": np.tanh(pre_x[2] + r * pre_h[2])}
    return {}


@pytest.mark.parametrize("name", sorted(rnn.cells.CELL_KINDS))
def test_each_kinds_record_is_what_its_cell_and_layer_do(name):
    kind = rnn.cells.CELL_KINDS[name]
    assert rnn.cells.kind_of(kind.function) is kind and kind.function.__name__ == name + "_cell"
    options = {"nonlinearity": name[4:]} if kind.module is rnn.RNNCell else {}
    cell = kind.module(2, 3, rng=np.random.default_rng(0), dtype="float64", **options)
    assert cell.kind is kind and cell.weight_ih.shape == (kind.gates * 3, 2)
    assert len(cell.state_shapes(4)) == kind.states == len(kind.state_names)
    assert kind.state_names[0] == "h" and len(kind.activations) == kind.gates
    assert len(kind.gate_names) in (0, kind.gates)
    layer = make_layer(name, 2, 3)
    assert layer.kind is kind and layer.cell_function is kind.function

    rng = np.random.default_rng(1)
    x = randn(rng, 4, 2)
    state = random_state(rng, kind.states, 4, 3)
    new_state, gates = kind.with_gates(x, state, *cell.weights())
    assert list(gates) == list(kind.gate_names)
    for got, want in zip(leaves(new_state), leaves(kind.function(x, state, *cell.weights()))):
        np.testing.assert_array_equal(got.numpy(), want.numpy())  # one copy of the equations
    h = leaves(state)[0].numpy()
    expected = numpy_gates(name, x.numpy(), h, *(p.numpy() for p in cell.weights()))
    for gate, value in gates.items():
        assert value.shape == (4, 3)
        np.testing.assert_allclose(value.numpy(), expected[gate], rtol=1e-12, atol=1e-12)


# ---------------------------------------------------------------- errors


def test_cell_errors_name_expected_and_received():
    cell, gru = make_cell("lstm", 3, 2), make_cell("gru", 3, 2)
    rng = np.random.default_rng(0)
    x = randn(rng, 4, 3)
    check_errors([
        (lambda: cell(randn(rng, 4, 5)), ValueError,
         "LSTMCell: expected x with I = 3 features; got shape (4, 5)"),
        (lambda: cell(randn(rng, 1, 1, 3)), ValueError,
         "LSTMCell: x must be (B, I) or unbatched (I,); got shape (1, 1, 3)"),
        (lambda: cell(x, (randn(rng, 4, 2), randn(rng, 3, 2))), ValueError,
         "LSTMCell: expected a state of shape ((4, 2), (4, 2)); got ((4, 2), (3, 2))"),
        (lambda: cell(x, randn(rng, 4, 2)), ValueError,
         "LSTMCell: expected a state of shape ((4, 2), (4, 2)); got (4, 2)"),
        (lambda: gru(randn(rng, 3), randn(rng, 1, 2)), ValueError,
         "GRUCell: expected a state of shape (2,); got (1, 2)"),
        (lambda: rnn.RNNCell(2, 2, nonlinearity="sigmoid"), ValueError,
         "RNNCell: nonlinearity must be 'tanh' or 'relu'; got 'sigmoid'"),
        (lambda: rnn.GRUCell(2, 0), ValueError,
         "GRUCell: hidden_size must be a positive int; got 0"),
    ])


# ---------------------------------------------------------------- devices


@pytest.mark.parametrize("kind", KINDS)
def test_cell_cpu_and_device_agree(kind, device):
    rng = np.random.default_rng(0)
    cell = make_cell(kind, 3, 4)
    x = randn(rng, 2, 3)
    expected = numpy_of(cell(x))
    cell.to(device)
    got = cell(x.to(device))
    assert all(t.device == engine.tensor(0.0, device=device).device for t in leaves(got))
    for a, b in zip(numpy_of(got), expected):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)
