"""The loop over time, for any cell: unroll, detach_state for truncated BPTT, and
run_direction, the composed reference for one layer and direction of rnn.recurrent."""

import functools

import engine
from rnn.cells import check_state_dtypes, map_state, output_of
from rnn.masks import check_lengths, lengths_to_mask, reverse_padded


def unroll(cell, inputs, state=None, lengths=None, reverse=False):
    """Run ``cell`` over a sequence: ``state_t = cell(x_t, state_{t-1})``, ``y_t = h_t``.

    Shapes: ``inputs`` (T, B, I) -> ``(outputs, final_state)``, outputs (T, B, H), the h
    part of each state; ``final_state`` as the cell's state (a Tensor (B, H) or a tuple).

    ``cell`` is anything that maps ``(x (B, I), state) -> state`` (the cell protocol of
    ``rnn.Cell``); with ``state=None`` it starts from ``cell.zero_state(B)``.

    ``lengths`` (B ints, each 1..T, any order; a list, NumPy array or integer Tensor)
    marks padding: at steps ``t >= lengths[b]`` sequence b's state is kept unchanged,
    ``state_t = where(valid, new, old)``, and its output is zero, so ``final_state`` is
    each sequence's state after its own last step. Padding is selected away (the cell
    reads zeros there), never multiplied by zero, so padding of any value, NaN and inf
    included, changes no result and no gradient. ``reverse=True`` runs each sequence from
    its own last valid step back to step 0, writing outputs at their original positions:
    the valid prefix of every sequence is reversed (``rnn.masks.reverse_padded``), run
    forward, and reversed back.

    Truncated backpropagation through time: run a long sequence in chunks and carry the
    state across them with ``detach_state``, which keeps its values but cuts the graph,
    so each backward stops at the start of its chunk.

    >>> import numpy as np, rnn
    >>> cell = rnn.LSTMCell(3, 4, rng=np.random.default_rng(0))
    >>> sequence = engine.randn(6, 2, 3, rng=np.random.default_rng(1))  # (T, B, I)
    >>> chunks = engine.split(sequence, 2)  # three (2, 2, 3) chunks
    >>> state = None
    >>> for chunk in chunks:
    ...     outputs, state = unroll(cell, chunk, state)
    ...     outputs.sum().backward()          # gradients reach back to this chunk's start
    ...     state = detach_state(state)       # the values go on, the graph does not
    >>> outputs.shape, state[0].shape, state[0].requires_grad
    ((2, 2, 4), (2, 4), False)
    """
    if not isinstance(inputs, engine.Tensor) or inputs.ndim != 3 or inputs.shape[0] == 0:
        got = getattr(inputs, "shape", type(inputs).__name__)
        raise ValueError(f"unroll: inputs must be (T, B, I) with T >= 1; got {got}")
    max_len, batch_size = inputs.shape[:2]
    if lengths is not None:
        lengths = check_lengths(lengths, max_len, batch_size)
    if state is None:
        if not hasattr(cell, "zero_state"):
            raise TypeError(
                f"unroll: state=None needs cell.zero_state(batch_size), which "
                f"{type(cell).__name__} lacks; pass state"
            )
        state = cell.zero_state(batch_size)
    h = output_of(state)
    if not isinstance(h, engine.Tensor) or h.ndim != 2 or h.shape[0] != batch_size:
        got = getattr(h, "shape", type(h).__name__)
        raise ValueError(f"unroll: the state's h must be (B, H) with B = {batch_size}; got {got}")

    if reverse:
        inputs = reverse_padded(inputs, lengths)
    valid = None
    if lengths is not None and (lengths < max_len).any():
        valid = lengths_to_mask(lengths, max_len, device=inputs.device).unsqueeze(-1)  # (T, B, 1)
        # padding is selected away before any cell sees it, never multiplied by a zero: a
        # NaN or inf there would make 0 * NaN = NaN in the cell's backward
        inputs = engine.where(valid, inputs, 0.0)
    outputs = []
    # split, not inputs[t]: one node for all steps, whose backward is one concatenation
    for t, x in enumerate(engine.split(inputs, 1, axis=0)):
        new = cell(x.squeeze(0), state)
        if valid is None:
            state, output = new, output_of(new)
        else:  # past a sequence's end the old state stays and the output is zero
            keep = valid[t]  # (B, 1)
            state = map_state(functools.partial(engine.where, keep), new, state)  # new or old
            output = engine.where(keep, output_of(new), 0.0)  # (B, H)
        outputs.append(output)
    outputs = engine.stack(outputs)  # (T, B, H)
    if reverse:
        outputs = reverse_padded(outputs, lengths)
    return outputs, state


def detach_state(state):
    """The same state cut from the graph: a Tensor, or (nested) tuples of them; None stays None.

    >>> h = engine.ones(2, 3, requires_grad=True) * 2
    >>> detach_state((h, h))[0].requires_grad
    False
    """
    if state is None:
        return None
    return map_state(lambda t: t.detach(), state)


def run_direction(step, inputs, state, weights, lengths=None, reverse=False):
    """One layer in one direction over the whole sequence.

    ``step(x, state, w_ih, w_hh, b_ih, b_hh)`` is a cell function (``lstm_cell``, ...),
    ``weights`` its four parameters; ``inputs`` (T, B, I) -> ``(outputs (T, B, H),
    final_state)``, with ``lengths`` and ``reverse`` as in ``unroll``. This is the
    reference: unroll's loop calling the cell function at each step. Its fused twin,
    ``rnn.fused.run_direction``, takes the same arguments.
    """
    check_state_dtypes("run_direction", state, weights[1].dtype)
    return unroll(lambda x, s: step(x, s, *weights), inputs, state, lengths, reverse)


def run_layer(step, inputs, states, weights, lengths=None):
    """One layer over the whole sequence in each of its directions: ``states`` and
    ``weights`` one per direction, forward then reverse (``run_direction``'s). Returns
    ``(outputs, finals)``, one per direction each. The layers' fused path swaps in
    ``rnn.fused.run_layer``, which takes the same arguments.
    """
    results = [run_direction(step, inputs, state, w, lengths, reverse=direction == 1)
               for direction, (state, w) in enumerate(zip(states, weights))]
    return [r[0] for r in results], [r[1] for r in results]
