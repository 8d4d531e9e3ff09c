"""nn.optim: optimizers (SGD, Adam, AdamW, RMSprop) and ``lr_scheduler``, PyTorch's names.

    >>> import numpy as np, engine, nn
    >>> model = nn.Linear(2, 1, rng=np.random.default_rng(0))
    >>> optimizer = Adam(model.parameters(), lr=1e-2)
    >>> loss = nn.functional.mse_loss(model(engine.ones(4, 2)), np.zeros((4, 1)))
    >>> loss.backward(); optimizer.step(); optimizer.zero_grad()
"""

from nn.optim import lr_scheduler
from nn.optim.optimizer import SGD, Adam, AdamW, Optimizer, RMSprop

__all__ = ["SGD", "Adam", "AdamW", "Optimizer", "RMSprop", "lr_scheduler"]
