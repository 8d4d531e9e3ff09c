"""In-place ops with PyTorch's rules: values written into the tensor's own array, version
counters that make backward refuse changed saved values, the Assign node that carries the
gradient to assigned values, and the errors raised before anything changes."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import engine
import nn
from engine import no_grad, tensor


def leaf(values):
    return tensor(np.asarray(values, dtype=np.float64), requires_grad=True)


# ---------------------------------------------------------------- gradients through assignment


@given(rows=st.integers(2, 5), cols=st.integers(1, 4), seed=st.integers(0, 99))
def test_item_assignment_passes_gradients_to_the_values(rows, cols, seed):
    rng = np.random.default_rng(seed)
    a, b = leaf(rng.standard_normal(cols)), leaf(rng.standard_normal((rows - 1, cols)))

    def fn(a, b):
        buffer = engine.zeros(rows, cols, dtype="float64")  # a leaf that needs no grad
        buffer[0] = a.tanh()
        buffer[1:] = b * a  # a broadcast value
        buffer[rows - 1, 0] = 3.0  # a constant over part of it: no gradient there
        return (buffer * buffer).sum(dim=1)

    assert engine.gradcheck(fn, [a, b])


def test_assignment_into_a_tensor_in_the_graph_keeps_the_rest():
    x, v = leaf([0.1, 0.2, -0.3]), leaf([0.5])

    def fn(x, v):
        y = x * 2
        y[1:2] = v * v  # y's element 1 is now v^2; elements 0 and 2 still 2x
        return y.tanh()

    assert engine.gradcheck(fn, [x, v])


def test_augmented_operators_accumulate_like_out_of_place():
    w = leaf([0.5, -1.5])
    loss = 0
    for i in range(1, 4):
        loss += (w * i).tanh().sum()  # int + Tensor first, then Tensor += Tensor in place
    loss.backward()
    expected = sum(i * (1 - np.tanh(i * w.numpy()) ** 2) for i in range(1, 4))
    np.testing.assert_allclose(w.grad.numpy(), expected)


def test_a_consumer_before_the_change_sees_the_old_value():
    a = leaf([1.0, 2.0])
    b = a * 3
    c = b + 1  # made before the change: its gradient reaches a through b's old value
    b.mul_(2)
    assert engine.gradcheck(lambda a: _before_and_after(a), [a])
    (c.sum() + b.sum()).backward()
    np.testing.assert_allclose(a.grad.numpy(), [9.0, 9.0])  # 3 through c, 6 through b


def _before_and_after(a):
    b = a * 3
    c = b.exp()  # saves its output, not b
    b.mul_(a)  # b = 3a * a
    b += c
    return b * c


def test_writes_through_views_reach_the_base_outside_the_graph():
    counts = engine.zeros(2, 3)
    counts[1][2] += 1  # x[i] is a view, as in PyTorch, so the write lands in counts
    counts[0][1] = 4
    counts[0].add_(1)
    assert counts.tolist() == [[1.0, 5.0, 1.0], [0.0, 0.0, 1.0]]


# ---------------------------------------------------------------- what backward refuses


def test_an_optimizer_step_between_forward_and_backward_is_refused():
    layer = nn.Linear(3, 2, rng=0)
    optimizer = nn.optim.SGD(layer.parameters(), lr=0.1)
    loss = (layer(engine.randn(4, 3, rng=1)) ** 2).sum()
    (layer.weight * 1).sum().backward()
    optimizer.step()  # changes the weight that loss's Affine (x W^T + b) saved
    with pytest.raises(RuntimeError, match="modified by an inplace operation.*Affine"):
        loss.backward()


@pytest.mark.parametrize("change", [
    lambda t: t.add_(1),
    lambda t: t.__setitem__(0, 5.0),
    lambda t: t.detach().mul_(2),  # detach shares the array and its version counter
    lambda t: t.T.zero_(),  # so does a view
])
def test_a_saved_output_changed_in_place_is_refused(change):
    x = leaf([0.5, 1.0])
    y = x.tanh()  # Tanh's backward reads its output
    with no_grad():
        change(y)
    with pytest.raises(RuntimeError, match="output 0 of Tanh.*changed after"):
        y.sum().backward()


def test_a_change_through_data_is_not_tracked_as_in_pytorch():
    x = leaf([0.5, 1.0])
    y = x * x
    x.data.mul_(2)  # .data is outside the graph and its changes are not counted
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), 2 * x.numpy())  # the new x: PyTorch's answer too


def test_ops_that_save_nothing_ignore_later_changes():
    x = leaf([1.0, 2.0])
    h = x * 2
    y = h + 1  # Add saves nothing
    with no_grad():
        h.zero_()
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [2.0, 2.0])


def test_a_view_used_after_its_base_changed_is_refused():
    a = leaf([1.0, 2.0])
    b = a * 2
    v = b[0:1]  # a view: its values now follow b's changes, its graph does not
    b.mul_(3)
    with pytest.raises(RuntimeError, match="view of it.*GetItem"):
        (v * 1).sum().backward()


# ---------------------------------------------------------------- errors before any change


def test_in_place_on_a_leaf_that_requires_grad_is_refused_and_changes_nothing():
    x = leaf([1.0, 2.0])
    for change in (lambda: x.add_(1), lambda: x.__setitem__(0, 9.0), lambda: x.__iadd__(1)):
        with pytest.raises(RuntimeError, match="leaf Variable that requires grad"):
            change()
        assert x.tolist() == [1.0, 2.0] and x._version == 0 and x.is_leaf
    with no_grad():
        x.add_(1)  # allowed there, as PyTorch
    assert x.tolist() == [2.0, 3.0] and x._version == 1


def test_in_place_on_a_view_in_the_graph_is_refused_and_changes_nothing():
    b = leaf([1.0, 2.0]) * 2
    view = b[0:1]
    with pytest.raises(NotImplementedError, match="view.*GetItem"):
        view.mul_(3)
    assert b.tolist() == [2.0, 4.0]


@pytest.mark.parametrize("change, error", [
    (lambda t: t.add_(tensor([[1.0, 2.0]] * 3)), r"output with shape \(2,\) doesn't match the "
                                                  r"broadcast shape \(3, 2\)"),
    (lambda t: t.copy_(tensor([[1.0, 2.0]] * 3)), r"source of shape \(3, 2\) cannot be broadcast"),
    (lambda t: t.add_(tensor([1.0, 2.0, 3.0])), r"could not be broadcast.*\(2,\) \(3,\)"),
])
def test_an_in_place_result_of_another_shape_is_refused(change, error):
    t = engine.zeros(2)
    with pytest.raises((RuntimeError, ValueError), match=error):
        change(t)
    assert t.tolist() == [0.0, 0.0] and t._version == 0


def test_a_float_result_into_an_integer_tensor_is_refused():
    counts = engine.zeros(3, dtype=engine.long)
    with pytest.raises(RuntimeError, match="can't be cast"):
        counts.add_(0.5)
    counts.add_(2)  # int into int is fine
    assert counts.tolist() == [2, 2, 2]


@pytest.mark.parametrize("dtype", ["float16", "float32", "float64"])
@pytest.mark.parametrize("method", ["add_", "sub_"])
def test_add_and_sub_with_alpha_outside_the_graph_are_the_composed_ops_bit_for_bit(
        method, dtype):
    """An optimizer's ``p.data.add_(g, alpha=-lr)`` skips the product's node, not its
    rounding: the same bits as ``p + g * alpha`` through the graph's ops, for a Tensor, an
    array or a number, with the number in the tensor's dtype."""
    rng = np.random.default_rng(0)
    p0, g0 = (rng.standard_normal((3, 4)).astype(dtype) for _ in range(2))
    combine = {"add_": engine.add, "sub_": engine.sub}[method]
    for other, alpha in ((tensor(g0), -0.1), (tensor(g0), 3), (g0, 0.7), (2.5, -0.3)):
        p = tensor(p0.copy())
        with no_grad():
            scaled = other * alpha if isinstance(other, float) else tensor(other) * alpha
            want = combine(tensor(p0), scaled).numpy()
        assert getattr(p, method)(other, alpha=alpha) is p
        np.testing.assert_array_equal(p.numpy(), want)
        assert p.dtype == want.dtype
