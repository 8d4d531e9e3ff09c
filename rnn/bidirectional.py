"""Bidirectional: one network reads a sequence forwards, another backwards; outputs merged."""

import engine
import nn
from rnn.cells import check_state
from rnn.masks import check_lengths, reverse_padded
from rnn.unroll import unroll


class Bidirectional(nn.Module):
    """Run ``forward_module`` over each sequence and ``backward_module`` over it reversed.

        y_t = merge(f_t, b_t)    f = forward over x_0 .. x_{L-1},  b = forward over x_{L-1} .. x_0
                                 (L = lengths[b], the sequence's own length), b_t put back at t
        merge = concatenate (``"concat"``) or add (``"sum"``)

    Each module is either a cell (the cell protocol of ``rnn.Cell``: anything with
    ``zero_state``), run by ``rnn.unroll``, or a time-major sequence layer called as
    ``layer(x, state, lengths=lengths) -> (outputs, final_state)``, such as ``rnn.GRU``
    (``batch_first=False``). The backward direction of a padded sequence starts at its own
    last valid step: its valid prefix is reversed (``rnn.masks.reverse_padded``), run and
    reversed back, the same code as ``unroll(reverse=True)`` and the layers'
    ``bidirectional=True`` with ``fused=False`` (the fused layers reorder inside the op, by
    the same ``rnn.masks.reversed_steps``).

    Shapes: x (T, B, I); state None or a pair (forward state, backward state) ->
    ``(outputs, (forward final state, backward final state))``, outputs (T, B, H_f + H_b)
    with "concat" or (T, B, H) with "sum"; padded steps output zeros.

    >>> import numpy as np, rnn
    >>> rng = np.random.default_rng(0)
    >>> layer = Bidirectional(rnn.GRUCell(3, 4, rng=rng), rnn.GRUCell(3, 4, rng=rng))
    >>> outputs, (h_forward, h_backward) = layer(engine.zeros(5, 2, 3), lengths=[5, 2])
    >>> outputs.shape, h_backward.shape
    ((5, 2, 8), (2, 4))
    """

    def __init__(self, forward_module, backward_module, merge="concat"):
        super().__init__()
        if merge not in ("concat", "sum"):
            raise ValueError(f"Bidirectional: merge must be 'concat' or 'sum'; got {merge!r}")
        for which, module in (("forward", forward_module), ("backward", backward_module)):
            if getattr(module, "batch_first", False):
                raise ValueError(
                    f"Bidirectional: the {which} module is batch_first; it must be time-major "
                    "(batch_first=False), as Bidirectional's input (T, B, I) is"
                )
        widths = _width(forward_module), _width(backward_module)
        if merge == "sum" and None not in widths and widths[0] != widths[1]:
            raise ValueError(
                f"Bidirectional: merge='sum' needs outputs of one width; got {widths[0]} "
                f"(forward) and {widths[1]} (backward)"
            )
        self.forward_module = forward_module
        self.backward_module = backward_module
        self.merge = merge

    def forward(self, x, state=None, lengths=None):
        if not isinstance(x, engine.Tensor) or x.ndim != 3:
            got = f"shape {x.shape}" if isinstance(x, engine.Tensor) else type(x).__name__
            raise ValueError(f"Bidirectional: x must be (T, B, I); got {got}")
        max_len, batch_size = x.shape[:2]
        if lengths is not None:
            lengths = check_lengths(lengths, max_len, batch_size)
        if state is not None and (not isinstance(state, (tuple, list)) or len(state) != 2):
            raise ValueError(
                "Bidirectional: state must be None or a pair (forward state, backward state); "
                f"got {type(state).__name__}"
                + (f" of length {len(state)}" if isinstance(state, (tuple, list)) else "")
            )
        states = (None, None) if state is None else tuple(state)
        modules = (self.forward_module, self.backward_module)
        for module, module_state in zip(modules, states):  # check all before running any
            input_size = getattr(module, "input_size", x.shape[-1])
            if x.shape[-1] != input_size:
                raise ValueError(
                    f"Bidirectional: {type(module).__name__} expects I = {input_size} "
                    f"features; got x of shape {x.shape}"
                )
            if _is_cell(module) and module_state is not None:
                check_state(f"Bidirectional ({type(module).__name__})", module_state,
                             module.state_shapes(batch_size), unbatched=False)
        forward_out, forward_final = _run(modules[0], x, states[0], lengths, reverse=False)
        backward_out, backward_final = _run(modules[1], x, states[1], lengths, reverse=True)
        if self.merge == "concat":
            outputs = engine.concatenate([forward_out, backward_out], axis=-1)  # (T, B, Hf + Hb)
        else:
            outputs = forward_out + backward_out  # (T, B, H)
        return outputs, (forward_final, backward_final)

    def extra_repr(self):
        return f"merge={self.merge!r}"


def _is_cell(module):
    """True for a cell (``rnn.Cell``'s protocol: it has ``zero_state``), False for a layer."""
    return hasattr(module, "zero_state")


def _run(module, x, state, lengths, reverse):
    """(outputs, final state) of a cell or a layer over x, backwards in time if ``reverse``."""
    if _is_cell(module):
        return unroll(module, x, state, lengths, reverse)
    if reverse:
        x = reverse_padded(x, lengths)
    outputs, final = module(x, state, lengths=lengths)
    return (reverse_padded(outputs, lengths) if reverse else outputs), final


def _width(module):
    """The output width of a cell or layer, when it says (H, times 2 if bidirectional)."""
    hidden_size = getattr(module, "hidden_size", None)
    return None if hidden_size is None else hidden_size * getattr(module, "num_directions", 1)
