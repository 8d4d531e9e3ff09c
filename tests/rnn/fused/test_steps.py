"""rnn.fused.steps: the sigmoid-by-half helper, each sequence method taking only what it
reads (the CUDA wrappers take the same), and the step views of a padded batch."""

import ast
import inspect
import textwrap
import warnings

import numpy as np
import pytest

from rnn.cells import CELL_KINDS
from rnn.fused.cuda import CudaSteps
from rnn.fused.layout import batch_sizes
from rnn.fused.steps import ArraySteps, GateRows, sigmoid_from_half, step_views

STEPS = [f"{kind}_{pass_}" for kind in ("lstm", "gru", "rnn") for pass_ in ("forward",
                                                                          "backward")]


def test_sigmoid_from_half_is_the_sigmoid_and_never_overflows():
    a = np.array([-1000.0, -30.0, -1.0, 0.0, 2.0, 30.0, 1000.0])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        got = sigmoid_from_half(np.tanh(a / 2))
    with np.errstate(over="ignore"):  # exp(1000) is inf: the textbook form overflows
        want = 1 / (1 + np.exp(-a))
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-15)  # absolute near 0


@pytest.mark.parametrize("kind", ["lstm", "gru"])
def test_gate_rows_treat_each_gate_of_a_slab_by_its_activation(kind):
    """One pass over the whole (b, G*H) slab: sigmoid_from_half on the sigmoid gates' rows
    (tanh left on the others), and each gate's slope from its value."""
    record, hidden = CELL_KINDS[kind], 3
    rows = GateRows(np, record, hidden, np.float64)
    pre = np.random.default_rng(0).standard_normal((2, record.gates * hidden)) * 4
    halved = pre * np.repeat([0.5 if a == "sigmoid" else 1.0 for a in record.activations],
                             hidden)
    scale, shift = rows.activation(len(pre))
    assert scale.shape == shift.shape == pre.shape
    values = np.tanh(halved) * scale + shift
    slopes = rows.slopes(values, out=np.empty_like(values))
    for k, activation in enumerate(record.activations):
        block = slice(k * hidden, (k + 1) * hidden)
        a, y, slope = pre[:, block], values[:, block], slopes[:, block]
        if activation == "sigmoid":
            np.testing.assert_allclose(y, 1 / (1 + np.exp(-a)), rtol=1e-12)
            np.testing.assert_allclose(slope, np.exp(-a) / (1 + np.exp(-a)) ** 2, rtol=1e-9)
        else:
            np.testing.assert_allclose(y, np.tanh(a), rtol=1e-12)
            np.testing.assert_allclose(slope, 1 / np.cosh(a) ** 2, rtol=1e-9, atol=1e-15)


@pytest.mark.parametrize("name", STEPS)
def test_each_array_sequence_reads_every_argument_it_takes(name):
    """The sequence interface: keyword arguments, each one read in the method's body."""
    method = getattr(ArraySteps, name + "_sequence")
    parameters = inspect.signature(method).parameters
    assert all(p.kind is p.KEYWORD_ONLY for n, p in parameters.items() if n != "self")
    body = ast.parse(textwrap.dedent(inspect.getsource(method)))
    read = {node.id for node in ast.walk(body) if isinstance(node, ast.Name)}
    assert set(parameters) - {"self"} <= read


@pytest.mark.parametrize("name", STEPS)
def test_the_cuda_wrappers_take_the_array_steps_arguments(name):
    """A CUDA sequence takes the keywords of the arrays' sequence; a CUDA step those less
    the lengths, with the step (t, rows) and, optional, the product or the weights (and for
    backward the rows of the next step) instead."""
    def keywords(cls, method):
        return set(inspect.signature(getattr(cls, method)).parameters) - {"self"}

    sequence = keywords(ArraySteps, name + "_sequence")
    assert keywords(CudaSteps, name + "_sequence") == sequence
    weights = {"w_hh_t"} if name.endswith("forward") else {"w_hh"}
    optional = weights | ({"recurrent"} if name.endswith("forward") else {"next_rows"})
    step = inspect.signature(getattr(CudaSteps, name)).parameters
    assert set(step) - {"self"} == sequence - weights - {"lengths"} | {"t", "rows"} | optional
    assert all(step[n].default is not inspect.Parameter.empty for n in optional)


@pytest.mark.parametrize("reverse", [False, True])
def test_step_views_give_each_running_steps_rows_in_order(reverse):
    """Lengths (3, 3, 1, 0), sorted longest first: steps 0, 1, 2 run rows :3, :2, :2 (a
    finished row is never given), per-step arrays at step t, per-row arrays whole or cut
    to the same rows, None kept; backwards in time with ``reverse``."""
    lengths = np.array([3, 3, 1, 0], dtype=np.int32)
    sizes = batch_sizes(lengths, 4)
    assert sizes == [3, 2, 2, 0]
    per_step = np.arange(4 * 4 * 2).reshape(4, 4, 2)  # (T, B, 2)
    per_row = np.arange(4 * 5).reshape(4, 5)  # (B, 5)
    got = list(step_views(sizes, (per_step, None), (per_row,), reverse=reverse))
    order = [2, 1, 0] if reverse else [0, 1, 2]
    assert len(got) == 3
    for t, (step, nothing, rows) in zip(order, got):
        np.testing.assert_array_equal(step, per_step[t, :sizes[t]])
        np.testing.assert_array_equal(rows, per_row[:sizes[t]])
        assert nothing is None
        assert np.shares_memory(step, per_step) and np.shares_memory(rows, per_row)


def test_batch_sizes_of_a_full_batch_are_every_row():
    assert batch_sizes(np.array([5, 5], dtype=np.int32), 5) == [2] * 5
    assert batch_sizes(np.array([], dtype=np.int32), 3) == [0, 0, 0]
