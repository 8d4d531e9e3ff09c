"""One step of a built-in cell as ONE autograd node: what ``rnn.LSTMCell``, ``GRUCell`` and
``RNNCell`` run (``fused=True``, their default) in place of the cell functions of
``rnn.cells``.

A program that steps a cell by hand (PyTorch's ``nn.LSTMCell`` in a Python loop) pays
for every node of the step's graph, a dozen and more of them, each with its own
bookkeeping; these record one per step (the LSTM three: its h' = o tanh(c') stays in the
graph, see ``LSTMStep``). Each op is its cell function's equations
(``rnn.cells``), computed in the same order, forward and backward side by side:

    forward   A = x W_ih^T + b_ih + h W_hh^T + b_hh (B, G*H), then the gates and the state
    backward  dA from the state's gradients, then dx = dA_x W_ih, dh = dA_h W_hh (plus
              what h reaches directly), dW_ih = dA_x^T x, dW_hh = dA_h^T h, the biases'
              gradients the sums of dA_x and dA_h over the batch

(dA_x = dA_h but for the GRU's n rows, where r multiplies W_hn h + b_hn.) A missing bias
is a missing input: ``biased`` says whether the last two are b_ih and b_hh.

    >>> import numpy as np, engine, rnn
    >>> rng = np.random.default_rng(0)
    >>> x, h, c = engine.randn(2, 3, rng=rng), engine.zeros(2, 5), engine.zeros(2, 5)
    >>> w_ih, w_hh = engine.randn(20, 3, rng=rng), engine.randn(20, 5, rng=rng)
    >>> h1, c1 = fused_step(rnn.cells.CELL_KINDS["lstm"], x, (h, c), w_ih, w_hh)
    >>> h1.shape, c1.shape
    ((2, 5), (2, 5))
"""

from engine.backend import xp_of
from engine.ops.elementwise import stable_sigmoid
from engine.tensor import Function


def _pre_activations(x, h, w_ih, w_hh, biases):
    """(x W_ih^T + b_ih, h W_hh^T + b_hh), each (B, G*H), as the cell functions sum them."""
    a_x, a_h = x @ w_ih.T, h @ w_hh.T
    if biases:
        a_x += biases[0]
        a_h += biases[1]
    return a_x, a_h


def _input_grads(op, d_a_x, d_a_h, d_h_direct=None, d_rest=()):
    """The gradients of the inputs (x, h, [c,] w_ih, w_hh[, b_ih, b_hh]) of ``op`` from
    dA_x, dA_h (B, G*H), plus ``d_h_direct`` (what h' reaches without a product) in h's
    and the gradients of the state's other parts (the LSTM's c) in ``d_rest``."""
    needs, weights_at = op.needs_input_grad, 2 + len(d_rest)
    d_x = d_a_x @ op.w_ih if needs[0] else None
    d_h = d_a_h @ op.w_hh if needs[1] else None
    if d_h is not None and d_h_direct is not None:
        d_h += d_h_direct
    d_weights = (d_a_x.T @ op.x if needs[weights_at] else None,
                 d_a_h.T @ op.h if needs[weights_at + 1] else None)
    d_biases = (d_a_x.sum(axis=0), d_a_h.sum(axis=0)) if op.biased else ()
    return (d_x, d_h, *d_rest, *d_weights, *d_biases)


class LSTMStep(Function):
    """``rnn.cells.lstm_cell`` as one node, up to its last equation:

        i, f, g, o = sigmoid, sigmoid, tanh, sigmoid of  x W_ih^T + b_ih + h W_hh^T + b_hh
        c' = f c + i g

    Inputs x (B, I), h, c (B, H), w_ih (4H, I), w_hh (4H, H)[, b_ih, b_hh (4H,)];
    outputs (o, c'). ``fused_step`` makes h' = o tanh(c') of them in the graph, so that the
    gradient c' gets (its ``.grad``, ``rnn.state_gradients``) counts that path too, as
    the composed cell's does.
    """

    saved_inputs = (0, 1, 2, 3, 4)  # x, h, c and the weights (the biases are summed in)

    def forward(self, x, h, c, w_ih, w_hh, *biases):
        a_x, a_h = _pre_activations(x, h, w_ih, w_hh, biases)
        a_x += a_h  # the pre-activations (B, 4H)
        hidden = h.shape[1]
        gates = stable_sigmoid(a_x)  # all four, then g's block replaced by its tanh
        xp_of(a_x).tanh(a_x[:, 2 * hidden:3 * hidden], out=gates[:, 2 * hidden:3 * hidden])
        i, f, g, o = (gates[:, k * hidden:(k + 1) * hidden] for k in range(4))
        self.x, self.h, self.c, self.w_ih, self.w_hh = x, h, c, w_ih, w_hh
        self.gates, self.biased = gates, bool(biases)
        return o.copy(), f * c + i * g  # o apart from the saved gates: it may be changed

    def backward(self, d_o, d_c_next):
        # di = dc' g, df = dc' c, dg = dc' i, each times its gate's slope (do's its own);
        # dc = dc' f
        hidden, gates = self.h.shape[1], self.gates
        i, f, g, o = (gates[:, k * hidden:(k + 1) * hidden] for k in range(4))
        d_a = xp_of(gates).empty_like(gates)  # (B, 4H): d of the pre-activations
        d_i, d_f, d_g, d_o_pre = (d_a[:, k * hidden:(k + 1) * hidden] for k in range(4))
        d_i[...] = d_c_next * g * i * (1 - i)
        d_f[...] = d_c_next * self.c * f * (1 - f)
        d_g[...] = d_c_next * i * (1 - g * g)
        d_o_pre[...] = d_o * o * (1 - o)
        return _input_grads(self, d_a, d_a, d_rest=(d_c_next * f,))  # dc = dc' f


class GRUStep(Function):
    """``rnn.cells.gru_cell`` as one node:

        r = sigmoid(x_r + h_r),  z = sigmoid(x_z + h_z),  n = tanh(x_n + r h_n)
        h' = (1 - z) n + z h

    with (x_r, x_z, x_n) = x W_ih^T + b_ih and (h_r, h_z, h_n) = h W_hh^T + b_hh. Inputs
    x (B, I), h (B, H), w_ih (3H, I), w_hh (3H, H)[, b_ih, b_hh (3H,)]; output h'.
    """

    saved_inputs = (0, 1, 2, 3)

    def forward(self, x, h, w_ih, w_hh, *biases):
        a_x, a_h = _pre_activations(x, h, w_ih, w_hh, biases)
        hidden = h.shape[1]
        r_z = stable_sigmoid(a_x[:, :2 * hidden] + a_h[:, :2 * hidden])  # (B, 2H): r, z
        r, z = r_z[:, :hidden], r_z[:, hidden:]
        h_n = a_h[:, 2 * hidden:]
        n = xp_of(h).tanh(a_x[:, 2 * hidden:] + r * h_n)
        self.x, self.h, self.w_ih, self.w_hh = x, h, w_ih, w_hh
        self.r_z, self.h_n, self.n, self.biased = r_z, h_n, n, bool(biases)
        return (1 - z) * n + z * h

    def backward(self, d_h_next):
        # dn = dh' (1 - z);  dz = dh' (h - n);  dh = dh' z + (through the products);
        # d(x_n) = dn (1 - n^2);  dr = d(x_n) h_n;  d(h_n) = d(x_n) r
        hidden, r_z, n = self.h.shape[1], self.r_z, self.n
        r, z = r_z[:, :hidden], r_z[:, hidden:]
        d_a_x = xp_of(n).empty((n.shape[0], 3 * hidden), dtype=n.dtype)  # (B, 3H)
        d_a_n = d_a_x[:, 2 * hidden:]
        d_a_n[...] = d_h_next * (1 - z) * (1 - n * n)
        d_a_x[:, :hidden] = d_a_n * self.h_n * r * (1 - r)
        d_a_x[:, hidden:2 * hidden] = d_h_next * (self.h - n) * z * (1 - z)
        d_a_h = d_a_x.copy()  # the same but in the n rows: d(h_n) = d(x_n) r
        d_a_h[:, 2 * hidden:] *= r
        return _input_grads(self, d_a_x, d_a_h, d_h_next * z)


class RNNStep(Function):
    """``rnn.cells.rnn_tanh_cell`` / ``rnn_relu_cell`` as one node:
    ``h' = act(x W_ih^T + b_ih + h W_hh^T + b_hh)``. Inputs x (B, I), h (B, H), w_ih (H, I),
    w_hh (H, H)[, b_ih, b_hh (H,)]; output h'."""

    saved_inputs, saves_output = (0, 1, 2, 3), True  # act' from h'

    def forward(self, x, h, w_ih, w_hh, *biases, relu):
        a_x, a_h = _pre_activations(x, h, w_ih, w_hh, biases)
        a_x += a_h
        xp = xp_of(a_x)
        out = xp.maximum(a_x, 0) if relu else xp.tanh(a_x)
        self.x, self.h, self.w_ih, self.w_hh = x, h, w_ih, w_hh
        self.out, self.relu, self.biased = out, relu, bool(biases)
        return out

    def backward(self, d_h_next):
        # dA = dh' act'(A): [A > 0] for relu, 1 - h'^2 for tanh
        out = self.out
        d_a = d_h_next * (out > 0) if self.relu else d_h_next * (1 - out * out)
        return _input_grads(self, d_a, d_a)


def fused_step(kind, x, state, w_ih, w_hh, b_ih=None, b_hh=None):
    """One step of ``kind`` (a record of ``rnn.cells.CELL_KINDS``), the cell function's
    arguments and result: x (B, I), state h (B, H) or the LSTM's (h, c) -> the new state."""
    if (b_ih is None) != (b_hh is None):
        raise ValueError(f"fused_step: give both biases or neither; got b_ih "
                         f"{'None' if b_ih is None else b_ih.shape}, b_hh "
                         f"{'None' if b_hh is None else b_hh.shape}")
    biases = () if b_ih is None else (b_ih, b_hh)
    if kind.name == "lstm":
        o, c_next = LSTMStep.apply(x, *state, w_ih, w_hh, *biases)
        return o * c_next.tanh(), c_next  # h' = o tanh(c'), two nodes of the graph
    if kind.name == "gru":
        return GRUStep.apply(x, state, w_ih, w_hh, *biases)
    return RNNStep.apply(x, state, w_ih, w_hh, *biases, relu=kind.name == "rnn_relu")
