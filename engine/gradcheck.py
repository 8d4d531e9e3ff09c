"""gradcheck: analytic gradients against float64 central differences.

    numeric  d f / d x_k  ~  (f(x + eps e_k) - f(x - eps e_k)) / (2 eps)

``f`` is reduced to a scalar with a fixed random weighting of its output
(``sum(w * fn(*inputs))``), so every output element is checked at once.
``mode="full"`` perturbs every element of every input that requires grad;
``mode="random"`` checks one seeded random direction per input (the
directional derivative, Chainer's ``check_backward``): two evaluations of
``fn`` per input instead of two per element, for large inputs.
"""

import numpy as np

from engine import backend
from engine.tensor import Tensor, no_grad


def gradcheck(fn, inputs, eps=1e-6, atol=1e-5, rtol=1e-3, mode="full", seed=0):
    """Check the gradients of ``fn(*inputs)`` with respect to each input that requires grad.

    ``inputs`` are Tensors; those with ``requires_grad`` must be float64 (pass a
    model's parameters in ``inputs`` to check them too: they are perturbed in
    place and restored). Returns True, or raises an AssertionError naming the
    input, the worst element, and the analytic and numeric values.

    >>> x = Tensor(np.array([0.5, -1.0]), requires_grad=True)
    >>> gradcheck(lambda t: (t * t).tanh(), [x])
    True
    """
    if mode not in ("full", "random"):
        raise ValueError(f"gradcheck: mode must be 'full' or 'random'; got {mode!r}")
    inputs = list(inputs)
    checked = [i for i, t in enumerate(inputs) if isinstance(t, Tensor) and t.requires_grad]
    if not checked:
        raise ValueError("gradcheck: no input requires grad")
    for i in checked:
        if inputs[i].dtype != np.float64:
            raise TypeError(
                f"gradcheck: input {i} is {inputs[i].dtype}; finite differences need float64 "
                "(use .astype('float64'), or module.to(dtype='float64') for parameters)"
            )
    rng = np.random.default_rng(seed)
    out = fn(*inputs)
    xp = backend.xp_of(out.array)
    weight = xp.asarray(rng.standard_normal(out.shape))

    def objective():
        with no_grad():
            return float((fn(*inputs).array * weight).sum())

    saved_grads = [inputs[i].grad for i in checked]
    for i in checked:
        inputs[i].grad = None
    out.backward(Tensor(weight))
    analytic = [backend.to_numpy(inputs[i].grad.array) if inputs[i].grad is not None
                else np.zeros(inputs[i].shape) for i in checked]
    for i, grad in zip(checked, saved_grads):
        inputs[i].grad = grad

    for i, grad in zip(checked, analytic):
        data = inputs[i].array
        if mode == "full":
            numeric = np.zeros(data.shape)
            for k in np.ndindex(data.shape):
                numeric[k] = _central_difference(objective, data, k, eps)
            _report(i, data.shape, grad, numeric, atol, rtol)
        else:
            direction = rng.standard_normal(data.shape)
            along = _central_difference(objective, data, xp.asarray(direction), eps)
            _report(i, data.shape, np.array([(grad * direction).sum()]), np.array([along]),
                    atol, rtol, what=f"the derivative along a random direction (seed {seed})")
    return True


def _central_difference(objective, data, step, eps):
    """(f(x + eps s) - f(x - eps s)) / 2 eps, for s an element index or a direction array."""
    original = data.copy()
    if isinstance(step, tuple):
        data[step] = original[step] + eps
        plus = objective()
        data[step] = original[step] - eps
        minus = objective()
    else:
        data[...] = original + eps * step
        plus = objective()
        data[...] = original - eps * step
        minus = objective()
    data[...] = original
    return (plus - minus) / (2 * eps)


def _report(index, shape, analytic, numeric, atol, rtol, what="the gradient"):
    error = np.abs(analytic - numeric) - (atol + rtol * np.abs(numeric))
    if not (error <= 0).all():
        error = np.where(np.isnan(error), np.inf, error)  # a nan is the worst
        worst = tuple(int(i) for i in np.unravel_index(np.argmax(error), error.shape))
        raise AssertionError(
            f"gradcheck failed for input {index} (shape {shape}), {what}: worst element {worst}: "
            f"analytic {analytic[worst]:.8g}, numeric {numeric[worst]:.8g}, "
            f"|difference| {abs(analytic[worst] - numeric[worst]):.3g} > "
            f"atol + rtol * |numeric| = {atol + rtol * abs(numeric[worst]):.3g}"
        )
