"""Factories: shapes, dtypes, devices, requires_grad, and seeded random ones."""

import numpy as np
import pytest

import engine
from engine.backend import parse_device


@pytest.mark.parametrize("make, value", [(engine.zeros, 0.0), (engine.ones, 1.0)])
def test_zeros_ones(make, value, device):
    for x in (make(2, 3, device=device), make((2, 3), device=device),
              make(np.int64(2), 3, device=device)):
        assert (x.shape, x.dtype, x.device) == ((2, 3), np.float32, parse_device(device))
        assert (x.numpy() == value).all()
    assert make(3, dtype="float64", requires_grad=True).requires_grad
    assert make().shape == ()


def test_full_eye_arange(device):
    np.testing.assert_array_equal(engine.full((2, 2), 7.5, device=device).numpy(),
                                  np.full((2, 2), 7.5, np.float32))
    np.testing.assert_array_equal(engine.eye(3, device=device).numpy(), np.eye(3))
    assert engine.eye(2).dtype == np.float32
    assert engine.arange(5).tolist() == [0, 1, 2, 3, 4]
    assert engine.arange(2, 8, 3, device=device).tolist() == [2, 5]
    assert engine.arange(3).dtype == np.int64
    assert engine.arange(0, 1, 0.25, dtype="float32").tolist() == [0.0, 0.25, 0.5, 0.75]


@pytest.mark.parametrize("make", [engine.zeros_like, engine.ones_like])
def test_like_keeps_shape_dtype_device(make, device):
    for data in (np.array([[np.inf, -np.inf, np.nan]]), np.array([True, False]), np.arange(3)):
        x = engine.tensor(data, device=device)
        y = make(x)
        assert (y.shape, y.dtype, y.device) == (x.shape, x.dtype, x.device)
        assert (y.numpy() == (make is engine.ones_like)).all()  # never nan from inf * 0
    assert make(engine.ones(2), requires_grad=True).requires_grad


RANDOM = {
    "randn": lambda rng, **kw: engine.randn(3, 4, rng=rng, **kw),
    "rand": lambda rng, **kw: engine.rand(3, 4, rng=rng, **kw),
    "uniform": lambda rng, **kw: engine.uniform(-2.0, 5.0, (3, 4), rng, **kw),
    "normal": lambda rng, **kw: engine.normal(10.0, 0.5, (3, 4), rng, **kw),
}


@pytest.mark.parametrize("make", RANDOM.values(), ids=RANDOM.keys())
def test_random_is_reproducible_from_a_seed(make, device):
    first = make(np.random.default_rng(42), device=device)
    again = make(np.random.default_rng(42), device=device)
    other = make(np.random.default_rng(43), device=device)
    assert (first.shape, first.dtype) == ((3, 4), np.float32)
    np.testing.assert_array_equal(first.numpy(), again.numpy())
    assert not np.array_equal(first.numpy(), other.numpy())
    on_cpu = make(np.random.default_rng(42))  # the same numbers on every device
    np.testing.assert_array_equal(first.numpy(), on_cpu.numpy())


def test_random_ranges_and_options():
    rng = np.random.default_rng(0)
    assert (engine.rand(1000, rng=rng).numpy() < 1).all()
    u = engine.uniform(-2.0, 5.0, (1000,), rng).numpy()
    assert u.min() >= -2 and u.max() < 5
    n = engine.normal(10.0, 0.5, (4000,), rng, dtype="float64", requires_grad=True)
    assert n.dtype == np.float64 and n.requires_grad
    assert abs(n.numpy().mean() - 10) < 0.05 and abs(n.numpy().std() - 0.5) < 0.05


def test_random_draws_from_the_default_generator_that_manual_seed_restarts():
    engine.manual_seed(7)
    first = [engine.randn(3).tolist(), engine.rand(2).tolist(), engine.randint(10, (4,)).tolist()]
    engine.manual_seed(7)
    again = [engine.randn(3).tolist(), engine.rand(2).tolist(), engine.randint(10, (4,)).tolist()]
    assert first == again and engine.initial_seed() == 7
    generator = engine.Generator().manual_seed(7)
    assert engine.randn(3, generator=generator).tolist() == first[0]  # its own stream
    assert engine.randn(3, rng=0).tolist() == engine.randn(3, rng=0).tolist()  # an int seeds
    with pytest.raises(TypeError, match="expected a random generator.*str"):
        engine.randn(3, rng="0")
