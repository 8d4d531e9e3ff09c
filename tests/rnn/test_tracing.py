"""rnn.trace and rnn.state_gradients: what they report is what the cell computes.

state_gradients against central finite differences of the loss in a perturbation of each
step's state, and against retain_grad() on an unrolled cell; trace against the layers'
own outputs and the cells' equations, padded steps NaN."""

import numpy as np
import pytest

import engine
import nn
import rnn
from tests.rnn.common import CELLS, make_cell, make_layer, randn

KINDS = sorted(CELLS)


def last_step_loss(outputs):
    """A loss read at the last step, weighted so no two units are alike."""
    weights = engine.tensor(np.linspace(-1.0, 2.0, outputs.shape[-1]))
    return (outputs[-1] * weights).sum()


# ---------------------------------------------------------------- state_gradients


def finite_difference_norms(step, zero, x, loss_fn, hidden_size, eps=1e-6):
    """||dL/dd_t|| for t = 1..T by central differences, L as a function of a perturbation
    d_t that ``step(x_t, state, d)`` adds where it belongs (d = 0 in the run itself)."""
    steps, batch = x.shape[:2]

    def loss_with(t, d):
        count = [0]

        def perturbed(x_t, state):
            here = d if count[0] == t else np.zeros_like(d)
            count[0] += 1
            return step(x_t, state, engine.tensor(here))

        with engine.no_grad():
            return loss_fn(rnn.unroll(perturbed, x, zero)[0]).item()

    norms = []
    for t in range(steps):
        grad = np.zeros((batch, hidden_size))
        for index in np.ndindex(grad.shape):
            d = np.zeros_like(grad)
            d[index] = eps
            grad[index] = (loss_with(t, d) - loss_with(t, -d)) / (2 * eps)
        norms.append(np.linalg.norm(grad))
    return np.array(norms)


@pytest.mark.parametrize("kind", KINDS)
def test_state_gradients_match_finite_differences(kind):
    """h_t perturbed as the step returns it (nothing in the step reads it after)."""
    cell = make_cell(kind, 2, 3)
    x = randn(np.random.default_rng(1), 4, 2, 2)  # (T, B, I)

    def step(x_t, state, d):
        new = cell(x_t, state)
        return (new[0] + d, *new[1:]) if isinstance(new, tuple) else new + d

    got = rnn.state_gradients(cell, x, last_step_loss)
    want = finite_difference_norms(step, cell.zero_state(2), x, last_step_loss, 3)
    assert list(got) == (["h", "c"] if CELLS[kind][1] == 2 else ["h"])
    assert all(got[name].shape == (4,) and got[name].dtype == np.float64 for name in got)
    np.testing.assert_allclose(got["h"], want, rtol=1e-6, atol=1e-9)
    assert got["h"][-1] > 0 and got["h"][0] < got["h"][-1]  # the loss is read at step T


def test_the_cell_state_gradient_matches_finite_differences():
    """c_t perturbed where the LSTM makes it, before h_t = o * tanh(c_t) reads it: ||dL/dc_t||
    counts the path through this step's h_t as well as the one through c_{t+1}."""
    cell = make_cell("lstm", 2, 3)
    x = randn(np.random.default_rng(1), 4, 2, 2)

    def step(x_t, state, d):
        h, c = state
        gates = x_t @ cell.weight_ih.T + cell.bias_ih + h @ cell.weight_hh.T + cell.bias_hh
        i, f, g, o = engine.chunk(gates, 4, axis=-1)
        c = f.sigmoid() * c + i.sigmoid() * g.tanh() + d
        return o.sigmoid() * c.tanh(), c

    got = rnn.state_gradients(cell, x, last_step_loss)["c"]
    want = finite_difference_norms(step, cell.zero_state(2), x, last_step_loss, 3)
    np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-9)
    assert got[-1] > 0  # c_T reaches the loss through h_T


@pytest.mark.parametrize("kind", KINDS)
def test_state_gradients_match_retain_grad_on_an_unrolled_cell(kind):
    cell = make_cell(kind, 3, 4)
    x = randn(np.random.default_rng(2), 6, 3, 3)

    def loss_fn(outputs):
        return (outputs ** 2).mean() + outputs[-1].sum()  # every step's output counts

    kept = []

    def step(x_t, state):
        state = cell(x_t, state)
        for part in state if isinstance(state, tuple) else (state,):
            part.retain_grad()
        kept.append(state if isinstance(state, tuple) else (state,))
        return state

    loss_fn(rnn.unroll(step, x, cell.zero_state(3))[0]).backward()
    got = rnn.state_gradients(cell, x, loss_fn)
    for k, name in enumerate(got):
        want = [np.linalg.norm(parts[k].grad.numpy()) for parts in kept]
        np.testing.assert_allclose(got[name], want, rtol=1e-12)


@pytest.mark.parametrize("fused", [True, False])
@pytest.mark.parametrize("kind", ["lstm", "gru", "rnn_tanh"])
def test_a_one_layer_layer_is_measured_by_its_own_cell(kind, fused):
    layer = make_layer(kind, 2, 3, fused=fused)
    cell = make_cell(kind, 2, 3)
    cell.load_state_dict({name[:-3]: value for name, value in layer.state_dict().items()})
    x = randn(np.random.default_rng(3), 5, 2, 2)
    got, want = (rnn.state_gradients(m, x, last_step_loss) for m in (layer, cell))
    assert list(got) == list(want)
    for name in got:
        np.testing.assert_allclose(got[name], want[name], rtol=1e-12)
    batch_first = make_layer(kind, 2, 3, fused=fused, batch_first=True)
    batch_first.load_state_dict(layer.state_dict())
    np.testing.assert_allclose(
        rnn.state_gradients(batch_first, x.swapaxes(0, 1), last_step_loss)["h"], got["h"])


def test_padded_steps_add_nothing():
    cell = make_cell("gru", 2, 3)
    x = randn(np.random.default_rng(4), 5, 2, 2)

    def total(outputs):
        return outputs.sum()

    padded = rnn.state_gradients(cell, x, total, lengths=[5, 2])["h"]
    long = rnn.state_gradients(cell, x[:, :1], total)["h"]  # sequence 0 alone: 5 steps
    short = rnn.state_gradients(cell, x[:2, 1:], total)["h"]  # sequence 1 alone: 2 steps
    np.testing.assert_allclose(padded[2:], long[2:], rtol=1e-12)
    np.testing.assert_allclose(padded[:2], np.hypot(long[:2], short), rtol=1e-12)


def test_state_gradients_touch_no_grad_and_work_under_no_grad():
    cell = make_cell("lstm", 2, 3)
    x = randn(np.random.default_rng(5), 3, 2, 2, requires_grad=True)
    with engine.no_grad():
        norms = rnn.state_gradients(cell, x, last_step_loss)
    assert norms["h"][-1] > 0 and x.grad is None
    assert all(p.grad is None for p in cell.parameters())
    for p in cell.parameters():  # frozen weights: the states still get their gradients
        p.requires_grad_(False)
    np.testing.assert_allclose(rnn.state_gradients(cell, x, last_step_loss)["h"], norms["h"])


def test_state_gradients_refuse_what_they_cannot_measure():
    x = randn(np.random.default_rng(6), 3, 2, 2)
    for layer in (make_layer("lstm", 2, 3, num_layers=2),
                  make_layer("gru", 2, 3, bidirectional=True)):
        with pytest.raises(ValueError, match="one-layer, one-direction"):
            rnn.state_gradients(layer, x, last_step_loss)
    with pytest.raises(TypeError, match="must be a cell"):
        rnn.state_gradients(nn.Linear(2, 3), x, last_step_loss)
    with pytest.raises(ValueError, match="scalar"):
        rnn.state_gradients(make_cell("gru", 2, 3), x, lambda outputs: outputs[-1])
    with pytest.raises(ValueError, match=r"\(T, B, I\)"):
        rnn.state_gradients(make_cell("gru", 2, 3), x[0], last_step_loss)


# ---------------------------------------------------------------- trace


def sigmoid(a):
    return 1 / (1 + np.exp(-a))


def numpy_gates(kind, x, state, w_ih, w_hh, b_ih, b_hh):
    """The docstring equations, gate by gate: ({gate: (B, H)}, new state)."""
    a_x, a_h = x @ w_ih.T + b_ih, state[0] @ w_hh.T + b_hh
    if kind == "lstm":
        i, f, g, o = np.split(a_x + a_h, 4, axis=-1)
        gates = {"i": sigmoid(i), "f": sigmoid(f), "g": np.tanh(g), "o": sigmoid(o)}
        c = gates["f"] * state[1] + gates["i"] * gates["g"]
        return gates, (gates["o"] * np.tanh(c), c)
    if kind == "gru":
        (x_r, x_z, x_n), (h_r, h_z, h_n) = np.split(a_x, 3, -1), np.split(a_h, 3, -1)
        r, z = sigmoid(x_r + h_r), sigmoid(x_z + h_z)
        n = np.tanh(x_n + r * h_n)
        return {"r": r, "z": z, "n": n}, ((1 - z) * n + z * state[0],)
    pre = a_x + a_h
    return {}, (np.tanh(pre) if kind == "rnn_tanh" else np.maximum(pre, 0),)


def numpy_trace(kind, weights, x):
    """{name: (T, B, H)} of one direction over x (T, B, I), from zeros, in NumPy."""
    weights = [w.numpy() for w in weights]
    state = (np.zeros((x.shape[1], weights[1].shape[1])),) * (2 if kind == "lstm" else 1)
    steps = []
    for x_t in x:
        gates, state = numpy_gates(kind, x_t, state, *weights)
        steps.append({**gates, **dict(zip(("h", "c"), state))})
    return {name: np.stack([s[name] for s in steps]) for name in steps[0]}


@pytest.mark.parametrize("kind", ["lstm", "gru", "rnn_tanh", "rnn_relu"])
def test_trace_of_a_cell_is_its_equations_step_by_step(kind):
    cell = make_cell(kind, 2, 3)
    x = randn(np.random.default_rng(7), 5, 4, 2)
    traced = rnn.trace(cell, x)
    want = numpy_trace(kind, cell.weights(), x.numpy())
    names = {"lstm": "ifgohc", "gru": "rzn", "rnn_tanh": "", "rnn_relu": ""}[kind]
    assert list(traced) == list(names[:-2] if kind == "lstm" else names) + list(
        "hc" if kind == "lstm" else "h")
    for name in traced:
        assert isinstance(traced[name], np.ndarray) and traced[name].shape == (5, 4, 3)
        np.testing.assert_allclose(traced[name], want[name], rtol=1e-12, atol=1e-14)
    outputs, _ = rnn.unroll(cell, x)  # the unrolled cell: h is its output, bit for bit
    np.testing.assert_array_equal(traced["h"], outputs.numpy())


def test_trace_of_an_unrolled_cell_with_lengths_marks_the_padding_nan():
    cell = make_cell("lstm", 2, 3)
    x = randn(np.random.default_rng(8), 5, 3, 2)
    lengths = [5, 2, 3]
    traced = rnn.trace(cell, x, lengths=lengths)
    valid = rnn.lengths_to_mask(lengths, 5).numpy()  # (T, B)
    for name, values in traced.items():
        assert np.isnan(values[~valid]).all() and not np.isnan(values[valid]).any(), name
    for b, length in enumerate(lengths):  # each sequence's steps are what it makes alone
        alone = rnn.trace(cell, x[:length, b:b + 1])
        for name in traced:
            np.testing.assert_allclose(traced[name][:length, b], alone[name][:, 0], rtol=1e-12)


@pytest.mark.parametrize("fused", [True, False])
def test_trace_of_a_stacked_bidirectional_layer_with_lengths(fused):
    layer = make_layer("lstm", 2, 3, num_layers=2, bidirectional=True, fused=fused)
    x = randn(np.random.default_rng(9), 6, 3, 2)
    lengths = [6, 2, 4]
    traced = rnn.trace(layer, x, lengths=lengths)
    assert list(traced) == ["i", "f", "g", "o", "h", "c"]
    assert all(values.shape == (2, 2, 6, 3, 3) for values in traced.values())
    valid = rnn.lengths_to_mask(lengths, 6).numpy()
    assert all(np.isnan(v[:, :, ~valid]).all() and not np.isnan(v[:, :, valid]).any()
               for v in traced.values())
    output, (h_n, c_n) = layer(x, lengths=lengths)
    last = np.concatenate([traced["h"][1, 0], traced["h"][1, 1]], axis=-1)  # (T, B, 2H)
    np.testing.assert_allclose(np.where(valid[..., None], last, 0), output.numpy(), atol=1e-12)
    for b, length in enumerate(lengths):
        # forward: the final state is the step at the sequence's own last step; reverse: the
        # step at time 0 (it read x_0 last); c_n likewise
        np.testing.assert_allclose(traced["h"][1, 0, length - 1, b], h_n.numpy()[2, b])
        np.testing.assert_allclose(traced["c"][0, 1, 0, b], c_n.numpy()[1, b])
        # the first layer's reverse direction by hand: the valid steps reversed, run forward
        reverse = numpy_trace("lstm", layer.weights(0, 1), x.numpy()[length - 1::-1, b:b + 1])
        for name in traced:
            np.testing.assert_allclose(traced[name][0, 1, :length, b], reverse[name][::-1, 0],
                                       rtol=1e-12, atol=1e-14)


def test_trace_of_layers_in_every_layout():
    x = randn(np.random.default_rng(10), 4, 2, 3)
    gru = make_layer("gru", 3, 5, num_layers=3)
    traced = rnn.trace(gru, x)
    assert list(traced) == ["r", "z", "n", "h"] and traced["z"].shape == (3, 1, 4, 2, 5)
    np.testing.assert_allclose(traced["h"][2, 0], gru(x)[0].numpy(), atol=1e-12)
    batch_first = make_layer("gru", 3, 5, num_layers=3, batch_first=True)
    batch_first.load_state_dict(gru.state_dict())
    for name, values in rnn.trace(batch_first, x.swapaxes(0, 1)).items():
        np.testing.assert_array_equal(values, traced[name])  # always time-major
    unbatched = rnn.trace(gru, x[:, 0])  # (T, I): no batch axis, as the layer's output
    np.testing.assert_allclose(unbatched["h"], traced["h"][:, :, :, 0], rtol=1e-12)
    packed = rnn.pack_padded_sequence(x, [4, 2], enforce_sorted=False)
    for name, values in rnn.trace(gru, packed).items():
        np.testing.assert_array_equal(values, rnn.trace(gru, x, lengths=[4, 2])[name])
    projected = make_layer("lstm", 3, 5, proj_size=2)
    traced = rnn.trace(projected, x)
    assert traced["h"].shape == (1, 1, 4, 2, 2) and traced["c"].shape == (1, 1, 4, 2, 5)
    np.testing.assert_allclose(traced["h"][0, 0], projected(x)[0].numpy(), atol=1e-12)
    relu = make_layer("rnn_relu", 3, 5, bidirectional=True)
    assert list(rnn.trace(relu, x)) == ["h"]


def test_trace_draws_dropout_as_forward_does():
    layer = make_layer("gru", 2, 4, num_layers=2, dropout=0.5)
    x = randn(np.random.default_rng(11), 5, 3, 2)
    before = layer.rng.bit_generator.state
    output, _ = layer(x)
    layer.rng.bit_generator.state = before
    np.testing.assert_allclose(rnn.trace(layer, x)["h"][1, 0], output.numpy(), atol=1e-12)
    layer.eval()
    assert not np.allclose(rnn.trace(layer, x)["h"][1, 0], output.numpy())


class GatedUnit(rnn.Cell):
    """A user's own cell, the minimal gated unit (docs/custom.md), that names its gate."""

    def __init__(self, input_size, hidden_size, rng):
        super().__init__(input_size, hidden_size)
        self.weight_ih = nn.Parameter(randn(rng, 2 * hidden_size, input_size))
        self.weight_hf = nn.Parameter(randn(rng, hidden_size, hidden_size))
        self.weight_hn = nn.Parameter(randn(rng, hidden_size, hidden_size))

    def with_gates(self, x, h):
        x_f, x_n = engine.chunk(x @ self.weight_ih.T, 2, axis=-1)
        f = (x_f + h @ self.weight_hf.T).sigmoid()
        n = (x_n + (f * h) @ self.weight_hn.T).tanh()
        return (1 - f) * h + f * n, {"f": f, "n": n}

    def step(self, x, h):
        return self.with_gates(x, h)[0]


def test_a_users_own_cell_is_traced_too():
    x = randn(np.random.default_rng(12), 5, 2, 3)
    cell = GatedUnit(3, 4, np.random.default_rng(0))
    traced = rnn.trace(cell, x, lengths=[5, 3])
    assert list(traced) == ["f", "n", "h"]
    outputs, _ = rnn.unroll(cell, x, lengths=[5, 3])
    np.testing.assert_array_equal(np.nan_to_num(traced["h"]), outputs.numpy())
    assert ((traced["f"][:, 0] > 0) & (traced["f"][:, 0] < 1)).all()
    skip = make_cell("skip_lstm", 3, 4)  # no with_gates: its states alone
    traced = rnn.trace(skip, x)
    assert list(traced) == ["h", "c"]
    np.testing.assert_array_equal(traced["h"], rnn.unroll(skip, x)[0].numpy())
    both = rnn.trace(rnn.Bidirectional(cell, GatedUnit(3, 4, np.random.default_rng(1))), x,
                     lengths=[5, 3])
    assert both["f"].shape == (1, 2, 5, 2, 4)
    np.testing.assert_array_equal(both["f"][0, 0], rnn.trace(cell, x, lengths=[5, 3])["f"])


def test_a_bidirectional_of_cells_is_the_bidirectional_layer():
    layer = make_layer("gru", 2, 3, bidirectional=True)
    cells = [make_cell("gru", 2, 3) for _ in range(2)]
    for direction, cell in enumerate(cells):
        suffix = "_l0" + ("_reverse" if direction else "")
        cell.load_state_dict({name: layer.state_dict()[name + suffix]
                              for name in cell.state_dict()})
    x = randn(np.random.default_rng(13), 4, 2, 2)
    want = rnn.trace(layer, x, lengths=[4, 1])
    got = rnn.trace(rnn.Bidirectional(*cells), x, lengths=[4, 1])
    for name in want:
        np.testing.assert_array_equal(got[name], want[name])


def test_trace_refuses_what_it_cannot_trace():
    x = randn(np.random.default_rng(14), 3, 2, 2)
    cell = make_cell("lstm", 2, 3)
    with pytest.raises(TypeError, match="must be a cell"):
        rnn.trace(nn.Linear(2, 3), x)
    with pytest.raises(ValueError, match=r"\(T, B, I\)"):
        rnn.trace(cell, x[0])
    with pytest.raises(ValueError, match="I = 2 features"):
        rnn.trace(cell, randn(np.random.default_rng(0), 3, 2, 5))
    with pytest.raises(ValueError, match="lengths must each be in"):
        rnn.trace(cell, x, lengths=[4, 1])
    with pytest.raises(TypeError, match="trace each layer"):
        rnn.trace(rnn.Bidirectional(make_layer("gru", 2, 3), make_layer("gru", 2, 3)), x)
    with pytest.raises(ValueError, match="different names"):
        rnn.trace(rnn.Bidirectional(cell, make_cell("gru", 2, 3)), x)
