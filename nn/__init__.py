"""nn: modules, layers, losses, initialisers, optimizers and checkpoints, PyTorch's names.

    >>> import numpy as np, engine, nn
    >>> rng = np.random.default_rng(0)
    >>> model = nn.Sequential(nn.Linear(2, 8, rng=rng), nn.Tanh(), nn.Linear(8, 1, rng=rng))
    >>> optimizer = nn.optim.Adam(model.parameters(), lr=1e-2)
    >>> loss = nn.functional.mse_loss(model(engine.ones(4, 2)), np.zeros((4, 1)))
    >>> loss.backward(); optimizer.step()
"""

from nn import functional, init, optim, utils
from nn.layers import Dropout, Embedding, LayerNorm, Linear, ReLU, Sequential, Sigmoid, Tanh
from nn.losses import BCEWithLogitsLoss, CrossEntropyLoss, MSELoss, NLLLoss
from nn.module import Module, ModuleList, Parameter
from nn.serialization import load, save

__all__ = [
    "BCEWithLogitsLoss", "CrossEntropyLoss", "Dropout", "Embedding", "LayerNorm", "Linear",
    "MSELoss", "Module", "ModuleList", "NLLLoss", "Parameter", "ReLU", "Sequential", "Sigmoid",
    "Tanh", "functional", "init", "load", "optim", "save", "utils",
]
