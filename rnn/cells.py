"""Cells: one step of a recurrent network, stateless (the state goes in and comes out).

Contents:
    cell functions   rnn_tanh_gates, rnn_relu_gates, lstm_gates, gru_gates: the math, written
                     once, returning the new state and the step's gates by name; and
                     rnn_tanh_cell, rnn_relu_cell, lstm_cell, gru_cell over them, the new
                     state alone, called by the Cell modules here and the layers;
                     lstm_projected_gates / lstm_projected_cell, an LSTM step with
                     PyTorch's proj_size
    state helpers    map_state, output_of
    Cell             the cell protocol, and a base class that implements it
    modules          RNNCell, LSTMCell, GRUCell (PyTorch's parameters, shapes and gate order)
    cell_parameters  PyTorch's parameter shapes and initialisation, shared with the layers
    CELL_KINDS       one record per built-in kind (CellKind: its name, cell function and
                     gates function, gate and state names, activations, module), read by the
                     cells, the layers, rnn.fused and the tests; kind_of finds a function's

Every cell function has the signature ``f(x, state, w_ih, w_hh, b_ih=None, b_hh=None)``
(the projected LSTM's takes ``w_hr`` after them) with ``x`` (B, I) and returns the new
state, its ``*_gates`` twin ``(new state, {gate name: value})``; ``linear(x, W, b)`` is
``x W^T + b``.
"""

import math
from typing import NamedTuple

import numpy as np

import engine
import nn
from nn.functional import linear

# ---------------------------------------------------------------- cell functions


def rnn_tanh_gates(x, h, w_ih, w_hh, b_ih=None, b_hh=None):
    """``h' = tanh(W_ih x + b_ih + W_hh h + b_hh)``; x (B, I), h (B, H) -> (h' (B, H), {}):
    the Elman cell has no gates, its one block of weight rows makes h' itself."""
    return (linear(x, w_ih, b_ih) + linear(h, w_hh, b_hh)).tanh(), {}


def rnn_relu_gates(x, h, w_ih, w_hh, b_ih=None, b_hh=None):
    """``h' = relu(W_ih x + b_ih + W_hh h + b_hh)``; x (B, I), h (B, H) -> (h' (B, H), {})."""
    return (linear(x, w_ih, b_ih) + linear(h, w_hh, b_hh)).relu(), {}


def lstm_gates(x, state, w_ih, w_hh, b_ih=None, b_hh=None):
    """One LSTM step (equations in ``LSTMCell``) with its gates: x (B, I), (h, c) ->
    ((h', c'), {"i": i, "f": f, "g": g, "o": o}), each (B, H)."""
    h, c = state
    gates = linear(x, w_ih, b_ih) + linear(h, w_hh, b_hh)  # (B, 4H)
    i, f, g, o = engine.chunk(gates, 4, axis=-1)  # each (B, H)
    i, f, g, o = i.sigmoid(), f.sigmoid(), g.tanh(), o.sigmoid()
    c = f * c + i * g
    h = o * c.tanh()
    return (h, c), {"i": i, "f": f, "g": g, "o": o}


def gru_gates(x, h, w_ih, w_hh, b_ih=None, b_hh=None):
    """One GRU step (equations in ``GRUCell``) with its gates: x (B, I), h (B, H) ->
    (h' (B, H), {"r": r, "z": z, "n": n}), each (B, H)."""
    x_r, x_z, x_n = engine.chunk(linear(x, w_ih, b_ih), 3, axis=-1)  # each (B, H)
    h_r, h_z, h_n = engine.chunk(linear(h, w_hh, b_hh), 3, axis=-1)  # each (B, H)
    r = (x_r + h_r).sigmoid()
    z = (x_z + h_z).sigmoid()
    n = (x_n + r * h_n).tanh()
    return (1 - z) * n + z * h, {"r": r, "z": z, "n": n}


# The cell functions: the new state alone, from the one copy of the equations above.


def rnn_tanh_cell(x, h, w_ih, w_hh, b_ih=None, b_hh=None):
    """``h' = tanh(W_ih x + b_ih + W_hh h + b_hh)``; x (B, I), h (B, H) -> h' (B, H)."""
    return rnn_tanh_gates(x, h, w_ih, w_hh, b_ih, b_hh)[0]


def rnn_relu_cell(x, h, w_ih, w_hh, b_ih=None, b_hh=None):
    """``h' = relu(W_ih x + b_ih + W_hh h + b_hh)``; x (B, I), h (B, H) -> h' (B, H)."""
    return rnn_relu_gates(x, h, w_ih, w_hh, b_ih, b_hh)[0]


def lstm_cell(x, state, w_ih, w_hh, b_ih=None, b_hh=None):
    """One LSTM step (equations in ``LSTMCell``): x (B, I), (h, c) -> (h', c'), each (B, H)."""
    return lstm_gates(x, state, w_ih, w_hh, b_ih, b_hh)[0]


def lstm_projected_gates(x, state, w_ih, w_hh, b_ih=None, b_hh=None, w_hr=None):
    """An LSTM step whose output is projected, ``h' = W_hr (o * tanh(c'))`` (PyTorch's
    ``proj_size``), with the LSTM's gates: x (B, I), (h (B, P), c (B, H)) ->
    ((h' (B, P), c' (B, H)), {"i": i, "f": f, "g": g, "o": o})."""
    (h, c), gates = lstm_gates(x, state, w_ih, w_hh, b_ih, b_hh)
    return (linear(h, w_hr), c), gates


def lstm_projected_cell(x, state, w_ih, w_hh, b_ih=None, b_hh=None, w_hr=None):
    """An LSTM step whose output is projected, ``h' = W_hr (o * tanh(c'))`` (PyTorch's
    ``proj_size``): x (B, I), (h (B, P), c (B, H)) -> (h' (B, P), c' (B, H))."""
    return lstm_projected_gates(x, state, w_ih, w_hh, b_ih, b_hh, w_hr)[0]


def gru_cell(x, h, w_ih, w_hh, b_ih=None, b_hh=None):
    """One GRU step (equations in ``GRUCell``): x (B, I), h (B, H) -> h' (B, H)."""
    return gru_gates(x, h, w_ih, w_hh, b_ih, b_hh)[0]


# ---------------------------------------------------------------- state helpers


def map_state(fn, *states):
    """``fn`` applied leaf by leaf to states of one structure (a Tensor, or nested tuples).

    >>> h, c = engine.zeros(2, 3), engine.ones(2, 3)
    >>> map_state(lambda t: t.shape, (h, c))
    ((2, 3), (2, 3))
    """
    if isinstance(states[0], (tuple, list)):
        return tuple(map_state(fn, *leaves) for leaves in zip(*states))
    return fn(*states)


def output_of(state):
    """The output ``h`` of a state: the state itself, or the first element of a tuple."""
    return state[0] if isinstance(state, (tuple, list)) else state


def check_sizes(name, **sizes):
    """Raise, naming ``name`` and the size, unless every size is a positive int: a
    TypeError for anything but an int (a bool is not a size, nor is 2.0), a ValueError for
    one below 1 (PyTorch's types)."""
    for what, size in sizes.items():
        if isinstance(size, (bool, np.bool_)) or not isinstance(size, (int, np.integer)):
            raise TypeError(f"{name}: {what} must be a positive int; got {size!r} "
                            f"({type(size).__name__})")
        if size < 1:
            raise ValueError(f"{name}: {what} must be a positive int; got {size!r}")


def check_state_dtypes(name, state, dtype, what="the state"):
    """Raise a RuntimeError naming ``name`` and ``what`` unless every Tensor of ``state``
    (None: none) has the weights' ``dtype``: PyTorch's rule, which casts no state (so an
    int64 h0 is an error on every path, not a promotion on one and garbage on another)."""
    for leaf in () if state is None else _leaves(state):
        if leaf.dtype != dtype:
            raise RuntimeError(f"{name}: {what} must have the weights' dtype {dtype}; got "
                               f"{leaf.dtype} (convert it: .to({str(dtype)!r}))")


def _leaves(state):
    """The Tensors of a state (a Tensor, or nested tuples of them), in order."""
    if isinstance(state, (tuple, list)):
        return [leaf for part in state for leaf in _leaves(part)]
    return [state]


# ---------------------------------------------------------------- Cell


class Cell(nn.Module):
    """The cell protocol, and a base class that implements it.

    A cell is any Module with
        ``hidden_size``               H, the width of the output h
        ``zero_state(batch_size)``    the state to start from when none is given
        ``cell(x, state) -> state``   one step: ``x`` (B, I); a state is a Tensor (B, H)
                                      or a tuple of Tensors whose first element is h (B, H)
    ``rnn.unroll``, ``rnn.Bidirectional`` and the tests ask for nothing more, so a
    user's own cell works wherever a built-in one does.

    Subclassing ``Cell`` gives the protocol from two methods: ``step(x, state)``, the
    math (batched, state never None), and ``state_shapes(batch_size)``, the shape of
    each state Tensor (default: one ``(B, H)``; LSTM: two). ``forward`` then checks
    shapes, starts from zeros when ``state`` is None, and takes unbatched ``(I,)``
    input (with an unbatched state), returning an unbatched state.
    ``rnn.examples.SkipLSTMCell`` is a worked example.
    """

    def __init__(self, input_size, hidden_size):
        super().__init__()
        check_sizes(type(self).__name__, input_size=input_size, hidden_size=hidden_size)
        self.input_size = int(input_size)
        self.hidden_size = int(hidden_size)

    def state_shapes(self, batch_size):
        """Shape of each state Tensor; one shape means the state is a bare Tensor."""
        return ((batch_size, self.hidden_size),)

    def zero_state(self, batch_size):
        """Zeros of ``state_shapes(batch_size)``, dtype and device those of the parameters."""
        like = next(self.parameters(), None)
        dtype, device = (None, None) if like is None else (like.dtype, like.device)
        zeros = tuple(engine.zeros(s, dtype=dtype, device=device)
                      for s in self.state_shapes(batch_size))
        return zeros[0] if len(zeros) == 1 else zeros

    def step(self, x, state):
        raise NotImplementedError(f"{type(self).__name__} does not define step(x, state)")

    def forward(self, x, state=None):
        """One step: ``x`` (B, I) or unbatched (I,) -> the new state, batched as ``x`` is."""
        name = type(self).__name__
        if not isinstance(x, engine.Tensor) or x.ndim not in (1, 2):
            got = f"shape {x.shape}" if isinstance(x, engine.Tensor) else type(x).__name__
            raise ValueError(f"{name}: x must be (B, I) or unbatched (I,); got {got}")
        if x.shape[-1] != self.input_size:
            raise ValueError(
                f"{name}: expected x with I = {self.input_size} features; got shape {x.shape}"
            )
        unbatched = x.ndim == 1
        batch_size = 1 if unbatched else x.shape[0]
        if state is None:
            state = self.zero_state(batch_size)
        else:
            check_state(name, state, self.state_shapes(batch_size), unbatched)
            if unbatched:
                state = map_state(lambda s: s.unsqueeze(0), state)
        if unbatched:
            x = x.unsqueeze(0)  # (1, I)
        state = self.step(x, state)
        return map_state(lambda s: s.squeeze(0), state) if unbatched else state


def check_state(name, state, shapes, unbatched):
    """Raise a ValueError naming the expected and received state unless they match."""
    if unbatched:
        shapes = tuple(shape[1:] for shape in shapes)
    expected = shapes[0] if len(shapes) == 1 else shapes
    leaves = (state,) if len(shapes) == 1 else state
    if not isinstance(leaves, (tuple, list)) or len(leaves) != len(shapes) or not all(
        isinstance(t, engine.Tensor) and t.shape == s for t, s in zip(leaves, shapes)
    ):
        got = map_state(lambda t: getattr(t, "shape", type(t).__name__), state)
        raise ValueError(f"{name}: expected a state of shape {expected}; got {got}")


# ---------------------------------------------------------------- modules


def cell_parameters(gates, input_size, hidden_size, bias=True, proj_size=0, *, rng, dtype,
                    device):
    """PyTorch's parameters of a cell with ``gates`` gates (G), in PyTorch's order:

    ``weight_ih`` (G*H, I), ``weight_hh`` (G*H, H), ``bias_ih`` (G*H,), ``bias_hh`` (G*H,)
    (no biases when ``bias`` is False), all drawn from U(-1/sqrt(H), 1/sqrt(H)); with a
    projection of size P, ``weight_hh`` is (G*H, P) and ``weight_hr`` (P, H) comes last.
    """
    shapes = {"weight_ih": (gates * hidden_size, input_size),
              "weight_hh": (gates * hidden_size, proj_size or hidden_size)}
    if bias:
        shapes |= {"bias_ih": (gates * hidden_size,), "bias_hh": (gates * hidden_size,)}
    if proj_size:
        shapes["weight_hr"] = (proj_size, hidden_size)
    bound = 1 / math.sqrt(hidden_size)
    return {
        name: nn.init.uniform_(nn.Parameter(engine.zeros(shape, dtype=dtype, device=device)),
                               -bound, bound, rng=rng)
        for name, shape in shapes.items()
    }


class _TorchCell(Cell):
    """A built-in cell of one kind (``kind``, its record in CELL_KINDS): PyTorch's four
    parameters (biases None when ``bias`` is False), one step by the kind's cell function,
    as ONE autograd node (``rnn.fused.cell``) unless ``fused=False`` (the cell function's
    own graph, the reference it is tested against)."""

    def __init__(self, input_size, hidden_size, bias=True, *, fused=True, rng=None,
                 dtype=None, device=None):
        super().__init__(input_size, hidden_size)
        self.bias, self.fused = bias, bool(fused)
        self.bias_ih = self.bias_hh = None
        params = cell_parameters(self.kind.gates, input_size, hidden_size, bias,
                                 rng=nn.init.generator(rng), dtype=dtype, device=device)
        for name, parameter in params.items():
            setattr(self, name, parameter)

    def state_shapes(self, batch_size):
        return ((batch_size, self.hidden_size),) * self.kind.states

    def step(self, x, state):
        if self.fused:
            from rnn.fused.cell import fused_step  # not at the top: rnn.fused imports this

            return fused_step(self.kind, x, state, *self.weights())
        return self.kind.function(x, state, *self.weights())

    def weights(self):
        return self.weight_ih, self.weight_hh, self.bias_ih, self.bias_hh

    def extra_repr(self):
        return (f"{self.input_size}, {self.hidden_size}" + ("" if self.bias else ", bias=False")
                + ("" if self.fused else ", fused=False"))


class RNNCell(_TorchCell):
    """Elman cell: ``h' = act(W_ih x + b_ih + W_hh h + b_hh)``, act = tanh or relu.

    Shapes: x (B, I) or (I,); h (B, H) or (H,); weight_ih (H, I), weight_hh (H, H),
    bias_ih, bias_hh (H,). ``forward(x, state=None)``: the state is h; returns h'.

    >>> cell = RNNCell(3, 5, rng=np.random.default_rng(0))
    >>> h = cell(engine.zeros(2, 3))
    >>> h.shape, cell(engine.zeros(3)).shape
    ((2, 5), (5,))
    """

    def __init__(self, input_size, hidden_size, bias=True, nonlinearity="tanh", *, fused=True,
                 rng=None, dtype=None, device=None):
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(
                f"RNNCell: nonlinearity must be 'tanh' or 'relu'; got {nonlinearity!r}"
            )
        self.nonlinearity = nonlinearity  # first: it picks the kind, whose gates come next
        super().__init__(input_size, hidden_size, bias, fused=fused, rng=rng, dtype=dtype,
                         device=device)

    @property
    def kind(self):
        return CELL_KINDS["rnn_" + self.nonlinearity]

    def extra_repr(self):
        return super().extra_repr() + f", nonlinearity={self.nonlinearity!r}"


class LSTMCell(_TorchCell):
    """Long short-term memory cell, gates in the order i, f, g, o:

        i  = sigmoid(W_ii x + b_ii + W_hi h + b_hi)      input gate
        f  = sigmoid(W_if x + b_if + W_hf h + b_hf)      forget gate
        g  = tanh(W_ig x + b_ig + W_hg h + b_hg)         candidate
        o  = sigmoid(W_io x + b_io + W_ho h + b_ho)      output gate
        c' = f * c + i * g
        h' = o * tanh(c')

    Shapes: x (B, I) or (I,); h, c (B, H) or (H,); weight_ih (4H, I) = [W_ii; W_if; W_ig;
    W_io], weight_hh (4H, H), bias_ih, bias_hh (4H,). ``forward(x, state=None)``: the
    state is (h, c); returns (h', c').

    >>> cell = LSTMCell(3, 5, rng=np.random.default_rng(0))
    >>> h, c = cell(engine.zeros(2, 3))
    >>> h.shape, c.shape
    ((2, 5), (2, 5))
    """

    kind = property(lambda self: CELL_KINDS["lstm"])


class GRUCell(_TorchCell):
    """Gated recurrent unit, gates in the order r, z, n:

        r  = sigmoid(W_ir x + b_ir + W_hr h + b_hr)      reset gate
        z  = sigmoid(W_iz x + b_iz + W_hz h + b_hz)      update gate
        n  = tanh(W_in x + b_in + r * (W_hn h + b_hn))   candidate
        h' = (1 - z) * n + z * h

    Shapes: x (B, I) or (I,); h (B, H) or (H,); weight_ih (3H, I) = [W_ir; W_iz; W_in],
    weight_hh (3H, H), bias_ih, bias_hh (3H,). ``forward(x, state=None)``: the state is h;
    returns h'.

    >>> cell = GRUCell(3, 5, rng=np.random.default_rng(0))
    >>> cell(engine.zeros(2, 3), engine.zeros(2, 5)).shape
    (2, 5)
    """

    kind = property(lambda self: CELL_KINDS["gru"])


# ---------------------------------------------------------------- the kinds


class CellKind(NamedTuple):
    """What a built-in cell kind is, written once (``CELL_KINDS``):

    ``name``         "rnn_tanh", "rnn_relu", "lstm", "gru": PyTorch's mode, in lower case
    ``function``     its cell function, one step, ``f(x, state, w_ih, w_hh, b_ih, b_hh)`` ->
                     the new state: the reference every fused op is held to
    ``with_gates``   the same step returning ``(new state, {gate name: value (B, H)})``, the
                     gates after their activations, in ``gate_names`` order (``function``
                     is this one's first result: one copy of the equations)
    ``gate_names``   the named gates, in the weights' row order: "i", "f", "g", "o" (LSTM),
                     "r", "z", "n" (GRU); none for Elman, whose one block of rows is h' itself
    ``state_names``  the Tensors of a state, in order: ("h", "c") for the LSTM, else ("h",)
    ``activations``  the activation of each block of H rows of the weights, in row order
    ``module``       its Cell class (RNNCell holds both Elman kinds)

    and, from those, ``gates`` G (the blocks of H rows in weight_ih (G*H, I) and
    weight_hh (G*H, H)) and ``states`` (Tensors per state).

    >>> kind = CELL_KINDS["lstm"]
    >>> kind.gate_names, kind.state_names, kind.gates, kind.states
    (('i', 'f', 'g', 'o'), ('h', 'c'), 4, 2)
    """

    name: str
    function: object
    with_gates: object
    gate_names: tuple
    state_names: tuple
    activations: tuple
    module: type

    @property
    def gates(self):
        return len(self.activations)

    @property
    def states(self):
        return len(self.state_names)


CELL_KINDS = {kind.name: kind for kind in (
    CellKind("rnn_tanh", rnn_tanh_cell, rnn_tanh_gates, (), ("h",), ("tanh",), RNNCell),
    CellKind("rnn_relu", rnn_relu_cell, rnn_relu_gates, (), ("h",), ("relu",), RNNCell),
    CellKind("lstm", lstm_cell, lstm_gates, ("i", "f", "g", "o"), ("h", "c"),
             ("sigmoid", "sigmoid", "tanh", "sigmoid"), LSTMCell),
    CellKind("gru", gru_cell, gru_gates, ("r", "z", "n"), ("h",),
             ("sigmoid", "sigmoid", "tanh"), GRUCell),
)}


def kind_of(function):
    """The CellKind whose cell function is ``function``, or None (a user's own step).

    >>> kind_of(lstm_cell).gates, kind_of(lambda x, h: h)
    (4, None)
    """
    return next((kind for kind in CELL_KINDS.values() if kind.function is function), None)
