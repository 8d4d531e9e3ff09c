"""Positional encodings: what tells attention, which has no notion of order, where each
input stands.

Contents: PositionalEncoding (sinusoidal, PyTorch tutorials'), LearnedPositionalEncoding.

Both add a (T, E) table to the inputs and then apply dropout. Layout: (T, B, E) as
PyTorch's tutorials (``pe`` is stored (max_len, 1, d_model), so their state dicts load),
(B, T, E) with ``batch_first=True``, or (T, E) for one sequence.
"""

import math

import numpy as np

import engine
from engine import dtypes
from engine.random import generator_of
from nn import init
from nn.layers import Dropout
from nn.module import Module, Parameter


def sinusoids(max_len, d_model):
    """The (max_len, d_model) float64 table of Vaswani et al. (2017):
    pe[pos, 2i] = sin(pos / 10000^(2i / d)),  pe[pos, 2i + 1] = cos(pos / 10000^(2i / d)).

    >>> sinusoids(3, 4).round(3).tolist()[1]
    [0.841, 0.54, 0.01, 1.0]
    """
    position = np.arange(max_len, dtype=np.float64)[:, None]  # (max_len, 1)
    div_term = np.exp(np.arange(0, d_model, 2) * (-math.log(10000.0) / d_model))  # (ceil(d/2),)
    pe = np.zeros((max_len, d_model))
    pe[:, 0::2] = np.sin(position * div_term)
    pe[:, 1::2] = np.cos(position * div_term[: d_model // 2])  # an odd d_model has one sin more
    return pe


def _add_positions(x, table, batch_first, op):
    """x (T, B, E), (B, T, E) or (T, E) plus ``table[:T]`` (T, E), broadcast over the batch."""
    if x.ndim not in (2, 3) or x.shape[-1] != table.shape[-1]:
        raise ValueError(f"{op}: input must be (T, B, {table.shape[-1]}), (B, T, "
                         f"{table.shape[-1]}) with batch_first, or (T, {table.shape[-1]}); got "
                         f"shape {x.shape}")
    T = x.shape[1 if batch_first and x.ndim == 3 else 0]
    if T > table.shape[0]:
        raise ValueError(f"{op}: the sequence has {T} positions, more than max_len = "
                         f"{table.shape[0]}")
    rows = table[:T]  # (T, E)
    if x.ndim == 3 and not batch_first:
        rows = rows.unsqueeze(1)  # (T, 1, E)
    return x + rows


class PositionalEncoding(Module):
    """Sinusoidal positional encoding, as PyTorch's tutorials (and the word-language-model
    example) define it: y = dropout(x + pe[:T]).

        pe[pos, 2i] = sin(pos / 10000^(2i / d_model)),  pe[pos, 2i + 1] = cos(...)

    Buffer ``pe`` (max_len, 1, d_model), not trained, saved in the state dict.
    Shapes: x (T, B, d_model), (B, T, d_model) with ``batch_first``, or (T, d_model);
    y like x. Position ``pos`` and ``pos + k`` are related by a rotation in each (sin, cos)
    pair whatever ``pos``, so attention can learn offsets.

    >>> enc = PositionalEncoding(4, dropout=0.0)
    >>> enc(engine.zeros(3, 2, 4)).shape, enc.pe.shape
    ((3, 2, 4), (5000, 1, 4))
    """

    def __init__(self, d_model, dropout=0.1, max_len=5000, *, batch_first=False, dtype=None,
                 device=None, rng=None):
        super().__init__()
        self.batch_first = batch_first
        self.dropout = Dropout(p=dropout, rng=rng)
        table = sinusoids(max_len, d_model).astype(dtypes.as_dtype(dtype))[:, None, :]
        self.register_buffer("pe", engine.tensor(table, device=device))

    def forward(self, x):
        return self.dropout(_add_positions(x, self.pe[:, 0], self.batch_first,
                                           "PositionalEncoding"))

    def extra_repr(self):
        max_len, _, d_model = self.pe.shape
        return f"{d_model}, max_len={max_len}" + (", batch_first=True" * self.batch_first)


class LearnedPositionalEncoding(Module):
    """A trained embedding per position (BERT, GPT-2): y = dropout(x + weight[:T]).

    Parameter ``weight`` (max_len, d_model), initialised N(0, 0.02^2) as GPT-2's. It
    knows no position it was not trained on: a model trained on length T cannot be run
    on longer sequences, where the sinusoids can. Shapes as ``PositionalEncoding``'s.

    >>> enc = LearnedPositionalEncoding(4, dropout=0.0, max_len=10, rng=0)
    >>> enc(engine.zeros(2, 3, 4)).shape, enc.weight.shape
    ((2, 3, 4), (10, 4))
    """

    def __init__(self, d_model, dropout=0.1, max_len=5000, *, batch_first=False, dtype=None,
                 device=None, rng=None):
        super().__init__()
        self.batch_first = batch_first
        self.weight = Parameter(engine.zeros(max_len, d_model, dtype=dtype, device=device))
        init.normal_(self.weight, 0.0, 0.02, rng=generator_of(rng))
        self.dropout = Dropout(p=dropout, rng=rng)

    def forward(self, x):
        return self.dropout(_add_positions(x, self.weight, self.batch_first,
                                           "LearnedPositionalEncoding"))

    def extra_repr(self):
        max_len, d_model = self.weight.shape
        return f"{d_model}, max_len={max_len}" + (", batch_first=True" * self.batch_first)
