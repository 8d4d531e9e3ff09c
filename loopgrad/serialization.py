"""torch.serialization: the allowlist of classes that ``loopgrad.load`` may rebuild from a file
(loading never runs code from the file; see nn.safe_pickle)."""

from loopgrad import _missing
from nn.safe_pickle import add_safe_globals, clear_safe_globals, get_safe_globals, safe_globals
from nn.torch_format import load, save

__all__ = ["add_safe_globals", "clear_safe_globals", "get_safe_globals", "load", "safe_globals",
           "save"]
__getattr__ = _missing.missing_attributes("loopgrad.serialization", "torch.serialization")
