"""torch.nn.functional: nn.functional's functions (layers, activations, losses)."""

from loopgrad import _missing
from nn.functional import *  # noqa: F403
from nn.functional import __all__ as _names

__all__ = list(_names)
__getattr__ = _missing.missing_attributes("loopgrad.nn.functional", "torch.nn.functional")
