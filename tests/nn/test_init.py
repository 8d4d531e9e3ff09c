"""Initialisers: PyTorch's formulas (bounds, standard deviations, gains), each sample's
distribution (moments and bounds), orthogonality, PyTorch's deterministic fills,
reproducibility from the default generator or an explicit one, dtype and device kept."""

import math
import warnings

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
    with pytest.raises(ValueError, match=r"Mode fan not supported, please use one of "
                                         r"\['fan_in', 'fan_out'\]"):
        init.kaiming_uniform_(w, mode="fan", rng=rng())
    values = init.kaiming_uniform_(weight(300, 200), rng=rng()).numpy()  # leaky_relu, a = 0
    np.testing.assert_allclose(values.std(), math.sqrt(2 / 200), rtol=0.02)
    with pytest.warns(UserWarning, match="Initializing zero-element tensors is a no-op"):
        assert init.kaiming_normal_(weight(0, 3)).shape == (0, 3)


def test_gains_match_pytorch():
    torch = pytest.importorskip("torch")
    for name in ["linear", "conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d",
                 "conv_transpose3d", "sigmoid", "tanh", "relu", "leaky_relu", "selu"]:
        for param in ([None, 0, 0.2, 3] if name == "leaky_relu" else [None]):
            expected = torch.nn.init.calculate_gain(name, param)
            assert init.calculate_gain(name, param) == expected, (name, param)
    for bad in [("leaky_relu", True), ("leaky_relu", "0.1"), ("swish", None)]:
        with pytest.raises(ValueError) as theirs:
            torch.nn.init.calculate_gain(*bad)
        with pytest.raises(ValueError, match=str(theirs.value)):
            init.calculate_gain(*bad)


def _truncated_moments(mean, std, a, b):
    """Mean and standard deviation of N(mean, std^2) truncated to [a, b] (closed form)."""
    alpha, beta = (a - mean) / std, (b - mean) / std
    pdf = lambda z: math.exp(-z * z / 2) / math.sqrt(2 * math.pi)  # noqa: E731
    cdf = lambda z: (1 + math.erf(z / math.sqrt(2))) / 2  # noqa: E731
    mass = cdf(beta) - cdf(alpha)
    shift = (pdf(alpha) - pdf(beta)) / mass
    variance = 1 + (alpha * pdf(alpha) - beta * pdf(beta)) / mass - shift**2
    return mean + std * shift, std * math.sqrt(variance)


@pytest.mark.parametrize(("mean", "std", "a", "b"), [(0.0, 1.0, -2.0, 2.0), (1.0, 0.5, 0.0, 3.0),
                                                     (0.0, 1.0, 1.5, 4.0), (0.0, 0.02, -0.04,
                                                                           0.04)])
def test_trunc_normal_samples_the_truncated_normal(mean, std, a, b):
    values = init.trunc_normal_(weight(300, 300), mean, std, a, b, rng=rng()).numpy()
    assert values.min() >= a and values.max() <= b
    expected_mean, expected_std = _truncated_moments(mean, std, a, b)
    np.testing.assert_allclose(values.mean(), expected_mean, atol=0.01 * std)
    np.testing.assert_allclose(values.std(), expected_std, rtol=0.01)
    with pytest.warns(UserWarning, match="mean is more than 2 std from"):
        init.trunc_normal_(weight(2), mean=10.0, rng=rng())


def test_deterministic_fills_match_pytorch():
    torch = pytest.importorskip("torch")
    assert (init.eye_(weight(3, 5)).numpy() == torch.nn.init.eye_(torch.empty(3, 5)).numpy()).all()
    for shape, groups in [((4, 2, 3), 1), ((6, 3, 3, 3), 2), ((2, 2, 1, 3, 3), 1),
                          ((3, 5, 2), 1)]:
        ours = init.dirac_(weight(*shape), groups).numpy()
        theirs = torch.nn.init.dirac_(torch.empty(*shape), groups).numpy()
        np.testing.assert_array_equal(ours, theirs)
    with pytest.raises(ValueError, match="Only tensors with 2 dimensions are supported"):
        init.eye_(weight(2, 2, 2))
    with pytest.raises(ValueError, match="dim 0 must be divisible by groups"):
        init.dirac_(weight(3, 2, 3), groups=2)
    with pytest.raises(ValueError, match="Only tensors with 3, 4, or 5 dimensions"):
        init.dirac_(weight(3, 3))


def test_sparse_zeroes_a_fraction_of_each_column():
    values = init.sparse_(weight(200, 300), 0.1, std=0.5, rng=rng()).numpy()
    assert ((values == 0).sum(axis=0) == 20).all()  # ceil(0.1 * 200) in every column
    np.testing.assert_allclose(values[values != 0].std(), 0.5, rtol=0.02)
    with pytest.raises(ValueError, match="Only tensors with 2 dimensions"):
        init.sparse_(weight(3), 0.5)


def test_every_initialiser_keeps_a_parameter_and_counts_a_version():
    import nn

    p = nn.Parameter(engine.zeros(4, 4))
    for fill in (lambda t: init.uniform_(t), lambda t: init.normal_(t), init.zeros_, init.eye_,
                 lambda t: init.xavier_normal_(t), lambda t: init.orthogonal_(t),
                 lambda t: init.trunc_normal_(t), lambda t: init.constant_(t, 0.3)):
        before = p._version
        assert fill(p) is p and p.requires_grad and p.grad_fn is None
        assert p._version == before + 1


def test_pytorchs_old_names_warn_and_work():
    with pytest.warns(FutureWarning, match=r"`nn.init.uniform` is now deprecated in favor of "
                                           r"`nn.init.uniform_`"):
        values = init.uniform(weight(3), 2.0, 3.0).numpy()
    assert (values >= 2).all()
    for name in ("normal", "constant", "eye", "dirac", "xavier_uniform", "xavier_normal",
                 "kaiming_uniform", "kaiming_normal", "orthogonal", "sparse"):
        assert callable(getattr(init, name)) and getattr(init, name).__name__ == name


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
    np.testing.assert_array_equal(init.normal_(weight(3), rng=4).numpy(),
                                  init.normal_(weight(3), rng=rng(4)).numpy())  # an int: a seed


def test_default_generator_and_generator_argument_make_runs_repeat():
    draws = []
    for _ in range(2):
        engine.manual_seed(11)
        draws.append([init.uniform_(weight(3)).numpy(), init.kaiming_normal_(weight(2, 2)).numpy(),
                      init.trunc_normal_(weight(4)).numpy()])
    for first, second in zip(*draws):
        np.testing.assert_array_equal(first, second)
    assert not np.array_equal(draws[0][0], init.uniform_(weight(3)).numpy())
    g = engine.Generator().manual_seed(5)
    a = init.normal_(weight(3), generator=g).numpy()
    g.manual_seed(5)
    np.testing.assert_array_equal(a, init.normal_(weight(3), 0.0, 1.0, g).numpy())
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        init.xavier_uniform_(weight(3, 3), generator=g)
