"""Optimizers, PyTorch's update rules step for step: Optimizer (base), SGD, Adam, AdamW, RMSprop.

Parameters come in ``param_groups``, a list of dicts like PyTorch's
(``{"params": [...], "lr": ..., ...}``), so a scheduler or a user can change
hyperparameters per group. ``step()`` updates each parameter's array in
place from its ``.grad`` (raw arrays, so nothing is recorded in a graph);
per-parameter state (moments, buffers, step counts) lives in arrays on the
parameter's device. ``state_dict()`` is nested dicts of NumPy arrays and
numbers that ``nn.save`` writes; loading it resumes a run bit for bit.
"""

import math

import numpy as np

from engine import Tensor, backend, enable_grad
from nn.module import zero_grads


class Optimizer:
    """Base class: holds ``param_groups`` and ``state``; a subclass defines ``_update``.

    ``_update(param, grad, state, group)`` changes the array ``param`` in place,
    given its gradient array, its state dict (empty at the first step) and its group.
    """

    def __init__(self, params, defaults):
        self.defaults = dict(defaults)
        self.param_groups = []
        self.state = {}  # Parameter -> {name: array or number}
        groups = [params] if isinstance(params, Tensor) else list(params)
        if not groups:
            raise ValueError(f"{type(self).__name__} got an empty parameter list")
        if not isinstance(groups[0], dict):
            groups = [{"params": groups}]
        for group in groups:
            self.add_param_group(group)

    def add_param_group(self, group):
        """Add a dict with "params" (and any hyperparameters, else the defaults)."""
        group = dict(group)
        params = group["params"]
        group["params"] = [params] if isinstance(params, Tensor) else list(params)
        taken = {id(p) for g in self.param_groups for p in g["params"]}
        for p in group["params"]:
            if not isinstance(p, Tensor) or not p.is_leaf or not p.requires_grad:
                raise TypeError(f"{type(self).__name__} optimizes leaf Tensors that require "
                                f"grad; got {type(p).__name__}")
            if id(p) in taken:
                raise ValueError("a parameter appears twice in the optimizer's parameter groups")
            taken.add(id(p))
        for name, value in self.defaults.items():
            group.setdefault(name, value)
        self.param_groups.append(group)

    def zero_grad(self, set_to_none=True):
        """Forget every parameter's gradient (or fill it with zeros, in place)."""
        zero_grads(self._params(), set_to_none)

    def step(self, closure=None):
        """Update every parameter that has a gradient; returns ``closure()`` if given
        (a function that recomputes the loss with gradients, as in PyTorch)."""
        loss = None
        if closure is not None:
            with enable_grad():
                loss = closure()
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is not None:
                    self._update(p.array, p.grad.array, self._state_beside(p), group)
                    p._bump_version()  # changed in place: a graph that saved p now refuses
        return loss

    def _state_beside(self, p):
        """The state of ``p``, its arrays moved after ``p`` if ``module.to()`` moved or
        cast it since the last step (the state follows its parameter, never the reverse)."""
        state = self.state.setdefault(p, {})
        for name, value in state.items():
            if backend.is_array(value) and value.shape == p.shape and (
                    backend.device_of(value) != p.device
                    or (value.dtype.kind == "f" and value.dtype != p.dtype)):
                state[name] = _to_param(value, p, name)
        return state

    def _update(self, param, grad, state, group):
        raise NotImplementedError

    # ------------------------------------------------------------ state

    def _params(self):
        return [p for group in self.param_groups for p in group["params"]]

    def state_dict(self):
        """{"state": {index: {name: array or number}}, "param_groups": [{..., "params": [index]}]},
        parameters numbered in group order (PyTorch's layout); arrays are NumPy copies."""
        index = {id(p): i for i, p in enumerate(self._params())}
        groups = [{**{k: v for k, v in g.items() if k != "params"},
                   "params": [index[id(p)] for p in g["params"]]} for g in self.param_groups]
        state = {
            index[id(p)]: {name: np.array(backend.to_numpy(v)) if backend.is_array(v) else v
                           for name, v in self.state[p].items()}
            for p in self._params() if p in self.state
        }
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict):
        """Restore state and hyperparameters from ``state_dict()`` (e.g. after ``nn.load``).

        The groups must hold as many parameters as this optimizer's, and each state
        array the shape of its parameter; arrays are copied to the parameter's device
        and float dtype. Raises ValueError, changing nothing, when they do not fit.
        """
        saved_groups, params = state_dict["param_groups"], self._params()
        sizes = [len(g["params"]) for g in self.param_groups]
        saved_sizes = [len(g["params"]) for g in saved_groups]
        if sizes != saved_sizes:
            raise ValueError(f"load_state_dict: parameter groups of sizes {saved_sizes} do not "
                             f"fit this optimizer's groups of sizes {sizes}")
        saved_names = {k for g in saved_groups for k in g if k != "params"}
        foreign = saved_names - set(self.defaults) - {"initial_lr"}  # initial_lr: schedulers'
        if foreign or not set(self.defaults) <= saved_names:
            raise ValueError(f"load_state_dict: the saved groups hold {sorted(saved_names)}, but "
                             f"{type(self).__name__} takes {sorted(self.defaults)}")
        state = {}
        for key, values in state_dict["state"].items():
            if not 0 <= int(key) < len(params):
                raise ValueError(f"load_state_dict: state for parameter {key}, but this "
                                 f"optimizer has parameters 0..{len(params) - 1}")
            p = params[int(key)]
            state[p] = {name: _to_param(v, p, f"state[{key}][{name!r}]")
                        if backend.is_array(v) else v for name, v in values.items()}
        self.state = state
        for group, saved in zip(self.param_groups, saved_groups):
            group.update({k: v for k, v in saved.items() if k != "params"})


def _to_param(value, p, name):
    """A state array as a copy beside parameter ``p`` (its device; its dtype if float)."""
    if value.shape != p.shape:
        raise ValueError(f"load_state_dict: {name} has shape {value.shape}, but its parameter "
                         f"has shape {p.shape}")
    dtype = p.dtype if value.dtype.kind == "f" else value.dtype
    return backend.to_device(value.astype(dtype, copy=True), p.device)


def _check(name, value, low=0.0, high=math.inf):
    if not low <= value < high:
        raise ValueError(f"invalid {name}: {value} (expected {low} <= {name} < {high})")


# ---------------------------------------------------------------- the optimizers


class SGD(Optimizer):
    """Stochastic gradient descent with optional momentum (PyTorch's form):

        g = grad + weight_decay * p
        b = g at the first step, else momentum * b + (1 - dampening) * g
        p = p - lr * (g + momentum * b if nesterov else b)      (b = g without momentum)

    >>> import numpy as np, engine, nn
    >>> w = nn.Parameter(np.array([1.0]))
    >>> w.grad = engine.tensor(np.array([0.5]))
    >>> SGD([w], lr=0.1).step(); w.tolist()
    [0.95]
    """

    def __init__(self, params, lr=1e-3, momentum=0.0, dampening=0.0, nesterov=False,
                 weight_decay=0.0):
        _check("lr", lr)
        _check("momentum", momentum)
        _check("weight_decay", weight_decay)
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("nesterov momentum needs momentum > 0 and dampening = 0")
        super().__init__(params, dict(lr=lr, momentum=momentum, dampening=dampening,
                                      nesterov=nesterov, weight_decay=weight_decay))

    def _update(self, param, grad, state, group):
        momentum = group["momentum"]
        if group["weight_decay"]:
            grad = grad + group["weight_decay"] * param
        if momentum:
            buf = state.get("momentum_buffer")
            if buf is None:
                buf = state["momentum_buffer"] = grad.copy()
            else:
                buf *= momentum
                buf += (1 - group["dampening"]) * grad
            grad = grad + momentum * buf if group["nesterov"] else buf
        param -= group["lr"] * grad


class Adam(Optimizer):
    """Adam (Kingma & Ba 2015), with L2 weight decay added to the gradient:

        g = grad + weight_decay * p
        m = m + (1 - beta1) (g - m);   v = beta2 v + (1 - beta2) g^2
        p = p - lr / (1 - beta1^t) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps)

    >>> import numpy as np, engine, nn
    >>> w = nn.Parameter(np.array([1.0]))
    >>> w.grad = engine.tensor(np.array([0.5]))
    >>> Adam([w], lr=0.1).step(); [round(v, 6) for v in w.tolist()]  # a first step moves by lr
    [0.9]
    """

    decoupled_weight_decay = False

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0):
        _check("lr", lr)
        _check("eps", eps)
        _check("beta1", betas[0], high=1.0)
        _check("beta2", betas[1], high=1.0)
        _check("weight_decay", weight_decay)
        super().__init__(params, dict(lr=lr, betas=tuple(betas), eps=eps,
                                      weight_decay=weight_decay))

    def _update(self, param, grad, state, group):
        xp = backend.xp_of(param)
        lr, (beta1, beta2), decay = group["lr"], group["betas"], group["weight_decay"]
        if not state:
            state.update(step=0, exp_avg=xp.zeros_like(param), exp_avg_sq=xp.zeros_like(param))
        state["step"] += 1
        if decay and self.decoupled_weight_decay:
            param *= 1 - lr * decay
        elif decay:
            grad = grad + decay * param
        m, v, t = state["exp_avg"], state["exp_avg_sq"], state["step"]
        m += (1 - beta1) * (grad - m)
        v *= beta2
        v += (1 - beta2) * grad * grad
        denom = xp.sqrt(v) / (1 - beta2**t) ** 0.5
        denom += group["eps"]
        param -= lr / (1 - beta1**t) * (m / denom)


class AdamW(Adam):
    """Adam with decoupled weight decay (Loshchilov & Hutter 2019): before the Adam step,
    p = p (1 - lr * weight_decay); the gradient itself is left alone."""

    decoupled_weight_decay = True

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2):
        super().__init__(params, lr, betas, eps, weight_decay)


class RMSprop(Optimizer):
    """RMSprop (Hinton's lecture 6e), PyTorch's form:

        g = grad + weight_decay * p;   v = alpha v + (1 - alpha) g^2
        centered: a = a + (1 - alpha)(g - a), d = sqrt(v - a^2) + eps;  else d = sqrt(v) + eps
        momentum: b = momentum b + g / d, p = p - lr b;  else p = p - lr g / d
    """

    def __init__(self, params, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0.0, momentum=0.0,
                 centered=False):
        _check("lr", lr)
        _check("alpha", alpha)
        _check("eps", eps)
        _check("momentum", momentum)
        _check("weight_decay", weight_decay)
        super().__init__(params, dict(lr=lr, alpha=alpha, eps=eps, weight_decay=weight_decay,
                                      momentum=momentum, centered=centered))

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
        if group["weight_decay"]:
            grad = grad + group["weight_decay"] * param
        v = state["square_avg"]
        v *= alpha
        v += (1 - alpha) * grad * grad
        if group["centered"]:
            a = state["grad_avg"]
            a += (1 - alpha) * (grad - a)
            denom = xp.sqrt(v - a * a)
        else:
            denom = xp.sqrt(v)
        denom += group["eps"]
        if momentum > 0:
            buf = state["momentum_buffer"]
            buf *= momentum
            buf += grad / denom
            param -= group["lr"] * buf
        else:
            param -= group["lr"] * (grad / denom)
