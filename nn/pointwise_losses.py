"""Elementwise losses: input and target of one shape, a loss per element, then reduced.

Functions:  Elementwise (the base)  SquaredError  AbsoluteError  SmoothL1  Huber
            BinaryCrossEntropy  BCEWithLogits  KLDivergence
Wrappers:   mse_loss l1_loss smooth_l1_loss huber_loss binary_cross_entropy
            binary_cross_entropy_with_logits kl_div
Modules:    MSELoss L1Loss SmoothL1Loss HuberLoss BCELoss BCEWithLogitsLoss KLDivLoss

The target must have the input's shape: PyTorch warns and broadcasts a
mismatch (or refuses, for the binary losses); here every one is refused
with a ValueError, because a silently broadcast loss trains the wrong model.
Targets are differentiable where PyTorch's are (all of these); ``weight``
and ``pos_weight`` of the binary losses are constants (broadcast against
the input: ``pos_weight`` (C,) over the last, class, axis), while the
``weight`` of ``mse_loss`` / ``l1_loss`` / ``huber_loss`` (the input's
shape) is composed from engine ops and so differentiable, as PyTorch.
"""

import warnings

import numpy as np

from engine import Function, Tensor, backend, stable_sigmoid
from nn._reduction import REDUCTIONS, check_reduction, constant, safe_divide
from nn.module import Module, array_of

# ---------------------------------------------------------------- Functions


def _reduce(losses, reduction):
    """Elementwise losses summed, averaged (empty: nan, as PyTorch) or kept."""
    if reduction == "none":
        return losses
    total = losses.sum()
    if reduction == "sum":
        return total
    count = backend.xp_of(losses).asarray(losses.size, dtype=losses.dtype)
    return safe_divide(total, count)  # "mean"; "batchmean" is divided by the wrapper


class Elementwise(Function):
    """Base of the losses here: a subclass gives ``losses(x, y)`` (one per element) and,
    beside it, ``slopes(g)``: the gradients for x and y (None where not needed) given g,
    the gradient of each element's loss."""

    def forward(self, x, y, reduction, **settings):
        self.x, self.y, self.reduction = x, y, reduction
        self.__dict__.update(settings)
        return _reduce(self.losses(x, y), reduction)

    def backward(self, grad):
        g = grad / max(self.x.size, 1) if self.reduction == "mean" else grad  # "none": x's shape
        return self.slopes(g)


class SquaredError(Elementwise):
    def losses(self, x, y):
        return (x - y) ** 2

    def slopes(self, g):
        # d (x - y)^2 = 2 (x - y) (dx - dy)
        dx = 2 * g * (self.x - self.y)
        return dx, -dx if self.needs_input_grad[1] else None


class AbsoluteError(Elementwise):
    def losses(self, x, y):
        return backend.xp_of(x).abs(x - y)

    def slopes(self, g):
        # d |x - y| = sign(x - y) (dx - dy), 0 at x = y (as PyTorch)
        dx = g * backend.xp_of(g).sign(self.x - self.y)
        return dx, -dx if self.needs_input_grad[1] else None


class SmoothL1(Elementwise):
    """0.5 d^2 / beta where |d| < beta, else |d| - 0.5 beta (d = x - y, beta > 0)."""

    def losses(self, x, y):
        xp, d = backend.xp_of(x), x - y
        a = xp.abs(d)
        return xp.where(a < self.beta, 0.5 * d * d / self.beta, a - 0.5 * self.beta)

    def slopes(self, g):
        # d loss = clip(d / beta, -1, 1) (dx - dy)
        dx = g * backend.xp_of(g).clip((self.x - self.y) / self.beta, -1, 1)
        return dx, -dx if self.needs_input_grad[1] else None


class Huber(Elementwise):
    """0.5 d^2 where |d| < delta, else delta (|d| - 0.5 delta): delta * SmoothL1(beta=delta)."""

    def losses(self, x, y):
        xp, d = backend.xp_of(x), x - y
        a = xp.abs(d)
        return xp.where(a < self.delta, 0.5 * d * d, self.delta * (a - 0.5 * self.delta))

    def slopes(self, g):
        # d loss = clip(d, -delta, delta) (dx - dy)
        dx = g * backend.xp_of(g).clip(self.x - self.y, -self.delta, self.delta)
        return dx, -dx if self.needs_input_grad[1] else None


class BinaryCrossEntropy(Elementwise):
    """-w [y log x + (1 - y) log(1 - x)] for probabilities x, each log clamped at -100
    (PyTorch's: the loss stays finite at x = 0 or 1)."""

    def losses(self, x, y):
        xp = backend.xp_of(x)
        with np.errstate(divide="ignore"):  # log 0 = -inf, clamped next
            log_x, log_1mx = xp.maximum(xp.log(x), -100), xp.maximum(xp.log1p(-x), -100)
        return _weighted(-(y * log_x + (1 - y) * log_1mx), self.weight)

    def slopes(self, g):
        # d loss = w (x - y) / (x (1 - x)) dx + w (log(1 - x) - log x) dy; PyTorch bounds the
        # denominator below by 1e-12 (its gradient, not the clamped loss's)
        xp, x = backend.xp_of(g), self.x
        g = _weighted(g, self.weight)
        dx = g * (x - self.y) / xp.maximum(x * (1 - x), 1e-12)
        if not self.needs_input_grad[1]:
            return dx, None
        with np.errstate(divide="ignore"):
            return dx, g * (xp.log1p(-x) - xp.log(x))


class BCEWithLogits(Elementwise):
    """w [(1 - y) x - (1 + (p - 1) y) log s(x)] = -w [p y log s(x) + (1 - y) log(1 - s(x))]
    from logits x (s the sigmoid, p = pos_weight, 1 without), computed with
    log s(x) = min(x, 0) - log(1 + exp(-|x|)): exp only sees -|x|, nothing overflows."""

    def losses(self, x, y):
        xp = backend.xp_of(x)
        self.log_s = xp.minimum(x, 0) - xp.log1p(xp.exp(-xp.abs(x)))  # log s(x)
        scale = 1 if self.pos_weight is None else 1 + (self.pos_weight - 1) * y
        return _weighted((1 - y) * x - scale * self.log_s, self.weight)

    def slopes(self, g):
        # d loss = w [(1 + (p - 1) y) s(x) - p y] dx - w [x + (p - 1) log s(x)] dy
        x, y, p = self.x, self.y, self.pos_weight
        g = _weighted(g, self.weight)
        s = stable_sigmoid(x)
        dx = g * (s - y if p is None else (1 + (p - 1) * y) * s - p * y)
        if not self.needs_input_grad[1]:
            return dx, None
        return dx, -g * (x if p is None else x + (p - 1) * self.log_s)


class KLDivergence(Elementwise):
    """y (log y - x) (0 where y = 0), x the log-probabilities and y the probabilities
    (or, with ``log_target``, log-probabilities: exp(y) (y - x))."""

    def losses(self, x, y):
        xp = backend.xp_of(x)
        if self.log_target:
            return xp.exp(y) * (y - x)
        with np.errstate(invalid="ignore"):  # y < 0: nan, as PyTorch
            y_log_y = xp.where(y == 0, 0, y * xp.log(xp.where(y == 0, 1, y)))
        return y_log_y - y * x

    def slopes(self, g):
        # d loss = -y dx + (log y + 1 - x) dy  (log_target: -e^y dx + e^y (y - x + 1) dy)
        xp, x, y = backend.xp_of(g), self.x, self.y
        if self.log_target:
            e = xp.exp(y)
            return -g * e, g * e * (y - x + 1) if self.needs_input_grad[1] else None
        if not self.needs_input_grad[1]:
            return -g * y, None
        with np.errstate(invalid="ignore"):  # at y = 0 the gradient is nan, as PyTorch's
            dy = xp.where(y > 0, xp.log(xp.where(y > 0, y, 1)) + 1 - x, xp.nan)
        return -g * y, g * dy


def _weighted(losses, weight):
    return losses if weight is None else losses * weight


# ---------------------------------------------------------------- checks


def _same_shape(op, input, target):
    """``target`` as a Tensor beside ``input``, which must have the same shape."""
    if not isinstance(input, Tensor):
        raise TypeError(f"{op}: input must be a Tensor; got {type(input).__name__}")
    if input.dtype.kind != "f":
        raise RuntimeError(f"{op}: input must be a float tensor; got dtype {input.dtype}")
    if not isinstance(target, Tensor) or target.dtype.kind != "f":  # numbers: input's dtype
        array = array_of(target)
        target = Tensor(backend.to_device(array.astype(input.dtype), input.device))
    if target.shape != input.shape:
        raise ValueError(f"{op}: target must have the input's shape {input.shape} (nothing is "
                         f"broadcast); got {target.shape}")
    return target


def _broadcast_weight(op, name, weight, input):
    """A constant weight that broadcasts against the input without changing its shape."""
    weight = constant(op, name, weight, input)
    if weight is not None:
        try:
            fits = np.broadcast_shapes(weight.shape, input.shape) == input.shape
        except ValueError:
            fits = False
        if not fits:
            raise ValueError(f"{op}: {name} must broadcast to the input's shape {input.shape}; "
                             f"got {weight.shape}")
    return weight


def _apply(function, op, input, target, reduction, **settings):
    check_reduction(op, reduction)
    target = _same_shape(op, input, target)
    return function.apply(input, target, reduction=reduction, **settings)


def _with_weight(function, op, input, target, reduction, weight, mean_by_weight, **settings):
    """PyTorch's ``weight`` (the input's shape) of mse/l1/huber, composed from engine ops (so
    a weight that requires grad gets one): "mean" divides by sum(weight) (mse, l1) or by
    the count (huber)."""
    check_reduction(op, reduction)
    if not isinstance(weight, Tensor):
        weight = Tensor(backend.to_device(array_of(weight).astype(input.dtype), input.device))
    if weight.shape != input.shape:
        raise ValueError(f"{op}: weight must have the input's shape {input.shape}; got "
                         f"{weight.shape}")
    losses = _apply(function, op, input, target, "none", **settings) * weight
    if reduction == "none":
        return losses
    if reduction == "sum" or not mean_by_weight:
        return getattr(losses, reduction)()
    return losses.sum() / weight.sum()


# ---------------------------------------------------------------- wrappers


def mse_loss(input, target, *, reduction="mean", weight=None):
    """Squared error (x - y)^2, averaged, summed or elementwise (``weight``: w (x - y)^2,
    "mean" divided by sum(w)). Shapes: input and target the same, any shape.

    >>> import engine
    >>> mse_loss(engine.tensor([1.0, 3.0]), [0.0, 0.0]).item()
    5.0
    """
    if weight is not None:
        return _with_weight(SquaredError, "mse_loss", input, target, reduction, weight, True)
    return _apply(SquaredError, "mse_loss", input, target, reduction)


def l1_loss(input, target, *, reduction="mean", weight=None):
    """Absolute error |x - y| (``weight``: w |x - y|, "mean" divided by sum(w)).

    >>> import engine
    >>> l1_loss(engine.tensor([1.0, -3.0]), [0.0, 0.0]).item()
    2.0
    """
    if weight is not None:
        return _with_weight(AbsoluteError, "l1_loss", input, target, reduction, weight, True)
    return _apply(AbsoluteError, "l1_loss", input, target, reduction)


def smooth_l1_loss(input, target, *, reduction="mean", beta=1.0):
    """0.5 (x - y)^2 / beta where |x - y| < beta, else |x - y| - 0.5 beta (beta = 0: l1).

    >>> import engine
    >>> smooth_l1_loss(engine.tensor([0.5, 3.0]), [0.0, 0.0], reduction="none").tolist()
    [0.125, 2.5]
    """
    if beta < 0:
        raise RuntimeError(f"smooth_l1_loss: beta must be >= 0; got {beta}")
    if beta == 0:
        return _apply(AbsoluteError, "smooth_l1_loss", input, target, reduction)
    return _apply(SmoothL1, "smooth_l1_loss", input, target, reduction, beta=float(beta))


def huber_loss(input, target, reduction="mean", delta=1.0, weight=None):
    """0.5 (x - y)^2 where |x - y| < delta, else delta (|x - y| - 0.5 delta)
    (``weight``: w times that, "mean" divided by the count, as PyTorch).

    >>> import engine
    >>> huber_loss(engine.tensor([0.5, 3.0]), [0.0, 0.0], delta=2.0, reduction="none").tolist()
    [0.125, 4.0]
    """
    if not delta > 0:
        raise RuntimeError(f"huber_loss: delta must be > 0; got {delta}")
    if weight is not None:
        return _with_weight(Huber, "huber_loss", input, target, reduction, weight, False,
                            delta=float(delta))
    return _apply(Huber, "huber_loss", input, target, reduction, delta=float(delta))


def binary_cross_entropy(input, target, weight=None, *, reduction="mean"):
    """-w [y log x + (1 - y) log(1 - x)] for probabilities x, y in [0, 1]; each log is
    clamped at -100, as PyTorch. ``weight`` broadcasts against the input.

    >>> import engine
    >>> round(binary_cross_entropy(engine.tensor([0.5]), [1.0]).item(), 4)
    0.6931
    """
    op = "binary_cross_entropy"
    check_reduction(op, reduction)
    target = _same_shape(op, input, target)
    for name, t in (("input", input), ("target", target)):
        if ((t.array < 0) | (t.array > 1)).any():
            raise RuntimeError(f"{op}: all elements of {name} must be in [0, 1]; got values "
                               f"from {float(t.array.min())} to {float(t.array.max())}")
    weight = _broadcast_weight(op, "weight", weight, input)
    return BinaryCrossEntropy.apply(input, target, reduction=reduction, weight=weight)


def binary_cross_entropy_with_logits(input, target, weight=None, *, reduction="mean",
                                     pos_weight=None):
    """-w [p y log s(x) + (1 - y) log(1 - s(x))] from logits x (s the sigmoid), computed
    without overflow; ``pos_weight`` p (e.g. (C,), broadcast over the last axis) weighs
    the positive term, ``weight`` w the whole. Shapes: input and target the same.

    >>> import engine
    >>> round(binary_cross_entropy_with_logits(engine.tensor([0.0]), [1.0]).item(), 4)
    0.6931
    """
    op = "binary_cross_entropy_with_logits"
    check_reduction(op, reduction)
    target = _same_shape(op, input, target)
    weight = _broadcast_weight(op, "weight", weight, input)
    pos_weight = _broadcast_weight(op, "pos_weight", pos_weight, input)
    return BCEWithLogits.apply(input, target, reduction=reduction, weight=weight,
                               pos_weight=pos_weight)


def kl_div(input, target, *, reduction="mean", log_target=False):
    """Kullback-Leibler divergence of the target from the input: y (log y - x) per element,
    with x log-probabilities and y probabilities (``log_target``: y log-probabilities too).
    "batchmean" divides the sum by the batch size input.shape[0] (KL's definition);
    "mean" by the number of elements, with PyTorch's warning.

    >>> import engine, math
    >>> x = engine.tensor([[math.log(0.5), math.log(0.5)]])
    >>> kl_div(x, [[0.5, 0.5]], reduction="batchmean").item()
    0.0
    """
    op = "kl_div"
    check_reduction(op, reduction, (*REDUCTIONS, "batchmean"))
    target = _same_shape(op, input, target)
    if reduction == "mean":
        warnings.warn("kl_div: reduction='mean' divides the total by the number of elements, "
                      "not by the batch size; 'batchmean' gives KL's definition (PyTorch's "
                      "warning)", UserWarning, stacklevel=2)
    summed = "sum" if reduction == "batchmean" else reduction
    loss = KLDivergence.apply(input, target, reduction=summed, log_target=bool(log_target))
    return loss / input.shape[0] if reduction == "batchmean" and input.ndim else loss


# ---------------------------------------------------------------- Modules


class _Loss(Module):
    """PyTorch's ``_Loss``: a ``reduction`` checked when made."""

    reductions = REDUCTIONS

    def __init__(self, reduction="mean"):
        super().__init__()
        check_reduction(type(self).__name__, reduction, self.reductions)
        self.reduction = reduction


class MSELoss(_Loss):
    """Module form of ``mse_loss``."""

    def __init__(self, *, reduction="mean"):
        super().__init__(reduction)

    def forward(self, input, target):
        return mse_loss(input, target, reduction=self.reduction)


class L1Loss(_Loss):
    """Module form of ``l1_loss``."""

    def __init__(self, *, reduction="mean"):
        super().__init__(reduction)

    def forward(self, input, target):
        return l1_loss(input, target, reduction=self.reduction)


class SmoothL1Loss(_Loss):
    """Module form of ``smooth_l1_loss``."""

    def __init__(self, *, reduction="mean", beta=1.0):
        super().__init__(reduction)
        if beta < 0:
            raise RuntimeError(f"SmoothL1Loss: beta must be >= 0; got {beta}")
        self.beta = beta

    def forward(self, input, target):
        return smooth_l1_loss(input, target, reduction=self.reduction, beta=self.beta)


class HuberLoss(_Loss):
    """Module form of ``huber_loss``."""

    def __init__(self, reduction="mean", delta=1.0):
        super().__init__(reduction)
        if not delta > 0:
            raise RuntimeError(f"HuberLoss: delta must be > 0; got {delta}")
        self.delta = delta

    def forward(self, input, target):
        return huber_loss(input, target, reduction=self.reduction, delta=self.delta)


class BCELoss(_Loss):
    """Module form of ``binary_cross_entropy``; ``weight`` is a buffer, as PyTorch."""

    def __init__(self, weight=None, *, reduction="mean"):
        super().__init__(reduction)
        self.register_buffer("weight", None if weight is None else Tensor(array_of(weight)))

    def forward(self, input, target):
        return binary_cross_entropy(input, target, self.weight, reduction=self.reduction)


class BCEWithLogitsLoss(_Loss):
    """Module form of ``binary_cross_entropy_with_logits``; ``weight`` and ``pos_weight``
    are buffers, as PyTorch."""

    def __init__(self, weight=None, *, reduction="mean", pos_weight=None):
        super().__init__(reduction)
        self.register_buffer("weight", None if weight is None else Tensor(array_of(weight)))
        self.register_buffer("pos_weight",
                             None if pos_weight is None else Tensor(array_of(pos_weight)))

    def forward(self, input, target):
        return binary_cross_entropy_with_logits(input, target, self.weight,
                                                reduction=self.reduction,
                                                pos_weight=self.pos_weight)


class KLDivLoss(_Loss):
    """Module form of ``kl_div``."""

    reductions = (*REDUCTIONS, "batchmean")

    def __init__(self, *, reduction="mean", log_target=False):
        super().__init__(reduction)
        self.log_target = log_target

    def forward(self, input, target):
        return kl_div(input, target, reduction=self.reduction, log_target=self.log_target)
