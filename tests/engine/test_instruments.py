"""Instruments for looking inside: tensor and module hooks, anomaly mode, the graph as DOT
text, a picture or a tree, and the Jacobian."""

import re
import shutil

import numpy as np
import pytest

import engine
import nn
from engine import detect_anomaly, jacobian, tensor, to_dot, to_text


def leaf(values):
    return tensor(np.asarray(values, dtype=np.float64), requires_grad=True)


# ---------------------------------------------------------------- tensor hooks


def test_a_hook_sees_the_summed_gradient_and_may_replace_it():
    x = leaf([1.0, 2.0])
    h = x * 3
    seen = []
    h.register_hook(lambda g: seen.append(g.numpy().copy()))
    handle = h.register_hook(lambda g: g * 0.5)  # replaces what flows on to x
    (h * h + h).sum().backward()  # h is used twice: the hook sees the sum of both paths
    np.testing.assert_allclose(seen[0], 2 * 3 * x.numpy() + 1)
    np.testing.assert_allclose(x.grad.numpy(), 0.5 * (2 * 3 * x.numpy() + 1) * 3)
    handle.remove()
    x.grad = None
    h = x * 3
    h.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [3.0, 3.0])


def test_a_leaf_hook_runs_before_the_gradient_is_stored():
    x = leaf([1.0, -1.0])
    x.register_hook(lambda g: g.clamp(min=0))
    (x * 2).sum().backward()
    assert x.grad.tolist() == [2.0, 2.0]
    (x * -2).sum().backward()  # accumulates the clamped gradient: zeros
    assert x.grad.tolist() == [2.0, 2.0]


def test_retain_grad_keeps_what_the_hooks_made():
    x = leaf([1.0, 2.0])
    h = x * 2
    h.retain_grad()
    h.register_hook(lambda g: g * 10)  # registered after retain_grad, still runs before it
    assert h.retains_grad and not x.retains_grad
    h.sum().backward()
    assert h.grad.tolist() == [10.0, 10.0] and x.grad.tolist() == [20.0, 20.0]


def test_hooks_run_for_autograd_grad_but_fill_no_grad():
    x = leaf([1.0, 2.0])
    h = x * 2
    h.retain_grad()
    h.register_hook(lambda g: g + 1)
    (gx,) = engine.grad(h.sum(), x)
    assert gx.tolist() == [4.0, 4.0] and h.grad is None and x.grad is None


def test_hook_errors():
    with pytest.raises(RuntimeError, match="doesn't require gradient"):
        tensor([1.0]).register_hook(print)
    x = leaf([1.0, 2.0])
    x.register_hook(lambda g: g.sum())
    with pytest.raises(RuntimeError, match=r"returned a gradient of shape \(\); expected \(2,\)"):
        (x * 1).sum().backward()


def test_hooks_match_pytorch():
    torch = pytest.importorskip("torch")
    results = []
    for lib in (engine, torch):
        x = lib.tensor(np.array([0.5, -1.5, 2.0]), requires_grad=True)
        h = x.tanh() * 3
        h.register_hook(lambda g: g * g)
        h.retain_grad()
        (h * x).sum().backward()
        results.append((x.grad.numpy().copy(), h.grad.numpy().copy()))
    for ours, theirs in zip(*results):
        np.testing.assert_allclose(ours, theirs, rtol=1e-12)


# ---------------------------------------------------------------- module hooks


def test_forward_hooks_see_and_may_replace_arguments_and_outputs():
    layer = nn.Linear(2, 3, rng=0)
    calls = []
    pre = layer.register_forward_pre_hook(lambda module, args: (args[0] * 0,))
    post = layer.register_forward_hook(
        lambda module, args, output: calls.append((module, args[0].tolist(), output.shape)))
    out = layer(engine.ones(4, 2))
    assert calls == [(layer, [[0.0, 0.0]] * 4, (4, 3))]
    np.testing.assert_allclose(out.numpy(), np.tile(layer.bias.numpy(), (4, 1)))
    replace = layer.register_forward_hook(lambda module, args, output: output * 0)
    assert (layer(engine.ones(1, 2)).numpy() == 0).all()
    for handle in (pre, post, replace):
        handle.remove()
    np.testing.assert_allclose(layer(engine.zeros(1, 2)).numpy(), layer.bias.numpy()[None])
    assert len(calls) == 2  # the removed hook saw nothing more


def test_forward_hooks_with_kwargs_and_prepend():
    order = []
    layer = nn.Identity()
    layer.register_forward_pre_hook(lambda m, args: order.append("second"))
    layer.register_forward_pre_hook(lambda m, args: order.append("first"), prepend=True)
    layer.register_forward_hook(lambda m, args, kwargs, out: order.append(sorted(kwargs)),
                                with_kwargs=True)
    layer(engine.ones(1))
    assert order == ["first", "second", []]


# ---------------------------------------------------------------- anomaly mode


def test_anomaly_mode_names_the_op_its_inputs_and_the_line_that_made_the_nan():
    x = tensor([1.0, -1.0])
    with detect_anomaly(), np.errstate(invalid="ignore"):
        with pytest.raises(RuntimeError) as error:
            x.sqrt()  # the line named in the report
    message = str(error.value)
    assert re.search(r"Sqrt made NaN in its output \(inputs: \(2,\) float32\)", message)
    assert "test_instruments.py" in message and "x.sqrt()" in message


def test_anomaly_mode_checks_backward_too():
    x = leaf([0.0, 1.0])
    with detect_anomaly(), np.errstate(divide="ignore"):
        y = (x * x).sqrt()  # forward finite; d sqrt / d a at 0 is inf
        with pytest.raises(RuntimeError, match=r"Sqrt made inf in its backward.*y = \(x \* x\)"):
            y.sum().backward()


def test_anomaly_mode_can_let_infs_through_and_is_off_by_default():
    scores = tensor([0.0, -np.inf])  # an attention mask of -inf: infs on purpose
    with detect_anomaly(check_inf=False):
        (scores + 1).softmax(dim=0)
    assert not engine.is_anomaly_enabled()
    with np.errstate(invalid="ignore"):
        assert np.isnan(tensor([-1.0]).sqrt().item())  # off: NumPy's answer, no error


# ---------------------------------------------------------------- the graph


def lstm_step():
    cell = nn.Linear(3, 8, rng=0)
    x = engine.ones(2, 3)
    h = cell(x).tanh()
    return cell, (h * h + h).sum()


def test_to_dot_draws_each_node_once_with_its_shape_and_the_parameters_by_name():
    cell, loss = lstm_step()
    dot = to_dot(loss, params=cell.named_parameters())
    boxes = re.findall(r'shape=box.*label="(\w+)\\n', dot)
    assert sorted(boxes) == sorted(["Affine", "Tanh", "Mul", "Add", "Sum"])
    assert re.search(r'label="weight\\n\(8, 3\) float32"', dot) and "bias" in dot
    assert 'label="constant\\n(2, 3) float32"' in dot  # x needs no gradient
    tanh = re.search(r'n(\d+) \[shape=box[^]]*label="Tanh', dot).group(1)
    assert len(re.findall(rf"n{tanh} -> ", dot)) == 3  # h feeds Mul twice and Add once
    assert dot.count("peripheries=2") == 1  # the tensor drawn


def test_the_tree_for_a_terminal():
    x = leaf([1.0, 2.0])
    h = x.tanh()
    text = to_text(h * h, params={"x": x})
    assert text.splitlines() == ["Mul (2,) float64", "├─ Tanh (2,) float64",
                                 "│  └─ x (2,) float64", "└─ (again: Tanh)"]


def test_a_freed_graph_cannot_be_drawn():
    _, loss = lstm_step()
    loss.backward()
    with pytest.raises(RuntimeError, match="freed by backward.*retain_graph=True"):
        to_dot(loss)
    _, loss = lstm_step()
    loss.backward(retain_graph=True)
    assert "digraph" in to_dot(loss)


def test_draw_graph_renders_with_dot_or_writes_the_dot_text_and_says_how(tmp_path, monkeypatch):
    _, loss = lstm_step()
    if shutil.which("dot"):
        path = engine.draw_graph(loss, tmp_path / "graph.svg")
        assert open(path).read().lstrip().startswith(("<?xml", "<svg"))
    monkeypatch.setattr(shutil, "which", lambda name: None)
    with pytest.warns(UserWarning, match=r"dot -Tpng .*graph\.dot -o .*graph\.png"):
        path = engine.draw_graph(loss, tmp_path / "graph.png")
    assert path.endswith("graph.dot") and open(path).read() == to_dot(loss)


# ---------------------------------------------------------------- the Jacobian


def test_jacobian_against_finite_differences_and_pytorch():
    rng = np.random.default_rng(0)
    w = rng.standard_normal((3, 4))
    x = rng.standard_normal(4)

    def f(x):
        return (engine.tensor(w) @ x).tanh()

    ours = jacobian(f, tensor(x)).numpy()
    assert ours.shape == (3, 4)
    eps = 1e-6
    numeric = np.stack([(f(tensor(x + eps * e)).numpy() - f(tensor(x - eps * e)).numpy())
                        / (2 * eps) for e in np.eye(4)], axis=1)
    np.testing.assert_allclose(ours, numeric, rtol=1e-6, atol=1e-9)
    torch = pytest.importorskip("torch")
    theirs = torch.autograd.functional.jacobian(
        lambda x: (torch.tensor(w) @ x).tanh(), torch.tensor(x)).numpy()
    np.testing.assert_allclose(ours, theirs, rtol=1e-12)


def test_jacobian_of_several_inputs_and_an_unused_one():
    a, b = tensor([1.0, 2.0]), tensor([3.0])
    ja, jb = jacobian(lambda a, b: a * 2, (a, b))
    assert ja.tolist() == [[2.0, 0.0], [0.0, 2.0]] and jb.tolist() == [[0.0], [0.0]]
    with pytest.raises(RuntimeError, match="does not depend on input 1"):
        jacobian(lambda a, b: a * 2, (a, b), strict=True)
