"""Module and Parameter: registration order, walking, modes, moves, repr and state dicts."""

from collections import OrderedDict

import numpy as np
import pytest

import engine
import nn


def rng():
    return np.random.default_rng(0)


class Block(nn.Module):
    def __init__(self):
        super().__init__()
        self.proj = nn.Linear(2, 3, rng=rng())
        self.scale = nn.Parameter(np.ones(3, dtype=np.float32))
        self.register_buffer("count", engine.zeros(1))

    def forward(self, x):
        return self.proj(x) * self.scale


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.first = nn.Parameter(np.zeros(1, dtype=np.float32))
        self.block = Block()
        self.layers = nn.ModuleList([nn.Linear(3, 3, rng=rng()), nn.Tanh()])
        self.head = nn.Sequential(nn.Linear(3, 1, rng=rng()), nn.Dropout(0.2, rng=rng()))
        self.last = nn.Parameter(np.zeros(1, dtype=np.float32))

    def forward(self, x):
        x = self.block(x)
        for layer in self.layers:
            x = layer(x)
        return self.head(x) + self.first + self.last


NAMES = ["first", "last", "block.scale", "block.proj.weight", "block.proj.bias",
         "layers.0.weight", "layers.0.bias", "head.0.weight", "head.0.bias"]


def test_parameters_are_found_in_registration_order_with_dotted_names():
    model = Net()
    assert [name for name, _ in model.named_parameters()] == NAMES
    assert [p for _, p in model.named_parameters()] == list(model.parameters())
    assert [name for name, _ in model.named_children()] == ["block", "layers", "head"]
    assert [type(m).__name__ for m in model.children()] == ["Block", "ModuleList", "Sequential"]
    assert [name for name, _ in model.named_modules()] == [
        "", "block", "block.proj", "layers", "layers.0", "layers.1", "head", "head.0", "head.1"]
    assert len(list(model.modules())) == 9
    assert list(model.state_dict()) == [*NAMES[:3], "block.count", *NAMES[3:]]  # PyTorch's order
    assert [name for name, _ in model.named_parameters(recurse=False)] == ["first", "last"]


def test_reassignment_and_deletion_update_the_registry():
    model = Block()
    model.scale = nn.Parameter(np.zeros(3, dtype=np.float32))  # same name, same place
    model.proj = nn.Tanh()
    assert [name for name, _ in model.named_parameters()] == ["scale"]
    model.count = engine.ones(1)  # a buffer stays a buffer
    assert list(model.state_dict()) == ["scale", "count"]
    del model.scale
    assert list(model.parameters()) == []
    model.scale = 3.0  # a plain attribute is not registered
    assert list(model.state_dict()) == ["count"]
    with pytest.raises(AttributeError, match="before Module.__init__"):
        class Broken(nn.Module):
            def __init__(self):
                self.w = nn.Parameter(np.zeros(1))
        Broken()


def test_shared_parameters_are_listed_once_but_saved_under_each_name():
    shared = nn.Linear(2, 2, rng=rng())
    model = nn.Sequential(shared, nn.Tanh(), shared)
    assert [name for name, _ in model.named_parameters()] == ["0.weight", "0.bias"]
    assert list(model.state_dict()) == ["0.weight", "0.bias", "2.weight", "2.bias"]
    model.load_state_dict(model.state_dict())  # as PyTorch: both names load
    tied = nn.Sequential(nn.Linear(2, 2, rng=rng()), nn.Linear(2, 2, rng=rng()))
    tied[1].weight = tied[0].weight
    assert [name for name, _ in tied.named_parameters()] == ["0.weight", "0.bias", "1.bias"]


def test_train_and_eval_reach_every_module():
    model = Net()
    assert all(m.training for m in model.modules())
    assert model.eval() is model
    assert not any(m.training for m in model.modules())
    model.block.train()
    assert model.block.proj.training and not model.training and not model.head[1].training
    model.train()
    assert all(m.training for m in model.modules())


def test_zero_grad_and_call():
    model = Net()
    out = model(engine.ones(4, 2))
    assert out.shape == (4, 1)
    out.sum().backward()
    assert all(p.grad is not None for p in model.parameters())
    model.zero_grad(set_to_none=False)
    assert all((p.grad.numpy() == 0).all() for p in model.parameters())
    model.zero_grad()
    assert all(p.grad is None for p in model.parameters())


def test_to_dtype_keeps_parameter_identity_and_casts_gradients():
    model = Net()
    before = list(model.parameters())
    model(engine.ones(1, 2)).sum().backward()
    assert model.double() is model
    assert list(model.parameters()) == before
    assert all(p.dtype == np.float64 and p.grad.dtype == np.float64 for p in model.parameters())
    assert model.block.count.dtype == np.float64
    assert all(isinstance(p, nn.Parameter) for p in model.parameters())
    model.float()
    assert all(p.dtype == np.float32 for p in model.parameters())
    with pytest.raises(ValueError, match="unknown device"):
        model.to("tpu")


def test_to_device_moves_parameters_and_buffers(device):
    model = Net()
    x = engine.ones(3, 2)
    expected = model.eval()(x).numpy()
    model.to(device)
    assert all(t.device.startswith(device) for t in [*model.parameters(), *model.buffers()])
    np.testing.assert_allclose(model(x.to(device)).numpy(), expected, rtol=1e-6)
    assert all(isinstance(a, np.ndarray) for a in model.state_dict().values())


def test_repr_is_pytorchs():
    model = nn.Sequential(nn.Linear(2, 3, rng=rng()), nn.ReLU(),
                          nn.Sequential(nn.LayerNorm(3), nn.Dropout(0.1)))
    assert repr(model) == (
        "Sequential(\n"
        "  (0): Linear(in_features=2, out_features=3, bias=True)\n"
        "  (1): ReLU()\n"
        "  (2): Sequential(\n"
        "    (0): LayerNorm((3,), eps=1e-05, elementwise_affine=True)\n"
        "    (1): Dropout(p=0.1)\n"
        "  )\n"
        ")"
    )
    assert repr(nn.Embedding(5, 2, padding_idx=0, rng=rng())) == "Embedding(5, 2, padding_idx=0)"
    assert repr(nn.Linear(1, 1, bias=False, rng=rng())).endswith("bias=False)")
    assert repr(nn.Parameter(np.zeros(1))).startswith("Parameter containing:\ntensor(")

    class WithBoth(nn.Linear):
        def __init__(self):
            super().__init__(1, 1, rng=rng())
            self.inner = nn.Tanh()

    assert repr(WithBoth()) == (
        "WithBoth(\n  in_features=1, out_features=1, bias=True\n  (inner): Tanh()\n)")


def test_module_list_and_sequential_containers():
    layers = nn.ModuleList([nn.Tanh()]).append(nn.ReLU()).extend([nn.Sigmoid()])
    assert len(layers) == 3 and isinstance(layers[-1], nn.Sigmoid)
    assert [type(m).__name__ for m in layers[1:]] == ["ReLU", "Sigmoid"]
    with pytest.raises(TypeError, match="holds Modules"):
        layers.append(lambda x: x)
    model = nn.Sequential(OrderedDict(act=nn.Tanh(), out=nn.Linear(2, 1, rng=rng())))
    assert [name for name, _ in model.named_parameters()] == ["out.weight", "out.bias"]
    assert isinstance(model[0:1], nn.Sequential) and len(model[0:1]) == 1
    x = engine.tensor([[0.5, -1.0]])
    np.testing.assert_allclose(model(x).numpy(), model[1](x.tanh()).numpy())


def test_apply_visits_children_first():
    visited = []
    Net().apply(lambda m: visited.append(type(m).__name__))
    assert visited[0] == "Linear" and visited[-1] == "Net" and len(visited) == 9


# ---------------------------------------------------------------- state dicts


def test_state_dict_round_trip_restores_outputs_and_keeps_dtype():
    source, target = Net(), Net()
    for p in target.parameters():
        p.data = p.data + 1
    target.load_state_dict(source.state_dict())
    x = engine.ones(2, 2)
    np.testing.assert_array_equal(source.eval()(x).numpy(), target.eval()(x).numpy())
    double = Net().double()
    double.load_state_dict(source.state_dict())  # float32 arrays into float64 parameters
    assert all(p.dtype == np.float64 for p in double.parameters())
    state = source.state_dict()
    state["first"][...] = 7  # a copy: the model is untouched
    assert source.first.item() == 0


def test_load_state_dict_errors_name_every_offender_and_change_nothing():
    model = Net()
    before = {k: v.copy() for k, v in model.state_dict().items()}
    state = model.state_dict()
    del state["first"], state["head.0.bias"]
    state["extra"] = np.zeros(1)
    state["block.proj.weight"] = np.zeros((2, 3))
    state["layers.0.bias"] = np.zeros(4)
    state["last"] = np.full(1, 5.0)
    with pytest.raises(ValueError) as error:
        model.load_state_dict(state)
    message = str(error.value)
    for text in ["missing keys: ['first', 'head.0.bias']", "unexpected keys: ['extra']",
                 "block.proj.weight: expected shape (3, 2), got (2, 3)",
                 "layers.0.bias: expected shape (3,), got (4,)", "nothing was loaded"]:
        assert text in message
    for name, value in model.state_dict().items():
        np.testing.assert_array_equal(value, before[name])


def test_non_strict_loading_reports_keys_but_still_checks_shapes():
    model = Block()
    result = model.load_state_dict({"scale": np.full(3, 2.0), "other": 1}, strict=False)
    assert result.missing_keys == ["count", "proj.weight", "proj.bias"]
    assert result.unexpected_keys == ["other"]
    assert model.scale.tolist() == [2.0, 2.0, 2.0] and model.scale.dtype == np.float32
    with pytest.raises(ValueError, match=r"scale: expected shape \(3,\), got \(2,\)"):
        model.load_state_dict({"scale": [1.0, 2.0]}, strict=False)


def test_loads_a_pytorch_state_dict_and_matches_its_outputs():
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    theirs = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Tanh(), torch.nn.LayerNorm(4),
                                 torch.nn.Linear(4, 2)).double()
    ours = nn.Sequential(nn.Linear(3, 4, rng=rng()), nn.Tanh(), nn.LayerNorm(4),
                         nn.Linear(4, 2, rng=rng())).double()
    ours.load_state_dict({k: v.numpy() for k, v in theirs.state_dict().items()})
    x = np.random.default_rng(1).standard_normal((5, 3))
    tx = torch.tensor(x, requires_grad=True)
    ex = engine.tensor(x, requires_grad=True)
    expected, got = theirs(tx), ours(ex)
    np.testing.assert_allclose(got.numpy(), expected.detach().numpy(), rtol=1e-12)
    expected.sum().backward()
    got.sum().backward()
    np.testing.assert_allclose(ex.grad.numpy(), tx.grad.numpy(), rtol=1e-10)
    for (name, p), (torch_name, q) in zip(ours.named_parameters(), theirs.named_parameters()):
        assert name == torch_name
        np.testing.assert_allclose(p.grad.numpy(), q.grad.numpy(), rtol=1e-10, atol=1e-14)
    ours.load_state_dict(theirs.state_dict())  # tensors themselves go through numpy.asarray


def test_parameter_is_a_leaf_that_requires_grad():
    p = nn.Parameter(engine.tensor([1.0, 2.0]))
    assert p.requires_grad and p.is_leaf and isinstance(p, engine.Tensor)
    frozen = nn.Parameter(np.zeros(2), requires_grad=False)
    assert not frozen.requires_grad
    with pytest.raises(TypeError, match="only float tensors"):
        nn.Parameter(np.zeros(2, dtype=np.int64))


def test_to_refuses_a_non_float_dtype():
    layer = nn.Linear(3, 2, rng=np.random.default_rng(0))
    with pytest.raises(TypeError, match="float dtype; got int32"):
        layer.to(dtype="int32")
    assert layer.weight.dtype == np.float32
