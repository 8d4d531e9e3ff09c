"""torch.optim: nn.optim's optimizers, PyTorch's update rules step for step."""
# ruff: noqa: I001  (the order matters: torch.optim's lr_scheduler replaces nn.optim's)

from nn.optim import *  # noqa: F403
from nn.optim import __all__ as _names
from loopgrad import _missing
import loopgrad.optim.lr_scheduler  # sets lr_scheduler here, in place of nn.optim's

__all__ = [*_names]
__getattr__ = _missing.missing_attributes("loopgrad.optim", "torch.optim")
