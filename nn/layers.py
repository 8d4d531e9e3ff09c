"""Layers: thin Modules that hold parameters (or a generator) and call ``nn.functional``.

Linear  Identity  Flatten  Unflatten  Embedding  Dropout  Dropout1d  Dropout2d
(activations are in nn.activation, LayerNorm and BatchNorm1d in nn.normalization,
Sequential and the other containers in nn.containers)

Names, signatures, initialisations and reprs are PyTorch's, so its state dicts
load here and ``print(model)`` reads the same. A layer with parameters takes
``device=None`` and ``dtype=None`` (the default float dtype) and, keyword-only,
``rng=None``: its weights are drawn from that ``numpy.random.Generator`` (or int
seed), else from the default generator (``engine.manual_seed`` restarts it), on
the CPU and then moved, so a seed gives the same model on every device.
"""

import math
import numbers

import engine
from engine import Tensor, no_grad
from engine.random import generator_of
from nn import functional as F
from nn import init
from nn.module import Module, Parameter


def _check_sizes(owner, **sizes):
    """Raise, naming ``owner`` and the argument, unless every size is an int >= 0: a
    TypeError for anything else (a bool is not a size, nor is 2.5), a RuntimeError for a
    negative one (PyTorch's types; PyTorch allows 0)."""
    for name, size in sizes.items():
        if isinstance(size, bool) or not isinstance(size, numbers.Integral):
            raise TypeError(f"{owner}: {name} must be an int >= 0; got {size!r} "
                            f"({type(size).__name__})")
        if size < 0:
            raise RuntimeError(f"{owner}: {name} must be an int >= 0; got {size}")


def _parameter(shape, dtype, device):
    """A zero Parameter of ``shape`` on ``device``, to be filled by an initialiser."""
    return Parameter(engine.zeros(shape, dtype=dtype, device=device))  # the default device


class Linear(Module):
    """y = x W^T + b, with W of shape (out_features, in_features).

    Init (PyTorch's): W ~ kaiming_uniform_(a=sqrt(5)) = U(-1/sqrt(in), 1/sqrt(in)),
    b ~ U(-1/sqrt(in), 1/sqrt(in)). Shapes: x (..., in_features) -> (..., out_features).

    >>> import engine
    >>> layer = Linear(3, 2, rng=0)
    >>> layer(engine.ones(5, 3)).shape, layer
    ((5, 2), Linear(in_features=3, out_features=2, bias=True))
    """

    def __init__(self, in_features, out_features, bias=True, device=None, dtype=None, *,
                 rng=None):
        super().__init__()
        _check_sizes("Linear", in_features=in_features, out_features=out_features)
        self.in_features, self.out_features = int(in_features), int(out_features)
        self.weight = _parameter((out_features, in_features), dtype, device)
        self.bias = _parameter((out_features,), dtype, device) if bias else None
        self.reset_parameters(rng=rng)

    def reset_parameters(self, *, rng=None):
        rng = generator_of(rng)  # one stream for both, weight first, as PyTorch
        init.kaiming_uniform_(self.weight, a=math.sqrt(5), rng=rng)
        if self.bias is not None:
            fan_in = init.fan_in_and_fan_out(self.weight)[0]
            bound = 1 / math.sqrt(fan_in) if fan_in > 0 else 0.0
            init.uniform_(self.bias, -bound, bound, rng=rng)

    def forward(self, input):
        return F.linear(input, self.weight, self.bias)

    def extra_repr(self):
        return (f"in_features={self.in_features}, out_features={self.out_features}, "
                f"bias={self.bias is not None}")


class Identity(Module):
    """The input as it is (any arguments are ignored), as a placeholder in a model."""

    def __init__(self, *args, **kwargs):
        super().__init__()

    def forward(self, input):
        return input


class Flatten(Module):
    """Axes ``start_dim`` to ``end_dim`` merged into one: (N, C, H, W) -> (N, C*H*W) by default.

    >>> import engine
    >>> Flatten()(engine.ones(2, 3, 4)).shape, Flatten(0, 1)
    ((2, 12), Flatten(start_dim=0, end_dim=1))
    """

    def __init__(self, start_dim=1, end_dim=-1):
        super().__init__()
        self.start_dim, self.end_dim = start_dim, end_dim

    def forward(self, input):
        shape = input.shape or (1,)  # a 0-d tensor flattens to one element, as PyTorch
        start, end = (_dim(d, len(shape)) for d in (self.start_dim, self.end_dim))
        if start > end:
            raise RuntimeError("flatten() has invalid args: start_dim cannot come after end_dim")
        return input.reshape(*shape[:start], math.prod(shape[start:end + 1]), *shape[end + 1:])

    def extra_repr(self):
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"


class Unflatten(Module):
    """Axis ``dim`` split into ``unflattened_size`` (one entry may be -1):
    ``Unflatten(1, (2, 3))`` turns (N, 6) into (N, 2, 3).

    >>> import engine
    >>> Unflatten(1, (2, -1))(engine.ones(4, 6)).shape
    (4, 2, 3)
    """

    def __init__(self, dim, unflattened_size):
        super().__init__()
        if not isinstance(unflattened_size, (tuple, list)):
            raise TypeError("unflattened_size must be a tuple of ints, but found type "
                            f"{type(unflattened_size).__name__}")
        for i, size in enumerate(unflattened_size):
            if not isinstance(size, int):
                raise TypeError("unflattened_size must be tuple of ints, but found element of "
                                f"type {type(size).__name__} at pos {i}")
        self.dim, self.unflattened_size = dim, unflattened_size

    def forward(self, input):
        dim = _dim(self.dim, input.ndim)
        sizes, length = list(self.unflattened_size), input.shape[dim]
        known = math.prod(s for s in sizes if s != -1)
        if sizes.count(-1) == 1 and known and length % known == 0:
            sizes[sizes.index(-1)] = length // known
        if sizes.count(-1) > 1 or math.prod(sizes) != length:
            raise RuntimeError(f"unflatten: Provided sizes {list(self.unflattened_size)} don't "
                               f"multiply up to the size of dim {self.dim} ({length}) in the "
                               f"input tensor of shape {tuple(input.shape)}")
        return input.reshape(*input.shape[:dim], *sizes, *input.shape[dim + 1:])

    def extra_repr(self):
        return f"dim={self.dim}, unflattened_size={self.unflattened_size}"


def _dim(dim, ndim):
    """One axis (negatives count from the end), checked as PyTorch does."""
    if not -ndim <= dim < ndim:
        raise IndexError(f"Dimension out of range (expected to be in range of [{-ndim}, "
                         f"{ndim - 1}], but got {dim})")
    return dim % ndim


class Embedding(Module):
    """A lookup table: row i of ``weight`` (num_embeddings, embedding_dim) is the vector of index i.

    Init: N(0, 1); the ``padding_idx`` row starts at zero and never gets a gradient.
    ``max_norm``: a looked-up row whose ``norm_type``-norm is larger is rescaled to it
    (in place); ``scale_grad_by_freq``: each row's gradient is divided by how often
    its index occurs in the batch. Shapes: integer indices (...) -> (..., embedding_dim).

    >>> import numpy as np
    >>> table = Embedding(10, 3, padding_idx=0, rng=0)
    >>> table(np.array([[0, 4]])).shape, table.weight.numpy()[0].tolist(), table
    ((1, 2, 3), [0.0, 0.0, 0.0], Embedding(10, 3, padding_idx=0))
    """

    def __init__(self, num_embeddings, embedding_dim, padding_idx=None, max_norm=None,
                 norm_type=2.0, scale_grad_by_freq=False, sparse=False, _weight=None,
                 _freeze=False, device=None, dtype=None, *, rng=None):
        super().__init__()
        _check_sizes("Embedding", num_embeddings=num_embeddings, embedding_dim=embedding_dim)
        if sparse:
            raise NotImplementedError("Embedding(sparse=True): sparse gradients are not "
                                      "supported; use sparse=False (a dense gradient)")
        self.num_embeddings, self.embedding_dim = num_embeddings, embedding_dim
        self.padding_idx = F.padding_row(padding_idx, num_embeddings, "Embedding")
        self.max_norm, self.norm_type = max_norm, norm_type
        self.scale_grad_by_freq, self.sparse = scale_grad_by_freq, sparse
        if _weight is None:
            self.weight = _parameter((num_embeddings, embedding_dim), dtype, device)
            self.weight.requires_grad = not _freeze
            self.reset_parameters(rng=rng)
        else:
            if tuple(_weight.shape) != (num_embeddings, embedding_dim):
                raise ValueError(f"Embedding: the weight must have shape ({num_embeddings}, "
                                 f"{embedding_dim}); got {tuple(_weight.shape)}")
            self.weight = Parameter(_weight, requires_grad=not _freeze)  # memory shared

    def reset_parameters(self, *, rng=None):
        init.normal_(self.weight, rng=rng)
        if self.padding_idx is not None:
            with no_grad():
                self.weight[self.padding_idx] = 0

    @classmethod
    def from_pretrained(cls, embeddings, freeze=True, padding_idx=None, max_norm=None,
                        norm_type=2.0, scale_grad_by_freq=False, sparse=False):
        """An Embedding whose weight is ``embeddings`` (V, D) itself (memory shared), not
        trained when ``freeze``; the ``padding_idx`` row keeps its values (no gradient)."""
        if not isinstance(embeddings, Tensor):
            embeddings = Tensor(embeddings)
        if embeddings.ndim != 2:
            raise ValueError("Embeddings parameter is expected to be 2-dimensional; got shape "
                             f"{tuple(embeddings.shape)}")
        rows, cols = embeddings.shape
        return cls(rows, cols, padding_idx=padding_idx, max_norm=max_norm, norm_type=norm_type,
                   scale_grad_by_freq=scale_grad_by_freq, sparse=sparse, _weight=embeddings,
                   _freeze=freeze)

    def forward(self, input):
        return F.embedding(input, self.weight, self.padding_idx, self.max_norm, self.norm_type,
                           self.scale_grad_by_freq, self.sparse)

    def extra_repr(self):
        text = f"{self.num_embeddings}, {self.embedding_dim}"
        if self.padding_idx is not None:
            text += f", padding_idx={self.padding_idx}"
        if self.max_norm is not None:
            text += f", max_norm={self.max_norm}"
        if self.norm_type != 2:
            text += f", norm_type={self.norm_type}"
        if self.scale_grad_by_freq is not False:
            text += f", scale_grad_by_freq={self.scale_grad_by_freq}"
        return text


class _DropoutNd(Module):
    """What the dropouts share: ``p``, ``inplace`` and the generator of their masks
    (``rng``: a ``numpy.random.Generator`` or an int seed; None: the default generator,
    drawn from at each call, so ``engine.manual_seed`` repeats a run)."""

    def __init__(self, p=0.5, inplace=False, *, rng=None):
        super().__init__()
        if p < 0 or p > 1:
            raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
        self.p, self.inplace = p, inplace
        self.rng = None if rng is None else generator_of(rng)

    def extra_repr(self):
        return f"p={self.p}, inplace={self.inplace}"


class Dropout(_DropoutNd):
    """Zeroes each element with probability p while training, scaling the rest by 1/(1-p);
    the identity in eval mode. Shape: any, unchanged.

    >>> import engine
    >>> drop = Dropout(0.5, rng=0)
    >>> drop.eval()(engine.ones(3)).tolist(), drop
    ([1.0, 1.0, 1.0], Dropout(p=0.5, inplace=False))
    """

    def forward(self, input):
        return F.dropout(input, self.p, self.training, self.inplace, rng=self.rng)


class Dropout1d(_DropoutNd):
    """Zeroes whole channels: each ``x[n, c]`` of an (N, C, L) input (or each row of an
    unbatched (C, L) one) with probability p while training, scaling the rest by 1/(1-p)."""

    def forward(self, input):
        return F.dropout1d(input, self.p, self.training, self.inplace, rng=self.rng)


class Dropout2d(_DropoutNd):
    """Zeroes whole channels: each ``x[n, c]`` of an (N, C, H, W) input with probability p
    while training, scaling the rest by 1/(1-p).

    As PyTorch 2.13, with a warning: an (N, C, L) input gets ``Dropout1d``'s channels,
    and an (N, C) one independent elements, like ``Dropout``.
    """

    def forward(self, input):
        return F.dropout2d(input, self.p, self.training, self.inplace, rng=self.rng)
