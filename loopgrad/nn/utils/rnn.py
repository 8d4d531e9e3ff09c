"""torch.nn.utils.rnn: packed sequences (rnn.packing), which loopgrad.nn's RNN, LSTM and
GRU take and return."""

from loopgrad import _missing
from rnn.packing import (
    PackedSequence,
    pack_padded_sequence,
    pack_sequence,
    pad_packed_sequence,
    pad_sequence,
)

__all__ = ["PackedSequence", "pack_padded_sequence", "pack_sequence", "pad_packed_sequence",
           "pad_sequence"]
__getattr__ = _missing.missing_attributes("loopgrad.nn.utils.rnn", "torch.nn.utils.rnn")
