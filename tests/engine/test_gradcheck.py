"""gradcheck itself: it passes correct gradients, catches a wrong one with a readable
report, checks a seeded random direction, and refuses float32."""

import numpy as np
import pytest

import engine
from engine import Function, gradcheck, tensor


def leaf(values):
    return tensor(np.asarray(values, dtype=np.float64), requires_grad=True)


class WrongSquare(Function):
    """x**2 with the gradient 3x: a deliberate mistake for gradcheck to find."""

    def forward(self, a):
        self.a = a
        return a * a

    def backward(self, grad):
        return grad * 3 * self.a


@pytest.mark.parametrize("mode", ["full", "random"])
def test_passes_correct_gradients(mode):
    x, w = leaf(np.linspace(-1, 1, 6).reshape(2, 3)), leaf([[0.5], [-1.0], [2.0]])
    assert gradcheck(lambda x, w: (x @ w).tanh() * x.sum(), [x, w], mode=mode)


def test_constant_inputs_are_left_alone():
    x, c = leaf([1.0, 2.0]), tensor(np.array([3.0, 4.0]))
    assert gradcheck(lambda x, c: x * c, [x, c])
    assert c.grad is None


def test_fails_on_a_wrong_backward_and_names_the_worst_element():
    x, y = leaf([0.01, -100.0, 0.02]), leaf([1.0, 1.0, 1.0])
    with pytest.raises(AssertionError) as error:
        gradcheck(lambda x, y: WrongSquare.apply(x) + y, [x, y])
    message = str(error.value)
    assert "input 0 (shape (3,))" in message
    assert "worst element (1,)" in message  # |3x - 2x| is by far largest at x = -100
    assert "analytic" in message and "numeric" in message


def test_random_mode_fails_too_and_names_its_seed():
    x = leaf([0.5, -2.0, 1.0])
    with pytest.raises(AssertionError, match="random direction \\(seed 7\\)"):
        gradcheck(WrongSquare.apply, [x], mode="random", seed=7)


def test_random_mode_is_seeded():
    x = leaf([0.5, -2.0, 1.0])

    def directional_report(seed):
        with pytest.raises(AssertionError) as error:
            gradcheck(WrongSquare.apply, [x], mode="random", seed=seed)
        return str(error.value)

    assert directional_report(3) == directional_report(3)
    assert directional_report(3) != directional_report(4)


def test_inputs_and_their_grads_are_restored():
    x = leaf([0.5, -2.0])
    x.grad = tensor(np.array([10.0, 20.0]))
    before = x.numpy().copy()
    gradcheck(lambda t: t.exp(), [x])
    np.testing.assert_array_equal(x.numpy(), before)
    np.testing.assert_array_equal(x.grad.numpy(), [10.0, 20.0])


def test_rejects_float32():
    with pytest.raises(TypeError, match="input 0 is float32.*float64"):
        gradcheck(lambda t: t * 2, [tensor([1.0], requires_grad=True)])


def test_rejects_bad_arguments():
    with pytest.raises(ValueError, match="no input requires grad"):
        gradcheck(lambda t: t * 2, [tensor(np.ones(2))])
    with pytest.raises(ValueError, match="mode must be 'full' or 'random'"):
        gradcheck(lambda t: t * 2, [leaf([1.0])], mode="sometimes")


def test_finds_a_broken_engine_op(monkeypatch):
    monkeypatch.setattr(engine.ops.elementwise.Tanh, "backward", lambda self, grad: grad)
    with pytest.raises(AssertionError, match="gradcheck failed for input 0"):
        gradcheck(engine.tanh, [leaf([0.5, 1.0])])
