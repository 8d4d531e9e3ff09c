"""Optimizers, schedulers and gradient clipping: hand-computed steps, PyTorch's trajectories,
bit-identical resumption through nn.save / nn.load, and the GPU path."""

import math

import numpy as np
import pytest

import engine
import nn
from nn.optim.lr_scheduler import CosineAnnealingLR, StepLR

CONFIGS = [
    ("SGD", dict(lr=0.1)),
    ("SGD", dict(lr=0.1, momentum=0.9)),
    ("SGD", dict(lr=0.1, momentum=0.9, dampening=0.3, weight_decay=0.1)),
    ("SGD", dict(lr=0.1, momentum=0.8, nesterov=True, weight_decay=0.05)),
    ("Adam", dict(lr=0.05)),
    ("Adam", dict(lr=0.05, betas=(0.8, 0.9), eps=1e-6, weight_decay=0.1)),
    ("AdamW", dict(lr=0.05)),
    ("AdamW", dict(lr=0.05, betas=(0.5, 0.99), weight_decay=0.3)),
    ("RMSprop", dict(lr=0.01)),
    ("RMSprop", dict(lr=0.01, alpha=0.9, weight_decay=0.1, momentum=0.5)),
    ("RMSprop", dict(lr=0.01, centered=True)),
    ("RMSprop", dict(lr=0.01, centered=True, momentum=0.9, eps=1e-4)),
]
IDS = [f"{name}-{'-'.join(map(str, kw))}" for name, kw in CONFIGS]


def gradient(w):
    """A fixed non-linear gradient field (that of a quartic bowl), the same on both sides."""
    return 0.5 * w + w**3 - 0.2


def start():
    rng = np.random.default_rng(0)
    return [rng.standard_normal((3, 4)), rng.standard_normal(4)]


def ours_for(name, kwargs, arrays, device="cpu"):
    params = [nn.Parameter(engine.tensor(a.copy(), device=device)) for a in arrays]
    groups = [{"params": [params[0]]}, {"params": [params[1]], "lr": kwargs["lr"] / 2}]
    return params, getattr(nn.optim, name)(groups, **kwargs)


def step_ours(params, optimizer):
    for p in params:
        p.grad = engine.tensor(gradient(p.numpy()), device=p.device)
    optimizer.step()


@pytest.mark.parametrize(("name", "kwargs"), CONFIGS, ids=IDS)
def test_trajectory_matches_pytorch(name, kwargs):
    torch = pytest.importorskip("torch")
    arrays = start()
    params, optimizer = ours_for(name, kwargs, arrays)
    theirs = [torch.tensor(a, requires_grad=True) for a in arrays]
    groups = [{"params": [theirs[0]]}, {"params": [theirs[1]], "lr": kwargs["lr"] / 2}]
    reference = getattr(torch.optim, name)(groups, foreach=False, **kwargs)
    for _ in range(12):
        step_ours(params, optimizer)
        for q in theirs:
            q.grad = torch.tensor(gradient(q.detach().numpy()))
        reference.step()
        for p, q in zip(params, theirs):
            np.testing.assert_allclose(p.numpy(), q.detach().numpy(), rtol=1e-13, atol=1e-15)


def test_sgd_momentum_by_hand():
    w = nn.Parameter(np.array([1.0]))
    optimizer = nn.optim.SGD([w], lr=0.1, momentum=0.5, weight_decay=0.1)
    expected, buf = 1.0, None
    for grad in [2.0, -1.0, 0.5]:
        w.grad = engine.tensor(np.array([grad]))
        optimizer.step()
        g = grad + 0.1 * expected
        buf = g if buf is None else 0.5 * buf + g
        expected -= 0.1 * buf
        assert w.item() == pytest.approx(expected, rel=1e-15)


def test_adam_and_rmsprop_by_hand():
    w = nn.Parameter(np.array([1.0]))
    adam = nn.optim.Adam([w], lr=0.1, betas=(0.9, 0.99), eps=1e-8)
    m = v = 0.0
    expected = 1.0
    for t, grad in enumerate([2.0, -1.0, 0.5], start=1):
        w.grad = engine.tensor(np.array([grad]))
        adam.step()
        m, v = 0.9 * m + 0.1 * grad, 0.99 * v + 0.01 * grad**2
        expected -= 0.1 * (m / (1 - 0.9**t)) / (math.sqrt(v / (1 - 0.99**t)) + 1e-8)
        assert w.item() == pytest.approx(expected, rel=1e-12)
    assert adam.state[w]["step"] == 3
    u = nn.Parameter(np.array([1.0]))
    rmsprop = nn.optim.RMSprop([u], lr=0.01, alpha=0.9)
    u.grad = engine.tensor(np.array([2.0]))
    rmsprop.step()
    assert u.item() == pytest.approx(1.0 - 0.01 * 2.0 / (math.sqrt(0.1 * 4.0) + 1e-8), rel=1e-12)


def test_adamw_decays_the_weight_not_the_gradient():
    w = nn.Parameter(np.array([2.0]))
    w.grad = engine.tensor(np.array([0.0]))
    nn.optim.AdamW([w], lr=0.1, weight_decay=0.5).step()
    assert w.item() == pytest.approx(2.0 * (1 - 0.1 * 0.5))  # the zero gradient moves nothing


def test_parameters_without_gradient_are_skipped_and_zero_grad_clears():
    a, b = nn.Parameter(np.ones(2)), nn.Parameter(np.ones(2))
    optimizer = nn.optim.Adam([a, b])
    a.grad = engine.tensor(np.ones(2))
    optimizer.step()
    assert b.tolist() == [1.0, 1.0] and b not in optimizer.state
    optimizer.zero_grad(set_to_none=False)
    assert a.grad.tolist() == [0.0, 0.0]
    optimizer.zero_grad()
    assert a.grad is None


def test_step_with_closure_returns_the_loss():
    w = nn.Parameter(np.array([3.0]))
    optimizer = nn.optim.SGD([w], lr=0.1)

    def closure():
        optimizer.zero_grad()
        loss = (w * w).sum()
        loss.backward()
        return loss

    with engine.no_grad():
        loss = optimizer.step(closure)
    assert loss.item() == 9.0 and w.item() == pytest.approx(3.0 - 0.1 * 6.0)


def test_bad_hyperparameters_and_parameters_are_refused():
    w = nn.Parameter(np.ones(1))
    for make, match in [(lambda: nn.optim.SGD([w], lr=-1), "invalid lr"),
                        (lambda: nn.optim.SGD([w], nesterov=True), "nesterov"),
                        (lambda: nn.optim.Adam([w], betas=(1.0, 0.9)), "invalid beta1"),
                        (lambda: nn.optim.RMSprop([w], eps=-1), "invalid eps"),
                        (lambda: nn.optim.SGD([], lr=0.1), "empty parameter list"),
                        (lambda: nn.optim.SGD([w, w], lr=0.1), "appears twice")]:
        with pytest.raises(ValueError, match=match):
            make()
    with pytest.raises(TypeError, match="leaf Tensors that require grad"):
        nn.optim.SGD([w * 2], lr=0.1)


# ---------------------------------------------------------------- state and resumption


@pytest.mark.parametrize(("name", "kwargs"), CONFIGS[1::2], ids=IDS[1::2])
def test_resuming_from_a_checkpoint_is_bit_identical(name, kwargs, tmp_path):
    params, optimizer = ours_for(name, kwargs, start())
    scheduler = StepLR(optimizer, step_size=2, gamma=0.5)
    for _ in range(3):
        step_ours(params, optimizer)
        scheduler.step()
    path = tmp_path / "run.npz"
    nn.save({"params": [p.numpy() for p in params], "optim": optimizer.state_dict(),
             "sched": scheduler.state_dict(), "step": 3}, path)
    for _ in range(4):
        step_ours(params, optimizer)
        scheduler.step()

    checkpoint = nn.load(path)
    resumed, again = ours_for(name, kwargs, checkpoint["params"])
    again.load_state_dict(checkpoint["optim"])
    sched = StepLR(again, step_size=99)
    sched.load_state_dict(checkpoint["sched"])
    assert checkpoint["step"] == 3
    for _ in range(4):
        step_ours(resumed, again)
        sched.step()
    for p, q in zip(params, resumed):
        np.testing.assert_array_equal(p.numpy(), q.numpy())
    assert sched.get_last_lr() == scheduler.get_last_lr()


def test_state_dict_layout_is_pytorchs_and_mismatches_are_refused():
    params, optimizer = ours_for("Adam", dict(lr=0.1), start())
    step_ours(params, optimizer)
    state = optimizer.state_dict()
    assert state["param_groups"][1]["params"] == [1] and state["param_groups"][1]["lr"] == 0.05
    assert sorted(state["state"][0]) == ["exp_avg", "exp_avg_sq", "step"]
    assert isinstance(state["state"][0]["exp_avg"], np.ndarray)
    state["state"][0]["exp_avg"][...] = 5  # a copy
    assert (optimizer.state[params[0]]["exp_avg"] != 5).all()
    other, smaller = ours_for("Adam", dict(lr=0.1), start())
    bad = optimizer.state_dict()
    bad["state"][1]["exp_avg"] = np.zeros(3)
    with pytest.raises(ValueError, match=r"state\[1\]\['exp_avg'\] has shape \(3,\).*\(4,\)"):
        smaller.load_state_dict(bad)
    assert smaller.state == {}
    single = nn.optim.Adam([nn.Parameter(np.ones(2))])
    with pytest.raises(ValueError, match=r"sizes \[1, 1\] do not fit .* sizes \[1\]"):
        single.load_state_dict(optimizer.state_dict())


# ---------------------------------------------------------------- schedulers


@pytest.mark.parametrize("make", [
    lambda optim, opt: optim.lr_scheduler.StepLR(opt, step_size=3, gamma=0.3),
    lambda optim, opt: optim.lr_scheduler.CosineAnnealingLR(opt, T_max=7, eta_min=0.01),
])
def test_schedulers_match_pytorch(make):
    torch = pytest.importorskip("torch")
    ours_opt = nn.optim.SGD([nn.Parameter(np.ones(1))], lr=0.5)
    theirs_opt = torch.optim.SGD([torch.ones(1, requires_grad=True)], lr=0.5)
    ours, theirs = make(nn.optim, ours_opt), make(torch.optim, theirs_opt)
    for _ in range(30):
        ours_opt.step()
        theirs_opt.step()
        ours.step()
        theirs.step()
        assert ours.get_last_lr() == pytest.approx(theirs.get_last_lr(), rel=1e-14, abs=1e-16)
        assert ours_opt.param_groups[0]["lr"] == ours.get_last_lr()[0]


def test_cosine_schedule_follows_the_closed_form_until_t_max():
    optimizer = nn.optim.SGD([nn.Parameter(np.ones(1))], lr=1.0)
    scheduler = CosineAnnealingLR(optimizer, T_max=10, eta_min=0.1)
    for epoch in range(1, 11):
        scheduler.step()
        closed = 0.1 + 0.9 * (1 + math.cos(math.pi * epoch / 10)) / 2
        assert optimizer.param_groups[0]["lr"] == pytest.approx(closed, rel=1e-12)
    with pytest.raises(ValueError, match="T_max"):
        CosineAnnealingLR(optimizer, T_max=0)
    with pytest.raises(ValueError, match="step_size"):
        StepLR(optimizer, step_size=0)


# ---------------------------------------------------------------- clipping


def with_grads(*grads):
    params = []
    for g in grads:
        p = nn.Parameter(np.zeros_like(g))
        p.grad = engine.tensor(np.array(g, dtype=np.float64))
        params.append(p)
    return params


@pytest.mark.parametrize("norm_type", [2.0, 1.0, 3.0, math.inf])
@pytest.mark.parametrize("max_norm", [0.5, 100.0])
def test_clip_grad_norm_matches_pytorch(norm_type, max_norm):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    grads = [rng.standard_normal((3, 4)), rng.standard_normal(5)]
    params = with_grads(*grads)
    theirs = [torch.zeros(g.shape, dtype=torch.float64, requires_grad=True) for g in grads]
    for q, g in zip(theirs, grads):
        q.grad = torch.tensor(g)
    total = nn.utils.clip_grad_norm_(params, max_norm, norm_type)
    expected = torch.nn.utils.clip_grad_norm_(theirs, max_norm, norm_type)
    assert isinstance(total, float) and total == pytest.approx(expected.item(), rel=1e-12)
    for p, q in zip(params, theirs):
        np.testing.assert_allclose(p.grad.numpy(), q.grad.numpy(), rtol=1e-12)


@pytest.mark.filterwarnings("ignore:invalid value encountered:RuntimeWarning")  # inf * 0
def test_clip_grad_norm_by_hand_and_non_finite():
    params = with_grads([3.0], [4.0])
    assert nn.utils.clip_grad_norm_(params, 1.0) == 5.0
    assert [p.grad.item() for p in params] == pytest.approx([0.6, 0.8], rel=1e-6)
    untouched = with_grads([0.3, 0.4])
    nn.utils.clip_grad_norm_(untouched[0], 1.0)
    assert untouched[0].grad.tolist() == [0.3, 0.4]
    assert nn.utils.clip_grad_norm_([nn.Parameter(np.ones(1))], 1.0) == 0.0
    for bad in (np.inf, np.nan):
        with pytest.raises(RuntimeError, match="total norm of order 2.0 of the gradients is"):
            nn.utils.clip_grad_norm_(with_grads([1.0, bad]), 1.0, error_if_nonfinite=True)
    infinite = with_grads([1.0, np.inf])
    assert nn.utils.clip_grad_norm_(infinite, 1.0) == math.inf  # scaled by 0, as PyTorch
    assert infinite[0].grad.tolist()[0] == 0.0


def test_clip_grad_value():
    params = with_grads([-3.0, 0.5, 2.0])
    nn.utils.clip_grad_value_(params, 1.0)
    assert params[0].grad.tolist() == [-1.0, 0.5, 1.0]
    with pytest.raises(ValueError, match="clip_value"):
        nn.utils.clip_grad_value_(params, -1.0)


# ---------------------------------------------------------------- devices


@pytest.mark.parametrize(("name", "kwargs"), CONFIGS[1::2], ids=IDS[1::2])
def test_optimizers_on_device_match_the_cpu(name, kwargs, device):
    cpu, cpu_opt = ours_for(name, kwargs, start())
    moved, moved_opt = ours_for(name, kwargs, start(), device=device)
    for _ in range(3):
        step_ours(cpu, cpu_opt)
        step_ours(moved, moved_opt)
    for p, q in zip(cpu, moved):
        assert q.device.startswith(device)
        np.testing.assert_allclose(q.numpy(), p.numpy(), rtol=1e-12)
    for p in moved:
        assert all(getattr(v, "shape", None) is None or engine.Tensor(v).device == p.device
                   for v in moved_opt.state[p].values())
    nn.utils.clip_grad_norm_(moved, 0.1)
    nn.utils.clip_grad_value_(moved, 0.01)
    moved_opt.load_state_dict(cpu_opt.state_dict())
    assert all(engine.Tensor(v).device == p.device for p in moved
               for v in moved_opt.state[p].values() if hasattr(v, "shape"))


def test_state_follows_its_parameter_after_module_to():
    model = nn.Linear(3, 2, rng=np.random.default_rng(0))
    optimizer = nn.optim.Adam(model.parameters())
    model(engine.ones(1, 3)).sum().backward()
    optimizer.step()
    model.double()
    model.zero_grad()
    model(engine.ones(1, 3, dtype="float64")).sum().backward()
    optimizer.step()
    assert optimizer.state[model.weight]["exp_avg"].dtype == np.float64
    assert model.weight.dtype == np.float64


def test_load_state_dict_rejects_another_optimizers_state_or_a_bad_index():
    model = nn.Linear(3, 2, rng=np.random.default_rng(0))
    adam = nn.optim.Adam(model.parameters())
    model(engine.ones(1, 3)).sum().backward()
    adam.step()
    before = adam.state_dict()
    sgd = nn.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    with pytest.raises(ValueError, match="the saved groups hold .* but Adam takes"):
        adam.load_state_dict(sgd.state_dict())
    bad = adam.state_dict()
    bad["state"] = {5: bad["state"][0]}
    with pytest.raises(ValueError, match=r"parameter 5, but this optimizer has parameters 0..1"):
        adam.load_state_dict(bad)
    after = adam.state_dict()
    np.testing.assert_array_equal(after["state"][0]["exp_avg"], before["state"][0]["exp_avg"])
