"""torch.utils.data: nn.data's datasets, samplers, collation and DataLoader."""

from loopgrad import _missing
from nn.data import *  # noqa: F403
from nn.data import __all__ as _names

__all__ = list(_names)
__getattr__ = _missing.missing_attributes("loopgrad.utils.data", "torch.utils.data")
