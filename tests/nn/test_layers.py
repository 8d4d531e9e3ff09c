"""Layers: gradients against finite differences (float64, hypothesis-drawn shapes),
semantics, PyTorch parity with the same weights, and the GPU path."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import engine
import nn
from nn import functional as F

shapes = st.lists(st.integers(1, 3), min_size=0, max_size=2).map(tuple)  # leading (batch) axes
seeds = st.integers(0, 2**32 - 1)


def data(rng, *shape):
    return engine.tensor(rng.standard_normal(shape), requires_grad=True)


def check(module, x):
    """gradcheck of module(x) with respect to x and every parameter (perturbed in place)."""
    return engine.gradcheck(lambda x, *params: module(x), [x, *module.parameters()])


@given(shapes, st.integers(1, 4), st.integers(1, 4), st.booleans(), seeds)
def test_linear_gradcheck(batch, n_in, n_out, bias, seed):
    rng = np.random.default_rng(seed)
    layer = nn.Linear(n_in, n_out, bias=bias, rng=rng, dtype="float64")
    x = data(rng, *batch, n_in)
    assert layer(x).shape == (*batch, n_out)
    assert check(layer, x)


@given(shapes, st.integers(1, 3), st.integers(1, 4), st.booleans(), seeds)
def test_layer_norm_gradcheck(batch, rows, cols, two_axes, seed):
    rng = np.random.default_rng(seed)
    shape = (rows, cols) if two_axes else (cols,)
    norm = nn.LayerNorm(shape, dtype="float64")
    for p in norm.parameters():  # non-trivial affine parameters
        p.data = rng.standard_normal(p.shape)
    x = data(rng, *batch, *shape)
    assert check(norm, x)


@given(shapes, st.integers(1, 5), st.integers(1, 3), st.booleans(), seeds)
def test_embedding_gradcheck_and_padding_row_gets_no_gradient(batch, rows, dim, pad, seed):
    rng = np.random.default_rng(seed)
    padding_idx = 0 if pad else None
    table = nn.Embedding(rows, dim, padding_idx=padding_idx, rng=rng, dtype="float64")
    indices = rng.integers(0, rows, (*batch, 4))  # repeats likely: gradients must add up
    out = table(indices)
    assert out.shape == (*batch, 4, dim)
    np.testing.assert_array_equal(out.numpy(), table.weight.numpy()[indices])
    if pad:
        assert (table.weight.numpy()[0] == 0).all()
        out.sum().backward()
        assert (table.weight.grad.numpy()[0] == 0).all()
        picked = np.bincount(indices.ravel(), minlength=rows)[1:]
        np.testing.assert_array_equal(table.weight.grad.numpy()[1:, 0], picked)
    else:
        assert check(table, engine.tensor(indices))


@given(shapes, st.sampled_from([0.0, 0.3, 0.9]), seeds)
def test_dropout_gradcheck_with_a_fixed_mask(batch, p, seed):
    x = data(np.random.default_rng(seed), *batch, 3)
    # the same seed each call gives the same mask, so the function is deterministic
    assert engine.gradcheck(lambda t: F.dropout(t, p, rng=np.random.default_rng(seed)), [x])


@given(shapes, seeds)
def test_activations_and_sequential_gradcheck(batch, seed):
    rng = np.random.default_rng(seed)
    model = nn.Sequential(nn.Linear(3, 4, rng=rng, dtype="float64"), nn.Tanh(),
                          nn.Linear(4, 4, rng=rng, dtype="float64"), nn.Sigmoid(),
                          nn.Linear(4, 2, rng=rng, dtype="float64"), nn.ReLU())
    x = data(rng, *batch, 3)
    assert check(model, x)


def test_activation_modules_compute_their_functions():
    x = engine.tensor([-2.0, 0.5])
    np.testing.assert_allclose(nn.Tanh()(x).numpy(), np.tanh([-2.0, 0.5]), rtol=1e-6)
    np.testing.assert_allclose(nn.Sigmoid()(x).numpy(), 1 / (1 + np.exp([2.0, -0.5])), rtol=1e-6)
    assert nn.ReLU()(x).tolist() == [0.0, 0.5]


# ---------------------------------------------------------------- semantics


def test_dropout_is_inverted_seeded_and_off_in_eval():
    x = engine.ones(200, 50)
    drop = nn.Dropout(0.25, rng=np.random.default_rng(7))
    y = drop(x).numpy()
    assert set(np.unique(y).tolist()) == {0.0, np.float32(1 / 0.75)}
    assert abs((y == 0).mean() - 0.25) < 0.02 and abs(y.mean() - 1) < 0.03
    again = nn.Dropout(0.25, rng=np.random.default_rng(7))(x).numpy()
    np.testing.assert_array_equal(y, again)
    assert not np.array_equal(drop(x).numpy(), y)  # the generator moves on
    assert drop.eval()(x) is x
    assert F.dropout(x, 0.0) is x and F.dropout(x, 0.5, training=False) is x
    for p in (-0.1, 1.0):
        with pytest.raises(ValueError, match=r"p must be in \[0, 1\)"):
            nn.Dropout(p)
        with pytest.raises(ValueError, match=r"p must be in \[0, 1\)"):
            F.dropout(x, p)


def test_layers_are_reproducible_from_a_seed_and_honour_dtype():
    a = nn.Linear(4, 3, rng=np.random.default_rng(5))
    b = nn.Linear(4, 3, rng=np.random.default_rng(5))
    np.testing.assert_array_equal(a.weight.numpy(), b.weight.numpy())
    assert a.weight.dtype == np.float32 and a.bias.shape == (3,)
    assert nn.Embedding(3, 2, dtype="float64").weight.dtype == np.float64
    assert nn.LayerNorm(2, elementwise_affine=False).weight is None
    assert list(nn.LayerNorm(2, elementwise_affine=False).parameters()) == []
    assert nn.Linear(2, 2, bias=False).bias is None


def test_linear_init_follows_pytorchs_bounds():
    layer = nn.Linear(400, 300, rng=np.random.default_rng(0), dtype="float64")
    bound = 1 / np.sqrt(400)  # kaiming_uniform_(a=sqrt(5)) on (out, in) = U(-1/sqrt(in), ...)
    for p in (layer.weight, layer.bias):
        values = p.numpy()
        assert np.abs(values).max() <= bound
        assert np.abs(values).max() > 0.95 * bound
    np.testing.assert_allclose(layer.weight.numpy().std(), bound / np.sqrt(3), rtol=0.01)


def test_embedding_init_is_standard_normal_and_negative_padding_idx_counts_back():
    table = nn.Embedding(500, 100, padding_idx=-1, rng=np.random.default_rng(0))
    assert table.padding_idx == 499 and (table.weight.numpy()[499] == 0).all()
    values = table.weight.numpy()[:499]
    assert abs(values.mean()) < 0.01 and abs(values.std() - 1) < 0.01
    with pytest.raises(ValueError, match=r"padding_idx must be in \[-500, 500\); got 500"):
        nn.Embedding(500, 2, padding_idx=500)


def test_bad_input_names_what_was_expected():
    layer = nn.Linear(3, 2, rng=np.random.default_rng(0))
    with pytest.raises(ValueError, match=r"input of shape \(4, 2\).*weight \(2, 3\)"):
        layer(engine.ones(4, 2))
    table = nn.Embedding(4, 2)
    with pytest.raises(ValueError, match=r"in \[0, 4\).*from 0 to 4"):
        table(np.array([0, 4]))
    with pytest.raises(ValueError, match="indices must be integers; got dtype float64"):
        table(np.array([0.0]))
    with pytest.raises(ValueError, match=r"must end in normalized_shape \(3,\)"):
        nn.LayerNorm(3)(engine.ones(3, 2))


# ---------------------------------------------------------------- PyTorch parity


def test_layers_match_pytorch_with_the_same_weights():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    pairs = [
        (nn.Linear(3, 2, rng=rng), torch.nn.Linear(3, 2), rng.standard_normal((4, 5, 3))),
        (nn.LayerNorm((2, 3)), torch.nn.LayerNorm((2, 3)), rng.standard_normal((4, 2, 3))),
    ]
    for ours, theirs in [pair[:2] for pair in pairs]:
        theirs.double()
        ours.double()
        for p in theirs.parameters():  # non-default weights
            p.data = torch.tensor(rng.standard_normal(tuple(p.shape)))
        ours.load_state_dict(theirs.state_dict())
    for ours, theirs, x in pairs:
        ex, tx = engine.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
        out, expected = ours(ex), theirs(tx)
        np.testing.assert_allclose(out.numpy(), expected.detach().numpy(), rtol=1e-10, atol=1e-12)
        weight = rng.standard_normal(out.shape)
        out.backward(engine.tensor(weight))
        expected.backward(torch.tensor(weight))
        np.testing.assert_allclose(ex.grad.numpy(), tx.grad.numpy(), rtol=1e-9, atol=1e-12)
        for p, q in zip(ours.parameters(), theirs.parameters()):
            np.testing.assert_allclose(p.grad.numpy(), q.grad.numpy(), rtol=1e-9, atol=1e-12)


def test_embedding_matches_pytorch_including_the_padding_gradient():
    torch = pytest.importorskip("torch")
    theirs = torch.nn.Embedding(6, 3, padding_idx=2).double()
    ours = nn.Embedding(6, 3, padding_idx=2, dtype="float64")
    ours.load_state_dict(theirs.state_dict())
    indices = np.array([[2, 0, 5], [5, 5, 2]])
    out, expected = ours(indices), theirs(torch.tensor(indices))
    np.testing.assert_array_equal(out.numpy(), expected.detach().numpy())
    weight = np.random.default_rng(0).standard_normal(out.shape)
    out.backward(engine.tensor(weight))
    expected.backward(torch.tensor(weight))
    np.testing.assert_allclose(ours.weight.grad.numpy(), theirs.weight.grad.numpy(), rtol=1e-12)


# ---------------------------------------------------------------- devices


def test_every_layer_on_device_matches_the_cpu(device):
    model = nn.Sequential(nn.Linear(3, 4, rng=np.random.default_rng(0), dtype="float64"),
                          nn.LayerNorm(4, dtype="float64"), nn.Tanh(), nn.Sigmoid(), nn.ReLU(),
                          nn.Dropout(0.5, rng=np.random.default_rng(1)))
    table = nn.Embedding(5, 3, padding_idx=0, rng=np.random.default_rng(2), dtype="float64")
    moved = nn.Sequential(nn.Linear(3, 4, rng=np.random.default_rng(0), device=device,
                                    dtype="float64"),
                          nn.LayerNorm(4, dtype="float64", device=device), nn.Tanh(),
                          nn.Sigmoid(), nn.ReLU(), nn.Dropout(0.5, rng=np.random.default_rng(1)))
    moved_table = nn.Embedding(5, 3, padding_idx=0, rng=np.random.default_rng(2), device=device,
                               dtype="float64")
    indices = np.array([[0, 1, 4], [3, 3, 0]])
    for net, emb, where in ((model, table, "cpu"), (moved, moved_table, device)):
        assert all(p.device.startswith(where) for p in [*net.parameters(), emb.weight])
        out = net(emb(engine.tensor(indices, device=where)))
        assert out.device.startswith(where)
        out.sum().backward()
    np.testing.assert_allclose(moved(moved_table(indices)).numpy(), model(table(indices)).numpy(),
                               rtol=1e-12)
    for p, q in zip([*model.parameters(), table.weight], [*moved.parameters(), moved_table.weight]):
        np.testing.assert_allclose(q.grad.numpy(), p.grad.numpy(), rtol=1e-10, atol=1e-14)
