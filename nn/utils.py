"""Gradient clipping and flat parameter vectors, as PyTorch's ``torch.nn.utils``:
clip_grad_norm_ (get_total_norm, clip_grads_with_norm_), clip_grad_value_,
parameters_to_vector, vector_to_parameters.

Clipping changes the gradients' arrays in place; every argument is checked
before any gradient changes. ``foreach`` is accepted for PyTorch's signature:
there is one implementation.
"""

import math
import numbers
import types
import warnings

import numpy as np

import engine
from engine import Tensor, backend


def _tensors(parameters):
    return [parameters] if isinstance(parameters, Tensor) else list(parameters)


def _grads(parameters):
    return [p.grad for p in parameters if p.grad is not None]


def _check_norm_type(norm_type):
    """``norm_type`` as a float > 0 (inf included); order 0 (a count of non-zero
    gradients, which PyTorch computes) and negative orders are no norms to clip by."""
    try:
        order = float(norm_type)
    except (TypeError, ValueError):
        raise TypeError(f"norm_type must be a number or 'inf'; got {norm_type!r}") from None
    if not order > 0:
        raise ValueError(f"norm_type must be > 0 (or inf); got {norm_type!r}: order 0 counts "
                         "non-zero entries and is no norm to clip by")
    return order


def get_total_norm(tensors, norm_type=2.0, error_if_nonfinite=False, foreach=None):
    """The p-norm of all ``tensors`` together, as if concatenated into one vector:
    (sum over all elements |x|^p)^(1/p), or max |x| for ``norm_type=inf``.

    Accumulated in float64 (one host transfer per device); returned as a 0-d Tensor
    of the tensors' dtype on the first one's device (a float32 zero for none), as
    PyTorch does. A nan or inf total raises RuntimeError if ``error_if_nonfinite``.
    """
    tensors = _tensors(tensors)
    order = _check_norm_type(norm_type)
    if not tensors:
        return engine.tensor(0.0)
    by_device = {}  # device -> partial results there, summed on the host once per device
    for t in tensors:
        if t.array.size:
            xp, values = backend.xp_of(t.array), t.array.astype(np.float64, copy=False).ravel()
            if order == 2:  # the sum of squares, one pass (a dot product)
                partial = xp.dot(values, values)
            else:
                magnitude = xp.abs(values)
                partial = magnitude.max() if order == math.inf else (magnitude**order).sum()
            by_device.setdefault(t.device, []).append(partial)
    partials = [backend.xp_of(p[0]).stack(p) for p in by_device.values()]
    if order == math.inf:
        total = max((float(p.max()) for p in partials), default=0.0)
    else:
        total = sum(float(p.sum()) for p in partials) ** (1 / order)
    if error_if_nonfinite and not math.isfinite(total):
        raise RuntimeError(f"The total norm of order {order} for gradients from `parameters` is "
                           f"non-finite ({total}), so it cannot be clipped. To disable this error "
                           "and scale the gradients by the non-finite norm anyway, set "
                           "`error_if_nonfinite=False`")
    dtype = np.result_type(*(t.dtype for t in tensors))
    return engine.tensor(np.asarray(total, dtype=dtype), device=tensors[0].device)


def clip_grads_with_norm_(parameters, max_norm, total_norm, foreach=None):
    """Multiply every gradient by min(max_norm / (total_norm + 1e-6), 1), in place.

    The factor is computed in ``total_norm``'s dtype, as PyTorch does; a nan total
    makes every gradient nan, an inf one makes them 0 (as in PyTorch).
    """
    max_norm = _check_max_norm(max_norm)
    grads = _grads(_tensors(parameters))
    if not grads:
        return
    total = total_norm.array if isinstance(total_norm, Tensor) else np.asarray(total_norm)
    total = backend.to_numpy(total)[()]  # a NumPy scalar of the total's dtype
    coef = max_norm / (total + 1e-6)
    if not coef < 1 and not math.isnan(coef):
        return  # the factor is 1: nothing changes
    for g in grads:
        with np.errstate(invalid="ignore"):  # inf * 0 is nan, as in PyTorch
            g.array *= g.array.dtype.type(coef)
        g._bump_version()


def clip_grad_norm_(parameters, max_norm, norm_type=2.0, error_if_nonfinite=False,
                    foreach=None):
    """Scale all gradients together so that their global norm is at most ``max_norm``.

    total = ``get_total_norm`` of the gradients; when max_norm / (total + 1e-6) < 1
    every gradient is multiplied by it. Returns ``total`` as a 0-d Tensor, as PyTorch
    does (``float(total)`` for a number). ``max_norm`` must be >= 0 and ``norm_type``
    > 0: PyTorch accepts a negative max_norm (it flips every gradient's sign) and
    order 0; here they raise ValueError before any gradient changes.

    >>> import numpy as np, engine, nn
    >>> w = nn.Parameter(np.zeros(2))
    >>> w.grad = engine.tensor(np.array([3.0, 4.0]))
    >>> float(clip_grad_norm_([w], max_norm=1.0)), [round(g, 4) for g in w.grad.tolist()]
    (5.0, [0.6, 0.8])
    """
    is_generator = isinstance(parameters, types.GeneratorType)
    parameters = _tensors(parameters)
    if is_generator and not parameters:
        warnings.warn("`parameters` is an empty generator, no gradient clipping will occur.",
                      stacklevel=2)
    _check_max_norm(max_norm)
    total = get_total_norm(_grads(parameters), norm_type, error_if_nonfinite, foreach)
    clip_grads_with_norm_(parameters, max_norm, total, foreach)
    return total


def clip_grad_value_(parameters, clip_value, foreach=None):
    """Clip every gradient element to [-clip_value, clip_value], in place.

    >>> import numpy as np, engine, nn
    >>> w = nn.Parameter(np.zeros(2))
    >>> w.grad = engine.tensor(np.array([-3.0, 0.5]))
    >>> clip_grad_value_([w], 1.0); w.grad.tolist()
    [-1.0, 0.5]
    """
    _real("clip_value", clip_value)
    if not clip_value >= 0:
        raise ValueError(f"clip_grad_value_: clip_value must be >= 0; got {clip_value}")
    for g in _grads(_tensors(parameters)):
        backend.xp_of(g.array).clip(g.array, -clip_value, clip_value, out=g.array)
        g._bump_version()


def parameters_to_vector(parameters):
    """The parameters flattened and joined into one vector (recorded in the graph, as
    ``torch.cat`` of views is).

    >>> import numpy as np, nn
    >>> a, b = nn.Parameter(np.ones((2, 2))), nn.Parameter(np.zeros(1))
    >>> parameters_to_vector([a, b]).tolist()
    [1.0, 1.0, 1.0, 1.0, 0.0]
    """
    parameters = _tensors(parameters)
    _one_device(parameters)
    return engine.concatenate([p.reshape(-1) for p in parameters])


def vector_to_parameters(vec, parameters):
    """Give each parameter its slice of ``vec`` (a 1-D Tensor of as many elements as the
    parameters hold), reshaped: as in PyTorch, each parameter then shares ``vec``'s memory.

    >>> import numpy as np, engine, nn
    >>> a, b = nn.Parameter(np.zeros((2, 2))), nn.Parameter(np.zeros(1))
    >>> vector_to_parameters(engine.arange(5.0), [a, b]); a.tolist(), b.tolist()
    ([[0.0, 1.0], [2.0, 3.0]], [4.0])
    """
    if not isinstance(vec, Tensor):
        raise TypeError(f"expected Tensor, but got: {type(vec).__name__}")
    parameters = _tensors(parameters)
    _one_device(parameters)
    total = sum(p.numel() for p in parameters)
    if vec.ndim != 1 or vec.numel() != total:
        raise ValueError(f"vector_to_parameters: vec must be a vector of {total} elements (the "
                         f"parameters' count); got shape {tuple(vec.shape)}")
    offset = 0
    for p in parameters:
        n = p.numel()
        p.data = vec.array[offset:offset + n].reshape(p.shape)
        offset += n


def _one_device(parameters):
    if len({str(p.device) for p in parameters}) > 1:
        raise TypeError("Found two parameters on different devices, this is currently not "
                        "supported.")


def _real(name, value):
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number; got {type(value).__name__} {value!r}")


def _check_max_norm(max_norm):
    if isinstance(max_norm, Tensor):
        max_norm = max_norm.item()
    _real("max_norm", max_norm)
    if not max_norm >= 0:
        raise ValueError(f"clip_grad_norm_: max_norm must be >= 0; got {max_norm} (a negative "
                         "max_norm would flip the sign of every gradient)")
    return float(max_norm)
