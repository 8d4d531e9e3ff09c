"""Optimizers that scale each coordinate by a running sum or average of squared gradients,
PyTorch's update steps operation for operation: Adagrad, Adadelta, RMSprop."""

from engine import backend
from nn.optim.optimizer import (
    Optimizer,
    as_number,
    check_flags,
    check_nonnegative,
    decayed_gradient,
    lerp_,
)


class Adagrad(Optimizer):
    """Adagrad (Duchi et al. 2011), PyTorch's form:

        s = s + g^2   (s starts at initial_accumulator_value)
        p = p - lr / (1 + (t - 1) lr_decay) * g / (sqrt(s) + eps)

    As in PyTorch, the state of the parameters given here is made at once (the
    accumulator starts at ``initial_accumulator_value`` of the constructor).
    """

    def __init__(self, params, lr=1e-2, lr_decay=0, weight_decay=0, initial_accumulator_value=0,
                 eps=1e-10, foreach=None, *, maximize=False, differentiable=False, fused=None):
        super().__init__(params, dict(
            lr=as_number(lr, "lr"), lr_decay=lr_decay, eps=eps, weight_decay=weight_decay,
            initial_accumulator_value=initial_accumulator_value, foreach=foreach,
            maximize=maximize, differentiable=differentiable, fused=fused))
        for p in self._params():
            self._init_state(self.state[p], p.array)

    def _check_group(self, group):
        check_nonnegative(group, "lr", "lr_decay", "weight_decay", "initial_accumulator_value",
                          "eps")
        check_flags(group)

    def _init_state(self, state, param):
        state["step"] = 0
        state["sum"] = backend.xp_of(param).full_like(
            param, self.defaults["initial_accumulator_value"])  # the constructor's, as PyTorch

    def _update(self, param, grad, state, group):
        if not state:  # a parameter added by add_param_group
            self._init_state(state, param)
        state["step"] += 1
        grad = decayed_gradient(param, grad, group)
        clr = group["lr"] / (1 + (state["step"] - 1) * group["lr_decay"])
        s = state["sum"]
        s += grad * grad
        std = backend.xp_of(param).sqrt(s)
        std += group["eps"]
        param += (-clr * grad) / std


class Adadelta(Optimizer):
    """Adadelta (Zeiler 2012), PyTorch's form:

        v = rho v + (1 - rho) g^2
        delta = sqrt(u + eps) / sqrt(v + eps) * g
        u = rho u + (1 - rho) delta^2
        p = p - lr * delta
    """

    def __init__(self, params, lr=1.0, rho=0.9, eps=1e-6, weight_decay=0, foreach=None, *,
                 capturable=False, maximize=False, differentiable=False):
        super().__init__(params, dict(
            lr=as_number(lr, "lr"), rho=rho, eps=eps, weight_decay=weight_decay,
            maximize=maximize, capturable=capturable, foreach=foreach,
            differentiable=differentiable))

    def _check_group(self, group):
        check_nonnegative(group, "lr")
        if not 0.0 <= group["rho"] <= 1.0:
            raise ValueError(f"Invalid rho value: {group['rho']}")
        check_nonnegative(group, "eps", "weight_decay")
        check_flags(group)

    def _update(self, param, grad, state, group):
        xp = backend.xp_of(param)
        rho, eps = group["rho"], group["eps"]
        if not state:
            state.update(step=0, square_avg=xp.zeros_like(param), acc_delta=xp.zeros_like(param))
        state["step"] += 1
        grad = decayed_gradient(param, grad, group)
        v, u = state["square_avg"], state["acc_delta"]
        v *= rho
        v += (1 - rho) * grad * grad
        std = xp.sqrt(v + eps)
        delta = xp.sqrt(u + eps)
        delta /= std
        delta *= grad
        u *= rho
        u += (1 - rho) * delta * delta
        param -= group["lr"] * delta


class RMSprop(Optimizer):
    """RMSprop (Hinton's lecture 6e), PyTorch's form:

        v = alpha v + (1 - alpha) g^2
        centered: a = lerp(a, g, 1 - alpha), d = sqrt(v - a^2) + eps;  else d = sqrt(v) + eps
        momentum: b = momentum b + g / d, p = p - lr b;  else p = p - lr g / d
    """

    def __init__(self, params, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0, momentum=0,
                 centered=False, capturable=False, foreach=None, maximize=False,
                 differentiable=False):
        super().__init__(params, dict(
            lr=as_number(lr, "lr"), momentum=momentum, alpha=alpha, eps=eps, centered=centered,
            weight_decay=weight_decay, capturable=capturable, foreach=foreach,
            maximize=maximize, differentiable=differentiable))

    def _check_group(self, group):
        check_nonnegative(group, "lr", "eps", "momentum", "weight_decay", "alpha")
        check_flags(group)

    def _update(self, param, grad, state, group):
        xp = backend.xp_of(param)
        alpha, momentum = group["alpha"], group["momentum"]
        if not state:
            state.update(step=0, square_avg=xp.zeros_like(param))
            if momentum > 0:
                state["momentum_buffer"] = xp.zeros_like(param)
            if group["centered"]:
                state["grad_avg"] = xp.zeros_like(param)
        state["step"] += 1
        grad = decayed_gradient(param, grad, group)
        v = state["square_avg"]
        v *= alpha
        v += (1 - alpha) * grad * grad
        if group["centered"]:
            a = state["grad_avg"]
            lerp_(a, grad, 1 - alpha)
            avg = xp.sqrt(v - a * a)
        else:
            avg = xp.sqrt(v)
        avg += group["eps"]
        if momentum > 0:
            buf = state["momentum_buffer"]
            buf *= momentum
            buf += grad / avg
            param -= group["lr"] * buf
        else:
            param += (-group["lr"] * grad) / avg
