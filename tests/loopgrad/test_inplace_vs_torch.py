"""In-place programs written once against torch's API, run on loopgrad and on PyTorch: the
same gradients, or both refusing (RuntimeError) where PyTorch refuses."""

import numpy as np
import pytest

import loopgrad

torch = pytest.importorskip("torch")


def accumulate_loss(lib, w):
    loss = 0
    for i in range(1, 4):
        loss += (w * i).tanh().sum()
    return loss


def fill_a_buffer(lib, w):
    outputs = lib.zeros(3, 2, dtype=lib.float64)
    for i in range(3):
        outputs[i] = w * (i + 1)  # seq2seq tutorials fill encoder_outputs like this
    return (outputs.exp() * outputs).sum()


def assign_into_the_graph(lib, w):
    y = w * 2
    y[0] = w[1] ** 2
    return y.sigmoid().sum()


def change_a_saved_input(lib, w):
    y = w * 3
    z = y * y  # Mul saves y
    y.add_(1)
    return z.sum()


def change_a_saved_output(lib, w):
    y = w.tanh()
    with lib.no_grad():
        y.mul_(2)
    return y.sum()


def change_unsaved(lib, w):
    y = w * 3
    z = y + 1  # Add saves nothing
    with lib.no_grad():
        y.zero_()
    return z.sum()


def step_between_forward_and_backward(lib, w):
    loss = (w * w).sum()
    with lib.no_grad():
        w.sub_(0.1 * w)  # what optimizer.step() does to a parameter
    return loss


def in_place_on_a_leaf(lib, w):
    w.add_(1)
    return w.sum()


def data_is_not_tracked(lib, w):
    y = w * w
    w.data.mul_(2)
    return y.sum()


def masked_fill_in_the_graph(lib, w):
    y = w * 1.5
    y.masked_fill_(y > 1, 0.0)
    return (y * y).sum()


def clamp_in_place(lib, w):
    y = w * 4
    y.clamp_(-1.0, 1.0)
    return (y * w).sum()


PROGRAMS = [accumulate_loss, fill_a_buffer, assign_into_the_graph, change_a_saved_input,
            change_a_saved_output, change_unsaved, step_between_forward_and_backward,
            in_place_on_a_leaf, data_is_not_tracked, masked_fill_in_the_graph, clamp_in_place]


def run(lib, program):
    w = lib.tensor(np.array([0.3, -0.7]), requires_grad=True)
    try:
        program(lib, w).backward()
    except RuntimeError:
        return "refused", w.detach().numpy().copy()
    return w.grad.numpy().copy(), w.detach().numpy().copy()


@pytest.mark.parametrize("program", PROGRAMS, ids=[p.__name__ for p in PROGRAMS])
def test_the_same_gradient_or_the_same_refusal(program):
    ours, theirs = run(loopgrad, program), run(torch, program)
    if isinstance(theirs[0], str) or isinstance(ours[0], str):
        assert ours[0] == theirs[0] == "refused"
    else:
        np.testing.assert_allclose(ours[0], theirs[0], rtol=1e-12)
    np.testing.assert_allclose(ours[1], theirs[1], rtol=1e-12)  # refused before any change
