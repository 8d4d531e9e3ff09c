"""Optimizers: PyTorch's trajectories for every optimizer and option, param groups,
add_param_group mid-run, state dicts (PyTorch's layout, both ways) and bit-identical
resumption through nn.save / nn.load, hand-computed steps, and the GPU path.

LBFGS is in test_optim_lbfgs.py, the schedules in test_optim_schedulers.py, bad inputs in
test_optim_errors.py, clipping in test_utils.py."""

import inspect
import math

import numpy as np
import pytest

import engine
import nn
from nn.optim.lr_scheduler import StepLR

CONFIGS = [
    ("SGD", dict(lr=0.1)),
    ("SGD", dict(lr=0.1, momentum=0.9)),
    ("SGD", dict(lr=0.1, momentum=0.9, dampening=0.3, weight_decay=0.1)),
    ("SGD", dict(lr=0.1, momentum=0.8, nesterov=True, weight_decay=0.05)),
    ("SGD", dict(lr=0.1, momentum=0.7, nesterov=True, maximize=True)),
    ("Adam", dict(lr=0.05)),
    ("Adam", dict(lr=0.05, betas=(0.8, 0.9), eps=1e-6, weight_decay=0.1)),
    ("Adam", dict(lr=0.05, amsgrad=True)),
    ("Adam", dict(lr=0.05, amsgrad=True, weight_decay=0.1, maximize=True)),
    ("Adam", dict(lr=0.05, weight_decay=0.2, decoupled_weight_decay=True)),
    ("AdamW", dict(lr=0.05)),
    ("AdamW", dict(lr=0.05, betas=(0.5, 0.99), weight_decay=0.3)),
    ("AdamW", dict(lr=0.05, amsgrad=True, maximize=True)),
    ("Adagrad", dict(lr=0.1)),
    ("Adagrad", dict(lr=0.1, lr_decay=0.05, weight_decay=0.1, initial_accumulator_value=0.3,
                     eps=1e-6)),
    ("Adagrad", dict(lr=0.1, maximize=True)),
    ("Adadelta", dict(lr=1.0)),
    ("Adadelta", dict(lr=0.5, rho=0.8, eps=1e-4, weight_decay=0.1)),
    ("Adadelta", dict(lr=1.0, maximize=True)),
    ("Adamax", dict(lr=0.05)),
    ("Adamax", dict(lr=0.05, betas=(0.7, 0.9), eps=1e-6, weight_decay=0.1, maximize=True)),
    ("NAdam", dict(lr=0.05)),
    ("NAdam", dict(lr=0.05, betas=(0.8, 0.95), momentum_decay=0.01, weight_decay=0.1)),
    ("NAdam", dict(lr=0.05, weight_decay=0.2, decoupled_weight_decay=True, maximize=True)),
    ("RAdam", dict(lr=0.05)),  # rho_t > 5 from step 6: both branches
    ("RAdam", dict(lr=0.05, betas=(0.8, 0.9), weight_decay=0.1)),
    ("RAdam", dict(lr=0.05, weight_decay=0.2, decoupled_weight_decay=True, maximize=True)),
    ("RMSprop", dict(lr=0.01)),
    ("RMSprop", dict(lr=0.01, alpha=0.9, weight_decay=0.1, momentum=0.5)),
    ("RMSprop", dict(lr=0.01, centered=True)),
    ("RMSprop", dict(lr=0.01, centered=True, momentum=0.9, eps=1e-4, maximize=True)),
]
IDS = [f"{name}-{'-'.join(map(str, kw))}" for name, kw in CONFIGS]
STEPS = 16


def gradient(w, maximize=False):
    """A fixed non-linear gradient field (that of a quartic bowl), the same on both sides;
    negated for ``maximize`` so that the run still descends."""
    g = 0.5 * w + w**3 - 0.2
    return -g if maximize else g


def start():
    rng = np.random.default_rng(0)
    return [rng.standard_normal((3, 4)), rng.standard_normal(4)]


def ours_for(name, kwargs, arrays, device="cpu"):
    params = [nn.Parameter(engine.tensor(a.copy(), device=device)) for a in arrays]
    groups = [{"params": [params[0]]}, {"params": [params[1]], "lr": kwargs["lr"] / 2}]
    return params, getattr(nn.optim, name)(groups, **kwargs)


def theirs_for(torch, name, kwargs, arrays):
    params = [torch.tensor(a, requires_grad=True) for a in arrays]
    groups = [{"params": [params[0]]}, {"params": [params[1]], "lr": kwargs["lr"] / 2}]
    return params, getattr(torch.optim, name)(groups, foreach=False, **kwargs)


def step_ours(params, optimizer, maximize=False):
    for p in params:
        p.grad = engine.tensor(gradient(p.numpy(), maximize), device=p.device)
    optimizer.step()


def step_theirs(torch, params, optimizer, maximize=False):
    for q in params:
        q.grad = torch.tensor(gradient(q.detach().numpy(), maximize))
    optimizer.step()


def assert_close(ours, theirs, rtol=1e-13, atol=1e-15):
    for p, q in zip(ours, theirs):
        np.testing.assert_allclose(p.numpy(), q.detach().numpy(), rtol=rtol, atol=atol)


@pytest.mark.parametrize(("name", "kwargs"), CONFIGS, ids=IDS)
def test_trajectory_matches_pytorch(name, kwargs):
    torch = pytest.importorskip("torch")
    maximize = kwargs.get("maximize", False)
    params, optimizer = ours_for(name, kwargs, start())
    theirs, reference = theirs_for(torch, name, kwargs, start())
    for _ in range(STEPS):
        step_ours(params, optimizer, maximize)
        step_theirs(torch, theirs, reference, maximize)
        assert_close(params, theirs)
    assert not np.allclose(params[0].numpy(), start()[0])  # it moved


@pytest.mark.parametrize(("name", "kwargs"), [CONFIGS[i] for i in (7, 13, 22, 24, 30)],
                         ids=[IDS[i] for i in (7, 13, 22, 24, 30)])
def test_float32_trajectory_follows_pytorch(name, kwargs):
    """Parameters, gradients and state in float32 (NAdam's mu_product in the scalar dtype)."""
    torch = pytest.importorskip("torch")
    maximize = kwargs.get("maximize", False)
    arrays = [a.astype(np.float32) for a in start()]
    params, optimizer = ours_for(name, kwargs, arrays)
    theirs, reference = theirs_for(torch, name, kwargs, arrays)
    for _ in range(STEPS):
        step_ours(params, optimizer, maximize)
        step_theirs(torch, theirs, reference, maximize)
        assert_close(params, theirs, rtol=2e-6, atol=2e-7)  # float32 rounding
    for p in params:
        assert p.dtype == np.float32
        assert all(v.dtype == np.float32 for v in optimizer.state[p].values()
                   if hasattr(v, "dtype"))


@pytest.mark.parametrize(("name", "kwargs"), [CONFIGS[i] for i in (1, 7, 14, 17, 23, 26, 30)],
                         ids=[IDS[i] for i in (1, 7, 14, 17, 23, 26, 30)])
def test_add_param_group_mid_run_matches_pytorch(name, kwargs):
    torch = pytest.importorskip("torch")
    maximize = kwargs.get("maximize", False)
    first, extra = start()
    params = [nn.Parameter(first.copy())]
    optimizer = getattr(nn.optim, name)(params, **kwargs)
    theirs = [torch.tensor(first, requires_grad=True)]
    reference = getattr(torch.optim, name)(theirs, foreach=False, **kwargs)
    for step in range(10):
        if step == 4:  # a second group, with its own lr
            params.append(nn.Parameter(extra.copy()))
            optimizer.add_param_group({"params": params[-1], "lr": kwargs["lr"] * 0.3})
            theirs.append(torch.tensor(extra, requires_grad=True))
            reference.add_param_group({"params": theirs[-1], "lr": kwargs["lr"] * 0.3})
            assert optimizer.param_groups[1]["lr"] == reference.param_groups[1]["lr"]
        step_ours(params, optimizer, maximize)
        step_theirs(torch, theirs, reference, maximize)
        assert_close(params, theirs)


@pytest.mark.parametrize("name", ["SGD", "Adam", "AdamW", "Adagrad", "Adadelta", "Adamax",
                                  "NAdam", "RAdam", "RMSprop", "LBFGS", "lr_scheduler.StepLR",
                                  "lr_scheduler.MultiStepLR", "lr_scheduler.ExponentialLR",
                                  "lr_scheduler.CosineAnnealingLR", "lr_scheduler.LambdaLR",
                                  "lr_scheduler.LinearLR", "lr_scheduler.OneCycleLR",
                                  "lr_scheduler.ReduceLROnPlateau"])
def test_signatures_are_pytorchs(name):
    """Names, order, kinds (positional or keyword-only) and defaults of every argument."""
    torch = pytest.importorskip("torch")

    def signature(module):
        cls = module
        for part in name.split("."):
            cls = getattr(cls, part)
        return [(p.name, p.kind, p.default) for p in inspect.signature(cls).parameters.values()]

    assert signature(nn.optim) == signature(torch.optim)


def test_parameters_without_gradient_are_skipped_and_zero_grad_clears():
    a, b = nn.Parameter(np.ones(2)), nn.Parameter(np.ones(2))
    optimizer = nn.optim.Adam([a, b])
    a.grad = engine.tensor(np.ones(2))
    optimizer.step()
    assert b.tolist() == [1.0, 1.0] and b not in optimizer.state
    assert [len(s) for s in optimizer.state.values()] == [3]  # optimizer.state.values()
    optimizer.zero_grad(set_to_none=False)
    assert a.grad.tolist() == [0.0, 0.0]
    optimizer.zero_grad()
    assert a.grad is None


def test_plain_sgd_keeps_no_state_and_step_bumps_the_version():
    w = nn.Parameter(np.ones(3))
    optimizer = nn.optim.SGD([w], lr=0.1)
    w.grad = engine.tensor(np.ones(3))
    before = w._version
    optimizer.step()
    assert w._version > before and dict(optimizer.state) == {}
    assert optimizer.state_dict()["state"] == {}


def test_two_optimizers_with_different_rates_and_named_parameters():
    """chatbot's pattern: an encoder and a decoder optimizer with different rates."""
    encoder, decoder = nn.Linear(3, 3, rng=np.random.default_rng(0)), nn.Linear(
        3, 2, rng=np.random.default_rng(1))
    enc_opt = nn.optim.Adam(encoder.named_parameters(), lr=1e-3)
    dec_opt = nn.optim.Adam(decoder.parameters(), lr=5e-3)
    assert enc_opt.param_groups[0]["param_names"] == ["weight", "bias"]
    assert [s for s in enc_opt.state.values()] == []  # iterated before any step
    decoder(encoder(engine.ones(4, 3))).sum().backward()
    w0, v0 = encoder.weight.numpy().copy(), decoder.weight.numpy().copy()
    enc_opt.step()
    dec_opt.step()
    assert np.abs(encoder.weight.numpy() - w0).max() == pytest.approx(1e-3, rel=1e-4)
    assert np.abs(decoder.weight.numpy() - v0).max() == pytest.approx(5e-3, rel=1e-4)
    state = enc_opt.state_dict()
    assert state["param_groups"][0]["param_names"] == ["weight", "bias"]
    for s in enc_opt.state.values():  # the chatbot's loop over optimizer.state
        for k, v in s.items():
            assert k in ("step", "exp_avg", "exp_avg_sq") and not isinstance(v, engine.Tensor)


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


def test_repr_lists_the_groups():
    optimizer = nn.optim.SGD([nn.Parameter(np.ones(1))], lr=0.5, momentum=0.9)
    assert repr(optimizer).splitlines()[:3] == ["SGD (", "Parameter Group 0",
                                                "    dampening: 0"]
    assert "    lr: 0.5" in repr(optimizer)


# ---------------------------------------------------------------- by hand


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


def test_adagrad_adadelta_adamax_first_steps_by_hand():
    g = 2.0
    w = nn.Parameter(np.array([1.0]))
    w.grad = engine.tensor(np.array([g]))
    nn.optim.Adagrad([w], lr=0.1, initial_accumulator_value=1.0).step()
    assert w.item() == pytest.approx(1.0 - 0.1 * g / (math.sqrt(1.0 + g * g) + 1e-10))
    w = nn.Parameter(np.array([1.0]))
    w.grad = engine.tensor(np.array([g]))
    nn.optim.Adadelta([w], lr=1.0, rho=0.9, eps=1e-6).step()
    delta = math.sqrt(1e-6) / math.sqrt(0.1 * g * g + 1e-6) * g
    assert w.item() == pytest.approx(1.0 - delta, rel=1e-12)
    w = nn.Parameter(np.array([1.0]))
    w.grad = engine.tensor(np.array([g]))
    nn.optim.Adamax([w], lr=0.1).step()  # m = 0.1 g, u = |g| + eps: a first step of lr
    assert w.item() == pytest.approx(1.0 - 0.1 * (0.1 * g) / 0.1 / (g + 1e-8), rel=1e-12)


def test_adamw_decays_the_weight_not_the_gradient():
    w = nn.Parameter(np.array([2.0]))
    w.grad = engine.tensor(np.array([0.0]))
    nn.optim.AdamW([w], lr=0.1, weight_decay=0.5).step()
    assert w.item() == pytest.approx(2.0 * (1 - 0.1 * 0.5))  # the zero gradient moves nothing


def test_maximize_climbs():
    for name in ["SGD", "Adam", "Adagrad", "RMSprop", "NAdam", "RAdam", "Adamax", "Adadelta"]:
        w = nn.Parameter(np.array([0.0]))
        w.grad = engine.tensor(np.array([1.0]))
        getattr(nn.optim, name)([w], lr=0.1, maximize=True).step()
        assert w.item() > 0, name


# ---------------------------------------------------------------- state and resumption


@pytest.mark.parametrize(("name", "kwargs"), CONFIGS, ids=IDS)
def test_resuming_from_a_checkpoint_is_bit_identical(name, kwargs, tmp_path):
    maximize = kwargs.get("maximize", False)
    params, optimizer = ours_for(name, kwargs, start())
    scheduler = StepLR(optimizer, step_size=2, gamma=0.5)
    for _ in range(3):
        step_ours(params, optimizer, maximize)
        scheduler.step()
    path = tmp_path / "run.npz"
    nn.save({"params": [p.numpy() for p in params], "optim": optimizer.state_dict(),
             "sched": scheduler.state_dict(), "step": 3}, path)
    for _ in range(4):
        step_ours(params, optimizer, maximize)
        scheduler.step()

    checkpoint = nn.load(path)
    resumed, again = ours_for(name, kwargs, checkpoint["params"])
    sched = StepLR(again, step_size=99)
    again.load_state_dict(checkpoint["optim"])
    sched.load_state_dict(checkpoint["sched"])
    assert checkpoint["step"] == 3
    for _ in range(4):
        step_ours(resumed, again, maximize)
        sched.step()
    for p, q in zip(params, resumed):
        np.testing.assert_array_equal(p.numpy(), q.numpy())
    assert sched.get_last_lr() == scheduler.get_last_lr()


@pytest.mark.parametrize(("name", "kwargs"), CONFIGS, ids=IDS)
def test_state_dict_has_pytorchs_keys_and_loads_pytorchs(name, kwargs):
    """Our state dict names what PyTorch's names; PyTorch's (tensors as NumPy arrays, as
    ``loopgrad.load`` gives them) loads into ours and both runs continue together."""
    torch = pytest.importorskip("torch")
    maximize = kwargs.get("maximize", False)
    params, optimizer = ours_for(name, kwargs, start())
    theirs, reference = theirs_for(torch, name, kwargs, start())
    for _ in range(3):
        step_ours(params, optimizer, maximize)
        step_theirs(torch, theirs, reference, maximize)
    ours, expected = optimizer.state_dict(), reference.state_dict()
    assert [sorted(g) for g in ours["param_groups"]] == [
        sorted(g) for g in expected["param_groups"]]
    assert {k: sorted(v) for k, v in ours["state"].items()} == {
        k: sorted(v) for k, v in expected["state"].items()}
    for k, state in expected["state"].items():
        for key, value in state.items():
            np.testing.assert_allclose(np.asarray(ours["state"][k][key], dtype=np.float64),
                                       value.double().numpy(), rtol=1e-13)

    as_numpy = {"state": {k: {key: v.numpy() for key, v in s.items()}
                          for k, s in expected["state"].items()},
                "param_groups": expected["param_groups"]}
    fresh = [nn.Parameter(q.detach().numpy().copy()) for q in theirs]
    again = getattr(nn.optim, name)([{"params": [fresh[0]]}, {"params": [fresh[1]]}], **kwargs)
    again.load_state_dict(as_numpy)
    assert again.param_groups[1]["lr"] == kwargs["lr"] / 2
    for _ in range(5):
        step_ours(fresh, again, maximize)
        step_theirs(torch, theirs, reference, maximize)
        assert_close(fresh, theirs)


def test_state_dict_layout_and_mismatches_are_refused():
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
    with pytest.raises(ValueError, match="different number of parameter groups"):
        single.load_state_dict(optimizer.state_dict())


def test_an_older_state_dict_without_pytorchs_switches_loads():
    """Groups saved before ``maximize``, ``amsgrad``... existed take them from the defaults,
    as PyTorch's ``__setstate__`` does."""
    params, optimizer = ours_for("Adam", dict(lr=0.1), start())
    step_ours(params, optimizer)
    state = optimizer.state_dict()
    for group in state["param_groups"]:
        for key in ("amsgrad", "maximize", "foreach", "capturable", "differentiable", "fused",
                    "decoupled_weight_decay"):
            del group[key]
    resumed, again = ours_for("Adam", dict(lr=0.1), start())
    again.load_state_dict(state)
    assert again.param_groups[0]["amsgrad"] is False and again.param_groups[1]["lr"] == 0.05


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
        assert all(getattr(v, "shape", None) in (None, ()) or engine.Tensor(v).device == p.device
                   for v in moved_opt.state[p].values())
    nn.utils.clip_grad_norm_(moved, 0.1)
    nn.utils.clip_grad_value_(moved, 0.01)
    moved_opt.load_state_dict(cpu_opt.state_dict())
    assert all(engine.Tensor(v).device == p.device for p in moved
               for v in moved_opt.state[p].values() if getattr(v, "shape", ()) != ())


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
