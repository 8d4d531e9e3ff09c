"""nn.save / nn.load: nested round trips, the documented .npz layout, no pickle, refusals,
and atomic writes that survive a crash midway."""

import json
import os
import zipfile

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import engine
import nn
from nn import serialization

keys = st.one_of(st.text("ab.-_ 0é✓", max_size=4), st.integers(-3, 3))
arrays = st.builds(lambda shape, seed, dtype: np.random.default_rng(seed).standard_normal(shape)
                   .astype(dtype), st.lists(st.integers(0, 3), max_size=3).map(tuple),
                   st.integers(0, 99), st.sampled_from(["float32", "float64", "int64", "bool"]))
leaves = st.one_of(arrays, st.none(), st.booleans(), st.integers(-2**70, 2**70),
                   st.floats(allow_nan=False), st.text(max_size=5))
trees = st.recursive(leaves, lambda inner: st.one_of(
    st.lists(inner, max_size=3), st.lists(inner, max_size=3).map(tuple),
    st.dictionaries(keys, inner, max_size=3)), max_leaves=8)


def assert_same(a, b):
    assert type(a) is type(b), (a, b)
    if isinstance(a, dict):
        assert list(a) == list(b)
        for key in a:
            assert type(key) is type(next(k for k in b if k == key))
            assert_same(a[key], b[key])
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b)
        for x, y in zip(a, b):
            assert_same(x, y)
    elif isinstance(a, np.ndarray):
        assert a.dtype == b.dtype and a.shape == b.shape
        np.testing.assert_array_equal(a, b)
    else:
        assert a == b


def unique_flat_names(tree):
    """False when two keys of one dict print alike (0 and "0"), which save refuses."""
    if isinstance(tree, dict):
        names = [str(k) for k in tree]
        return len(set(names)) == len(names) and all(map(unique_flat_names, tree.values()))
    if isinstance(tree, (list, tuple)):
        return all(map(unique_flat_names, tree))
    return True


@given(st.dictionaries(keys, trees, max_size=4))
def test_any_nested_tree_round_trips_exactly(tmp_path_factory, tree):
    if not unique_flat_names(tree) or "__structure__" in tree:
        return
    path = tmp_path_factory.mktemp("ckpt") / "tree.npz"
    nn.save(tree, path)
    assert_same(tree, nn.load(path))


def test_experiment_checkpoint_layout_is_the_documented_one(tmp_path):
    model = nn.Sequential(nn.Linear(2, 3, rng=np.random.default_rng(0)), nn.Tanh())
    optimizer = nn.optim.Adam(model.parameters(), lr=1e-3)
    model(engine.ones(1, 2)).sum().backward()
    optimizer.step()
    rng = np.random.default_rng(5)
    checkpoint = {"model": model.state_dict(), "optim": optimizer.state_dict(),
                  "rng": rng.bit_generator.state, "step": 1, "name": "run"}
    path = tmp_path / "checkpoint.npz"
    nn.save(checkpoint, path)
    with np.load(path, allow_pickle=False) as raw:  # readable by NumPy alone, no pickle
        assert {"model/0.weight", "optim/state/0/exp_avg", "optim/state/0/step",
                "optim/param_groups/0/betas/1", "rng/state/state", "step", "name",
                "__structure__"} <= set(raw.files)
        assert raw["step"].shape == () and raw["optim/param_groups/0/lr"].dtype == np.float64
        assert raw["rng/state/state"].dtype.kind == "U"  # a 128-bit int, as its digits
        structure = json.loads(raw["__structure__"].tobytes())
        assert structure["format"] == "loopgrad-checkpoint" and structure["version"] == 1
    loaded = nn.load(path)
    assert_same(checkpoint["optim"], loaded["optim"])
    assert list(loaded["optim"]["state"]) == [0, 1]  # int keys stay ints
    restored = np.random.default_rng()
    restored.bit_generator.state = loaded["rng"]
    assert restored.random() == rng.random()
    again = nn.Sequential(nn.Linear(2, 3), nn.Tanh())
    again.load_state_dict(loaded["model"])
    np.testing.assert_array_equal(again[0].weight.numpy(), model[0].weight.numpy())


def test_state_dict_round_trip_restores_a_model(tmp_path, device):
    model = nn.Sequential(nn.Embedding(5, 3, rng=np.random.default_rng(0)),
                          nn.LayerNorm(3), nn.Linear(3, 2, rng=np.random.default_rng(1)))
    model.to(device)
    nn.save(model.state_dict(), tmp_path / "model.npz")
    fresh = nn.Sequential(nn.Embedding(5, 3), nn.LayerNorm(3), nn.Linear(3, 2)).to(device)
    fresh.load_state_dict(nn.load(tmp_path / "model.npz"))
    indices = engine.tensor(np.array([[1, 4]]), device=device)
    np.testing.assert_array_equal(fresh(indices).numpy(), model(indices).numpy())
    assert all(p.device.startswith(device) for p in fresh.parameters())


def test_a_plain_npz_loads_as_a_flat_dict(tmp_path):
    np.savez(tmp_path / "plain.npz", weight=np.eye(2), bias=np.zeros(2))
    loaded = nn.load(tmp_path / "plain.npz")
    assert sorted(loaded) == ["bias", "weight"]
    np.testing.assert_array_equal(loaded["weight"], np.eye(2))


def test_refusals_name_the_problem(tmp_path):
    path = tmp_path / "bad.npz"
    with pytest.raises(TypeError, match="top level must be a dict"):
        nn.save([np.zeros(1)], path)
    with pytest.raises(TypeError, match=r"cannot store object at 'a/b' without pickle"):
        nn.save({"a": {"b": object()}}, path)
    with pytest.raises(TypeError, match="without pickle"):
        nn.save({"a": np.array([{}], dtype=object)}, path)
    with pytest.raises(ValueError, match="key 'x/y' at a must be a str or an int"):
        nn.save({"a": {"x/y": 1}}, path)
    with pytest.raises(ValueError, match="at the top level must be a str or an int"):
        nn.save({"x\0": 1}, path)
    with pytest.raises(ValueError, match="both be stored as 'a/0'"):
        nn.save({"a": {0: 1, "0": 2}}, path)
    with pytest.raises(ValueError, match="'__structure__'"):
        nn.save({"__structure__": 1}, path)
    assert os.listdir(tmp_path) == []
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("__structure__.npy", b"")
    np.save(tmp_path / "meta.npy", np.frombuffer(b'{"format": "other"}', dtype=np.uint8))
    with zipfile.ZipFile(path, "w") as zf:
        zf.write(tmp_path / "meta.npy", "__structure__.npy")
    with pytest.raises(ValueError, match="is not a version 1 checkpoint"):
        nn.load(path)


def test_a_crash_while_saving_keeps_the_old_file_and_leaves_no_temporary(tmp_path, monkeypatch):
    path = tmp_path / "checkpoint.npz"
    nn.save({"weight": np.ones(3), "step": 1}, path)
    calls = []
    write_array = np.lib.format.write_array

    def crash_on_second_member(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise OSError("disk full (simulated)")
        return write_array(*args, **kwargs)

    monkeypatch.setattr(np.lib.format, "write_array", crash_on_second_member)
    with pytest.raises(OSError, match="simulated"):
        nn.save({"weight": np.zeros(3), "step": 2}, path)
    monkeypatch.setattr(serialization.os, "replace", lambda *args: (_ for _ in ()).throw(
        KeyboardInterrupt()))
    with pytest.raises(KeyboardInterrupt):
        nn.save({"weight": np.zeros(3), "step": 3}, path)
    assert os.listdir(tmp_path) == ["checkpoint.npz"]
    loaded = nn.load(path)
    assert loaded["step"] == 1 and loaded["weight"].tolist() == [1.0, 1.0, 1.0]


def test_saving_replaces_the_file_and_accepts_tensors(tmp_path):
    path = str(tmp_path / "c.npz")
    nn.save({"w": engine.tensor([1.0, 2.0])}, path)
    nn.save({"w": nn.Parameter(np.array([3.0])), "s": np.float32(2.5)}, path)
    loaded = nn.load(path)
    assert loaded["w"].tolist() == [3.0] and os.listdir(tmp_path) == ["c.npz"]
    assert type(loaded["s"]) is np.float32 and loaded["s"] == 2.5
