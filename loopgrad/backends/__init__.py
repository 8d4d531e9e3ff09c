"""torch.backends: the flags programs set or read. There is no cuDNN or MPS here; the
cuDNN flags are kept so that programs that set them run (they change nothing)."""

from loopgrad import _missing
from loopgrad.backends import cudnn, mps

__all__ = ["cudnn", "mps"]
__getattr__ = _missing.missing_attributes("loopgrad.backends", "torch.backends")
