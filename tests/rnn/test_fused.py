"""Fused sequence ops against the composed reference (rnn.unroll over rnn.cells):
outputs, final states and every gradient; gradcheck; check_fused; errors; devices."""

import warnings

import numpy as np
import pytest
from hypothesis import given

import engine
import rnn
from engine import Tensor
from rnn import fused
from rnn.cells import gru_cell, lstm_cell
from tests.rnn.common import make_layer
from tests.rnn.fused_common import KINDS, assert_same, composed, configs, problem, results

# ---------------------------------------------------------------- fused == composed


@given(config=configs())
def test_fused_matches_composed(config):
    x, state, weights, upstream = problem(**config)
    args = (config["kind"], x, state, weights, upstream, config["lengths"], config["reverse"])
    assert_same(results(fused.run_direction, *args), results(composed, *args), config["dtype"])


@pytest.mark.parametrize("kind", sorted(KINDS))
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_fused_matches_composed_larger(kind, dtype, kernel_way):
    x, state, weights, upstream = problem(kind, 9, 6, 5, 7, dtype, True, seed=1)
    for lengths in (None, [9, 3, 1, 9, 5, 2]):
        for reverse in (False, True):
            args = (kind, x, state, weights, upstream, lengths, reverse)
            assert_same(results(fused.run_direction, *args), results(composed, *args), dtype)


def test_fused_run_direction_equals_the_layers_reference():
    x, state, weights, _ = problem("gru", 4, 3, 2, 5, "float64", True, seed=2)
    want, want_h = rnn.run_direction(gru_cell, x, state[0], weights, [4, 2, 3], True)
    got, got_h = fused.run_direction(gru_cell, x, state[0], weights, [4, 2, 3], True)
    np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(got_h.numpy(), want_h.numpy(), rtol=1e-12, atol=1e-12)


def test_lstm_cell_states_and_their_gradient(kernel_way):
    x, (h0, c0), weights, (_, d_h, d_c) = problem("lstm", 5, 3, 2, 4, "float64", True, seed=3)
    lengths, d_cs = [5, 2, 4], Tensor(np.random.default_rng(4).standard_normal((5, 3, 4)))
    # the composed c_t of every step: unroll a cell whose state is (c, h), so output_of is c
    swapped = lambda x_t, s: lstm_cell(x_t, s[::-1], *weights)[::-1]  # noqa: E731
    want, _ = rnn.unroll(swapped, x, (c0, h0), lengths, reverse=True)
    (want * d_cs).sum().backward()
    want_grads = [t.grad.numpy() for t in (x, h0, c0, *weights)]
    for t in (x, h0, c0, *weights):
        t.grad = None
    out, h_n, c_n, cs = fused.lstm_sequence(x, h0, c0, *weights, lengths=lengths, reverse=True,
                                            cell_states=True)
    np.testing.assert_allclose(cs.numpy(), want.numpy(), rtol=1e-12, atol=1e-12)
    (cs * d_cs).sum().backward()
    for got, want in zip([t.grad.numpy() for t in (x, h0, c0, *weights)], want_grads):
        np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-11)


def test_no_gradient_for_x_and_no_graph(kernel_way):
    x, state, weights, upstream = problem("lstm", 4, 2, 3, 3, "float64", True, seed=5)
    args = ("lstm", x, state, weights, upstream, [4, 1], False)
    want = results(composed, *args)
    x.requires_grad = False  # the first layer's input: dX is skipped, all else unchanged
    got = results(fused.run_direction, "lstm", x, state, weights, upstream, [4, 1], False)
    assert_same(got, want[:3] + want[4:], "float64")
    with engine.no_grad():
        output, h_n, c_n = fused.lstm_sequence(x, *state, *weights)
    assert not output.requires_grad and output._ctx is None


def test_saturated_gates_do_not_overflow(kernel_way):
    x, state, weights, upstream = problem("lstm", 3, 2, 2, 3, "float32", True, seed=6)
    huge = [Tensor(w.numpy() * 1e4, requires_grad=True) for w in weights]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        got = results(fused.run_direction, "lstm", x, state, huge, upstream, None, False)
    assert all(np.isfinite(g).all() for g in got)


# ---------------------------------------------------------------- finite differences


@pytest.mark.parametrize("kind", sorted(KINDS))
@pytest.mark.parametrize("reverse", [False, True])
def test_gradcheck(kind, reverse, kernel_way):
    x, state, weights, _ = problem(kind, 4, 3, 2, 3, "float64", True, seed=7)
    count = len(state)

    def run(x, *rest):
        out, final = fused.run_direction(KINDS[kind][0], x, rest[0] if count == 1
                                         else rest[:count], rest[count:], [4, 2, 3], reverse)
        finals = final if isinstance(final, tuple) else (final,)
        return engine.concatenate([t.reshape(-1) for t in (out, *finals)])

    assert engine.gradcheck(run, [x, *state, *weights])


# ---------------------------------------------------------------- check_fused


@pytest.mark.parametrize("layer", [
    lambda: rnn.LSTM(3, 4, num_layers=2, bidirectional=True, rng=np.random.default_rng(0)),
    lambda: rnn.GRU(3, 4, num_layers=2, dtype="float64", rng=np.random.default_rng(0)),
    lambda: rnn.RNN(3, 4, nonlinearity="relu", bias=False, bidirectional=True,
                    rng=np.random.default_rng(0)),
    lambda: rnn.LSTMCell(3, 4, rng=np.random.default_rng(0)),
])
def test_check_fused_on_layers_and_cells(layer, kernel_way):
    errors = fused.check_fused(layer(), seq_len=5, batch_size=3)
    assert errors and all(e < 1e-4 for e in errors.values())


def test_check_fused_reports_a_mismatch(monkeypatch):
    right = fused._direction

    def wrong(step, inputs, state, weights, lengths, reverse, pre_x=None):
        return right(step, inputs, state, weights, lengths, False, pre_x)  # reverse ignored

    monkeypatch.setattr(fused, "_direction", wrong)
    with pytest.raises(AssertionError, match="8 mismatches; worst: gru reverse=True: "):
        fused.check_fused("gru")


# ---------------------------------------------------------------- errors


def test_bad_inputs_name_what_was_expected():
    x, (h0, c0), (w_ih, w_hh, b_ih, b_hh), _ = problem("lstm", 3, 2, 2, 4, "float64", True, 8)
    with pytest.raises(ValueError, match=r"lstm_sequence: .*w_ih \(16, 2\).*got.*w_ih \(12, 2\)"):
        fused.lstm_sequence(x, h0, c0, w_ih[:12], w_hh, b_ih, b_hh)
    with pytest.raises(ValueError, match=r"state 0 \(2, 4\).*state 0 \(3, 4\)"):
        fused.gru_sequence(x, engine.zeros(3, 4, dtype="float64"), w_ih[:12], w_hh[:12])
    with pytest.raises(ValueError, match="lengths must each be in 1..T"):
        fused.lstm_sequence(x, h0, c0, w_ih, w_hh, lengths=[4, 1])
    with pytest.raises(ValueError, match="nonlinearity"):
        fused.rnn_sequence(x, h0, w_ih[:4], w_hh[:4], nonlinearity="sigmoid")
    with pytest.raises(ValueError, match="no fused op"):
        fused.run_direction(lambda x, s, *w: s, x, h0, (w_ih, w_hh, None, None))
    with pytest.raises(TypeError, match="float dtypes"):
        fused.gru_sequence(x.astype("float32"), None, w_ih[:12], w_hh[:12])


# ---------------------------------------------------------------- devices


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_fused_on_device_matches_cpu(kind, device):
    config = dict(kind=kind, steps=6, batch=4, inputs=3, hidden=5, dtype="float64", bias=True,
                  seed=9)
    args = ([6, 2, 5, 1], True)
    want = results(fused.run_direction, kind, *problem(**config)[:4], *args)
    got = results(fused.run_direction, kind, *problem(**config, device=device)[:4], *args)
    assert_same(got, want, "float64")
    fused.check_fused(kind, device=device, dtype="float32")


# ---------------------------------------------------------------- a layer's directions


@pytest.mark.parametrize("kind", sorted(KINDS))
@pytest.mark.parametrize("directions", [1, 2])
def test_run_layer_matches_the_composed_layer(kind, directions, kernel_way):
    """Both directions' input projections are one matrix product; the results and every
    gradient are the composed path's."""
    problems = [problem(kind, 5, 3, 2, 4, "float64", True, seed=20 + d) for d in range(directions)]
    x = problems[0][0]
    states = [s[0] if len(s) == 1 else tuple(s) for _, s, _, _ in problems]
    weights = [w for _, _, w, _ in problems]
    leaves = [x, *(t for _, s, w, _ in problems for t in (*s, *w))]

    def run(layer_function):
        for leaf in leaves:
            leaf.grad = None
        outputs, finals = layer_function(KINDS[kind][0], x, states, weights, [5, 2, 4])
        total = sum((o * o).sum() for o in outputs)
        for final in finals:
            total = total + sum((f * f).sum() for f in (final if isinstance(final, tuple)
                                                        else (final,)))
        nodes, stack = set(), [total._ctx]  # the graph, before backward frees it
        while stack:
            node = stack.pop()
            if node is not None and node not in nodes:
                nodes.add(node)
                stack.extend(parent._ctx for parent in node.parents)
        total.backward()
        products = sum(type(node).__name__ == "MatMul" for node in nodes)
        return products, [o.numpy() for o in outputs] + [leaf.grad.numpy() for leaf in leaves]

    products, got = run(fused.run_layer)
    _, want = run(rnn.run_layer)
    assert_same(got, want, "float64")
    assert products == 1


@pytest.mark.parametrize("lengths, reverse", [(None, False), (None, True), ([3, 1, 2], False),
                                              ([3, 1, 2], True)])
def test_the_op_takes_its_projection_as_its_working_slab(lengths, reverse):
    """pre_x becomes the slab the gates are written over (in place when contiguous), in the
    working order and scaled; a strided one is copied instead."""
    from rnn.fused_layout import SequenceLayout
    from rnn.fused_ops import _working_slab

    rng = np.random.default_rng(0)
    layout = SequenceLayout(lengths, 3, 3, reverse)
    pre_x, scale = rng.standard_normal((3, 3, 8)), rng.standard_normal(8)
    want = layout.to_work(pre_x.copy()) * scale
    slab = _working_slab(pre_x, layout, scale)
    assert slab is pre_x
    np.testing.assert_array_equal(slab, want)
    strided = rng.standard_normal((3, 3, 16))[..., ::2]
    want = layout.to_work(strided.copy()) * scale
    slab = _working_slab(strided, layout, scale)
    assert slab.flags.c_contiguous and not np.shares_memory(slab, strided)
    np.testing.assert_array_equal(slab, want)


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_a_retained_graph_gives_the_same_gradients_twice(kind, kernel_way):
    """The ops reuse their input's memory (the projection) for their own buffers: a second
    backward through a retained graph must still see what the first one saw."""
    layer = make_layer(kind, 3, 4, bidirectional=True)
    x = engine.randn(5, 2, 3, rng=np.random.default_rng(1), dtype="float64")
    output, _ = layer(x, lengths=[5, 3])
    loss = (output * output).sum()
    loss.backward(retain_graph=True)
    first = [p.grad.numpy().copy() for p in layer.parameters()]
    loss.backward()
    for once, twice in zip(first, [p.grad.numpy() for p in layer.parameters()]):
        np.testing.assert_allclose(twice, 2 * once, rtol=1e-12, atol=1e-14)
