"""Functional autograd, PyTorch's ``torch.autograd.functional``: the Jacobian of a function.

    >>> import engine
    >>> jacobian(lambda x: x * x, engine.tensor([1.0, 2.0]))
    tensor([[2., 0.],
            [0., 4.]])
"""

from engine.tensor import Tensor, enable_grad, grad


def jacobian(func, inputs, create_graph=False, strict=False, vectorize=False):
    """The Jacobian of ``func`` at ``inputs``: for one input x and an output y, a Tensor of
    shape ``y.shape + x.shape`` with ``J[i..., j...] = d y[i...] / d x[j...]``, made by one
    backward pass per element of y (first order); for a tuple of inputs, a tuple of them.
    An input that y does not depend on gets zeros (``strict=True``: an error)."""
    if create_graph:
        raise NotImplementedError("jacobian(create_graph=True): higher-order gradients are not "
                                  "supported yet")
    single = isinstance(inputs, Tensor)
    inputs = (inputs,) if single else tuple(inputs)
    for i, x in enumerate(inputs):
        if not isinstance(x, Tensor) or x.dtype.kind != "f":
            raise TypeError(f"jacobian: input {i} must be a float Tensor; got "
                            f"{getattr(x, 'dtype', type(x).__name__)}")
    leaves = [x.detach().requires_grad_() for x in inputs]  # the function's own graph
    with enable_grad():
        y = func(*leaves)
    if not isinstance(y, Tensor):
        raise TypeError(f"jacobian: the function must return one Tensor; got {type(y).__name__}")
    rows = [[] for _ in leaves]
    flat = y.reshape(-1)
    for i in range(flat.numel()):
        if not y.requires_grad:
            grads = [None] * len(leaves)
        else:
            direction = y.new_zeros(flat.shape)
            direction[i] = 1
            grads = grad(y, leaves, grad_outputs=direction.reshape(y.shape), retain_graph=True,
                         allow_unused=True)
        for k, (g, x) in enumerate(zip(grads, leaves)):
            if g is None and strict:
                raise RuntimeError(f"jacobian: output element {i} does not depend on input {k}")
            rows[k].append(x.new_zeros(x.shape) if g is None else g)
    jacobians = tuple(_stack(rows_k, y.shape + x.shape) for rows_k, x in zip(rows, leaves))
    return jacobians[0] if single else jacobians


def _stack(rows, shape):
    from engine.ops import stack

    return stack(rows).reshape(shape) if rows else Tensor(rows).reshape(shape)
