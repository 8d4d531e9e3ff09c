"""rnn.attention against PyTorch, in float64: scaled_dot_product_attention with every mask
kind, dot_product_attention, and MultiheadAttention with every option and mask, loaded
from PyTorch's state dict, outputs, weights and every gradient, in training mode with
dropout 0 and in evaluation mode."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import engine
from rnn.attention import dot_product_attention, scaled_dot_product_attention
from rnn.multihead import MultiheadAttention

torch = pytest.importorskip("torch")

TOL = dict(rtol=1e-10, atol=1e-10)


def both(rng, *shape):
    """The same float64 values as our leaf Tensor and PyTorch's."""
    a = rng.standard_normal(shape)
    return engine.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)


def close(ours, theirs, what):
    np.testing.assert_allclose(ours.numpy(), theirs.detach().numpy(), err_msg=what, **TOL)


def weighted_sum(outputs, rng):
    """The same random weighting of each output, as (ours, theirs) scalars."""
    ours, theirs = 0, 0
    for o, t in outputs:
        w = rng.standard_normal(o.shape)
        ours, theirs = ours + (o * engine.tensor(w)).sum(), theirs + (t * torch.tensor(w)).sum()
    return ours, theirs


# ---------------------------------------------------------------- scaled_dot_product_attention


@st.composite
def sdpa_cases(draw):
    N, Hk, L, S, E, Ev = (draw(st.integers(1, 3)) for _ in range(6))
    kind = draw(st.sampled_from(["none", "causal", "bool", "bool-broadcast", "float",
                                 "float-inf", "gqa", "scale"]))
    return dict(N=N, Hk=Hk, L=L, S=S, E=E, Ev=Ev, kind=kind,
                seed=draw(st.integers(0, 2**16)), unbatched=draw(st.booleans()))


@settings(max_examples=50)
@given(sdpa_cases())
def test_scaled_dot_product_attention_matches_torch(c):
    rng = np.random.default_rng(c["seed"])
    kind, L, S = c["kind"], c["L"], c["S"]
    Hq = 2 * c["Hk"] if kind == "gqa" else c["Hk"]
    lead_q, lead_k = ((), ()) if c["unbatched"] and kind != "gqa" else ((c["N"], Hq),
                                                                          (c["N"], c["Hk"]))
    (q, tq), (k, tk), (v, tv) = (both(rng, *lead_q, L, c["E"]), both(rng, *lead_k, S, c["E"]),
                                 both(rng, *lead_k, S, c["Ev"]))
    mask = None
    if kind.startswith("bool"):
        mask = rng.random((L, S) if kind == "bool" else (*lead_q[:1], 1, L, S)) < 0.7
    elif kind.startswith("float"):
        mask = rng.standard_normal((*lead_q, L, S))
        if kind == "float-inf":
            mask[..., rng.random((L, S)) < 0.3] = -np.inf  # whole rows, some of them
    kw = {"causal": {"is_causal": True}, "gqa": {"enable_gqa": True},
          "scale": {"scale": 0.37}}.get(kind, {})
    try:
        theirs = torch.nn.functional.scaled_dot_product_attention(
            tq, tk, tv, attn_mask=None if mask is None else torch.tensor(mask), **kw)
    except RuntimeError:  # a mask that does not fit the scores (unbatched, broadcast)
        with pytest.raises(RuntimeError, match="attn_mask of shape"):
            scaled_dot_product_attention(q, k, v, attn_mask=mask, **kw)
        return
    ours = scaled_dot_product_attention(q, k, v, attn_mask=mask, **kw)
    close(ours, theirs, "output")
    a, b = weighted_sum([(ours, theirs)], rng)
    a.backward()
    b.backward()
    for name, x, t in (("query", q, tq), ("key", k, tk), ("value", v, tv)):
        close(x.grad, t.grad, f"{name}.grad")


def test_dot_product_attention_is_torch_with_the_mask_inverted_nowhere():
    rng = np.random.default_rng(0)
    (q, tq), (k, tk), (v, tv) = both(rng, 3, 4, 5), both(rng, 3, 6, 5), both(rng, 3, 6, 2)
    keep = rng.random((3, 4, 6)) < 0.6  # True = keep, the same convention as torch's here
    ours, _ = dot_product_attention(q, k, v, keep)
    theirs = torch.nn.functional.scaled_dot_product_attention(tq, tk, tv,
                                                              attn_mask=torch.tensor(keep))
    close(ours, theirs, "context")
    ours.sum().backward()
    theirs.sum().backward()
    for x, t in ((q, tq), (k, tk), (v, tv)):
        close(x.grad, t.grad, "grad")


# ---------------------------------------------------------------- MultiheadAttention


@st.composite
def mha_cases(draw):
    N, L, S, H, d = (draw(st.integers(1, 3)) for _ in range(5))
    inputs = draw(st.sampled_from(["self", "key is value", "cross", "kdim"]))
    return dict(
        N=N, L=S if inputs == "self" else L, S=S, H=H, E=H * d, inputs=inputs,
        batch_first=draw(st.booleans()), bias=draw(st.booleans()),
        add_bias_kv=draw(st.booleans()), add_zero_attn=draw(st.booleans()),
        unbatched=draw(st.booleans()), mask_type=draw(st.sampled_from(["bool", "float"])),
        kpm=draw(st.booleans()), attn_mask=draw(st.sampled_from([None, "2-D", "3-D"])),
        need_weights=draw(st.booleans()), average=draw(st.booleans()),
        mode=draw(st.sampled_from(["train", "eval"])), seed=draw(st.integers(0, 2**16)))


def mask_of(rng, shape, kind, keep_first):
    """A bool (True = ignore) or float mask; column 0 never masked, so no row is empty
    (PyTorch gives NaN there, we give zeros: test_attention checks ours)."""
    ignore = rng.random(shape) < 0.35
    if keep_first:
        ignore[..., 0] = False
    if kind == "bool":
        return ignore
    return np.where(ignore, -np.inf, rng.standard_normal(shape))


@settings(max_examples=100)  # many options to cover; each example is cheap
@given(mha_cases())
def test_multihead_attention_matches_torch(c):
    rng = np.random.default_rng(c["seed"])
    E, H, N, L, S = c["E"], c["H"], c["N"], c["L"], c["S"]
    dims = {"kdim": E + 1, "vdim": E + 2} if c["inputs"] == "kdim" else {}
    options = dict(bias=c["bias"], add_bias_kv=c["add_bias_kv"],
                   add_zero_attn=c["add_zero_attn"], batch_first=c["batch_first"], **dims)
    theirs = torch.nn.MultiheadAttention(E, H, dropout=0.0, dtype=torch.float64, **options)
    with torch.no_grad():
        for p in theirs.parameters():
            p.copy_(torch.tensor(rng.standard_normal(p.shape)))
    ours = MultiheadAttention(E, H, dtype="float64", **options)
    ours.load_state_dict(theirs.state_dict())
    getattr(ours, c["mode"])()
    getattr(theirs, c["mode"])()

    def seq(length, features):
        if c["unbatched"]:
            return (length, features)
        return (N, length, features) if c["batch_first"] else (length, N, features)

    (q, tq) = both(rng, *seq(L, E))
    if c["inputs"] == "self":
        (k, tk), (v, tv) = (q, tq), (q, tq)
    else:
        (k, tk) = both(rng, *seq(S, dims.get("kdim", E)))
        (v, tv) = (k, tk) if c["inputs"] == "key is value" else both(rng,
                                                                    *seq(S, dims.get("vdim", E)))
    masks = {}
    if c["kpm"]:
        masks["key_padding_mask"] = mask_of(rng, (S,) if c["unbatched"] else (N, S),
                                            c["mask_type"], keep_first=True)
    if c["attn_mask"]:
        heads = (H,) if c["unbatched"] else (N * H,)
        shape = (L, S) if c["attn_mask"] == "2-D" else (*heads, L, S)
        masks["attn_mask"] = mask_of(rng, shape, c["mask_type"], keep_first=True)
    kw = dict(need_weights=c["need_weights"], average_attn_weights=c["average"])
    out, weights = ours(q, k, v, **masks, **kw)
    t_out, t_weights = theirs(tq, tk, tv, **{n: torch.tensor(m) for n, m in masks.items()}, **kw)
    close(out, t_out, "attn_output")
    pairs = [(out, t_out)]
    if c["need_weights"]:
        close(weights, t_weights, "attn_weights")
        pairs.append((weights, t_weights))
    else:
        assert weights is None and t_weights is None
    a, b = weighted_sum(pairs, rng)
    a.backward()
    b.backward()
    for name, x, t in (("query", q, tq), ("key", k, tk), ("value", v, tv)):
        close(x.grad, t.grad, f"{name}.grad")
    t_params = dict(theirs.named_parameters())
    assert sorted(t_params) == sorted(name for name, _ in ours.named_parameters())
    for name, param in ours.named_parameters():
        close(param.grad, t_params[name].grad, f"{name}.grad")


def test_state_dict_keys_and_shapes_are_torchs():
    for options in ({}, {"kdim": 3, "vdim": 5}, {"add_bias_kv": True, "bias": False}):
        theirs = torch.nn.MultiheadAttention(8, 2, **options)
        ours = MultiheadAttention(8, 2, **options)
        assert [(k, tuple(v.shape)) for k, v in ours.state_dict().items()] == [
            (k, tuple(v.shape)) for k, v in theirs.state_dict().items()]
        theirs.load_state_dict({k: torch.tensor(v.numpy()) for k, v in ours.state_dict().items()})


def test_initialisation_follows_torchs_distributions():
    ours = MultiheadAttention(64, 4, add_bias_kv=True, rng=0)
    bound = np.sqrt(6 / (64 + 3 * 64))  # xavier uniform over the (3E, E) in_proj_weight
    w = ours.in_proj_weight.numpy()
    assert np.abs(w).max() <= bound and np.abs(w).max() > 0.95 * bound
    assert (ours.in_proj_bias.numpy() == 0).all() and (ours.out_proj.bias.numpy() == 0).all()
    assert abs(ours.bias_k.numpy().std() - np.sqrt(2 / 128)) < 0.06


def test_torchs_inference_fast_path_gives_the_same_outputs():
    rng = np.random.default_rng(1)
    theirs = torch.nn.MultiheadAttention(8, 2, batch_first=True, dtype=torch.float64).eval()
    with torch.no_grad():
        theirs.in_proj_bias.normal_()
        theirs.out_proj.bias.normal_()
    ours = MultiheadAttention(8, 2, batch_first=True, dtype="float64")
    ours.load_state_dict(theirs.state_dict())
    x = rng.standard_normal((3, 5, 8))
    padding = np.array([[False] * 5, [False] * 3 + [True] * 2, [False] + [True] * 4])
    with torch.no_grad():  # torch._native_multi_head_attention
        t_out, t_weights = theirs(*[torch.tensor(x)] * 3, key_padding_mask=torch.tensor(padding))
    out, weights = ours(*[engine.tensor(x)] * 3, key_padding_mask=padding)
    close(out, t_out, "attn_output")
    close(weights, t_weights, "attn_weights")
