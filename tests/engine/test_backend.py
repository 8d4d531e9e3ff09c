"""The backend seam: device names, array modules, copies between devices; what would go
wrong on a GPU (a CUDA object that is not a CuPy array, a GPU that cannot run an op)."""

import sys
import types

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import engine
from engine import backend


@pytest.mark.parametrize(
    "name, expected", [("cpu", "cpu"), ("cuda", "cuda:0"), ("cuda:1", "cuda:1")]
)
def test_parse_device(name, expected):
    assert backend.parse_device(name) == expected


@pytest.mark.parametrize("name", ["gpu", "cuda:", "cuda:x", "CPU"])
def test_parse_device_rejects(name):
    with pytest.raises(ValueError, match=f"unknown device '{name}'"):
        backend.parse_device(name)


def test_numpy_arrays_and_scalars_are_cpu():
    for a in (np.ones(2), np.float32(1.0)):
        assert backend.device_of(a) == "cpu" and backend.xp_of(a) is np
        assert isinstance(backend.to_numpy(a), np.ndarray)
    a = np.ones(2)
    assert backend.to_device(a, "cpu") is a


def test_scatter_add_accumulates_repeats(device):
    target = engine.zeros(4, dtype="float64", device=device).array
    index = backend.to_device(np.array([0, 2, 0, 0]), device)
    backend.scatter_add(target, index, backend.to_device(np.array([1.0, 2.0, 3.0, 4.0]), device))
    np.testing.assert_array_equal(backend.to_numpy(target), [8.0, 0.0, 2.0, 0.0])



@settings(max_examples=60)
@given(rows=st.integers(1, 6), rest=st.lists(st.integers(1, 3), max_size=2),
       index_shape=st.lists(st.integers(0, 5), min_size=1, max_size=2),
       seed=st.integers(0, 2**16), with_ellipsis=st.booleans())
def test_scatter_add_of_whole_rows_is_add_at(rows, rest, index_shape, seed, with_ellipsis):
    """The sorted fast path for picked rows (an embedding's backward) adds exactly what
    NumPy's add.at adds, negative and repeated rows included; other indices and rows out of
    range go to add.at itself."""
    rng = np.random.default_rng(seed)
    index = rng.integers(-rows, rows, size=index_shape)
    values = rng.standard_normal((*index_shape, *rest))
    expected = rng.standard_normal((rows, *rest))
    target = expected.copy()
    np.add.at(expected, index, values)
    backend.scatter_add(target, (index, Ellipsis) if with_ellipsis else index, values)
    np.testing.assert_allclose(target, expected, rtol=1e-12, atol=1e-12)
    with pytest.raises(IndexError):
        backend.scatter_add(target, np.array([rows]), np.ones((1, *rest)))

@pytest.mark.gpu
@pytest.mark.skipif(not engine.cuda_available(), reason="needs CuPy and a CUDA GPU")
def test_to_cuda_and_back_carries_the_gradient():
    x = engine.tensor([1.0, -2.0], requires_grad=True)
    y = x.to("cuda")
    assert y.device == "cuda:0" and y.requires_grad
    z = (y * y).to("cpu")
    assert z.device == "cpu"
    z.sum().backward()
    assert x.grad.device == "cpu"
    np.testing.assert_allclose(x.grad.numpy(), [2.0, -4.0])
    assert "device='cuda:0'" in repr(y)


# ---------------------------------------------------------------- what a GPU would get wrong


def fake_cupy(first_operation=None):
    """A module standing in for CuPy: one GPU, arrays of its own type, and NumPy's
    arithmetic (or ``first_operation`` raising) for the first operation."""
    cupy = types.ModuleType("cupy")

    class ndarray:  # noqa: N801 -- CuPy's name
        def __init__(self, data):
            self.data = np.asarray(data)

        def get(self):
            return self.data

        def __len__(self):
            return len(self.data)

        def __array__(self, *args, **kwargs):  # CuPy refuses implicit copies to the host
            raise TypeError("Implicit conversion to a NumPy array is not allowed")

    def arange(*args, **kwargs):
        if first_operation is not None:
            raise first_operation
        return np.arange(*args, **kwargs)

    cupy.ndarray, cupy.arange, cupy.float32 = ndarray, arange, np.float32
    cupy.asarray = lambda value: ("a CuPy view of", value)
    cupy.cuda = types.SimpleNamespace(
        runtime=types.SimpleNamespace(getDeviceCount=lambda: 1),
        Device=lambda number: ("the context of GPU", number))
    return cupy


def test_cuda_is_available_only_if_a_first_operation_runs(monkeypatch):
    """Counting devices is not enough (no NVRTC, no cuBLAS, a driver older than the
    runtime): a tiny elementwise op, product and reduction decide, and their error is the
    reason every GPU test gives for skipping."""
    broken = RuntimeError("nvrtc: cannot open libnvrtc.so.13")
    monkeypatch.setitem(sys.modules, "cupy", fake_cupy(broken))
    reason = backend._import_cupy.__wrapped__()
    assert reason == ("CuPy sees 1 CUDA GPU(s), but a first operation on one failed "
                      "(RuntimeError: nvrtc: cannot open libnvrtc.so.13)")
    working = fake_cupy()
    monkeypatch.setitem(sys.modules, "cupy", working)
    assert backend._import_cupy.__wrapped__() is working


def test_the_reason_cuda_is_unavailable_is_told():
    if engine.cuda_available():
        assert backend.cuda_unavailable_reason() is None
    else:
        assert "CuPy" in backend.cuda_unavailable_reason()


def test_only_numpy_and_cupy_arrays_are_arrays_other_gpu_arrays_are_converted(monkeypatch):
    """A PyTorch CUDA tensor or a Numba array has __cuda_array_interface__ but no .get():
    it is not taken for a CuPy array, and as_array hands it to cupy.asarray (zero-copy)."""
    class TorchCudaTensor:
        __cuda_array_interface__ = {"shape": (2,), "typestr": "<f4", "data": (0, False),
                                    "version": 3}

    tensor = TorchCudaTensor()
    assert backend.is_array(np.zeros(2)) and not backend.is_array(tensor)
    assert not backend.is_array([1, 2])
    with pytest.raises(RuntimeError, match="device 'cuda' is unavailable"):
        backend.as_array(tensor)  # here: no CuPy
    cupy = fake_cupy()
    monkeypatch.setitem(sys.modules, "cupy", cupy)
    monkeypatch.setattr(backend, "_import_cupy", lambda: cupy)
    assert backend.is_array(cupy.ndarray([1.0])) and not backend.is_array(tensor)
    assert backend.as_array(tensor) == ("a CuPy view of", tensor)


def test_on_device_of_makes_the_array_s_gpu_current(monkeypatch):
    assert backend.on_device_of(np.zeros(1)) is backend.on_device_of(np.float32(0))
    with backend.on_device_of(np.zeros(1)):
        pass
    cupy = fake_cupy()
    monkeypatch.setattr(backend, "_import_cupy", lambda: cupy)
    on_gpu_1 = types.SimpleNamespace(device=types.SimpleNamespace(id=1))
    assert backend.on_device_of(on_gpu_1) == ("the context of GPU", 1)
