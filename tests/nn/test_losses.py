"""Losses: gradients against finite differences, values and gradients against PyTorch,
PyTorch's reduction and ignore_index semantics, and bad input caught before any work."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import engine
import nn
from nn import functional as F

REDUCTIONS = ["mean", "sum", "none"]


@st.composite
def classification(draw, max_extra_dims=2):
    """(logits (N, C, d...) float64, integer targets (N, d...) with some ignored, ignore_index)."""
    n, c = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    extra = tuple(draw(st.lists(st.integers(1, 3), max_size=max_extra_dims)))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    logits = rng.standard_normal((n, c, *extra)) * draw(st.sampled_from([0.1, 1.0, 5.0]))
    target = rng.integers(0, c, (n, *extra))
    ignore_index = draw(st.sampled_from([-100, 0]))
    target[rng.random(target.shape) < 0.3] = ignore_index
    return logits, target, ignore_index


def leaf(array):
    return engine.tensor(np.asarray(array, dtype=np.float64), requires_grad=True)


@given(classification(), st.sampled_from(REDUCTIONS), st.sampled_from([0.0, 0.2]))
def test_cross_entropy_gradcheck(case, reduction, smoothing):
    logits, target, ignore = case
    loss = lambda x: F.cross_entropy(x, target, ignore, reduction, smoothing)  # noqa: E731
    if reduction == "mean" and (target == ignore).all():
        return  # nan loss (checked on its own below)
    assert engine.gradcheck(loss, [leaf(logits)])


@given(classification(), st.sampled_from(REDUCTIONS))
def test_nll_loss_gradcheck(case, reduction):
    logits, target, ignore = case
    if reduction == "mean" and (target == ignore).all():
        return
    loss = lambda x: F.nll_loss(x.log_softmax(axis=1), target, ignore, reduction)  # noqa: E731
    assert engine.gradcheck(loss, [leaf(logits)])


@given(st.integers(1, 5), st.integers(1, 3), st.sampled_from(REDUCTIONS), st.integers(0, 99))
def test_bce_with_logits_and_mse_gradcheck(n, m, reduction, seed):
    rng = np.random.default_rng(seed)
    x, y = leaf(rng.standard_normal((n, m)) * 3), leaf(rng.random((n, m)))
    for loss in (F.binary_cross_entropy_with_logits, F.mse_loss):
        assert engine.gradcheck(lambda a, b: loss(a, b, reduction), [x, y])  # noqa: B023


def test_bce_gradient_is_sigmoid_minus_target_at_zero():
    x = leaf([0.0, 0.0])
    F.binary_cross_entropy_with_logits(x, [1.0, 0.0], reduction="sum").backward()
    np.testing.assert_allclose(x.grad.numpy(), [-0.5, 0.5])


@given(classification(), st.sampled_from(REDUCTIONS), st.sampled_from([0.0, 0.1]))
def test_cross_entropy_and_nll_match_pytorch(case, reduction, smoothing):
    torch = pytest.importorskip("torch")
    logits, target, ignore = case
    x, tx = leaf(logits), torch.tensor(logits, requires_grad=True)
    t = torch.tensor(target)
    ours = F.cross_entropy(x, target, ignore, reduction, smoothing)
    theirs = torch.nn.functional.cross_entropy(tx, t, ignore_index=ignore, reduction=reduction,
                                               label_smoothing=smoothing)
    np.testing.assert_allclose(ours.numpy(), theirs.detach().numpy(), rtol=1e-12, atol=1e-12)
    weight = np.random.default_rng(0).standard_normal(theirs.shape)
    ours.backward(engine.tensor(weight))
    theirs.backward(torch.tensor(weight))
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=1e-10, atol=1e-12)
    log_p = engine.log_softmax(leaf(logits), axis=1)
    np.testing.assert_allclose(
        F.nll_loss(log_p, target, ignore, reduction).numpy(),
        torch.nn.functional.nll_loss(torch.log_softmax(tx, 1), t, ignore_index=ignore,
                                     reduction=reduction).detach().numpy(),
        rtol=1e-12, atol=1e-12,
    )


def test_bce_and_mse_match_pytorch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(1)
    x, y = rng.standard_normal((3, 4)) * 50, rng.random((3, 4))
    for reduction in REDUCTIONS:
        np.testing.assert_allclose(
            F.binary_cross_entropy_with_logits(leaf(x), y, reduction).numpy(),
            torch.nn.functional.binary_cross_entropy_with_logits(
                torch.tensor(x), torch.tensor(y), reduction=reduction).numpy(), rtol=1e-12)
        np.testing.assert_allclose(
            F.mse_loss(leaf(x), y, reduction).numpy(),
            torch.nn.functional.mse_loss(torch.tensor(x), torch.tensor(y),
                                         reduction=reduction).numpy(), rtol=1e-12)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_cross_entropy_is_finite_for_extreme_logits(dtype):
    logits = np.array([[3e4, -3e4, 0.0], [0.0, 3e4, 3e4], [-3e4, -3e4, -3e4]])
    target = np.array([1, 0, 2])
    x = engine.tensor(logits, dtype=dtype, requires_grad=True)
    loss = F.cross_entropy(x, target)
    loss.backward()
    assert np.isfinite(loss.item()) and np.isfinite(x.grad.numpy()).all()
    expected = (6e4 + 3e4 + np.log(2) + np.log(3)) / 3  # -log p of each target, by hand
    np.testing.assert_allclose(loss.item(), expected, rtol=1e-6)
    torch = pytest.importorskip("torch")
    theirs = torch.nn.functional.cross_entropy(torch.tensor(logits), torch.tensor(target))
    np.testing.assert_allclose(loss.item(), theirs.item(), rtol=1e-6)


def test_all_ignored_mean_is_nan_with_zero_gradient_as_pytorch():
    x = leaf(np.ones((2, 3)))
    loss = F.cross_entropy(x, [-100, -100])
    loss.backward()
    assert np.isnan(loss.item())
    np.testing.assert_array_equal(x.grad.numpy(), np.zeros((2, 3)))
    assert F.cross_entropy(leaf(np.ones((2, 3))), [-100, -100], reduction="sum").item() == 0.0
    assert np.isnan(F.nll_loss(leaf(np.ones((2, 3))), [-100, -100]).item())


def test_mean_divides_by_the_non_ignored_count():
    logits = np.log(np.array([[0.5, 0.5], [0.9, 0.1], [0.2, 0.8]]))
    loss = F.cross_entropy(leaf(logits), [0, -100, 1])
    np.testing.assert_allclose(loss.item(), (-np.log(0.5) - np.log(0.8)) / 2)
    none = F.cross_entropy(leaf(logits), [0, -100, 1], reduction="none")
    np.testing.assert_allclose(none.numpy(), [-np.log(0.5), 0.0, -np.log(0.8)])


def test_single_sample_form():
    logits, target = np.array([0.1, 2.0, -1.0]), 1
    loss = F.cross_entropy(leaf(logits), target)
    expected = -(logits[1] - np.log(np.exp(logits).sum()))
    np.testing.assert_allclose(loss.item(), expected)
    assert F.cross_entropy(leaf(logits), np.array(target), reduction="none").shape == ()
    with pytest.raises(ValueError, match=r"target of shape \(\); got \(2,\)"):
        F.cross_entropy(leaf(logits), [1, 2])


@pytest.mark.parametrize("fn", [F.cross_entropy, F.nll_loss])
def test_bad_targets_raise_before_recording(fn):
    x = leaf(np.zeros((2, 3, 4)))
    with pytest.raises(ValueError, match=r"target of shape \(2, 4\); got \(2, 3\)"):
        fn(x, np.zeros((2, 3), dtype=np.int64))
    with pytest.raises(ValueError, match="integer class indices; got dtype float64"):
        fn(x, np.zeros((2, 4)))
    with pytest.raises(ValueError, match=r"in \[0, 3\) or ignore_index=-100; got 3"):
        fn(x, np.full((2, 4), 3))
    with pytest.raises(ValueError, match=r"got -2"):
        fn(x, np.full((2, 4), -2))
    with pytest.raises(ValueError, match="reduction must be one of"):
        fn(x, np.zeros((2, 4), dtype=np.int64), reduction="average")
    assert x.grad is None


def test_same_shape_losses_refuse_to_broadcast():
    with pytest.raises(ValueError, match=r"input's shape \(3, 1\); got \(3,\)"):
        F.mse_loss(leaf(np.zeros((3, 1))), np.zeros(3))
    with pytest.raises(ValueError, match=r"input's shape \(2,\); got \(1,\)"):
        F.binary_cross_entropy_with_logits(leaf(np.zeros(2)), np.zeros(1))


def test_loss_modules_forward_to_the_functions():
    rng = np.random.default_rng(2)
    logits, target = rng.standard_normal((5, 3)), rng.integers(0, 3, 5)
    module = nn.CrossEntropyLoss(ignore_index=0, reduction="sum", label_smoothing=0.1)
    np.testing.assert_allclose(module(leaf(logits), target).item(),
                               F.cross_entropy(leaf(logits), target, 0, "sum", 0.1).item())
    log_p = engine.log_softmax(leaf(logits), axis=1)
    assert nn.NLLLoss()(log_p, target).item() == F.nll_loss(log_p, target).item()
    assert nn.MSELoss(reduction="sum")(leaf([1.0, 2.0]), [0.0, 0.0]).item() == 5.0
    assert nn.BCEWithLogitsLoss()(leaf([0.0]), [1.0]).item() == pytest.approx(np.log(2))
    assert repr(nn.CrossEntropyLoss()) == "CrossEntropyLoss()"
    with pytest.raises(ValueError, match="reduction"):
        nn.MSELoss(reduction="max")


def test_losses_on_device(device):
    rng = np.random.default_rng(3)
    logits, target = rng.standard_normal((4, 3, 2)), rng.integers(0, 3, (4, 2))
    cpu = leaf(logits)
    here = engine.tensor(logits, requires_grad=True, device=device)
    F.cross_entropy(cpu, target, label_smoothing=0.1).backward()
    loss = F.cross_entropy(here, engine.tensor(target, device=device), label_smoothing=0.1)
    loss.backward()
    assert loss.device == here.device
    np.testing.assert_allclose(here.grad.numpy(), cpu.grad.numpy(), rtol=1e-10)
    y = engine.tensor(rng.random((4, 3)), device=device)
    first = here[:, :, 0]
    for value in (F.mse_loss(first, y), F.binary_cross_entropy_with_logits(first, y),
                  F.nll_loss(here, target)):
        assert value.device == here.device and np.isfinite(value.item())
