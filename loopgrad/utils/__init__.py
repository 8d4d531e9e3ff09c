"""torch.utils: ``data`` (datasets and the DataLoader)."""

from loopgrad import _missing
from loopgrad.utils import data

__all__ = ["data"]
__getattr__ = _missing.missing_attributes("loopgrad.utils", "torch.utils")
