"""Graph semantics: diamonds, reuse, accumulation, retain_graph, grad modes, deep
chains, freeing the graph, leaves and non-leaves, detach, multi-output nodes."""

import sys
import weakref

import numpy as np
import pytest

import engine
from engine import Function, tensor


def leaf(values, dtype="float64"):
    return tensor(np.asarray(values, dtype=dtype), requires_grad=True)


# ---------------------------------------------------------------- paths that meet


def test_diamond_sums_both_paths():
    x = leaf([0.3, -1.2])
    a = x.tanh()  # used by three consumers
    (a * a + a).sum().backward()
    t = np.tanh(x.numpy())
    np.testing.assert_allclose(x.grad.numpy(), (2 * t + 1) * (1 - t * t))


def test_same_tensor_on_both_sides():
    x = leaf([1.5, -2.0])
    (x * x + x / x).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), 2 * x.numpy())


def test_paths_of_different_depths():
    x = leaf([[0.2, -0.4], [0.9, 0.1]])

    def graph(x):
        a = x * 2
        deep = a.exp().tanh().sigmoid().log()
        b = a[0] + deep.sum(axis=0) * a.mean()  # `a` reaches the output four ways
        return (b @ a).softmax() * x.max()

    assert engine.gradcheck(graph, [x])


def test_repeated_indices_accumulate():
    x = leaf([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]])
    x[[0, 2, 0, 0]].sum().backward()  # row 0 picked three times
    np.testing.assert_array_equal(x.grad.numpy(), [[3, 3], [0, 0], [1, 1]])
    y = leaf([1.0, 2.0, 3.0])
    (y[np.array([1, 1])] * tensor(np.array([2.0, 5.0]))).sum().backward()
    np.testing.assert_array_equal(y.grad.numpy(), [0, 7, 0])


def test_broadcast_gradients_take_each_input_shape():
    x, y = leaf(np.ones((3, 1))), leaf(np.arange(4.0))
    (x * y).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), np.full((3, 1), 6.0))
    np.testing.assert_allclose(y.grad.numpy(), np.full(4, 3.0))


# ---------------------------------------------------------------- several backward calls


def test_grads_accumulate_across_calls():
    x = leaf([1.0, 2.0])
    (x * 2).sum().backward()
    (x * 3).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [5.0, 5.0])


def test_retain_graph_allows_a_second_backward():
    x = leaf([1.0, 2.0])
    y = (x * x).sum()
    y.backward(retain_graph=True)
    y.backward()
    np.testing.assert_allclose(x.grad.numpy(), 4 * x.numpy())


def test_second_backward_on_a_freed_graph_raises():
    x = leaf([1.0, 2.0])
    y = (x * x).sum()
    y.backward()
    with pytest.raises(RuntimeError, match="freed.*retain_graph=True"):
        y.backward()


def test_backward_through_a_freed_piece_raises():
    x = leaf([1.0, 2.0, 3.0, 4.0])
    shared = x.exp()
    shared.sum().backward()  # frees the Exp node
    with pytest.raises(RuntimeError, match="freed"):
        (shared * 2).sum().backward()
    a, b = engine.split(x, 2)
    a.sum().backward()  # frees the Split node that b comes from
    with pytest.raises(RuntimeError, match="freed"):
        b.sum().backward()


def test_graph_is_freed_after_backward():
    x = leaf([0.5, -0.5])
    hidden = x.exp()
    out = hidden.relu().sum()
    relu_node = out._ctx.parents[0]._ctx
    saved = weakref.ref(relu_node.positive)  # an array only the ReLU node holds
    intermediate = weakref.ref(hidden)
    del hidden, relu_node
    assert saved() is not None and intermediate() is not None
    out.backward()
    assert saved() is None and intermediate() is None


def test_retain_graph_keeps_the_graph():
    x = leaf([0.5, -0.5])
    hidden = x.exp()
    out = hidden.sum()
    intermediate = weakref.ref(hidden)
    del hidden
    out.backward(retain_graph=True)
    assert intermediate() is not None


# ---------------------------------------------------------------- deep graphs


def test_100k_op_chain_without_recursion():
    x = leaf([0.5, -2.0], dtype="float32")
    y = x
    for _ in range(100_000):
        y = -y
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [1.0, 1.0])
    assert sys.getrecursionlimit() < 100_000


def test_dropping_a_deep_graph_unused():
    x = leaf([1.0], dtype="float32")
    first = -x
    probe = weakref.ref(first)
    y = first
    for _ in range(100_000):
        y = -y
    del first, y  # freed by reference counting, one link at a time, without a crash
    assert probe() is None


# ---------------------------------------------------------------- grad modes


def test_no_grad_as_context_manager():
    x = leaf([1.0])
    with engine.no_grad():
        y = x * 2
        assert not engine.is_grad_enabled()
    assert engine.is_grad_enabled()
    assert not y.requires_grad and y.is_leaf


def test_no_grad_as_decorator():
    @engine.no_grad()
    def double(t):
        return t * 2

    x = leaf([1.0])
    assert not double(x).requires_grad
    assert (x * 2).requires_grad


def test_enable_grad_inside_no_grad():
    x = leaf([1.0])
    with engine.no_grad():
        with engine.enable_grad():
            y = x * 2
        z = x * 2
    assert y.requires_grad and not z.requires_grad


def test_grad_mode_restored_after_an_error():
    with pytest.raises(KeyError):
        with engine.no_grad():
            raise KeyError("inside")
    assert engine.is_grad_enabled()


def test_ops_on_tensors_without_grad_record_nothing():
    y = tensor([1.0, 2.0]) * tensor([3.0, 4.0])
    assert not y.requires_grad and y.is_leaf
    with pytest.raises(RuntimeError, match="does not require grad"):
        y.sum().backward()


# ---------------------------------------------------------------- leaves and non-leaves


def test_non_leaf_grad_is_none_unless_retained():
    x = leaf([1.0, 2.0])
    y, z = x * 3, x * 4
    z.retain_grad()
    (y * z).sum().backward()
    assert x.is_leaf and not y.is_leaf
    assert y.grad is None
    np.testing.assert_allclose(z.grad.numpy(), y.numpy())
    np.testing.assert_allclose(x.grad.numpy(), 24 * x.numpy())


def test_backward_on_a_leaf():
    x = leaf([1.0, 2.0])
    x.backward(tensor(np.array([3.0, 4.0])))
    np.testing.assert_allclose(x.grad.numpy(), [3.0, 4.0])


def test_backward_needs_grad_for_a_non_scalar():
    y = leaf([1.0, 2.0]) * 2
    with pytest.raises(RuntimeError, match="only for scalar outputs"):
        y.backward()
    with pytest.raises(ValueError, match=r"shape \(3,\).*\(2,\)"):
        y.backward(tensor(np.ones(3)))


def test_detach_cuts_the_graph_and_shares_memory():
    x = leaf([1.0, 2.0])
    y = x * 2
    d = y.detach()
    assert d.is_leaf and not d.requires_grad and np.shares_memory(d.numpy(), y.numpy())
    (y * d).sum().backward()  # d is a constant here
    np.testing.assert_allclose(x.grad.numpy(), 2 * d.numpy())


# ---------------------------------------------------------------- multi-output nodes


def test_split_pieces_without_gradient_count_as_zero():
    x = leaf([1.0, 2.0, 3.0, 4.0, 5.0])
    a, b, c = engine.split(x, 2)
    (a * 2).sum().backward(retain_graph=True)
    np.testing.assert_allclose(x.grad.numpy(), [2, 2, 0, 0, 0])
    (c * 10).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [2, 2, 0, 0, 10])


def test_retain_grad_on_one_piece():
    x = leaf([1.0, 2.0, 3.0])
    a, b = engine.split(x, [1, 2])
    b.retain_grad()
    (b * b).sum().backward()
    np.testing.assert_allclose(b.grad.numpy(), [4.0, 6.0])
    np.testing.assert_allclose(x.grad.numpy(), [0.0, 4.0, 6.0])


# ---------------------------------------------------------------- custom Functions


class HalfGrad(Function):
    """A custom op that gives no gradient to its second input (returns None)."""

    def forward(self, a, b):
        return a + b

    def backward(self, grad):
        return grad, None


def test_custom_function_may_return_none_for_an_input():
    a, b = leaf([1.0]), leaf([2.0])
    HalfGrad.apply(a, b * 3).sum().backward()
    np.testing.assert_allclose(a.grad.numpy(), [1.0])
    assert b.grad is None


class WrongShape(Function):
    def forward(self, a):
        return a * 2

    def backward(self, grad):
        return grad[:1]


def test_backward_of_the_wrong_shape_is_named():
    x = leaf([1.0, 2.0, 3.0])
    with pytest.raises(AssertionError, match=r"WrongShape.*\(1,\).*\(3,\)"):
        WrongShape.apply(x).sum().backward()


def test_pow_exponent_gradient_is_zero_where_the_base_is_zero():
    # d(a^b)/db = a^b log(a) -> 0 as a -> 0 for b >= 0; PyTorch gives 0 there too
    a = engine.tensor(np.array([0.0, 1.0, 2.0]), requires_grad=True)
    b = engine.tensor(np.array([2.0, 2.0, 3.0]), requires_grad=True)
    (a**b).sum().backward()
    np.testing.assert_allclose(b.grad.numpy(), [0.0, 0.0, 8.0 * np.log(2.0)])
    np.testing.assert_allclose(a.grad.numpy(), [0.0, 2.0, 12.0])


def test_a_list_operand_takes_the_tensors_float_dtype_and_an_empty_pick_works():
    x = engine.tensor(np.ones((3, 2)))  # float64
    assert (x[0] + [1.0, 2.0]).dtype == np.float64
    assert x[[]].shape == (0, 2)
