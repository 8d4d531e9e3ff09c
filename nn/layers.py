"""Layers: thin Modules that hold parameters (or a generator) and call ``nn.functional``.

Linear  Embedding  Dropout  LayerNorm  Sequential  Tanh  Sigmoid  ReLU

Names, shapes, initialisations and reprs are PyTorch's, so its state dicts
load here. Every layer with parameters or randomness takes keyword-only
``rng`` (a ``numpy.random.Generator``; None draws a fresh OS-seeded one),
``dtype`` and ``device``; weights are drawn on the CPU and then moved, so a
seed gives the same model on every device.
"""

import math
from collections import OrderedDict

import numpy as np

from engine import Tensor
from nn import functional as F
from nn import init
from nn.module import Module, ModuleList, Parameter


def _parameter(shape, dtype, device):
    """A zero Parameter of ``shape`` on ``device``, to be filled by an initialiser."""
    return Parameter(Tensor(np.zeros(shape, dtype=np.dtype(dtype)), device=device))


class Linear(Module):
    """y = x W^T + b, with W of shape (out_features, in_features).

    Init (PyTorch's): W ~ kaiming_uniform_(a=sqrt(5)) = U(-1/sqrt(in), 1/sqrt(in)),
    b ~ U(-1/sqrt(in), 1/sqrt(in)). Shapes: x (..., in_features) -> (..., out_features).

    >>> import engine, numpy as np
    >>> layer = Linear(3, 2, rng=np.random.default_rng(0))
    >>> layer(engine.ones(5, 3)).shape, layer
    ((5, 2), Linear(in_features=3, out_features=2, bias=True))
    """

    def __init__(self, in_features, out_features, bias=True, *, rng=None, dtype="float32",
                 device=None):
        super().__init__()
        rng = init.generator(rng)
        self.in_features, self.out_features = in_features, out_features
        self.weight = _parameter((out_features, in_features), dtype, device)
        init.kaiming_uniform_(self.weight, a=math.sqrt(5), rng=rng)
        self.bias = None
        if bias:
            self.bias = _parameter((out_features,), dtype, device)
            bound = 1 / math.sqrt(in_features) if in_features > 0 else 0.0
            init.uniform_(self.bias, -bound, bound, rng=rng)

    def forward(self, x):
        return F.linear(x, self.weight, self.bias)

    def extra_repr(self):
        return (f"in_features={self.in_features}, out_features={self.out_features}, "
                f"bias={self.bias is not None}")


class Embedding(Module):
    """A lookup table: row i of ``weight`` (num_embeddings, embedding_dim) is the vector of index i.

    Init: N(0, 1); the ``padding_idx`` row starts at zero and never gets a gradient.
    Shapes: integer indices (...) -> (..., embedding_dim).

    >>> import numpy as np
    >>> table = Embedding(10, 3, padding_idx=0, rng=np.random.default_rng(0))
    >>> table(np.array([[0, 4]])).shape, table.weight.numpy()[0].tolist()
    ((1, 2, 3), [0.0, 0.0, 0.0])
    """

    def __init__(self, num_embeddings, embedding_dim, padding_idx=None, *, rng=None,
                 dtype="float32", device=None):
        super().__init__()
        padding_idx = F.padding_row(padding_idx, num_embeddings, "Embedding")
        self.num_embeddings, self.embedding_dim = num_embeddings, embedding_dim
        self.padding_idx = padding_idx
        self.weight = _parameter((num_embeddings, embedding_dim), dtype, device)
        init.normal_(self.weight, rng=init.generator(rng))
        if padding_idx is not None:
            self.weight.array[padding_idx] = 0

    def forward(self, indices):
        return F.embedding(indices, self.weight, self.padding_idx)

    def extra_repr(self):
        padding = "" if self.padding_idx is None else f", padding_idx={self.padding_idx}"
        return f"{self.num_embeddings}, {self.embedding_dim}{padding}"


class Dropout(Module):
    """Zeroes each element with probability p while training, scaling the rest by 1/(1-p);
    the identity in eval mode. Its masks come from ``rng``: seed it to repeat a run.
    Shape: any, unchanged.

    >>> import engine, numpy as np
    >>> drop = Dropout(0.5, rng=np.random.default_rng(0))
    >>> drop.eval()(engine.ones(3)).tolist(), drop
    ([1.0, 1.0, 1.0], Dropout(p=0.5))
    """

    def __init__(self, p=0.5, *, rng=None):
        super().__init__()
        if not 0 <= p < 1:
            raise ValueError(f"Dropout: p must be in [0, 1); got {p}")
        self.p, self.rng = p, init.generator(rng)

    def forward(self, x):
        return F.dropout(x, self.p, self.training, self.rng)

    def extra_repr(self):
        return f"p={self.p}"


class LayerNorm(Module):
    """y = (x - mean) / sqrt(var + eps) * weight + bias over the last axes (``normalized_shape``).

    Init: weight ones, bias zeros. Shapes: x (..., *normalized_shape) -> like x.

    >>> import engine
    >>> norm = LayerNorm(4)
    >>> norm(engine.randn(2, 4, rng=np.random.default_rng(0))).shape, norm
    ((2, 4), LayerNorm((4,), eps=1e-05, elementwise_affine=True))
    """

    def __init__(self, normalized_shape, eps=1e-5, elementwise_affine=True, *, dtype="float32",
                 device=None):
        super().__init__()
        if isinstance(normalized_shape, int):
            normalized_shape = (normalized_shape,)
        self.normalized_shape, self.eps = tuple(normalized_shape), eps
        self.elementwise_affine = elementwise_affine
        self.weight = self.bias = None
        if elementwise_affine:
            self.weight = init.ones_(_parameter(self.normalized_shape, dtype, device))
            self.bias = _parameter(self.normalized_shape, dtype, device)

    def forward(self, x):
        return F.layer_norm(x, self.normalized_shape, self.weight, self.bias, self.eps)

    def extra_repr(self):
        return (f"{self.normalized_shape}, eps={self.eps}, "
                f"elementwise_affine={self.elementwise_affine}")


class Sequential(ModuleList):
    """Modules applied one after the other: ``Sequential(a, b)(x) == b(a(x))``.

    Children are named '0', '1', ... or by the keys of one OrderedDict argument.

    >>> import engine
    >>> model = Sequential(Linear(2, 3, rng=np.random.default_rng(0)), Tanh())
    >>> model(engine.ones(4, 2)).shape, [name for name, _ in model.named_parameters()]
    ((4, 3), ['0.weight', '0.bias'])
    """

    def __init__(self, *modules):
        if len(modules) == 1 and isinstance(modules[0], OrderedDict):
            super().__init__()
            for name, module in modules[0].items():
                if not isinstance(module, Module):
                    raise TypeError(f"Sequential holds Modules; got {type(module).__name__}")
                self.__setattr__(name, module)
        else:
            super().__init__(modules)

    def __getitem__(self, index):
        if isinstance(index, slice):
            return Sequential(*list(self)[index])
        return super().__getitem__(index)

    def forward(self, x):
        for module in self:
            x = module(x)
        return x


class Tanh(Module):
    """tanh(x), elementwise."""

    def forward(self, x):
        return x.tanh()


class Sigmoid(Module):
    """1 / (1 + exp(-x)), elementwise."""

    def forward(self, x):
        return x.sigmoid()


class ReLU(Module):
    """max(x, 0), elementwise."""

    def forward(self, x):
        return x.relu()
