"""rnn.fused.sequence, the functional API, against the composed reference (rnn.unroll over
rnn.cells): outputs, final states and every gradient; gradcheck; errors; edge inputs;
devices; a layer's two directions."""

import warnings

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import engine
import rnn
from engine import Tensor, backend
from rnn import fused
from rnn.cells import gru_cell, lstm_cell
from tests.rnn.fused.common import KINDS, assert_same, composed, configs, problem, results

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
        out, final = fused.run_direction(KINDS[kind].function, x, rest[0] if count == 1
                                         else rest[:count], rest[count:], [4, 2, 3], reverse)
        finals = final if isinstance(final, tuple) else (final,)
        return engine.concatenate([t.reshape(-1) for t in (out, *finals)])

    assert engine.gradcheck(run, [x, *state, *weights])


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
    with pytest.raises(ValueError, match=r"T >= 1.*got x \(0, 2, 2\)"):
        fused.lstm_sequence(x[:0], h0, c0, w_ih, w_hh)


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_a_state_of_another_dtype_is_refused_as_on_the_composed_path(kind):
    """An int64 (or float32) h0 with float64 weights: the composed reference refuses it
    (PyTorch's rule: a state is never cast), and so does the fused path, with the same
    error, before any work (it once ran the op on an int64 state buffer)."""
    x, state, weights, _ = problem(kind, 3, 2, 2, 4, "float64", True, seed=8)
    for dtype in ("int64", "float32"):
        odd = [state[0].to(dtype).detach(), *state[1:]]
        odd = odd[0] if len(odd) == 1 else tuple(odd)
        for direction in (fused.run_direction, rnn.run_direction):
            with pytest.raises(RuntimeError, match=f"must have the weights' dtype float64; "
                                                   f"got {dtype}"):
                direction(KINDS[kind].function, x, odd, weights)


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_an_empty_batch_agrees_with_the_composed_path(kind, kernel_way):
    """B = 0: empty outputs and final states, zero weight gradients, as the composed path
    (and PyTorch) give: the fused path once failed to reshape, and would launch an empty
    CUDA grid."""
    x, state, weights, upstream = problem(kind, 4, 0, 2, 3, "float64", True, seed=9)
    for lengths in (None, []):
        args = (kind, x, state, weights, upstream, lengths, True)
        got, want = results(fused.run_direction, *args), results(composed, *args)
        assert_same(got, want, "float64")
        assert got[0].shape == (4, 0, 3) and not any(g.any() for g in got)


def test_padding_of_any_value_reaches_no_result_through_the_cell_states(kernel_way):
    """lstm_sequence(cell_states=True): NaN in x's padded steps and in the upstream gradient
    of the padded cell states changes nothing (the op never reads either)."""
    x, (h0, c0), weights, _ = problem("lstm", 5, 3, 2, 4, "float64", True, seed=10)
    lengths, padded = [5, 2, 4], np.arange(5)[:, None] >= np.array([5, 2, 4])
    runs = []
    for fill in (0.0, np.nan):
        data = x.numpy().copy()
        data[padded] = fill
        d_cs = np.random.default_rng(4).standard_normal((5, 3, 4))
        d_cs[padded] = fill
        xt = Tensor(data, requires_grad=True)
        for t in (h0, c0, *weights):
            t.grad = None
        out, h_n, c_n, cs = fused.lstm_sequence(xt, h0, c0, *weights, lengths=lengths,
                                                cell_states=True)
        cs.backward(Tensor(d_cs))
        runs.append([cs.numpy(), c_n.numpy(), xt.grad.numpy()]
                    + [t.grad.numpy() for t in (h0, c0, *weights)])
    for want, got in zip(*runs):
        assert np.isfinite(want).all()
        np.testing.assert_array_equal(got, want)


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


@pytest.mark.gpu
@pytest.mark.skipif(not engine.cuda_available(),
                    reason=backend.cuda_unavailable_reason() or "needs a CUDA GPU")
@pytest.mark.skipif(engine.backend.device_count() < 2, reason="needs two CUDA GPUs")
def test_the_fused_ops_run_on_the_gpu_of_their_inputs():
    """cuda:1: the kernels launch with the inputs' GPU current (not device 0)."""
    config = dict(kind="lstm", steps=5, batch=3, inputs=2, hidden=4, dtype="float64",
                  bias=True, seed=11)
    want = results(fused.run_direction, "lstm", *problem(**config)[:4], [5, 2, 4], True)
    for way in fused.WAYS:
        with fused.use_way(way):
            got = results(fused.run_direction, "lstm",
                          *problem(**config, device="cuda:1")[:4], [5, 2, 4], True)
        assert_same(got, want, "float64")


# ---------------------------------------------------------------- a layer's directions


@pytest.mark.parametrize("kind", sorted(KINDS))
@given(directions=st.integers(1, 2), batch=st.integers(1, 4), hidden=st.integers(1, 4),
       bias=st.booleans(), zero_state=st.booleans(),
       dtype=st.sampled_from(["float64", "float32"]), seed=st.integers(0, 2**16))
def test_a_one_step_sequence_runs_the_cells_step_with_the_layers_results(
        kind, directions, batch, hidden, bias, zero_state, dtype, seed):
    """T = 1 (a decoder fed a token at a time): rnn.fused.run_layer takes the cell's
    one-node step; outputs, final states and every gradient are the composed layer's."""
    problems = [problem(kind, 1, batch, 3, hidden, dtype, bias, seed=seed + d)
                for d in range(directions)]
    x = problems[0][0]
    states = [None if zero_state else s[0] if len(s) == 1 else tuple(s)
              for _, s, _, _ in problems]
    weights = [w for _, _, w, _ in problems]
    leaves = [x, *(t for _, s, w, _ in problems for t in (*([] if zero_state else s), *w)
                   if t is not None)]

    given = [_zeros(kind, batch, hidden, dtype) if s is None else s for s in states]

    def run(layer_function, states):
        for leaf in leaves:
            leaf.grad = None
        outputs, finals = layer_function(KINDS[kind].function, x, states, weights)
        parts = [*outputs, *(p for f in finals for p in (f if isinstance(f, tuple) else (f,)))]
        sum((p * p).sum() for p in parts).backward()
        return [p.numpy() for p in parts] + [leaf.grad.numpy() for leaf in leaves]

    # the fused path makes the zero states itself; the composed one needs them given
    assert_same(run(fused.run_layer, states), run(rnn.run_layer, given), dtype)


def _zeros(kind, batch, hidden, dtype):
    """The zero state of ``kind`` (the composed layer needs one given)."""
    zeros = tuple(engine.zeros((batch, hidden), dtype=dtype) for _ in range(KINDS[kind].states))
    return zeros[0] if len(zeros) == 1 else zeros


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
        outputs, finals = layer_function(KINDS[kind].function, x, states, weights, [5, 2, 4])
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
        products = sum(type(node).__name__ in ("MatMul", "Affine") for node in nodes)
        return products, [o.numpy() for o in outputs] + [leaf.grad.numpy() for leaf in leaves]

    products, got = run(fused.run_layer)
    _, want = run(rnn.run_layer)
    assert_same(got, want, "float64")
    assert products == 1
