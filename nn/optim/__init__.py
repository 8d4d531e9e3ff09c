"""nn.optim: optimizers and ``lr_scheduler``, PyTorch's names, signatures and numbers.

Contents: Optimizer (optimizer.py); SGD (sgd.py); Adam, AdamW, Adamax, NAdam, RAdam
(adam.py); Adagrad, Adadelta, RMSprop (rmsprop.py); LBFGS (lbfgs.py); the schedules
(lr_scheduler.py).

    >>> import numpy as np, engine, nn
    >>> model = nn.Linear(2, 1, rng=np.random.default_rng(0))
    >>> optimizer = Adam(model.parameters(), lr=1e-2)
    >>> loss = nn.functional.mse_loss(model(engine.ones(4, 2)), np.zeros((4, 1)))
    >>> loss.backward(); optimizer.step(); optimizer.zero_grad()
"""

from nn.optim import lr_scheduler
from nn.optim.adam import Adam, Adamax, AdamW, NAdam, RAdam
from nn.optim.lbfgs import LBFGS
from nn.optim.optimizer import Optimizer
from nn.optim.rmsprop import Adadelta, Adagrad, RMSprop
from nn.optim.sgd import SGD

__all__ = ["LBFGS", "SGD", "Adadelta", "Adagrad", "Adam", "AdamW", "Adamax", "NAdam",
           "Optimizer", "RAdam", "RMSprop", "lr_scheduler"]
