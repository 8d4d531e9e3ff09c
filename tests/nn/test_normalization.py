"""BatchNorm1d and LayerNorm: gradients against finite differences, running statistics,
outputs and every gradient equal to PyTorch's over several steps, state dicts both ways,
and bad input named before any state changes."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import engine
import nn
from nn import functional as F
from tests.nn.parity import check_module, outputs_and_gradients, same_weights

seeds = st.integers(0, 2**32 - 1)
CONFIGS = [  # BatchNorm1d's keyword arguments
    {},
    {"momentum": None},
    {"momentum": 0.3, "eps": 1e-3},
    {"affine": False},
    {"bias": False},
    {"track_running_stats": False},
    {"affine": False, "track_running_stats": False},
]


def random_affine(module, rng):
    for p in module.parameters():
        p.data = engine.tensor(rng.standard_normal(p.shape))
    return module


@given(st.integers(2, 5), st.integers(1, 4), st.sampled_from([None, 1, 3]), st.booleans(),
       seeds)
def test_batch_norm_train_mode_gradcheck(batch, channels, length, affine, seed):
    rng = np.random.default_rng(seed)
    norm = random_affine(nn.BatchNorm1d(channels, affine=affine, dtype="float64"), rng)
    shape = (batch, channels) if length is None else (batch, channels, length)
    x = engine.tensor(rng.standard_normal(shape), requires_grad=True)
    assert check_module(norm, x)


@given(st.integers(1, 4), st.sampled_from([None, 2]), seeds)
def test_batch_norm_eval_mode_gradcheck(channels, length, seed):
    rng = np.random.default_rng(seed)
    norm = random_affine(nn.BatchNorm1d(channels, dtype="float64"), rng)
    norm.running_mean.data = engine.tensor(rng.standard_normal(channels))
    norm.running_var.data = engine.tensor(rng.uniform(0.5, 2.0, channels))
    shape = (1, channels) if length is None else (1, channels, length)  # one sample is fine here
    assert check_module(norm.eval(), engine.tensor(rng.standard_normal(shape),
                                                   requires_grad=True))


@given(st.integers(1, 3), st.integers(1, 4), st.booleans(), st.booleans(), seeds)
def test_layer_norm_gradcheck(rows, cols, two_axes, bias, seed):
    rng = np.random.default_rng(seed)
    shape = (rows, cols) if two_axes else (cols,)
    norm = random_affine(nn.LayerNorm(shape, bias=bias, dtype="float64"), rng)
    x = engine.tensor(rng.standard_normal((2, *shape)), requires_grad=True)
    assert check_module(norm, x)


def test_buffers_have_pytorchs_names_dtypes_and_initial_values():
    norm = nn.BatchNorm1d(3)
    assert list(norm.state_dict()) == ["weight", "bias", "running_mean", "running_var",
                                       "num_batches_tracked"]
    assert norm.running_mean.dtype == np.float32 and norm.num_batches_tracked.dtype == np.int64
    assert norm.num_batches_tracked.shape == () and norm.num_batches_tracked.item() == 0
    assert norm.running_mean.tolist() == [0.0] * 3 and norm.running_var.tolist() == [1.0] * 3
    assert norm.weight.tolist() == [1.0] * 3 and norm.bias.tolist() == [0.0] * 3
    assert [name for name, _ in norm.named_parameters()] == ["weight", "bias"]
    bare = nn.BatchNorm1d(3, affine=False, track_running_stats=False)
    assert list(bare.state_dict()) == [] and bare.weight is None and bare.running_mean is None
    norm.double()
    assert norm.running_var.dtype == np.float64 and norm.num_batches_tracked.dtype == np.int64
    assert nn.BatchNorm1d(2, dtype="float64").running_mean.dtype == np.float64


def test_running_statistics_by_hand():
    x = np.array([[1.0, 10.0], [3.0, 10.0], [8.0, 16.0]])
    norm = nn.BatchNorm1d(2, momentum=0.5, dtype="float64")
    out = norm(engine.tensor(x)).numpy()
    mean, biased = x.mean(0), x.var(0)
    np.testing.assert_allclose(out, (x - mean) / np.sqrt(biased + 1e-5))
    np.testing.assert_allclose(norm.running_mean.numpy(), 0.5 * mean)
    np.testing.assert_allclose(norm.running_var.numpy(), 0.5 + 0.5 * x.var(0, ddof=1))
    assert norm.num_batches_tracked.item() == 1
    cumulative = nn.BatchNorm1d(2, momentum=None, dtype="float64")
    for batch in (x, 2 * x):
        cumulative(engine.tensor(batch))
    np.testing.assert_allclose(cumulative.running_mean.numpy(), (x.mean(0) + 2 * x.mean(0)) / 2)
    evaluated = norm.eval()(engine.tensor(x)).numpy()
    np.testing.assert_allclose(evaluated, (x - 0.5 * mean) / np.sqrt(
        0.5 + 0.5 * x.var(0, ddof=1) + 1e-5))
    assert norm.num_batches_tracked.item() == 1  # eval counts nothing


@pytest.mark.parametrize("config", CONFIGS, ids=[str(c) for c in CONFIGS])
@pytest.mark.parametrize("length", [None, 4])
def test_batch_norm_matches_pytorch_over_steps_in_train_and_eval(config, length):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    ours, theirs = same_weights(nn.BatchNorm1d(3, **config), torch.nn.BatchNorm1d(3, **config),
                                rng)
    shape = (6, 3) if length is None else (6, 3, length)
    for step in range(4):  # train: batch statistics, running ones updated each step
        outputs_and_gradients(ours, theirs, 3 * rng.standard_normal(shape) + step, rng)
        ours.zero_grad()
        theirs.zero_grad()
    for name, expected in theirs.state_dict().items():
        got = ours.state_dict()[name]
        assert got.dtype == np.dtype(str(expected.dtype).removeprefix("torch."))
        np.testing.assert_allclose(got.numpy(), expected.numpy(), rtol=1e-12, err_msg=name)
    ours.eval()
    theirs.eval()
    outputs_and_gradients(ours, theirs, rng.standard_normal(shape), rng)  # running statistics
    if config.get("track_running_stats", True):  # one sample: fine with running statistics
        one = (1, 3) if length is None else (1, 3, 1)
        outputs_and_gradients(ours, theirs, rng.standard_normal(one), rng)


def test_pytorchs_batch_norm_state_dict_loads_and_ours_loads_into_pytorch():
    torch = pytest.importorskip("torch")
    theirs = torch.nn.BatchNorm1d(4)
    theirs(torch.randn(8, 4))
    ours = nn.BatchNorm1d(4)
    assert repr(ours.load_state_dict(theirs.state_dict())) == "<All keys matched successfully>"
    assert ours.num_batches_tracked.item() == 1 and ours.num_batches_tracked.dtype == np.int64
    back = torch.nn.BatchNorm1d(4)
    back.load_state_dict({k: torch.from_numpy(v.numpy()) for k, v in ours.state_dict().items()})
    np.testing.assert_array_equal(back.running_var.numpy(), theirs.running_var.numpy())
    legacy = {k: v for k, v in theirs.state_dict().items() if k != "num_batches_tracked"}
    assert ours.load_state_dict(legacy).missing_keys == []  # an old file: the count is kept


def test_layer_norm_matches_pytorch_with_and_without_bias():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    for args in [{"normalized_shape": 5}, {"normalized_shape": (2, 5), "bias": False},
                 {"normalized_shape": 5, "elementwise_affine": False, "eps": 1e-3}]:
        ours, theirs = same_weights(nn.LayerNorm(**args), torch.nn.LayerNorm(**args), rng)
        outputs_and_gradients(ours, theirs, rng.standard_normal((3, 2, 5)), rng)
        assert repr(ours) == repr(theirs)
        assert list(ours.state_dict()) == list(theirs.state_dict())


def test_bad_input_is_named_and_changes_nothing():
    norm = nn.BatchNorm1d(4)
    with pytest.raises(RuntimeError, match=r"running_mean should contain 5 elements not 4.*"
                                           r"\(3, 5\) has 5 channels"):
        norm(engine.ones(3, 5))
    with pytest.raises(ValueError, match=r"expected 2D or 3D input \(got 1D input\)"):
        norm(engine.ones(4))
    with pytest.raises(ValueError, match=r"expected 2D or 3D input \(got 4D input\)"):
        norm(engine.ones(2, 4, 3, 3))
    for shape in [(1, 4), (1, 4, 1)]:
        with pytest.raises(ValueError, match="Expected more than 1 value per channel when "
                                             r"training, got input size Size\(\[1, 4"):
            norm(engine.ones(*shape))
    assert norm.num_batches_tracked.item() == 0 and norm.running_mean.tolist() == [0.0] * 4
    assert norm(engine.ones(1, 4, 2)).shape == (1, 4, 2)  # two values per channel are enough
    assert norm.eval()(engine.ones(1, 4)).shape == (1, 4)  # eval: running statistics
    unchecked = nn.BatchNorm1d(4, affine=False, track_running_stats=False)
    assert unchecked(engine.ones(3, 5)).shape == (3, 5)  # nothing of size 4 to check, as PyTorch
    with pytest.raises(RuntimeError, match="weight should contain 2 elements not 3"):
        F.batch_norm(engine.ones(3, 2), None, None, engine.ones(3), training=True)
    with pytest.raises(RuntimeError, match="must be given in evaluation mode"):
        F.batch_norm(engine.ones(3, 2), None, None)


def test_bad_input_matches_pytorchs_error_types():
    torch = pytest.importorskip("torch")
    for shape in [(3, 5), (4,), (1, 4)]:
        theirs, ours = torch.nn.BatchNorm1d(4), nn.BatchNorm1d(4)
        with pytest.raises(Exception) as expected:
            theirs(torch.ones(*shape))
        with pytest.raises(type(expected.value)):
            ours(engine.ones(*shape))


def test_batch_norm_on_device_matches_the_cpu(device):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((5, 3, 2))
    cpu, moved = nn.BatchNorm1d(3, dtype="float64"), nn.BatchNorm1d(3, dtype="float64",
                                                                      device=device)
    assert all(t.device.startswith(device) for t in [*moved.parameters(), *moved.buffers()])
    for norm, where in ((cpu, "cpu"), (moved, device)):
        norm(engine.tensor(x, device=where)).sum().backward()
    np.testing.assert_allclose(moved.running_var.numpy(), cpu.running_var.numpy(), rtol=1e-12)
    np.testing.assert_allclose(moved.weight.grad.numpy(), cpu.weight.grad.numpy(), atol=1e-12)
