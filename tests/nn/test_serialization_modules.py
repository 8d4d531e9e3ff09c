"""Whole Modules through PyTorch's format: saved as torch.save(model) saves them, rebuilt only
when their classes are allowlisted (PyTorch's add_safe_globals / safe_globals), under their
own import paths or PyTorch's (register_class_path, as the loopgrad namespace fills it),
never by running the class's __init__ or anything the file names."""

import argparse
import io

import numpy as np
import pytest

import engine
import nn
import rnn
from nn import safe_pickle, torch_format
from nn.safe_pickle import add_safe_globals, clear_safe_globals, get_safe_globals, safe_globals
from nn.serialization import CheckpointError


@pytest.fixture(autouse=True)
def clean_registries(monkeypatch):
    """Every test starts with an empty allowlist and an empty registry of PyTorch's paths
    (which importing loopgrad fills), and leaves both as it found them."""
    monkeypatch.setattr(safe_pickle, "_safe_globals", [])
    monkeypatch.setattr(safe_pickle, "_class_paths", {})


def saved(obj):
    buffer = io.BytesIO()
    torch_format.save(obj, buffer)
    return buffer.getvalue()


def ours(data, **kwargs):
    return torch_format.load(io.BytesIO(data), **kwargs)


class Model(nn.Module):
    """A user's model, as the word-language-model program has: layers, tied weights."""

    def __init__(self):
        super().__init__()
        self.encoder = nn.Embedding(10, 4, rng=0)
        self.drop = nn.Dropout(0.5, rng=3)
        self.rnn = rnn.LSTM(4, 4, num_layers=2, dropout=0.2, rng=1)
        self.decoder = nn.Linear(4, 10, rng=2)
        self.decoder.weight = self.encoder.weight
        self.register_buffer("scale", engine.ones(1))
        self.register_buffer("cache", engine.zeros(2), persistent=False)
        self.ntoken, self.name, self.sizes = 10, "lm", (4, 4)

    def forward(self, tokens):
        output, _ = self.rnn(self.drop(self.encoder(tokens)))
        return self.decoder(output) * self.scale


CLASSES = [Model, nn.Embedding, nn.Dropout, rnn.LSTM, nn.Linear]


def test_a_whole_model_round_trips_with_its_classes_allowlisted():
    model = Model()
    data = saved(model)
    with pytest.raises(CheckpointError, match=r"import test_serialization_modules\.Model|Model"):
        ours(data)
    with safe_globals(CLASSES):
        back = ours(data)
    assert type(back) is Model and type(back.rnn) is rnn.LSTM
    assert back.decoder.weight is back.encoder.weight  # tied weights stay tied
    assert [n for n, _ in back.named_parameters()] == [n for n, _ in model.named_parameters()]
    assert all(type(p) is nn.Parameter and p.requires_grad for p in back.parameters())
    assert (back.ntoken, back.name, back.sizes) == (10, "lm", (4, 4))
    assert list(back.state_dict()) == list(model.state_dict())  # 'cache' is not persistent
    tokens = engine.tensor(np.array([[1, 2], [3, 4], [5, 6]]))
    model.eval(), back.eval()
    np.testing.assert_array_equal(back(tokens).numpy(), model(tokens).numpy())
    model.train(), back.train()  # the dropout streams continue where the saved one was
    np.testing.assert_array_equal(back(tokens).numpy(), model(tokens).numpy())
    assert get_safe_globals() == []  # the context manager took them back


def test_add_safe_globals_and_clear():
    data = saved(nn.Linear(2, 3, rng=0))
    add_safe_globals([nn.Linear])
    assert get_safe_globals() == [nn.Linear]
    assert isinstance(ours(data), nn.Linear)
    clear_safe_globals()
    with pytest.raises(CheckpointError, match="add_safe_globals"):
        ours(data)
    with pytest.raises(TypeError, match="classes or functions"):
        add_safe_globals(["nn.Linear"])
    add_safe_globals([(nn.Linear, "old.place.Linear")])  # PyTorch's (object, name) form
    with pytest.raises(CheckpointError, match="nn.layers.Linear"):
        ours(data)  # the name is the only one it stands under
    assert isinstance(ours(_patched(data, b"nn.layers\nLinear", b"old.place\nLinear")), nn.Linear)


def test_pytorch_s_class_paths_resolve_to_registered_classes():
    torch = pytest.importorskip("torch")
    # the loopgrad namespace registers these; the test stands in for it
    safe_pickle.register_class_path("torch.nn.modules.linear.Linear", nn.Linear)
    safe_pickle.register_class_path("torch.nn.modules.container.Sequential", nn.Sequential)
    safe_pickle.register_class_path("torch.nn.modules.activation.Tanh", nn.Tanh)
    torch.manual_seed(0)
    source = torch.nn.Sequential(torch.nn.Linear(3, 5), torch.nn.Tanh(), torch.nn.Linear(5, 2))
    buffer = io.BytesIO()
    torch.save(source, buffer)
    with pytest.raises(CheckpointError, match="torch.nn.modules.container.Sequential"):
        ours(buffer.getvalue())  # registered is not allowlisted
    with safe_globals([nn.Sequential, nn.Linear, nn.Tanh]):
        back = ours(buffer.getvalue())
    assert type(back) is nn.Sequential and type(back[0]) is nn.Linear
    assert back[0].in_features == 3 and back.training
    x = np.random.default_rng(0).standard_normal((4, 3)).astype(np.float32)
    np.testing.assert_array_equal(back[2].weight.numpy(), source[2].weight.detach().numpy())
    np.testing.assert_allclose(back(engine.tensor(x)).numpy(),
                               source(torch.from_numpy(x)).detach().numpy(), rtol=1e-5,
                               atol=1e-6)
    # ours is written under the registered path, so PyTorch's names load it too
    data = saved(nn.Linear(2, 2, rng=0))
    assert b"torch.nn.modules.linear\nLinear" in data
    with safe_globals([(nn.Linear, "torch.nn.modules.linear.Linear")]):
        assert isinstance(ours(data), nn.Linear)


def test_a_rebuild_function_finishes_a_module_loaded_under_its_path():
    torch = pytest.importorskip("torch")
    seen = []

    def rebuild(module, state):
        seen.append(sorted(state))
        module.rng = None  # an attribute PyTorch's Dropout does not have

    safe_pickle.register_class_path("torch.nn.modules.dropout.Dropout", nn.Dropout, rebuild)
    buffer = io.BytesIO()
    torch.save(torch.nn.Dropout(0.3), buffer)
    with safe_globals([nn.Dropout]):
        back = ours(buffer.getvalue())
    assert back.p == 0.3 and back.rng is None and "_parameters" in seen[0]
    assert back.eval()(engine.ones(2)).tolist() == [1.0, 1.0]
    with pytest.raises(ValueError, match="dotted import path"):
        safe_pickle.register_class_path("Dropout", nn.Dropout)


def test_plain_allowlisted_objects_round_trip():
    args = argparse.Namespace(lr=0.1, layers=[2, 3], name="run")
    data = saved({"args": args, "step": 3})
    with pytest.raises(CheckpointError, match="argparse.Namespace"):
        ours(data)
    with safe_globals([argparse.Namespace]):
        back = ours(data)
    assert back["args"] == args and back["step"] == 3


def test_loading_never_calls_the_class_or_its_init(monkeypatch):
    data = saved(nn.Linear(2, 3, rng=0))
    calls = []
    monkeypatch.setattr(nn.Linear, "__init__", lambda self, *a, **k: calls.append(a))
    with safe_globals([nn.Linear]):
        back = ours(data)
    assert calls == [] and back.weight.shape == (3, 2)


def test_a_module_state_that_is_not_data_is_refused():
    model = nn.Linear(2, 3, rng=0)
    good = saved(model)
    cases = {
        b"X\x0b\x00\x00\x00in_features": b"X\x0b\x00\x00\x00__in_feat__",  # a dunder name
    }
    for old, new in cases.items():
        assert old in good
        bad = _patched(good, old, new)
        with safe_globals([nn.Linear]), pytest.raises(CheckpointError, match="not allowed"):
            ours(bad)
    model.weight_note = object.__new__(argparse.Namespace)
    with safe_globals([nn.Linear]), pytest.raises(CheckpointError, match="Namespace"):
        ours(saved(model))  # an attribute of a class that is not allowlisted


def _patched(data, old, new):
    """``data`` (our file) with ``old`` replaced by ``new`` (of the same length) in data.pkl."""
    import zipfile

    assert len(old) == len(new)
    source = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for info in source.infolist():
            content = source.read(info)
            if info.filename.endswith("data.pkl"):
                content = content.replace(old, new)
            archive.writestr(info.filename, content)
    return out.getvalue()
