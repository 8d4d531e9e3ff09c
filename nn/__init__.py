"""nn: modules, layers, losses, initialisers, optimizers and checkpoints, PyTorch's names."""

from nn import init
from nn.module import Module, ModuleList, Parameter

__all__ = ["Module", "ModuleList", "Parameter", "init"]
