"""Initialisers: PyTorch's formulas (bounds, standard deviations, gains), orthogonality,
reproducibility from an explicit generator, dtype and device kept."""

import math

import numpy as np
import pytest

import engine
from nn import init


def weight(*shape, dtype="float64", device=None):
    return engine.zeros(*shape, dtype=dtype, device=device)


def rng(seed=0):
    return np.random.default_rng(seed)


def test_uniform_normal_constant_fills():
    values = init.uniform_(weight(200, 200), -2.0, 3.0, rng=rng()).numpy()
    assert values.min() >= -2.0 and values.max() < 3.0
    np.testing.assert_allclose(values.mean(), 0.5, atol=0.02)
    values = init.normal_(weight(200, 200), 1.0, 2.0, rng=rng()).numpy()
    np.testing.assert_allclose([values.mean(), values.std()], [1.0, 2.0], atol=0.02)
    assert (init.zeros_(weight(2, 2)).numpy() == 0).all()
    assert (init.ones_(weight(2, 2)).numpy() == 1).all()
    assert (init.constant_(weight(3), 0.5).numpy() == 0.5).all()


@pytest.mark.parametrize("shape", [(300, 200), (64, 16, 3, 3)])
def test_xavier_matches_pytorchs_formulas(shape):
    fan_in = shape[1] * math.prod(shape[2:])
    fan_out = shape[0] * math.prod(shape[2:])
    assert init.fan_in_and_fan_out(weight(*shape)) == (fan_in, fan_out)
    gain = init.calculate_gain("tanh")
    bound = gain * math.sqrt(6 / (fan_in + fan_out))
    values = init.xavier_uniform_(weight(*shape), gain, rng=rng()).numpy()
    assert np.abs(values).max() <= bound and np.abs(values).max() > 0.99 * bound
    std = gain * math.sqrt(2 / (fan_in + fan_out))
    values = init.xavier_normal_(weight(*shape), gain, rng=rng()).numpy()
    np.testing.assert_allclose(values.std(), std, rtol=0.02)


@pytest.mark.parametrize("mode", ["fan_in", "fan_out"])
def test_kaiming_matches_pytorchs_formulas(mode):
    w = weight(300, 200)
    fan = 200 if mode == "fan_in" else 300
    bound = math.sqrt(2.0) * math.sqrt(3 / fan)  # relu gain sqrt(2)
    values = init.kaiming_uniform_(w, mode=mode, nonlinearity="relu", rng=rng()).numpy()
    assert np.abs(values).max() <= bound and np.abs(values).max() > 0.99 * bound
    values = init.kaiming_normal_(w, mode=mode, nonlinearity="relu", rng=rng()).numpy()
    np.testing.assert_allclose(values.std(), math.sqrt(2 / fan), rtol=0.02)
    linear_default = init.kaiming_uniform_(weight(10, 25), a=math.sqrt(5), rng=rng()).numpy()
    assert np.abs(linear_default).max() <= 1 / 5  # = 1 / sqrt(fan_in), PyTorch's Linear
    with pytest.raises(ValueError, match="mode must be"):
        init.kaiming_uniform_(w, mode="fan", rng=rng())


def test_gains_match_pytorch():
    torch = pytest.importorskip("torch")
    for name, param in [("linear", None), ("sigmoid", None), ("tanh", None), ("relu", None),
                        ("leaky_relu", None), ("leaky_relu", 0.2), ("selu", None)]:
        assert init.calculate_gain(name, param) == pytest.approx(
            torch.nn.init.calculate_gain(name, param), rel=1e-15)


@pytest.mark.parametrize("shape", [(5, 3), (3, 5), (4, 2, 3), (6, 6)])
def test_orthogonal_gives_orthonormal_rows_or_columns(shape):
    w = init.orthogonal_(weight(*shape), gain=2.0, rng=rng()).numpy().reshape(shape[0], -1)
    small = min(w.shape)
    product = w @ w.T if w.shape[0] <= w.shape[1] else w.T @ w
    np.testing.assert_allclose(product, 4.0 * np.eye(small), atol=1e-12)
    with pytest.raises(ValueError, match="2 or more dimensions"):
        init.orthogonal_(weight(3), rng=rng())


def test_same_seed_same_values_dtype_and_device_kept(device):
    a = init.xavier_uniform_(weight(4, 3, dtype="float32", device=device), rng=rng(3))
    b = init.xavier_uniform_(weight(4, 3, dtype="float32"), rng=rng(3))
    assert a.dtype == np.float32 and a.device.startswith(device)
    np.testing.assert_array_equal(a.numpy(), b.numpy())
    fresh = init.generator(None)
    assert isinstance(fresh, np.random.Generator) and init.generator(fresh) is fresh
