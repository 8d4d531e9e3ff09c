"""SGD: stochastic gradient descent with momentum, PyTorch's update step for step."""

from nn.optim.optimizer import (
    Optimizer,
    as_number,
    check_flags,
    check_nonnegative,
    decayed_gradient,
)


class SGD(Optimizer):
    """Stochastic gradient descent with optional (Nesterov) momentum, PyTorch's form:

        g = -grad if maximize else grad;   g = g + weight_decay * p
        b = g at the first step, else momentum * b + (1 - dampening) * g
        p = p - lr * (g + momentum * b if nesterov else b)      (b = g without momentum)

    ``foreach`` and ``fused`` are accepted for PyTorch's signature: there is one
    implementation.

    >>> import numpy as np, engine, nn
    >>> w = nn.Parameter(np.array([1.0]))
    >>> w.grad = engine.tensor(np.array([0.5]))
    >>> SGD([w], lr=0.1).step(); w.tolist()
    [0.95]
    """

    def __init__(self, params, lr=1e-3, momentum=0, dampening=0, weight_decay=0,
                 nesterov=False, *, maximize=False, foreach=None, differentiable=False,
                 fused=None):
        super().__init__(params, dict(
            lr=as_number(lr, "lr"), momentum=momentum, dampening=dampening,
            weight_decay=weight_decay, nesterov=nesterov, maximize=maximize, foreach=foreach,
            differentiable=differentiable, fused=fused))

    def _check_group(self, group):
        check_nonnegative(group, "lr", "momentum", "weight_decay")
        if group["nesterov"] and (group["momentum"] <= 0 or group["dampening"] != 0):
            raise ValueError("Nesterov momentum requires a momentum and zero dampening")
        check_flags(group)

    def _update(self, param, grad, state, group):
        momentum = group["momentum"]
        grad = decayed_gradient(param, grad, group)
        if momentum != 0:
            buf = state.get("momentum_buffer")
            if buf is None:
                buf = state["momentum_buffer"] = grad.copy()
            else:
                buf *= momentum
                buf += (1 - group["dampening"]) * grad
            grad = grad + momentum * buf if group["nesterov"] else buf
        param -= group["lr"] * grad
