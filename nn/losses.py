"""Losses, as functions (also in ``nn.functional``) and as Modules, with PyTorch's semantics.

Functions:  CrossEntropy (log-softmax and NLL fused)  NLL  BCEWithLogits
Wrappers:   cross_entropy  nll_loss  binary_cross_entropy_with_logits  mse_loss
Modules:    CrossEntropyLoss  NLLLoss  BCEWithLogitsLoss  MSELoss

``reduction`` is "mean" | "sum" | "none". Classification losses take logits
(or log-probabilities) of shape (N, C) or (N, C, d1, ...) (or (C,) for one
sample) and integer targets of shape (N,) or (N, d1, ...); targets equal to
``ignore_index`` add nothing, and "mean" divides by the number of the others
(all ignored: nan, with a zero gradient, as PyTorch 2.13).
"""


from engine import Function, Tensor, backend, stable_sigmoid
from nn.module import Module, array_of

_REDUCTIONS = ("mean", "sum", "none")


# ---------------------------------------------------------------- shared helpers


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


def _reduce(losses, valid, reduction, target_shape):
    """Per-row losses (M,), zero where not ``valid``, reduced as asked."""
    if reduction == "none":
        return losses.reshape(target_shape)
    total = losses.sum()
    if reduction == "sum":
        return total
    xp = backend.xp_of(losses)
    count = valid.sum().astype(losses.dtype)
    return xp.where(count > 0, total, xp.nan) / xp.maximum(count, 1)  # all ignored: nan


def _row_weights(grad, valid, reduction):
    """d loss / d (row loss), shape (M,): zero for ignored rows."""
    if reduction == "none":
        return grad.reshape(-1) * valid
    if reduction == "sum":
        return grad * valid
    count = backend.xp_of(grad).maximum(valid.sum(), 1).astype(grad.dtype)
    return grad * valid / count


def _check_reduction(op, reduction):
    if reduction not in _REDUCTIONS:
        raise ValueError(f"{op}: reduction must be one of {_REDUCTIONS}; got {reduction!r}")


def _class_target(op, logits, target, ignore_index):
    """Validate integer class targets against logits (N, C, d...); returns the target array
    on the logits' device. Raises ValueError naming what was expected and what came."""
    target = array_of(target)
    if logits.dtype.kind != "f":
        raise ValueError(f"{op}: input must be a float tensor; got dtype {logits.dtype}")
    if logits.ndim < 2:
        raise ValueError(f"{op}: input must have shape (N, C) or (N, C, d...); got {logits.shape}")
    if target.dtype.kind not in "iu":
        raise ValueError(
            f"{op}: target must hold integer class indices; got dtype {target.dtype}"
        )
    expected = (logits.shape[0], *logits.shape[2:])
    if target.shape != expected:
        raise ValueError(
            f"{op}: input of shape {logits.shape} needs a target of shape {expected}; "
            f"got {target.shape}"
        )
    classes = logits.shape[1]
    outside = (target != ignore_index) & ((target < 0) | (target >= classes))
    if outside.any():
        raise ValueError(
            f"{op}: target values must be in [0, {classes}) or ignore_index={ignore_index}; "
            f"got {int(target[outside].reshape(-1)[0])}"
        )
    return backend.to_device(target, logits.device)


def _single_sample(op, logits, target):
    """(C,) logits and a 0-d target become a batch of one."""
    target = array_of(target)
    if target.ndim != 0:
        raise ValueError(f"{op}: input of shape {logits.shape} needs a target of shape (); "
                         f"got {target.shape}")
    return logits.reshape(1, logits.shape[0]), target.reshape(1)


# ---------------------------------------------------------------- Functions


def _picks(xp, t, ignore_index):
    """For targets t (M,): which rows count, each row's class (0 where ignored, so that it
    can index) and the row numbers: the (row, class) picks of the losses."""
    valid = t != ignore_index
    return valid, xp.where(valid, t, 0), xp.arange(len(t))


class CrossEntropy(Function):
    """loss_i = -(1 - s) log p_i[t_i] - (s / C) sum_c log p_i[c], with p_i = softmax(x_i)."""

    def forward(self, logits, target, ignore_index, reduction, label_smoothing):
        xp = backend.xp_of(logits)
        x, self.moved_shape = _rows(logits)  # (M, C)
        t = target.reshape(-1)  # (M,)
        shifted = x - x.max(axis=1, keepdims=True)  # the largest logit is 0: exp never overflows
        e = xp.exp(shifted)
        total = e.sum(axis=1, keepdims=True)  # (M, 1), in [1, C]
        log_total = xp.log(total)[:, 0]  # log p_i[c] = shifted_i[c] - log_total_i
        self.valid, self.t, self.rows = _picks(xp, t, ignore_index)
        losses = log_total - shifted[self.rows, self.t]  # (M,)
        if label_smoothing:
            uniform = log_total - shifted.mean(axis=1)  # -(1/C) sum_c log p_i[c]
            losses = (1 - label_smoothing) * losses + label_smoothing * uniform
        losses = xp.where(self.valid, losses, 0).astype(x.dtype)
        self.p, self.reduction, self.smoothing = e / total, reduction, label_smoothing
        return _reduce(losses, self.valid, reduction, target.shape)

    def backward(self, grad):
        # d loss_i / d x_i = p_i - (1 - s) onehot(t_i) - s / C
        dx = self.p - self.smoothing / self.p.shape[1]  # (M, C)
        dx[self.rows, self.t] -= 1 - self.smoothing
        dx *= _row_weights(grad, self.valid, self.reduction)[:, None]
        return _unrows(dx, self.moved_shape)


class NLL(Function):
    """loss_i = -x_i[t_i] for log-probabilities x."""

    def forward(self, log_probs, target, ignore_index, reduction):
        xp = backend.xp_of(log_probs)
        x, self.moved_shape = _rows(log_probs)  # (M, C)
        self.valid, self.t, self.rows = _picks(xp, target.reshape(-1), ignore_index)
        self.shape, self.reduction = x.shape, reduction
        losses = xp.where(self.valid, -x[self.rows, self.t], 0).astype(x.dtype)
        return _reduce(losses, self.valid, reduction, target.shape)

    def backward(self, grad):
        # d loss_i / d x_i = -onehot(t_i)
        dx = backend.xp_of(grad).zeros(self.shape, dtype=grad.dtype)
        dx[self.rows, self.t] = -_row_weights(grad, self.valid, self.reduction)
        return _unrows(dx, self.moved_shape)


class BCEWithLogits(Function):
    """loss = max(x, 0) - x y + log(1 + exp(-|x|)) = -[y log s(x) + (1 - y) log(1 - s(x))]."""

    def forward(self, x, y):
        xp = backend.xp_of(x)
        self.x, self.y = x, y
        return xp.maximum(x, 0) - x * y + xp.log1p(xp.exp(-xp.abs(x)))  # exp sees only -|x|

    def backward(self, grad):
        # d loss = (s(x) - y) dx - x dy
        d_y = -grad * self.x if self.needs_input_grad[1] else None
        return grad * (stable_sigmoid(self.x) - self.y), d_y


# ---------------------------------------------------------------- wrappers


def cross_entropy(logits, target, ignore_index=-100, reduction="mean", label_smoothing=0.0):
    """Softmax cross-entropy from logits and integer class targets, as one fused Function.

    loss_i = -(1 - s) log softmax(x_i)[t_i] - (s / C) sum_c log softmax(x_i)[c]
    (s = label_smoothing), finite for logits of any size (the maximum is shifted out).
    Shapes: logits (N, C) or (N, C, d...) or (C,); target (N,) or (N, d...) or ().

    >>> import engine
    >>> loss = cross_entropy(engine.tensor([[0.0, 0.0]]), [1])
    >>> round(loss.item(), 4)  # log 2
    0.6931
    """
    _check_reduction("cross_entropy", reduction)
    if not 0.0 <= label_smoothing <= 1.0:
        raise ValueError(f"cross_entropy: label_smoothing must be in [0, 1]; got {label_smoothing}")
    if logits.ndim == 1:
        logits, target = _single_sample("cross_entropy", logits, target)
        loss = cross_entropy(logits, target, ignore_index, reduction, label_smoothing)
        return loss.reshape(()) if reduction == "none" else loss
    target = _class_target("cross_entropy", logits, target, ignore_index)
    return CrossEntropy.apply(logits, target=target, ignore_index=ignore_index,
                              reduction=reduction, label_smoothing=float(label_smoothing))


def nll_loss(log_probs, target, ignore_index=-100, reduction="mean"):
    """Negative log-likelihood of integer targets given log-probabilities: loss_i = -x_i[t_i].

    Shapes as ``cross_entropy``; ``cross_entropy(x, t) == nll_loss(log_softmax(x, axis=1), t)``.

    >>> import engine
    >>> nll_loss(engine.tensor([[-1.0, -2.0]]), [1]).item()
    2.0
    """
    _check_reduction("nll_loss", reduction)
    if log_probs.ndim == 1:
        log_probs, target = _single_sample("nll_loss", log_probs, target)
        loss = nll_loss(log_probs, target, ignore_index, reduction)
        return loss.reshape(()) if reduction == "none" else loss
    target = _class_target("nll_loss", log_probs, target, ignore_index)
    return NLL.apply(log_probs, target=target, ignore_index=ignore_index, reduction=reduction)


def _same_shape(op, input, target):
    """``target`` as a Tensor beside ``input``, which must have the same shape (no broadcasting)."""
    if not isinstance(target, Tensor):
        target = Tensor(backend.to_device(array_of(target).astype(input.dtype), input.device))
    if target.shape != input.shape:
        raise ValueError(
            f"{op}: target must have the input's shape {input.shape}; got {target.shape}"
        )
    return target


def _reduced(losses, reduction):
    return losses if reduction == "none" else getattr(losses, reduction)()


def binary_cross_entropy_with_logits(logits, target, reduction="mean"):
    """-[y log s(x) + (1 - y) log(1 - s(x))] from logits x, computed without overflow.

    Shapes: logits and target (probabilities in [0, 1]) the same, any shape.

    >>> import engine
    >>> round(binary_cross_entropy_with_logits(engine.tensor([0.0]), [1.0]).item(), 4)
    0.6931
    """
    _check_reduction("binary_cross_entropy_with_logits", reduction)
    target = _same_shape("binary_cross_entropy_with_logits", logits, target)
    return _reduced(BCEWithLogits.apply(logits, target), reduction)


def mse_loss(input, target, reduction="mean"):
    """Squared error (x - y)^2, averaged, summed or elementwise.

    Shapes: input and target the same, any shape (a mismatch is an error, never broadcast).

    >>> import engine
    >>> mse_loss(engine.tensor([1.0, 3.0]), [0.0, 0.0]).item()
    5.0
    """
    _check_reduction("mse_loss", reduction)
    diff = input - _same_shape("mse_loss", input, target)
    return _reduced(diff * diff, reduction)


# ---------------------------------------------------------------- Modules


class CrossEntropyLoss(Module):
    """Module form of ``cross_entropy``: ``CrossEntropyLoss()(logits, target)``."""

    def __init__(self, ignore_index=-100, reduction="mean", label_smoothing=0.0):
        super().__init__()
        _check_reduction("CrossEntropyLoss", reduction)
        self.ignore_index, self.reduction = ignore_index, reduction
        self.label_smoothing = label_smoothing

    def forward(self, logits, target):
        return cross_entropy(logits, target, self.ignore_index, self.reduction,
                             self.label_smoothing)


class NLLLoss(Module):
    """Module form of ``nll_loss``."""

    def __init__(self, ignore_index=-100, reduction="mean"):
        super().__init__()
        _check_reduction("NLLLoss", reduction)
        self.ignore_index, self.reduction = ignore_index, reduction

    def forward(self, log_probs, target):
        return nll_loss(log_probs, target, self.ignore_index, self.reduction)


class BCEWithLogitsLoss(Module):
    """Module form of ``binary_cross_entropy_with_logits``."""

    def __init__(self, reduction="mean"):
        super().__init__()
        _check_reduction("BCEWithLogitsLoss", reduction)
        self.reduction = reduction

    def forward(self, logits, target):
        return binary_cross_entropy_with_logits(logits, target, self.reduction)


class MSELoss(Module):
    """Module form of ``mse_loss``."""

    def __init__(self, reduction="mean"):
        super().__init__()
        _check_reduction("MSELoss", reduction)
        self.reduction = reduction

    def forward(self, input, target):
        return mse_loss(input, target, self.reduction)
