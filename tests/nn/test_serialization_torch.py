"""PyTorch's checkpoint format both ways: what nn.torch_format.save writes torch.load(...,
weights_only=True) reads, what torch.save writes nn.torch_format.load reads (without
PyTorch: the loader never imports it), every value kind and dtype, views and storages,
map_location, mmap, the file's layout (64-byte aligned storages), and a round-trip property
over nested containers of tensors and scalars."""

import collections
import io
import pickletools
import struct
import sys
import zipfile

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import engine
import nn
from nn import torch_format
from nn.torch_rebuild import Storage

DTYPES = ["float16", "float32", "float64", "int8", "int16", "int32", "int64", "uint8", "bool"]


def saved(obj):
    buffer = io.BytesIO()
    torch_format.save(obj, buffer)
    return buffer.getvalue()


def ours(data, **kwargs):
    return torch_format.load(io.BytesIO(data), **kwargs)


def by_torch(obj, **kwargs):
    torch = pytest.importorskip("torch")
    buffer = io.BytesIO()
    torch.save(obj, buffer, **kwargs)
    return buffer.getvalue()


def assert_same(a, b):
    """Equal values and kinds; a Tensor / NumPy array / torch tensor compares by dtype,
    shape and values (a torch tensor through .numpy())."""
    if hasattr(a, "detach") and not isinstance(a, engine.Tensor):
        a = a.detach().numpy()
    if hasattr(b, "detach") and not isinstance(b, engine.Tensor):
        b = b.detach().numpy()
    if isinstance(a, (engine.Tensor, np.ndarray)):
        a, b = np.asarray(a.numpy() if isinstance(a, engine.Tensor) else a), np.asarray(
            b.numpy() if isinstance(b, engine.Tensor) else b)
        assert a.dtype == b.dtype and a.shape == b.shape, (a, b)
        np.testing.assert_array_equal(a, b)
    elif isinstance(a, dict):
        assert list(a) == list(b)
        for key in a:
            assert_same(a[key], b[key])
    elif isinstance(a, (list, tuple)):
        assert type(a) is type(b) and len(a) == len(b)
        for x, y in zip(a, b):
            assert_same(x, y)
    else:
        assert type(a) is type(b) and a == b, (a, b)


def values():
    rng = np.random.default_rng(0)
    return collections.OrderedDict(
        state=collections.OrderedDict(
            (f"w_{name}", engine.tensor((rng.standard_normal((2, 3)) * 5).astype(name)))
            for name in DTYPES),
        scalar=engine.tensor(2.5), empty=engine.zeros(2, 0, 3), array=np.arange(6).reshape(2, 3),
        transposed=np.arange(6.0).reshape(2, 3).T, parameter=nn.Parameter(np.ones(2)),
        frozen=nn.Parameter(np.ones(1), requires_grad=False),
        grad=engine.tensor([1.0], requires_grad=True),
        numbers=[1, -7, 2**40, -2**70, 0.5, float("inf"), True, None, 1 + 2j],
        strings=("", "x\x00", "é✓"), nested={"a": {"b": [(), (1,), {2: "two"}]}},
        raw=b"\x00\xff", mutable=bytearray(b"ab"), group={1, 2}, counts=collections.Counter("aab"),
        dtype=engine.float64, size=engine.Size((2, 3)), device=engine.device("cpu"),
        numpy_number=np.float32(1.5))


# ---------------------------------------------------------------- both ways


def test_every_value_kind_round_trips_here():
    obj = values()
    back = ours(saved(obj))
    expected = dict(obj)
    expected["numpy_number"] = 1.5  # written as a Python number
    assert_same(expected, back)
    assert type(back["state"]) is collections.OrderedDict
    assert isinstance(back["array"], engine.Tensor)  # arrays come back as Tensors
    assert type(back["parameter"]) is nn.Parameter and back["parameter"].requires_grad
    assert type(back["frozen"]) is nn.Parameter and not back["frozen"].requires_grad
    assert back["grad"].requires_grad and not back["scalar"].requires_grad
    assert back["dtype"] == engine.float64 and back["device"] == "cpu"
    assert type(back["size"]) is engine.Size and type(back["counts"]) is collections.Counter


def test_torch_load_reads_our_file_with_weights_only():
    torch = pytest.importorskip("torch")
    obj = values()
    loaded = torch.load(io.BytesIO(saved(obj)), weights_only=True)
    for name in DTYPES:
        np.testing.assert_array_equal(loaded["state"][f"w_{name}"].numpy(),
                                      obj["state"][f"w_{name}"].numpy())
        assert str(loaded["state"][f"w_{name}"].dtype) == f"torch.{name}"
    assert loaded["scalar"].shape == () and loaded["empty"].shape == (2, 0, 3)
    assert loaded["transposed"].is_contiguous()  # saved as its values, contiguous
    np.testing.assert_array_equal(loaded["transposed"].numpy(), obj["transposed"])
    assert isinstance(loaded["parameter"], torch.nn.Parameter)
    assert loaded["parameter"].requires_grad and loaded["grad"].requires_grad
    assert loaded["dtype"] is torch.float64 and loaded["size"] == torch.Size([2, 3])
    assert loaded["device"] == torch.device("cpu") and loaded["raw"] == b"\x00\xff"
    assert loaded["numbers"] == obj["numbers"] and loaded["strings"] == obj["strings"]
    assert loaded["nested"] == obj["nested"] and loaded["group"] == {1, 2}
    assert loaded["mutable"] == bytearray(b"ab") and loaded["counts"] == obj["counts"]


def test_our_loader_reads_torch_save_files_without_importing_torch(monkeypatch):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(1)
    state = collections.OrderedDict(
        (name, torch.from_numpy((rng.standard_normal((3, 2)) * 9).astype(name)))
        for name in DTYPES)
    obj = {"state": state, "step": 7, "lr": 0.1, "name": "run\x00", "none": None,
           "param": torch.nn.Parameter(torch.ones(2, 2)), "zero_d": torch.tensor(3),
           "view": torch.arange(12.0).reshape(3, 4)[:, 1::2], "shape": torch.Size([4]),
           "dtype": torch.int16, "complex": torch.ones(2, dtype=torch.complex64),
           "u16": torch.tensor([0, 1, 2], dtype=torch.uint16), "bytes": b"\x01", "set": {3}}
    data = by_torch(obj)
    monkeypatch.setitem(sys.modules, "torch", None)  # an import of torch would now fail
    back = ours(data)
    for name in DTYPES:
        assert_same(state[name].numpy(), back["state"][name])
    assert (back["step"], back["lr"], back["name"], back["none"]) == (7, 0.1, "run\x00", None)
    assert type(back["param"]) is nn.Parameter and back["param"].requires_grad
    assert back["zero_d"].shape == () and back["zero_d"].item() == 3
    np.testing.assert_array_equal(back["view"].numpy(), [[1, 3], [5, 7], [9, 11]])
    assert back["shape"] == (4,) and back["dtype"] == engine.int16
    assert back["complex"].dtype == np.complex64 and back["u16"].dtype == np.uint16
    assert back["bytes"] == b"\x01" and back["set"] == {3}


def test_torch_state_dicts_load_with_their_metadata_into_our_models():
    torch = pytest.importorskip("torch")
    source = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Tanh(), torch.nn.Linear(4, 2))
    back = ours(by_torch(source.state_dict()))
    assert list(back) == ["0.weight", "0.bias", "2.weight", "2.bias"]
    assert back._metadata[""]["version"] == 1  # PyTorch's OrderedDict attribute, kept
    model = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 2))
    model.load_state_dict(back)
    x = np.random.default_rng(2).standard_normal((5, 3)).astype(np.float32)
    np.testing.assert_allclose(model(engine.tensor(x)).numpy(),
                               source(torch.from_numpy(x)).detach().numpy(), rtol=1e-6)


def test_protocol_4_and_legacy_byte_order_and_bfloat16():
    torch = pytest.importorskip("torch")
    data = by_torch({"x": torch.arange(5.0), "k": "v"}, pickle_protocol=4)
    back = ours(data)
    assert back["x"].tolist() == [0, 1, 2, 3, 4] and back["k"] == "v"
    values = torch.tensor([1.5, -2.25, 3e38, 1e-38])
    back = ours(by_torch({"b": values.to(torch.bfloat16)}))["b"]
    assert back.dtype == np.float32  # exact: bfloat16 is float32's top 16 bits
    np.testing.assert_array_equal(back.numpy(), values.to(torch.bfloat16).float().numpy())


def test_views_of_one_storage_share_memory_and_overlapping_views_are_read_only():
    torch = pytest.importorskip("torch")
    base = torch.arange(6.0)
    back = ours(by_torch({"base": base, "tail": base[2:], "expanded": base[:1].expand(4, 3)}))
    back["base"].array[3] = 100  # one storage, as in PyTorch
    assert back["tail"].tolist() == [2, 100, 4, 5]
    assert back["expanded"].shape == (4, 3) and back["expanded"].tolist()[3] == [0, 0, 0]
    assert not back["expanded"].array.flags.writeable  # its elements overlap


def test_the_same_tensor_twice_is_one_tensor_both_ways():
    shared = engine.ones(2)
    back = ours(saved({"a": shared, "b": [shared]}))
    assert back["a"] is back["b"][0]
    torch = pytest.importorskip("torch")
    loaded = torch.load(io.BytesIO(saved({"a": shared, "b": [shared]})), weights_only=True)
    assert loaded["a"] is loaded["b"][0]


# ---------------------------------------------------------------- the file


def local_headers(data):
    """(name, offset of its data) for each record, from the local file headers."""
    archive = zipfile.ZipFile(io.BytesIO(data))
    found = []
    for info in archive.infolist():
        name_length, extra_length = struct.unpack(
            "<HH", data[info.header_offset + 26:info.header_offset + 30])
        found.append((info.filename, info.header_offset + 30 + name_length + extra_length))
    return found


def global_names(pickled):
    return {arg for op, arg, _ in pickletools.genops(pickled) if op.name == "GLOBAL"}


def test_the_layout_is_pytorch_s():
    data = saved({"w": engine.ones(3), "b": np.arange(2, dtype=np.int64)})
    archive = zipfile.ZipFile(io.BytesIO(data))
    assert archive.namelist() == [
        "archive/data.pkl", "archive/.format_version", "archive/.storage_alignment",
        "archive/byteorder", "archive/data/0", "archive/data/1", "archive/version",
        "archive/.data/serialization_id"]
    assert archive.read("archive/byteorder") == b"little"
    assert archive.read("archive/data/0") == np.ones(3, dtype="<f4").tobytes()
    assert archive.read("archive/data/1") == np.arange(2, dtype="<i8").tobytes()
    assert all(info.compress_type == zipfile.ZIP_STORED for info in archive.infolist())
    assert all(offset % 64 == 0 for _, offset in local_headers(data))
    assert global_names(archive.read("archive/data.pkl")) == {
        "torch._utils _rebuild_tensor_v2", "torch FloatStorage", "torch LongStorage",
        "collections OrderedDict"}
    assert saved({"w": engine.ones(3)}) == saved({"w": engine.ones(3)})  # deterministic


def test_storages_are_aligned_when_written_after_other_bytes_and_map_from_a_path(tmp_path):
    buffer = io.BytesIO(b"x" * 13)
    buffer.seek(13)
    torch_format.save({"w": engine.ones(5)}, buffer)
    assert all(offset % 64 == 0 for name, offset in local_headers(buffer.getvalue())
               if "/data/" in name)
    buffer.seek(13)
    assert torch_format.load(buffer)["w"].tolist() == [1.0] * 5
    path = tmp_path / "c.pt"
    torch_format.save({"w": engine.arange(4.0), "i": engine.tensor([7])}, path)
    mapped = torch_format.load(path, mmap=True)
    assert mapped["w"].tolist() == [0, 1, 2, 3] and mapped["i"].tolist() == [7]
    mapped["w"].array[0] = 9  # copy-on-write: the file keeps its data
    assert torch_format.load(path)["w"].tolist() == [0, 1, 2, 3]
    with pytest.raises(ValueError, match="needs the file's path"):
        torch_format.load(io.BytesIO(path.read_bytes()), mmap=True)
    torch = pytest.importorskip("torch")
    assert torch.load(path, mmap=True, weights_only=True)["w"].tolist() == [0, 1, 2, 3]


def test_a_path_is_written_atomically_like_nn_save(tmp_path):
    import os
    import stat

    path = tmp_path / "model.pt"
    path.write_bytes(b"old")
    os.chmod(path, 0o600)
    torch_format.save({"w": engine.ones(1)}, path)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600 and os.listdir(tmp_path) == ["model.pt"]
    os.chmod(path, 0o444)
    with pytest.raises(PermissionError, match="model.pt"):
        torch_format.save({"w": engine.zeros(1)}, path)
    assert torch_format.load(path)["w"].tolist() == [1.0]


def test_random_generators_keep_their_streams():
    numpy_generators = [np.random.default_rng(5), np.random.Generator(np.random.MT19937(6)),
                        np.random.Generator(np.random.Philox(7))]
    default = engine.Generator().manual_seed(8)
    for generator in numpy_generators:
        generator.random(3)  # somewhere in the stream
    back = ours(saved({"numpy": numpy_generators, "engine": default}))
    for original, restored in zip(numpy_generators, back["numpy"]):
        assert type(restored.bit_generator) is type(original.bit_generator)
        assert restored.random(4).tolist() == original.random(4).tolist()
    assert back["engine"].initial_seed() == 8 and back["engine"].device == "cpu"
    assert back["engine"].rng.random() == default.rng.random()


def test_a_missing_folder_is_named(tmp_path):
    with pytest.raises(FileNotFoundError, match="folder does not exist"):
        torch_format.save({"w": engine.ones(1)}, tmp_path / "absent" / "c.pt")


def test_refusals_come_before_the_file_is_touched(tmp_path):
    path = tmp_path / "c.pt"
    with pytest.raises(TypeError, match=r"cannot store lambda|a lambda"):
        torch_format.save({"f": lambda x: x}, path)
    with pytest.raises(TypeError, match="cannot store object at"):
        torch_format.save({"a": [object()]}, path)
    with pytest.raises(TypeError, match="has no torch dtype"):
        torch_format.save({"t": np.array(["text"])}, path)
    assert not path.exists()


def test_numpy_arrays_and_generators_of_values_are_written_with_torch_s_globals_only():
    # PyTorch would pickle a NumPy array with NumPy's globals, which weights_only refuses
    data = saved({"a": np.ones(2), "n": np.float64(2), "i": np.int64(3)})
    names = global_names(zipfile.ZipFile(io.BytesIO(data)).read("archive/data.pkl"))
    assert all(name.startswith(("torch", "collections")) for name in names), names


def test_an_nn_save_checkpoint_loads_as_tensors():
    buffer = io.BytesIO()
    nn.save({"w": np.ones(2), "step": 3, "name": "x"}, buffer)
    back = ours(buffer.getvalue())
    assert isinstance(back["w"], engine.Tensor) and back["step"] == 3 and back["name"] == "x"


# ---------------------------------------------------------------- map_location


def forged_location(data, location):
    """Our file with its storages' location rewritten (no GPU is needed to make one)."""
    source = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    old = b"X\x03\x00\x00\x00cpu"
    new = b"X" + struct.pack("<I", len(location)) + location.encode()
    with zipfile.ZipFile(out, "w") as archive:
        for info in source.infolist():
            content = source.read(info)
            if info.filename.endswith("data.pkl"):
                content = content.replace(old, new)
            archive.writestr(info.filename, content)
    return out.getvalue()


def test_map_location_moves_what_a_gpu_saved(device):
    data = forged_location(saved({"w": engine.ones(2), "v": [engine.zeros(1)]}), "cuda:0")
    if not engine.cuda_available():
        with pytest.raises(RuntimeError, match=r"'cuda:0'.*map_location='cpu'"):
            ours(data)
    for where in ("cpu", engine.device("cpu"), {"cuda:0": "cpu"}, lambda storage, loc: storage,
                  lambda storage, loc: None if loc == "cpu" else "cpu"):
        back = ours(data, map_location=where)
        assert back["w"].device == "cpu" and back["v"][0].tolist() == [0.0]
    back = ours(data, map_location=device)
    assert back["w"].device.type == engine.device(device).type
    seen = []
    ours(data, map_location=lambda storage, loc: seen.append((loc, storage)) or storage)
    assert seen[0][0] == "cuda:0" and isinstance(seen[0][1], Storage)
    with pytest.raises(RuntimeError, match="'mps'"):
        ours(forged_location(saved({"w": engine.ones(1)}), "mps"))
    with pytest.raises(ValueError, match="unknown device"):
        ours(data, map_location="tpu")
    with pytest.raises(TypeError, match="map_location"):
        ours(data, map_location=3)


@pytest.mark.gpu
def test_map_location_cuda_puts_every_tensor_there():
    if not engine.cuda_available():
        pytest.skip("needs CuPy and a CUDA GPU")
    back = ours(saved({"w": engine.ones(2, 3), "p": nn.Parameter(np.ones(2))}),
                map_location="cuda")
    assert back["w"].device == "cuda:0" and back["p"].device == "cuda:0"
    assert back["w"].numpy().tolist() == [[1, 1, 1], [1, 1, 1]]
    again = ours(saved(back))  # saved from the GPU: location cuda:0
    assert again["w"].device == "cuda:0"


def test_load_takes_pytorch_s_arguments():
    data = saved({"w": engine.ones(1)})
    assert ours(data, weights_only=False)["w"].tolist() == [1.0]  # read the same safe way
    assert ours(data, encoding="latin1")["w"].tolist() == [1.0]
    with pytest.raises(TypeError, match="unexpected arguments"):
        ours(data, fix_imports=True)
    with pytest.raises(TypeError, match="pickle_module"):
        ours(data, pickle_module=object())


# ---------------------------------------------------------------- the property

arrays = st.builds(
    lambda shape, seed, dtype: engine.tensor(
        (np.random.default_rng(seed).standard_normal(shape) * 50).astype(dtype)),
    st.lists(st.integers(0, 3), max_size=3).map(tuple), st.integers(0, 99), st.sampled_from(DTYPES))
leaves = st.one_of(arrays, st.none(), st.booleans(), st.integers(-2**70, 2**70),
                   st.floats(allow_nan=False), st.text(max_size=5))
trees = st.recursive(leaves, lambda inner: st.one_of(
    st.lists(inner, max_size=3), st.lists(inner, max_size=3).map(tuple),
    st.dictionaries(st.one_of(st.text(max_size=3), st.integers(-3, 3)), inner, max_size=3)),
    max_leaves=8)


@settings(max_examples=150)
@given(trees)
def test_nested_containers_of_tensors_and_scalars_round_trip(tree):
    data = saved(tree)
    assert_same(tree, ours(data))
    try:
        import torch
    except ImportError:
        return
    assert_same(tree, torch.load(io.BytesIO(data), weights_only=True))
