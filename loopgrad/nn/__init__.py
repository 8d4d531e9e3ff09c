"""torch.nn: nn's modules, losses and containers and rnn's recurrent layers and attention,
under PyTorch's names (``loopgrad.nn.LSTM`` is ``rnn.LSTM``, ``loopgrad.nn.Linear`` is
``nn.Linear``), with ``functional``, ``init``, ``utils`` and the ``modules`` paths.

    >>> import loopgrad.nn as nn
    >>> nn.LSTM(3, 4, num_layers=2)
    LSTM(3, 4, num_layers=2)
"""

# ruff: noqa: I001  (the order matters: torch.nn's own submodules replace nn's of the same name)
from nn import *  # noqa: F403  -- nn.__all__: Module, Parameter, layers, losses, containers
from nn import __all__ as _nn_names
from rnn import (
    GRU,
    LSTM,
    RNN,
    GRUCell,
    LSTMCell,
    MultiheadAttention,
    RNNCell,
    Transformer,
    TransformerDecoder,
    TransformerDecoderLayer,
    TransformerEncoder,
    TransformerEncoderLayer,
)
from loopgrad import _missing
import loopgrad.nn.functional  # torch.nn's own submodules: importing each sets it here, in place
import loopgrad.nn.init  # of nn's namesake (a `from loopgrad.nn import init` would keep nn's)
import loopgrad.nn.modules
import loopgrad.nn.parameter
import loopgrad.nn.utils

_recurrent = ["GRU", "GRUCell", "LSTM", "LSTMCell", "MultiheadAttention", "RNN", "RNNCell",
              "Transformer", "TransformerDecoder", "TransformerDecoderLayer",
              "TransformerEncoder", "TransformerEncoderLayer"]
_ours_only = {"CheckpointError", "data", "load", "optim", "save"}  # not in torch.nn
__all__ = [name for name in _nn_names if name not in _ours_only] + _recurrent + [
    "functional", "init", "modules", "parameter", "utils"]
__getattr__ = _missing.missing_attributes("loopgrad.nn", "torch.nn")
