"""rnn.attention: gradients, masking, agreement with PyTorch, bad input, CPU vs GPU."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import engine
from rnn.attention import (
    AdditiveAttention,
    DotProductAttention,
    MultiHeadAttention,
    additive_attention,
    dot_product_attention,
    mask_from_lengths,
    masked_softmax,
)


def randn(rng, *shape):
    return engine.tensor(rng.standard_normal(shape), requires_grad=True)  # float64


@st.composite
def problems(draw):
    """Small sizes, a seed, and a mask: None, (B, S) or (B, Q, S), rows possibly all masked."""
    B, Q, S, D, Dv = (draw(st.integers(1, 3)) for _ in range(5))
    single = draw(st.booleans())
    seed = draw(st.integers(0, 2**16))
    kind = draw(st.sampled_from(["none", "lengths", "(B, S)"] + ["(B, Q, S)"] * (not single)))
    rng = np.random.default_rng(seed)
    mask = {
        "none": None,
        "lengths": mask_from_lengths(rng.integers(1, S + 1, B), S),
        "(B, S)": rng.random((B, S)) < 0.6,
        "(B, Q, S)": rng.random((B, Q, S)) < 0.6,
    }[kind]
    return dict(B=B, Q=Q, S=S, D=D, Dv=Dv, single=single, rng=rng, mask=mask)


def inputs(p):
    rng = p["rng"]
    query_shape = (p["B"], p["D"]) if p["single"] else (p["B"], p["Q"], p["D"])
    shapes = [query_shape, (p["B"], p["S"], p["D"]), (p["B"], p["S"], p["Dv"])]
    return [randn(rng, *shape) for shape in shapes]


def check_both(fn, tensors):
    """gradcheck the context and the weights of ``fn(*tensors) -> (context, weights)``."""
    assert engine.gradcheck(lambda *a: fn(*a)[0], tensors)
    assert engine.gradcheck(lambda *a: fn(*a)[1], tensors)


def keep_of(mask, shape):
    keep = mask.numpy() if isinstance(mask, engine.Tensor) else mask
    keep = np.ones(shape, bool) if keep is None else keep
    return np.broadcast_to(keep[:, None, :] if keep.ndim == 2 else keep, shape)


# ---------------------------------------------------------------- gradients


@given(problems())
def test_dot_product_attention_gradcheck(p):
    check_both(lambda q, k, v: dot_product_attention(q, k, v, p["mask"]), inputs(p))


@given(problems(), st.integers(1, 3))
def test_additive_attention_gradcheck(p, A):
    q, k, v = inputs(p)
    rng = p["rng"]
    weights = [randn(rng, A, p["D"]), randn(rng, A, p["D"]), randn(rng, A)]
    check_both(lambda *a: additive_attention(*a, mask=p["mask"]), [q, k, v, *weights])


@given(problems(), st.sampled_from(["dot", "general", "additive"]))
def test_attention_modules_gradcheck(p, kind):
    q, k, v = inputs(p)
    rng, D = p["rng"], p["D"]
    module = {
        "dot": lambda: DotProductAttention(scale=0.7),
        "general": lambda: DotProductAttention(D + 1, D, rng=rng, dtype="float64"),
        "additive": lambda: AdditiveAttention(D + 1, D, 3, rng=rng, dtype="float64"),
    }[kind]()
    if kind != "dot":
        q = randn(rng, *q.shape[:-1], D + 1)
    check_both(lambda q, k, v, *_: module(q, k, v, p["mask"]), [q, k, v, *module.parameters()])


@st.composite
def mha_problems(draw):
    B, Q, S, heads, d = (draw(st.integers(1, 3)) for _ in range(5))
    rng = np.random.default_rng(draw(st.integers(0, 2**16)))
    return dict(B=B, Q=Q, S=S, heads=heads, E=heads * d, rng=rng,
                batch_first=draw(st.booleans()), lengths=rng.integers(1, S + 1, B))


def mha_inputs(p):
    B, Q, S, E = p["B"], p["Q"], p["S"], p["E"]
    shapes = [(B, Q, E), (B, S, E), (B, S, E)]
    if not p["batch_first"]:
        shapes = [(L, B, E) for _, L, _ in shapes]  # time-major
    return [randn(p["rng"], *shape) for shape in shapes]


@given(mha_problems(), st.booleans())
def test_multi_head_attention_gradcheck(p, with_lengths):
    mha = MultiHeadAttention(p["E"], p["heads"], batch_first=p["batch_first"], rng=p["rng"],
                             dtype="float64")
    for param in mha.parameters():  # biases start at zero; make them count
        param.data = param.data + 0.1 * p["rng"].standard_normal(param.shape)
    lengths = p["lengths"] if with_lengths else None
    check_both(lambda q, k, v, *_: mha(q, k, v, lengths=lengths, average_attn_weights=False),
               [*mha_inputs(p), *mha.parameters()])


# ---------------------------------------------------------------- masking


@given(problems())
def test_masked_keys_get_exactly_zero_weight_and_kept_ones_sum_to_one(p):
    q, k, v = inputs(p)
    context, weights = dot_product_attention(q, k, v, p["mask"])
    w = weights.numpy().reshape(p["B"], -1, p["S"])  # (B, Q, S)
    keep = keep_of(p["mask"], w.shape)
    assert (w[~keep] == 0).all()
    any_kept = keep.any(axis=-1)
    np.testing.assert_allclose(w.sum(axis=-1)[any_kept], 1.0, rtol=1e-12)
    assert (w.sum(axis=-1)[~any_kept] == 0).all()


ATTENTIONS = {
    "dot": lambda q, k, v, mask: dot_product_attention(q, k, v, mask),
    "additive": lambda q, k, v, mask: AdditiveAttention(4, 4, 5, rng=np.random.default_rng(0))(
        q, k, v, mask),
}


@pytest.mark.parametrize("kind", sorted(ATTENTIONS))
@pytest.mark.parametrize("magnitude", [1.0, 1e4])
def test_fully_masked_row_gives_zero_context_weights_and_gradient(kind, magnitude):
    rng = np.random.default_rng(0)
    q, k, v = (engine.tensor(magnitude * rng.standard_normal(shape), "float32", requires_grad=True)
               for shape in [(3, 2, 4), (3, 5, 4), (3, 5, 4)])  # huge scores too
    mask = rng.random((3, 2, 5)) < 0.5
    mask[1] = False  # every query of batch element 1 sees nothing
    mask[2, 0] = False  # the first query of element 2 sees nothing
    mask[0, :, 0] = True
    context, weights = ATTENTIONS[kind](q, k, v, mask)
    (context.sum() + (weights * weights).sum()).backward()
    for t in [context, weights, q.grad, k.grad, v.grad]:
        assert np.isfinite(t.numpy()).all()
    assert (context.numpy()[1] == 0).all() and (context.numpy()[2, 0] == 0).all()
    assert (weights.numpy()[~mask] == 0).all()
    assert (q.grad.numpy()[1] == 0).all() and (q.grad.numpy()[2, 0] == 0).all()
    assert (k.grad.numpy()[1] == 0).all() and (v.grad.numpy()[1] == 0).all()


def test_masked_softmax_is_exact_and_finite_for_extreme_scores():
    scores = engine.tensor(np.array([[1.0, 2.0, 3e38], [1e4, 1e30, -3e38]], np.float32),
                           requires_grad=True)
    keep = np.array([[True, True, False], [False, False, False]])
    weights = masked_softmax(scores, keep)
    weights.backward(engine.tensor(np.array([[1.0, -2.0, 5.0], [3.0, 4.0, 5.0]], np.float32)))
    e = np.exp([1.0, 2.0])
    np.testing.assert_allclose(weights.numpy()[0, :2], e / e.sum(), rtol=1e-6)
    assert (weights.numpy()[~keep] == 0).all() and (scores.grad.numpy()[~keep] == 0).all()
    assert np.isfinite(scores.grad.numpy()).all()


def test_multi_head_fully_masked_batch_element_outputs_the_bias():
    rng = np.random.default_rng(1)
    mha = MultiHeadAttention(4, 2, batch_first=True, rng=rng)
    mha.out_proj.bias.data = rng.standard_normal(4).astype(np.float32)
    x = engine.tensor(1e4 * rng.standard_normal((2, 3, 4)), "float32", requires_grad=True)
    padding = np.array([[False, True, True], [True, True, True]])  # True = ignore
    output, weights = mha(x, x, x, key_padding_mask=padding)
    output.sum().backward()
    np.testing.assert_array_equal(output.numpy()[1], np.tile(mha.out_proj.bias.numpy(), (3, 1)))
    assert (weights.numpy()[1] == 0).all() and (x.grad.numpy()[1] == 0).all()
    assert np.isfinite(x.grad.numpy()).all()


def test_lengths_and_key_padding_mask_agree():
    rng = np.random.default_rng(2)
    mha = MultiHeadAttention(6, 3, rng=rng)
    q, k = engine.randn(4, 2, 6, rng=rng), engine.randn(5, 2, 6, rng=rng)  # (Q, B, E), (S, B, E)
    by_lengths = mha(q, k, k, lengths=[5, 2])
    by_mask = mha(q, k, k, key_padding_mask=~mask_from_lengths([5, 2], 5).numpy())
    for a, b in zip(by_lengths, by_mask):
        np.testing.assert_array_equal(a.numpy(), b.numpy())


def test_additive_attention_matches_the_formula():
    rng = np.random.default_rng(3)
    q, k, v = (rng.standard_normal(shape) for shape in [(2, 3), (2, 4, 5), (2, 4, 2)])
    wq, wk, a = rng.standard_normal((6, 3)), rng.standard_normal((6, 5)), rng.standard_normal(6)
    scores = np.tanh((q @ wq.T)[:, None, :] + k @ wk.T) @ a  # (B, S)
    weights = np.exp(scores) / np.exp(scores).sum(axis=1, keepdims=True)
    context, got = additive_attention(*map(engine.tensor, (q, k, v, wq, wk, a)))
    np.testing.assert_allclose(got.numpy(), weights, rtol=1e-12)
    np.testing.assert_allclose(context.numpy(), np.einsum("bs,bsv->bv", weights, v), rtol=1e-12)


# ---------------------------------------------------------------- against PyTorch


@given(problems())
def test_dot_product_attention_matches_torch(p):
    torch = pytest.importorskip("torch")
    q, k, v = inputs(p)
    keep = keep_of(p["mask"], (p["B"], p["Q"] if not p["single"] else 1, p["S"])).copy()
    keep[..., 0] |= ~keep.any(axis=-1)  # PyTorch gives NaN for a row with nothing kept
    context, _ = dot_product_attention(q, k, v, keep if not p["single"] else keep[:, 0])
    context.backward(engine.tensor(np.ones(context.shape)))
    tq, tk, tv = (torch.tensor(t.numpy(), requires_grad=True) for t in (q, k, v))
    expected = torch.nn.functional.scaled_dot_product_attention(
        tq[:, None] if p["single"] else tq, tk, tv, attn_mask=torch.tensor(keep))
    expected = expected[:, 0] if p["single"] else expected
    expected.sum().backward()
    np.testing.assert_allclose(context.numpy(), expected.detach().numpy(), atol=1e-12)
    for ours, theirs in zip((q, k, v), (tq, tk, tv)):
        np.testing.assert_allclose(ours.grad.numpy(), theirs.grad.numpy(), atol=1e-12)


@given(mha_problems(), st.booleans())
def test_multi_head_attention_matches_torch(p, average):
    torch = pytest.importorskip("torch")
    mha = MultiHeadAttention(p["E"], p["heads"], batch_first=p["batch_first"], rng=p["rng"],
                             dtype="float64")
    theirs = torch.nn.MultiheadAttention(p["E"], p["heads"], batch_first=p["batch_first"],
                                         dtype=torch.float64)
    for param in mha.parameters():
        param.data = p["rng"].standard_normal(param.shape)
    theirs.load_state_dict({name: torch.tensor(a) for name, a in mha.state_dict().items()})
    q, k, v = mha_inputs(p)
    padding = ~mask_from_lengths(p["lengths"], p["S"]).numpy()  # (B, S), True = ignore
    output, weights = mha(q, k, v, key_padding_mask=padding, average_attn_weights=average)
    (output.sum() + (weights * weights).sum()).backward()
    tq, tk, tv = (torch.tensor(t.numpy(), requires_grad=True) for t in (q, k, v))
    t_output, t_weights = theirs(tq, tk, tv, key_padding_mask=torch.tensor(padding),
                                 average_attn_weights=average)
    (t_output.sum() + (t_weights * t_weights).sum()).backward()
    np.testing.assert_allclose(output.numpy(), t_output.detach().numpy(), atol=1e-10)
    np.testing.assert_allclose(weights.numpy(), t_weights.detach().numpy(), atol=1e-12)
    for ours, expected in zip((q, k, v), (tq, tk, tv)):
        np.testing.assert_allclose(ours.grad.numpy(), expected.grad.numpy(), atol=1e-10)
    t_params = dict(theirs.named_parameters())
    for name, param in mha.named_parameters():
        np.testing.assert_allclose(param.grad.numpy(), t_params[name].grad.numpy(), atol=1e-10)


# ---------------------------------------------------------------- bad input

Q3, K, V = engine.zeros(2, 3, 4), engine.zeros(2, 5, 4), engine.zeros(2, 5, 6)
W = [engine.zeros(7, 4), engine.zeros(7, 4), engine.zeros(7)]
BAD = [
    (lambda: dot_product_attention(engine.zeros(3, 4), K, V), r"batch size 3, expected 2"),
    (lambda: dot_product_attention(Q3, K, engine.zeros(2, 4, 6)), r"\(2, 5\).*got \(2, 4, 6\)"),
    (lambda: dot_product_attention(engine.zeros(2, 3, 5), K, V), r"5 features, expected D = 4"),
    (lambda: dot_product_attention(engine.zeros(4), K, V), r"\(B, Q, D\) or \(B, D\).*\(4,\)"),
    (lambda: dot_product_attention(Q3, K, V, np.ones((2, 4), bool)),
     r"\(2, 5\) or \(2, 3, 5\).*got \(2, 4\)"),
    (lambda: dot_product_attention(Q3[:, 0], K, V, np.ones((2, 3, 5), bool)),
     r"shape \(2, 5\) \(True = keep\); got \(2, 3, 5\)"),
    (lambda: additive_attention(Q3, K, V, engine.zeros(7, 3), *W[1:]),
     r"w_query.*\(7, 4\).*\(7, 3\)"),
    (lambda: AdditiveAttention(4, 3, 7)(Q3, K, V), r"w_key.*\(7, 4\).*got \(7, 3\)"),
    (lambda: DotProductAttention(3, 4)(Q3, K, V), r"4 features, expected query_size = 3"),
    (lambda: DotProductAttention(3), r"both query_size and key_size"),
    (lambda: MultiHeadAttention(6, 4), r"embed_dim 6 is not divisible by num_heads 4"),
    (lambda: MultiHeadAttention(4, 2)(Q3, K, V), r"value.*4 = embed_dim.*\(5, 2, 6\)"),
    (lambda: MultiHeadAttention(4, 2, batch_first=True)(Q3, K, K, lengths=[5, 6]),
     r"1\.\.5.*\[5, 6\]"),
    (lambda: MultiHeadAttention(4, 2, batch_first=True)(Q3, K, K, lengths=[5, 2],
                                                        key_padding_mask=np.ones((2, 5), bool)),
     r"not both"),
    (lambda: masked_softmax(engine.zeros(2, 3), np.ones((2, 4), bool)),
     r"\(2, 4\) does not broadcast to the scores' shape \(2, 3\)"),
]


@pytest.mark.parametrize("call, message", BAD)
def test_bad_input_names_expected_and_received(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_mask_must_be_bool():
    with pytest.raises(TypeError, match="mask must be bool.*int64"):
        dot_product_attention(Q3, K, V, np.ones((2, 5), dtype=np.int64))


# ---------------------------------------------------------------- devices


def test_cpu_and_device_agree(device):
    rng = np.random.default_rng(4)
    q, k, v = (randn(rng, *shape) for shape in [(2, 3, 4), (2, 5, 4), (2, 5, 4)])
    mask = rng.random((2, 5)) < 0.7
    modules = [AdditiveAttention(4, 4, 3, rng=rng, dtype="float64"),
               MultiHeadAttention(4, 2, batch_first=True, rng=rng, dtype="float64")]
    calls = [lambda q, k, v: dot_product_attention(q, k, v, mask),
             lambda q, k, v: modules[0](q, k, v, mask),
             lambda q, k, v: modules[1](q, k, v, lengths=[5, 3])]
    on_cpu = [[t.numpy() for t in call(q, k, v)] for call in calls]
    for module in modules:
        module.to(device)
    moved = [t.detach().to(device) for t in (q, k, v)]
    for call, expected in zip(calls, on_cpu):
        for got, want in zip(call(*moved), expected):
            assert got.device == engine.backend.parse_device(device)
            np.testing.assert_allclose(got.numpy(), want, atol=1e-12)
