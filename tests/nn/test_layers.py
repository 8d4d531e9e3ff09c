"""Layers: gradients against finite differences (float64, hypothesis-drawn shapes),
semantics, PyTorch parity with the same weights, reproducibility from the default
generator or a seed, and the GPU path."""

import warnings

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import engine
import nn
from nn import functional as F
from tests.nn.parity import check_module, outputs_and_gradients, same_weights

shapes = st.lists(st.integers(1, 3), min_size=0, max_size=2).map(tuple)  # leading (batch) axes
seeds = st.integers(0, 2**32 - 1)


def data(rng, *shape):
    return engine.tensor(rng.standard_normal(shape), requires_grad=True)


@given(shapes, st.integers(1, 4), st.integers(1, 4), st.booleans(), seeds)
def test_linear_gradcheck(batch, n_in, n_out, bias, seed):
    rng = np.random.default_rng(seed)
    layer = nn.Linear(n_in, n_out, bias=bias, rng=rng, dtype="float64")
    x = data(rng, *batch, n_in)
    assert layer(x).shape == (*batch, n_out)
    assert check_module(layer, x)


@given(st.lists(st.integers(1, 4), min_size=0, max_size=3).map(tuple), st.integers(1, 5),
       st.integers(1, 5), st.booleans(), st.sampled_from(["float32", "float64"]), seeds)
def test_linear_is_one_node_with_the_composed_graphs_numbers(batch, n_in, n_out, bias, dtype,
                                                             seed):
    """F.linear's one node (Affine) against the graph it replaces, x.reshape(N, in) @ W.T
    + b reshaped back: the output and every gradient equal to the last bit, 1-D to 4-D
    inputs, float32 and float64."""
    rng = np.random.default_rng(seed)
    x, w, b = (engine.tensor(rng.standard_normal(s), dtype=dtype, requires_grad=True)
               for s in ((*batch, n_in), (n_out, n_in), (n_out,)))
    upstream = engine.tensor(rng.standard_normal((*batch, n_out)), dtype=dtype)
    results = []
    for one_node in (True, False):
        for t in (x, w, b):
            t.grad = None
        if one_node:
            y = F.linear(x, w, b if bias else None)
            assert type(y.grad_fn).__name__ == "Affine"
        else:
            y = x.reshape(-1, n_in) @ w.T
            y = (y + b if bias else y).reshape(*batch, n_out)
        (y * upstream).sum().backward()
        results.append([y.numpy()] + [t.grad.numpy() for t in (x, w, b) if t.grad is not None])
    assert len(results[0]) == len(results[1])
    for one, composed in zip(*results):
        np.testing.assert_array_equal(one, composed)


@given(shapes, st.integers(1, 5), st.integers(1, 3), st.booleans(), st.booleans(), seeds)
def test_embedding_gradcheck_and_padding_row_gets_no_gradient(batch, rows, dim, pad, scale,
                                                             seed):
    rng = np.random.default_rng(seed)
    padding_idx = 0 if pad else None
    table = nn.Embedding(rows, dim, padding_idx=padding_idx, scale_grad_by_freq=scale, rng=rng,
                         dtype="float64")
    indices = rng.integers(0, rows, (*batch, 4))  # repeats likely: gradients must add up
    out = table(indices)
    assert out.shape == (*batch, 4, dim)
    np.testing.assert_array_equal(out.numpy(), table.weight.numpy()[indices])
    if pad:
        assert (table.weight.numpy()[0] == 0).all()
        out.sum().backward()
        assert (table.weight.grad.numpy()[0] == 0).all()
        picked = np.bincount(indices.ravel(), minlength=rows)[1:]
        expected = np.minimum(picked, 1) if scale else picked  # by frequency: the mean
        np.testing.assert_array_equal(table.weight.grad.numpy()[1:, 0], expected)
    elif not scale:  # scaled by frequency, it is on purpose not the gradient
        assert check_module(table, engine.tensor(indices))


@given(shapes, st.sampled_from([0.0, 0.3, 0.9, 1.0]), seeds)
def test_dropout_gradcheck_with_a_fixed_mask(batch, p, seed):
    x = data(np.random.default_rng(seed), *batch, 3)
    # the same seed each call gives the same mask, so the function is deterministic
    assert engine.gradcheck(lambda t: F.dropout(t, p, rng=seed), [x])
    assert engine.gradcheck(lambda t: F.dropout1d(t, p, rng=seed), [data(np.random.default_rng(
        seed), 2, 3, 4)])


@given(shapes, seeds)
def test_activations_and_sequential_gradcheck(batch, seed):
    rng = np.random.default_rng(seed)
    model = nn.Sequential(nn.Linear(3, 4, rng=rng, dtype="float64"), nn.Tanh(),
                          nn.Linear(4, 4, rng=rng, dtype="float64"), nn.Sigmoid(),
                          nn.Linear(4, 2, rng=rng, dtype="float64"), nn.GELU(), nn.Flatten(0))
    x = data(rng, *batch, 3)
    assert check_module(model, x)


# ---------------------------------------------------------------- dropout


def test_dropout_is_inverted_seeded_and_off_in_eval():
    x = engine.ones(200, 50)
    drop = nn.Dropout(0.25, rng=np.random.default_rng(7))
    y = drop(x).numpy()
    assert set(np.unique(y).tolist()) == {0.0, np.float32(1 / 0.75)}
    assert abs((y == 0).mean() - 0.25) < 0.02 and abs(y.mean() - 1) < 0.03
    again = nn.Dropout(0.25, rng=7)(x).numpy()  # an int is a seed
    np.testing.assert_array_equal(y, again)
    assert not np.array_equal(drop(x).numpy(), y)  # the generator moves on
    assert drop.eval()(x) is x
    assert F.dropout(x, 0.0) is x and F.dropout(x, 0.5, training=False) is x
    assert (F.dropout(x, 1.0).numpy() == 0).all()  # p = 1 drops everything, as PyTorch
    for p in (-0.1, 1.5):
        for make in (nn.Dropout, nn.Dropout1d, nn.Dropout2d):
            with pytest.raises(ValueError, match="dropout probability has to be between 0 and 1, "
                                                 f"but got {p}"):
                make(p)
        with pytest.raises(ValueError, match="dropout probability has to be between 0 and 1"):
            F.dropout(x, p)


def test_dropout_draws_from_the_default_generator_so_manual_seed_repeats_a_run():
    x = engine.ones(4, 6, 5)
    masks = []
    for _ in range(2):
        engine.manual_seed(3)
        drops = [nn.Dropout(0.5), nn.Dropout1d(0.5), nn.Dropout2d(0.5)]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # Dropout2d on (N, C, L) warns, as PyTorch
            masks.append([d(x).numpy() for d in drops] + [drops[0](x).numpy()])
    for first, second in zip(*masks):
        np.testing.assert_array_equal(first, second)
    assert not np.array_equal(masks[0][0], masks[0][3])  # each call a new mask


def test_channel_dropout_zeroes_whole_channels_with_the_right_rate():
    x = engine.ones(100, 40, 6)
    for drop, p in [(nn.Dropout1d(0.3, rng=0), 0.3), (nn.Dropout2d(0.6, rng=1), 0.6)]:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # Dropout2d on (N, C, L) warns, as PyTorch
            y = drop(x).numpy()
        per_channel = y.reshape(100, 40, 6)
        assert (per_channel == per_channel[:, :, :1]).all()  # a channel is kept or dropped whole
        kept = per_channel[:, :, 0] != 0
        assert abs(1 - kept.mean() - p) < 0.03
        np.testing.assert_allclose(per_channel[:, :, 0][kept], 1 / (1 - p), rtol=1e-6)
    images = nn.Dropout2d(0.5, rng=2)(engine.ones(50, 8, 3, 4)).numpy()
    assert (images == images[:, :, :1, :1]).all() and 0.4 < (images == 0).mean() < 0.6
    unbatched = nn.Dropout1d(0.5, rng=3)(engine.ones(200, 7)).numpy()  # (C, L): rows whole
    assert (unbatched == unbatched[:, :1]).all() and 0.4 < (unbatched == 0).mean() < 0.6


def test_dropout2d_on_2d_input_warns_and_drops_single_elements_as_pytorch():
    drop = nn.Dropout2d(0.5, rng=0)
    with pytest.warns(UserWarning, match="Received a 2-D input to dropout2d"):
        y = drop(engine.ones(300, 40)).numpy()
    assert not (y == y[:, :1]).all()  # elements, not rows
    assert abs((y == 0).mean() - 0.5) < 0.02 and set(np.unique(y).tolist()) == {0.0, 2.0}
    with pytest.warns(UserWarning, match="Received a 3D input to dropout2d"):
        drop(engine.ones(2, 3, 4))
    with pytest.warns(UserWarning, match="Received a 2-D input"):
        assert drop.eval()(engine.ones(2, 3)).tolist() == [[1.0] * 3] * 2  # warns in eval too
    with pytest.raises(RuntimeError, match="Feature dropout requires at least 2 dimensions"), \
            pytest.warns(UserWarning):
        nn.Dropout2d()(engine.ones(5))
    with pytest.raises(RuntimeError, match="dropout1d: Expected 2D or 3D input, but received a "
                                           "4D input"):
        nn.Dropout1d()(engine.ones(2, 3, 4, 5))


def test_dropout_in_eval_and_its_warnings_match_pytorch():
    torch = pytest.importorskip("torch")
    x = np.random.default_rng(0).standard_normal((4, 6))
    for name in ("Dropout", "Dropout1d", "Dropout2d"):
        ours, theirs = getattr(nn, name)(0.3).eval(), getattr(torch.nn, name)(0.3).eval()
        with warnings.catch_warnings(record=True) as ours_warned:
            warnings.simplefilter("always")
            got = ours(engine.tensor(x)).numpy()
        with warnings.catch_warnings(record=True) as theirs_warned:
            warnings.simplefilter("always")
            expected = theirs(torch.tensor(x)).numpy()
        np.testing.assert_array_equal(got, expected)
        assert [str(w.message) for w in ours_warned] == [str(w.message) for w in theirs_warned]
        assert repr(ours) == repr(theirs)


def test_dropout_in_place():
    x = engine.ones(10, 10)
    out = F.dropout(x, 0.5, inplace=True, rng=0)
    assert out is x and set(np.unique(x.numpy()).tolist()) == {0.0, 2.0}
    leaf = engine.ones(3, requires_grad=True)
    with pytest.raises(RuntimeError, match="leaf Variable that requires grad"):
        nn.Dropout(0.5, inplace=True)(leaf)


# ---------------------------------------------------------------- other layers


def test_flatten_unflatten_identity():
    x = engine.randn(2, 3, 4, 5, rng=0)
    assert nn.Flatten()(x).shape == (2, 60) and nn.Flatten(0, 2)(x).shape == (24, 5)
    assert nn.Flatten(-2)(x).shape == (2, 3, 20) and nn.Flatten(0)(engine.tensor(3.0)).shape == (1,)
    np.testing.assert_array_equal(nn.Flatten()(x).numpy(), x.numpy().reshape(2, 60))
    assert nn.Unflatten(1, (3, 4))(engine.ones(2, 12)).shape == (2, 3, 4)
    assert nn.Unflatten(-1, [2, -1])(engine.ones(2, 12)).shape == (2, 2, 6)
    assert nn.Identity(54, unused=0.1)(x) is x and repr(nn.Identity(3)) == "Identity()"
    with pytest.raises(RuntimeError, match="start_dim cannot come after end_dim"):
        nn.Flatten(2, 1)(x)
    with pytest.raises(IndexError, match=r"expected to be in range of \[-4, 3\], but got 4"):
        nn.Flatten(4)(x)
    with pytest.raises(RuntimeError, match=r"Provided sizes \[2, 4\] don't multiply up to the "
                                           r"size of dim 1 \(6\)"):
        nn.Unflatten(1, (2, 4))(engine.ones(3, 6))
    with pytest.raises(TypeError, match="unflattened_size must be a tuple of ints"):
        nn.Unflatten(1, 6)
    with pytest.raises(TypeError, match="found element of type float at pos 1"):
        nn.Unflatten(1, (2, 3.0))


def test_layers_are_reproducible_from_a_seed_and_honour_dtype():
    a = nn.Linear(4, 3, rng=np.random.default_rng(5))
    b = nn.Linear(4, 3, rng=np.random.default_rng(5))
    np.testing.assert_array_equal(a.weight.numpy(), b.weight.numpy())
    np.testing.assert_array_equal(nn.Linear(4, 3, rng=5).bias.numpy(),
                                  nn.Linear(4, 3, rng=5).bias.numpy())
    assert a.weight.dtype == np.float32 and a.bias.shape == (3,)
    assert nn.Embedding(3, 2, dtype="float64").weight.dtype == np.float64
    assert nn.LayerNorm(2, elementwise_affine=False).weight is None
    assert list(nn.LayerNorm(2, elementwise_affine=False).parameters()) == []
    assert nn.Linear(2, 2, bias=False).bias is None
    engine.set_default_dtype(engine.float64)
    try:
        assert nn.Linear(2, 2).weight.dtype == np.float64  # dtype=None: the default dtype
        assert nn.BatchNorm1d(2).running_mean.dtype == np.float64
    finally:
        engine.set_default_dtype(engine.float32)


def test_manual_seed_makes_a_model_the_same_run_to_run():
    def build():
        return nn.Sequential(nn.Embedding(7, 4), nn.Linear(4, 5), nn.LayerNorm(5),
                             nn.Linear(5, 2))

    engine.manual_seed(0)
    first = build()
    engine.manual_seed(0)
    second = build()
    third = build()  # the stream has moved on
    for (name, p), q, r in zip(first.named_parameters(), second.parameters(), third.parameters()):
        np.testing.assert_array_equal(p.numpy(), q.numpy(), err_msg=name)
        if "weight" in name and name != "2.weight":  # LayerNorm's weight is ones
            assert not np.array_equal(p.numpy(), r.numpy()), name


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


def test_embedding_from_pretrained_shares_memory_and_freezes():
    weights = engine.tensor([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]])
    table = nn.Embedding.from_pretrained(weights)
    assert not table.weight.requires_grad and table.weight.array is weights.array
    assert table(np.array([2, 0])).tolist() == [[5.0, 6.0], [1.0, 2.0]]
    trained = nn.Embedding.from_pretrained(weights, freeze=False, padding_idx=1)
    assert trained.weight.requires_grad and trained.weight.tolist()[1] == [3.0, 4.0]
    trained(np.array([1, 2])).sum().backward()
    assert trained.weight.grad.tolist() == [[0.0, 0.0], [0.0, 0.0], [1.0, 1.0]]
    assert nn.Embedding.from_pretrained(np.eye(3)).weight.dtype == np.float64
    with pytest.raises(ValueError, match="expected to be 2-dimensional"):
        nn.Embedding.from_pretrained(engine.ones(3))
    assert repr(trained) == "Embedding(3, 2, padding_idx=1)"


def test_embedding_max_norm_renormalises_the_rows_it_looks_up():
    table = nn.Embedding(4, 3, max_norm=1.0, dtype="float64", rng=0)
    table.weight.data = engine.tensor(np.arange(12.0).reshape(4, 3) + 1)
    out = table(np.array([0, 0, 2]))
    norms = np.linalg.norm(table.weight.numpy(), axis=1)
    np.testing.assert_allclose(norms[[0, 2]], 1.0, rtol=1e-6)
    assert norms[1] > 1 and norms[3] > 1  # rows not looked up keep their values
    np.testing.assert_allclose(out.numpy(), table.weight.numpy()[[0, 0, 2]])
    with pytest.raises(NotImplementedError, match="sparse gradients are not supported"):
        nn.Embedding(4, 3, sparse=True)


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
    with pytest.raises(ValueError, match=r"must have shape \(3, 2\); got \(2, 2\)"):
        nn.Embedding(3, 2, _weight=engine.ones(2, 2))


# ---------------------------------------------------------------- PyTorch parity


def test_layers_match_pytorch_with_the_same_weights():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    for ours, theirs, shape in [
        (nn.Linear(3, 2), torch.nn.Linear(3, 2), (4, 5, 3)),
        (nn.Linear(3, 2, bias=False), torch.nn.Linear(3, 2, bias=False), (4, 3)),
        (nn.Flatten(), torch.nn.Flatten(), (2, 3, 4)),
        (nn.Unflatten(1, (2, 2)), torch.nn.Unflatten(1, (2, 2)), (3, 4)),
        (nn.Identity(), torch.nn.Identity(), (3,)),
    ]:
        same_weights(ours, theirs, rng)
        outputs_and_gradients(ours, theirs, rng.standard_normal(shape), rng)
        assert repr(ours) == repr(theirs)


def test_embedding_matches_pytorch_including_padding_and_frequency_scaling():
    torch = pytest.importorskip("torch")
    indices = np.array([[2, 0, 5], [5, 5, 2]])
    for args in [{"padding_idx": 2}, {"scale_grad_by_freq": True}, {"max_norm": 1.5},
                 {"max_norm": 2.0, "norm_type": 1.0, "padding_idx": 0}]:
        theirs = torch.nn.Embedding(6, 3, **args).double()
        ours = nn.Embedding(6, 3, **args, dtype="float64")
        ours.load_state_dict(theirs.state_dict())
        out, expected = ours(indices), theirs(torch.tensor(indices))
        np.testing.assert_allclose(out.numpy(), expected.detach().numpy(), rtol=1e-12)
        np.testing.assert_allclose(ours.weight.numpy(), theirs.weight.detach().numpy(),
                                   rtol=1e-12)  # max_norm renormalised the same rows
        weight = np.random.default_rng(0).standard_normal(out.shape)
        out.backward(engine.tensor(weight))
        expected.backward(torch.tensor(weight))
        np.testing.assert_allclose(ours.weight.grad.numpy(), theirs.weight.grad.numpy(),
                                   rtol=1e-12)
        assert repr(ours) == repr(theirs)
    pretrained = torch.nn.Embedding.from_pretrained(torch.eye(3), padding_idx=1)
    assert repr(nn.Embedding.from_pretrained(engine.eye(3), padding_idx=1)) == repr(pretrained)


def test_pytorch_model_with_the_new_layers_matches_ours_in_train_and_eval():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)

    def build(lib):
        return lib.Sequential(lib.Linear(6, 8), lib.BatchNorm1d(8), lib.GELU(),
                              lib.Dropout(0.0), lib.Linear(8, 8), lib.LayerNorm(8),
                              lib.LeakyReLU(0.1), lib.Unflatten(1, (2, 4)), lib.Flatten(),
                              lib.ELU(), lib.Linear(8, 3), lib.LogSoftmax(dim=1))

    ours, theirs = same_weights(build(nn), build(torch.nn), rng)
    assert repr(ours) == repr(theirs)
    for _ in range(2):
        outputs_and_gradients(ours, theirs, rng.standard_normal((5, 6)), rng)
    ours.eval()
    theirs.eval()
    outputs_and_gradients(ours, theirs, rng.standard_normal((5, 6)), rng)


# ---------------------------------------------------------------- devices


def test_every_layer_on_device_matches_the_cpu(device):
    def build(where):
        return (nn.Sequential(nn.Linear(3, 4, rng=0, device=where, dtype="float64"),
                              nn.LayerNorm(4, dtype="float64", device=where), nn.Tanh(),
                              nn.GELU(), nn.ELU(), nn.Softplus(), nn.LeakyReLU(),
                              nn.BatchNorm1d(3, dtype="float64", device=where),
                              nn.Dropout(0.5, rng=1), nn.Dropout1d(0.5, rng=2)),
                nn.Embedding(5, 3, padding_idx=0, rng=2, device=where, dtype="float64"))

    indices = np.array([[0, 1, 4], [3, 3, 0]])
    (model, table), (moved, moved_table) = build("cpu"), build(device)
    for net, emb, where in ((model, table, "cpu"), (moved, moved_table, device)):
        assert all(p.device.startswith(where) for p in [*net.parameters(), emb.weight])
        out = net(emb(engine.tensor(indices, device=where)))
        assert out.device.startswith(where)
        out.sum().backward()
    np.testing.assert_allclose(moved(moved_table(indices)).numpy(), model(table(indices)).numpy(),
                               rtol=1e-12)
    for p, q in zip([*model.parameters(), table.weight], [*moved.parameters(), moved_table.weight]):
        np.testing.assert_allclose(q.grad.numpy(), p.grad.numpy(), rtol=1e-10, atol=1e-14)


@pytest.mark.parametrize("make, error, text", [
    (lambda: nn.Linear(-1, 2), RuntimeError, "Linear: in_features must be an int >= 0; got -1"),
    (lambda: nn.Linear(2.5, 2), TypeError,
     "Linear: in_features must be an int >= 0; got 2.5 (float)"),
    (lambda: nn.Linear(2, True), TypeError,
     "Linear: out_features must be an int >= 0; got True (bool)"),
    (lambda: nn.Embedding(-3, 2), RuntimeError,
     "Embedding: num_embeddings must be an int >= 0; got -3"),
    (lambda: nn.Embedding(3, 2.0), TypeError,
     "Embedding: embedding_dim must be an int >= 0; got 2.0 (float)"),
])
def test_sizes_are_checked_naming_the_argument(make, error, text):
    """PyTorch's error types (a RuntimeError for a negative size, a TypeError for a float or a
    bool), with the layer and the argument named; 0 is allowed, as in PyTorch."""
    with pytest.raises(error) as caught:
        make()
    assert str(caught.value) == text
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "Initializing zero-element tensors is a no-op"
        assert nn.Linear(0, 2).weight.shape == (2, 0)
    assert nn.Linear(np.int64(3), 2).in_features == 3


def test_embedding_bounds_cost_one_copy_from_a_gpu(monkeypatch):
    """On a GPU, int() of a reduction waits for the device: the bounds check of embedding
    brings min and max back in one copy (it took two), and reads NumPy's directly."""
    copies = []

    class GpuScalar:  # int() of it would be a synchronisation: refused here
        def __init__(self, value):
            self.value = value

        def __int__(self):
            raise AssertionError("a host-device synchronisation per bound")

    class GpuArray:
        def __init__(self, data):
            self.data = np.asarray(data)

        def min(self):
            return GpuScalar(self.data.min())

        def max(self):
            return GpuScalar(self.data.max())

    def to_numpy(stacked):
        copies.append(stacked)
        return np.array([s.value for s in stacked])

    fake_xp = type("xp", (), {"stack": staticmethod(lambda parts: parts)})
    monkeypatch.setattr(F, "xp_of", lambda a: fake_xp)
    monkeypatch.setattr(F.backend, "to_numpy", to_numpy)
    assert F._bounds(GpuArray([[3, 0], [7, 2]])) == (0, 7) and len(copies) == 1
    assert F._bounds(np.array([4, 1])) == (1, 4) and len(copies) == 1
