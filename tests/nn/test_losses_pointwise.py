"""Elementwise losses (mse l1 smooth_l1 huber binary_cross_entropy[_with_logits] kl_div and
their Modules): values and gradients for input and target against PyTorch in float64 over
drawn shapes, every reduction and weight; finite differences; PyTorch's clamps; shape
mismatches refused (never broadcast) and other bad input named."""

import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import engine
import nn
from nn import functional as F

REDUCTIONS = ["mean", "sum", "none"]


def leaf(array):
    return engine.tensor(np.asarray(array, dtype=np.float64), requires_grad=True)


def logits(rng, shape):
    return rng.standard_normal(shape) * 3


def probabilities(rng, shape):
    return rng.uniform(0.02, 0.98, shape)  # away from 0 and 1: finite differences hold


def log_probabilities(rng, shape):
    return np.log(probabilities(rng, shape))


def targets_apart(rng, shape):  # |x - y| away from the kinks of l1, smooth_l1 and huber
    return rng.standard_normal(shape) * 3


# name: (our function, PyTorch's name, input draw, target draw, settings drawn for each case)
LOSSES = {
    "mse": (F.mse_loss, "mse_loss", logits, targets_apart, [{}]),
    "l1": (F.l1_loss, "l1_loss", logits, targets_apart, [{}]),
    "smooth_l1": (F.smooth_l1_loss, "smooth_l1_loss", logits, targets_apart,
                  [{}, {"beta": 0.5}, {"beta": 2.5}, {"beta": 0.0}]),
    "huber": (F.huber_loss, "huber_loss", logits, targets_apart,
              [{}, {"delta": 0.5}, {"delta": 2.5}]),
    "bce": (F.binary_cross_entropy, "binary_cross_entropy", probabilities, probabilities,
            [{}, {"weight": "per class"}, {"weight": "full"}]),
    "bce_with_logits": (F.binary_cross_entropy_with_logits, "binary_cross_entropy_with_logits",
                        logits, probabilities,
                        [{}, {"weight": "per class"}, {"pos_weight": "per class"},
                         {"weight": "full", "pos_weight": "per class"}]),
    "kl_div": (F.kl_div, "kl_div", log_probabilities, probabilities,
               [{}, {"log_target": True}]),
    "kl_div_batchmean": (F.kl_div, "kl_div", log_probabilities, probabilities,
                         [{}, {"log_target": True}]),
}


@st.composite
def cases(draw, names=tuple(LOSSES)):
    """(name, input, target, settings with drawn weight arrays, reduction)."""
    name = draw(st.sampled_from(names))
    ours, _, input_of, target_of, options = LOSSES[name]
    shape = draw(st.sampled_from([(3,), (4, 3), (2, 3, 2), (2, 3, 2, 2), ()]))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    chosen = dict(draw(st.sampled_from(options)))
    for key, kind in chosen.items():
        if kind == "per class":  # (C,): broadcast over the last axis
            chosen[key] = rng.uniform(0.2, 3.0, shape[-1:])
        elif kind == "full":
            chosen[key] = rng.uniform(0.2, 3.0, shape)
    reductions = ["batchmean"] if name == "kl_div_batchmean" else REDUCTIONS
    return name, input_of(rng, shape), target_of(rng, shape), chosen, draw(
        st.sampled_from(reductions))


def both(name, x, y, chosen, reduction, torch):
    """Our loss and PyTorch's on leaves made from x and y; returns the four leaves too."""
    ours_fn, torch_name, *_ = LOSSES[name]
    ox, oy = leaf(x), leaf(y)
    tx = torch.tensor(x, requires_grad=True)
    ty = torch.tensor(y, requires_grad=True)
    theirs_chosen = {k: torch.tensor(v) if isinstance(v, np.ndarray) else v
                     for k, v in chosen.items()}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # kl_div's "mean" warning, on both sides
        ours = ours_fn(ox, oy, reduction=reduction, **chosen)
        theirs = getattr(torch.nn.functional, torch_name)(tx, ty, reduction=reduction,
                                                          **theirs_chosen)
    return ours, theirs, (ox, oy, tx, ty)


@settings(max_examples=150)
@given(cases())
def test_values_and_gradients_match_pytorch(case):
    torch = pytest.importorskip("torch")
    name, x, y, chosen, reduction = case
    ours, theirs, (ox, oy, tx, ty) = both(name, x, y, chosen, reduction, torch)
    assert ours.shape == tuple(theirs.shape) and ours.dtype == np.float64
    np.testing.assert_allclose(ours.numpy(), theirs.detach().numpy(), rtol=1e-12, atol=1e-13)
    g = np.random.default_rng(1).standard_normal(theirs.shape) + 1.5
    ours.backward(engine.tensor(g))
    theirs.backward(torch.tensor(g))
    np.testing.assert_allclose(ox.grad.numpy(), tx.grad.numpy(), rtol=1e-11, atol=1e-13)
    np.testing.assert_allclose(oy.grad.numpy(), ty.grad.numpy(), rtol=1e-11, atol=1e-13)


@settings(max_examples=60)
@given(cases())
def test_gradcheck(case):
    name, x, y, chosen, reduction = case
    ours_fn = LOSSES[name][0]

    def loss(a, b):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return ours_fn(a, b, reduction=reduction, **chosen)

    assert engine.gradcheck(loss, [leaf(x), leaf(y)])


@given(st.sampled_from(REDUCTIONS), st.integers(0, 2**32 - 1))
def test_mse_l1_huber_weight_matches_pytorch_and_gets_a_gradient(reduction, seed):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(seed)
    x, y, w = rng.standard_normal((3, 4)), rng.standard_normal((3, 4)), rng.random((3, 4))
    for ours_fn, theirs_fn in ((F.mse_loss, torch.nn.functional.mse_loss),
                               (F.l1_loss, torch.nn.functional.l1_loss),
                               (F.huber_loss, torch.nn.functional.huber_loss)):
        ow, tw = leaf(w), torch.tensor(w, requires_grad=True)
        ox, tx = leaf(x), torch.tensor(x, requires_grad=True)
        ours = ours_fn(ox, y, reduction=reduction, weight=ow)
        theirs = theirs_fn(tx, torch.tensor(y), reduction=reduction, weight=tw)
        np.testing.assert_allclose(ours.numpy(), theirs.detach().numpy(), rtol=1e-12)
        g = np.ones(theirs.shape)
        ours.backward(engine.tensor(g))
        theirs.backward(torch.tensor(g))
        np.testing.assert_allclose(ox.grad.numpy(), tx.grad.numpy(), rtol=1e-12)
        np.testing.assert_allclose(ow.grad.numpy(), tw.grad.numpy(), rtol=1e-12)


# ---------------------------------------------------------------- PyTorch's edges


def test_bce_clamps_the_log_at_minus_100_and_bounds_the_gradient_as_pytorch():
    x = leaf([0.0, 1.0, 0.0, 1.0, 0.5])
    y = [1.0, 0.0, 0.0, 1.0, 0.3]
    loss = F.binary_cross_entropy(x, y, reduction="none")
    np.testing.assert_allclose(loss.numpy(), [100.0, 100.0, 0.0, 0.0, -np.log(0.5)])
    loss.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [-1e12, 1e12, 0.0, 0.0, 0.8])
    torch = pytest.importorskip("torch")
    tx = torch.tensor([0.0, 1.0, 0.0, 1.0, 0.5], dtype=torch.float64, requires_grad=True)
    torch.nn.functional.binary_cross_entropy(tx, torch.tensor(y, dtype=torch.float64),
                                             reduction="sum").backward()
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy())


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_bce_with_logits_is_finite_for_extreme_logits(dtype):
    x = engine.tensor([1e4, -1e4, 1e4, -1e4, 0.0], dtype=dtype, requires_grad=True)
    y = [1.0, 0.0, 0.0, 1.0, 0.5]
    loss = F.binary_cross_entropy_with_logits(x, y, reduction="none",
                                              pos_weight=np.full(5, 3.0))
    np.testing.assert_allclose(loss.numpy(), [0.0, 0.0, 1e4, 3e4, 2 * np.log(2)], rtol=1e-6)
    loss.sum().backward()
    assert np.isfinite(x.grad.numpy()).all()
    np.testing.assert_allclose(x.grad.numpy(), [0.0, 0.0, 1.0, -3.0, -0.5], atol=1e-6)


def test_bce_gradient_is_sigmoid_minus_target_at_zero():
    x = leaf([0.0, 0.0])
    F.binary_cross_entropy_with_logits(x, [1.0, 0.0], reduction="sum").backward()
    np.testing.assert_allclose(x.grad.numpy(), [-0.5, 0.5])


def test_kl_div_zero_targets_add_nothing_and_batchmean_divides_by_the_batch():
    x = leaf(np.log([[0.2, 0.3, 0.5], [0.5, 0.25, 0.25]]))
    y = np.array([[0.0, 0.5, 0.5], [0.5, 0.5, 0.0]])
    pointwise = np.where(y > 0, y * (np.log(np.where(y > 0, y, 1)) - x.numpy()), 0)
    np.testing.assert_allclose(F.kl_div(x, y, reduction="none").numpy(), pointwise)
    np.testing.assert_allclose(F.kl_div(x, y, reduction="batchmean").item(),
                               pointwise.sum() / 2)
    with pytest.warns(UserWarning, match="batchmean"):
        mean = F.kl_div(x, y)
    np.testing.assert_allclose(mean.item(), pointwise.mean())
    assert F.kl_div(leaf(0.3), 0.4, reduction="batchmean").shape == ()  # 0-d: the sum


def test_smooth_l1_with_beta_0_is_l1_and_huber_is_delta_times_smooth_l1():
    rng = np.random.default_rng(7)
    x, y = rng.standard_normal(10) * 2, rng.standard_normal(10)
    np.testing.assert_array_equal(F.smooth_l1_loss(leaf(x), y, beta=0.0).numpy(),
                                  F.l1_loss(leaf(x), y).numpy())
    np.testing.assert_allclose(F.huber_loss(leaf(x), y, delta=1.5).item(),
                               1.5 * F.smooth_l1_loss(leaf(x), y, beta=1.5).item(), rtol=1e-14)


def test_l1_gradient_is_zero_where_input_equals_target():
    x = leaf([1.0, 2.0, 3.0])
    F.l1_loss(x, [1.0, 0.0, 5.0], reduction="sum").backward()
    np.testing.assert_array_equal(x.grad.numpy(), [0.0, 1.0, -1.0])


def test_empty_mean_is_nan_and_sum_zero():
    for fn in (F.mse_loss, F.l1_loss, F.binary_cross_entropy_with_logits):
        assert np.isnan(fn(leaf(np.zeros(0)), np.zeros(0)).item())
        assert fn(leaf(np.zeros((0, 2))), np.zeros((0, 2)), reduction="sum").item() == 0.0


def test_float32_stays_float32_and_integer_targets_take_the_input_dtype():
    x = engine.tensor([0.5, -1.0], dtype="float32", requires_grad=True)
    for loss in (F.mse_loss(x, engine.tensor([1, 0])), F.l1_loss(x, [1, 0]),
                 F.binary_cross_entropy_with_logits(x, [1, 0], pos_weight=[2.0, 2.0])):
        assert loss.dtype == np.float32
        x.grad = None
        loss.backward()
        assert x.grad.dtype == np.float32


# ---------------------------------------------------------------- bad input


@pytest.mark.parametrize("fn", [F.mse_loss, F.l1_loss, F.smooth_l1_loss, F.huber_loss,
                                F.binary_cross_entropy, F.binary_cross_entropy_with_logits,
                                F.kl_div])
def test_shape_mismatches_are_refused_never_broadcast(fn):
    x = leaf(np.full((3, 1), 0.5))
    with pytest.raises(ValueError, match=r"target must have the input's shape \(3, 1\) "
                                         r"\(nothing is broadcast\); got \(3,\)"):
        fn(x, np.full(3, 0.5))
    with pytest.raises(ValueError, match=r"reduction must be one of .*; got 'max'"):
        fn(x, np.full((3, 1), 0.5), reduction="max")
    if fn is not F.huber_loss:  # PyTorch's huber_loss has no deprecated arguments
        with pytest.raises(TypeError, match="positional"):
            fn(x, np.full((3, 1), 0.5), None, None, "sum")  # size_average, reduce slots
    assert x.grad is None


def test_bad_settings_and_weights_are_named():
    x = leaf(np.full((2, 3), 0.5))
    y = np.full((2, 3), 0.5)
    with pytest.raises(RuntimeError, match="beta must be >= 0; got -1"):
        F.smooth_l1_loss(x, y, beta=-1)
    with pytest.raises(RuntimeError, match="delta must be > 0; got 0"):
        F.huber_loss(x, y, delta=0)
    with pytest.raises(RuntimeError, match=r"all elements of input must be in \[0, 1\]; got "
                                           r"values from -0.5 to 0.5"):
        F.binary_cross_entropy(leaf([[-0.5, 0.5]]), [[0.5, 0.5]])
    with pytest.raises(RuntimeError, match="all elements of target must be in"):
        F.binary_cross_entropy(leaf([[0.5, 0.5]]), [[1.5, 0.5]])
    with pytest.raises(ValueError, match=r"pos_weight must broadcast to the input's shape "
                                         r"\(2, 3\); got \(2,\)"):
        F.binary_cross_entropy_with_logits(x, y, pos_weight=[1.0, 2.0])
    with pytest.raises(ValueError, match=r"weight must broadcast.*got \(4,\)"):
        F.binary_cross_entropy(x, y, np.ones(4))
    with pytest.raises(RuntimeError, match="pos_weight is not differentiable"):
        F.binary_cross_entropy_with_logits(x, y, pos_weight=leaf([1.0, 2.0, 3.0]))
    with pytest.raises(ValueError, match=r"weight must have the input's shape \(2, 3\); got "
                                         r"\(3,\)"):
        F.mse_loss(x, y, weight=np.ones(3))
    with pytest.raises(ValueError, match="reduction must be one of .*'batchmean'; got 'avg'"):
        F.kl_div(x, y, reduction="avg")
    with pytest.raises(ValueError, match="got 'batchmean'"):
        F.mse_loss(x, y, reduction="batchmean")
    with pytest.raises(RuntimeError, match="input must be a float tensor"):
        F.mse_loss(engine.tensor([1, 2]), [1, 2])
    assert x.grad is None


# ---------------------------------------------------------------- Modules


def test_modules_forward_to_the_functions():
    rng = np.random.default_rng(2)
    x, y = rng.standard_normal((4, 3)), rng.random((4, 3))
    w, p = rng.random(3), rng.random(3) + 0.5
    pairs = [
        (nn.MSELoss(reduction="sum"), F.mse_loss(leaf(x), y, reduction="sum")),
        (nn.L1Loss(), F.l1_loss(leaf(x), y)),
        (nn.SmoothL1Loss(beta=0.3), F.smooth_l1_loss(leaf(x), y, beta=0.3)),
        (nn.HuberLoss("none", 0.4), F.huber_loss(leaf(x), y, "none", 0.4)),
        (nn.BCELoss(w), F.binary_cross_entropy(leaf(y), y, w)),
        (nn.BCEWithLogitsLoss(w, pos_weight=p),
         F.binary_cross_entropy_with_logits(leaf(x), y, w, pos_weight=p)),
        (nn.KLDivLoss(reduction="batchmean", log_target=True),
         F.kl_div(leaf(x), y, reduction="batchmean", log_target=True)),
    ]
    for module, expected in pairs:
        got = module(leaf(y) if isinstance(module, nn.BCELoss) else leaf(x), y)
        np.testing.assert_array_equal(got.numpy(), expected.numpy())
    assert list(nn.BCEWithLogitsLoss(w, pos_weight=p).state_dict()) == ["weight", "pos_weight"]
    assert repr(nn.MSELoss()) == "MSELoss()" and nn.HuberLoss().delta == 1.0
    with pytest.raises(ValueError, match="reduction"):
        nn.MSELoss(reduction="max")
    with pytest.raises(RuntimeError, match="delta"):
        nn.HuberLoss(delta=-1.0)
    nn.KLDivLoss(reduction="batchmean")  # allowed here only


def test_losses_on_device(device):
    rng = np.random.default_rng(3)
    x = engine.tensor(rng.standard_normal((4, 3)), device=device, requires_grad=True)
    y = engine.tensor(rng.random((4, 3)), device=device)
    for loss in (F.mse_loss(x, y), F.smooth_l1_loss(x, y), F.huber_loss(x, y),
                 F.binary_cross_entropy_with_logits(x, y, pos_weight=engine.tensor(
                     np.ones(3), device=device)),
                 F.binary_cross_entropy(y, y), F.kl_div(x, y, reduction="batchmean")):
        assert loss.device == x.device and np.isfinite(loss.item())
