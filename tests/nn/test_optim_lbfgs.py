"""LBFGS, with and without the strong-Wolfe line search, against PyTorch's: iterates,
losses and evaluation counts, on a convex bowl (gradients computed the same way on both
sides: the iterates agree to rounding) and on the Rosenbrock function through each
library's own autograd; state dicts and resumption."""

import numpy as np
import pytest

import engine
import nn

RNG = np.random.default_rng(0)
M = RNG.standard_normal((6, 6))
A = M @ M.T / 6 + np.eye(6)
C = RNG.standard_normal(6)
START = [np.array([[-1.2, 1.0], [-0.5, 0.8]]), np.array([1.5, -1.0])]


def bowl(z):
    """f(z) = z A z / 2 + sum z^4 / 4 - c z and its gradient, in NumPy."""
    return 0.5 * z @ A @ z + 0.25 * np.sum(z**4) - C @ z, A @ z + z**3 - C


def flat(params):
    return np.concatenate([np.asarray(p.detach().numpy()).ravel() for p in params])


def numpy_closure(params, make, optimizer):
    """A closure setting ``.grad`` from the NumPy bowl: the same numbers on both sides."""
    def closure():
        f, g = bowl(flat(params))
        offset = 0
        for p in params:
            n = int(np.prod(p.shape))
            p.grad = make(g[offset:offset + n].reshape(tuple(p.shape)))
            offset += n
        return make(np.asarray(f))
    return closure


def rosenbrock(z):
    """sum 100 (z[i+1] - z[i]^2)^2 + (1 - z[i])^2, in either library's ops."""
    return (100 * (z[1:] - z[:-1] ** 2) ** 2 + (1 - z[:-1]) ** 2).sum()


BOWL_CONFIGS = [
    dict(max_iter=4),
    dict(lr=0.5, max_iter=4, history_size=2),  # the history shifts
    dict(line_search_fn="strong_wolfe", max_iter=4),
    dict(line_search_fn="strong_wolfe", max_iter=3, history_size=2, lr=0.8),
    dict(line_search_fn="strong_wolfe"),
]


def pair(torch, kwargs, dtype=np.float64):
    ours = [nn.Parameter(a.astype(dtype)) for a in START]
    theirs = [torch.tensor(a.astype(dtype), requires_grad=True) for a in START]
    return (ours, nn.optim.LBFGS(ours, **kwargs),
            theirs, torch.optim.LBFGS(theirs, **kwargs))


def assert_same_counts(optimizer, reference):
    ours, theirs = optimizer.state[optimizer.param_groups[0]["params"][0]], \
        reference.state[reference.param_groups[0]["params"][0]]
    assert (ours["func_evals"], ours["n_iter"]) == (theirs["func_evals"], theirs["n_iter"])


@pytest.mark.parametrize("kwargs", BOWL_CONFIGS, ids=[str(k) for k in BOWL_CONFIGS])
def test_lbfgs_follows_pytorch_on_a_convex_bowl(kwargs):
    torch = pytest.importorskip("torch")
    ours, optimizer, theirs, reference = pair(torch, kwargs)
    closure = numpy_closure(ours, engine.tensor, optimizer)
    their_closure = numpy_closure(theirs, torch.tensor, reference)
    for _ in range(5):
        loss, their_loss = optimizer.step(closure), reference.step(their_closure)
        assert float(loss) == pytest.approx(float(their_loss), rel=1e-13)
        np.testing.assert_allclose(flat(ours), flat(theirs), rtol=1e-13, atol=1e-15)
        assert_same_counts(optimizer, reference)
    f, g = bowl(flat(ours))
    assert np.abs(g).max() < 1e-4  # it converged


def test_lbfgs_in_float32_follows_pytorch():
    torch = pytest.importorskip("torch")
    kwargs = dict(line_search_fn="strong_wolfe", max_iter=5, history_size=3)
    ours, optimizer, theirs, reference = pair(torch, kwargs, np.float32)
    closure = numpy_closure(ours, lambda a: engine.tensor(a.astype(np.float32)), optimizer)
    their_closure = numpy_closure(theirs, lambda a: torch.tensor(a.astype(np.float32)),
                                  reference)
    for _ in range(3):
        optimizer.step(closure)
        reference.step(their_closure)
        np.testing.assert_allclose(flat(ours), flat(theirs), rtol=1e-5, atol=1e-6)
        assert_same_counts(optimizer, reference)
    state = optimizer.state[ours[0]]
    assert state["d"].dtype == np.float32 and state["H_diag"].dtype == np.float32


@pytest.mark.parametrize("kwargs", [dict(lr=0.5), dict(line_search_fn="strong_wolfe"),
                                    dict(lr=0.8, max_iter=5, history_size=3,
                                         line_search_fn="strong_wolfe")],
                         ids=["fixed-step", "strong_wolfe", "strong_wolfe-short-history"])
def test_lbfgs_on_rosenbrock_through_autograd_follows_pytorch(kwargs):
    """The time_sequence_prediction pattern: the closure zeroes, computes the loss,
    backpropagates and returns it. The two autograds round differently and Rosenbrock's
    valley amplifies that, so the iterates agree to 1e-8, the counts exactly."""
    torch = pytest.importorskip("torch")
    ours, optimizer, theirs, reference = pair(torch, kwargs)

    def closure():
        optimizer.zero_grad()
        loss = rosenbrock(engine.concatenate([ours[0].reshape(-1), ours[1]]))
        loss.backward()
        return loss

    def their_closure():
        reference.zero_grad()
        loss = rosenbrock(torch.cat([theirs[0].reshape(-1), theirs[1]]))
        loss.backward()
        return loss

    for _ in range(6):
        with engine.no_grad():  # as a program may call it; the closure runs with grad
            loss = optimizer.step(closure)
        their_loss = reference.step(their_closure)
        assert float(loss) == pytest.approx(float(their_loss.detach()), rel=1e-8, abs=1e-10)
        np.testing.assert_allclose(flat(ours), flat(theirs), rtol=1e-8, atol=1e-12)
        assert_same_counts(optimizer, reference)
    if kwargs.get("line_search_fn") and "max_iter" not in kwargs:
        np.testing.assert_allclose(flat(ours), np.ones(6), atol=1e-4)  # the minimum


def test_lbfgs_state_dict_round_trip_continues_bit_identically(tmp_path):
    def run(params, optimizer, steps):
        closure = numpy_closure(params, engine.tensor, optimizer)
        for _ in range(steps):
            optimizer.step(closure)

    kwargs = dict(line_search_fn="strong_wolfe", max_iter=2, history_size=3)
    params = [nn.Parameter(a.copy()) for a in START]
    optimizer = nn.optim.LBFGS(params, **kwargs)
    run(params, optimizer, 2)
    nn.save({"params": [p.numpy() for p in params], "optim": optimizer.state_dict()},
            tmp_path / "lbfgs.npz")
    run(params, optimizer, 3)

    checkpoint = nn.load(tmp_path / "lbfgs.npz")
    resumed = [nn.Parameter(a) for a in checkpoint["params"]]
    again = nn.optim.LBFGS(resumed, **kwargs)
    again.load_state_dict(checkpoint["optim"])
    run(resumed, again, 3)
    np.testing.assert_array_equal(flat(resumed), flat(params))
    state = again.state_dict()["state"][0]
    assert isinstance(state["d"], np.ndarray) and len(state["old_dirs"]) == 3
    bad = optimizer.state_dict()
    bad["state"][0]["d"] = np.zeros(5)
    with pytest.raises(ValueError, match=r"\['d'\] has shape \(5,\), but the parameters have 6"):
        again.load_state_dict(bad)


def test_lbfgs_stops_at_once_when_the_gradient_is_zero():
    w = nn.Parameter(np.array([1.0, 2.0]))
    optimizer = nn.optim.LBFGS([w])

    def closure():
        w.grad = engine.zeros(2, dtype="float64")
        return engine.tensor(3.0)

    assert float(optimizer.step(closure)) == 3.0
    assert w.tolist() == [1.0, 2.0] and optimizer.state[w] == {"func_evals": 1, "n_iter": 0}
