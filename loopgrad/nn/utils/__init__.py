"""torch.nn.utils: gradient clipping and flat parameter vectors, and ``rnn`` (packed
sequences)."""

from loopgrad import _missing
from loopgrad.nn.utils import rnn
from nn.utils import (
    clip_grad_norm_,
    clip_grad_value_,
    clip_grads_with_norm_,
    get_total_norm,
    parameters_to_vector,
    vector_to_parameters,
)

__all__ = ["clip_grad_norm_", "clip_grad_value_", "clip_grads_with_norm_", "get_total_norm",
           "parameters_to_vector", "rnn", "vector_to_parameters"]
__getattr__ = _missing.missing_attributes("loopgrad.nn.utils", "torch.nn.utils")
