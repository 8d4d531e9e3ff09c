"""Stateless functions on Tensors: the math that the layers in ``nn.layers`` hold parameters for.

Layers:   linear  dropout  embedding (EmbeddingLookup)  layer_norm
Softmax:  softmax  log_softmax  (engine's, over ``axis``)
Activations: relu  tanh  sigmoid  (engine's)
Losses (defined in nn.losses): cross_entropy  nll_loss  mse_loss  binary_cross_entropy_with_logits

Each is a composition of engine ops, except ``embedding``, whose backward
adds rows up by index and is written as one Function. Randomness
(``dropout``) comes from an explicit ``numpy.random.Generator``, drawn on
the CPU and moved, so a seed gives the same mask on every device.
"""


from engine import Tensor, backend, log_softmax, relu, sigmoid, softmax, tanh
from engine.ops.shape import GetItem
from nn.init import generator
from nn.losses import binary_cross_entropy_with_logits, cross_entropy, mse_loss, nll_loss
from nn.module import array_of

__all__ = [
    "binary_cross_entropy_with_logits", "cross_entropy", "dropout", "embedding", "layer_norm",
    "linear", "log_softmax", "mse_loss", "nll_loss", "relu", "sigmoid", "softmax", "tanh",
]


def linear(x, weight, bias=None):
    """y = x W^T + b.

    Shapes: x (..., in), weight (out, in), bias (out,) -> y (..., out).

    >>> import engine
    >>> x, w = engine.ones(2, 3), engine.ones(4, 3)
    >>> linear(x, w, engine.zeros(4)).shape
    (2, 4)
    """
    if weight.ndim != 2 or x.ndim == 0 or x.shape[-1] != weight.shape[1]:
        raise ValueError(
            f"linear: input of shape {x.shape} needs a last axis of size in_features and a "
            f"weight of shape (out_features, in_features); got weight {weight.shape}"
        )
    if bias is not None and bias.shape != (weight.shape[0],):
        raise ValueError(f"linear: bias must have shape ({weight.shape[0]},); got {bias.shape}")
    flat = x if x.ndim == 2 else x.reshape(-1, x.shape[-1])  # (B, in): one matmul, also for dW
    out = flat @ weight.T  # (B, out)
    if bias is not None:
        out = out + bias
    return out if x.ndim == 2 else out.reshape(*x.shape[:-1], weight.shape[0])


def dropout(x, p=0.5, training=True, rng=None):
    """Inverted dropout: each element is zeroed with probability p, the rest scaled by 1/(1-p).

    The expectation is unchanged, so evaluation (``training=False``) is the
    identity. The mask is drawn from ``rng`` (a fresh OS-seeded generator when
    None) on the CPU, then moved to x's device. Shape: any, unchanged.

    >>> import engine, numpy as np
    >>> y = dropout(engine.ones(2, 4), 0.5, rng=np.random.default_rng(0))
    >>> sorted(set(y.numpy().ravel().tolist()))
    [0.0, 2.0]
    """
    if not 0 <= p < 1:
        raise ValueError(f"dropout: p must be in [0, 1); got {p}")
    if not training or p == 0:
        return x
    keep = generator(rng).random(x.shape) >= p  # each kept with probability 1 - p
    mask = (keep / (1 - p)).astype(x.dtype)
    return x * Tensor(backend.to_device(mask, x.device))


class EmbeddingLookup(GetItem):
    """``weight[indices]`` (the engine's indexing, whose backward adds repeated rows' gradients),
    with the ``padding_idx`` row's gradient zeroed."""

    def forward(self, weight, indices, padding_idx):
        self.padding_idx = padding_idx
        return super().forward(weight, index=indices)  # (*indices.shape, D)

    def backward(self, grad):
        dweight = super().backward(grad)
        if self.padding_idx is not None:
            dweight[self.padding_idx] = 0  # the padding row is never trained
        return dweight


def padding_row(padding_idx, rows, op_name):
    """``padding_idx`` (None, or in [-rows, rows)) as a row number in [0, rows), or None."""
    if padding_idx is None:
        return None
    if not -rows <= padding_idx < rows:
        raise ValueError(f"{op_name}: padding_idx must be in [-{rows}, {rows}); got {padding_idx}")
    return padding_idx % rows


def embedding(indices, weight, padding_idx=None):
    """Rows of ``weight`` picked by integer ``indices``; the ``padding_idx`` row gets no gradient.

    Shapes: indices (...) integer in [0, V), weight (V, D) -> (..., D).

    >>> import engine, numpy as np
    >>> w = engine.tensor(np.arange(6.0).reshape(3, 2))
    >>> embedding(np.array([[2, 0]]), w).tolist()
    [[[4.0, 5.0], [0.0, 1.0]]]
    """
    if weight.ndim != 2:
        raise ValueError(f"embedding: weight must have shape (V, D); got {weight.shape}")
    indices = array_of(indices)
    if indices.dtype.kind not in "iu":
        raise ValueError(f"embedding: indices must be integers; got dtype {indices.dtype}")
    rows = weight.shape[0]
    if indices.size and (int(indices.min()) < 0 or int(indices.max()) >= rows):
        raise ValueError(
            f"embedding: indices must be in [0, {rows}) for a weight of shape {weight.shape}; "
            f"got values from {int(indices.min())} to {int(indices.max())}"
        )
    padding_idx = padding_row(padding_idx, rows, "embedding")
    indices = backend.to_device(indices, weight.device)
    return EmbeddingLookup.apply(weight, indices=indices, padding_idx=padding_idx)


def layer_norm(x, normalized_shape, weight=None, bias=None, eps=1e-5):
    """y = (x - mean) / sqrt(var + eps) * weight + bias, over the last len(normalized_shape) axes.

    ``var`` is the biased variance (divided by n), as PyTorch.
    Shapes: x (..., *normalized_shape); weight, bias normalized_shape -> y like x.

    >>> import engine
    >>> y = layer_norm(engine.tensor([[1.0, 2.0, 3.0]]), 3)
    >>> [round(v, 3) for v in y.tolist()[0]]
    [-1.225, 0.0, 1.225]
    """
    shape = (normalized_shape,) if isinstance(normalized_shape, int) else tuple(normalized_shape)
    if not shape or x.shape[x.ndim - len(shape):] != shape or x.ndim < len(shape):
        raise ValueError(
            f"layer_norm: input of shape {x.shape} must end in normalized_shape {shape}"
        )
    for name, t in (("weight", weight), ("bias", bias)):
        if t is not None and t.shape != shape:
            raise ValueError(f"layer_norm: {name} must have shape {shape}; got {t.shape}")
    axes = tuple(range(x.ndim - len(shape), x.ndim))
    centered = x - x.mean(axis=axes, keepdims=True)
    variance = (centered * centered).mean(axis=axes, keepdims=True)  # (..., 1, ..., 1)
    out = centered / (variance + eps).sqrt()
    if weight is not None:
        out = out * weight
    if bias is not None:
        out = out + bias
    return out
