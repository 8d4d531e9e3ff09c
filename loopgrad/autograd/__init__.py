"""torch.autograd: first-order gradients of the engine.

    grad       gradients of outputs with respect to inputs, as a tuple (engine.grad)
    backward   backward of several outputs at once
    gradcheck  analytic gradients against float64 central differences (engine.gradcheck)
    detect_anomaly, set_detect_anomaly   every op's output checked for NaN and inf
    functional.jacobian
    Variable   PyTorch's old wrapper: a Tensor is a Variable
"""

from engine import (
    Tensor,
    detect_anomaly,
    enable_grad,
    grad,
    gradcheck,
    no_grad,
    set_detect_anomaly,
    set_grad_enabled,
)
from engine import tensor as _tensor
from engine.tensor import _backward
from loopgrad import _missing


def backward(tensors, grad_tensors=None, retain_graph=None, create_graph=False, inputs=None):
    """Accumulate the gradients of ``tensors`` (one, or several at once, each with its
    ``grad_tensors`` entry; None: ones for a one-element tensor) into the leaves' ``.grad``."""
    if create_graph:
        raise NotImplementedError("autograd.backward(create_graph=True): higher-order gradients "
                                  "are not supported yet")
    tensors = [tensors] if isinstance(tensors, Tensor) else list(tensors)
    if grad_tensors is None or isinstance(grad_tensors, Tensor):
        grad_tensors = [grad_tensors] * len(tensors)
    _backward(tensors, list(grad_tensors), bool(retain_graph), inputs)


def Variable(data, requires_grad=False, volatile=False):
    """PyTorch before 0.4: ``Variable(t)`` is ``t`` itself (every Tensor records its graph)."""
    t = data if isinstance(data, Tensor) else _tensor(data)
    if requires_grad:
        t.requires_grad_()
    return t


from loopgrad.autograd import functional  # noqa: E402

__all__ = ["Variable", "backward", "detect_anomaly", "enable_grad", "functional", "grad",
           "gradcheck", "no_grad", "set_detect_anomaly", "set_grad_enabled"]
__getattr__ = _missing.missing_attributes("loopgrad.autograd", "torch.autograd")
