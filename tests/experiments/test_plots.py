"""experiments.plots: the two pictures are written, from real traces and gradient norms."""

import numpy as np
import pytest

import engine
import rnn

pytest.importorskip("matplotlib")
from experiments.plots import plot_gates, plot_state_gradients  # noqa: E402

PNG = b"\x89PNG\r\n\x1a\n"


def test_plot_gates_writes_a_png_for_a_cell_and_a_layer(tmp_path):
    x = engine.randn(12, 3, 2, rng=np.random.default_rng(0))  # (T, B, I)
    cell = rnn.LSTMCell(2, 5, rng=np.random.default_rng(1))
    traced = rnn.trace(cell, x, lengths=[12, 7, 3])  # padded steps are NaN: drawn blank
    path = plot_gates(traced, tmp_path / "gates.png", gates=("i", "f"), sequences=(0, 1, 2),
                      phases={"hold": 4, "recall": 8}, title="an LSTM's gates")
    assert path.read_bytes().startswith(PNG)
    layer = rnn.GRU(2, 4, num_layers=2, bidirectional=True, rng=np.random.default_rng(2))
    path = plot_gates(rnn.trace(layer, x), tmp_path / "layer.png", gates=("r", "z", "h"),
                      layer=1, direction=1)
    assert path.read_bytes().startswith(PNG)
    with pytest.raises(KeyError, match="no \\['o'\\]"):
        plot_gates(rnn.trace(layer, x), tmp_path / "x.png", gates=("o",))


def test_plot_state_gradients_writes_a_png(tmp_path):
    x = engine.randn(20, 4, 2, rng=np.random.default_rng(0))
    curves = {name: rnn.state_gradients(make(2, 8, rng=np.random.default_rng(1)), x,
                                        lambda outputs: outputs[-1].sum())
              for name, make in (("RNN", rnn.RNNCell), ("LSTM", rnn.LSTMCell))}
    curves["zeros"] = np.zeros(20)  # nothing drawable on a log axis: left out, no error
    for relative in (False, True):
        path = plot_state_gradients(curves, tmp_path / f"grad_{relative}.png",
                                    relative=relative)
        assert path.read_bytes().startswith(PNG)
