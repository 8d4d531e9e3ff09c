"""What every loss shares (PyTorch keeps it in ``torch.nn._reduction``): the ``reduction``
check, a division that gives nan for nothing counted, and constant weights."""

from engine import Tensor, backend
from nn.module import array_of

REDUCTIONS = ("mean", "sum", "none")


def check_reduction(op, reduction, allowed=REDUCTIONS):
    """ValueError unless ``reduction`` is one of ``allowed``."""
    if reduction not in allowed:
        names = ", ".join(repr(name) for name in allowed)
        raise ValueError(f"{op}: reduction must be one of {names}; got {reduction!r}")


def safe_divide(total, count, empty=float("nan")):
    """total / count for 0-d arrays, ``empty`` where count is 0 (no warning, no host sync)."""
    xp = backend.xp_of(total)
    nonzero = count != 0
    return xp.where(nonzero, total / xp.where(nonzero, count, 1), empty).astype(total.dtype)


def constant(op, name, value, like):
    """A weight that is not differentiated (``weight`` of the classification and binary
    losses, ``pos_weight``), as an array of ``like``'s dtype and device; None stays None.
    PyTorch refuses one that requires grad; so do we."""
    if value is None:
        return None
    if isinstance(value, Tensor) and value.requires_grad:
        raise RuntimeError(f"{op}: {name} is not differentiable here (as in PyTorch); pass one "
                           f"that does not require grad (e.g. {name}.detach())")
    array = array_of(value)
    if array.dtype.kind not in "fiub":
        raise RuntimeError(f"{op}: {name} must hold numbers; got dtype {array.dtype}")
    return backend.to_device(array.astype(like.dtype, copy=False), like.device)
