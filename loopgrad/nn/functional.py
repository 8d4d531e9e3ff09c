"""torch.nn.functional: nn.functional's functions (layers, activations, losses) and rnn's
scaled dot-product attention."""

from loopgrad import _missing
from nn.functional import *  # noqa: F403
from nn.functional import __all__ as _names
from rnn.attention import scaled_dot_product_attention

__all__ = [*_names, "scaled_dot_product_attention"]
__getattr__ = _missing.missing_attributes("loopgrad.nn.functional", "torch.nn.functional")
