"""nn.utils: gradient clipping (PyTorch's numbers and its 0-d Tensor result, non-finite
norms, bad max_norm and norm_type refused before any change) and flat parameter vectors."""

import math
import warnings

import numpy as np
import pytest

import engine
import nn


def with_grads(*grads, dtype=np.float64):
    params = []
    for g in grads:
        p = nn.Parameter(np.zeros(np.shape(g), dtype=dtype))
        p.grad = engine.tensor(np.array(g, dtype=dtype))
        params.append(p)
    return params


def grads_of(params):
    return [p.grad.numpy().copy() for p in params]


@pytest.mark.parametrize("norm_type", [2.0, 1.0, 3.0, 0.5, math.inf, "inf"])
@pytest.mark.parametrize("max_norm", [0.5, 100.0, 0.0])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_clip_grad_norm_matches_pytorch(norm_type, max_norm, dtype):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    grads = [rng.standard_normal((3, 4)).astype(dtype), rng.standard_normal(5).astype(dtype)]
    params = with_grads(*grads, dtype=dtype)
    theirs = [torch.zeros(g.shape, dtype=getattr(torch, np.dtype(dtype).name),
                          requires_grad=True) for g in grads]
    for q, g in zip(theirs, grads):
        q.grad = torch.tensor(g)
    total = nn.utils.clip_grad_norm_(params, max_norm, norm_type)
    expected = torch.nn.utils.clip_grad_norm_(theirs, max_norm, norm_type)
    rtol = 1e-12 if dtype == np.float64 else 1e-6
    assert isinstance(total, engine.Tensor) and total.shape == () and total.dtype == dtype
    assert float(total) == pytest.approx(expected.item(), rel=rtol)
    for p, q in zip(params, theirs):
        np.testing.assert_allclose(p.grad.numpy(), q.grad.numpy(), rtol=rtol, atol=1e-30)


def test_clip_grad_norm_by_hand():
    params = with_grads([3.0], [4.0])
    total = nn.utils.clip_grad_norm_(params, 1.0)
    assert float(total) == 5.0 and total.item() == 5.0
    assert [p.grad.item() for p in params] == pytest.approx([0.6, 0.8], rel=1e-6)
    untouched = with_grads([0.3, 0.4])
    nn.utils.clip_grad_norm_(untouched[0], 1.0)  # a single Tensor
    assert untouched[0].grad.tolist() == [0.3, 0.4]
    nothing = nn.utils.clip_grad_norm_([nn.Parameter(np.ones(1))], 1.0)
    assert float(nothing) == 0.0 and nothing.dtype == engine.get_default_dtype()
    with pytest.warns(UserWarning, match="empty generator"):
        nn.utils.clip_grad_norm_((p for p in []), 1.0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        nn.utils.clip_grad_norm_((p for p in params), 1.0)  # a model.parameters() generator


@pytest.mark.filterwarnings("ignore:invalid value encountered:RuntimeWarning")
def test_non_finite_norms_as_pytorch():
    torch = pytest.importorskip("torch")
    for bad in (np.nan, np.inf):
        params = with_grads([1.0, bad], [2.0])
        before = grads_of(params)
        with pytest.raises(RuntimeError, match="The total norm of order 2.0 for gradients from "
                                               "`parameters` is non-finite"):
            nn.utils.clip_grad_norm_(params, 1.0, error_if_nonfinite=True)
        for g, b in zip(grads_of(params), before):
            np.testing.assert_array_equal(g, b)
        total = nn.utils.clip_grad_norm_(params, 1.0)
        theirs = [torch.tensor([1.0, bad], requires_grad=True), torch.tensor([2.0],
                                                                              requires_grad=True)]
        theirs[0].grad, theirs[1].grad = torch.tensor([1.0, bad]), torch.tensor([2.0])
        expected = torch.nn.utils.clip_grad_norm_(theirs, 1.0)
        np.testing.assert_array_equal(float(total), expected.item())
        for p, q in zip(params, theirs):  # nan: every gradient nan; inf: scaled by 0
            np.testing.assert_array_equal(p.grad.numpy(), q.grad.numpy())


@pytest.mark.parametrize(("kwargs", "error", "match"), [
    (dict(max_norm=-1.0), ValueError, "max_norm must be >= 0; got -1.0 .*flip the sign"),
    (dict(max_norm=math.nan), ValueError, "max_norm must be >= 0; got nan"),
    (dict(max_norm="1"), TypeError, "max_norm must be a real number"),
    (dict(max_norm=1.0, norm_type=0), ValueError, "norm_type must be > 0 .*got 0: order 0"),
    (dict(max_norm=1.0, norm_type=-2.0), ValueError, "norm_type must be > 0"),
    (dict(max_norm=1.0, norm_type="two"), TypeError, "norm_type must be a number or 'inf'"),
])
def test_bad_clip_arguments_are_refused_before_any_change(kwargs, error, match):
    """Issue 14, item 3: ``--clip -1`` flipped every gradient and trained by ascent."""
    params = with_grads([3.0, 4.0])
    with pytest.raises(error, match=match):
        nn.utils.clip_grad_norm_(params, **kwargs)
    assert params[0].grad.tolist() == [3.0, 4.0]


def test_get_total_norm_and_clip_grads_with_norm():
    params = with_grads([3.0], [4.0])
    total = nn.utils.get_total_norm([p.grad for p in params])
    assert float(total) == 5.0
    nn.utils.clip_grads_with_norm_(params, 2.5, total)
    assert [p.grad.item() for p in params] == pytest.approx([1.5, 2.0], rel=1e-6)
    assert float(nn.utils.get_total_norm([p.grad for p in params], norm_type=1)) == \
        pytest.approx(3.5, rel=1e-6)


def test_clip_grad_value():
    params = with_grads([-3.0, 0.5, 2.0])
    nn.utils.clip_grad_value_(params, 1.0)
    assert params[0].grad.tolist() == [-1.0, 0.5, 1.0]
    for bad, error in [(-1.0, ValueError), (math.nan, ValueError), ("1", TypeError)]:
        with pytest.raises(error, match="clip_value"):
            nn.utils.clip_grad_value_(params, bad)
    assert params[0].grad.tolist() == [-1.0, 0.5, 1.0]


def test_clip_grad_value_matches_pytorch():
    torch = pytest.importorskip("torch")
    g = np.random.default_rng(1).standard_normal((4, 3))
    params = with_grads(g)
    theirs = torch.zeros(4, 3, dtype=torch.float64, requires_grad=True)
    theirs.grad = torch.tensor(g)
    nn.utils.clip_grad_value_(params, 0.4, foreach=True)
    torch.nn.utils.clip_grad_value_([theirs], 0.4)
    np.testing.assert_array_equal(params[0].grad.numpy(), theirs.grad.numpy())


def test_parameters_to_vector_and_back():
    a, b = nn.Parameter(np.arange(6.0).reshape(2, 3)), nn.Parameter(np.array([7.0]))
    vec = nn.utils.parameters_to_vector([a, b])
    assert vec.tolist() == [0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 7.0]
    (vec * engine.arange(7.0, dtype="float64")).sum().backward()  # in the graph, as torch.cat
    assert a.grad.tolist() == [[0.0, 1.0, 2.0], [3.0, 4.0, 5.0]] and b.grad.tolist() == [6.0]
    new = engine.arange(10.0, 17.0, dtype="float64")
    nn.utils.vector_to_parameters(new, [a, b])
    assert a.tolist() == [[10.0, 11.0, 12.0], [13.0, 14.0, 15.0]] and b.tolist() == [16.0]
    new.array[0] = -1.0  # the parameters share the vector's memory, as in PyTorch
    assert a.tolist()[0][0] == -1.0
    torch = pytest.importorskip("torch")
    ta = torch.tensor(np.arange(6.0).reshape(2, 3))
    np.testing.assert_array_equal(
        nn.utils.parameters_to_vector([nn.Parameter(np.arange(6.0).reshape(2, 3))]).numpy(),
        torch.nn.utils.parameters_to_vector([ta]).numpy())


def test_vector_to_parameters_checks_before_changing():
    a, b = nn.Parameter(np.zeros((2, 2))), nn.Parameter(np.zeros(1))
    with pytest.raises(ValueError, match=r"a vector of 5 elements .*got shape \(4,\)"):
        nn.utils.vector_to_parameters(engine.arange(4.0), [a, b])
    with pytest.raises(ValueError, match=r"got shape \(5, 1\)"):
        nn.utils.vector_to_parameters(engine.zeros(5, 1), [a, b])
    with pytest.raises(TypeError, match="expected Tensor, but got: ndarray"):
        nn.utils.vector_to_parameters(np.zeros(5), [a, b])
    assert a.tolist() == [[0.0, 0.0], [0.0, 0.0]] and b.tolist() == [0.0]
