"""The Adam family, PyTorch's update steps operation for operation: Adam, AdamW, Adamax,
NAdam, RAdam.

Each keeps running averages of the gradient (``exp_avg``, m) and of its square
(``exp_avg_sq``, v; Adamax: an infinity norm ``exp_inf``) and a step count t,
and divides the bias-corrected first by the root of the second. Scalars are
computed in Python floats first, then applied to the arrays, in PyTorch's order,
so that float64 runs follow PyTorch's to rounding.
"""

from engine import backend
from nn.optim.optimizer import (
    Optimizer,
    as_number,
    check_betas,
    check_flags,
    check_nonnegative,
    decayed_gradient,
    lerp_,
    scalar_dtype,
)


def _moments(state, grad, beta1, beta2):
    """m <- lerp(m, g, 1 - beta1);  v <- beta2 v + (1 - beta2) g^2."""
    lerp_(state["exp_avg"], grad, 1 - beta1)
    v = state["exp_avg_sq"]
    v *= beta2
    v += (1 - beta2) * grad * grad


def _zeros_state(state, param, *names):
    xp = backend.xp_of(param)
    state["step"] = 0
    for name in names:
        state[name] = xp.zeros_like(param)


class Adam(Optimizer):
    """Adam (Kingma & Ba 2015), PyTorch's form:

        g = grad (+ weight_decay * p; or p = p (1 - lr weight_decay) if decoupled)
        m = lerp(m, g, 1 - beta1);   v = beta2 v + (1 - beta2) g^2
        amsgrad: v_max = max(v_max, v), used for v below
        p = p - lr / (1 - beta1^t) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps)

    ``foreach``, ``capturable`` and ``fused`` are accepted for PyTorch's signature.

    >>> import numpy as np, engine, nn
    >>> w = nn.Parameter(np.array([1.0]))
    >>> w.grad = engine.tensor(np.array([0.5]))
    >>> Adam([w], lr=0.1).step(); [round(v, 6) for v in w.tolist()]  # a first step moves by lr
    [0.9]
    """

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0,
                 amsgrad=False, *, foreach=None, maximize=False, capturable=False,
                 differentiable=False, fused=None, decoupled_weight_decay=False):
        super().__init__(params, dict(
            lr=as_number(lr, "lr"), betas=_pair(betas), eps=eps, weight_decay=weight_decay,
            amsgrad=amsgrad, maximize=maximize, foreach=foreach, capturable=capturable,
            differentiable=differentiable, fused=fused,
            decoupled_weight_decay=decoupled_weight_decay))

    def _check_group(self, group):
        check_nonnegative(group, "lr", "eps")
        check_betas(group["betas"])
        check_nonnegative(group, "weight_decay")
        check_flags(group)

    def _update(self, param, grad, state, group):
        xp = backend.xp_of(param)
        lr, (beta1, beta2), amsgrad = group["lr"], group["betas"], group["amsgrad"]
        if not state:
            _zeros_state(state, param, "exp_avg", "exp_avg_sq",
                         *(["max_exp_avg_sq"] if amsgrad else []))
        state["step"] += 1
        grad = decayed_gradient(param, grad, group, group["decoupled_weight_decay"])
        _moments(state, grad, beta1, beta2)
        t = state["step"]
        step_size = lr / (1 - beta1**t)
        bias_correction2_sqrt = (1 - beta2**t) ** 0.5
        v = state["exp_avg_sq"]
        if amsgrad:
            v = xp.maximum(state["max_exp_avg_sq"], v, out=state["max_exp_avg_sq"])
        denom = xp.sqrt(v) / bias_correction2_sqrt
        denom += group["eps"]
        param += (-step_size * state["exp_avg"]) / denom


class AdamW(Adam):
    """Adam with decoupled weight decay (Loshchilov & Hutter 2019): before the Adam step,
    p = p (1 - lr * weight_decay); the gradient itself is left alone."""

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2,
                 amsgrad=False, *, maximize=False, foreach=None, capturable=False,
                 differentiable=False, fused=None):
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad, foreach=foreach,
                         maximize=maximize, capturable=capturable,
                         differentiable=differentiable, fused=fused,
                         decoupled_weight_decay=True)

    def _check_group(self, group):
        super()._check_group(group)
        if not group["decoupled_weight_decay"]:
            raise ValueError("AdamW decouples its weight decay: decoupled_weight_decay must "
                             "be True")


class Adamax(Optimizer):
    """Adamax (Kingma & Ba 2015, section 7), Adam with an infinity norm:

        m = lerp(m, g, 1 - beta1);   u = max(beta2 u, |g| + eps)
        p = p - lr / (1 - beta1^t) * m / u
    """

    def __init__(self, params, lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0,
                 foreach=None, *, maximize=False, differentiable=False, capturable=False):
        super().__init__(params, dict(
            lr=as_number(lr, "lr"), betas=_pair(betas), eps=eps, weight_decay=weight_decay,
            foreach=foreach, maximize=maximize, differentiable=differentiable,
            capturable=capturable))

    _check_group = Adam._check_group

    def _update(self, param, grad, state, group):
        xp = backend.xp_of(param)
        beta1, beta2 = group["betas"]
        if not state:
            _zeros_state(state, param, "exp_avg", "exp_inf")
        state["step"] += 1
        grad = decayed_gradient(param, grad, group)
        lerp_(state["exp_avg"], grad, 1 - beta1)
        u = state["exp_inf"]
        u *= beta2
        xp.maximum(u, xp.abs(grad) + group["eps"], out=u)
        clr = group["lr"] / (1 - beta1 ** state["step"])
        param += (-clr * state["exp_avg"]) / u


class NAdam(Optimizer):
    """NAdam (Dozat 2016): Adam with Nesterov momentum, PyTorch's form. With the
    momentum schedule mu_t = beta1 (1 - 0.96^(t momentum_decay) / 2) and
    P_t = mu_1 ... mu_t (``mu_product``, kept in the scalar dtype as PyTorch keeps it):

        m = lerp(m, g, 1 - beta1);   v = beta2 v + (1 - beta2) g^2
        d = sqrt(v / (1 - beta2^t)) + eps
        p = p - lr (1 - mu_t) / (1 - P_t) g / d - lr mu_{t+1} / (1 - P_t mu_{t+1}) m / d
    """

    _scalar_state = ("mu_product",)

    def __init__(self, params, lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0,
                 momentum_decay=4e-3, decoupled_weight_decay=False, *, foreach=None,
                 maximize=False, capturable=False, differentiable=False):
        super().__init__(params, dict(
            lr=as_number(lr, "lr"), betas=_pair(betas), eps=eps, weight_decay=weight_decay,
            momentum_decay=momentum_decay, decoupled_weight_decay=decoupled_weight_decay,
            maximize=maximize, foreach=foreach, capturable=capturable,
            differentiable=differentiable))

    def _check_group(self, group):
        Adam._check_group(self, group)
        check_nonnegative(group, "momentum_decay")

    def _update(self, param, grad, state, group):
        xp = backend.xp_of(param)
        lr, (beta1, beta2), psi = group["lr"], group["betas"], group["momentum_decay"]
        if not state:
            state["step"] = 0
            state["mu_product"] = scalar_dtype().type(1.0)
            _zeros_state(state, param, "exp_avg", "exp_avg_sq")  # keys in PyTorch's order
        state["step"] += 1
        t = state["step"]
        bias_correction2 = 1 - beta2**t
        grad = decayed_gradient(param, grad, group, group["decoupled_weight_decay"])
        mu = beta1 * (1.0 - 0.5 * (0.96 ** (t * psi)))
        mu_next = beta1 * (1.0 - 0.5 * (0.96 ** ((t + 1) * psi)))
        state["mu_product"] = state["mu_product"] * mu  # rounded in the scalar dtype
        mu_product = float(state["mu_product"])
        _moments(state, grad, beta1, beta2)
        denom = xp.sqrt(state["exp_avg_sq"] / bias_correction2)
        denom += group["eps"]
        param += (-lr * (1.0 - mu) / (1.0 - mu_product) * grad) / denom
        param += ((-lr * mu_next) / (1.0 - mu_product * mu_next) * state["exp_avg"]) / denom


class RAdam(Optimizer):
    """RAdam (Liu et al. 2020): Adam with its variance rectified, PyTorch's form. With
    rho_inf = 2 / (1 - beta2) - 1 and rho_t = rho_inf - 2 t beta2^t / (1 - beta2^t):

        m_hat = m / (1 - beta1^t)
        rho_t > 5:  r = sqrt((rho_t - 4)(rho_t - 2) rho_inf / ((rho_inf - 4)(rho_inf - 2) rho_t))
                    p = p - m_hat lr sqrt(1 - beta2^t) / (sqrt(v) + eps) r
        else:       p = p - m_hat lr                         (plain momentum, early on)
    """

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0,
                 decoupled_weight_decay=False, *, foreach=None, maximize=False,
                 capturable=False, differentiable=False):
        super().__init__(params, dict(
            lr=as_number(lr, "lr"), betas=_pair(betas), eps=eps, weight_decay=weight_decay,
            maximize=maximize, foreach=foreach, capturable=capturable,
            decoupled_weight_decay=decoupled_weight_decay, differentiable=differentiable))

    _check_group = Adam._check_group

    def _update(self, param, grad, state, group):
        xp = backend.xp_of(param)
        lr, (beta1, beta2) = group["lr"], group["betas"]
        if not state:
            _zeros_state(state, param, "exp_avg", "exp_avg_sq")
        state["step"] += 1
        t = state["step"]
        grad = decayed_gradient(param, grad, group, group["decoupled_weight_decay"])
        _moments(state, grad, beta1, beta2)
        bias_correction1 = 1 - beta1**t
        bias_correction2 = 1 - beta2**t
        m_hat = state["exp_avg"] / bias_correction1
        rho_inf = 2 / (1 - beta2) - 1
        rho_t = rho_inf - 2 * t * (beta2**t) / bias_correction2
        if rho_t > 5.0:
            rect = ((rho_t - 4) * (rho_t - 2) * rho_inf
                    / ((rho_inf - 4) * (rho_inf - 2) * rho_t)) ** 0.5
            root = xp.sqrt(state["exp_avg_sq"])
            root += group["eps"]
            param -= m_hat * lr * ((bias_correction2**0.5) / root) * rect
        else:
            param -= m_hat * lr


def _pair(betas):
    """``betas`` as a tuple of numbers (one-element Tensors allowed), or as given for the
    check to refuse."""
    if isinstance(betas, (tuple, list)):
        return tuple(as_number(b, f"betas[{i}]") for i, b in enumerate(betas))
    return betas
