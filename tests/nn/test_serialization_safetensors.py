"""safetensors both ways: a path ending in .safetensors is written in that format (by the
safetensors package when installed, else by nn.safetensors_format's own writer: each tested
against the other), load recognises such a file by its content whatever its name, and the
package (and PyTorch through it) reads ours and we read theirs. Malformed headers give one
error naming the file, from both readers."""

import io
import json
import struct

import numpy as np
import pytest

import engine
import nn
from nn import safetensors_format, torch_format
from nn.serialization import CheckpointError

DTYPES = ["float16", "float32", "float64", "int8", "int16", "int32", "int64", "uint8", "uint16",
          "uint32", "uint64", "bool"]
WRITERS = [pytest.param(False, id="own-writer"),
           pytest.param(True, id="package-writer", marks=pytest.mark.skipif(
               safetensors_format.package is None, reason="needs the safetensors package"))]
READERS = [pytest.param(False, id="own-reader"),
           pytest.param(True, id="package-reader", marks=pytest.mark.skipif(
               safetensors_format.package is None, reason="needs the safetensors package"))]


def tensors():
    rng = np.random.default_rng(0)
    out = {f"w_{name}": (rng.standard_normal((2, 3)) * 40).astype(name) for name in DTYPES}
    out.update(scalar=np.asarray(2.5, dtype=np.float32), empty=np.zeros((0, 4)),
               transposed=np.arange(6.0).reshape(2, 3).T, tensor=engine.ones(3),
               param=nn.Parameter(np.arange(2.0)))
    return out


def as_numpy(value):
    return value.numpy() if isinstance(value, engine.Tensor) else np.asarray(value)


def check_same(expected, loaded):
    assert sorted(expected) == sorted(loaded)
    for key, value in expected.items():
        value, got = as_numpy(value), as_numpy(loaded[key])
        assert got.dtype == value.dtype and got.shape == value.shape, key
        np.testing.assert_array_equal(got, value)


def written(obj, use_package):
    buffer = io.BytesIO()
    safetensors_format.save(obj, buffer, use_package=use_package)
    return buffer.getvalue()


@pytest.mark.parametrize("writer", WRITERS)
@pytest.mark.parametrize("reader", READERS)
def test_each_writer_is_read_by_each_reader(writer, reader):
    data = written(tensors(), writer)
    check_same(tensors(), safetensors_format.load(io.BytesIO(data), use_package=reader))


@pytest.mark.parametrize("writer", WRITERS)
def test_the_package_reads_what_we_write_and_we_read_what_it_writes(writer):
    package = pytest.importorskip("safetensors.numpy")
    check_same(tensors(), package.load(written(tensors(), writer)))
    # (the package writes a non-contiguous array's memory as it lies: ours hands it C-order)
    theirs = package.save({key: np.require(as_numpy(value), requirements="C")
                           for key, value in tensors().items()})
    check_same(tensors(), safetensors_format.load(io.BytesIO(theirs), use_package=False))


def test_a_safetensors_path_is_written_and_loaded_by_content(tmp_path):
    path = tmp_path / "model.safetensors"
    torch_format.save(tensors(), path)
    assert int.from_bytes(path.read_bytes()[:8], "little") < path.stat().st_size
    back = torch_format.load(path)
    assert all(isinstance(value, engine.Tensor) for value in back.values())
    check_same(tensors(), back)
    renamed = tmp_path / "weights.bin"
    renamed.write_bytes(path.read_bytes())
    check_same(tensors(), torch_format.load(renamed))  # by content, not by name
    assert torch_format.load(renamed, map_location="cpu")["tensor"].device == "cpu"


def test_pytorch_through_the_package_both_ways(tmp_path):
    torch = pytest.importorskip("torch")
    st_torch = pytest.importorskip("safetensors.torch")
    path = tmp_path / "ours.safetensors"
    torch_format.save(tensors(), path)
    theirs = st_torch.load_file(str(path))
    for key, value in tensors().items():
        np.testing.assert_array_equal(theirs[key].numpy(), as_numpy(value))
    source = {"w": torch.randn(3, 2), "i": torch.arange(4), "h": torch.ones(2, dtype=torch.half),
              "bf": torch.tensor([1.5, -3.0, 1e30]).to(torch.bfloat16)}
    st_torch.save_file(source, str(tmp_path / "theirs.safetensors"))
    back = torch_format.load(tmp_path / "theirs.safetensors")
    for key in ("w", "i", "h"):
        np.testing.assert_array_equal(back[key].numpy(), source[key].numpy())
    assert back["bf"].dtype == np.float32  # NumPy has no bfloat16: float32, exactly
    np.testing.assert_array_equal(back["bf"].numpy(), source["bf"].float().numpy())


def test_only_a_flat_dict_of_tensors_can_be_written(tmp_path):
    path = tmp_path / "x.safetensors"
    with pytest.raises(TypeError, match="flat dict of name -> tensor; 'model' is a nested dict"):
        torch_format.save({"model": {"w": engine.ones(1)}}, path)
    with pytest.raises(TypeError, match="'step' is int"):
        torch_format.save({"w": engine.ones(1), "step": 3}, path)
    with pytest.raises(TypeError, match="names are strings"):
        torch_format.save({0: engine.ones(1)}, path)
    with pytest.raises(TypeError, match="dict of name -> tensor; got list"):
        torch_format.save([engine.ones(1)], path)
    assert not path.exists()


def header_file(header, data=b""):
    text = json.dumps(header).encode()
    return struct.pack("<Q", len(text)) + text + data


@pytest.mark.parametrize("reader", READERS)
def test_malformed_files_give_one_error_naming_the_file(tmp_path, reader):
    entry = {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}
    cases = {
        "short": (b"\x05\x00\x00", "shorter than"),
        "long_header": (struct.pack("<Q", 10**9) + b"{}", "header claims"),
        "not_json": (struct.pack("<Q", 4) + b"{abc", "not JSON"),
        "not_object": (header_file([1, 2]), "not a JSON object"),
        "bad_dtype": (header_file({"a": {**entry, "dtype": "F8_E4M3"}}, bytes(8)), "unknown dtype"),
        "bad_shape": (header_file({"a": {**entry, "shape": [-2]}}, bytes(8)), "shape"),
        "wrong_size": (header_file({"a": {**entry, "shape": [3]}}, bytes(8)), "spans 8 bytes"),
        "hole": (header_file({"a": {**entry, "data_offsets": [4, 12]}}, bytes(12)), "starts at 4"),
        "overlap": (header_file({"a": entry, "b": entry}, bytes(8)), "starts at 0"),
        "uncovered": (header_file({"a": entry}, bytes(12)), "cover 8 bytes of a data section"),
        "truncated": (header_file({"a": entry}, bytes(4)), "cover 8 bytes of a data section"),
        "extra_key": (header_file({"a": {**entry, "code": 1}}, bytes(8)), "is not"),
    }
    for name, (data, match) in cases.items():
        path = tmp_path / f"{name}.safetensors"
        path.write_bytes(data)
        with pytest.raises(CheckpointError, match=match) as caught, open(path, "rb") as file:
            safetensors_format.load(file, use_package=reader)
        assert str(path) in str(caught.value), name
    path = tmp_path / "hole.safetensors"
    with pytest.raises(CheckpointError, match="hole.safetensors"):
        torch_format.load(path)
