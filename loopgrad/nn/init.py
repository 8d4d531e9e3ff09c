"""torch.nn.init: nn.init's initialisers (drawing from the default generator, or ``generator=``)."""

from loopgrad import _missing
from nn.init import *  # noqa: F403
from nn.init import __all__ as _names

_ours_only = {"fan_in_and_fan_out", "generator"}
__all__ = [name for name in _names if name not in _ours_only]
__getattr__ = _missing.missing_attributes("loopgrad.nn.init", "torch.nn.init")
