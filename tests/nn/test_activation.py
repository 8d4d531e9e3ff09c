"""Activations: gradients against finite differences (float64, hypothesis-drawn shapes and
values), outputs and gradients equal to PyTorch's, erf to double precision, in-place forms,
softmax's implicit dim, and bad arguments."""

import math
import warnings

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import engine
import nn
from nn import functional as F
from tests.nn.parity import outputs_and_gradients

shapes = st.lists(st.integers(1, 4), min_size=0, max_size=3).map(tuple)
seeds = st.integers(0, 2**32 - 1)

MODULES = [  # (ours, theirs' constructor name, its arguments)
    (lambda: nn.ReLU(), "ReLU", {}),
    (lambda: nn.Tanh(), "Tanh", {}),
    (lambda: nn.Sigmoid(), "Sigmoid", {}),
    (lambda: nn.GELU(), "GELU", {}),
    (lambda: nn.GELU(approximate="tanh"), "GELU", {"approximate": "tanh"}),
    (lambda: nn.LeakyReLU(), "LeakyReLU", {}),
    (lambda: nn.LeakyReLU(0.2), "LeakyReLU", {"negative_slope": 0.2}),
    (lambda: nn.ELU(), "ELU", {}),
    (lambda: nn.ELU(alpha=0.5), "ELU", {"alpha": 0.5}),
    (lambda: nn.Softplus(), "Softplus", {}),
    (lambda: nn.Softplus(beta=2.0, threshold=3.0), "Softplus", {"beta": 2.0, "threshold": 3.0}),
    (lambda: nn.Softmax(dim=1), "Softmax", {"dim": 1}),
    (lambda: nn.Softmax(dim=-1), "Softmax", {"dim": -1}),
    (lambda: nn.LogSoftmax(dim=1), "LogSoftmax", {"dim": 1}),
    (lambda: nn.LogSoftmax(dim=0), "LogSoftmax", {"dim": 0}),
]
IDS = [f"{name}{args or ''}" for _, name, args in MODULES]
DIFFERENTIABLE = [  # away from the kinks (relu and friends at 0: gradcheck's steps cross them)
    lambda: nn.GELU(), lambda: nn.GELU(approximate="tanh"), lambda: nn.LeakyReLU(0.3),
    lambda: nn.ELU(), lambda: nn.ELU(alpha=2.0), lambda: nn.Softplus(),
    lambda: nn.Softplus(beta=0.5, threshold=1.5), lambda: nn.Softmax(dim=-1),
    lambda: nn.LogSoftmax(dim=0),
]


def away_from_kinks(values):
    """Values at least 1e-3 from 0 (and from Softplus(0.5, 1.5)'s switch at 3), where the
    functions are smooth within gradcheck's step."""
    values = np.where(np.abs(values) < 1e-3, 0.5, values)
    return np.where(np.abs(values - 3.0) < 1e-3, 2.5, values)


@pytest.mark.parametrize("make", DIFFERENTIABLE)
@given(shape=shapes.filter(lambda s: len(s) >= 1), seed=seeds)
def test_gradcheck_float64(make, shape, seed):
    x = away_from_kinks(3 * np.random.default_rng(seed).standard_normal(shape))
    assert engine.gradcheck(make(), [engine.tensor(x, requires_grad=True)])


@pytest.mark.parametrize(("make", "name", "args"), MODULES, ids=IDS)
def test_outputs_and_gradients_match_pytorch(make, name, args):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    x = 4 * rng.standard_normal((5, 7, 3))
    x[0, 0, :] = [0.0, -40.0, 40.0]  # a kink, and values where exp over- or underflows
    ours, theirs = make(), getattr(torch.nn, name)(**args)
    out, _ = outputs_and_gradients(ours, theirs, x, rng, rtol=1e-12, atol=1e-14)
    assert out.dtype == np.float64
    x32 = x.astype(np.float32)  # float32 stays float32, and agrees to its precision
    got = ours(engine.tensor(x32))
    assert got.dtype == np.float32
    np.testing.assert_allclose(got.numpy(), theirs(torch.tensor(x32)).numpy(), rtol=2e-6,
                               atol=1e-6)


def test_erf_is_exact_to_double_precision_and_its_gradient_is_the_gaussian():
    x = np.concatenate([np.linspace(-8, 8, 20001), [0.0, 0.46875, -4.0, 26.6, -30.0, np.inf]])
    got = F.erf(engine.tensor(x)).numpy()
    expected = np.array([math.erf(v) for v in x])
    np.testing.assert_allclose(got, expected, rtol=1e-15, atol=1e-300)
    assert np.isnan(F.erf(engine.tensor([np.nan])).item())
    leaf = engine.tensor(x[:-1], requires_grad=True)
    F.erf(leaf).sum().backward()
    np.testing.assert_allclose(leaf.grad.numpy(), 2 / math.sqrt(math.pi) * np.exp(-x[:-1] ** 2))
    assert engine.gradcheck(F.erf, [engine.tensor([-2.0, -0.3, 0.1, 0.46875, 1.5, 4.2],
                                                  dtype="float64", requires_grad=True)])


def test_gelu_is_exact_not_the_tanh_approximation():
    x = engine.tensor([1.0, -0.5, 2.5], dtype="float64")
    phi = np.array([0.5 * (1 + math.erf(v / math.sqrt(2))) for v in (1.0, -0.5, 2.5)])
    np.testing.assert_allclose(F.gelu(x).numpy(), x.numpy() * phi, rtol=1e-15)
    assert np.abs(F.gelu(x).numpy() - F.gelu(x, approximate="tanh").numpy()).max() > 1e-5
    with pytest.raises(RuntimeError, match="approximate argument must be either none or tanh"):
        F.gelu(x, approximate="fast")


def test_softplus_is_linear_above_the_threshold_and_stays_finite():
    x = engine.tensor([-1000.0, -40.0, 19.0, 21.0, 1000.0], dtype="float64")
    y = F.softplus(x).numpy()
    assert np.isfinite(y).all() and y[3] == 21.0 and y[4] == 1000.0
    np.testing.assert_allclose(y[:3], np.log1p(np.exp([-1000.0, -40.0, 19.0])), rtol=1e-15)
    assert y[1] > 0  # log1p keeps the digits that log(1 + e^x) loses


def test_in_place_forms_write_into_the_input_and_follow_pytorchs_rules():
    for function, args in [(F.relu, {}), (F.leaky_relu, {"negative_slope": 0.1}),
                           (F.elu, {"alpha": 1.0})]:
        x = engine.tensor([-1.0, 2.0])
        out = function(x, inplace=True, **args)
        assert out is x and x.tolist() == function(engine.tensor([-1.0, 2.0]), **args).tolist()
        leaf = engine.tensor([-1.0, 2.0], requires_grad=True)
        with pytest.raises(RuntimeError, match="leaf Variable that requires grad"):
            function(leaf, inplace=True, **args)
        hidden = leaf * 1  # in the graph: recorded, so the gradient still flows
        function(hidden, inplace=True, **args).sum().backward()
        expected = engine.tensor([-1.0, 2.0], requires_grad=True)
        function(expected, **args).sum().backward()
        np.testing.assert_allclose(leaf.grad.numpy(), expected.grad.numpy())
    assert repr(nn.ReLU(inplace=True)) == "ReLU(inplace=True)"
    assert nn.ReLU(inplace=True)(engine.tensor([-3.0])).tolist() == [0.0]


def test_softmax_without_dim_warns_and_picks_pytorchs_axis():
    for shape, axis in [((4,), 0), ((2, 4), 1), ((2, 3, 4), 0), ((2, 3, 4, 5), 1)]:
        x = engine.randn(*shape, rng=0)
        with pytest.warns(UserWarning, match="Implicit dimension choice for softmax"):
            y = nn.Softmax()(x)
        np.testing.assert_allclose(y.numpy(), F.softmax(x, dim=axis).numpy())
        with pytest.warns(UserWarning, match="Implicit dimension choice for log_softmax"):
            z = F.log_softmax(x)
        np.testing.assert_allclose(z.numpy(), F.log_softmax(x, axis).numpy())
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        F.softmax(engine.ones(2, 3), dim=0)
        F.softmax(engine.ones(2, 3), axis=0)  # NumPy's name too


def test_softmax_matches_pytorch_with_the_implicit_dim():
    torch = pytest.importorskip("torch")
    x = np.random.default_rng(1).standard_normal((2, 3, 4))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        expected = torch.nn.Softmax()(torch.tensor(x)).numpy()
        got = nn.Softmax()(engine.tensor(x)).numpy()
    np.testing.assert_allclose(got, expected, rtol=1e-14)


def test_reprs_match_pytorch():
    torch = pytest.importorskip("torch")
    for make, name, args in MODULES + [(lambda: nn.ReLU(True), "ReLU", {"inplace": True}),
                                       (lambda: nn.ELU(inplace=True), "ELU", {"inplace": True}),
                                       (lambda: nn.Softmax(), "Softmax", {})]:
        assert repr(make()) == repr(getattr(torch.nn, name)(**args))
