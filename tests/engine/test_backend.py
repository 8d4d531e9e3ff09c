"""The backend seam: device names, array modules, copies between devices."""

import numpy as np
import pytest

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
