"""rnn: recurrent networks on engine and nn.

Conventions, declared once for the whole package:

    B  batch size                   T  time steps (sequence length)
    I  input features               H  hidden size (state width)
    G  gates per cell (RNN 1, GRU 3, LSTM 4)
    D  directions (2 if bidirectional else 1)

    Sequences are time-major, (T, B, I), unless a layer says ``batch_first``.
    A state is a Tensor (B, H), or a tuple of them whose first element is the
    output h (LSTM: (h, c)); layer states are (D * num_layers, B, H).
    Weights are PyTorch's: weight_ih (G*H, I), weight_hh (G*H, H), gates stacked
    in this order along the first axis:
        LSTM  i, f, g, o   (input, forget, candidate, output)
        GRU   r, z, n      (reset, update, candidate)
    Padding: ``lengths`` (B ints, each 1..T) and the (T, B) bool mask
    ``t < lengths[b]`` (rnn.masks); padded steps keep the state and output zeros.

Modules: cells (one step), unroll (the loop over time), recurrent (RNN, LSTM, GRU
layers), bidirectional, masks (padding), packing (PyTorch's PackedSequence over the
padding), attention (dot-product, additive, PyTorch's scaled_dot_product_attention),
multihead (PyTorch's MultiheadAttention), transformer (PyTorch's Transformer layers),
positional (positional encodings), tracing (every step's gates and states, and the
gradient reaching each step's state: ``rnn.trace``, ``rnn.state_gradients``), fused
(whole-sequence ops: one autograd node per layer and direction), examples (a user-defined
cell: ``from rnn.examples import SkipLSTMCell``).
"""

from rnn import attention, fused, masks, multihead, packing, positional, transformer
from rnn.attention import (
    AdditiveAttention,
    DotProductAttention,
    additive_attention,
    dot_product_attention,
    mask_from_lengths,
    masked_softmax,
    scaled_dot_product_attention,
)
from rnn.bidirectional import Bidirectional
from rnn.cells import (
    Cell,
    GRUCell,
    LSTMCell,
    RNNCell,
    gru_cell,
    lstm_cell,
    lstm_projected_cell,
    rnn_relu_cell,
    rnn_tanh_cell,
)
from rnn.masks import lengths_to_mask, reverse_padded
from rnn.multihead import MultiHeadAttention, MultiheadAttention
from rnn.packing import (
    PackedSequence,
    pack_padded_sequence,
    pack_sequence,
    pad_packed_sequence,
    pad_sequence,
)
from rnn.positional import LearnedPositionalEncoding, PositionalEncoding
from rnn.recurrent import GRU, LSTM, RNN
from rnn.tracing import state_gradients, trace
from rnn.transformer import (
    Transformer,
    TransformerDecoder,
    TransformerDecoderLayer,
    TransformerEncoder,
    TransformerEncoderLayer,
    generate_square_subsequent_mask,
)
from rnn.unroll import detach_state, run_direction, run_layer, unroll

__all__ = [
    "AdditiveAttention", "DotProductAttention", "MultiHeadAttention", "additive_attention",
    "attention", "dot_product_attention", "fused", "mask_from_lengths", "masked_softmax",
    "multihead", "MultiheadAttention", "scaled_dot_product_attention",
    "LearnedPositionalEncoding", "PositionalEncoding", "positional",
    "Transformer", "TransformerDecoder", "TransformerDecoderLayer", "TransformerEncoder",
    "TransformerEncoderLayer", "generate_square_subsequent_mask", "transformer",
    "GRU", "LSTM", "RNN", "Bidirectional", "Cell", "GRUCell", "LSTMCell", "RNNCell",
    "detach_state", "gru_cell", "lengths_to_mask", "lstm_cell", "lstm_projected_cell", "masks",
    "PackedSequence", "pack_padded_sequence", "pack_sequence", "packing", "pad_packed_sequence",
    "pad_sequence", "reverse_padded", "rnn_relu_cell", "rnn_tanh_cell", "run_direction",
    "run_layer", "unroll", "state_gradients", "trace",
]
