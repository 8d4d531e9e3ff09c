"""loopgrad: PyTorch's namespace over engine, nn and rnn.

A PyTorch program runs here after one mechanical edit of its import lines,
``torch`` -> ``loopgrad`` (aliases kept)::

    import loopgrad as torch
    import loopgrad.nn as nn
    import loopgrad.nn.functional as F
    from loopgrad.utils.data import DataLoader

The layout is torch's: ``loopgrad`` (tensors, creation and math functions, dtypes,
devices, seeding, ``no_grad``, ``save``/``load``), ``loopgrad.nn`` (nn's layers and
rnn's recurrent ones, under PyTorch's names), ``loopgrad.nn.functional``,
``loopgrad.nn.init``, ``loopgrad.nn.utils``, ``loopgrad.optim``,
``loopgrad.optim.lr_scheduler``, ``loopgrad.autograd``, ``loopgrad.cuda``,
``loopgrad.accelerator``, ``loopgrad.utils.data``. It names and adapts; it computes
nothing: the code lives in engine, nn and rnn, which keep their own names. A PyTorch
name that is not supported says so when it is used.

    >>> import loopgrad as torch
    >>> x = torch.ones(2, 3, dtype=torch.float64, requires_grad=True)
    >>> (x * 2).sum(dim=1).mean().backward()
    >>> x.grad.size(), x.grad.dtype == torch.double
    (Size([2, 3]), True)
"""

import numpy as np

# engine's public names are torch's top level here: tensors, factories, math, dtypes
from engine import *  # noqa: F403
from engine import Tensor, dtypes, random
from engine import __all__ as _engine_names
from engine.random import get_rng_state, set_rng_state
from loopgrad import _missing
from loopgrad._legacy import (
    BoolTensor,
    ByteTensor,
    CharTensor,
    DoubleTensor,
    FloatTensor,
    HalfTensor,
    IntTensor,
    LongTensor,
    ShortTensor,
)
from nn.torch_format import load, save

__version__ = "0.1.0"  # loopgrad's own, not the PyTorch version whose grammar it follows

dtype = np.dtype  # torch.dtype: our dtypes are NumPy's
finfo, iinfo = np.finfo, np.iinfo


def is_tensor(obj):
    return isinstance(obj, Tensor)


def numel(input):
    return input.numel()


_missing.install()  # loopgrad.<x> for a torch.<x> we do not have: a clear error

# submodules, imported here so that attribute access works after ``import loopgrad``
from loopgrad import (  # noqa: E402
    accelerator,
    autograd,
    backends,
    cuda,
    jit,
    nn,
    onnx,
    optim,
    serialization,
    utils,
)

__getattr__ = _missing.missing_attributes("loopgrad", "torch")

# engine's names that torch's top level does not have stay reachable, but are not listed
_engine_only = {"Function", "astype", "cuda_available", "detect_anomaly", "draw_graph", "dtypes",
                "expand", "expand_as", "getitem", "grad", "gradcheck", "jacobian", "repeat",
                "set_detect_anomaly", "stable_sigmoid", "to_device", "to_dot", "to_text",
                "unbroadcast", "uniform"}
__all__ = [name for name in _engine_names if name not in _engine_only] + [
    "BoolTensor", "ByteTensor", "CharTensor", "DoubleTensor", "FloatTensor", "HalfTensor",
    "IntTensor", "LongTensor", "ShortTensor", "accelerator", "autograd", "backends", "cuda",
    "dtype", "finfo", "get_rng_state", "iinfo", "is_tensor", "jit", "load", "nn", "numel", "onnx",
    "optim", "random", "save", "serialization", "set_rng_state", "utils"]
