"""rnn.attention: gradients, masking, padding of any value, fully masked rows, dropout,
bad input, CPU vs GPU. Agreement with PyTorch is in test_attention_torch.py."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import engine
from rnn.attention import (
    AdditiveAttention,
    DotProductAttention,
    additive_attention,
    dot_product_attention,
    mask_from_lengths,
    masked_softmax,
    scaled_dot_product_attention,
)
from rnn.multihead import MultiHeadAttention, MultiheadAttention
from rnn.transformer import TransformerEncoderLayer


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


@given(st.integers(0, 2**16), st.sampled_from(["none", "causal", "bool", "float", "gqa"]),
       st.booleans())
def test_scaled_dot_product_attention_gradcheck(seed, kind, float_mask_grad):
    rng = np.random.default_rng(seed)
    Hq = 4 if kind == "gqa" else 2
    q, k, v = randn(rng, 2, Hq, 3, 2), randn(rng, 2, 2, 4, 2), randn(rng, 2, 2, 4, 3)
    kw = {"none": {}, "causal": {"is_causal": True}, "gqa": {"enable_gqa": True},
          "bool": {"attn_mask": rng.random((3, 4)) < 0.7},
          "float": {"attn_mask": engine.tensor(rng.standard_normal((2, 1, 3, 4)),
                                               requires_grad=float_mask_grad)}}[kind]
    tensors = [q, k, v] + ([kw["attn_mask"]] if kind == "float" and float_mask_grad else [])
    assert engine.gradcheck(lambda q, k, v, *_: scaled_dot_product_attention(q, k, v, **kw),
                            tensors)


@st.composite
def mha_problems(draw):
    B, Q, S = (draw(st.integers(1, 3)) for _ in range(3))
    heads, d = draw(st.integers(1, 2)), draw(st.integers(1, 2))  # E <= 4: gradcheck stays quick
    rng = np.random.default_rng(draw(st.integers(0, 2**16)))
    return dict(B=B, Q=Q, S=S, heads=heads, E=heads * d, rng=rng,
                batch_first=draw(st.booleans()), lengths=rng.integers(1, S + 1, B),
                extras=draw(st.sampled_from([{}, {"add_bias_kv": True}, {"add_zero_attn": True},
                                             {"kdim": 2, "vdim": 3}])))


def mha_inputs(p):
    B, Q, S, E = p["B"], p["Q"], p["S"], p["E"]
    kdim, vdim = p["extras"].get("kdim", E), p["extras"].get("vdim", E)
    shapes = [(B, Q, E), (B, S, kdim), (B, S, vdim)]
    if not p["batch_first"]:
        shapes = [(L, B, F) for _, L, F in shapes]  # time-major
    return [randn(p["rng"], *shape) for shape in shapes]


def random_biases(mha, rng):
    for name, param in mha.named_parameters():  # biases start at zero; make them count
        if "bias" in name:
            param.data = param.data + 0.1 * rng.standard_normal(param.shape)


@pytest.mark.filterwarnings("ignore:Support for mismatched key_padding_mask")
@given(mha_problems(), st.booleans())
def test_multihead_attention_gradcheck(p, with_lengths):
    mha = MultiheadAttention(p["E"], p["heads"], batch_first=p["batch_first"], rng=p["rng"],
                             dtype="float64", **p["extras"])
    random_biases(mha, p["rng"])
    lengths = p["lengths"] if with_lengths else None
    attn_mask = p["rng"].standard_normal((p["Q"], p["S"]))  # float: added to the scores
    check_both(lambda q, k, v, *_: mha(q, k, v, lengths=lengths, attn_mask=attn_mask,
                                       average_attn_weights=False),
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
    "sdpa": lambda q, k, v, mask: (scaled_dot_product_attention(q, k, v, attn_mask=mask),
                                   engine.zeros(*mask.shape)),  # it returns no weights
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


@pytest.mark.parametrize("need_weights", [True, False])
def test_multihead_fully_masked_batch_element_outputs_the_bias(need_weights):
    rng = np.random.default_rng(1)
    mha = MultiheadAttention(4, 2, batch_first=True, rng=rng)
    mha.out_proj.bias.data = rng.standard_normal(4).astype(np.float32)
    x = engine.tensor(1e4 * rng.standard_normal((2, 3, 4)), "float32", requires_grad=True)
    padding = np.array([[False, True, True], [True, True, True]])  # True = ignore
    output, weights = mha(x, x, x, key_padding_mask=padding, need_weights=need_weights)
    output.sum().backward()
    np.testing.assert_array_equal(output.numpy()[1], np.tile(mha.out_proj.bias.numpy(), (3, 1)))
    assert (x.grad.numpy()[1] == 0).all() and np.isfinite(x.grad.numpy()).all()
    assert weights is None if not need_weights else (weights.numpy()[1] == 0).all()


def test_lengths_and_key_padding_mask_agree():
    rng = np.random.default_rng(2)
    mha = MultiheadAttention(6, 3, rng=rng)
    q, k = engine.randn(4, 2, 6, rng=rng), engine.randn(5, 2, 6, rng=rng)  # (Q, B, E), (S, B, E)
    by_lengths = mha(q, k, k, lengths=[5, 2])
    by_mask = mha(q, k, k, key_padding_mask=~mask_from_lengths([5, 2], 5).numpy())
    by_float = mha(q, k, k, key_padding_mask=np.where(~mask_from_lengths([5, 2], 5).numpy(),
                                                      -np.inf, 0.0).astype(np.float32))
    for a, b, c in zip(by_lengths, by_mask, by_float):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
        np.testing.assert_array_equal(a.numpy(), c.numpy())


def test_additive_attention_matches_the_formula():
    rng = np.random.default_rng(3)
    q, k, v = (rng.standard_normal(shape) for shape in [(2, 3), (2, 4, 5), (2, 4, 2)])
    wq, wk, a = rng.standard_normal((6, 3)), rng.standard_normal((6, 5)), rng.standard_normal(6)
    scores = np.tanh((q @ wq.T)[:, None, :] + k @ wk.T) @ a  # (B, S)
    weights = np.exp(scores) / np.exp(scores).sum(axis=1, keepdims=True)
    context, got = additive_attention(*map(engine.tensor, (q, k, v, wq, wk, a)))
    np.testing.assert_allclose(got.numpy(), weights, rtol=1e-12)
    np.testing.assert_allclose(context.numpy(), np.einsum("bs,bsv->bv", weights, v), rtol=1e-12)


def test_the_earlier_name_is_the_same_class():
    assert MultiHeadAttention is MultiheadAttention


# ---------------------------------------------------------------- padding of any value

ANY = st.floats(allow_nan=True, allow_infinity=True, width=64)  # NaN, inf, 1e308, -0.0, ...


def run_and_grads(fn, tensors):
    """The outputs of ``fn`` and the gradients of a fixed weighted sum of them."""
    for t in tensors:
        t.grad = None
    outs = fn(*tensors)
    outs = [o for o in (outs if isinstance(outs, tuple) else (outs,)) if o is not None]
    rng = np.random.default_rng(0)
    total = sum((o * engine.tensor(rng.standard_normal(o.shape))).sum() for o in outs)
    total.backward()
    return [o.numpy() for o in outs] + [np.zeros(t.shape) if t.grad is None else t.grad.numpy()
                                        for t in tensors]


def assert_same(a, b):
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x, y)


def poisoned(arrays, padded, value):
    """Copies of ``arrays`` (..., S, F) with the rows where ``padded`` (..., S) is True set to
    ``value``, as leaf Tensors."""
    out = []
    for a in arrays:
        a = a.copy()
        a[padded] = value
        out.append(engine.tensor(a, requires_grad=True))
    return out


@given(ANY, st.integers(0, 2**16), st.sampled_from(["dot", "additive"]))
def test_padded_keys_and_values_of_any_value_change_nothing(value, seed, kind):
    rng = np.random.default_rng(seed)
    q = rng.standard_normal((2, 3, 4))
    k, v = rng.standard_normal((2, 5, 4)), rng.standard_normal((2, 5, 4))
    mask = mask_from_lengths([5, 2], 5).numpy()  # (B, S), True = keep
    additive = AdditiveAttention(4, 4, 5, rng=rng, dtype="float64")
    attend = {"dot": lambda q, k, v: dot_product_attention(q, k, v, mask),
              "additive": lambda q, k, v: additive(q, k, v, mask)}[kind]
    clean = run_and_grads(attend, [engine.tensor(q, requires_grad=True),
                                   *poisoned([k, v], ~mask, 0.0)])
    dirty = run_and_grads(attend, [engine.tensor(q, requires_grad=True),
                                   *poisoned([k, v], ~mask, value)])
    assert_same(clean, dirty)
    assert np.isfinite(np.concatenate([a.ravel() for a in dirty])).all()


@given(ANY, st.integers(0, 2**16), st.sampled_from(["bool", "float", "lengths"]),
       st.booleans())
def test_multihead_padded_keys_of_any_value_change_no_output_or_gradient(value, seed, kind,
                                                                         key_is_value):
    rng = np.random.default_rng(seed)
    mha = MultiheadAttention(4, 2, batch_first=True, rng=rng, dtype="float64")
    random_biases(mha, rng)
    q, kv = rng.standard_normal((3, 2, 4)), rng.standard_normal((2, 3, 5, 4))
    lengths = np.array([5, 3, 1])
    padded = ~mask_from_lengths(lengths, 5).numpy()  # (B, S), True = ignore
    kpm = {"bool": padded, "float": np.where(padded, -np.inf, 0.1), "lengths": None}[kind]
    extra = {"lengths": lengths} if kind == "lengths" else {"key_padding_mask": kpm}

    def attend(query, key, value):
        return mha(query, key, key if key_is_value else value, **extra)

    results = []
    for fill in (0.0, value):
        tensors = [engine.tensor(q, requires_grad=True), *poisoned(kv, padded, fill)]
        results.append(run_and_grads(attend, tensors) +
                       [p.grad.numpy() for p in mha.parameters()])
        mha.zero_grad()
    assert_same(*results)
    assert all(np.isfinite(a).all() for a in results[1])


@given(ANY, st.integers(0, 2**16))
def test_sdpa_keys_no_query_attends_to_change_nothing(value, seed):
    rng = np.random.default_rng(seed)
    q, k, v = (rng.standard_normal(shape) for shape in [(2, 3, 4, 2), (2, 3, 5, 2), (2, 3, 5, 3)])
    keep = rng.random((2, 1, 4, 5)) < 0.7
    keep[:, :, :, 1:3] = False  # keys 1 and 2 are masked for every query
    keep[:, :, :, 0] = True
    dead = np.zeros((2, 3, 5), bool)
    dead[:, :, 1:3] = True
    results = [run_and_grads(lambda *a: scaled_dot_product_attention(*a, attn_mask=keep),
                             [engine.tensor(q, requires_grad=True), *poisoned([k, v], dead, fill)])
               for fill in (0.0, value)]
    assert_same(*results)
    assert (results[1][2][dead] == 0).all() and (results[1][3][dead] == 0).all()


# ---------------------------------------------------------------- dropout


def test_dropout_draws_from_the_default_generator_and_scales_the_kept_weights():
    rng = np.random.default_rng(5)
    mha = MultiheadAttention(4, 2, dropout=0.5, batch_first=True, rng=rng, dtype="float64")
    x = engine.tensor(rng.standard_normal((2, 6, 4)))
    engine.manual_seed(3)
    a = mha(x, x, x, average_attn_weights=False)
    engine.manual_seed(3)
    b = mha(x, x, x, average_attn_weights=False)
    c = mha(x, x, x, average_attn_weights=False)
    assert_same([t.numpy() for t in a], [t.numpy() for t in b])
    assert not np.array_equal(a[1].numpy(), c[1].numpy())
    clean = mha.eval()(x, x, x, average_attn_weights=False)[1].numpy()
    dropped = a[1].numpy()
    assert set(np.round(dropped[dropped != 0] / clean[dropped != 0], 12)) == {2.0}
    assert 0.3 < (dropped == 0).mean() < 0.7


def test_gradcheck_with_dropout_under_a_fixed_seed():
    rng = np.random.default_rng(6)
    q, k, v = randn(rng, 2, 3, 2), randn(rng, 2, 4, 2), randn(rng, 2, 4, 2)

    def attend(q, k, v):
        engine.manual_seed(0)  # the same mask at every evaluation
        return scaled_dot_product_attention(q, k, v, dropout_p=0.4)

    assert engine.gradcheck(attend, [q, k, v])


# ---------------------------------------------------------------- bad input

Q3, K, V = engine.zeros(2, 3, 4), engine.zeros(2, 5, 4), engine.zeros(2, 5, 6)
W = [engine.zeros(7, 4), engine.zeros(7, 4), engine.zeros(7)]
BAD = [
    (lambda: dot_product_attention(engine.zeros(3, 4), K, V), ValueError,
     r"batch size 3, expected 2"),
    (lambda: dot_product_attention(Q3, K, engine.zeros(2, 4, 6)), ValueError,
     r"\(2, 5\).*got \(2, 4, 6\)"),
    (lambda: dot_product_attention(engine.zeros(2, 3, 5), K, V), ValueError,
     r"5 features, expected D = 4"),
    (lambda: dot_product_attention(engine.zeros(4), K, V), ValueError,
     r"\(B, Q, D\) or \(B, D\).*\(4,\)"),
    (lambda: dot_product_attention(Q3, K, V, np.ones((2, 4), bool)), ValueError,
     r"\(2, 5\) or \(2, 3, 5\).*got \(2, 4\)"),
    (lambda: dot_product_attention(Q3[:, 0], K, V, np.ones((2, 3, 5), bool)), ValueError,
     r"shape \(2, 5\) \(True = keep\); got \(2, 3, 5\)"),
    (lambda: dot_product_attention(Q3, K, V, np.ones((2, 5), dtype=np.int64)), TypeError,
     "mask must be bool.*int64"),
    (lambda: additive_attention(Q3, K, V, engine.zeros(7, 3), *W[1:]), ValueError,
     r"w_query.*\(7, 4\).*\(7, 3\)"),
    (lambda: AdditiveAttention(4, 3, 7)(Q3, K, V), ValueError, r"w_key.*\(7, 4\).*got \(7, 3\)"),
    (lambda: DotProductAttention(3, 4)(Q3, K, V), ValueError,
     r"4 features, expected query_size = 3"),
    (lambda: DotProductAttention(3), ValueError, r"both query_size and key_size"),
    (lambda: masked_softmax(engine.zeros(2, 3), np.ones((2, 4), bool)), ValueError,
     r"\(2, 4\) does not broadcast to the scores' shape \(2, 3\)"),
    (lambda: MultiheadAttention(6, 4), AssertionError,
     r"embed_dim must be divisible by num_heads.*6.*4"),
    (lambda: MultiheadAttention(0, 1), ValueError, r"greater than 0.*embed_dim=0"),
    (lambda: MultiheadAttention(4, 0), ValueError, r"greater than 0.*num_heads=0"),
    (lambda: MultiheadAttention(4, -2), ValueError, r"greater than 0.*num_heads=-2"),
    (lambda: TransformerEncoderLayer(4, -1), ValueError, r"greater than 0.*num_heads=-1"),
    (lambda: MultiheadAttention(4, 2)(Q3, K, V), AssertionError,
     r"value features of 4, but got shape \(2, 5, 6\)"),
    (lambda: MultiheadAttention(4, 2)(Q3, K[0], K), AssertionError,
     r"expected `key` and `value` to be 3-D but found 2-D and 3-D"),
    (lambda: MultiheadAttention(4, 2, batch_first=True)(Q3, K, K, lengths=[5, 6]),
     ValueError, r"1\.\.5.*\[5, 6\]"),
    (lambda: MultiheadAttention(4, 2, batch_first=True)(
        Q3, K, K, lengths=[5, 2], key_padding_mask=np.ones((2, 5), bool)), ValueError,
     r"not both"),
    (lambda: MultiheadAttention(4, 2, batch_first=True)(
        Q3, K, K, key_padding_mask=np.ones((2, 4), bool)), AssertionError,
     r"key_padding_mask of shape \(2, 5\).*got \(2, 4\)"),
    (lambda: MultiheadAttention(4, 2, batch_first=True)(
        Q3, K, K, attn_mask=np.ones((3, 4), bool)), RuntimeError,
     r"2D attn_mask is \(3, 4\), but should be \(3, 5\)"),
    (lambda: MultiheadAttention(4, 2, batch_first=True)(
        Q3, K, K, attn_mask=np.ones((2, 3, 5), bool)), RuntimeError,
     r"3D attn_mask is \(2, 3, 5\), but should be \(4, 3, 5\)"),
    (lambda: MultiheadAttention(4, 2, batch_first=True)(
        Q3, K, K, attn_mask=np.ones((3, 5), np.int64)), AssertionError,
     r"only bool and floating types of attn_mask"),
    (lambda: MultiheadAttention(4, 2, batch_first=True)(Q3, K, K, is_causal=True),
     RuntimeError, r"Need attn_mask if specifying the is_causal hint"),
    (lambda: scaled_dot_product_attention(Q3, K, K, attn_mask=np.ones((3, 5), bool),
                                          is_causal=True), RuntimeError,
     "Explicit attn_mask should not be set when is_causal=True"),
    (lambda: scaled_dot_product_attention(Q3, K, V[:, :4]), RuntimeError,
     r"key \(\.\.\., S, E\).*\(2, 5, 4\) and \(2, 4, 6\)"),
    (lambda: scaled_dot_product_attention(engine.zeros(1, 3, 2, 4), engine.zeros(1, 2, 5, 4),
                                          engine.zeros(1, 2, 5, 4), enable_gqa=True),
     RuntimeError, r"multiple of key's"),
]


@pytest.mark.parametrize("call, error, message", BAD)
def test_bad_input_names_expected_and_received(call, error, message):
    with pytest.raises(error, match=message):
        call()


# ---------------------------------------------------------------- devices


def test_cpu_and_device_agree(device):
    rng = np.random.default_rng(4)
    q, k, v = (randn(rng, *shape) for shape in [(2, 3, 4), (2, 5, 4), (2, 5, 4)])
    mask = rng.random((2, 5)) < 0.7
    modules = [AdditiveAttention(4, 4, 3, rng=rng, dtype="float64"),
               MultiheadAttention(4, 2, batch_first=True, rng=rng, dtype="float64")]
    calls = [lambda q, k, v: dot_product_attention(q, k, v, mask),
             lambda q, k, v: modules[0](q, k, v, mask),
             lambda q, k, v: modules[1](q, k, v, lengths=[5, 3]),
             lambda q, k, v: (scaled_dot_product_attention(q, k, v, attn_mask=mask[:, None]),)]
    on_cpu = [[t.numpy() for t in call(q, k, v)] for call in calls]
    for module in modules:
        module.to(device)
    moved = [t.detach().to(device) for t in (q, k, v)]
    for call, expected in zip(calls, on_cpu):
        for got, want in zip(call(*moved), expected):
            assert got.device == engine.backend.parse_device(device)
            np.testing.assert_allclose(got.numpy(), want, atol=1e-12)
