"""rnn.fused.ops: the working slab the ops make of their input (the contract: pre_x is
consumed, and says so by its version), what backward declares it reads, a retained graph,
the Elman op's padded steps selected away."""

import numpy as np
import pytest

import engine
from engine import Tensor
from rnn.fused import KINDS, ops, sequence
from rnn.fused.layout import SequenceLayout
from tests.rnn.common import make_layer


@pytest.mark.parametrize("lengths, reverse", [(None, False), (None, True), ([3, 1, 2], False),
                                              ([3, 1, 2], True)])
def test_the_op_takes_its_projection_as_its_working_slab(lengths, reverse):
    """pre_x becomes the slab the gates are written over (in place when contiguous): in the
    working order, plus the bias, the sigmoid gates' columns halved; a strided one is
    copied instead."""
    rng = np.random.default_rng(0)
    layout = SequenceLayout(lengths, 3, 3, reverse)
    kind = KINDS["lstm"]  # i, f, g, o: columns 0-1, 2-3 and 6-7 halved (H = 2)
    halves = np.array([0.5, 0.5, 0.5, 0.5, 1, 1, 0.5, 0.5])
    pre_x, bias = rng.standard_normal((3, 3, 8)), rng.standard_normal(8)
    want = (layout.to_work(pre_x.copy()) + bias) * halves
    slab = ops._slab_over_pre_x(pre_x, layout, bias, ops.halves(kind, 2, pre_x))
    assert slab is pre_x
    np.testing.assert_array_equal(slab, want)
    strided = rng.standard_normal((3, 3, 16))[..., ::2]
    want = (layout.to_work(strided.copy()) + bias) * halves
    slab = ops._slab_over_pre_x(strided, layout, bias, ops.halves(kind, 2, strided))
    assert slab.flags.c_contiguous and not np.shares_memory(slab, strided)
    np.testing.assert_array_equal(slab, want)


def test_a_node_that_kept_the_consumed_projection_refuses_to_run_backward():
    """The contract made visible: the op writes its gates over pre_x, and pre_x's version
    says so, so a node that saved pre_x raises the engine's in-place error instead of
    computing its gradient from the gate values."""
    rng = np.random.default_rng(0)
    x = Tensor(rng.standard_normal((4, 2, 3)), requires_grad=True)
    w_ih, w_hh = (Tensor(rng.standard_normal(s), requires_grad=True) for s in ((8, 3), (8, 2)))
    pre_x = (x.reshape(8, 3) @ w_ih.T).reshape(4, 2, 8)
    kept = pre_x * pre_x  # Mul saves pre_x for its backward
    out, _, _ = sequence._sequence(KINDS["lstm"], x, [None, None], w_ih, w_hh, None, None,
                                   None, False, pre_x=pre_x)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        (kept.sum() + out.sum()).backward()


def test_the_ops_declare_what_backward_reads():
    """w_hh only: pre_x's memory is the op's own, h0 and the biases were copied forward."""
    assert ops.LSTMSequence.saved_inputs == (3,)
    assert ops.GRUSequence.saved_inputs == ops.RNNSequence.saved_inputs == (2,)


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_a_retained_graph_gives_the_same_gradients_twice(kind, kernel_way):
    """The ops reuse their input's memory (the projection) for their own buffers: a second
    backward through a retained graph must still see what the first one saw."""
    layer = make_layer(kind, 3, 4, bidirectional=True)
    x = engine.randn(5, 2, 3, rng=np.random.default_rng(1), dtype="float64")
    output, _ = layer(x, lengths=[5, 3])
    loss = (output * output).sum()
    loss.backward(retain_graph=True)
    first = [p.grad.numpy().copy() for p in layer.parameters()]
    loss.backward()
    for once, twice in zip(first, [p.grad.numpy() for p in layer.parameters()]):
        np.testing.assert_allclose(twice, 2 * once, rtol=1e-12, atol=1e-14)


def test_the_elman_op_selects_its_padded_steps_away(kernel_way):
    """Its projection goes straight into the state buffer: the padded steps are then set
    to zero by a select (no boolean-mask assignment, a host sync on a GPU), so even a NaN
    projection there gives zero outputs and finite gradients."""
    rng = np.random.default_rng(2)
    pre_x = rng.standard_normal((4, 3, 2))
    padded = np.arange(4)[:, None] >= np.array([4, 1, 2])
    pre_x[padded] = np.nan
    w_hh = Tensor(rng.standard_normal((2, 2)), requires_grad=True)
    h0 = Tensor(rng.standard_normal((3, 2)), requires_grad=True)
    zeros = engine.zeros(2, dtype="float64")
    out, h_n = ops.RNNSequence.apply(Tensor(pre_x, requires_grad=True), h0, w_hh, zeros, zeros,
                                     layout=SequenceLayout([4, 1, 2], 4, 3, True),
                                     kind=KINDS["rnn_tanh"])
    assert not out.numpy()[padded].any() and np.isfinite(out.numpy()).all()
    (out.sum() + h_n.sum()).backward()
    assert np.isfinite(w_hh.grad.numpy()).all() and np.isfinite(h0.grad.numpy()).all()


class NoMaskWrites(np.ndarray):
    """An array that refuses a boolean-mask assignment (on a GPU, ``a[mask] = v`` counts
    the mask's True values on the host first: a synchronisation per call)."""

    def __setitem__(self, index, value):
        if isinstance(index, np.ndarray) and index.dtype == bool:
            raise AssertionError("a boolean-mask assignment: a host sync on a GPU")
        super().__setitem__(index, value)


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_no_op_assigns_through_a_boolean_mask(kind, monkeypatch):
    real = ops._states
    monkeypatch.setattr(ops, "_states", lambda *a: real(*a).view(NoMaskWrites))
    layer = make_layer(kind, 2, 3, bidirectional=True)
    out, _ = layer(engine.randn(4, 3, 2, rng=0, dtype="float64"), lengths=[4, 1, 2])
    out.sum().backward()
    assert type(out.array) is np.ndarray


def test_forward_and_backward_run_with_their_arrays_device_current(monkeypatch):
    """cuda:N: CuPy launches on the current device, so each op makes its arrays' GPU
    current (here the CPU's no-op context, recorded)."""
    entered = []
    real = ops.backend.on_device_of

    def recording(array):
        entered.append(array.shape)
        return real(array)

    monkeypatch.setattr(ops.backend, "on_device_of", recording)
    out, h_n = make_layer("gru", 2, 3)(engine.randn(4, 3, 2, rng=0, dtype="float64"))
    out.sum().backward()
    assert entered == [(4, 3, 9), (4, 3, 3)]  # forward: pre_x; backward: d_out
