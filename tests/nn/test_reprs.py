"""``print(model)`` reads as in PyTorch: one table of modules, built the same way in both."""

import pytest

import engine
import nn

TABLE = [  # (class name, positional arguments, keyword arguments)
    ("Linear", (2, 3), {}), ("Linear", (1, 1), {"bias": False}),
    ("Embedding", (5, 2), {}), ("Embedding", (5, 2), {"padding_idx": -1, "max_norm": 1.0}),
    ("Embedding", (5, 2), {"norm_type": 1.0, "scale_grad_by_freq": True}),
    ("LayerNorm", (3,), {}), ("LayerNorm", ((2, 3),), {"eps": 1e-6, "bias": False}),
    ("LayerNorm", (4,), {"elementwise_affine": False}),
    ("BatchNorm1d", (4,), {}),
    ("BatchNorm1d", (4,), {"momentum": None, "affine": False, "track_running_stats": False}),
    ("BatchNorm1d", (4,), {"eps": 1e-3, "bias": False}),
    ("Dropout", (), {}), ("Dropout", (0.25,), {"inplace": True}), ("Dropout1d", (0.1,), {}),
    ("Dropout2d", (), {"p": 0.3}),
    ("ReLU", (), {}), ("ReLU", (True,), {}), ("Tanh", (), {}), ("Sigmoid", (), {}),
    ("GELU", (), {}), ("GELU", ("tanh",), {}), ("LeakyReLU", (), {}),
    ("LeakyReLU", (0.2, True), {}),
    ("ELU", (), {}), ("ELU", (0.5,), {}), ("Softplus", (), {}), ("Softplus", (2, 10), {}),
    ("Softmax", (), {}), ("Softmax", (1,), {}), ("LogSoftmax", (), {"dim": -1}),
    ("Identity", (3,), {"unused": 1}), ("Flatten", (), {}), ("Flatten", (0, 2), {}),
    ("Unflatten", (1, (2, 3)), {}), ("Unflatten", (-1, [4, -1]), {}),
]


@pytest.mark.parametrize(("name", "args", "kwargs"), TABLE,
                         ids=[f"{name}{args}{kwargs}" for name, args, kwargs in TABLE])
def test_each_module_prints_as_pytorchs(name, args, kwargs):
    torch = pytest.importorskip("torch")
    assert repr(getattr(nn, name)(*args, **kwargs)) == repr(getattr(torch.nn, name)(*args,
                                                                                     **kwargs))


def nested(lib, ones):
    class Encoder(lib.Module):
        def __init__(self):
            super().__init__()
            self.embedding = lib.Embedding(10, 4, padding_idx=0)
            self.blocks = lib.ModuleList([lib.Sequential(lib.Linear(4, 4), lib.GELU())
                                          for _ in range(3)])
            self.norm = lib.BatchNorm1d(4)
            self.heads = lib.ModuleDict({"tag": lib.Linear(4, 2), "drop": lib.Dropout2d(0.5)})
            self.scales = lib.ParameterList([lib.Parameter(ones(4)) for _ in range(2)])
            self.bias = lib.ParameterDict({"out": lib.Parameter(ones(2, 2))})
            self.empty = lib.Sequential()

        def extra_repr(self):  # several lines of settings before the children
            return "vocabulary=10\nwidth=4"

    return lib.Sequential(Encoder(), lib.LogSoftmax(dim=1))


def test_a_nested_model_prints_as_pytorchs():
    torch = pytest.importorskip("torch")
    ours, theirs = repr(nested(nn, engine.ones)), repr(nested(torch.nn, torch.ones))
    assert ours == theirs and "(0-2): 3 x Sequential(" in ours
