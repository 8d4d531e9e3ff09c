"""A user-defined cell, written only against the public protocol of ``rnn.Cell``.

SkipLSTMCell: an LSTM with a fifth, "skip" gate that lets h carry straight through.
It works wherever a built-in cell does: ``rnn.unroll`` (lengths, reverse),
``rnn.Bidirectional``, ``engine.gradcheck``.
"""

import engine
import nn
from rnn.cells import Cell, cell_parameters


class SkipLSTMCell(Cell):
    """LSTM with a skip gate beta, gates in the order i, f, g, o, beta:

        i, f, o, beta = sigmoid(W_i* x + b_i* + W_h* h + b_h*)     (one row block each)
        g     = tanh(W_ig x + b_ig + W_hg h + b_hg)
        c'    = f * c + i * g
        h'    = o * tanh(c') + beta * h

    Shapes: x (B, I); h, c (B, H); weight_ih (5H, I), weight_hh (5H, H), bias_ih,
    bias_hh (5H,). The state is (h, c), h first, as the protocol asks.

    >>> import numpy as np
    >>> cell = SkipLSTMCell(3, 4, rng=np.random.default_rng(0))
    >>> h, c = cell(engine.zeros(2, 3))
    >>> h.shape, c.shape
    ((2, 4), (2, 4))
    """

    def __init__(self, input_size, hidden_size, *, rng=None, dtype=None, device=None):
        super().__init__(input_size, hidden_size)
        params = cell_parameters(5, input_size, hidden_size, rng=nn.init.generator(rng),
                                 dtype=dtype, device=device)
        for name, parameter in params.items():
            setattr(self, name, parameter)

    def state_shapes(self, batch_size):
        return ((batch_size, self.hidden_size),) * 2  # h, c

    def step(self, x, state):
        h, c = state
        gates = x @ self.weight_ih.T + self.bias_ih + h @ self.weight_hh.T + self.bias_hh  # (B, 5H)
        i, f, g, o, beta = engine.chunk(gates, 5, axis=-1)  # each (B, H)
        i, f, g, o, beta = i.sigmoid(), f.sigmoid(), g.tanh(), o.sigmoid(), beta.sigmoid()
        c = f * c + i * g
        h = o * c.tanh() + beta * h
        return h, c
