"""Module and Parameter: registration by PyTorch's rules, walking a tree with shared parts,
modes, moves and casts, state dicts (tensors sharing memory; loading all or nothing),
and the same names, orders and answers as PyTorch for the same model."""

import copy
import pickle
from collections import OrderedDict

import numpy as np
import pytest

import engine
import nn


def classes(lib, ones, zeros):
    """One model written against ``lib`` (``nn`` or ``torch.nn``): nested modules, a shared
    submodule, parameters at several levels, persistent and non-persistent buffers, every
    container, a None parameter and a None child."""

    class Block(lib.Module):
        def __init__(self, shared):
            super().__init__()
            self.proj = lib.Linear(2, 3)
            self.scale = lib.Parameter(ones(3))
            self.shared = shared
            self.register_buffer("count", zeros(1))
            self.register_buffer("scratch", zeros(2), persistent=False)
            self.register_parameter("unused", None)

        def forward(self, x):
            return self.shared(self.proj(x) * self.scale)

    class Net(lib.Module):
        def __init__(self):
            super().__init__()
            self.first = lib.Parameter(zeros(1))
            shared = lib.Linear(3, 3)
            self.block = Block(shared)
            self.layers = lib.ModuleList([shared, lib.Tanh(),
                                          lib.Sequential(lib.Linear(3, 3), lib.BatchNorm1d(3))])
            self.head = lib.ModuleDict({"out": lib.Linear(3, 1), "act": lib.ReLU()})
            self.extra = lib.ParameterList([lib.Parameter(ones(2)), lib.Parameter(zeros(2))])
            self.table = lib.ParameterDict({"b": lib.Parameter(ones(1)),
                                            "a": lib.Parameter(ones(2))})
            self.last = lib.Parameter(zeros(1))
            self.missing = None
            self.add_module("nothing", None)

        def forward(self, x):
            x = self.block(x)
            for layer in self.layers:
                x = layer(x)
            return self.head["act"](self.head["out"](x)) + self.first + self.last

    return Block, Net


def build(lib, ones, zeros):
    return classes(lib, ones, zeros)[1]()


Block, Net = classes(nn, engine.ones, engine.zeros)
Block.__qualname__, Net.__qualname__ = "Block", "Net"  # found by pickle at the top level


def ours():
    return Net()


def names(pairs):
    return [name for name, _ in pairs]


# ---------------------------------------------------------------- the same tree as PyTorch


def test_names_and_orders_are_pytorchs():
    torch = pytest.importorskip("torch")
    mine, theirs = ours(), build(torch.nn, torch.ones, torch.zeros)
    for walk in [lambda m: m.named_modules(), lambda m: m.named_modules(remove_duplicate=False),
                 lambda m: m.named_modules(prefix="net"), lambda m: m.named_children(),
                 lambda m: m.named_parameters(), lambda m: m.named_parameters(prefix="p"),
                 lambda m: m.named_parameters(remove_duplicate=False),
                 lambda m: m.named_parameters(recurse=False), lambda m: m.named_buffers(),
                 lambda m: m.named_buffers(remove_duplicate=False),
                 lambda m: m.block.named_buffers(recurse=False),
                 lambda m: m.state_dict().items(), lambda m: m.state_dict(prefix="x.").items(),
                 lambda m: m.state_dict()._metadata.items()]:
        assert names(walk(mine)) == names(walk(theirs))
    assert mine.state_dict()._metadata == theirs.state_dict()._metadata  # versions too
    assert len(list(mine.modules())) == len(list(theirs.modules()))
    assert [type(m).__name__ for m in mine.children()] == [
        type(m).__name__ for m in theirs.children()]
    assert repr(mine) == repr(theirs)


def test_state_dicts_load_both_ways_and_give_the_same_outputs():
    torch = pytest.importorskip("torch")
    mine, theirs = ours().double(), build(torch.nn, torch.ones, torch.zeros).double()
    assert repr(mine.load_state_dict(theirs.state_dict())) == "<All keys matched successfully>"
    x = np.random.default_rng(0).standard_normal((4, 2))
    np.testing.assert_allclose(mine(engine.tensor(x)).numpy(),
                               theirs(torch.tensor(x)).detach().numpy(), rtol=1e-12)
    back = build(torch.nn, torch.ones, torch.zeros).double()
    back.load_state_dict({k: torch.from_numpy(v.numpy()) for k, v in mine.state_dict().items()})
    for (name, p), q in zip(mine.state_dict().items(), back.state_dict().values()):
        np.testing.assert_array_equal(p.numpy(), q.numpy(), err_msg=name)
    # parameters that require grad (not a state dict's detached ones) load too
    mine.load_state_dict(dict(theirs.named_parameters()), strict=False)


def test_load_state_dict_reports_the_keys_pytorch_reports():
    torch = pytest.importorskip("torch")
    mine, theirs = ours(), build(torch.nn, torch.ones, torch.zeros)
    state = dict(theirs.state_dict())
    for key in ("first", "block.proj.bias", "layers.2.1.running_var", "table.a"):
        del state[key]
    state.update({"zzz": torch.ones(1), "block.extra": torch.ones(1), "aaa": torch.ones(1),
                  "layers.2.0.foo.bar": torch.ones(1), "block.scratch": torch.ones(2),
                  "block.unused": torch.ones(1), "nothing.weight": torch.ones(1),
                  "nowhere.weight": torch.ones(1)})
    expected = theirs.load_state_dict(state, strict=False)
    got = mine.load_state_dict(state, strict=False)
    assert got == expected and type(got).__name__ == "_IncompatibleKeys"
    assert got.missing_keys == expected.missing_keys  # fields by name, as PyTorch's namedtuple
    assert repr(got) == repr(expected)
    with pytest.raises(RuntimeError) as error:
        mine.load_state_dict(state)
    with pytest.raises(RuntimeError) as their_error:
        theirs.load_state_dict(state)
    first_lines = str(their_error.value).split("\n\t")[1:3]  # missing, then unexpected
    for line in first_lines:
        assert line in str(error.value)


# ---------------------------------------------------------------- registration


def test_attribute_assignment_follows_pytorchs_rules():
    model = ours()
    block = model.block
    assert block.scale is block._parameters["scale"] and block.count is block._buffers["count"]
    assert "scale" not in block.__dict__  # found by __getattr__, as in PyTorch
    block.scale = None  # a registered parameter may become None: the name stays, in place
    assert list(block._parameters) == ["scale", "unused"]
    assert "block.scale" not in model.state_dict() and block.scale is None
    block.scale = nn.Parameter(engine.ones(3))
    assert list(block._parameters) == ["scale", "unused"]
    with pytest.raises(TypeError, match=r"cannot assign 'torch.FloatTensor' as parameter "
                                        r"'scale' \(torch.nn.Parameter or None expected\)"):
        block.scale = engine.ones(3)
    with pytest.raises(TypeError, match="cannot assign 'torch.DoubleTensor' as parameter"):
        block.scale = engine.ones(3, dtype="float64")
    with pytest.raises(TypeError, match=r"cannot assign 'int' as child module 'proj' "
                                        r"\(torch.nn.Module or None expected\)"):
        block.proj = 3
    block.count = engine.ones(1)  # a buffer stays a buffer
    assert block._buffers["count"].tolist() == [1.0]
    with pytest.raises(TypeError, match="cannot assign 'numpy.ndarray' as buffer 'count'"):
        block.count = np.ones(1)
    block.count = nn.Parameter(engine.ones(1))  # a Parameter takes over the name
    assert "count" in block._parameters and "count" not in block._buffers
    block.proj = None  # a child may become None
    assert "proj" in block._modules and list(block.children())[0] is block.shared
    del block.shared
    assert "shared" not in block._modules
    with pytest.raises(AttributeError, match="'Block' object has no attribute 'shared'"):
        block.shared  # noqa: B018
    block.plain = engine.ones(2)  # a Tensor under a new name is a plain attribute
    assert "plain" in block.__dict__ and "plain" not in block._buffers


def test_registration_errors_are_pytorchs():
    block = ours().block
    with pytest.raises(KeyError, match="attribute 'proj' already exists"):
        block.register_buffer("proj", engine.ones(1))
    with pytest.raises(KeyError, match="contain"):
        block.register_buffer("a.b", engine.ones(1))
    with pytest.raises(KeyError, match="empty string"):
        block.register_parameter("", None)
    with pytest.raises(TypeError, match="cannot assign 'list' object to buffer 'x'"):
        block.register_buffer("x", [1.0])
    with pytest.raises(TypeError, match="cannot assign 'torch.FloatTensor' object to parameter"):
        block.register_parameter("x", engine.ones(1))
    made = nn.Parameter(engine.ones(2))
    made._ctx = (made * 2).grad_fn  # as if an op had made it
    with pytest.raises(ValueError, match="Cannot assign non-leaf Tensor to parameter 'y'"):
        block.register_parameter("y", made)
    with pytest.raises(TypeError, match="int is not a Module subclass"):
        block.add_module("z", 3)

    class Early(nn.Module):
        def __init__(self):
            self.plain = 1  # allowed before __init__, as in PyTorch
            self.w = nn.Parameter(engine.zeros(1))

    with pytest.raises(AttributeError, match=r"cannot assign parameters before "
                                             r"Module.__init__\(\) call"):
        Early()


def test_non_persistent_buffers_move_but_are_not_saved():
    block = ours().block
    assert names(block.named_buffers()) == ["count", "scratch"]
    assert "scratch" not in block.state_dict()
    block.double()
    assert block.scratch.dtype == np.float64
    block.register_buffer("scratch", engine.ones(2))  # persistent again
    assert "scratch" in block.state_dict()


def test_get_submodule_parameter_buffer():
    model = ours()
    assert model.get_submodule("layers.2.1") is model.layers[2][1]
    assert model.get_submodule("") is model
    assert model.get_parameter("block.proj.weight") is model.block.proj.weight
    assert model.get_buffer("block.count") is model.block.count
    with pytest.raises(AttributeError, match="Block has no attribute `nope`"):
        model.get_submodule("block.nope")
    with pytest.raises(AttributeError, match="`scale` is not an nn.Module"):
        model.get_submodule("block.scale")
    with pytest.raises(AttributeError, match="`count` is not an nn.Parameter"):
        model.get_parameter("block.count")
    with pytest.raises(AttributeError, match="`scale` is not a buffer"):
        model.get_buffer("block.scale")


def test_shared_parameters_are_listed_once_but_saved_under_each_name():
    shared = nn.Linear(2, 2, rng=0)
    model = nn.Sequential(shared, nn.Tanh(), shared)
    assert names(model.named_parameters()) == ["0.weight", "0.bias"]
    assert names(model.named_parameters(remove_duplicate=False)) == [
        "0.weight", "0.bias", "2.weight", "2.bias"]
    assert list(model.state_dict()) == ["0.weight", "0.bias", "2.weight", "2.bias"]
    model.load_state_dict(model.state_dict())  # as PyTorch: both names load
    tied = nn.Sequential(nn.Linear(2, 2, rng=0), nn.Linear(2, 2, rng=1))
    tied[1].weight = tied[0].weight
    assert names(tied.named_parameters()) == ["0.weight", "0.bias", "1.bias"]


def test_parameters_is_a_generator_as_in_pytorch():
    model = ours()
    first = next(model.parameters())
    assert first is model.first and iter(model.parameters()) is not None
    assert len(list(model.parameters())) == 17


# ---------------------------------------------------------------- modes, moves, casts


def test_train_and_eval_reach_every_module_through_train():
    model = ours()
    assert all(m.training for m in model.modules())
    assert model.eval() is model
    assert not any(m.training for m in model.modules())
    model.block.train()
    assert model.block.proj.training and not model.training and not model.layers[2][1].training
    model.train()
    assert all(m.training for m in model.modules())
    with pytest.raises(ValueError, match="training mode is expected to be boolean"):
        model.train(1)
    calls = []

    class Counting(nn.Module):
        def train(self, mode=True):  # a child's own train() is called, as in PyTorch
            calls.append(mode)
            return super().train(mode)

    nn.Sequential(Counting()).eval()
    assert calls == [False]


def test_zero_grad_and_requires_grad_():
    model = ours()
    model(engine.ones(4, 2)).sum().backward()
    assert model.first.grad is not None and model.extra[0].grad is None  # not in the graph
    model.zero_grad(set_to_none=False)
    assert (model.first.grad.numpy() == 0).all()
    model.zero_grad()
    assert all(p.grad is None for p in model.parameters())
    assert model.requires_grad_(False) is model
    assert not any(p.requires_grad for p in model.parameters())


def test_to_and_casts_keep_parameter_identity_and_follow_pytorch():
    model = ours()
    before = list(model.parameters())
    model(engine.ones(3, 2)).sum().backward()
    assert model.double() is model and list(model.parameters()) == before
    assert all(p.dtype == np.float64 and isinstance(p, nn.Parameter) for p in before)
    assert model.first.grad.dtype == np.float64
    assert model.layers[2][1].num_batches_tracked.dtype == np.int64  # integers stay
    assert model.float().first.dtype == np.float32
    assert model.half().first.dtype == np.float16
    assert model.to(engine.float64).first.dtype == np.float64
    assert model.to("float32").first.dtype == np.float32
    assert model.to(engine.zeros(1, dtype="float64")).first.dtype == np.float64
    assert model.to("cpu", engine.float32).first.dtype == np.float32
    assert model.to(device="cpu", dtype="float64").cpu().first.dtype == np.float64
    assert model.type(engine.float32).layers[2][1].num_batches_tracked.dtype == np.float32
    with pytest.raises(TypeError, match="only accepts floating point or complex dtypes, but got "
                                        "desired dtype=int32"):
        model.to(dtype="int32")
    with pytest.raises(ValueError, match="unknown device"):
        model.to("tpu")


def test_to_device_moves_parameters_buffers_and_gradients(device):
    model = ours()
    x = engine.ones(3, 2)
    expected = model.eval()(x).numpy()
    model(x).sum().backward()
    assert model.to(device) is model
    tensors = [*model.parameters(), *model.buffers(), model.first.grad]
    assert all(t.device.startswith(device) for t in tensors)
    np.testing.assert_allclose(model(x.to(device)).numpy(), expected, rtol=1e-6)
    assert all(t.device.startswith(device) for t in model.state_dict().values())


def test_apply_visits_children_first():
    visited = []
    ours().apply(lambda m: visited.append(type(m).__name__))
    assert visited[0] == "Linear" and visited[-1] == "Net" and len(visited) == 15


def test_deepcopy_and_pickle_give_an_independent_working_model():
    model = ours().eval()
    x = engine.ones(2, 2)
    for clone in (copy.deepcopy(model), pickle.loads(pickle.dumps(model))):
        np.testing.assert_array_equal(clone(x).numpy(), model(x).numpy())
        assert clone.block.shared is clone.layers[0]  # sharing kept
        clone.first.data.add_(1)
        assert model.first.item() == 0
        assert list(clone.state_dict()) == list(model.state_dict())


# ---------------------------------------------------------------- state dicts


def test_state_dict_holds_detached_tensors_sharing_the_models_memory():
    model = ours()
    state = model.state_dict()
    assert isinstance(state, OrderedDict)
    assert all(isinstance(t, engine.Tensor) and not t.requires_grad for t in state.values())
    assert not isinstance(state["first"], nn.Parameter)
    state["first"].fill_(7.0)  # as PyTorch: a view of the parameter
    assert model.first.item() == 7.0
    assert state["block.scale"].numpy().shape == (3,) and state["block.scale"].shape == (3,)
    kept = model.state_dict(keep_vars=True)
    assert kept["first"] is model.first and kept["block.count"] is model.block.count
    into = OrderedDict()
    assert model.block.state_dict(destination=into, prefix="b.") is into
    assert list(into) == ["b.scale", "b.count", "b.proj.weight", "b.proj.bias",
                          "b.shared.weight", "b.shared.bias"]


def test_state_dict_round_trip_restores_outputs_and_keeps_dtype():
    source, target = ours(), ours()
    for p in target.parameters():
        p.data = p.data + 1
    target.load_state_dict(source.state_dict())
    x = engine.ones(2, 2)
    np.testing.assert_array_equal(source.eval()(x).numpy(), target.eval()(x).numpy())
    double = ours().double()
    double.load_state_dict(source.state_dict())  # float32 values into float64 parameters
    assert all(p.dtype == np.float64 for p in double.parameters())
    snapshot = {k: v.numpy().copy() for k, v in source.state_dict().items()}
    as_arrays = ours()
    as_arrays.load_state_dict(snapshot)  # NumPy arrays, as nn.load gives them
    for name, value in as_arrays.state_dict().items():
        np.testing.assert_array_equal(value.numpy(), snapshot[name])


def test_load_state_dict_errors_name_every_offender_and_change_nothing():
    model = ours()
    before = {k: v.numpy().copy() for k, v in model.state_dict().items()}
    versions = [p._version for p in model.parameters()]
    state = {k: v.numpy().copy() for k, v in model.state_dict().items()}
    del state["first"], state["head.out.bias"]
    state["extra.9"] = np.zeros(1)
    state["block.proj.weight"] = np.zeros((2, 3))
    state["layers.0.bias"] = np.zeros(4)
    state["last"] = np.full(1, 5.0)
    with pytest.raises(RuntimeError) as error:
        model.load_state_dict(state)
    message = str(error.value)
    for text in ['Error(s) in loading state_dict for Net (nothing was loaded):',
                 'Missing key(s) in state_dict: "first", "head.out.bias".',
                 'Unexpected key(s) in state_dict: "extra.9".',
                 "size mismatch for block.proj.weight: copying a param with shape (2, 3) from "
                 "checkpoint, the shape in current model is (3, 2).",
                 "size mismatch for layers.0.bias"]:
        assert text in message
    for name, value in model.state_dict().items():
        np.testing.assert_array_equal(value.numpy(), before[name])
    assert [p._version for p in model.parameters()] == versions
    with pytest.raises(TypeError, match="Expected state_dict to be dict-like"):
        model.load_state_dict([("first", np.zeros(1))])
    with pytest.raises(RuntimeError, match='While copying the parameter named "first"'):
        model.load_state_dict({"first": "zero"}, strict=False)


def test_non_strict_loading_reports_keys_but_still_checks_shapes():
    model = ours().block
    result = model.load_state_dict({"scale": [2.0, 2.0, 2.0], "other": 1}, strict=False)
    assert result.missing_keys == ["count", "proj.weight", "proj.bias", "shared.weight",
                                   "shared.bias"]
    assert result.unexpected_keys == ["other"]
    assert model.scale.tolist() == [2.0, 2.0, 2.0] and model.scale.dtype == np.float32
    assert model.scale._version == 1  # written in place, as PyTorch's copy_
    with pytest.raises(RuntimeError, match=r"scale: copying a param with shape \(2,\)"):
        model.load_state_dict({"scale": [1.0, 2.0]}, strict=False)


def test_load_state_dict_takes_pytorch_tensors_scalars_and_assign():
    torch = pytest.importorskip("torch")
    norm = nn.BatchNorm1d(2)
    state = {"weight": torch.tensor([2.0, 3.0], requires_grad=True),
             "bias": torch.zeros(2, dtype=torch.float64),
             "running_mean": torch.ones(2).to(torch.bfloat16), "running_var": [4.0, 4.0],
             "num_batches_tracked": torch.tensor([5])}  # (1,) into a 0-d buffer, as PyTorch
    norm.load_state_dict(state)
    assert norm.weight.tolist() == [2.0, 3.0] and norm.weight.dtype == np.float32
    assert norm.running_mean.tolist() == [1.0, 1.0] and norm.num_batches_tracked.item() == 5
    theirs = torch.nn.BatchNorm1d(2)
    theirs.load_state_dict({k: torch.as_tensor(np.asarray(v.detach().float()))
                            if k != "num_batches_tracked" else v
                            for k, v in state.items() if k != "running_var"}, strict=False)
    values = {"weight": np.array([7.0, 8.0]), "bias": engine.zeros(2, dtype="float64")}
    weight_before = norm.weight
    norm.load_state_dict(values, strict=False, assign=True)
    assert norm.weight is not weight_before and isinstance(norm.weight, nn.Parameter)
    assert norm.weight.dtype == np.float64 and norm.weight.requires_grad
    assert norm.bias.array is values["bias"].array  # assigned, not copied


def test_parameter_is_pytorchs():
    p = nn.Parameter(engine.tensor([1.0, 2.0]))
    assert p.requires_grad and p.is_leaf and isinstance(p, engine.Tensor)
    data = engine.tensor([1.0, 2.0])
    shared = nn.Parameter(data)
    data.fill_(5.0)
    assert shared.tolist() == [5.0, 5.0]  # memory shared with the wrapped tensor
    empty = nn.Parameter()
    assert empty.shape == (0,) and empty.dtype == np.float32 and empty.requires_grad
    assert not nn.Parameter(np.zeros(2), requires_grad=False).requires_grad
    with pytest.raises(TypeError, match="only float tensors"):
        nn.Parameter(np.zeros(2, dtype=np.int64))
    assert repr(nn.Parameter(engine.ones(2))) == (
        "Parameter containing:\ntensor([1., 1.], requires_grad=True)")


def test_parameter_repr_matches_pytorch():
    torch = pytest.importorskip("torch")
    assert repr(nn.Parameter(engine.ones(2))) == repr(torch.nn.Parameter(torch.ones(2)))


def test_forward_must_be_defined():
    with pytest.raises(NotImplementedError, match=r'Module \[Module\] is missing the required '
                                                  '"forward" function'):
        nn.Module()(engine.ones(1))
