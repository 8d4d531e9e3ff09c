"""Bad input to optimizers and schedulers (issues 12 and 14): each raises before any state
changes, naming what was expected and what came; PyTorch's messages where PyTorch has one.

- parameters: a bare Tensor, nothing, a group without 'params', duplicates, non-tensors,
  non-leaves, sets, named and unnamed groups mixed;
- hyperparameters: every optimizer's constructor, groups, add_param_group, load_state_dict;
- gradients: wrong shape (no broadcasting), dtype or type, named by index or by name; a
  step with one bad gradient changes no parameter and creates no state;
- load_state_dict: checks everything before changing anything;
- schedulers' arguments."""

import math

import numpy as np
import pytest

import engine
import nn

ALL = ["SGD", "Adam", "AdamW", "Adagrad", "Adadelta", "Adamax", "NAdam", "RAdam", "RMSprop",
       "LBFGS"]


def param(*shape):
    return nn.Parameter(np.ones(shape))


# ---------------------------------------------------------------- parameters


def test_a_bare_tensor_is_refused_as_pytorch_refuses_it():
    w = param(3)
    with pytest.raises(TypeError, match="^params argument given to the optimizer should be an "
                       r"iterable of Tensors or dicts, but got a Tensor of shape \(3,\)"):
        nn.optim.SGD(w, lr=0.1)
    torch = pytest.importorskip("torch")
    with pytest.raises(TypeError, match="^params argument given to the optimizer should be"):
        torch.optim.SGD(torch.ones(3, requires_grad=True), lr=0.1)


@pytest.mark.parametrize("name", ALL)
def test_an_empty_parameter_list_is_refused(name):
    with pytest.raises(ValueError, match="^optimizer got an empty parameter list$"):
        getattr(nn.optim, name)([])


def test_a_group_without_params_is_refused_with_a_clear_message():
    with pytest.raises(KeyError, match="param group 0 has no 'params' entry.*got keys \\['lr'\\]"):
        nn.optim.Adam([{"lr": 0.1}])
    optimizer = nn.optim.Adam([param(2)])
    with pytest.raises(KeyError, match="param group 1 has no 'params' entry"):
        optimizer.add_param_group({"lr": 0.1})
    assert len(optimizer.param_groups) == 1


def test_duplicate_parameters_are_refused():
    w, v = param(1), param(1)
    with pytest.raises(ValueError, match="parameter 2 is parameter 0 again"):
        nn.optim.SGD([w, v, w], lr=0.1)
    with pytest.raises(ValueError, match="^some parameters appear in more than one parameter "
                                         "group$"):
        nn.optim.SGD([{"params": [w]}, {"params": [v, w]}], lr=0.1)
    optimizer = nn.optim.SGD([w], lr=0.1)
    with pytest.raises(ValueError, match="more than one parameter group"):
        optimizer.add_param_group({"params": [w]})
    assert len(optimizer.param_groups) == 1


def test_what_is_not_a_leaf_tensor_is_refused():
    w = param(2)
    with pytest.raises(ValueError, match="^can't optimize a non-leaf Tensor$"):
        nn.optim.SGD([w * 2], lr=0.1)
    with pytest.raises(TypeError, match="optimizer can only optimize Tensors, but one of the "
                                        "params is ndarray"):
        nn.optim.SGD([np.ones(2)], lr=0.1)
    with pytest.raises(TypeError, match="ordered collections"):
        nn.optim.SGD({w}, lr=0.1)
    with pytest.raises(TypeError, match="param_group must be a dict"):
        nn.optim.SGD([w], lr=0.1).add_param_group([param(1)])


def test_named_and_unnamed_groups_do_not_mix():
    with pytest.raises(ValueError, match="Some param names are missing"):
        nn.optim.SGD([("a", param(1)), param(1)], lr=0.1)
    optimizer = nn.optim.SGD([("a", param(1))], lr=0.1)
    with pytest.raises(ValueError, match="cannot add param group without names"):
        optimizer.add_param_group({"params": [param(1)]})
    assert len(optimizer.param_groups) == 1


# ---------------------------------------------------------------- hyperparameters

BAD = [  # (optimizer, arguments, PyTorch's message)
    *[(name, dict(lr=-1), "Invalid learning rate: -1") for name in ALL],
    *[(name, dict(lr=math.nan), "Invalid learning rate: nan") for name in ALL],
    *[(name, dict(eps=-1e-8), "Invalid epsilon value: -1e-08")
      for name in ["Adam", "AdamW", "Adagrad", "Adadelta", "Adamax", "NAdam", "RAdam",
                   "RMSprop"]],
    *[(name, dict(betas=(1.0, 0.9)), "Invalid beta parameter at index 0: 1.0")
      for name in ["Adam", "AdamW", "Adamax", "NAdam", "RAdam"]],
    *[(name, dict(betas=(0.9, -0.1)), "Invalid beta parameter at index 1: -0.1")
      for name in ["Adam", "AdamW", "Adamax", "NAdam", "RAdam"]],
    *[(name, dict(weight_decay=-0.1), "Invalid weight_decay value: -0.1")
      for name in ["SGD", "Adam", "AdamW", "Adagrad", "Adadelta", "Adamax", "NAdam", "RAdam",
                   "RMSprop"]],
    ("SGD", dict(momentum=-0.9), "Invalid momentum value: -0.9"),
    ("RMSprop", dict(momentum=-0.9), "Invalid momentum value: -0.9"),
    ("RMSprop", dict(alpha=-0.5), "Invalid alpha value: -0.5"),
    ("Adadelta", dict(rho=1.5), "Invalid rho value: 1.5"),
    ("Adagrad", dict(lr_decay=-1), "Invalid lr_decay value: -1"),
    ("Adagrad", dict(initial_accumulator_value=-1),
     "Invalid initial_accumulator_value value: -1"),
    ("NAdam", dict(momentum_decay=-1), "Invalid momentum_decay value: -1"),
    ("SGD", dict(nesterov=True), "Nesterov momentum requires a momentum and zero dampening"),
    ("SGD", dict(nesterov=True, momentum=0.9, dampening=0.1),
     "Nesterov momentum requires a momentum and zero dampening"),
]


@pytest.mark.parametrize(("name", "kwargs", "message"), BAD,
                         ids=[f"{n}-{k}" for n, k, _ in BAD])
def test_bad_hyperparameters_raise_pytorchs_error(name, kwargs, message):
    with pytest.raises(ValueError, match=f"^{message.replace('(', '.').replace(')', '.')}$"):
        getattr(nn.optim, name)([param(2)], **kwargs)
    if name == "SGD" and "lr" in kwargs and math.isnan(kwargs["lr"]):
        return  # PyTorch's SGD checks lr < 0, which a nan passes: ours refuses it
    torch = pytest.importorskip("torch")
    with pytest.raises(ValueError, match=f"^{message}$"):
        getattr(torch.optim, name)([torch.ones(2, requires_grad=True)], **kwargs)


@pytest.mark.parametrize(("name", "kwargs", "error", "match"), [
    ("Adam", dict(betas=(0.9,)), ValueError,
     r"betas must be a pair \(beta1, beta2\); got \(0.9,\)"),
    ("NAdam", dict(betas=0.9), ValueError, "betas must be a pair"),
    ("SGD", dict(lr="0.1"), TypeError, "lr must be a real number; got str '0.1'"),
    ("Adam", dict(eps=None), TypeError, "eps must be a real number; got NoneType"),
    ("Adam", dict(differentiable=True), ValueError, "differentiable=True is not supported"),
    ("LBFGS", dict(history_size=0), ValueError, "Invalid history_size value: 0"),
    ("LBFGS", dict(max_iter=0), ValueError, "Invalid max_iter value: 0"),
    ("LBFGS", dict(line_search_fn="armijo"), ValueError,
     "line_search_fn must be None or 'strong_wolfe'.*got 'armijo'"),
    ("LBFGS", dict(tolerance_grad=-1), ValueError, "Invalid tolerance_grad value: -1"),
])
def test_malformed_hyperparameters_are_named(name, kwargs, error, match):
    with pytest.raises(error, match=match):
        getattr(nn.optim, name)([param(2)], **kwargs)


def test_a_groups_own_hyperparameters_are_checked_and_named():
    with pytest.raises(ValueError, match="^param group 1: Invalid learning rate: -0.5$"):
        nn.optim.Adam([{"params": [param(1)]}, {"params": [param(1)], "lr": -0.5}])
    optimizer = nn.optim.Adam([param(1)])
    group = {"params": [param(1)], "betas": (0.9, 1.0)}
    with pytest.raises(ValueError, match="param group 1: Invalid beta parameter at index 1"):
        optimizer.add_param_group(group)
    assert len(optimizer.param_groups) == 1 and sorted(group) == ["betas", "params"]


def test_lbfgs_takes_one_group():
    with pytest.raises(ValueError, match="LBFGS doesn't support per-parameter options"):
        nn.optim.LBFGS([{"params": [param(1)]}, {"params": [param(1)]}])
    optimizer = nn.optim.LBFGS([param(1)])
    with pytest.raises(ValueError, match="LBFGS doesn't support per-parameter options"):
        optimizer.add_param_group({"params": [param(1)]})
    assert len(optimizer.param_groups) == 1


# ---------------------------------------------------------------- gradients


def test_sgd_refuses_a_gradient_it_would_broadcast():
    """Issue 14's case: a (1,) gradient over a (3,) parameter was broadcast silently."""
    w = param(3)
    w.grad = engine.tensor(np.array([0.5]))
    with pytest.raises(RuntimeError, match=r"SGD.step: the gradient of parameter 0 of param "
                                           r"group 0 has shape \(1,\), but the parameter has "
                                           r"shape \(3,\)"):
        nn.optim.SGD([w], lr=0.1).step()
    assert w.tolist() == [1.0, 1.0, 1.0]


def test_wrong_dtype_or_type_of_gradient_is_refused_and_named():
    a, b = param(2), param(2)
    b.grad = engine.tensor(np.ones(2, dtype=np.float32))
    with pytest.raises(RuntimeError, match="parameter 1 of param group 0 has dtype float32, "
                                           "but the parameter has dtype float64"):
        nn.optim.Adam([a, b]).step()
    b.grad = np.ones(2)
    with pytest.raises(RuntimeError, match="parameter 1 of param group 0 is a ndarray, not a "
                                           "Tensor"):
        nn.optim.Adam([a, b]).step()
    model = nn.Linear(2, 3, rng=np.random.default_rng(0))
    model.bias.grad = engine.zeros(2)
    with pytest.raises(RuntimeError, match=r"the gradient of parameter 'bias' has shape \(2,\), "
                                           r"but the parameter has shape \(3,\)"):
        nn.optim.RMSprop(model.named_parameters()).step()


@pytest.mark.gpu
@pytest.mark.skipif(not engine.cuda_available(), reason="needs CuPy and a CUDA GPU")
def test_a_gradient_on_another_device_is_refused():
    w = nn.Parameter(engine.tensor(np.ones(2), device="cuda"))
    w.grad = engine.tensor(np.ones(2))
    with pytest.raises(RuntimeError, match="is on cpu, but the parameter is on cuda"):
        nn.optim.SGD([w], lr=0.1).step()


@pytest.mark.parametrize("name", [n for n in ALL if n != "LBFGS"])
def test_a_step_with_one_bad_gradient_changes_no_parameter_and_creates_no_state(name):
    """Issue 14, item 5: Adam updated the first parameter and made state for all first."""
    a, b, c = param(2), param(3), param(2)
    optimizer = getattr(nn.optim, name)([{"params": [a, b]}, {"params": [c]}], lr=0.1)
    before = {k: dict(v) for k, v in optimizer.state.items()}  # Adagrad's, made up front
    versions = [p._version for p in (a, b, c)]
    a.grad, b.grad, c.grad = engine.ones(2, dtype="float64"), engine.ones(
        1, dtype="float64"), engine.ones(2, dtype="float64")
    with pytest.raises(RuntimeError, match=r"parameter 1 of param group 0 has shape \(1,\)"):
        optimizer.step()
    assert [p.tolist() for p in (a, b, c)] == [[1.0] * 2, [1.0] * 3, [1.0] * 2]
    assert [p._version for p in (a, b, c)] == versions
    assert set(optimizer.state) == set(before)
    for p, state in optimizer.state.items():
        assert state.keys() == before[p].keys() and state["step"] == 0
    b.grad = engine.ones(3, dtype="float64")  # fixed: the step goes through
    optimizer.step()
    assert all(p.tolist() != [1.0] * p.numel() for p in (a, b, c))


def test_lbfgs_refuses_a_bad_gradient_before_any_change():
    w = param(2)
    optimizer = nn.optim.LBFGS([w])

    def closure():
        w.grad = engine.ones(3, dtype="float64")
        return engine.tensor(1.0)

    with pytest.raises(RuntimeError, match=r"LBFGS.step: the gradient of parameter 0 has shape "
                                           r"\(3,\), but the parameter has shape \(2,\)"):
        optimizer.step(closure)
    assert w.tolist() == [1.0, 1.0] and dict(optimizer.state) == {}


# ---------------------------------------------------------------- load_state_dict


def trained(name="Adam", **kwargs):
    params = [param(2), param(3)]
    optimizer = getattr(nn.optim, name)([{"params": [params[0]]}, {"params": [params[1]]}],
                                        lr=0.1, **kwargs)
    for p in params:
        p.grad = engine.ones(p.numel(), dtype="float64")
    optimizer.step()
    return params, optimizer


def unchanged(optimizer, groups, state):
    assert [{k: v for k, v in g.items() if k != "params"} for g in optimizer.param_groups] == \
        groups
    assert {id(p): sorted(s) for p, s in optimizer.state.items()} == state


def snapshot(optimizer):
    return ([{k: v for k, v in g.items() if k != "params"} for g in optimizer.param_groups],
            {id(p): sorted(s) for p, s in optimizer.state.items()})


@pytest.mark.parametrize(("change", "match"), [
    (lambda sd: sd["param_groups"][1].update(lr=-1), "param group 1: Invalid learning rate: -1"),
    (lambda sd: sd["param_groups"][0].update(betas=(0.9, 1.5)),
     "param group 0: Invalid beta parameter at index 1: 1.5"),
    (lambda sd: sd["param_groups"][0].update(eps=-1), "Invalid epsilon value"),
    (lambda sd: sd["param_groups"][1].pop("betas"), r"param group 1 lacks \['betas'\]"),
    (lambda sd: sd["state"][1].update(exp_avg=np.zeros(2)),
     r"state\[1\]\['exp_avg'\] has shape \(2,\), but its parameter has shape \(3,\)"),
    (lambda sd: sd["state"][0].update(step=-2), r"state\[0\]\['step'\] must be a whole number"),
    (lambda sd: sd["state"].update({7: sd["state"][0]}), "state for parameter 7"),
    (lambda sd: sd["param_groups"].pop(), "different number of parameter groups"),
    (lambda sd: sd["param_groups"][0].update(params=[0, 1]), r"sizes \[2, 1\], which do not fit"),
])
def test_load_state_dict_checks_everything_before_changing_anything(change, match):
    params, optimizer = trained()
    saved = optimizer.state_dict()
    change(saved)
    other, target = trained()
    target.param_groups[0]["lr"] = 0.01
    groups, state = snapshot(target)
    with pytest.raises(ValueError, match=match):
        target.load_state_dict(saved)
    unchanged(target, groups, state)


def test_load_state_dict_refuses_another_optimizers_state():
    params, adam = trained("Adam")
    _, sgd = trained("SGD", momentum=0.9)
    groups, state = snapshot(adam)
    with pytest.raises(ValueError, match=r"param group 0 lacks \['betas', 'eps'\], which Adam "
                                         "takes"):
        adam.load_state_dict(sgd.state_dict())
    unchanged(adam, groups, state)
    with pytest.raises(ValueError, match="lacks .*'dampening'.* which SGD takes"):
        sgd.load_state_dict(adam.state_dict())


def test_load_state_dict_keeps_extra_group_keys_as_pytorch_does():
    """A user's own group key ("name") or a scheduler's ("initial_lr") travels along."""
    params, optimizer = trained()
    optimizer.param_groups[0]["name"] = "encoder"
    _, target = trained()
    target.load_state_dict(optimizer.state_dict())
    assert target.param_groups[0]["name"] == "encoder"


# ---------------------------------------------------------------- schedulers


@pytest.mark.parametrize(("make", "error", "match"), [
    (lambda s, o: s.StepLR(o, step_size=0), ValueError, "step_size must be a positive integer"),
    (lambda s, o: s.StepLR("adam", step_size=1), TypeError, "str is not an Optimizer"),
    (lambda s, o: s.CosineAnnealingLR(o, T_max=0), ValueError, "T_max must be a positive"),
    (lambda s, o: s.LinearLR(o, start_factor=0), ValueError, "greater than 0"),
    (lambda s, o: s.LinearLR(o, end_factor=1.5), ValueError, "between 0 and 1"),
    (lambda s, o: s.LambdaLR(o, [lambda e: 1.0, lambda e: 1.0]), ValueError,
     "Expected 1 lr_lambdas, but got 2"),
    (lambda s, o: s.LambdaLR(o, 0.5), TypeError, "lr_lambda must be callable"),
    (lambda s, o: s.OneCycleLR(o, max_lr=1.0), ValueError, "total_steps OR"),
    (lambda s, o: s.OneCycleLR(o, max_lr=1.0, total_steps=0), ValueError,
     "positive integer total_steps"),
    (lambda s, o: s.OneCycleLR(o, max_lr=1.0, total_steps=5, pct_start=1.5), ValueError,
     "pct_start"),
    (lambda s, o: s.OneCycleLR(o, max_lr=[1.0, 2.0], total_steps=5), ValueError,
     "max_lr must have the same length"),
    (lambda s, o: s.ReduceLROnPlateau(o, factor=1.0), ValueError, "Factor should be < 1.0"),
    (lambda s, o: s.ReduceLROnPlateau(o, mode="avg"), ValueError, "mode avg is unknown"),
    (lambda s, o: s.ReduceLROnPlateau(o, threshold_mode="x"), ValueError,
     "threshold mode x is unknown"),
    (lambda s, o: s.ReduceLROnPlateau(o, patience=-1), ValueError, "patience must be"),
])
def test_bad_scheduler_arguments_raise_before_any_change(make, error, match):
    optimizer = nn.optim.SGD([param(1)], lr=0.5, momentum=0.9)
    before = [dict(g) for g in optimizer.param_groups]
    with pytest.raises(error, match=match):
        make(nn.optim.lr_scheduler, optimizer)
    assert optimizer.param_groups == before


def test_one_cycle_refuses_to_step_past_its_end():
    optimizer = nn.optim.SGD([param(1)], lr=0.5, momentum=0.9)
    scheduler = nn.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=1.0, total_steps=3)
    for _ in range(3):
        scheduler.step()
    with pytest.raises(ValueError, match="Tried to step 4 times. The specified number of total "
                                         "steps is 3"):
        scheduler.step()
