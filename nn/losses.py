"""Losses, as functions (also in ``nn.functional``) and as Modules, with PyTorch's names,
arguments and numbers.

Classification (logits or log-probabilities of shape (N, C), (N, C, d1, ...) or (C,)):
    cross_entropy   CrossEntropyLoss   class indices (N, d...) or class probabilities (N, C, d...)
    nll_loss        NLLLoss            class indices
Elementwise (input and target of one shape; defined in ``nn.pointwise_losses``):
    mse_loss l1_loss smooth_l1_loss huber_loss binary_cross_entropy
    binary_cross_entropy_with_logits kl_div, and their Modules

``reduction`` is "mean" | "sum" | "none" ("batchmean" too for ``kl_div``).
With class indices, targets equal to ``ignore_index`` add nothing and
"mean" divides by the summed class ``weight`` of the others (their count
without weights; all ignored: nan, with a zero gradient; counted targets of
zero weight only: nan, with nan gradient rows for them, both as PyTorch).

The deprecated ``size_average`` / ``reduce`` arguments are not taken, so the
arguments after ``weight`` are keyword-only: a PyTorch call that passes them
by position fails loudly instead of landing in the wrong slot.

Errors, of PyTorch's types: ValueError for shapes and ``reduction``,
IndexError for a class index out of range, RuntimeError for the other bad
values (a target's dtype, a weight's length, ``label_smoothing``, ...).
"""

from engine import Function, Tensor, backend
from nn._reduction import check_reduction, constant, safe_divide
from nn.module import Module, array_of
from nn.pointwise_losses import (
    BCELoss,
    BCEWithLogitsLoss,
    HuberLoss,
    KLDivLoss,
    L1Loss,
    MSELoss,
    SmoothL1Loss,
    binary_cross_entropy,
    binary_cross_entropy_with_logits,
    huber_loss,
    kl_div,
    l1_loss,
    mse_loss,
    smooth_l1_loss,
)

__all__ = [
    "BCELoss", "BCEWithLogitsLoss", "CrossEntropyLoss", "HuberLoss", "KLDivLoss", "L1Loss",
    "MSELoss", "NLLLoss", "SmoothL1Loss", "binary_cross_entropy",
    "binary_cross_entropy_with_logits", "cross_entropy", "huber_loss", "kl_div", "l1_loss",
    "mse_loss", "nll_loss", "smooth_l1_loss",
]


# ---------------------------------------------------------------- rows, picks, reductions


def _rows(x):
    """(N, C, d...) -> (N * d..., C): the class axis last, one sample per row."""
    if x.ndim == 2:
        return x, None
    moved = backend.xp_of(x).moveaxis(x, 1, -1)  # (N, d..., C)
    return moved.reshape(-1, x.shape[1]), moved.shape


def _unrows(grad, moved_shape):
    """The inverse of ``_rows`` for a gradient."""
    if moved_shape is None:
        return grad
    return backend.xp_of(grad).moveaxis(grad.reshape(moved_shape), -1, 1)


def _picks(xp, target, ignore_index, weight, dtype):
    """For class targets (M,): which rows count (M,) bool, the row numbers, each row's class
    (0 where ignored, so that it can index) and each row's weight w[t_i] (1 without
    weights; 0 where ignored)."""
    valid = target != ignore_index
    classes = xp.where(valid, target, 0)
    weights = valid.astype(dtype) if weight is None else xp.where(valid, weight[classes], 0)
    return valid, xp.arange(len(target)), classes, weights.astype(dtype, copy=False)


def _reduce_rows(losses, reduction, weight_sum, target_shape):
    """Per-row losses (M,) as asked: "mean" divides by ``weight_sum`` (0: nan, as PyTorch)."""
    if reduction == "none":
        return losses.reshape(target_shape)
    if reduction == "sum":
        return losses.sum()
    return safe_divide(losses.sum(), weight_sum)


def _row_scale(grad, reduction, weight_sum, valid):
    """d loss / d (row loss), (M,), 0 for ignored rows. "mean" over a zero weight sum gives
    nan for the counted rows (0 / 0, as PyTorch); with every row ignored nothing is nan."""
    xp = backend.xp_of(grad)
    if reduction == "none":
        grad = grad.reshape(-1)
    elif reduction == "mean":
        grad = safe_divide(grad, weight_sum)
    return xp.where(valid, grad, 0).astype(grad.dtype, copy=False)


# ---------------------------------------------------------------- Functions


class CrossEntropy(Function):
    """Softmax cross-entropy from logits and class indices, log-softmax and NLL in one op.

    With p_i = softmax(x_i), w the class weights (1 without), s = label_smoothing:
        loss_i = (1 - s) w[t_i] (-log p_i[t_i]) + (s / C) sum_c w_c (-log p_i[c])
    computed from the shifted logits z = x - max(x) (the largest is 0: exp never overflows),
    -log p_i[c] = log sum_k exp(z_ik) - z_ic. Backward reads exp(z) and its row sums,
    kept from forward: the only exp over the (M, C) array is forward's.
    """

    saved_inputs = ()

    def forward(self, logits, target, weight, ignore_index, reduction, label_smoothing):
        xp = backend.xp_of(logits)
        x, self.moved_shape = _rows(logits)  # (M, C)
        s, classes = label_smoothing, x.shape[1]
        self.valid, self.rows, self.t, self.w_t = _picks(xp, target.reshape(-1), ignore_index,
                                                         weight, x.dtype)
        e = x - x.max(axis=1, keepdims=True)  # z (M, C); becomes exp(z) in place below
        picked = e[self.rows, self.t]  # z_i[t_i] (M,)
        if s:
            spread = e.sum(axis=1) if weight is None else e @ weight  # sum_c w_c z_ic
        xp.exp(e, out=e)
        self.e, self.total = e, e.sum(axis=1)  # (M, C), (M,): total in [1, C]
        log_total = xp.log(self.total)
        losses = self.w_t * (log_total - picked)  # w[t_i] (-log p_i[t_i])
        self.w_all = classes if weight is None else weight.sum()
        if s:
            smooth = xp.where(self.valid, self.w_all * log_total - spread, 0)
            losses = (1 - s) * losses + (s / classes) * smooth
        self.weight, self.s, self.reduction = weight, s, reduction
        self.weight_sum = self.w_t.sum()
        return _reduce_rows(losses.astype(x.dtype, copy=False), reduction, self.weight_sum,
                            target.shape)

    def backward(self, grad):
        # d loss_i / d x_ic = (1 - s) w[t_i] (p_ic - [c = t_i]) + (s / C) (sum_k w_k p_ic - w_c)
        s, classes = self.s, self.e.shape[1]
        r = _row_scale(grad, self.reduction, self.weight_sum, self.valid)  # (M,)
        scale = ((1 - s) * self.w_t + (s / classes) * self.w_all) * r / self.total
        dx = self.e * scale[:, None]  # p_i times the row's factor, in one pass
        if s:
            per_class = 1 if self.weight is None else self.weight[None, :]
            dx -= (s / classes) * r[:, None] * per_class
        dx[self.rows, self.t] -= (1 - s) * r * self.w_t
        return _unrows(dx, self.moved_shape)


class SoftCrossEntropy(Function):
    """Cross-entropy against class probabilities y (the logits' shape):
    loss_i = -sum_c w_c y'_ic log softmax(x_i)_c, with y' = (1 - s) y + s / C;
    "mean" divides by the number of rows M, as PyTorch (not by the weights)."""

    saved_inputs = (1,)  # backward may read the target's own array (as y' = y)

    def forward(self, logits, target, weight, reduction, label_smoothing):
        xp = backend.xp_of(logits)
        x, self.moved_shape = _rows(logits)  # (M, C)
        y, _ = _rows(target)
        s, classes = label_smoothing, x.shape[1]
        if s:
            y = y * (1 - s) + s / classes
        self.wy = y if weight is None else y * weight  # (M, C)
        shifted = x - x.max(axis=1, keepdims=True)
        e = xp.exp(shifted)
        self.total = e.sum(axis=1, keepdims=True)  # (M, 1)
        self.log_p = shifted - xp.log(self.total)  # (M, C)
        self.e, self.weight, self.s, self.reduction = e, weight, s, reduction
        losses = -(self.wy * self.log_p).sum(axis=1)  # (M,)
        self.rows_count = x.dtype.type(len(losses))
        return _reduce_rows(losses, reduction, self.rows_count, target.shape[:1] +
                            target.shape[2:])

    def backward(self, grad):
        # d loss_i / d x_ic = p_ic sum_k w_k y'_ik - w_c y'_ic,  d / d y_ic = -(1 - s) w_c log p_ic
        if self.reduction == "none":
            r = grad.reshape(-1, 1)  # (M, 1)
        else:
            r = safe_divide(grad, self.rows_count) if self.reduction == "mean" else grad
        dx = self.e * (self.wy.sum(axis=1, keepdims=True) / self.total) - self.wy
        dx *= r
        dy = None
        if self.needs_input_grad[1]:
            dy = -(1 - self.s) * r * self.log_p
            if self.weight is not None:
                dy *= self.weight
            dy = _unrows(dy, self.moved_shape)
        return _unrows(dx, self.moved_shape), dy


class NLL(Function):
    """loss_i = -w[t_i] x_i[t_i] for log-probabilities x (w the class weights, 1 without)."""

    saved_inputs = ()

    def forward(self, log_probs, target, weight, ignore_index, reduction):
        xp = backend.xp_of(log_probs)
        x, self.moved_shape = _rows(log_probs)  # (M, C)
        self.valid, self.rows, self.t, self.w_t = _picks(xp, target.reshape(-1), ignore_index,
                                                         weight, x.dtype)
        self.shape, self.reduction, self.weight_sum = x.shape, reduction, self.w_t.sum()
        losses = xp.where(self.valid, -self.w_t * x[self.rows, self.t], 0)  # not 0 * inf
        return _reduce_rows(losses.astype(x.dtype, copy=False), reduction, self.weight_sum,
                            target.shape)

    def backward(self, grad):
        # d loss_i / d x_i = -w[t_i] onehot(t_i)
        dx = backend.xp_of(grad).zeros(self.shape, dtype=grad.dtype)
        r = _row_scale(grad, self.reduction, self.weight_sum, self.valid)  # (M,)
        dx[self.rows, self.t] = -r * self.w_t
        return _unrows(dx, self.moved_shape)


# ---------------------------------------------------------------- checks


def _class_weight(op, weight, logits):
    """Class weights (C,) as an array of the logits' dtype and device, or None."""
    weight = constant(op, "weight", weight, logits)
    classes = logits.shape[1]
    if weight is not None and weight.shape != (classes,):
        raise RuntimeError(f"{op}: weight must hold one value per class, shape ({classes},); "
                           f"got shape {weight.shape}")
    return weight


def _class_target(op, logits, target, ignore_index):
    """Integer class targets checked against logits (N, C, d...): the array on the logits'
    device. Raises naming what was expected and what came."""
    if target.dtype.kind not in "iu":
        also = f" or class probabilities of shape {logits.shape}" if op == "cross_entropy" else ""
        raise RuntimeError(f"{op}: target must hold integer class indices{also}; got dtype "
                           f"{target.dtype} and shape {target.shape}")
    expected = (logits.shape[0], *logits.shape[2:])
    if target.shape != expected:
        raise ValueError(f"{op}: input of shape {logits.shape} needs a target of shape "
                         f"{expected}; got {target.shape}")
    classes = logits.shape[1]
    outside = (target != ignore_index) & ((target < 0) | (target >= classes))
    if outside.any():
        raise IndexError(f"{op}: target values must be in [0, {classes}) or ignore_index="
                         f"{ignore_index}; got {int(target[outside].reshape(-1)[0])}")
    return backend.to_device(target, logits.device)


def _classification_input(op, logits):
    if not isinstance(logits, Tensor):
        raise TypeError(f"{op}: input must be a Tensor; got {type(logits).__name__}")
    if logits.dtype.kind != "f":
        raise RuntimeError(f"{op}: input must be a float tensor; got dtype {logits.dtype}")
    if logits.ndim == 0:
        raise ValueError(f"{op}: input must have shape (C,), (N, C) or (N, C, d...); got ()")


def _one_sample(loss_fn, logits, target, reduction, **options):
    """(C,) logits with a 0-d class index (or (C,) class probabilities) as a batch of one."""
    if not isinstance(target, Tensor):
        target = Tensor(array_of(target))
    if target.shape not in ((), logits.shape):
        raise ValueError(f"{loss_fn.__name__}: input of shape {logits.shape} needs a target of "
                         f"shape () or {logits.shape}; got {target.shape}")
    loss = loss_fn(logits.reshape(1, -1), target.reshape(1, *target.shape), reduction=reduction,
                   **options)
    return loss.reshape(()) if reduction == "none" else loss


# ---------------------------------------------------------------- wrappers


def cross_entropy(input, target, weight=None, *, ignore_index=-100, reduction="mean",
                  label_smoothing=0.0):
    """Softmax cross-entropy from logits, against class indices or class probabilities.

    Class indices t (integers, shape (N, d...)), p = softmax(x) over the class axis 1:
        loss_i = (1 - s) w[t_i] (-log p_i[t_i]) + (s / C) sum_c w_c (-log p_i[c])
    (s = label_smoothing, w = weight (C,), 1 without); targets equal to ``ignore_index``
    add nothing; "mean" divides by sum_i w[t_i] over the counted targets.
    Class probabilities y (floats, the input's shape): loss_i = -sum_c w_c y'_ic log p_ic,
    y' = (1 - s) y + s / C; "mean" divides by the number of samples N * d....
    Finite for logits of any size (the maximum is shifted out).
    Shapes: input (N, C), (N, C, d...) or (C,); target (N,), (N, d...) or (), or the input's.

    >>> import engine
    >>> loss = cross_entropy(engine.tensor([[0.0, 0.0]]), [1])
    >>> round(loss.item(), 4)  # log 2
    0.6931
    >>> round(cross_entropy(engine.tensor([[0.0, 0.0]]), [[0.5, 0.5]]).item(), 4)
    0.6931
    """
    op = "cross_entropy"
    check_reduction(op, reduction)
    _classification_input(op, input)
    if not 0.0 <= label_smoothing <= 1.0:
        raise RuntimeError(f"{op}: label_smoothing must be in [0, 1]; got {label_smoothing}")
    if input.ndim == 1:
        return _one_sample(cross_entropy, input, target, reduction, weight=weight,
                           ignore_index=ignore_index, label_smoothing=label_smoothing)
    weight = _class_weight(op, weight, input)
    raw = array_of(target)  # a Tensor's own array, as it is
    if raw.shape == input.shape and raw.dtype.kind == "f":  # class probabilities
        if ignore_index >= 0:
            raise RuntimeError(f"{op}: ignore_index is not supported with class probabilities "
                               f"as targets; got ignore_index={ignore_index}")
        if not isinstance(target, Tensor):
            target = Tensor(backend.to_device(raw.astype(input.dtype), input.device))
        return SoftCrossEntropy.apply(input, target, weight=weight, reduction=reduction,
                                      label_smoothing=float(label_smoothing))
    target = _class_target(op, input, raw, ignore_index)
    return CrossEntropy.apply(input, target=target, weight=weight, ignore_index=ignore_index,
                              reduction=reduction, label_smoothing=float(label_smoothing))


def nll_loss(input, target, weight=None, *, ignore_index=-100, reduction="mean"):
    """Negative log-likelihood of class indices given log-probabilities: -w[t_i] x_i[t_i].

    ``weight`` (C,) scales each class (1 without); targets equal to ``ignore_index`` add
    nothing; "mean" divides by sum_i w[t_i] over the counted targets.
    Shapes as ``cross_entropy``: ``cross_entropy(x, t) == nll_loss(log_softmax(x, 1), t)``.

    >>> import engine
    >>> nll_loss(engine.tensor([[-1.0, -2.0]]), [1]).item()
    2.0
    """
    op = "nll_loss"
    check_reduction(op, reduction)
    _classification_input(op, input)
    if input.ndim == 1:
        return _one_sample(nll_loss, input, target, reduction, weight=weight,
                           ignore_index=ignore_index)
    weight = _class_weight(op, weight, input)
    raw = array_of(target)  # a Tensor's own array, as it is
    target = _class_target(op, input, raw, ignore_index)
    return NLL.apply(input, target=target, weight=weight, ignore_index=ignore_index,
                     reduction=reduction)


# ---------------------------------------------------------------- Modules


class CrossEntropyLoss(Module):
    """Module form of ``cross_entropy``; ``weight`` is a buffer (in ``state_dict``), as PyTorch.

    >>> import engine
    >>> round(CrossEntropyLoss()(engine.tensor([[0.0, 0.0]]), [0]).item(), 4)
    0.6931
    """

    def __init__(self, weight=None, *, ignore_index=-100, reduction="mean",
                 label_smoothing=0.0):
        super().__init__()
        check_reduction("CrossEntropyLoss", reduction)
        if not 0.0 <= label_smoothing <= 1.0:
            raise RuntimeError(f"CrossEntropyLoss: label_smoothing must be in [0, 1]; got "
                               f"{label_smoothing}")
        self.register_buffer("weight", None if weight is None else Tensor(array_of(weight)))
        self.ignore_index, self.reduction = ignore_index, reduction
        self.label_smoothing = label_smoothing

    def forward(self, input, target):
        return cross_entropy(input, target, self.weight, ignore_index=self.ignore_index,
                             reduction=self.reduction, label_smoothing=self.label_smoothing)


class NLLLoss(Module):
    """Module form of ``nll_loss``; ``weight`` is a buffer, as PyTorch."""

    def __init__(self, weight=None, *, ignore_index=-100, reduction="mean"):
        super().__init__()
        check_reduction("NLLLoss", reduction)
        self.register_buffer("weight", None if weight is None else Tensor(array_of(weight)))
        self.ignore_index, self.reduction = ignore_index, reduction

    def forward(self, input, target):
        return nll_loss(input, target, self.weight, ignore_index=self.ignore_index,
                        reduction=self.reduction)
