"""Optimizer, the base of every optimizer: parameter groups, checked gradients, state.

Contents: Optimizer; the hyperparameter checks (``check_nonnegative``, ``check_betas``,
``check_flags``), ``decayed_gradient`` and ``lerp_`` that the optimizers share.

Parameters come in ``param_groups``, a list of dicts as in PyTorch
(``{"params": [...], "lr": ..., ...}``), so a scheduler or a user can change
hyperparameters per group. ``step()`` is all or nothing: it first checks every
``.grad`` against its parameter (shape, dtype, device), and only then creates
state and updates each parameter's array in place from its gradient (raw
arrays, so nothing is recorded in a graph), bumping its version. Per-parameter
state (moments, buffers, step counts) lives in arrays on the parameter's device.
``state_dict()`` is PyTorch's layout with NumPy arrays, which ``nn.save``
writes; loading it checks everything first and resumes a run bit for bit.
"""

import math
import numbers
from collections import defaultdict

import numpy as np

from engine import Tensor, backend, dtypes, enable_grad
from nn.module import zero_grads

# Group keys a PyTorch optimizer fills in when an older state dict lacks them
# (its ``__setstate__``): switches, not hyperparameters that tell optimizers apart.
FLAGS = frozenset({"maximize", "foreach", "capturable", "differentiable", "fused", "amsgrad",
                   "nesterov", "decoupled_weight_decay", "centered"})


class Optimizer:
    """Base class: holds ``param_groups``, ``state`` and ``defaults``.

    ``params`` is an iterable of Tensors, of ``(name, Tensor)`` pairs (as
    ``model.named_parameters()`` gives) or of dicts with a ``"params"`` entry.
    A subclass defines ``_check_group(group)`` (raise ValueError for a bad
    hyperparameter, with PyTorch's message) and ``_update(param, grad, state, group)``,
    which changes the array ``param`` in place given its gradient array, its state
    dict (empty at the first step) and its group.
    """

    def __init__(self, params, defaults):
        self._check_group(defaults)  # PyTorch checks hyperparameters before parameters
        if isinstance(params, Tensor):
            raise TypeError("params argument given to the optimizer should be an iterable of "
                            f"Tensors or dicts, but got {_typename(params)}")
        self.defaults = dict(defaults)
        self.state = defaultdict(dict)  # Parameter -> {name: array or number}
        self.param_groups = []
        groups = _ordered(params)
        if not groups:
            raise ValueError("optimizer got an empty parameter list")
        if not isinstance(groups[0], dict):
            groups = [{"params": groups}]
        for group in groups:
            self.add_param_group(group)

    def __repr__(self):
        lines = [f"{type(self).__name__} ("]
        for i, group in enumerate(self.param_groups):
            lines.append(f"Parameter Group {i}")
            lines += [f"    {key}: {group[key]}" for key in sorted(group) if key != "params"]
        return "\n".join(lines) + "\n)"

    def add_param_group(self, param_group):
        """Add a dict with ``"params"`` and any hyperparameters (the rest from ``defaults``).

        Everything is checked before the group is changed or added: its tensors
        (leaves, none already optimized, none twice), named or not like the other
        groups, and its hyperparameters.
        """
        if not isinstance(param_group, dict):
            raise TypeError(f"param_group must be a dict, but got {type(param_group)}")
        where = f"param group {len(self.param_groups)}"
        if "params" not in param_group:
            raise KeyError(f"{where} has no 'params' entry (the tensors to optimize); got "
                           f"keys {sorted(param_group)}")
        params = param_group["params"]
        params = [params] if isinstance(params, Tensor) else _ordered(params)
        names = [p[0] for p in params if isinstance(p, tuple)]
        params = [p[1] if isinstance(p, tuple) else p for p in params]
        if names and len(names) != len(params):
            raise ValueError("all optimizer params should be with/without names. Some param "
                             "names are missing")
        for p in params:
            if not isinstance(p, Tensor):
                raise TypeError("optimizer can only optimize Tensors, but one of the params is "
                                f"{_typename(p)}")
            if not p.is_leaf:
                raise ValueError("can't optimize a non-leaf Tensor")
        seen = {}
        for i, p in enumerate(params):
            if id(p) in seen:
                raise ValueError(f"{where}: parameter {i} is parameter {seen[id(p)]} again; "
                                 "a parameter may appear only once")
            seen[id(p)] = i
        for group in self.param_groups:
            if ("param_names" in group) != bool(names):
                kind = "with names" if names else "without names"
                raise ValueError("all optimizer param groups should be with/without names. "
                                 f"cannot add param group {kind} to the optimizer")
            if any(id(p) in seen for p in group["params"]):
                raise ValueError("some parameters appear in more than one parameter group")
        group = {**self.defaults, **param_group}
        _checked(self._check_group, group, f"{where}: ")
        param_group.update(group, params=params)  # the caller's dict, as in PyTorch
        if names:
            param_group["param_names"] = names
        self.param_groups.append(param_group)

    def zero_grad(self, set_to_none=True):
        """Forget every parameter's gradient (or fill it with zeros, in place)."""
        zero_grads(self._params(), set_to_none)

    def step(self, closure=None):
        """Update every parameter that has a gradient; returns ``closure()`` if given
        (a function that recomputes the loss with gradients, as in PyTorch).

        Every gradient is checked before any parameter or state changes.
        """
        loss = None
        if closure is not None:
            with enable_grad():
                loss = closure()
        for group, p, grad in self._gradients():
            state = self._state_beside(p)
            self._update(p.array, grad, state, group)
            p._bump_version()  # changed in place: a graph that saved p now refuses
            if not state:  # an optimizer without state (plain SGD) keeps none, as PyTorch
                del self.state[p]
        return loss

    def _gradients(self):
        """[(group, parameter, gradient array)] for every parameter with a ``.grad``, each
        checked against its parameter, so that a bad one raises before anything changes."""
        work = []
        for g, group in enumerate(self.param_groups):
            for i, p in enumerate(group["params"]):
                if p.grad is None:
                    continue
                problem = grad_problem(p, p.grad)
                if problem:
                    names = group.get("param_names")
                    who = (f"parameter {names[i]!r}" if names
                           else f"parameter {i} of param group {g}")
                    raise RuntimeError(f"{type(self).__name__}.step: the gradient of {who} "
                                       f"{problem}; no parameter was changed")
                work.append((group, p, p.grad.array))
        return work

    def _state_beside(self, p):
        """The state of ``p``, its arrays moved after ``p`` if ``module.to()`` moved or
        cast it since the last step (the state follows its parameter, never the reverse)."""
        state = self.state[p]
        for name, value in state.items():
            if backend.is_array(value) and value.shape == p.shape and (
                    backend.device_of(value) != p.device
                    or (value.dtype.kind == "f" and value.dtype != p.dtype)):
                state[name] = _to_param(value, p)
        return state

    _scalar_state = ()  # names of scalar state kept in the scalar dtype (NAdam's mu_product)

    def _check_group(self, group):
        """Raise ValueError for a bad hyperparameter of ``group`` (PyTorch's messages)."""

    def _update(self, param, grad, state, group):
        raise NotImplementedError

    # ------------------------------------------------------------ state

    def _params(self):
        return [p for group in self.param_groups for p in group["params"]]

    def state_dict(self):
        """``{"state": {index: {name: value}}, "param_groups": [{..., "params": [index]}]}``,
        parameters numbered in group order (PyTorch's layout); arrays are NumPy copies."""
        index = {id(p): i for i, p in enumerate(self._params())}
        groups = [{**{k: v for k, v in g.items() if k != "params"},
                   "params": [index[id(p)] for p in g["params"]]} for g in self.param_groups]
        state = {index[id(p)]: {name: _to_numpy(v) for name, v in self.state[p].items()}
                 for p in self._params() if p in self.state}
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict):
        """Restore state and hyperparameters from ``state_dict()`` (e.g. after ``nn.load``).

        The groups must hold as many parameters as this optimizer's and this
        optimizer's hyperparameters, each valid (switches a PyTorch state dict may
        lack, like ``maximize``, come from ``defaults``); each state array must fit
        its parameter; arrays are copied to the parameter's device and float dtype.
        Everything is checked first: on an error nothing has changed.
        """
        saved_groups, params = state_dict["param_groups"], self._params()
        if len(saved_groups) != len(self.param_groups):
            raise ValueError(f"loaded state dict has a different number of parameter groups "
                             f"({len(saved_groups)}) than this optimizer "
                             f"({len(self.param_groups)})")
        sizes = [len(g["params"]) for g in self.param_groups]
        saved_sizes = [len(g["params"]) for g in saved_groups]
        if sizes != saved_sizes:
            raise ValueError(f"loaded state dict contains parameter groups of sizes "
                             f"{saved_sizes}, which do not fit this optimizer's groups of sizes "
                             f"{sizes}")
        essential = set(self.defaults) - FLAGS
        groups = []
        for i, (group, saved) in enumerate(zip(self.param_groups, saved_groups)):
            missing = essential - set(saved)
            if missing:
                raise ValueError(f"load_state_dict: param group {i} lacks {sorted(missing)}, "
                                 f"which {type(self).__name__} takes (a state dict of another "
                                 "optimizer?)")
            new = {**self.defaults, **{k: v for k, v in saved.items() if k != "params"}}
            _checked(self._check_group, new, f"load_state_dict: param group {i}: ")
            if "param_names" in group and "param_names" not in saved:
                new["param_names"] = group["param_names"]
            groups.append({**new, "params": group["params"]})
        by_id = dict(zip((k for g in saved_groups for k in g["params"]), params))
        state = defaultdict(dict)
        for key, values in state_dict["state"].items():
            if key not in by_id:
                raise ValueError(f"load_state_dict: state for parameter {key}, but this "
                                 f"optimizer has parameters {sorted(by_id)}")
            p = by_id[key]
            state[p] = self._load_state(p, values, f"state[{key}]")
        self.state = state
        self.param_groups[:] = groups

    def _load_state(self, p, values, where):
        """The state of one parameter from a state dict: arrays shaped like ``p`` copied
        beside it, step counts as numbers."""
        state = {}
        for name, value in values.items():
            value = _as_array(value)
            if name == "step":
                state[name] = _count(value, f"{where}['step']")
            elif name in self._scalar_state:
                state[name] = scalar_dtype().type(to_number(value))
            elif backend.is_array(value):
                if value.shape != p.shape:
                    raise ValueError(f"load_state_dict: {where}[{name!r}] has shape "
                                     f"{value.shape}, but its parameter has shape {p.shape}")
                state[name] = _to_param(value, p)
            else:
                state[name] = value
        return state


# ---------------------------------------------------------------- shared pieces


def check_nonnegative(group, *names):
    """Each named hyperparameter a real number >= 0, else PyTorch's ValueError."""
    for name in names:
        value = group[name]
        _real(name, value)
        if not 0.0 <= value:
            raise ValueError(f"Invalid {_LABELS.get(name, name + ' value')}: {value}")


def check_betas(betas):
    """``betas`` a pair of real numbers, each in [0, 1)."""
    if not isinstance(betas, (tuple, list)) or len(betas) != 2:
        raise ValueError(f"betas must be a pair (beta1, beta2); got {betas!r}")
    for i, beta in enumerate(betas):
        _real(f"betas[{i}]", beta)
        if not 0.0 <= beta < 1.0:
            raise ValueError(f"Invalid beta parameter at index {i}: {beta}")


def check_flags(group):
    """PyTorch's implementation switches: accepted, except ``differentiable=True``."""
    if group.get("differentiable"):
        raise ValueError("differentiable=True is not supported: loopgrad's optimizers update "
                         "arrays outside the graph")


def decayed_gradient(param, grad, group, decoupled=False):
    """The gradient an update uses: negated under ``maximize``; with L2 weight decay added
    (``grad + weight_decay * p``), or (``decoupled``) the parameter itself shrunk in place
    by ``lr * weight_decay``."""
    if group["maximize"]:
        grad = -grad
    decay = group["weight_decay"]
    if decay != 0:
        if decoupled:
            param *= 1 - group["lr"] * decay
        else:
            grad = grad + decay * param
    return grad


def lerp_(a, b, weight):
    """``a <- a + weight (b - a)`` in place, rounded as PyTorch's ``lerp_`` kernel rounds it
    (from the nearer end: ``b - (b - a)(1 - weight)`` when ``|weight| >= 0.5``)."""
    if abs(weight) < 0.5:
        a += weight * (b - a)
    else:
        a[...] = b - (b - a) * (1 - weight)


def as_number(value, name):
    """A hyperparameter given as a one-element Tensor, as a Python float (PyTorch keeps the
    tensor; here a group holds numbers)."""
    if isinstance(value, Tensor):
        if value.numel() != 1:
            raise ValueError(f"Tensor {name} must be 1-element")
        return float(value.item())
    return value


def scalar_dtype():
    """The dtype PyTorch keeps scalar state in (NAdam's ``mu_product``): float64 if that is
    the default dtype, else float32."""
    return np.dtype(np.float64 if dtypes.get_default_dtype() == np.float64 else np.float32)


_LABELS = {"lr": "learning rate", "eps": "epsilon value"}


def _real(name, value):
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number; got {type(value).__name__} {value!r}")


def _checked(check, group, prefix):
    """``check(group)``, its error message prefixed with where the group came from."""
    try:
        check(group)
    except (TypeError, ValueError) as error:
        raise type(error)(f"{prefix}{error}") from None


def grad_problem(p, grad):
    """What is wrong with ``grad`` as the gradient of ``p`` (PyTorch refuses such a
    ``.grad`` when it is assigned), or None."""
    if not isinstance(grad, Tensor):
        return f"is a {type(grad).__name__}, not a Tensor"
    if grad.shape != p.shape:
        return f"has shape {tuple(grad.shape)}, but the parameter has shape {tuple(p.shape)}"
    if grad.dtype != p.dtype:
        return f"has dtype {grad.dtype}, but the parameter has dtype {p.dtype}"
    if grad.device != p.device:
        return f"is on {grad.device}, but the parameter is on {p.device}"
    return None


def _ordered(params):
    """``params`` as a list; a set is refused (its order, and so the state dict's numbering,
    would change between runs: PyTorch refuses it inside a group)."""
    if isinstance(params, (set, frozenset)):
        raise TypeError("optimizer parameters need to be organized in ordered collections, but "
                        "the ordering of tensors in sets will change between runs. Please use a "
                        "list instead.")
    return list(params)


def _typename(value):
    if isinstance(value, Tensor):
        return f"a Tensor of shape {tuple(value.shape)} and dtype {value.dtype}"
    return type(value).__name__


def _to_param(value, p):
    """A state array as a copy beside parameter ``p`` (its device; its dtype if float)."""
    dtype = p.dtype if value.dtype.kind == "f" else value.dtype
    return backend.to_device(value.astype(dtype, copy=True), p.device)


def _to_numpy(value):
    """A state value for ``state_dict()``: arrays as NumPy copies, lists element by element."""
    if backend.is_array(value):
        return np.array(backend.to_numpy(value))
    if isinstance(value, (list, tuple)):
        return type(value)(_to_numpy(v) for v in value)
    return value


def _as_array(value):
    """A Tensor in a state dict (from a PyTorch-style checkpoint) as its array."""
    return value.array if isinstance(value, Tensor) else value


def to_number(value):
    """A number, or a 0-d array (as PyTorch saves scalar state), as a Python number."""
    return value.item() if backend.is_array(value) or isinstance(value, np.generic) else value


def _count(value, where):
    """A step count (a number, or a 0-d array as PyTorch saves it) as a Python int."""
    number = to_number(value)
    if isinstance(number, bool) or not isinstance(number, numbers.Real) or not (
            math.isfinite(number) and number >= 0 and number == int(number)):
        raise ValueError(f"load_state_dict: {where} must be a whole number >= 0; got {value!r}")
    return int(number)
