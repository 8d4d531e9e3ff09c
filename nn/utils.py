"""Gradient clipping, in place, as PyTorch: clip_grad_norm_, clip_grad_value_."""

import math

import numpy as np

from engine import Tensor, backend


def _grads(parameters):
    parameters = [parameters] if isinstance(parameters, Tensor) else list(parameters)
    return [p.grad for p in parameters if p.grad is not None]


def clip_grad_norm_(parameters, max_norm, norm_type=2.0, error_if_nonfinite=False):
    """Scale all gradients together so that their global norm is at most ``max_norm``.

    total = (sum over all gradient elements |g|^norm_type)^(1/norm_type), in float64
    (``norm_type=inf``: the largest |g|). When max_norm / (total + 1e-6) < 1 every
    gradient is multiplied by it. Returns ``total`` as a float (0.0 without gradients).
    A nan or inf total raises RuntimeError if ``error_if_nonfinite``; otherwise an inf
    total scales by 0 and a nan one leaves the gradients as they are.

    >>> import numpy as np, engine, nn
    >>> w = nn.Parameter(np.zeros(2))
    >>> w.grad = engine.tensor(np.array([3.0, 4.0]))
    >>> clip_grad_norm_([w], max_norm=1.0), [round(g, 4) for g in w.grad.tolist()]
    (5.0, [0.6, 0.8])
    """
    grads = _grads(parameters)
    if not grads:
        return 0.0
    norm_type = float(norm_type)
    by_device = {}  # device -> the per-gradient partial results there (one sync per device)
    for g in grads:
        if g.array.size:
            magnitude = backend.xp_of(g.array).abs(g.array.astype(np.float64))
            partial = magnitude.max() if norm_type == math.inf else (magnitude**norm_type).sum()
            by_device.setdefault(g.device, []).append(partial)
    partials = [backend.xp_of(p[0]).stack(p) for p in by_device.values()]
    if norm_type == math.inf:
        total = max((float(p.max()) for p in partials), default=0.0)
    else:
        total = sum(float(p.sum()) for p in partials) ** (1 / norm_type)
    if error_if_nonfinite and not math.isfinite(total):
        raise RuntimeError(
            f"clip_grad_norm_: the total norm of order {norm_type} of the gradients is {total}; "
            "pass error_if_nonfinite=False to clip anyway"
        )
    scale = max_norm / (total + 1e-6)
    if scale < 1:
        for g in grads:
            g.array *= g.array.dtype.type(scale)
    return total


def clip_grad_value_(parameters, clip_value):
    """Clip every gradient element to [-clip_value, clip_value], in place.

    >>> import numpy as np, engine, nn
    >>> w = nn.Parameter(np.zeros(2))
    >>> w.grad = engine.tensor(np.array([-3.0, 0.5]))
    >>> clip_grad_value_([w], 1.0); w.grad.tolist()
    [-1.0, 0.5]
    """
    if clip_value < 0:
        raise ValueError(f"clip_grad_value_: clip_value must be >= 0; got {clip_value}")
    for g in _grads(parameters):
        backend.xp_of(g.array).clip(g.array, -clip_value, clip_value, out=g.array)
