"""torch.autograd.functional: the Jacobian (engine.functional)."""

from engine.functional import jacobian
from loopgrad import _missing

__all__ = ["jacobian"]
__getattr__ = _missing.missing_attributes("loopgrad.autograd.functional",
                                          "torch.autograd.functional")
