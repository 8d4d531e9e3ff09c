"""check_fused: on layers, cells and kinds; its weights drawn as the layers draw theirs, so
that float32 runs at H = 300 agree, while a wrong kernel at that size is still caught."""

import functools

import numpy as np
import pytest

import engine
import rnn
from engine import backend
from rnn import fused
from rnn.fused import sequence
from tests.rnn.fused.conftest import needs_compiler
from tests.rnn.fused.cuda_on_cpu import cpu_kernel


@pytest.mark.parametrize("layer", [
    lambda: rnn.LSTM(3, 4, num_layers=2, bidirectional=True, rng=np.random.default_rng(0)),
    lambda: rnn.GRU(3, 4, num_layers=2, dtype="float64", rng=np.random.default_rng(0)),
    lambda: rnn.RNN(3, 4, nonlinearity="relu", bias=False, bidirectional=True,
                    rng=np.random.default_rng(0)),
    lambda: rnn.LSTMCell(3, 4, rng=np.random.default_rng(0)),
    lambda: rnn.RNNCell(3, 4, nonlinearity="relu", rng=np.random.default_rng(0)),
])
def test_check_fused_on_layers_and_cells(layer, kernel_way):
    errors = fused.check_fused(layer(), seq_len=5, batch_size=3)
    assert errors and all(e < 1e-4 for e in errors.values())


def test_check_fused_reports_a_mismatch(monkeypatch):
    right = sequence._direction

    def wrong(kind, inputs, state, weights, lengths, reverse, pre_x=None):
        return right(kind, inputs, state, weights, lengths, False, pre_x)  # reverse ignored

    monkeypatch.setattr(sequence, "_direction", wrong)
    with pytest.raises(AssertionError, match="8 mismatches; worst: gru reverse=True: "):
        fused.check_fused("gru")


def test_check_fused_refuses_what_it_cannot_check():
    with pytest.raises(ValueError, match="kind must be one of"):
        fused.check_fused("lstmx")
    with pytest.raises(ValueError, match="runs lstm_projected_cell, which has no fused op"):
        fused.check_fused(rnn.LSTM(3, 4, proj_size=2))
    with pytest.raises(TypeError, match="expected an RNN/LSTM/GRU layer"):
        fused.check_fused(3)


def test_the_weights_are_drawn_as_the_layers_draw_them(monkeypatch):
    """U(-1/sqrt(H), 1/sqrt(H)), the layers' init, not randn * 0.5: at H = 300 those made
    the recurrence chaotic (spectral radius about 8.7)."""
    drawn = []

    def recording(step, inputs, state, weights, *rest):
        drawn.append([w.numpy() for w in weights])
        return sequence._direction(rnn.cells.kind_of(step), inputs, state, tuple(weights),
                                   *rest)

    monkeypatch.setattr(fused.check, "run_direction", recording)
    fused.check_fused("lstm", hidden_size=300, input_size=3, seq_len=2, batch_size=2)
    for weights in drawn:
        assert all(np.abs(w).max() <= 300 ** -0.5 for w in weights)
        assert np.abs(weights[1]).max() > 0.9 * 300 ** -0.5  # uniform, not tiny
        assert np.abs(np.linalg.eigvals(weights[1][600:900])).max() < 1.5  # the g block


@pytest.mark.parametrize("kind", sorted(fused.KINDS))
def test_float32_at_h_300_agrees_with_the_composed_path(kind):
    """The issue's size (T, B, H) = (20, 33, 300) in float32, on the CPU's array way: with
    randn * 0.5 weights the errors were 17 to 8000 times the tolerance."""
    errors = fused.check_fused(kind, dtype="float32", seq_len=20, batch_size=33,
                               hidden_size=300)
    assert max(errors.values()) > 0  # float32 on two paths: not bit-identical, but close


@needs_compiler
@pytest.mark.parametrize("kind", ["lstm", "gru"])
def test_h_300_catches_a_kernel_that_skips_the_units_past_one_block(kind):
    """H = 300 > 256 threads per block: each thread of the "sequence" kernels must take a
    second unit. The same check passes with the source as written and fails with a kernel
    whose threads take one unit each."""
    small = dict(dtype="float32", seq_len=4, batch_size=3, input_size=2, hidden_size=300)
    with fused.use_way("sequence", cpu_kernel):
        fused.check_fused(kind, **small)

    def one_unit_per_thread(source, name):
        return cpu_kernel(source.replace("unit += blockDim.x", "unit += hidden"), name)

    with fused.use_way("sequence", functools.partial(one_unit_per_thread)):
        with pytest.raises(AssertionError, match="mismatches"):
            fused.check_fused(kind, **small)


@pytest.mark.gpu
@pytest.mark.skipif(not engine.cuda_available(),
                    reason=backend.cuda_unavailable_reason() or "needs a CUDA GPU")
@pytest.mark.parametrize("way", fused.WAYS)
@pytest.mark.parametrize("kind", sorted(fused.KINDS))
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_each_way_on_the_gpu_agrees_at_h_300(way, kind, dtype):
    """H = 300: more units than a block has threads, in float32 too."""
    with fused.use_way(way):
        fused.check_fused(kind, device="cuda", dtype=dtype, seq_len=20, batch_size=33,
                          hidden_size=300)
