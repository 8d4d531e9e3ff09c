"""Classification losses (cross_entropy, nll_loss and their Modules): values and input
gradients against PyTorch in float64 over drawn shapes, targets, weights, ignore_index and
label_smoothing; gradients against finite differences; PyTorch's reductions; bad input
refused before any work, naming what was expected and what came."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import engine
import nn
from nn import functional as F

REDUCTIONS = ["mean", "sum", "none"]


@st.composite
def classification(draw):
    """(logits (N, C) or (N, C, d1, d2) float64, integer targets (N, d...) with some, or
    all, equal to ignore_index, ignore_index, class weights (C,) or None)."""
    n, c = draw(st.integers(1, 4)), draw(st.integers(1, 5))
    extra = draw(st.sampled_from([(), (), (3,), (2, 3)]))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    logits = rng.standard_normal((n, c, *extra)) * draw(st.sampled_from([0.1, 1.0, 5.0]))
    target = rng.integers(0, c, (n, *extra))
    ignore_index = draw(st.sampled_from([-100, 0, 2]))
    target[rng.random(target.shape) < draw(st.sampled_from([0.0, 0.3, 1.0]))] = ignore_index
    weight, kind = None, draw(st.sampled_from([None, "positive", "with zeros"]))
    if kind is not None:
        weight = rng.random(c) + 0.1
        weight[rng.random(c) < (0.3 if kind == "with zeros" else 0.0)] = 0.0
    return logits, target, ignore_index, weight


def leaf(array):
    return engine.tensor(np.asarray(array, dtype=np.float64), requires_grad=True)


def counted_nothing(target, ignore, weight, reduction):
    """'mean' over no counted target (all ignored, or zero weight): nan, as PyTorch."""
    valid = target != ignore
    total = valid.sum() if weight is None else weight[np.where(valid, target, 0)][valid].sum()
    return reduction == "mean" and total == 0


def assert_close(ours, theirs, rtol=1e-12, atol=1e-12):
    theirs = theirs.detach().numpy() if hasattr(theirs, "detach") else theirs
    np.testing.assert_allclose(np.asarray(ours), theirs, rtol=rtol, atol=atol)


def backward_both(ours, theirs, torch):
    """Backward with one random output gradient (a scalar loss: 1.7) on both."""
    weight = np.random.default_rng(0).standard_normal(theirs.shape) + 1.7
    ours.backward(engine.tensor(weight))
    theirs.backward(torch.tensor(weight))


# ---------------------------------------------------------------- against PyTorch


@settings(max_examples=60)
@given(classification(), st.sampled_from(REDUCTIONS), st.sampled_from([0.0, 0.15, 1.0]))
def test_cross_entropy_matches_pytorch(case, reduction, smoothing):
    torch = pytest.importorskip("torch")
    logits, target, ignore, weight = case
    x, tx = leaf(logits), torch.tensor(logits, requires_grad=True)
    tw = None if weight is None else torch.tensor(weight)
    ours = F.cross_entropy(x, target, weight, ignore_index=ignore, reduction=reduction,
                           label_smoothing=smoothing)
    theirs = torch.nn.functional.cross_entropy(tx, torch.tensor(target), tw, ignore_index=ignore,
                                               reduction=reduction, label_smoothing=smoothing)
    assert ours.shape == tuple(theirs.shape) and ours.dtype == np.float64
    assert_close(ours.numpy(), theirs)
    if counted_nothing(target, ignore, weight, reduction):
        assert np.isnan(ours.item())
    backward_both(ours, theirs, torch)
    assert_close(x.grad.numpy(), tx.grad, rtol=1e-10)


@settings(max_examples=60)
@given(classification(), st.sampled_from(REDUCTIONS))
def test_nll_loss_matches_pytorch(case, reduction):
    torch = pytest.importorskip("torch")
    logits, target, ignore, weight = case
    x, tx = leaf(logits), torch.tensor(logits, requires_grad=True)
    tw = None if weight is None else torch.tensor(weight)
    ours = F.nll_loss(F.log_softmax(x, dim=1), target, weight, ignore_index=ignore,
                      reduction=reduction)
    theirs = torch.nn.functional.nll_loss(torch.log_softmax(tx, 1), torch.tensor(target), tw,
                                          ignore_index=ignore, reduction=reduction)
    assert_close(ours.numpy(), theirs)
    backward_both(ours, theirs, torch)
    assert_close(x.grad.numpy(), tx.grad, rtol=1e-10)
    # on any numbers, not only log-probabilities
    direct = F.nll_loss(leaf(logits), target, weight, ignore_index=ignore, reduction=reduction)
    assert_close(direct.numpy(), torch.nn.functional.nll_loss(
        torch.tensor(logits), torch.tensor(target), tw, ignore_index=ignore, reduction=reduction))


@st.composite
def probabilities(draw):
    """(logits (N, C, d...), class probabilities of that shape, class weights or None)."""
    logits, _, _, weight = draw(classification())
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    target = rng.random(logits.shape)
    if draw(st.booleans()):
        target /= target.sum(axis=1, keepdims=True)  # rows that sum to 1 (need not: PyTorch)
    return logits, target, weight


@settings(max_examples=60)
@given(probabilities(), st.sampled_from(REDUCTIONS), st.sampled_from([0.0, 0.2]))
def test_cross_entropy_with_probabilities_matches_pytorch(case, reduction, smoothing):
    torch = pytest.importorskip("torch")
    logits, target, weight = case
    x, tx = leaf(logits), torch.tensor(logits, requires_grad=True)
    y, ty = leaf(target), torch.tensor(target, requires_grad=True)
    tw = None if weight is None else torch.tensor(weight)
    ours = F.cross_entropy(x, y, weight, reduction=reduction, label_smoothing=smoothing)
    theirs = torch.nn.functional.cross_entropy(tx, ty, tw, reduction=reduction,
                                               label_smoothing=smoothing)
    assert_close(ours.numpy(), theirs)
    backward_both(ours, theirs, torch)
    assert_close(x.grad.numpy(), tx.grad, rtol=1e-10)
    assert_close(y.grad.numpy(), ty.grad, rtol=1e-10)


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_single_sample_forms_match_pytorch(reduction):
    torch = pytest.importorskip("torch")
    logits, probs = np.array([0.1, 2.0, -1.0]), np.array([0.2, 0.5, 0.3])
    weight = np.array([1.0, 2.0, 0.5])
    tx = torch.tensor(logits)
    for target, t_target in ((1, torch.tensor(1)), (probs, torch.tensor(probs))):
        for w, tw in ((None, None), (weight, torch.tensor(weight))):
            ours = F.cross_entropy(leaf(logits), target, w, reduction=reduction,
                                   label_smoothing=0.1)
            theirs = torch.nn.functional.cross_entropy(tx, t_target, tw, reduction=reduction,
                                                       label_smoothing=0.1)
            assert ours.shape == tuple(theirs.shape) == ()
            assert_close(ours.numpy(), theirs)
    ours = F.nll_loss(leaf(logits), np.array(2), weight, reduction=reduction)
    assert_close(ours.numpy(), torch.nn.functional.nll_loss(tx, torch.tensor(2),
                                                            torch.tensor(weight),
                                                            reduction=reduction))


def test_empty_batch_mean_is_nan_as_pytorch():
    torch = pytest.importorskip("torch")
    for target in (np.zeros(0, dtype=np.int64), np.zeros((0, 3))):
        ours = F.cross_entropy(leaf(np.zeros((0, 3))), target)
        theirs = torch.nn.functional.cross_entropy(torch.zeros(0, 3), torch.tensor(target))
        assert np.isnan(ours.item()) and np.isnan(theirs.item())
    assert F.nll_loss(leaf(np.zeros((0, 3))), np.zeros(0, dtype=np.int64),
                      reduction="sum").item() == 0.0


# ---------------------------------------------------------------- finite differences


@given(classification(), st.sampled_from(REDUCTIONS), st.sampled_from([0.0, 0.2]))
def test_cross_entropy_gradcheck(case, reduction, smoothing):
    logits, target, ignore, weight = case
    if counted_nothing(target, ignore, weight, reduction):
        return  # a nan loss (checked against PyTorch above)
    loss = lambda x: F.cross_entropy(x, target, weight, ignore_index=ignore,  # noqa: E731
                                     reduction=reduction, label_smoothing=smoothing)
    assert engine.gradcheck(loss, [leaf(logits)])


@given(probabilities(), st.sampled_from(REDUCTIONS), st.sampled_from([0.0, 0.2]))
def test_cross_entropy_with_probabilities_gradcheck(case, reduction, smoothing):
    logits, target, weight = case
    loss = lambda x, y: F.cross_entropy(x, y, weight, reduction=reduction,  # noqa: E731
                                        label_smoothing=smoothing)
    assert engine.gradcheck(loss, [leaf(logits), leaf(target)])


@given(classification(), st.sampled_from(REDUCTIONS))
def test_nll_loss_gradcheck(case, reduction):
    logits, target, ignore, weight = case
    if counted_nothing(target, ignore, weight, reduction):
        return
    loss = lambda x: F.nll_loss(x.log_softmax(dim=1), target, weight,  # noqa: E731
                                ignore_index=ignore, reduction=reduction)
    assert engine.gradcheck(loss, [leaf(logits)])


# ---------------------------------------------------------------- semantics by hand


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("smoothing", [0.0, 0.1])
def test_cross_entropy_is_finite_for_extreme_logits(dtype, smoothing):
    logits = np.array([[1e4, -1e4, 0.0], [0.0, 1e4, 1e4], [-1e4, -1e4, -1e4]])
    target = np.array([1, 0, 2])
    x = engine.tensor(logits, dtype=dtype, requires_grad=True)
    loss = F.cross_entropy(x, target, [1.0, 2.0, 0.5], label_smoothing=smoothing)
    loss.backward()
    assert np.isfinite(loss.item()) and np.isfinite(x.grad.numpy()).all()
    if smoothing == 0.0:  # -log p of each target, by hand, weighted
        expected = (2.0 * 2e4 + 1.0 * (1e4 + np.log(2)) + 0.5 * np.log(3)) / 3.5
        np.testing.assert_allclose(loss.item(), expected, rtol=1e-6)
    log_p = F.log_softmax(engine.tensor(logits, dtype=dtype, requires_grad=True), dim=1)
    assert np.isfinite(F.nll_loss(log_p, target).item())
    torch = pytest.importorskip("torch")
    theirs = torch.nn.functional.cross_entropy(torch.tensor(logits), torch.tensor(target),
                                               torch.tensor([1.0, 2.0, 0.5], dtype=torch.float64),
                                               label_smoothing=smoothing)
    np.testing.assert_allclose(loss.item(), theirs.item(), rtol=1e-6)


def test_all_ignored_mean_is_nan_with_zero_gradient_as_pytorch():
    for fn in (F.cross_entropy, F.nll_loss):
        x = leaf(np.ones((2, 3)))
        loss = fn(x, [-100, -100], [1.0, 2.0, 3.0])
        loss.backward()
        assert np.isnan(loss.item())
        np.testing.assert_array_equal(x.grad.numpy(), np.zeros((2, 3)))
        assert fn(leaf(np.ones((2, 3))), [-100, -100], reduction="sum").item() == 0.0


def test_mean_divides_by_the_weights_of_the_counted_targets():
    logits = np.log(np.array([[0.5, 0.5], [0.9, 0.1], [0.2, 0.8]]))
    loss = F.cross_entropy(leaf(logits), [0, -100, 1])
    np.testing.assert_allclose(loss.item(), (-np.log(0.5) - np.log(0.8)) / 2)
    weighted = F.nll_loss(leaf(logits), [0, -100, 1], weight=[3.0, 1.0])
    np.testing.assert_allclose(weighted.item(), (-3 * np.log(0.5) - np.log(0.8)) / 4)
    none = F.cross_entropy(leaf(logits), [0, -100, 1], reduction="none")
    np.testing.assert_allclose(none.numpy(), [-np.log(0.5), 0.0, -np.log(0.8)])


def test_cross_entropy_equals_nll_of_log_softmax():
    rng = np.random.default_rng(4)
    logits, target = rng.standard_normal((6, 5, 2)), rng.integers(0, 5, (6, 2))
    weight = rng.random(5)
    np.testing.assert_allclose(
        F.cross_entropy(leaf(logits), target, weight).item(),
        F.nll_loss(F.log_softmax(leaf(logits), dim=1), target, weight).item(), rtol=1e-13)


def test_float32_stays_float32():
    x = engine.tensor(np.ones((3, 4)), dtype="float32", requires_grad=True)
    for loss in (F.cross_entropy(x, [0, 1, 2], [1.0, 2.0, 3.0, 4.0], label_smoothing=0.1),
                 F.cross_entropy(x, np.full((3, 4), 0.25, dtype=np.float32)),
                 F.nll_loss(x, [0, 1, 2], np.ones(4))):
        assert loss.dtype == np.float32
        x.grad = None
        loss.backward()
        assert x.grad.dtype == np.float32


def test_logits_changed_in_place_after_the_loss_do_not_matter():
    # the fused op keeps what its backward needs (as PyTorch, which keeps log_softmax's
    # output): a later in-place change of the logits leaves the gradient as it was
    rng = np.random.default_rng(5)
    logits, target = rng.standard_normal((4, 3)), rng.integers(0, 3, 4)
    x = leaf(logits)
    h = x * 1.0
    loss = F.cross_entropy(h, target)
    h.add_(100.0)
    loss.backward()
    reference = leaf(logits)
    F.cross_entropy(reference, target).backward()
    np.testing.assert_allclose(x.grad.numpy(), reference.grad.numpy(), rtol=1e-14)


# ---------------------------------------------------------------- bad input


@pytest.mark.parametrize("fn", [F.cross_entropy, F.nll_loss])
def test_bad_targets_raise_before_recording(fn):
    x = leaf(np.zeros((2, 3, 4)))
    with pytest.raises(ValueError, match=r"target of shape \(2, 4\); got \(2, 3\)"):
        fn(x, np.zeros((2, 3), dtype=np.int64))
    with pytest.raises(RuntimeError, match="integer class indices.*got dtype float64"):
        fn(x, np.zeros((2, 4)))
    with pytest.raises(IndexError, match=r"in \[0, 3\) or ignore_index=-100; got 3"):
        fn(x, np.full((2, 4), 3))
    with pytest.raises(IndexError, match=r"got -2"):
        fn(x, np.full((2, 4), -2))
    with pytest.raises(ValueError, match=r"reduction must be one of 'mean', 'sum', 'none'; "
                                         r"got 'average'"):
        fn(x, np.zeros((2, 4), dtype=np.int64), reduction="average")
    with pytest.raises(RuntimeError, match=r"one value per class, shape \(3,\); got shape \(2,\)"):
        fn(x, np.zeros((2, 4), dtype=np.int64), [1.0, 2.0])
    with pytest.raises(RuntimeError, match="weight is not differentiable"):
        fn(x, np.zeros((2, 4), dtype=np.int64), leaf([1.0, 2.0, 3.0]))
    with pytest.raises(TypeError, match="positional"):
        fn(x, np.zeros((2, 4), dtype=np.int64), None, None, -100)  # PyTorch's size_average slot
    with pytest.raises(ValueError, match=r"shape \(C,\), \(N, C\) or \(N, C, d...\); got \(\)"):
        fn(leaf(1.0), 0)
    with pytest.raises(ValueError, match=r"target of shape \(\) or \(3,\); got \(2,\)"):
        fn(leaf(np.zeros(3)), [1, 2])
    with pytest.raises(RuntimeError, match="input must be a float tensor; got dtype int64"):
        fn(engine.tensor(np.zeros((2, 3), dtype=np.int64)), [0, 1])
    assert x.grad is None


def test_bad_cross_entropy_settings():
    x = leaf(np.zeros((2, 3)))
    with pytest.raises(RuntimeError, match=r"label_smoothing must be in \[0, 1\]; got 1.5"):
        F.cross_entropy(x, [0, 1], label_smoothing=1.5)
    with pytest.raises(RuntimeError, match="ignore_index is not supported with class "
                                           "probabilities.*got ignore_index=0"):
        F.cross_entropy(x, np.full((2, 3), 1 / 3), ignore_index=0)
    with pytest.raises(RuntimeError, match=r"integer class indices or class probabilities of "
                                           r"shape \(2, 3\); got dtype float64 and shape \(2, 2\)"):
        F.cross_entropy(x, np.full((2, 2), 0.5))  # probabilities of the wrong shape
    with pytest.raises(RuntimeError, match="label_smoothing"):
        nn.CrossEntropyLoss(label_smoothing=-0.1)
    with pytest.raises(ValueError, match="reduction"):
        nn.NLLLoss(reduction="max")


# ---------------------------------------------------------------- Modules, devices


def test_loss_modules_forward_to_the_functions_and_keep_weight_as_a_buffer():
    rng = np.random.default_rng(2)
    logits, target, weight = rng.standard_normal((5, 3)), rng.integers(0, 3, 5), rng.random(3)
    module = nn.CrossEntropyLoss(weight, ignore_index=0, reduction="sum", label_smoothing=0.1)
    expected = F.cross_entropy(leaf(logits), target, weight, ignore_index=0, reduction="sum",
                               label_smoothing=0.1)
    np.testing.assert_allclose(module(leaf(logits), target).item(), expected.item())
    assert list(module.state_dict()) == ["weight"]
    np.testing.assert_array_equal(module.state_dict()["weight"], weight)
    assert nn.CrossEntropyLoss().state_dict() == {} and nn.NLLLoss().weight is None
    log_p = F.log_softmax(leaf(logits), dim=1)
    assert nn.NLLLoss()(log_p, target).item() == F.nll_loss(log_p, target).item()
    assert nn.NLLLoss(weight, reduction="none")(log_p, target).shape == (5,)
    assert repr(nn.CrossEntropyLoss()) == "CrossEntropyLoss()"
    module.double()
    assert module.weight.dtype == np.float64


def test_losses_on_device(device):
    rng = np.random.default_rng(3)
    logits, target = rng.standard_normal((4, 3, 2)), rng.integers(0, 3, (4, 2))
    weight = rng.random(3)
    cpu = leaf(logits)
    here = engine.tensor(logits, requires_grad=True, device=device)
    F.cross_entropy(cpu, target, weight, label_smoothing=0.1).backward()
    loss = F.cross_entropy(here, engine.tensor(target, device=device),
                           engine.tensor(weight, device=device), label_smoothing=0.1)
    loss.backward()
    assert loss.device == here.device
    np.testing.assert_allclose(here.grad.numpy(), cpu.grad.numpy(), rtol=1e-10)
    probs = engine.tensor(rng.random((4, 3, 2)), device=device)
    for value in (F.nll_loss(here, target, weight), F.cross_entropy(here, probs, weight)):
        assert value.device == here.device and np.isfinite(value.item())
