"""nn: modules, layers, losses, initialisers, optimizers and checkpoints, PyTorch's names.

    >>> import numpy as np, engine, nn
    >>> rng = np.random.default_rng(0)
    >>> model = nn.Sequential(nn.Linear(2, 8, rng=rng), nn.Tanh(), nn.Linear(8, 1, rng=rng))
    >>> optimizer = nn.optim.Adam(model.parameters(), lr=1e-2)
    >>> loss = nn.functional.mse_loss(model(engine.ones(4, 2)), np.zeros((4, 1)))
    >>> loss.backward(); optimizer.step()
"""

from nn import data, functional, init, optim, utils
from nn.activation import (
    ELU,
    GELU,
    LeakyReLU,
    LogSoftmax,
    ReLU,
    Sigmoid,
    Softmax,
    Softplus,
    Tanh,
)
from nn.containers import ModuleDict, ModuleList, ParameterDict, ParameterList, Sequential
from nn.layers import (
    Dropout,
    Dropout1d,
    Dropout2d,
    Embedding,
    Flatten,
    Identity,
    Linear,
    Unflatten,
)
from nn.losses import (
    BCELoss,
    BCEWithLogitsLoss,
    CrossEntropyLoss,
    HuberLoss,
    KLDivLoss,
    L1Loss,
    MSELoss,
    NLLLoss,
    SmoothL1Loss,
)
from nn.module import Module, Parameter
from nn.normalization import BatchNorm1d, LayerNorm
from nn.serialization import CheckpointError, load, save

__all__ = [
    # losses (nn.losses)
    "BCELoss", "BCEWithLogitsLoss", "CrossEntropyLoss", "HuberLoss", "KLDivLoss", "L1Loss",
    "MSELoss", "NLLLoss", "SmoothL1Loss",
    # modules (nn.module, nn.containers, nn.layers, nn.activation, nn.normalization)
    "BatchNorm1d", "Dropout", "Dropout1d", "Dropout2d", "ELU", "Embedding", "Flatten", "GELU",
    "Identity", "LayerNorm", "LeakyReLU", "Linear", "LogSoftmax", "Module", "ModuleDict",
    "ModuleList", "Parameter", "ParameterDict", "ParameterList", "ReLU", "Sequential",
    "Sigmoid", "Softmax", "Softplus", "Tanh", "Unflatten",
    "data", "functional", "init", "load", "optim", "save", "utils",
    # checkpoints (nn.serialization: .npz; PyTorch's format: nn.torch_format, nn.safe_pickle)
    "CheckpointError",
]
