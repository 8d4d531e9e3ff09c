"""Fused recurrent layers: a whole sequence, one layer and one direction, as ONE graph node.

Contents:
    lstm_sequence, gru_sequence, rnn_sequence   the functional API over rnn.fused_ops
                                                (padding: rnn.fused_layout)
    run_direction, run_layer                    drop-ins for rnn.unroll's
    check_fused                                 fused against composed, for any configuration

The composed path (``rnn.unroll`` over the cell functions of ``rnn.cells``) records a
dozen nodes per step; these record one for the sequence and run the cuDNN schedule in
``rnn.fused_ops``: the input projection of all steps in one matrix product (of both
directions at once, in ``run_layer``), one product and one pass of gate arithmetic per
step, the weight gradients as products over all T*B rows. The numbers are the composed
path's up to rounding, ``check_fused`` says by how much, and ``lengths`` / ``reverse``
mean what they mean for ``rnn.unroll``.

    >>> import numpy as np, engine
    >>> rng = np.random.default_rng(0)
    >>> x, h0, c0 = engine.randn(7, 2, 3, rng=rng), engine.zeros(2, 5), engine.zeros(2, 5)
    >>> w_ih, w_hh = engine.randn(20, 3, rng=rng), engine.randn(20, 5, rng=rng)
    >>> output, h_n, c_n = lstm_sequence(x, h0, c0, w_ih, w_hh, lengths=[7, 4])
    >>> output.shape, h_n.shape, c_n.shape
    ((7, 2, 5), (2, 5), (2, 5))
"""

import numpy as np

import engine
from engine import Tensor, backend
from rnn.cells import check_state_dtypes
from rnn.cells import GRUCell, LSTMCell, RNNCell, gru_cell, lstm_cell, rnn_relu_cell, rnn_tanh_cell
from rnn.fused_layout import SequenceLayout
from rnn.fused_ops import GRUSequence, LSTMSequence, RNNSequence
from rnn.masks import check_lengths
from rnn.unroll import run_direction as composed_run_direction

# ---------------------------------------------------------------- functional API


def _checked(name, gates, x, states, w_ih, w_hh, b_ih, b_hh):
    """Raise a ValueError naming the op, the expected and the received shapes unless they
    fit; return the biases, a missing one replaced by zeros (a constant)."""
    got = {"x": x.shape, **{f"state {i}": s.shape for i, s in enumerate(states)},
           "w_ih": w_ih.shape, "w_hh": w_hh.shape}
    got |= {key: b.shape for key, b in (("b_ih", b_ih), ("b_hh", b_hh)) if b is not None}
    steps, batch, inputs = x.shape if x.ndim == 3 else ("T", "B", "I")
    hidden = w_hh.shape[-1]
    expected = {"x": (steps, batch, inputs), **{key: (batch, hidden) for key in got
                                                if key.startswith("state")},
                "w_ih": (gates * hidden, inputs), "w_hh": (gates * hidden, hidden),
                "b_ih": (gates * hidden,), "b_hh": (gates * hidden,)}
    if x.ndim != 3 or x.shape[0] == 0 or any(got[key] != expected[key] for key in got):
        want = ", ".join(f"{key} {expected[key]}" for key in got)
        have = ", ".join(f"{key} {shape}" for key, shape in got.items())
        raise ValueError(f"{name}: expected (T >= 1, H = {hidden}, G = {gates}) {want}; "
                         f"got {have}")
    zeros = backend.xp_of(w_hh.array).zeros(gates * hidden, dtype=w_hh.dtype)
    return tuple(Tensor(zeros) if b is None else b for b in (b_ih, b_hh))


def _input_projection(x, w_ih):
    """x W_ih^T for every step at once, one matrix product (its backward too: dX = dA W_ih,
    dW_ih = dA^T X): x (T, B, I), w_ih (N, I) -> (T, B, N)."""
    steps, batch, inputs = x.shape
    return (x.reshape(steps * batch, inputs) @ w_ih.T).reshape(steps, batch, w_ih.shape[0])


def _without_padding(x, lengths):
    """x (T, B, I) with its padded steps replaced by zeros (a select, whose backward selects
    too): the projection's weight gradient dW_ih = dA^T X sums over every row of X, and
    although dA is zero on padded rows, 0 * NaN is NaN. x itself when nothing is padded."""
    if lengths is None:
        return x
    lengths = check_lengths(lengths, x.shape[0], x.shape[1])
    if (lengths == x.shape[0]).all():
        return x
    valid = np.arange(x.shape[0])[:, None, None] < lengths[:, None]  # (T, B, 1)
    return engine.where(engine.tensor(valid, device=x.device), x, 0.0)


def _zeros_if_none(state, x, hidden):
    if state is not None:
        return state
    return engine.zeros((x.shape[1], hidden), dtype=x.dtype, device=x.device)


_OPS = {  # cell function -> (public name, op, gates, the op's fixed options)
    lstm_cell: ("lstm_sequence", LSTMSequence, 4, {}),
    gru_cell: ("gru_sequence", GRUSequence, 3, {}),
    rnn_tanh_cell: ("rnn_sequence", RNNSequence, 1, {"nonlinearity": "tanh"}),
    rnn_relu_cell: ("rnn_sequence", RNNSequence, 1, {"nonlinearity": "relu"}),
}


def _sequence(step, x, states, w_ih, w_hh, b_ih, b_hh, lengths, reverse, pre_x=None,
              **options):
    """Check the shapes, then run the fused op of cell function ``step`` (``states`` a list,
    None for zeros) on ``pre_x`` = x W_ih^T, computed here unless given."""
    name, op, gates, fixed = _OPS[step]
    check_state_dtypes(name, [s for s in states if s is not None], w_hh.dtype)
    states = [_zeros_if_none(state, x, w_hh.shape[-1]) for state in states]
    biases = _checked(name, gates, x, states, w_ih, w_hh, b_ih, b_hh)
    layout = SequenceLayout(lengths, x.shape[0], x.shape[1], reverse)
    if pre_x is None:
        pre_x = _input_projection(_without_padding(x, lengths), w_ih)
    return op.apply(pre_x, *states, w_hh, *biases, layout=layout, **fixed, **options)


def lstm_sequence(x, h0, c0, w_ih, w_hh, b_ih=None, b_hh=None, lengths=None, reverse=False,
                  cell_states=False):
    """LSTM (``rnn.LSTMCell``'s equations, gates i, f, g, o) over a whole sequence.

    Shapes: x (T, B, I); h0, c0 (B, H) (None: zeros); w_ih (4H, I); w_hh (4H, H); b_ih,
    b_hh (4H,) or None. Returns ``(output (T, B, H), h_n (B, H), c_n (B, H))``, and the cell
    state of every step ``c (T, B, H)`` after them with ``cell_states=True``; outputs
    (and cell states) are zero past each sequence's length.
    """
    return _sequence(lstm_cell, x, [h0, c0], w_ih, w_hh, b_ih, b_hh, lengths, reverse,
                     cell_states=cell_states)


def gru_sequence(x, h0, w_ih, w_hh, b_ih=None, b_hh=None, lengths=None, reverse=False):
    """GRU (``rnn.GRUCell``'s equations, gates r, z, n) over a whole sequence.

    Shapes: x (T, B, I); h0 (B, H) (None: zeros); w_ih (3H, I); w_hh (3H, H); b_ih, b_hh
    (3H,) or None. Returns ``(output (T, B, H), h_n (B, H))``, output zero past each length.
    """
    return _sequence(gru_cell, x, [h0], w_ih, w_hh, b_ih, b_hh, lengths, reverse)


def rnn_sequence(x, h0, w_ih, w_hh, b_ih=None, b_hh=None, lengths=None, reverse=False,
                 nonlinearity="tanh"):
    """Elman RNN (``rnn.RNNCell``, tanh or relu) over a whole sequence.

    Shapes: x (T, B, I); h0 (B, H) (None: zeros); w_ih (H, I); w_hh (H, H); b_ih, b_hh
    (H,) or None. Returns ``(output (T, B, H), h_n (B, H))``, output zero past each length.
    """
    if nonlinearity not in ("tanh", "relu"):
        raise ValueError(
            f"rnn_sequence: nonlinearity must be 'tanh' or 'relu'; got {nonlinearity!r}")
    step = rnn_tanh_cell if nonlinearity == "tanh" else rnn_relu_cell
    return _sequence(step, x, [h0], w_ih, w_hh, b_ih, b_hh, lengths, reverse)


# ---------------------------------------------------------------- layers


def _check_step(name, step):
    if step not in _OPS:
        names = ", ".join(f.__name__ for f in _OPS)
        raise ValueError(f"fused.{name}: no fused op for {step!r}; fused ones: {names}")


def _direction(step, inputs, state, weights, lengths, reverse, pre_x=None):
    """(outputs, final state) of one direction, the LSTM's final state (h_n, c_n)."""
    if step is lstm_cell:
        states = [None, None] if state is None else list(state)
        output, h_n, c_n = _sequence(step, inputs, states, *weights, lengths, reverse, pre_x)
        return output, (h_n, c_n)
    return _sequence(step, inputs, [state], *weights, lengths, reverse, pre_x)


def run_direction(step, inputs, state, weights, lengths=None, reverse=False):
    """``rnn.unroll.run_direction`` with the same arguments and results, fused.

    ``step`` is one of the cell functions of ``rnn.cells`` (``lstm_cell``, ``gru_cell``,
    ``rnn_tanh_cell``, ``rnn_relu_cell``), ``weights`` its (w_ih, w_hh, b_ih, b_hh);
    ``inputs`` (T, B, I) -> ``(outputs (T, B, H), final_state)``, the final state a
    Tensor (B, H), or (h_n, c_n) for the LSTM. ``state`` None starts from zeros.
    """
    _check_step("run_direction", step)
    return _direction(step, inputs, state, tuple(weights), lengths, reverse)


def run_layer(step, inputs, states, weights, lengths=None):
    """``rnn.unroll.run_layer`` with the same arguments and results, fused: with two
    directions, their input projections are ONE (batched) matrix product, x @ (W_ih,fwd^T,
    W_ih,rev^T), and so are its gradients, split between the two ops.

    ``states`` and ``weights``: one per direction, forward then reverse (as for
    ``run_direction``). Returns ``(outputs, finals)``, one per direction each.
    """
    _check_step("run_layer", step)
    weights = [tuple(w) for w in weights]
    if len(weights) == 1:
        projections = [None]
    else:  # a batched product: each direction's projection contiguous, for its op to own
        steps, batch, input_size = inputs.shape
        stacked = engine.stack([w[0] for w in weights]).swapaxes(-1, -2)  # (D, I, G*H)
        rows = _without_padding(inputs, lengths).reshape(1, steps * batch, input_size)
        both = rows @ stacked  # (D, T*B, G*H)
        projections = [p.reshape(steps, batch, stacked.shape[-1])
                       for p in engine.split(both, 1, axis=0)]
    results = [_direction(step, inputs, state, w, lengths, direction == 1, pre_x)
               for direction, (state, w, pre_x) in enumerate(zip(states, weights, projections))]
    return [r[0] for r in results], [r[1] for r in results]


# ---------------------------------------------------------------- check_fused

KINDS = {kind: (step, _OPS[step][2]) for kind, step in (  # kind -> (cell function, gates)
    ("lstm", lstm_cell), ("gru", gru_cell), ("rnn_tanh", rnn_tanh_cell),
    ("rnn_relu", rnn_relu_cell))}


def _cases(subject, input_size, hidden_size, bias, dtype, device, rng):
    """(label, cell function, weights, reverse) for every direction ``subject`` has."""
    if isinstance(subject, str):
        if subject not in KINDS:
            raise ValueError(f"check_fused: kind must be one of {sorted(KINDS)}; got {subject!r}")
        step, gates = KINDS[subject]
        shapes = [(gates * hidden_size, input_size), (gates * hidden_size, hidden_size)]
        shapes += [(gates * hidden_size,)] * 2 if bias else []
        weights = [engine.randn(*s, rng=rng, dtype=dtype, device=device) * 0.5 for s in shapes]
        weights += [None] * (4 - len(weights))
        return [(f"{subject} reverse={r}", step, weights, r) for r in (False, True)]
    if isinstance(subject, (RNNCell, LSTMCell, GRUCell)):
        step = {LSTMCell: lstm_cell, GRUCell: gru_cell}.get(type(subject)) or (
            rnn_tanh_cell if subject.nonlinearity == "tanh" else rnn_relu_cell)
        name = type(subject).__name__
        return [(f"{name} reverse={r}", step, subject.weights(), r) for r in (False, True)]
    if hasattr(subject, "cell_function") and hasattr(subject, "weights"):
        return [(f"{type(subject).__name__} layer {layer} direction {direction}",
                 subject.cell_function, subject.weights(layer, direction), direction == 1)
                for layer in range(subject.num_layers)
                for direction in range(subject.num_directions)]
    raise TypeError("check_fused: expected an RNN/LSTM/GRU layer, a built-in cell or a kind "
                    f"({', '.join(KINDS)}); got {type(subject).__name__}")


def _run(direction, step, x, state, weights, lengths, reverse, upstream):
    """Outputs and the gradients of sum(upstream * outputs) for one run, as NumPy arrays."""
    leaves = [x, *state, *(w for w in weights if w is not None)]
    for leaf in leaves:
        leaf.grad = None
    output, final = direction(step, x, state[0] if len(state) == 1 else tuple(state), weights,
                              lengths, reverse)
    results = [output, *(final if isinstance(final, tuple) else (final,))]
    loss = sum((r * u).sum() for r, u in zip(results, upstream))
    loss.backward()
    grads = [leaf.grad.numpy() if leaf.grad is not None else np.zeros(leaf.shape)
             for leaf in leaves]
    return [r.numpy() for r in results] + grads


def check_fused(subject, *, seq_len=6, batch_size=3, input_size=4, hidden_size=5,
                lengths="random", bias=True, dtype="float64", device="cpu", seed=0,
                rtol=None, atol=None):
    """Compare the fused ops with the composed reference: outputs, final states and the
    gradients of x, of every state and of every weight, on random inputs and upstream
    gradients. Works on either backend.

    ``subject`` is an ``rnn.RNN`` / ``LSTM`` / ``GRU`` layer (each layer and direction is
    checked with its own weights, dtype and device; ``input_size`` / ``hidden_size`` /
    ``bias`` / ``dtype`` / ``device`` then come from it), a built-in cell (both
    directions), or a kind: ``"lstm"``, ``"gru"``, ``"rnn_tanh"``, ``"rnn_relu"``.
    ``lengths`` is ``"random"`` (drawn, one sequence full), None, or B ints.
    Tolerances default to rtol 1e-7, atol 1e-9 (float64) and rtol 1e-4, atol 1e-5
    (float32), on ``atol + rtol * max |composed|`` per quantity.

    Returns ``{quantity: max |fused - composed|}``; raises an AssertionError naming the
    worst quantity past its tolerance.

    >>> errors = check_fused("gru", seq_len=4, batch_size=2)
    >>> max(errors.values()) < 1e-12
    True
    """
    rng = np.random.default_rng(seed)
    if not isinstance(subject, str):
        first = next(subject.parameters())
        dtype, device, hidden_size = first.dtype, first.device, subject.hidden_size
    cases = _cases(subject, input_size, hidden_size, bias, dtype, device, rng)
    dtype = np.dtype(dtype)
    rtol = rtol if rtol is not None else 1e-7 if dtype == np.float64 else 1e-4
    atol = atol if atol is not None else 1e-9 if dtype == np.float64 else 1e-5
    if isinstance(lengths, str):
        lengths = rng.integers(1, seq_len + 1, batch_size)
        lengths[rng.integers(batch_size)] = seq_len

    def draw(*shape):
        return engine.randn(*shape, rng=rng, dtype=dtype, device=device)

    errors, failures = {}, []
    for label, step, weights, reverse in cases:
        weights = [None if w is None else Tensor(w.array, requires_grad=True) for w in weights]
        inputs, hidden = weights[0].shape[1], weights[1].shape[1]
        x = draw(seq_len, batch_size, inputs).requires_grad_()
        state = [draw(batch_size, hidden).requires_grad_()
                 for _ in range(2 if step is lstm_cell else 1)]
        upstream = [draw(seq_len, batch_size, hidden)] + [draw(batch_size, hidden)
                                                          for _ in state]
        args = (step, x, state, weights, lengths, bool(reverse), upstream)
        composed, fused = _run(composed_run_direction, *args), _run(run_direction, *args)
        names = ["output"] + [f"final {n}" for n in ("h", "c")][:len(state)] + ["grad x"]
        names += [f"grad {n}0" for n in ("h", "c")][:len(state)]
        names += [f"grad {n}" for n, w in zip(("w_ih", "w_hh", "b_ih", "b_hh"), weights)
                  if w is not None]
        for name, want, got in zip(names, composed, fused):
            error = float(np.abs(got - want).max())
            errors[f"{label}: {name}"] = error
            limit = atol + rtol * float(np.abs(want).max())
            if not error <= limit:
                failures.append((error / limit, f"{label}: {name}: max |fused - composed| "
                                                f"{error:.3g} > {limit:.3g}"))
    if failures:
        raise AssertionError(f"check_fused: {len(failures)} mismatches; worst: {max(failures)[1]}")
    return errors
