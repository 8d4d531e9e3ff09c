"""Against PyTorch (skipped without it): the same weights give the same outputs and the same
gradients of the input, the initial state and every parameter, in float64."""

import itertools

import numpy as np
import pytest

import engine
from tests.rnn.common import KINDS, leaves, make_cell, make_layer

torch = pytest.importorskip("torch")

TORCH_CELLS = {
    "rnn_tanh": lambda i, h, bias: torch.nn.RNNCell(i, h, bias, nonlinearity="tanh"),
    "rnn_relu": lambda i, h, bias: torch.nn.RNNCell(i, h, bias, nonlinearity="relu"),
    "lstm": lambda i, h, bias: torch.nn.LSTMCell(i, h, bias),
    "gru": lambda i, h, bias: torch.nn.GRUCell(i, h, bias),
}
TORCH_LAYERS = {
    "rnn_tanh": lambda *a, **kw: torch.nn.RNN(*a, nonlinearity="tanh", **kw),
    "rnn_relu": lambda *a, **kw: torch.nn.RNN(*a, nonlinearity="relu", **kw),
    "lstm": torch.nn.LSTM,
    "gru": torch.nn.GRU,
}


def run_both(ours, theirs, our_inputs, their_inputs, call_ours, call_theirs):
    """Forward both, backward the same weighted sum of every output, compare everything."""
    ours.load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()})
    our_out, their_out = leaves(call_ours(*our_inputs)), leaves(call_theirs(*their_inputs))
    rng = np.random.default_rng(1)
    weights = [rng.standard_normal(t.shape) for t in our_out]
    sum((t * w).sum() for t, w in zip(our_out, weights)).backward()
    sum((t * torch.from_numpy(w)).sum() for t, w in zip(their_out, weights)).backward()
    for a, b in zip(our_out, their_out):
        np.testing.assert_allclose(a.numpy(), b.detach().numpy(), rtol=1e-10, atol=1e-12)
    for a, b in zip(our_inputs, their_inputs):
        np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), rtol=1e-10, atol=1e-12)
    their_params = dict(theirs.named_parameters())
    for name, param in ours.named_parameters():
        np.testing.assert_allclose(param.grad.numpy(), their_params[name].grad.numpy(),
                                   rtol=1e-10, atol=1e-12, err_msg=name)


def pair(array):
    """The same values as our Tensor and as a torch tensor, both leaves requiring grad."""
    return (engine.Tensor(array, requires_grad=True),
            torch.tensor(array, dtype=torch.float64, requires_grad=True))


@pytest.mark.parametrize("kind", sorted(TORCH_CELLS))
@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("unbatched", [False, True])
def test_cells_match_pytorch(kind, bias, unbatched):
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    batch = () if unbatched else (3,)
    ours, theirs = make_cell(kind, 4, 5, bias=bias), TORCH_CELLS[kind](4, 5, bias).double()
    count = KINDS[kind].states
    arrays = [rng.standard_normal((*batch, 4))] + [rng.standard_normal((*batch, 5))
                                                   for _ in range(count)]
    (x, tx), *states = [pair(a) for a in arrays]
    our_state = states[0][0] if count == 1 else (states[0][0], states[1][0])
    their_state = states[0][1] if count == 1 else (states[0][1], states[1][1])
    run_both(ours, theirs, [x, *leaves(our_state)], [tx, *leaves(their_state)],
             lambda x, *s: ours(x, our_state), lambda x, *s: theirs(x, their_state))


LAYER_OPTIONS = [
    {"num_layers": layers, "bidirectional": bidirectional, "batch_first": batch_first}
    for layers, bidirectional, batch_first in itertools.product([1, 2], *[[False, True]] * 2)
]


@pytest.mark.parametrize("kind", sorted(TORCH_LAYERS))
@pytest.mark.parametrize("options", LAYER_OPTIONS, ids=lambda o: "-".join(
    f"{k}={v}" for k, v in o.items()))
@pytest.mark.parametrize("lengths", [None, [2, 4, 1]])
@pytest.mark.parametrize("fused", [True, False], ids=["fused", "composed"])
def test_layers_match_pytorch(kind, options, lengths, fused):
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    steps, batch, hidden = 4, 3, 5
    ours = make_layer(kind, 2, hidden, fused=fused, **options)
    theirs = TORCH_LAYERS[kind](2, hidden, **options).double()
    x_shape = (batch, steps, 2) if options["batch_first"] else (steps, batch, 2)
    state_shape = (options["num_layers"] * (2 if options["bidirectional"] else 1), batch, hidden)
    (x, tx), *states = [pair(rng.standard_normal(s))
                        for s in [x_shape] + [state_shape] * KINDS[kind].states]
    hx = states[0][0] if len(states) == 1 else (states[0][0], states[1][0])
    thx = states[0][1] if len(states) == 1 else (states[0][1], states[1][1])

    def call_theirs(tx, *_):
        if lengths is None:
            return theirs(tx, thx)
        pack = torch.nn.utils.rnn
        packed = pack.pack_padded_sequence(tx, torch.tensor(lengths),
                                           batch_first=options["batch_first"],
                                           enforce_sorted=False)
        out, h_n = theirs(packed, thx)
        out, _ = pack.pad_packed_sequence(out, batch_first=options["batch_first"],
                                          total_length=steps)
        return out, h_n

    run_both(ours, theirs, [x, *leaves(hx)], [tx, *leaves(thx)],
             lambda x, *_: ours(x, hx, lengths=lengths), call_theirs)


@pytest.mark.parametrize("kind", sorted(TORCH_LAYERS))
def test_unbatched_layers_match_pytorch(kind):
    torch.manual_seed(0)
    ours = make_layer(kind, 2, 3, num_layers=2, bidirectional=True)
    theirs = TORCH_LAYERS[kind](2, 3, num_layers=2, bidirectional=True).double()
    x, tx = pair(np.random.default_rng(0).standard_normal((4, 2)))
    run_both(ours, theirs, [x], [tx], lambda x: ours(x), lambda tx: theirs(tx))


@pytest.mark.parametrize("kind", sorted(TORCH_LAYERS))
@pytest.mark.parametrize("fused", [True, False], ids=["fused", "composed"])
def test_edge_inputs_behave_as_in_pytorch(kind, fused):
    """An empty batch runs and gives empty results; T = 0 and a state of another dtype
    (int64, float32 for float64 weights) raise: PyTorch's rule, on both of our paths."""
    ours = make_layer(kind, 2, 3, num_layers=2, bidirectional=True, fused=fused)
    theirs = TORCH_LAYERS[kind](2, 3, num_layers=2, bidirectional=True).double()
    ours.load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()})
    out, final = ours(engine.zeros(5, 0, 2, dtype="float64"))
    their_out, their_final = theirs(torch.zeros(5, 0, 2, dtype=torch.float64))
    assert out.shape == tuple(their_out.shape)
    assert [t.shape for t in leaves(final)] == [tuple(t.shape) for t in leaves(their_final)]

    def raises(layer, *args):
        try:
            layer(*args)
        except (RuntimeError, ValueError) as error:
            return type(error)
        return None

    assert raises(ours, engine.zeros(0, 2, 2, dtype="float64")) is raises(
        theirs, torch.zeros(0, 2, 2, dtype=torch.float64)) is RuntimeError
    for dtype in ("int64", "float32"):
        h = engine.zeros(4, 2, 3, dtype=dtype)
        th = torch.zeros(4, 2, 3, dtype=getattr(torch, dtype))
        assert raises(ours, engine.zeros(5, 2, 2, dtype="float64"),
                      (h, h) if kind == "lstm" else h) is raises(
            theirs, torch.zeros(5, 2, 2, dtype=torch.float64),
            (th, th) if kind == "lstm" else th) is RuntimeError
