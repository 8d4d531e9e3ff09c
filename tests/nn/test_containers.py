"""Containers: Sequential, ModuleList, ModuleDict, ParameterList, ParameterDict. The same
operations on ours and on PyTorch's give the same names, orders and reprs."""

from collections import OrderedDict

import numpy as np
import pytest

import engine
import nn


def structure(module):
    """What a container looks like from outside: its children's names and types, its
    parameters' names, its repr."""
    return ([(name, type(m).__name__) for name, m in module.named_children()],
            [name for name, _ in module.named_parameters()], repr(module))


def sequential_steps(lib):
    """The same edits of a Sequential, written against ``lib``; each step's structure."""
    seq = lib.Sequential(lib.Linear(2, 3), lib.Tanh(), lib.Linear(3, 3))
    steps = [structure(seq)]
    seq.append(lib.ReLU())
    seq.insert(1, lib.Sigmoid())
    seq.insert(-1, lib.Identity())
    steps.append(structure(seq))
    seq[0] = lib.Linear(2, 4)
    seq[-1] = lib.GELU()
    del seq[2]
    steps.append(structure(seq))
    steps.append(structure(seq[1:4]))  # the same names as in seq, as PyTorch
    steps.append(structure(seq[::2]))
    popped = seq.pop(0)
    steps.append((type(popped).__name__, structure(seq)))
    seq.extend([lib.Tanh(), lib.Tanh()])
    del seq[1:3]
    steps.append(structure(seq))
    steps.append(structure(seq + lib.Sequential(lib.ReLU())))
    seq += lib.Sequential(lib.ELU())
    steps.append(structure(seq))
    steps.append(structure(seq * 2))
    same = seq
    seq *= 2
    steps.append((same is seq, structure(seq)))
    named = lib.Sequential(OrderedDict([("conv", lib.Linear(1, 1)), ("act", lib.ReLU())]))
    steps.append(structure(named))
    steps.append(structure(named[1:]))
    return steps


def module_list_steps(lib):
    layers = lib.ModuleList([lib.Linear(2, 2) for _ in range(3)] + [lib.Tanh()])
    steps = [structure(layers)]  # a run of equal reprs: one line "(0-2): 3 x Linear(...)"
    layers.append(lib.ReLU()).extend([lib.Sigmoid()])
    layers.insert(1, lib.GELU())
    layers[-1] = lib.ELU()
    steps.append(structure(layers))
    del layers[0]
    del layers[-2:]
    steps.append(structure(layers))
    layers += [lib.Linear(2, 2), lib.Linear(2, 2)]
    steps.append(structure(layers))
    steps.append(structure(layers[1:3]))
    steps.append(structure(layers + lib.ModuleList([lib.Tanh()])))
    steps.append((type(layers.pop(1)).__name__, structure(layers)))
    steps.append([type(m).__name__ for m in layers] + [type(layers[-1]).__name__, len(layers)])
    steps.append(structure(lib.ModuleList()))
    return steps


def module_dict_steps(lib):
    heads = lib.ModuleDict({"b": lib.Linear(1, 2), "a": lib.Tanh()})
    steps = [structure(heads)]
    heads["c"] = lib.ReLU()
    heads.update([("d", lib.Sigmoid()), ("a", lib.GELU())])
    heads.update(OrderedDict(e=lib.Identity()))
    steps.append(structure(heads))
    steps.append((type(heads.pop("b")).__name__, list(heads), "c" in heads, len(heads)))
    del heads["c"]
    steps.append((list(heads.keys()), [type(m).__name__ for m in heads.values()],
                  [k for k, _ in heads.items()], structure(heads)))
    heads.clear()
    steps.append(structure(heads))
    return steps


def parameter_list_steps(lib, ones):
    params = lib.ParameterList([lib.Parameter(ones(2, 3)), ones(4)])  # a tensor is wrapped
    steps = [structure(params), type(params[1]).__name__]
    params.append(lib.Parameter(ones(1)))
    params.extend([ones(2, dtype=lib_double(lib))])
    params[0] = ones(5)
    steps.append(structure(params))
    steps.append(structure(params[1:3]))
    steps.append([tuple(p.shape) for p in params] + [len(params)])
    params += [ones(3)]
    steps.append(structure(params))
    return steps


def parameter_dict_steps(lib, ones):
    table = lib.ParameterDict({"z": ones(2), "a": lib.Parameter(ones(3))})  # a dict: sorted
    steps = [structure(table), list(table)]
    table["m"] = ones(1)
    table.update(OrderedDict([("y", ones(2)), ("b", ones(2))]))  # an OrderedDict: in order
    steps.append((structure(table), list(table.keys())))
    steps.append((tuple(table.pop("z").shape), table.get("nope"), "a" in table, len(table)))
    steps.append(table.setdefault("q", ones(4)).shape == (4,))
    steps.append([k for k, _ in table.items()] + list(reversed(table)))
    steps.append(structure(table.copy()))
    del table["m"]
    steps.append(structure(table))
    return steps


def lib_double(lib):
    return engine.float64 if lib is nn else __import__("torch").float64


@pytest.mark.parametrize("steps", [sequential_steps, module_list_steps, module_dict_steps])
def test_module_containers_behave_as_pytorchs(steps):
    torch = pytest.importorskip("torch")
    for ours, theirs in zip(steps(nn), steps(torch.nn), strict=True):
        assert ours == theirs


@pytest.mark.parametrize("steps", [parameter_list_steps, parameter_dict_steps])
def test_parameter_containers_behave_as_pytorchs(steps):
    torch = pytest.importorskip("torch")
    for ours, theirs in zip(steps(nn, engine.ones), steps(torch.nn, torch.ones), strict=True):
        assert ours == theirs


def test_containers_without_pytorch():
    seq = nn.Sequential(nn.Linear(2, 3, rng=0), nn.Tanh())
    assert seq(engine.ones(4, 2)).shape == (4, 3) and len(seq) == 2 and seq[-1] is seq[1]
    assert [n for n, _ in seq[1:].named_children()] == ["1"]
    with pytest.raises(IndexError, match="index 2 is out of range"):
        seq[2]  # noqa: B018
    with pytest.raises(TypeError, match="is not a Module subclass"):
        nn.Sequential(lambda x: x)
    layers = nn.ModuleList([nn.Tanh()]).append(nn.ReLU()).extend([nn.Sigmoid()])
    assert [type(m).__name__ for m in layers[-2:]] == ["ReLU", "Sigmoid"]
    with pytest.raises(IndexError, match="index -4 is out of range"):
        layers[-4]  # noqa: B018
    with pytest.raises(TypeError, match="should be called with an iterable"):
        layers.extend(nn.Tanh())
    table = nn.ParameterDict({"w": engine.ones(2)})
    assert isinstance(table["w"], nn.Parameter) and list(table.parameters())[0] is table["w"]
    with pytest.raises(TypeError, match="cannot be used as a key as it is not a string"):
        table[0] = engine.ones(1)
    with pytest.raises(RuntimeError, match="ParameterList should not be called"):
        nn.ParameterList()(1)
    with pytest.raises(ValueError, match="has length 3; 2 is required"):
        nn.ModuleDict([("a", nn.Tanh(), 1)])


def test_tensor_wrapped_by_a_parameter_container_shares_memory():
    data = engine.zeros(3)
    params = nn.ParameterList([data])
    data.fill_(2.0)
    assert params[0].tolist() == [2.0, 2.0, 2.0] and params[0].requires_grad
    np.testing.assert_array_equal(nn.ParameterDict({"x": data})["x"].numpy(), data.numpy())
