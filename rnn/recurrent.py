"""Sequence layers RNN, LSTM, GRU: stacked, bidirectional, PyTorch's names and shapes.

Contents: RNNBase (parameters, checks, the loop over layers and directions), RNN, LSTM,
GRU. Each layer runs through ``rnn.fused.run_layer`` (``fused=True``) or the composed
``rnn.unroll.run_layer`` (``fused=False``), each direction through its ``run_direction``.

A layer owns its parameters flat, under PyTorch's names (``weight_ih_l0``,
``weight_hh_l0``, ``bias_ih_l0``, ``bias_hh_l0``, ``weight_ih_l0_reverse``, ...; for
each layer, for each direction), so ``load_state_dict`` takes a PyTorch state dict
converted to NumPy. The composed path calls the cell functions of ``rnn.cells`` at
each step, the same math as the cells; the fused ops restate it by hand for speed, and
the tests hold the two together.
"""


import engine
import nn
import nn.functional
from rnn.cells import (
    CELL_KINDS,
    cell_parameters,
    check_sizes,
    check_state_dtypes,
    lstm_projected_cell,
    map_state,
)
from rnn.fused import run_layer as fused_run_layer
from rnn.masks import check_lengths
from rnn.packing import PackedSequence, pack_like, pad_packed_sequence
from rnn.unroll import run_layer

_PARAMETER_NAMES = ("weight_ih", "weight_hh", "bias_ih", "bias_hh", "weight_hr")


class RNNBase(nn.Module):
    """What RNN, LSTM and GRU share: parameters, checks, the loop over layers and directions.

    Shapes (letters as in ``rnn``; D = 2 if bidirectional else 1):
        x        (T, B, I), or (B, T, I) with ``batch_first``, or unbatched (T, I)
        output   (T, B, D*H), or (B, T, D*H) with ``batch_first``, or unbatched (T, D*H):
                 the last layer's h at every step, forward and reverse concatenated
        hx, h_n  (D*num_layers, B, H), or (D*num_layers, H) unbatched (LSTM: a tuple of
                 two, h and c), index layer*D + direction: layer-major, forward first

    ``batch_first`` CHANGES x AND output ONLY: hx and h_n are NEVER batch-first, as in
    PyTorch.

    ``forward(x, hx=None, lengths=None)`` -> ``(output, h_n)``. ``hx`` None starts from
    zeros. ``lengths`` (B ints, each 1..T) marks padding as PyTorch's
    ``pack_padded_sequence(..., enforce_sorted=False)`` does: outputs are zero past a
    sequence's end, h_n holds each sequence's state at its own last step, and the
    reverse direction starts there. ``dropout`` acts on the outputs of every layer but
    the last, in training mode only, drawing from the layer's generator ``rng``, which
    first draws the weights, all from U(-1/sqrt(H), 1/sqrt(H)).

    Parameters, in this order, for each layer k, forward then reverse:
    ``weight_ih_l{k}`` (G*H, I for k = 0, else D*H), ``weight_hh_l{k}`` (G*H, H),
    ``bias_ih_l{k}`` (G*H,), ``bias_hh_l{k}`` (G*H,), reverse ones ending in ``_reverse``.
    An LSTM with ``proj_size`` P > 0 projects h: ``h_t = W_hr (o_t * tanh(c_t))``, with
    ``weight_hr_l{k}`` (P, H) last, ``weight_hh_l{k}`` (4H, P), h and outputs of width P
    (the next layer's input D*P), c of width H; it runs the composed cells.

    ``x`` may also be a ``PackedSequence`` (PyTorch's ``pack_padded_sequence``): it is
    unpacked to a padded batch and ``lengths``, run, and the output packed again.

    ``fused=True`` (the default) runs each layer and direction as ONE autograd node
    (``rnn.fused``: input projection hoisted, hand-written BPTT); ``fused=False`` runs
    the composed reference (``rnn.unroll`` over the cell functions), the readable
    spec the fused path is tested against. Both give the same numbers up to rounding;
    ``rnn.fused.check_fused(layer)`` says by how much.
    """

    def __init__(self, mode, input_size, hidden_size, num_layers=1, bias=True,
                 batch_first=False, dropout=0.0, bidirectional=False, proj_size=0, *,
                 fused=True, rng=None, dtype=None, device=None):
        super().__init__()
        name = type(self).__name__
        check_sizes(name, input_size=input_size, hidden_size=hidden_size, num_layers=num_layers)
        if not 0 <= dropout < 1:
            raise ValueError(f"{name}: dropout must be in [0, 1); got {dropout!r}")
        _check_proj_size(mode, proj_size, hidden_size)
        self.mode, self.proj_size = mode, int(proj_size)  # PyTorch's mode: "LSTM", "GRU", ...
        self.cell_function = lstm_projected_cell if self.proj_size else self.kind.function
        self.input_size, self.hidden_size = int(input_size), int(hidden_size)
        self.num_layers = int(num_layers)
        self.bias, self.batch_first = bias, batch_first
        self.dropout, self.bidirectional = float(dropout), bidirectional
        self.num_directions = 2 if bidirectional else 1
        self.fused = bool(fused)
        self.rng = nn.init.generator(rng)  # draws the weights, then the dropout masks
        output_size = self.proj_size or hidden_size  # the width of h
        for layer in range(num_layers):
            layer_input = input_size if layer == 0 else output_size * self.num_directions
            for direction in range(self.num_directions):
                params = cell_parameters(self.kind.gates, layer_input, hidden_size, bias,
                                         self.proj_size, rng=self.rng, dtype=dtype,
                                         device=device)
                for param_name, parameter in params.items():
                    setattr(self, param_name + _suffix(layer, direction), parameter)

    @property
    def kind(self):
        """The record of this layer's cell kind (``rnn.cells.CELL_KINDS``)."""
        return CELL_KINDS[self.mode.lower()]

    @property
    def state_count(self):
        """Tensors per state: 2 for the LSTM's (h, c), else 1."""
        return self.kind.states

    @property
    def state_widths(self):
        """The width of each Tensor of a state: (H,), or the LSTM's (P or H, H) for (h, c)."""
        return (self.proj_size or self.hidden_size, self.hidden_size)[:self.state_count]

    def flatten_parameters(self):
        """Does nothing: PyTorch needs it to lay weights out for cuDNN; here each layer's
        weights are used where they are."""

    def weights(self, layer, direction):
        """(w_ih, w_hh, b_ih, b_hh) of one layer and direction (biases None without bias),
        and w_hr after them for an LSTM with a projection."""
        suffix = _suffix(layer, direction)
        names = _PARAMETER_NAMES if self.proj_size else _PARAMETER_NAMES[:4]
        return tuple(getattr(self, name + suffix, None) for name in names)

    def forward(self, x, hx=None, lengths=None):
        """``(output, h_n)`` (LSTM: ``(output, (h_n, c_n))``); shapes in the class docstring.

        ``x`` may be a ``PackedSequence`` (``rnn.packing``, PyTorch's): the output is then
        one too, packed as ``x`` is, and h_n is in the original batch order.
        """
        if isinstance(x, PackedSequence):
            if lengths is not None:
                raise ValueError(f"{type(self).__name__}: a PackedSequence carries its lengths; "
                                 "do not pass lengths= too")
            padded, lengths = pad_packed_sequence(x)  # (T, B, I), in the original batch order
            output, h_n = self._run(padded, hx, lengths, time_major=True)
            return pack_like(output, x), h_n
        return self._run(x, hx, lengths, time_major=False)

    def _run(self, x, hx, lengths, time_major):
        x, states, lengths, unbatched = self._prepare(x, hx, lengths, time_major)
        directions = self.num_directions
        # the fused ops have no projection: an LSTM with one runs the composed cells
        run = fused_run_layer if self.fused and not self.proj_size else run_layer
        finals = []
        for layer in range(self.num_layers):
            outputs, layer_finals = run(
                self.cell_function, x, states[layer * directions:(layer + 1) * directions],
                [self.weights(layer, direction) for direction in range(directions)], lengths)
            finals += layer_finals
            x = self._next_input(outputs, layer)  # (T, B, DH)
        h_n = map_state(lambda *parts: engine.stack(parts), *finals)  # (D * num_layers, B, H)
        if unbatched:
            return x.squeeze(1), map_state(lambda t: t.squeeze(1), h_n)
        if self.batch_first and not time_major:
            x = x.swapaxes(0, 1)  # (B, T, DH)
        return x, h_n

    def _next_input(self, outputs, layer):
        """The input of the layer after ``layer``: its directions' outputs side by side
        (T, B, D*H), with the dropout between layers in training (the last layer's: none)."""
        x = outputs[0] if len(outputs) == 1 else engine.concatenate(outputs, axis=-1)
        if self.training and self.dropout > 0 and layer < self.num_layers - 1:
            x = nn.functional.dropout(x, self.dropout, training=True, rng=self.rng)
        return x

    def _prepare(self, x, hx, lengths, time_major):
        """Check everything, then return time-major batched x, the state of each layer and
        direction, lengths as an array (or None) and whether the input was unbatched."""
        name = type(self).__name__
        batch_first = self.batch_first and not time_major
        expected = ("(B, T, I={})" if batch_first else "(T, B, I={})").format(self.input_size)
        if not isinstance(x, engine.Tensor) or x.ndim not in (2, 3):
            got = f"shape {x.shape}" if isinstance(x, engine.Tensor) else type(x).__name__
            raise ValueError(f"{name}: input must be {expected} or unbatched (T, I); got {got}")
        if x.shape[-1] != self.input_size:
            raise ValueError(
                f"{name}: input must be {expected} or unbatched (T, I); got shape {x.shape} "
                f"with I={x.shape[-1]}"
            )
        weight = self.weight_ih_l0
        if x.dtype != weight.dtype:  # PyTorch's check and words
            raise ValueError(
                f"{name}: input dtype ({x.dtype}) does not match weight dtype ({weight.dtype}). "
                f"Convert input: input.to({str(weight.dtype)!r}), or convert model: "
                f"model.to({str(x.dtype)!r})")
        if x.shape[0 if x.ndim == 2 or not batch_first else 1] == 0:
            raise RuntimeError(f"{name}: expected sequence length to be larger than 0 in RNN; "
                               f"got input of shape {x.shape}")
        unbatched = x.ndim == 2
        if unbatched:
            x = x.unsqueeze(1)  # (T, 1, I)
        elif batch_first:
            x = x.swapaxes(0, 1)  # (T, B, I)
        max_len, batch_size = x.shape[:2]
        if lengths is not None:
            lengths = check_lengths(lengths, max_len, batch_size)

        layers_directions = self.num_layers * self.num_directions
        widths = self.state_widths
        shapes = [(layers_directions, *(() if unbatched else (batch_size,)), width)
                  for width in widths]  # h (D*L, B, H or proj_size), c (D*L, B, H)
        if hx is None:  # zeros for each layer and direction, made apart (no indexing)
            zeros = [tuple(engine.zeros((batch_size, width), dtype=weight.dtype,
                                        device=weight.device) for width in widths)
                     for _ in range(layers_directions)]
            return x, [z[0] if len(z) == 1 else z for z in zeros], lengths, unbatched
        parts = (hx,) if self.state_count == 1 else hx
        if not isinstance(parts, (tuple, list)) or len(parts) != self.state_count or not all(
            isinstance(t, engine.Tensor) and t.shape == shape
            for t, shape in zip(parts, shapes)
        ):
            want = shapes[0] if self.state_count == 1 else "a tuple (h_0, c_0) of " + (
                " and ".join(str(shape) for shape in dict.fromkeys(shapes)))
            letters = "(D*num_layers, H)" if unbatched else "(D*num_layers, B, H)"
            raise ValueError(
                f"{name}: hx must be {want} {letters}, never batch-first; got "
                f"{map_state(lambda t: getattr(t, 'shape', type(t).__name__), hx)}"
            )
        check_state_dtypes(name, hx, weight.dtype, "hx")
        hx = tuple(parts) if self.state_count > 1 else hx  # PyTorch takes [h, c] too
        if unbatched:
            hx = map_state(lambda t: t.unsqueeze(1), hx)
        states = [map_state(lambda t, k=k: t[k], hx) for k in range(layers_directions)]
        return x, states, lengths, unbatched

    def extra_repr(self):
        settings = f"{self.input_size}, {self.hidden_size}"
        for option, default in (("num_layers", 1), ("bias", True), ("batch_first", False),
                                ("dropout", 0.0), ("bidirectional", False), ("proj_size", 0),
                                ("fused", True)):
            if getattr(self, option) != default:
                settings += f", {option}={getattr(self, option)}"
        return settings + (", nonlinearity='relu'" if self.mode == "RNN_RELU" else "")


def _suffix(layer, direction):
    return f"_l{layer}" + ("_reverse" if direction == 1 else "")


def _check_proj_size(mode, proj_size, hidden_size):
    """PyTorch's rules for ``proj_size``: an int in [0, hidden_size), for LSTMs only."""
    if isinstance(proj_size, bool) or not isinstance(proj_size, int) or proj_size < 0:
        raise ValueError("proj_size should be a positive integer or zero to disable "
                         f"projections; got {proj_size!r}")
    if proj_size and mode != "LSTM":
        raise ValueError("proj_size argument is only supported for LSTM, not RNN or GRU")
    if proj_size >= hidden_size:
        raise ValueError(f"proj_size has to be smaller than hidden_size; got proj_size "
                         f"{proj_size} and hidden_size {hidden_size}")


class RNN(RNNBase):
    """Elman RNN: ``h_t = act(W_ih x_t + b_ih + W_hh h_{t-1} + b_hh)``, act tanh or relu.

    x (T, B, I) -> output (T, B, D*H), h_n (D*num_layers, B, H); ``batch_first`` makes x
    and output (B, T, ...) but NOT hx and h_n. Everything else: ``RNNBase``.

    >>> import numpy as np
    >>> layer = RNN(3, 4, num_layers=2, rng=np.random.default_rng(0))
    >>> output, h_n = layer(engine.zeros(5, 2, 3))
    >>> output.shape, h_n.shape
    ((5, 2, 4), (2, 2, 4))
    """

    def __init__(self, input_size, hidden_size, num_layers=1, nonlinearity="tanh", bias=True,
                 batch_first=False, dropout=0.0, bidirectional=False, *, fused=True, rng=None,
                 dtype=None, device=None):
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"RNN: nonlinearity must be 'tanh' or 'relu'; got {nonlinearity!r}")
        super().__init__("RNN_" + nonlinearity.upper(), input_size, hidden_size, num_layers,
                         bias, batch_first, dropout, bidirectional, fused=fused, rng=rng,
                         dtype=dtype, device=device)
        self.nonlinearity = nonlinearity


class LSTM(RNNBase):
    """LSTM layers: ``LSTMCell``'s equations (gates i, f, g, o) at every step and layer.

    x (T, B, I) -> output (T, B, D*H), (h_n, c_n) each (D*num_layers, B, H); hx is
    (h_0, c_0) of the same shapes. ``batch_first`` makes x and output (B, T, ...) but NOT
    hx, h_n and c_n. Everything else: ``RNNBase``.

    >>> import numpy as np
    >>> layer = LSTM(3, 4, bidirectional=True, batch_first=True, rng=np.random.default_rng(0))
    >>> output, (h_n, c_n) = layer(engine.zeros(2, 5, 3), lengths=[5, 3])
    >>> output.shape, h_n.shape, c_n.shape
    ((2, 5, 8), (2, 2, 4), (2, 2, 4))
    """

    def __init__(self, input_size, hidden_size, num_layers=1, bias=True, batch_first=False,
                 dropout=0.0, bidirectional=False, proj_size=0, *, fused=True, rng=None,
                 dtype=None, device=None):
        super().__init__("LSTM", input_size, hidden_size, num_layers, bias, batch_first,
                         dropout, bidirectional, proj_size, fused=fused, rng=rng, dtype=dtype,
                         device=device)


class GRU(RNNBase):
    """GRU layers: ``GRUCell``'s equations (gates r, z, n) at every step and layer.

    x (T, B, I) -> output (T, B, D*H), h_n (D*num_layers, B, H); ``batch_first`` makes x
    and output (B, T, ...) but NOT hx and h_n. Everything else: ``RNNBase``.

    >>> import numpy as np
    >>> layer = GRU(3, 4, num_layers=2, dropout=0.5, rng=np.random.default_rng(0))
    >>> output, h_n = layer(engine.zeros(5, 2, 3))
    >>> output.shape, h_n.shape
    ((5, 2, 4), (2, 2, 4))
    """

    def __init__(self, input_size, hidden_size, num_layers=1, bias=True, batch_first=False,
                 dropout=0.0, bidirectional=False, *, fused=True, rng=None, dtype=None,
                 device=None):
        super().__init__("GRU", input_size, hidden_size, num_layers, bias, batch_first,
                         dropout, bidirectional, fused=fused, rng=rng, dtype=dtype,
                         device=device)
