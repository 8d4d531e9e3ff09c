"""Normalisation layers, PyTorch's: LayerNorm (over the last axes of each sample) and
BatchNorm1d (over the batch, per channel, with running statistics).

Parameter and buffer names, dtypes, initial values and reprs are PyTorch's, so
their state dicts load both ways.
"""

import numpy as np

import engine
from engine import Tensor, no_grad
from nn import functional as F
from nn import init
from nn.layers import _parameter
from nn.module import Module


class LayerNorm(Module):
    """y = (x - mean) / sqrt(var + eps) * weight + bias over the last axes (``normalized_shape``).

    Init: weight ones, bias zeros (``bias=False``: none). Shapes: x (..., *normalized_shape)
    -> like x.

    >>> import engine
    >>> norm = LayerNorm(4)
    >>> norm(engine.randn(2, 4, rng=0)).shape, norm
    ((2, 4), LayerNorm((4,), eps=1e-05, elementwise_affine=True, bias=True))
    """

    def __init__(self, normalized_shape, eps=1e-5, elementwise_affine=True, bias=True,
                 device=None, dtype=None):
        super().__init__()
        if isinstance(normalized_shape, (int, np.integer)):
            normalized_shape = (int(normalized_shape),)
        self.normalized_shape, self.eps = tuple(normalized_shape), eps
        self.elementwise_affine = elementwise_affine
        self.weight = self.bias = None
        if elementwise_affine:
            self.weight = _parameter(self.normalized_shape, dtype, device)
            if bias:
                self.bias = _parameter(self.normalized_shape, dtype, device)
        self.reset_parameters()

    def reset_parameters(self):
        if self.weight is not None:
            init.ones_(self.weight)
        if self.bias is not None:
            init.zeros_(self.bias)

    def forward(self, input):
        return F.layer_norm(input, self.normalized_shape, self.weight, self.bias, self.eps)

    def extra_repr(self):
        return (f"{self.normalized_shape}, eps={self.eps}, "
                f"elementwise_affine={self.elementwise_affine}, bias={self.bias is not None}")


class _BatchNorm(Module):
    """Normalises each channel (axis 1) of a batch: y = (x - mean) / sqrt(var + eps) *
    weight + bias.

    Training: the batch's mean and (biased) var, and, with ``track_running_stats``,
    the buffers ``running_mean`` / ``running_var`` move towards them (the var
    unbiased): r <- (1 - momentum) r + momentum s, or, with ``momentum=None``, the
    cumulative average (momentum 1 / num_batches_tracked). Eval: the running ones
    (the batch's when they are not tracked). ``num_batches_tracked`` (int64) counts
    the training batches. Init: weight ones, bias zeros, running mean 0 and var 1.
    """

    _version = 2  # PyTorch's: version 2 added num_batches_tracked

    def __init__(self, num_features, eps=1e-5, momentum=0.1, affine=True,
                 track_running_stats=True, device=None, dtype=None, *, bias=True):
        super().__init__()
        self.num_features, self.eps, self.momentum = num_features, eps, momentum
        self.affine, self.track_running_stats = affine, track_running_stats
        self.weight = self.bias = None
        if affine:
            self.weight = _parameter((num_features,), dtype, device)
            if bias:
                self.bias = _parameter((num_features,), dtype, device)
        if track_running_stats:
            self.register_buffer("running_mean", engine.zeros(num_features, dtype=dtype,
                                                              device=device))
            self.register_buffer("running_var", engine.ones(num_features, dtype=dtype,
                                                            device=device))
            self.register_buffer("num_batches_tracked",
                                 engine.zeros((), dtype=engine.int64, device=device))
        else:
            for name in ("running_mean", "running_var", "num_batches_tracked"):
                self.register_buffer(name, None)
        self.reset_parameters()

    def reset_running_stats(self):
        if self.track_running_stats:
            with no_grad():
                self.running_mean.zero_()
                self.running_var.fill_(1)
                self.num_batches_tracked.zero_()

    def reset_parameters(self):
        self.reset_running_stats()
        if self.weight is not None:
            init.ones_(self.weight)
        if self.bias is not None:
            init.zeros_(self.bias)

    def _check_input_dim(self, input):
        raise NotImplementedError

    def forward(self, input):
        self._check_input_dim(input)
        use_batch = self.training or (self.running_mean is None and self.running_var is None)
        F._check_batch_norm(input, self.running_mean, self.running_var, self.weight, self.bias,
                            training=use_batch)  # before a batch is counted
        factor = 0.0 if self.momentum is None else self.momentum
        if self.training and self.track_running_stats and self.num_batches_tracked is not None:
            with no_grad():
                self.num_batches_tracked.add_(1)
            if self.momentum is None:  # the cumulative average of every batch so far
                factor = 1.0 / float(self.num_batches_tracked.item())
        keep_running = not self.training or self.track_running_stats
        return F.batch_norm(input, self.running_mean if keep_running else None,
                            self.running_var if keep_running else None, self.weight, self.bias,
                            use_batch, factor, self.eps)

    def _upgrade_state_dict(self, state_dict, prefix, version):
        # PyTorch before version 2 saved no num_batches_tracked: keep the current count
        key = prefix + "num_batches_tracked"
        if (version is None or version < 2) and self.track_running_stats \
                and key not in state_dict:
            state_dict[key] = (self.num_batches_tracked if self.num_batches_tracked is not None
                               else Tensor(np.zeros((), dtype=np.int64)))

    def extra_repr(self):
        return (f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, "
                f"affine={self.affine}, bias={self.bias is not None}, "
                f"track_running_stats={self.track_running_stats}")


class BatchNorm1d(_BatchNorm):
    """Batch normalisation of (N, C) or (N, C, L) inputs, per channel C (see ``_BatchNorm``).

    >>> import engine
    >>> norm = BatchNorm1d(3)
    >>> norm(engine.randn(8, 3, rng=0)).shape, norm.num_batches_tracked.item(), norm
    ((8, 3), 1, BatchNorm1d(3, eps=1e-05, momentum=0.1, affine=True, bias=True, \
track_running_stats=True))
    """

    def _check_input_dim(self, input):
        if input.ndim not in (2, 3):
            raise ValueError(f"expected 2D or 3D input (got {input.ndim}D input)")
