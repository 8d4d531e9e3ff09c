"""Shared by the rnn tests: NumPy references of the docstring equations, strategies,
and helpers that flatten states and check gradients."""

import re

import numpy as np
import pytest
from hypothesis import strategies as st

import engine
import rnn
from rnn.examples import SkipLSTMCell

small = st.integers(1, 3)  # B, T, I, H

KINDS = rnn.cells.CELL_KINDS  # name -> the record of each built-in kind


def _module_of(kind):
    """The constructor of ``kind``'s Cell (an Elman kind's nonlinearity is its activation)."""
    options = {"nonlinearity": kind.activations[0]} if kind.module is rnn.RNNCell else {}
    return lambda i, h, **kw: kind.module(i, h, **options, **kw)


# name -> (constructor of a float64 cell, number of state Tensors): each built-in kind from
# its record, and a user's own cell
CELLS = {name: (_module_of(kind), kind.states) for name, kind in KINDS.items()}
CELLS["skip_lstm"] = (SkipLSTMCell, 2)
LAYERS = {
    "rnn_tanh": lambda *a, **kw: rnn.RNN(*a, nonlinearity="tanh", **kw),
    "rnn_relu": lambda *a, **kw: rnn.RNN(*a, nonlinearity="relu", **kw),
    "lstm": rnn.LSTM,
    "gru": rnn.GRU,
}


def make_cell(kind, input_size, hidden_size, seed=0, **kw):
    return CELLS[kind][0](input_size, hidden_size, rng=np.random.default_rng(seed),
                          dtype="float64", **kw)


def make_layer(kind, input_size, hidden_size, seed=0, **kw):
    return LAYERS[kind](input_size, hidden_size, rng=np.random.default_rng(seed),
                        dtype="float64", **kw)


def randn(rng, *shape, requires_grad=False):
    return engine.Tensor(rng.standard_normal(shape), requires_grad=requires_grad)


def random_state(rng, count, batch_size, hidden_size, requires_grad=False):
    parts = tuple(randn(rng, batch_size, hidden_size, requires_grad=requires_grad)
                  for _ in range(count))
    return parts[0] if count == 1 else parts


def leaves(value):
    """The Tensors of a (nested) tuple, in order."""
    if isinstance(value, (tuple, list)):
        return [t for part in value for t in leaves(part)]
    return [value]


def flat(value):
    """All Tensors of a result joined into one vector, for gradcheck."""
    return engine.concatenate([t.reshape(-1) for t in leaves(value)])


def gradcheck(fn, inputs):
    """engine.gradcheck of every element, or of one random direction per input when large."""
    large = sum(t.numel() for t in inputs) > 150
    return engine.gradcheck(fn, inputs, mode="random" if large else "full")


def numpy_of(value):
    return [t.numpy() for t in leaves(value)]


def gradients(loss_fn, tensors):
    """The gradient (NumPy) of ``loss_fn()`` with respect to each Tensor (zeros if none)."""
    for t in tensors:
        t.grad = None
    loss_fn().backward()
    return [np.zeros(t.shape) if t.grad is None else t.grad.numpy().copy() for t in tensors]


def weighted_sum(value, seed=1):
    """sum(w * result) with fixed random w: a scalar loss that sees every output element."""
    rng = np.random.default_rng(seed)
    return sum((t * rng.standard_normal(t.shape)).sum() for t in leaves(value))


# ---------------------------------------------------------------- NumPy references
# The docstring equations, written out gate by gate.


def sigmoid(a):
    return 1 / (1 + np.exp(-a))


def numpy_cell(kind, x, state, w_ih, w_hh, b_ih, b_hh):
    def gate(k, count):  # W_i* x + b_i* + W_h* h + b_h* for gate block k of count
        rows = np.split(np.arange(w_ih.shape[0]), count)[k]
        return x @ w_ih[rows].T + b_ih[rows] + h @ w_hh[rows].T + b_hh[rows]

    if kind in ("rnn_tanh", "rnn_relu"):
        h = state
        pre = gate(0, 1)
        return np.tanh(pre) if kind == "rnn_tanh" else np.maximum(pre, 0)
    if kind in ("lstm", "skip_lstm"):
        h, c = state
        count = 4 if kind == "lstm" else 5
        i, f = sigmoid(gate(0, count)), sigmoid(gate(1, count))
        g, o = np.tanh(gate(2, count)), sigmoid(gate(3, count))
        c = f * c + i * g
        if kind == "lstm":
            return o * np.tanh(c), c
        beta = sigmoid(gate(4, count))
        return o * np.tanh(c) + beta * h, c
    h = state  # gru: n = tanh(W_in x + b_in + r * (W_hn h + b_hn))
    r, z = sigmoid(gate(0, 3)), sigmoid(gate(1, 3))
    rows = np.split(np.arange(w_ih.shape[0]), 3)[2]
    n = np.tanh(x @ w_ih[rows].T + b_ih[rows] + r * (h @ w_hh[rows].T + b_hh[rows]))
    return (1 - z) * n + z * h


def check_errors(cases):
    """Each (call, error type, text) raises that error with the text (plain, not a regex)."""
    for call, error, text in cases:
        with pytest.raises(error, match=re.escape(text)):
            call()


def numpy_layer(kind, layer, x, hx=None, lengths=None):
    """(output, [h_n] or [h_n, c_n]) of a layer without dropout, in NumPy loops over layers,
    directions, batch elements and each sequence's own valid steps. x is (T, B, I)."""
    steps, batch = x.shape[:2]
    hidden, directions = layer.hidden_size, layer.num_directions
    lengths = np.full(batch, steps) if lengths is None else np.asarray(lengths)
    count = KINDS[kind].states
    if hx is None:
        hx = [np.zeros((layer.num_layers * directions, batch, hidden))] * count
    h_n = [np.zeros_like(hx[0]) for _ in range(count)]
    for index in range(layer.num_layers):
        output = np.zeros((steps, batch, directions * hidden))
        for direction in range(directions):
            k = index * directions + direction
            w_ih, w_hh, b_ih, b_hh = [None if p is None else p.numpy()
                                      for p in layer.weights(index, direction)]
            if b_ih is None:
                b_ih = b_hh = np.zeros(w_ih.shape[0])
            for b in range(batch):
                state = [part[k, b : b + 1] for part in hx]
                order = range(lengths[b]) if direction == 0 else reversed(range(lengths[b]))
                for t in order:
                    state = leaves(numpy_cell(kind, x[t, b : b + 1],
                                              tuple(state) if count == 2 else state[0],
                                              w_ih, w_hh, b_ih, b_hh))
                    output[t, b, direction * hidden : (direction + 1) * hidden] = state[0][0]
                for part, value in zip(h_n, state):
                    part[k, b] = value[0]
        x = output
    return x, h_n
