"""torch.optim.lr_scheduler: nn.optim.lr_scheduler's schedules."""

from loopgrad import _missing
from nn.optim.lr_scheduler import (
    CosineAnnealingLR,
    ExponentialLR,
    LambdaLR,
    LinearLR,
    LRScheduler,
    MultiStepLR,
    OneCycleLR,
    ReduceLROnPlateau,
    StepLR,
    _LRScheduler,
)

__all__ = ["CosineAnnealingLR", "ExponentialLR", "LRScheduler", "LambdaLR", "LinearLR",
           "MultiStepLR", "OneCycleLR", "ReduceLROnPlateau", "StepLR", "_LRScheduler"]
__getattr__ = _missing.missing_attributes("loopgrad.optim.lr_scheduler",
                                          "torch.optim.lr_scheduler")
