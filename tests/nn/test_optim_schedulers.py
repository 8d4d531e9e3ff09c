"""Learning-rate schedules against PyTorch's, step by step over many epochs (two param
groups with different rates), the momentum / beta1 that OneCycleLR drives, the
ReduceLROnPlateau decisions on fixed metric sequences, and state dict round trips."""

import math

import numpy as np
import pytest

import nn
from nn.optim.lr_scheduler import CosineAnnealingLR, StepLR

EPOCHS = 40

SCHEDULES = {
    "StepLR": lambda s, opt: s.StepLR(opt, step_size=3, gamma=0.3),
    "MultiStepLR": lambda s, opt: s.MultiStepLR(opt, milestones=[2, 5, 5, 11], gamma=0.5),
    "ExponentialLR": lambda s, opt: s.ExponentialLR(opt, gamma=0.93),
    "CosineAnnealingLR": lambda s, opt: s.CosineAnnealingLR(opt, T_max=7, eta_min=0.01),
    "CosineAnnealingLR-0": lambda s, opt: s.CosineAnnealingLR(opt, T_max=10),
    "LambdaLR": lambda s, opt: s.LambdaLR(opt, lambda epoch: 0.95**epoch / (1 + epoch % 3)),
    "LambdaLR-per-group": lambda s, opt: s.LambdaLR(
        opt, [lambda epoch: 1 / (1 + epoch), lambda epoch: 0.9**epoch]),
    "LinearLR": lambda s, opt: s.LinearLR(opt, start_factor=0.25, end_factor=0.9,
                                          total_iters=13),
    "LinearLR-defaults": lambda s, opt: s.LinearLR(opt),
    "OneCycleLR": lambda s, opt: s.OneCycleLR(opt, max_lr=[1.0, 0.3], total_steps=EPOCHS),
    "OneCycleLR-linear-three-phase": lambda s, opt: s.OneCycleLR(
        opt, max_lr=0.8, epochs=4, steps_per_epoch=10, pct_start=0.25,
        anneal_strategy="linear", three_phase=True, div_factor=10.0, final_div_factor=100.0),
}


def optimizers(torch, name="SGD", **kwargs):
    """Ours and PyTorch's, with two groups (lr 0.5 and 0.2)."""
    ours = getattr(nn.optim, name)([{"params": [nn.Parameter(np.ones(1))]},
                                    {"params": [nn.Parameter(np.ones(1))], "lr": 0.2}],
                                   lr=0.5, **kwargs)
    theirs = getattr(torch.optim, name)([{"params": [torch.ones(1, requires_grad=True)]},
                                         {"params": [torch.ones(1, requires_grad=True)],
                                          "lr": 0.2}], lr=0.5, **kwargs)
    return ours, theirs


@pytest.mark.parametrize("name", list(SCHEDULES))
@pytest.mark.parametrize("optimizer", ["SGD", "Adam"])
def test_schedules_match_pytorch(name, optimizer):
    torch = pytest.importorskip("torch")
    kwargs = dict(momentum=0.9) if optimizer == "SGD" else {}
    ours_opt, theirs_opt = optimizers(torch, optimizer, **kwargs)
    make = SCHEDULES[name]
    ours, theirs = make(nn.optim.lr_scheduler, ours_opt), make(torch.optim.lr_scheduler,
                                                                theirs_opt)
    assert ours.last_epoch == theirs.last_epoch == 0
    assert ours.base_lrs == pytest.approx(theirs.base_lrs, rel=1e-15)
    assert ours.get_last_lr() == pytest.approx(theirs.get_last_lr(), rel=1e-15)
    for _ in range(EPOCHS):
        ours_opt.step()
        theirs_opt.step()
        ours.step()
        theirs.step()
        assert ours.get_last_lr() == pytest.approx(theirs.get_last_lr(), rel=1e-12, abs=1e-16)
        for group, reference in zip(ours_opt.param_groups, theirs_opt.param_groups):
            assert group["lr"] == pytest.approx(reference["lr"], rel=1e-12, abs=1e-16)
            key = "momentum" if optimizer == "SGD" else "betas"
            assert group[key] == pytest.approx(reference[key], rel=1e-12)
    assert ours.last_epoch == theirs.last_epoch == EPOCHS


METRICS = [5.0, 4.0, 4.0, 3.9999, 4.1, 3.0, 3.0, 3.0, 3.0, 3.0, 2.0, 2.5, 2.5, 2.5, 2.5,
           2.5, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0] + [0.9] * 14  # 0.9 for longer than patience=10

PLATEAUS = [
    dict(),
    dict(patience=1, factor=0.5),
    dict(patience=0, factor=0.3, cooldown=2),
    dict(patience=2, threshold=0.1, threshold_mode="abs", min_lr=0.05),
    dict(mode="max", patience=1, factor=0.5, min_lr=[0.1, 0.01]),
    dict(mode="max", patience=2, threshold=0.2, threshold_mode="rel", eps=0.1),
]


@pytest.mark.parametrize("kwargs", PLATEAUS, ids=[str(k) for k in PLATEAUS])
def test_reduce_lr_on_plateau_matches_pytorch(kwargs):
    torch = pytest.importorskip("torch")
    ours_opt, theirs_opt = optimizers(torch)
    ours = nn.optim.lr_scheduler.ReduceLROnPlateau(ours_opt, **kwargs)
    theirs = torch.optim.lr_scheduler.ReduceLROnPlateau(theirs_opt, **kwargs)
    metrics = METRICS if kwargs.get("mode") != "max" else [-m for m in METRICS]
    changed = 0
    for metric in metrics:
        before = ours.get_last_lr()
        ours.step(metric)
        theirs.step(torch.tensor(metric, dtype=torch.float64))
        assert ours.get_last_lr() == theirs.get_last_lr()
        assert (ours.best, ours.num_bad_epochs, ours.cooldown_counter) == (
            theirs.best, theirs.num_bad_epochs, theirs.cooldown_counter)
        changed += ours.get_last_lr() != before
    assert changed > 0 or kwargs.get("eps") == 0.1


def test_cosine_schedule_follows_the_closed_form_until_t_max():
    optimizer = nn.optim.SGD([nn.Parameter(np.ones(1))], lr=1.0)
    scheduler = CosineAnnealingLR(optimizer, T_max=10, eta_min=0.1)
    for epoch in range(1, 11):
        scheduler.step()
        closed = 0.1 + 0.9 * (1 + math.cos(math.pi * epoch / 10)) / 2
        assert optimizer.param_groups[0]["lr"] == pytest.approx(closed, rel=1e-12)


@pytest.mark.parametrize("name", list(SCHEDULES))
def test_scheduler_state_dict_round_trip(name):
    """Stop after 17 epochs, rebuild optimizer and scheduler from their state dicts,
    continue: the same lrs as the run that went on."""
    def fresh():
        params = [nn.Parameter(np.ones(1)), nn.Parameter(np.ones(1))]
        return nn.optim.SGD([{"params": [params[0]]}, {"params": [params[1]], "lr": 0.2}],
                            lr=0.5, momentum=0.9)

    optimizer = fresh()
    scheduler = SCHEDULES[name](nn.optim.lr_scheduler, optimizer)
    for _ in range(17):
        optimizer.step()
        scheduler.step()
    saved_optimizer, saved = optimizer.state_dict(), scheduler.state_dict()
    again = fresh()
    resumed = SCHEDULES[name](nn.optim.lr_scheduler, again)
    again.load_state_dict(saved_optimizer)
    resumed.load_state_dict(saved)
    for _ in range(EPOCHS - 17):
        optimizer.step()
        again.step()
        scheduler.step()
        resumed.step()
        assert resumed.get_last_lr() == scheduler.get_last_lr()
        assert again.param_groups[0]["momentum"] == optimizer.param_groups[0]["momentum"]


def test_step_with_an_epoch_uses_the_closed_form_and_warns():
    torch = pytest.importorskip("torch")
    ours_opt, theirs_opt = optimizers(torch)
    ours = StepLR(ours_opt, step_size=3, gamma=0.5)
    theirs = torch.optim.lr_scheduler.StepLR(theirs_opt, step_size=3, gamma=0.5)
    with pytest.warns(UserWarning, match="epoch parameter"):
        ours.step(7)
    with pytest.warns(UserWarning):
        theirs.step(7)
    assert ours.get_last_lr() == theirs.get_last_lr() == [0.125, 0.05]


def test_resuming_with_last_epoch_needs_initial_lr():
    optimizer = nn.optim.SGD([nn.Parameter(np.ones(1))], lr=0.5)
    with pytest.raises(KeyError, match="initial_lr"):
        StepLR(optimizer, step_size=2, last_epoch=4)
    optimizer.param_groups[0]["initial_lr"] = 1.0
    scheduler = CosineAnnealingLR(optimizer, T_max=8, last_epoch=3)  # the closed form at 4
    assert scheduler.last_epoch == 4
    assert scheduler.get_last_lr()[0] == pytest.approx((1 + math.cos(math.pi * 4 / 8)) / 2)
