"""The equations of docs/bptt.md are the code's equations.

The page writes each built-in cell's forward and hand-derived backward as NumPy
functions in ```python blocks (``rnn_step``, ``rnn_step_backward``, ``lstm_step``,
...). This file reads those blocks out of the page text, runs them, and checks them
on random inputs against:

    forward     rnn.RNNCell, rnn.LSTMCell, rnn.GRUCell (engine ops, rnn/cells.py)
    backward    engine autograd through those cells, every input and parameter
    sequence    the page's step functions looped over time (BPTT) against the fused
                whole-sequence ops of rnn/fused.py, whose backward is hand-written
                (rnn/fused_ops.py), and the page's lstm_sequence(_backward) against
                rnn.LSTM (unrolled, autograd) and rnn.fused.lstm_sequence

So if the page's math and the code's ever part, a test here fails. (What every page
says its code prints is checked by test_docs.)
"""

import pathlib

import numpy as np
import pytest

import engine
import rnn
from rnn import fused  # the whole-sequence ops, backward written by hand (rnn/fused_ops.py)
from tests.test_docs import BLOCK

PAGE = pathlib.Path(__file__).resolve().parent.parent / "docs" / "bptt.md"


@pytest.fixture(scope="module")
def page():
    """The namespace of docs/bptt.md after running all its blocks, in order (as test_docs)."""
    namespace = {"__name__": "docs_bptt_formulas"}
    blocks = BLOCK.findall(PAGE.read_text())
    assert blocks, "docs/bptt.md has no python blocks"
    for number, block in enumerate(blocks, start=1):
        exec(compile(block, f"docs/bptt.md block {number}", "exec"), namespace)
    for name in ("rnn_step", "rnn_step_backward", "lstm_step", "lstm_step_backward",
                 "gru_step", "gru_step_backward", "lstm_sequence", "lstm_sequence_backward"):
        assert callable(namespace.get(name)), f"docs/bptt.md no longer defines {name}"
    return namespace


CELLS = {  # name: (rnn cell class, page forward, page backward, has a cell state)
    "rnn": (rnn.RNNCell, "rnn_step", "rnn_step_backward", False),
    "lstm": (rnn.LSTMCell, "lstm_step", "lstm_step_backward", True),
    "gru": (rnn.GRUCell, "gru_step", "gru_step_backward", False),
}
SIZES = [(1, 1, 1), (2, 3, 4), (5, 2, 3)]  # (B, I, H)
every_case = pytest.mark.parametrize(  # each cell at each size with three seeds
    "name, B, I, H, seed", [(name, *size, seed) for name in CELLS for size in SIZES
                            for seed in (0, 1, 2)])


def _case(name, B, I, H, seed):
    """A float64 cell of the rnn package, its parameters as NumPy, and random data."""
    rng = np.random.default_rng(seed)
    cell = CELLS[name][0](I, H, rng=rng, dtype="float64")
    for param in cell.parameters():  # larger than the default init: saturate some gates
        param.data[...] = rng.standard_normal(param.shape)
    p = {key: value.numpy().copy() for key, value in cell.named_parameters()}
    data = {key: rng.standard_normal(shape) for key, shape in
            (("x", (B, I)), ("h", (B, H)), ("c", (B, H)), ("dh", (B, H)), ("dc", (B, H)))}
    return cell, p, data


@every_case
def test_forward_formulas_match_the_cells(page, name, B, I, H, seed):
    cell, p, d = _case(name, B, I, H, seed)
    _, forward, _, has_c = CELLS[name]
    x, h, c = (engine.tensor(d[k]) for k in ("x", "h", "c"))
    if has_c:
        (h_page, c_page), _ = page[forward](d["x"], (d["h"], d["c"]), p)
        h_code, c_code = cell(x, (h, c))
        np.testing.assert_allclose(c_page, c_code.numpy(), rtol=1e-12, atol=1e-12)
    else:
        h_page, _ = page[forward](d["x"], d["h"], p)
        h_code = cell(x, h)
    np.testing.assert_allclose(h_page, h_code.numpy(), rtol=1e-12, atol=1e-12)


@every_case
def test_backward_formulas_match_autograd(page, name, B, I, H, seed):
    """The page's hand-derived gradients equal engine autograd through rnn/cells.py."""
    cell, p, d = _case(name, B, I, H, seed)
    _, forward, backward, has_c = CELLS[name]
    x, h, c = (engine.tensor(d[k], requires_grad=True) for k in ("x", "h", "c"))
    if has_c:
        h_new, c_new = cell(x, (h, c))
        loss = (h_new * engine.tensor(d["dh"])).sum() + (c_new * engine.tensor(d["dc"])).sum()
        _, cache = page[forward](d["x"], (d["h"], d["c"]), p)
        by_hand = page[backward](d["dh"], d["dc"], cache, p)
    else:
        loss = (cell(x, h) * engine.tensor(d["dh"])).sum()
        _, cache = page[forward](d["x"], d["h"], p)
        by_hand = page[backward](d["dh"], cache, p)
    loss.backward()
    autograd = {"x": x.grad, "h": h.grad, **{k: v.grad for k, v in cell.named_parameters()}}
    if has_c:
        autograd["c"] = c.grad
    assert set(by_hand) == set(autograd), f"{backward} returns {sorted(by_hand)}"
    for key, grad in autograd.items():
        np.testing.assert_allclose(by_hand[key], grad.numpy(), rtol=1e-10, atol=1e-12,
                                   err_msg=f"{backward}: gradient of {key}")


def _sequence_case(T, B, I, H, seed):
    rng = np.random.default_rng(seed)
    layer = rnn.LSTM(I, H, fused=False, rng=rng, dtype="float64")  # the composed reference
    p = {key[:-3]: value.numpy().copy() for key, value in layer.named_parameters()}  # drop _l0
    data = {"X": rng.standard_normal((T, B, I)), "h0": rng.standard_normal((B, H)),
            "c0": rng.standard_normal((B, H)), "dY": rng.standard_normal((T, B, H)),
            "dh": rng.standard_normal((B, H)), "dc": rng.standard_normal((B, H))}
    return layer, p, data


@pytest.mark.parametrize("T, B, I, H, seed", [(1, 1, 1, 1, 0), (4, 2, 3, 2, 1), (7, 3, 2, 4, 2)])
def test_sequence_formulas_match_the_lstm_layer(page, T, B, I, H, seed):
    """lstm_sequence / lstm_sequence_backward (hoisted input projection, one product for
    the weight gradients) against rnn.LSTM and engine autograd."""
    layer, p, d = _sequence_case(T, B, I, H, seed)
    X, h0, c0 = (engine.tensor(d[k], requires_grad=True) for k in ("X", "h0", "c0"))
    Y, (h_n, c_n) = layer(X, (h0.unsqueeze(0), c0.unsqueeze(0)))
    Y_page, (h_page, c_page), cache = page["lstm_sequence"](d["X"], d["h0"], d["c0"], p)
    np.testing.assert_allclose(Y_page, Y.numpy(), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(h_page, h_n.numpy()[0], rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(c_page, c_n.numpy()[0], rtol=1e-12, atol=1e-12)

    loss = ((Y * engine.tensor(d["dY"])).sum() + (h_n[0] * engine.tensor(d["dh"])).sum()
            + (c_n[0] * engine.tensor(d["dc"])).sum())
    loss.backward()
    by_hand = page["lstm_sequence_backward"](d["dY"], d["dh"], d["dc"], cache, p)
    autograd = {"X": X.grad, "h0": h0.grad, "c0": c0.grad,
                **{k[:-3]: v.grad for k, v in layer.named_parameters()}}
    assert set(by_hand) == set(autograd)
    for key, grad in autograd.items():
        np.testing.assert_allclose(by_hand[key], grad.numpy(), rtol=1e-10, atol=1e-12,
                                   err_msg=f"lstm_sequence_backward: gradient of {key}")


# ---------------------------------------------------------------- the fused ops



def _page_over_sequence(page, name, X, state0, p, dY, d_final):
    """The page's step and step-backward functions looped over a sequence, as BPTT:
    outputs, final state, and the gradients of X, the initial state and the parameters
    for the loss sum(dY * outputs) + sum(d_final * final state)."""
    step, step_backward = page[f"{name}_step"], page[f"{name}_step_backward"]
    state, caches, outputs = state0, [], []
    for x in X:
        state, cache = step(x, state, p)
        caches.append(cache)
        outputs.append(state[0] if name == "lstm" else state)
    grads = {key: np.zeros_like(value) for key, value in p.items()}
    d_x, d = [], d_final
    for t in reversed(range(len(X))):
        if name == "lstm":
            g = step_backward(d[0] + dY[t], d[1], caches[t], p)
            d = (g["h"], g["c"])
        else:
            g = step_backward(d + dY[t], caches[t], p)
            d = g["h"]
        d_x.append(g["x"])
        for key in grads:
            grads[key] += g[key]
    grads["x"] = np.stack(d_x[::-1])
    return np.stack(outputs), state, d, grads


@pytest.mark.parametrize("seed", [0, 1])
@pytest.mark.parametrize("name", list(CELLS))
def test_hand_derived_bptt_matches_the_fused_ops(page, name, seed):
    """The page's backward, stepped through time, equals rnn/fused.py's hand-written one."""
    T, B, I, H = 5, 3, 2, 4
    cell, p, _ = _case(name, B, I, H, seed)
    rng = np.random.default_rng(seed + 100)
    X, dY = rng.standard_normal((T, B, I)), rng.standard_normal((T, B, H))
    h0, c0, dh, dc = (rng.standard_normal((B, H)) for _ in range(4))
    weights = [engine.tensor(p[k], requires_grad=True)
               for k in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")]
    x_t, h0_t, c0_t = (engine.tensor(a, requires_grad=True) for a in (X, h0, c0))
    if name == "lstm":
        Y, h_n, c_n = fused.lstm_sequence(x_t, h0_t, c0_t, *weights)
        loss = (h_n * engine.tensor(dh)).sum() + (c_n * engine.tensor(dc)).sum()
        Y_page, final, d_first, grads = _page_over_sequence(page, name, X, (h0, c0), p, dY,
                                                            (dh, dc))
        np.testing.assert_allclose(final[1], c_n.numpy(), rtol=1e-10, atol=1e-12)
        final, code_first = final[0], (h0_t, c0_t)
    else:
        sequence = fused.gru_sequence if name == "gru" else fused.rnn_sequence
        Y, h_n = sequence(x_t, h0_t, *weights)
        loss = (h_n * engine.tensor(dh)).sum()
        Y_page, final, d_first, grads = _page_over_sequence(page, name, X, h0, p, dY, dh)
        d_first, code_first = (d_first,), (h0_t,)
    np.testing.assert_allclose(Y_page, Y.numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(final, h_n.numpy(), rtol=1e-10, atol=1e-12)
    (loss + (Y * engine.tensor(dY)).sum()).backward()
    names = ("weight_ih", "weight_hh", "bias_ih", "bias_hh")
    for key, tensor in [("x", x_t), *zip(names, weights)]:
        np.testing.assert_allclose(grads[key], tensor.grad.numpy(), rtol=1e-9, atol=1e-11,
                                   err_msg=f"{name}: gradient of {key}")
    for mine, theirs in zip(d_first, code_first):
        np.testing.assert_allclose(mine, theirs.grad.numpy(), rtol=1e-9, atol=1e-11,
                                   err_msg=f"{name}: gradient of the initial state")


@pytest.mark.parametrize("seed", [0, 1])
def test_page_lstm_sequence_matches_the_fused_op(page, seed):
    """The page's reorganised LSTM (hoisted projection, dW = dGates^T @ H_prev) against
    rnn.fused.lstm_sequence, forward and every gradient."""
    T, B, I, H = 6, 2, 3, 4
    layer, p, d = _sequence_case(T, B, I, H, seed)
    weights = [engine.tensor(p[k], requires_grad=True)
               for k in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")]
    X, h0, c0 = (engine.tensor(d[k], requires_grad=True) for k in ("X", "h0", "c0"))
    Y, h_n, c_n = fused.lstm_sequence(X, h0, c0, *weights)
    Y_page, (h_page, c_page), cache = page["lstm_sequence"](d["X"], d["h0"], d["c0"], p)
    for mine, theirs in ((Y_page, Y), (h_page, h_n), (c_page, c_n)):
        np.testing.assert_allclose(mine, theirs.numpy(), rtol=1e-10, atol=1e-12)
    loss = ((Y * engine.tensor(d["dY"])).sum() + (h_n * engine.tensor(d["dh"])).sum()
            + (c_n * engine.tensor(d["dc"])).sum())
    loss.backward()
    by_hand = page["lstm_sequence_backward"](d["dY"], d["dh"], d["dc"], cache, p)
    code = {"X": X, "h0": h0, "c0": c0, **dict(zip(
        ("weight_ih", "weight_hh", "bias_ih", "bias_hh"), weights))}
    for key, tensor in code.items():
        np.testing.assert_allclose(by_hand[key], tensor.grad.numpy(), rtol=1e-9, atol=1e-11,
                                   err_msg=f"lstm_sequence_backward vs fused: {key}")
