"""Tensor creation rules, conversions and what a Tensor reports about itself."""

import numpy as np
import pytest

import engine
from engine import Tensor, tensor

# ---------------------------------------------------------------- dtypes on creation


@pytest.mark.parametrize("data, dtype", [
    (1.5, np.float32),
    ([1.0, 2.5], np.float32),
    ([[1, 2.5]], np.float32),  # mixed Python ints and floats: float
    (3, np.int64),
    ([1, 2], np.int64),
    (True, np.bool_),
    ([True, False], np.bool_),
    (np.arange(3, dtype=np.int32), np.int32),  # an array keeps its dtype
    (np.ones(2, dtype=np.float64), np.float64),
    (np.ones(2, dtype=np.float16), np.float16),
    (np.float64(2.0), np.float64),  # so does a NumPy scalar
])
def test_dtype_from_data(data, dtype):
    assert tensor(data).dtype == dtype


def test_explicit_dtype_wins():
    assert tensor([1, 2], dtype="float64").dtype == np.float64
    assert tensor(np.ones(2), dtype=np.float32).dtype == np.float32


def test_requires_grad_needs_a_float_dtype():
    with pytest.raises(TypeError, match="float.*int64"):
        tensor([1, 2], requires_grad=True)
    with pytest.raises(TypeError, match="float.*bool"):
        tensor([True]).requires_grad_()
    assert tensor([1.0], requires_grad=True).requires_grad


def test_from_a_tensor_copies():
    x = tensor([1.0, 2.0])
    y = Tensor(x)
    y.data[0] = 9.0
    assert x.numpy()[0] == 1.0


def test_tensor_copies_and_from_numpy_shares():
    a = np.ones(3, dtype=np.float32)
    assert not np.shares_memory(tensor(a).array, a)  # torch.tensor copies
    assert np.shares_memory(engine.from_numpy(a).array, a)
    assert np.shares_memory(Tensor(a).array, a) and np.shares_memory(engine.as_tensor(a).array, a)


# ---------------------------------------------------------------- attributes and conversions


def test_attributes():
    x = tensor(np.zeros((2, 3), dtype=np.float32))
    assert (x.shape, x.ndim, x.numel(), x.dtype, x.device) == ((2, 3), 2, 6, np.float32, "cpu")
    assert x.size() == (2, 3) and x.size(1) == x.size(-1) == 3 and x.dim() == 2
    assert x.size().numel() == 6 and repr(x.size()) == "Size([2, 3])"
    assert x.dtype == engine.float32 == "float32" and x.device == engine.device("cpu")
    assert len(x) == 2 and x.is_leaf and x.grad is None and not x.requires_grad


def test_numpy_item_tolist():
    x = tensor([[1.5]])
    assert isinstance(x.numpy(), np.ndarray) and x.numpy().shape == (1, 1)
    assert x.item() == 1.5 and isinstance(x.item(), float)
    assert x.tolist() == [[1.5]]
    with pytest.raises(ValueError, match=r"one element.*\(2,\)"):
        tensor([1.0, 2.0]).item()


def test_bool_of_a_one_element_tensor():
    assert tensor(0.5) and not tensor([0.0])
    with pytest.raises(RuntimeError, match="ambiguous"):
        bool(tensor([1.0, 2.0]))


def test_to_cpu_is_the_same_tensor():
    x = tensor([1.0])
    assert x.to("cpu") is x
    with pytest.raises(ValueError, match="unknown device 'tpu'"):
        x.to("tpu")


def test_astype_float_keeps_the_graph():
    x = tensor([1.0, 2.0], requires_grad=True)
    y = x.astype("float64")
    assert y.dtype == np.float64 and y.requires_grad
    (y * y).sum().backward()
    assert x.grad.dtype == np.float32
    np.testing.assert_allclose(x.grad.numpy(), [2.0, 4.0])


def test_astype_to_int_leaves_the_graph():
    x = tensor([1.7, -2.2], requires_grad=True)
    y = x.astype("int64")
    assert y.dtype == np.int64 and not y.requires_grad
    assert y.tolist() == [1, -2]
    assert x.astype("float32") is x


def test_iteration_yields_rows():
    rows = list(tensor([[1.0, 2.0], [3.0, 4.0]]))
    assert [r.tolist() for r in rows] == [[1.0, 2.0], [3.0, 4.0]]


@pytest.mark.parametrize("x, text", [
    (tensor([1.0, 2.0]), "tensor([1., 2.])"),
    (tensor([1, 2]), "tensor([1, 2])"),
    (tensor(np.array([0.5])), "tensor([0.5000], dtype=float64)"),
    (tensor([0.25, 2.0]), "tensor([0.2500, 2.0000])"),
    (tensor([True, False]), "tensor([ True, False])"),
    (tensor([1.0], requires_grad=True) * 2, "tensor([2.], grad_fn=<Mul>)"),
    (tensor([1.0], requires_grad=True), "tensor([1.], requires_grad=True)"),
    (tensor([[1.0, 2.0], [3.0, 4.0]]), "tensor([[1., 2.],\n        [3., 4.]])"),
])
def test_repr(x, text):
    assert repr(x) == text


# ---------------------------------------------------------------- mixing with Python and NumPy


def test_python_numbers_take_the_tensor_dtype():
    x = tensor(np.ones(2, dtype=np.float64))
    for y in (x + 1, 1 + x, x * 2.5, 2.5 - x, x / 3, 3 / x, x**2, 2**x, x ** np.float32(2)):
        assert y.dtype == np.float64
    assert (tensor([1.0]) * np.float64(2.0)).dtype == np.float32


def test_int_and_bool_tensors_with_numbers():
    assert (tensor([1, 2]) + 1).dtype == np.int64
    assert (tensor([1, 2]) * 0.5).dtype == np.float32
    assert (tensor([True]) + True).dtype == np.bool_
    assert (tensor([1, 2]) + tensor([0.5, 0.5])).dtype == np.float32


def test_numpy_array_on_the_left_defers_to_the_tensor():
    y = np.ones(2, dtype=np.float32) * tensor([2.0, 3.0], requires_grad=True)
    assert isinstance(y, Tensor) and y.requires_grad


def test_comparisons_give_bool_tensors_outside_the_graph():
    x = tensor([1.0, 2.0, 3.0], requires_grad=True)
    for result, expected in ((x < 2, [1, 0, 0]), (x <= 2, [1, 1, 0]),
                             (x > 2, [0, 0, 1]), (x >= 2, [0, 1, 1])):
        assert result.dtype == np.bool_ and not result.requires_grad
        assert result.tolist() == [bool(e) for e in expected]
    assert (x == 2).tolist() == [False, True, False] and (x != 2).tolist() == [True, False, True]
    assert (x == tensor([1.0, 0.0, 3.0])).tolist() == [True, False, True]
    assert x.__eq__(None) is False and {x: 1}[x] == 1  # hashing stays by identity


def test_public_names_exist():
    for name in engine.__all__:
        assert hasattr(engine, name), name
