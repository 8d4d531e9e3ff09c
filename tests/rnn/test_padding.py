"""Padding of any value changes nothing (docs/masks.md's promise), NaN and inf included:
the layers' outputs, final states and every gradient, on the fused path (each way of
running its steps) and the composed one, stacked, bidirectional, batch_first."""

import contextlib

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import engine
from rnn import fused
from tests.rnn.common import LAYERS, make_layer
from tests.rnn.fused.cuda_on_cpu import compiler, cpu_kernel

FILLS = st.sampled_from([np.nan, np.inf, -np.inf]) | st.floats(allow_nan=True,
                                                               allow_infinity=True)
WAYS = fused.WAYS if compiler() is not None else ("arrays",)


@st.composite
def padded_layers(draw):
    """A layer configuration and a batch with at least one padded step."""
    steps, batch = draw(st.integers(2, 5)), draw(st.integers(1, 4))
    lengths = draw(st.lists(st.integers(1, steps), min_size=batch, max_size=batch))
    lengths[draw(st.integers(0, batch - 1))] = draw(st.integers(1, steps - 1))
    fused = draw(st.booleans())
    return dict(kind=draw(st.sampled_from(sorted(LAYERS))), steps=steps, batch=batch,
                inputs=draw(st.integers(1, 3)), hidden=draw(st.integers(1, 3)),
                options=dict(num_layers=draw(st.integers(1, 2)), bias=draw(st.booleans()),
                             bidirectional=draw(st.booleans()),
                             batch_first=draw(st.booleans()), fused=fused),
                way=draw(st.sampled_from(WAYS)) if fused else None, lengths=lengths,
                fill=draw(FILLS), seed=draw(st.integers(0, 2**16)))


def train_step(layer, x, upstream, h_weights, lengths, batch_first):
    """Outputs, final states and the gradients of x and of every parameter, as NumPy, with
    ``upstream`` the gradient of the output and ``h_weights`` those of the final states;
    x and upstream time-major."""
    xt = engine.Tensor(x.swapaxes(0, 1) if batch_first else x, requires_grad=True)
    layer.zero_grad()
    output, final = layer(xt, lengths=lengths)
    finals = final if isinstance(final, tuple) else (final,)
    results = engine.concatenate([t.reshape(-1) for t in (output, *finals)])
    up = upstream.swapaxes(0, 1) if batch_first else upstream
    results.backward(engine.Tensor(np.concatenate(
        [a.reshape(-1) for a in (up, *h_weights[:len(finals)])])))
    grad_x = xt.grad.numpy()
    return ([output.numpy(), *(f.numpy() for f in finals),
             grad_x.swapaxes(0, 1) if batch_first else grad_x]
            + [p.grad.numpy() for p in layer.parameters()])


@given(padded_layers())
def test_non_finite_padding_changes_no_output_state_or_gradient(case):
    """x's padded steps, and the upstream gradient of the padded outputs, hold NaN, inf or
    any float: every result equals the zero-padded run's, bit for bit, and the padding of
    x gets a zero gradient."""
    rng = np.random.default_rng(case["seed"])
    layer = make_layer(case["kind"], case["inputs"], case["hidden"], seed=case["seed"],
                       **case["options"])
    steps, batch, lengths = case["steps"], case["batch"], case["lengths"]
    padded = np.arange(steps)[:, None] >= np.array(lengths)  # (T, B)
    x = rng.standard_normal((steps, batch, case["inputs"]))
    upstream = rng.standard_normal((steps, batch, layer.hidden_size * layer.num_directions))
    h_weights = [rng.standard_normal((layer.num_layers * layer.num_directions, batch,
                                      layer.hidden_size)) for _ in range(2)]
    runs = []
    for fill in (0.0, case["fill"]):
        x[padded], upstream[padded] = fill, fill
        with (fused.use_way(case["way"], cpu_kernel) if case["way"]
              else contextlib.nullcontext()):
            runs.append(train_step(layer, x, upstream, h_weights, lengths,
                                   case["options"]["batch_first"]))
    zero, filled = runs
    for index, (want, got) in enumerate(zip(zero, filled)):
        assert np.isfinite(want).all(), index
        np.testing.assert_array_equal(got, want, err_msg=f"result {index}")
    grad_x = filled[-1 - len(list(layer.parameters()))]
    assert not grad_x[padded].any()


@pytest.mark.parametrize("kind", sorted(LAYERS))
@pytest.mark.parametrize("fused", [True, False])
def test_a_nan_in_the_padding_leaves_weight_gradients_finite(kind, fused):
    """The issue's case: x[t >= lengths[b], b] = nan; weight_ih_l0.grad stayed NaN-free on
    neither path (the projection's dW_ih = dA^T X, the cells' 0 * NaN)."""
    layer = make_layer(kind, 3, 4, fused=fused, bidirectional=True)
    x = np.random.default_rng(0).standard_normal((5, 3, 3))
    x[3:, 1] = x[1:, 2] = np.nan
    xt = engine.Tensor(x, requires_grad=True)
    output, _ = layer(xt, lengths=[5, 3, 1])
    output.sum().backward()
    assert all(np.isfinite(p.grad.numpy()).all() for p in layer.parameters())
    assert np.isfinite(xt.grad.numpy()).all() and np.isfinite(output.numpy()).all()
