"""The fused ops' functional API: lstm_sequence, gru_sequence, rnn_sequence, and
run_direction / run_layer, drop-ins for rnn.unroll's.

Each checks its arguments, then projects the input of every step at once, pre_x = X W_ih^T
(one matrix product, both directions of a layer together in ``run_layer``), its padded rows
selected away first, and applies its kind's op (``rnn.fused.ops``), which takes pre_x over
as its working slab.

    >>> import numpy as np, engine
    >>> rng = np.random.default_rng(0)
    >>> x, h0, c0 = engine.randn(7, 2, 3, rng=rng), engine.zeros(2, 5), engine.zeros(2, 5)
    >>> w_ih, w_hh = engine.randn(20, 3, rng=rng), engine.randn(20, 5, rng=rng)
    >>> output, h_n, c_n = lstm_sequence(x, h0, c0, w_ih, w_hh, lengths=[7, 4])
    >>> output.shape, h_n.shape, c_n.shape
    ((7, 2, 5), (2, 5), (2, 5))
"""

import engine
from nn.functional import linear
from rnn.cells import CELL_KINDS, check_state_dtypes, kind_of
from rnn.fused.cell import fused_step
from rnn.fused.layout import SequenceLayout
from rnn.fused.ops import GRUSequence, LSTMSequence, RNNSequence
from rnn.masks import check_lengths, lengths_to_mask

OPS = {  # kind name -> (the op, the public function's name, for errors)
    "lstm": (LSTMSequence, "lstm_sequence"),
    "gru": (GRUSequence, "gru_sequence"),
    "rnn_tanh": (RNNSequence, "rnn_sequence"),
    "rnn_relu": (RNNSequence, "rnn_sequence"),
}

# ---------------------------------------------------------------- checks and the projection


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
    if b_ih is not None and b_hh is not None:
        return b_ih, b_hh
    zeros = engine.zeros(gates * hidden, dtype=w_hh.dtype, device=w_hh.device)
    return tuple(zeros if b is None else b for b in (b_ih, b_hh))


def _without_padding(x, lengths):
    """x (T, B, I) with its padded steps replaced by zeros, a select (whose backward selects
    too): the projection's weight gradient dW_ih = dA^T X sums over every row of X, and
    although dA is zero on padded rows, 0 * NaN is NaN. x itself when nothing is padded."""
    if lengths is None:
        return x
    lengths = check_lengths(lengths, x.shape[0], x.shape[1])
    if (lengths == x.shape[0]).all():
        return x
    valid = lengths_to_mask(lengths, x.shape[0], device=x.device).unsqueeze(-1)  # (T, B, 1)
    return engine.where(valid, x, 0.0)


def _input_projection(x, w_ih):
    """x W_ih^T for every step at once, one matrix product of all T*B rows (its backward
    too: dX = dA W_ih, dW_ih = dA^T X): x (T, B, I), w_ih (N, I) -> (T, B, N)."""
    return linear(x, w_ih)


def _zeros_if_none(state, x, hidden):
    if state is not None:
        return state
    return engine.zeros((x.shape[1], hidden), dtype=x.dtype, device=x.device)


def _checked_states(kind, x, states, w_ih, w_hh, b_ih, b_hh):
    """The dtype and shape checks of ``kind``'s op (``states`` a list, None for zeros):
    the states, zeros made for the missing ones, and the biases (``_checked``'s)."""
    name = OPS[kind.name][1]
    check_state_dtypes(name, [s for s in states if s is not None], w_hh.dtype)
    states = [_zeros_if_none(state, x, w_hh.shape[-1]) for state in states]
    return states, _checked(name, kind.gates, x, states, w_ih, w_hh, b_ih, b_hh)


def _sequence(kind, x, states, w_ih, w_hh, b_ih, b_hh, lengths, reverse, pre_x=None,
              **options):
    """Check the shapes and dtypes, then run the op of ``kind`` (a CellKind; ``states`` a
    list, None for zeros) on ``pre_x`` = x W_ih^T, computed here unless given."""
    states, biases = _checked_states(kind, x, states, w_ih, w_hh, b_ih, b_hh)
    layout = SequenceLayout(lengths, x.shape[0], x.shape[1], reverse)
    if pre_x is None:
        pre_x = _input_projection(_without_padding(x, lengths), w_ih)
    results = OPS[kind.name][0].apply(pre_x, *states, w_hh, *biases, layout=layout, kind=kind,
                                      **options)
    pre_x._bump_version()  # the op wrote its gates over pre_x: whoever kept it must know
    return results


# ---------------------------------------------------------------- functional API


def lstm_sequence(x, h0, c0, w_ih, w_hh, b_ih=None, b_hh=None, lengths=None, reverse=False,
                  cell_states=False):
    """LSTM (``rnn.LSTMCell``'s equations, gates i, f, g, o) over a whole sequence.

    Shapes: x (T, B, I); h0, c0 (B, H) (None: zeros); w_ih (4H, I); w_hh (4H, H); b_ih,
    b_hh (4H,) or None. Returns ``(output (T, B, H), h_n (B, H), c_n (B, H))``, and the cell
    state of every step ``c (T, B, H)`` after them with ``cell_states=True``; outputs
    (and cell states) are zero past each sequence's length.
    """
    return _sequence(CELL_KINDS["lstm"], x, [h0, c0], w_ih, w_hh, b_ih, b_hh, lengths,
                     reverse, cell_states=cell_states)


def gru_sequence(x, h0, w_ih, w_hh, b_ih=None, b_hh=None, lengths=None, reverse=False):
    """GRU (``rnn.GRUCell``'s equations, gates r, z, n) over a whole sequence.

    Shapes: x (T, B, I); h0 (B, H) (None: zeros); w_ih (3H, I); w_hh (3H, H); b_ih, b_hh
    (3H,) or None. Returns ``(output (T, B, H), h_n (B, H))``, output zero past each length.
    """
    return _sequence(CELL_KINDS["gru"], x, [h0], w_ih, w_hh, b_ih, b_hh, lengths, reverse)


def rnn_sequence(x, h0, w_ih, w_hh, b_ih=None, b_hh=None, lengths=None, reverse=False,
                 nonlinearity="tanh"):
    """Elman RNN (``rnn.RNNCell``, tanh or relu) over a whole sequence.

    Shapes: x (T, B, I); h0 (B, H) (None: zeros); w_ih (H, I); w_hh (H, H); b_ih, b_hh
    (H,) or None. Returns ``(output (T, B, H), h_n (B, H))``, output zero past each length.
    """
    if nonlinearity not in ("tanh", "relu"):
        raise ValueError(
            f"rnn_sequence: nonlinearity must be 'tanh' or 'relu'; got {nonlinearity!r}")
    kind = CELL_KINDS["rnn_" + nonlinearity]
    return _sequence(kind, x, [h0], w_ih, w_hh, b_ih, b_hh, lengths, reverse)


# ---------------------------------------------------------------- layers


def _kind(name, step):
    """The CellKind of cell function ``step``; a ValueError naming the fused ones if none."""
    kind = kind_of(step)
    if kind is None:
        names = ", ".join(k.function.__name__ for k in CELL_KINDS.values())
        raise ValueError(f"fused.{name}: no fused op for {step!r}; fused ones: {names}")
    return kind


def _parts(kind, state):
    """A direction's state as the list of its Tensors (None for zeros): [h] or [h, c]."""
    if kind.states == 1:
        return [state]
    return [None] * kind.states if state is None else list(state)


def _direction(kind, inputs, state, weights, lengths, reverse, pre_x=None):
    """(outputs, final state) of one direction, the LSTM's final state (h_n, c_n)."""
    results = _sequence(kind, inputs, _parts(kind, state), *weights, lengths, reverse, pre_x)
    return results if kind.states == 1 else (results[0], tuple(results[1:]))


def run_direction(step, inputs, state, weights, lengths=None, reverse=False):
    """``rnn.unroll.run_direction`` with the same arguments and results, fused.

    ``step`` is one of the cell functions of ``rnn.cells`` (``lstm_cell``, ``gru_cell``,
    ``rnn_tanh_cell``, ``rnn_relu_cell``), ``weights`` its (w_ih, w_hh, b_ih, b_hh);
    ``inputs`` (T, B, I) -> ``(outputs (T, B, H), final_state)``, the final state a
    Tensor (B, H), or (h_n, c_n) for the LSTM. ``state`` None starts from zeros.
    """
    return _direction(_kind("run_direction", step), inputs, state, tuple(weights), lengths,
                      reverse)


def _one_step(kind, inputs, states, weights):
    """``run_layer`` for a sequence of one step, a decoder's fed a token at a time: the
    cell's one-node step (``rnn.fused.cell``) for each direction, whose set-up is a
    fraction of the sequence op's. Same checks, same results up to rounding."""
    outputs, finals = [], []
    for state, w in zip(states, weights):
        parts, _ = _checked_states(kind, inputs, _parts(kind, state), *w)
        new = fused_step(kind, inputs[0], parts[0] if kind.states == 1 else tuple(parts), *w)
        outputs.append((new if kind.states == 1 else new[0]).unsqueeze(0))  # (1, B, H)
        finals.append(new)
    return outputs, finals


def run_layer(step, inputs, states, weights, lengths=None):
    """``rnn.unroll.run_layer`` with the same arguments and results, fused: with two
    directions, their input projections are ONE (batched) matrix product, x @ (W_ih,fwd^T,
    W_ih,rev^T), and so are its gradients, split between the two ops.

    ``states`` and ``weights``: one per direction, forward then reverse (as for
    ``run_direction``). Returns ``(outputs, finals)``, one per direction each.
    """
    kind = _kind("run_layer", step)
    weights = [tuple(w) for w in weights]
    if inputs.ndim == 3 and inputs.shape[0] == 1 and lengths is None:
        return _one_step(kind, inputs, states, weights)
    if len(weights) == 1:
        projections = [None]
    else:  # a batched product: each direction's projection contiguous, for its op to own
        steps, batch, input_size = inputs.shape
        stacked = engine.stack([w[0] for w in weights]).swapaxes(-1, -2)  # (D, I, G*H)
        rows = _without_padding(inputs, lengths).reshape(1, steps * batch, input_size)
        both = rows @ stacked  # (D, T*B, G*H)
        projections = [p.reshape(steps, batch, stacked.shape[-1])
                       for p in engine.split(both, 1, axis=0)]
    results = [_direction(kind, inputs, state, w, lengths, direction == 1, pre_x)
               for direction, (state, w, pre_x) in enumerate(zip(states, weights, projections))]
    return [r[0] for r in results], [r[1] for r in results]
