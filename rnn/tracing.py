"""Looking inside a recurrent network: its gates and states at every step, and how much
gradient reaches each step's state.

    trace(module, x, lengths=None)                       every step's gates, h_t and c_t
    state_gradients(module, x, loss_fn, lengths=None)    ||dL/dh_t|| (and ||dL/dc_t||), t = 1..T

Both run the module's own cell function step by step through ``rnn.unroll``: a built-in
kind's ``with_gates`` (``rnn.cells.CELL_KINDS``: the cell function and its gates from one
copy of the equations), a user's cell's own ``with_gates(x, state)`` if it has one, else
the cell itself (its states, without gates). A fused layer's weights run the same way:
the fused op keeps no per-step tensors to look at, and its numbers equal the composed
path's up to rounding.

A user's cell shows its gates by defining, beside its step,
``with_gates(x, state) -> (new state, {gate name: Tensor (B, H)})`` (and, optionally,
``state_names``, the names of its state's Tensors, h first).
"""

import numpy as np

import engine
from rnn.bidirectional import Bidirectional
from rnn.cells import CellKind, lstm_projected_gates, map_state
from rnn.masks import check_lengths, lengths_to_mask, reversed_steps
from rnn.packing import PackedSequence, pad_packed_sequence
from rnn.recurrent import RNNBase
from rnn.unroll import unroll

# ---------------------------------------------------------------- steps and their names


def _parts(state):
    """The Tensors of a state, in order: (h,) or (h, c) or a user's tuple."""
    return tuple(state) if isinstance(state, (tuple, list)) else (state,)


def _state_names(count, names=None):
    """Names of a state's Tensors: ``names`` if given, else h, then c for a pair, else
    state_1, state_2, ..."""
    if names is not None:
        return tuple(names)
    if count <= 2:
        return ("h", "c")[:count]
    return ("h", *(f"state_{k}" for k in range(1, count)))


def _cell_steps(cell):
    """(with_gates(x, state) -> (state, gates), state names or None) of a cell."""
    kind = getattr(cell, "kind", None)
    if isinstance(kind, CellKind) and hasattr(cell, "weights"):  # a built-in cell
        return (lambda x, state: kind.with_gates(x, state, *cell.weights())), kind.state_names
    names = getattr(cell, "state_names", None)
    if hasattr(cell, "with_gates"):  # a user's cell that names its gates
        return cell.with_gates, names
    return (lambda x, state: (cell(x, state), {})), names


def _layer_steps(layer, layer_index, direction):
    """(with_gates, state names) of one layer and direction of an RNN/LSTM/GRU."""
    kind, weights = layer.kind, layer.weights(layer_index, direction)
    # with a projection, weights ends in w_hr: h' = W_hr (o * tanh(c')), the LSTM's gates
    with_gates = lstm_projected_gates if layer.proj_size else kind.with_gates
    return (lambda x, state: with_gates(x, state, *weights)), kind.state_names


def _check_sequence(name, x, input_size=None):
    if not isinstance(x, engine.Tensor) or x.ndim != 3:
        got = f"shape {x.shape}" if isinstance(x, engine.Tensor) else type(x).__name__
        raise ValueError(f"{name}: x must be (T, B, I); got {got}")
    if input_size is not None and x.shape[-1] != input_size:
        raise ValueError(f"{name}: expected x with I = {input_size} features; got shape "
                         f"{x.shape}")


# ---------------------------------------------------------------- trace


def _run_traced(with_gates, names, inputs, state, lengths, reverse=False):
    """Unroll one direction, keeping every step's gates and states: ``(outputs, {name:
    array (T, B, H)})`` with each step at its own time position (a reverse run's put
    back) and NaN at the padded steps."""
    records = []

    def step(x_t, state):
        new, gates = with_gates(x_t, state)
        parts = _parts(new)
        records.append({**gates, **dict(zip(_state_names(len(parts), names), parts))})
        return new

    outputs, _ = unroll(step, inputs, state, lengths, reverse)
    max_len, batch_size = inputs.shape[:2]
    full = np.full(batch_size, max_len) if lengths is None else lengths
    valid = lengths_to_mask(full, max_len).numpy()[..., None]  # (T, B, 1)
    traced = {}
    for name in records[0]:
        values = np.stack([record[name].numpy() for record in records])  # (T, B, H)
        if reverse:  # slot k of sequence b read step reversed_steps[k, b], and back
            values = values[reversed_steps(full, max_len), np.arange(batch_size)[None, :]]
        traced[name] = np.where(valid, values, np.nan)
    return outputs, traced


def _stack(grid):
    """{name: (L, D, T, B, H)} from a list (layers) of lists (directions) of traces."""
    return {name: np.stack([np.stack([traced[name] for traced in row]) for row in grid])
            for name in grid[0][0]}


def _trace_layer(layer, x, lengths):
    time_major = isinstance(x, PackedSequence)
    if time_major:
        if lengths is not None:
            raise ValueError("trace: a PackedSequence carries its lengths; do not pass "
                             "lengths= too")
        x, lengths = pad_packed_sequence(x)
    x, states, lengths, unbatched = layer._prepare(x, None, lengths, time_major)
    directions, grid = layer.num_directions, []
    for index in range(layer.num_layers):
        outputs, row = [], []
        for direction in range(directions):
            with_gates, names = _layer_steps(layer, index, direction)
            out, traced = _run_traced(with_gates, names, x, states[index * directions + direction],
                                      lengths, reverse=direction == 1)
            outputs.append(out)
            row.append(traced)
        grid.append(row)
        x = layer._next_input(outputs, index)  # (T, B, DH), dropout as forward draws it
    traced = _stack(grid)
    return {k: v[:, :, :, 0] for k, v in traced.items()} if unbatched else traced


def _trace_bidirectional(module, x, lengths):
    cells = (module.forward_module, module.backward_module)
    if not all(hasattr(cell, "zero_state") for cell in cells):
        raise TypeError("trace: a Bidirectional of layers: trace each layer itself; trace "
                        "takes a Bidirectional of cells")
    _check_sequence("trace", x)
    if lengths is not None:
        lengths = check_lengths(lengths, *x.shape[:2])
    row = []
    for direction, cell in enumerate(cells):
        with_gates, names = _cell_steps(cell)
        row.append(_run_traced(with_gates, names, x, cell.zero_state(x.shape[1]), lengths,
                               reverse=direction == 1)[1])
    if list(row[0]) != list(row[1]):
        raise ValueError(f"trace: the two directions trace different names, {list(row[0])} "
                         f"and {list(row[1])}; trace each cell with rnn.trace(cell, x)")
    return _stack([row])


def trace(module, x, lengths=None):
    """Every step's gates and states: ``{name: NumPy array}``, gates first (LSTM ``"i",
    "f", "g", "o"``; GRU ``"r", "z", "n"``; none for an Elman RNN) after their activations,
    then the states (``"h"``, and ``"c"`` for an LSTM), each step's new state.

    Shapes: for a cell (any cell of ``rnn.Cell``'s protocol), unrolled from its zero state
    over ``x`` (T, B, I), each array is (T, B, H); for a layer ``rnn.RNN``/``LSTM``/``GRU``
    (stacked, bidirectional, ``batch_first``, ``proj_size``, a ``PackedSequence``: what
    ``layer(x)`` takes), run from zeros, and for an ``rnn.Bidirectional`` of two cells,
    each is (num_layers, D, T, B, H), D = 2 if bidirectional, time-major always, the
    reverse direction's steps at their own time positions (the step that read x_t at t).
    ``h`` of the last layer is the layer's ``output`` at the valid steps.

    Padding: with ``lengths`` (B ints, each 1..T) the padded steps (``t >= lengths[b]``)
    are NaN, in every entry: the cell makes no step of that sequence there. NaN is the
    mark (``np.isnan``; ``np.nanmean`` and matplotlib skip it); the mask itself is
    ``rnn.lengths_to_mask(lengths, T)``.

    Built-in cells and layers run their kind's ``with_gates``, the same equations as their
    cell functions, so the values are theirs (bit for bit with ``fused=False``); a user's
    cell shows its gates by defining ``with_gates(x, state) -> (state, {name: (B, H)})``,
    and without it its states alone are traced. A layer in training mode draws its dropout
    between layers as ``forward`` does. Runs under ``no_grad``.

    >>> import numpy as np, rnn
    >>> layer = rnn.LSTM(2, 3, bidirectional=True, rng=np.random.default_rng(0))
    >>> traced = trace(layer, engine.zeros(4, 2, 2), lengths=[4, 2])
    >>> list(traced), traced["f"].shape, bool(np.isnan(traced["h"][0, 1, 2:, 1]).all())
    (['i', 'f', 'g', 'o', 'h', 'c'], (1, 2, 4, 2, 3), True)
    """
    with engine.no_grad():
        if isinstance(module, RNNBase):
            return _trace_layer(module, x, lengths)
        if isinstance(module, Bidirectional):
            return _trace_bidirectional(module, x, lengths)
        if not hasattr(module, "zero_state"):
            raise TypeError(f"trace: module must be a cell (rnn.Cell's protocol: zero_state and "
                            f"cell(x, state)), an rnn.RNN, LSTM or GRU, or an rnn.Bidirectional "
                            f"of cells; got {type(module).__name__}")
        _check_sequence("trace", x, getattr(module, "input_size", None))
        if lengths is not None:
            lengths = check_lengths(lengths, *x.shape[:2])
        with_gates, names = _cell_steps(module)
        return _run_traced(with_gates, names, x, module.zero_state(x.shape[1]), lengths)[1]


# ---------------------------------------------------------------- state_gradients


def _one_direction(name, module):
    """(step, zero state of batch B, state names or None) of a cell, or of a one-layer,
    one-direction layer."""
    if isinstance(module, RNNBase):
        if module.num_layers != 1 or module.bidirectional:
            raise ValueError(f"{name}: needs a cell or a one-layer, one-direction layer; got "
                             f"num_layers={module.num_layers}, "
                             f"bidirectional={module.bidirectional}")
        weights = module.weights(0, 0)
        like = weights[0]

        def zero_state(batch_size):
            zeros = tuple(engine.zeros(batch_size, width, dtype=like.dtype, device=like.device)
                          for width in module.state_widths)
            return zeros[0] if len(zeros) == 1 else zeros

        step = lambda x, state: module.cell_function(x, state, *weights)  # noqa: E731
        return step, zero_state, module.kind.state_names
    if not hasattr(module, "zero_state"):
        raise TypeError(f"{name}: module must be a cell (rnn.Cell's protocol: zero_state and "
                        f"cell(x, state)) or an rnn.RNN, LSTM or GRU; got "
                        f"{type(module).__name__}")
    return module, module.zero_state, _cell_steps(module)[1]


def state_gradients(module, x, loss_fn, lengths=None):
    """How much gradient reaches each step's state: ``{"h": ||dL/dh_t||}`` for t = 1..T
    (and ``"c": ||dL/dc_t||`` for an LSTM), each a float64 NumPy array of shape (T,).

    ``module`` is a cell (any cell of ``rnn.Cell``'s protocol, a user's own included),
    unrolled from its zero state, or a one-layer, one-direction ``rnn.RNN``/``LSTM``/``GRU``,
    run from zeros by its own cell function (``fused`` or not: the same math). ``x`` is
    (T, B, I) ((B, T, I) for a ``batch_first`` layer); ``loss_fn(outputs)`` takes the
    output sequence, (T, B, H) as ``rnn.unroll`` gives it, and returns a scalar Tensor L.
    ``h_t`` is the state step t makes (``c_t`` its cell state, whose gradient counts the
    path through this step's ``h_t = o_t * tanh(c_t)`` too), ``||.||`` the norm over the
    whole batch (B, H); for a loss read at step T, ``norms[0] / norms[-1]`` is the share of
    the gradient that survives T - 1 steps back (docs/gradients.md). With ``lengths``, a
    step past a sequence's end makes no state of that sequence: its rows add nothing there.

    The gradients come from ``engine.grad``: no ``.grad`` of the module's parameters or of
    ``x`` is touched.

    >>> import numpy as np, rnn
    >>> cell = rnn.GRUCell(2, 3, rng=np.random.default_rng(0))
    >>> x = engine.randn(6, 4, 2, rng=np.random.default_rng(1))
    >>> norms = state_gradients(cell, x, lambda outputs: outputs[-1].sum())
    >>> norms["h"].shape, bool(norms["h"][0] < norms["h"][-1])
    ((6,), True)
    """
    step, zero_state, names = _one_direction("state_gradients", module)
    inputs = x.swapaxes(0, 1) if getattr(module, "batch_first", False) else x
    _check_sequence("state_gradients", inputs)
    made = []  # the state each step makes, in order

    def recording(x_t, state):
        new = step(x_t, state)
        made.append(_parts(new))
        return new

    with engine.enable_grad():
        # a start that needs a gradient makes every state need one, frozen weights or not
        start = map_state(lambda t: t.detach().requires_grad_(), zero_state(inputs.shape[1]))
        outputs, _ = unroll(recording, inputs, start, lengths)
        loss = loss_fn(outputs)
        if not isinstance(loss, engine.Tensor) or loss.numel() != 1:
            got = getattr(loss, "shape", type(loss).__name__)
            raise ValueError(f"state_gradients: loss_fn must return a scalar Tensor; got {got}")
        leaves = [part for parts in made for part in parts]
        grads = engine.grad(loss.reshape(()), leaves, allow_unused=True)
    count = len(made[0])
    norms = np.array([0.0 if g is None else float(np.linalg.norm(g.numpy().astype(np.float64)))
                      for g in grads]).reshape(len(made), count)  # (T, parts)
    return {name: norms[:, k] for k, name in enumerate(_state_names(count, names))}
