"""rnn.transformer and rnn.positional: PyTorch parity in float64 (each layer, the stacks and
the whole Transformer, batch_first and norm_first both ways, relu, gelu and a callable,
every mask, dropout 0 in training mode and evaluation mode), gradcheck of one encoder
layer, padding of any value, the masks and encodings, bad input."""

import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import engine
import nn
from rnn.positional import LearnedPositionalEncoding, PositionalEncoding, sinusoids
from rnn.transformer import (
    Transformer,
    TransformerDecoder,
    TransformerDecoderLayer,
    TransformerEncoder,
    TransformerEncoderLayer,
    generate_square_subsequent_mask,
)

torch = pytest.importorskip("torch")

TOL = dict(rtol=1e-9, atol=1e-9)
ACTIVATIONS = {"relu": ("relu", "relu"), "gelu": ("gelu", "gelu"),
               "callable": (engine.tanh, torch.tanh)}


def load_random(theirs, ours, rng):
    """Random weights (biases and norms too, so that each counts) into both models."""
    with torch.no_grad():
        for p in theirs.parameters():
            p.copy_(torch.tensor(0.5 * rng.standard_normal(p.shape)))
    ours.load_state_dict(theirs.state_dict())


def both(rng, shape):
    a = rng.standard_normal(shape)
    return engine.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)


def sequence(c, length, N):
    if c.get("unbatched"):
        return (length, c["E"])
    return (N, length, c["E"]) if c["batch_first"] else (length, N, c["E"])


def valid_rows(c, padding, length, N):
    """Bool (like the output's leading axes): True at positions that are not padding."""
    if c.get("unbatched"):
        return np.ones(length, bool) if padding is None else ~padding.reshape(length)
    valid = np.ones((N, length), bool) if padding is None else ~padding.reshape(N, length)
    return valid if c["batch_first"] else valid.T


def padding_mask(rng, c, N, T):
    """A key padding mask (N, T) (or (T,) unbatched), position 0 never padded, bool or float."""
    if not c["padding"]:
        return None
    padded = rng.random((N, T)) < 0.35
    padded[:, 0] = False
    padded = padded[0] if c.get("unbatched") else padded
    return padded if c["mask_type"] == "bool" else np.where(padded, -np.inf, 0.0)


def square_mask(rng, c, T):
    """An attention mask (T, T): None, causal (float), random bool or float (column 0 kept)."""
    kind = c["attn_mask"]
    if kind is None:
        return None
    if kind == "causal":
        return generate_square_subsequent_mask(T, dtype="float64").numpy()
    ignore = rng.random((T, T)) < 0.3
    ignore[:, 0] = False
    return ignore if kind == "bool" else np.where(ignore, -np.inf, rng.standard_normal((T, T)))


def check_parity(ours_out, theirs_out, valid, rng, pairs, ours_model, theirs_model):
    """Outputs equal at valid positions; every gradient equal for a loss that reads them."""
    np.testing.assert_allclose(ours_out.numpy()[valid], theirs_out.detach().numpy()[valid],
                               **TOL)
    weights = rng.standard_normal(ours_out.shape) * valid[..., None]
    (ours_out * engine.tensor(weights)).sum().backward()
    (theirs_out * torch.tensor(weights)).sum().backward()
    for x, t in pairs:
        np.testing.assert_allclose(x.grad.numpy(), t.grad.numpy(), **TOL)
    t_params = dict(theirs_model.named_parameters())
    for name, p in ours_model.named_parameters():
        np.testing.assert_allclose(p.grad.numpy(), t_params[name].grad.numpy(), err_msg=name,
                                   **TOL)


@st.composite
def layer_cases(draw):
    H, d = draw(st.integers(1, 2)), draw(st.integers(1, 3))
    return dict(E=H * d, H=H, F=draw(st.integers(1, 5)), N=draw(st.integers(1, 3)),
                T=draw(st.integers(1, 4)), S=draw(st.integers(1, 4)),
                batch_first=draw(st.booleans()), norm_first=draw(st.booleans()),
                activation=draw(st.sampled_from(sorted(ACTIVATIONS))),
                padding=draw(st.booleans()), mask_type=draw(st.sampled_from(["bool", "float"])),
                attn_mask=draw(st.sampled_from([None, "causal", "bool", "float"])),
                mode=draw(st.sampled_from(["train", "eval"])), unbatched=draw(st.booleans()),
                bias=draw(st.booleans()), seed=draw(st.integers(0, 2**16)))


def layer_args(c, side):
    ours_act, theirs_act = ACTIVATIONS[c["activation"]]
    return dict(d_model=c["E"], nhead=c["H"], dim_feedforward=c["F"], dropout=0.0,
                activation=ours_act if side == "ours" else theirs_act,
                batch_first=c["batch_first"], norm_first=c["norm_first"], bias=c["bias"])


def mask_kind(c):
    if c["attn_mask"] is None:
        return c["mask_type"]
    return "bool" if c["attn_mask"] == "bool" else "float"  # the causal mask is float


@settings(max_examples=40)
@given(layer_cases())
def test_encoder_layer_matches_torch(c):
    rng = np.random.default_rng(c["seed"])
    if c["attn_mask"] is not None and c["padding"]:
        c["mask_type"] = mask_kind(c)  # one type for both masks, as PyTorch asks
    theirs = torch.nn.TransformerEncoderLayer(**layer_args(c, "theirs"), dtype=torch.float64)
    ours = TransformerEncoderLayer(**layer_args(c, "ours"), dtype="float64")
    load_random(theirs, ours, rng)
    getattr(ours, c["mode"])()
    getattr(theirs, c["mode"])()
    N, T = c["N"], c["T"]
    x, tx = both(rng, sequence(c, T, N))
    padding, mask = padding_mask(rng, c, N, T), square_mask(rng, c, T)
    kw = dict(is_causal=c["attn_mask"] == "causal")
    out = ours(x, src_mask=mask, src_key_padding_mask=padding, **kw)
    t_out = theirs(tx, src_mask=None if mask is None else torch.tensor(mask),
                   src_key_padding_mask=None if padding is None else torch.tensor(padding), **kw)
    valid = valid_rows(c, None if padding is None else np.asarray(padding) != 0, T, N)
    check_parity(out, t_out, valid, rng, [(x, tx)], ours, theirs)


@settings(max_examples=40)
@given(layer_cases(), st.booleans())
def test_decoder_layer_matches_torch(c, memory_padding):
    rng = np.random.default_rng(c["seed"])
    c["mask_type"] = mask_kind(c)
    theirs = torch.nn.TransformerDecoderLayer(**layer_args(c, "theirs"), dtype=torch.float64)
    ours = TransformerDecoderLayer(**layer_args(c, "ours"), dtype="float64")
    load_random(theirs, ours, rng)
    getattr(ours, c["mode"])()
    getattr(theirs, c["mode"])()
    N, T, S = c["N"], c["T"], c["S"]
    (x, tx), (m, tm) = both(rng, sequence(c, T, N)), both(rng, sequence(c, S, N))
    padding, mask = padding_mask(rng, c, N, T), square_mask(rng, c, T)
    memory_mask = None
    if c["attn_mask"] in ("bool", "float"):  # a (T, S) mask over the memory, of the same kind
        ignore = rng.random((T, S)) < 0.3
        ignore[:, 0] = False
        memory_mask = ignore if c["mask_type"] == "bool" else np.where(ignore, -np.inf, 0.5)
    memory_padding = padding_mask(rng, dict(c, padding=memory_padding), N, S)
    masks = dict(tgt_mask=mask, memory_mask=memory_mask, tgt_key_padding_mask=padding,
                 memory_key_padding_mask=memory_padding)
    out = ours(x, m, **masks, tgt_is_causal=c["attn_mask"] == "causal")
    t_out = theirs(tx, tm, **{k: None if v is None else torch.tensor(v) for k, v in masks.items()},
                   tgt_is_causal=c["attn_mask"] == "causal")
    valid = valid_rows(c, None if padding is None else np.asarray(padding) != 0, T, N)
    check_parity(out, t_out, valid, rng, [(x, tx), (m, tm)], ours, theirs)


@pytest.mark.filterwarnings("ignore:Support for mismatched")  # a float causal mask, bool padding
@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("norm_first", [False, True])
@pytest.mark.parametrize("mode", ["train", "eval"])
def test_whole_transformer_matches_torch(batch_first, norm_first, mode):
    rng = np.random.default_rng(7)
    args = dict(d_model=4, nhead=2, num_encoder_layers=2, num_decoder_layers=2,
                dim_feedforward=6, dropout=0.0, batch_first=batch_first, norm_first=norm_first)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # both warn about nested tensors
        theirs = torch.nn.Transformer(**args, activation="gelu", dtype=torch.float64)
        ours = Transformer(**args, activation="gelu", dtype="float64", rng=0)
    assert [(k, v.shape) for k, v in ours.state_dict().items()] == [
        (k, tuple(v.shape)) for k, v in theirs.state_dict().items()]
    load_random(theirs, ours, rng)
    getattr(ours, mode)()
    getattr(theirs, mode)()
    c = dict(E=4, batch_first=batch_first)
    (s, ts), (t, tt) = both(rng, sequence(c, 5, 3)), both(rng, sequence(c, 4, 3))
    src_pad = np.zeros((3, 5), bool)
    src_pad[1, 3:] = True
    tgt_pad = np.zeros((3, 4), bool)
    tgt_pad[2, 2:] = True
    masks = dict(tgt_mask=Transformer.generate_square_subsequent_mask(4, dtype="float64").numpy(),
                 src_key_padding_mask=src_pad, tgt_key_padding_mask=tgt_pad,
                 memory_key_padding_mask=src_pad)
    out = ours(s, t, **masks)
    t_out = theirs(ts, tt, **{k: torch.tensor(v) for k, v in masks.items()})
    check_parity(out, t_out, valid_rows(c, tgt_pad, 4, 3), rng, [(s, ts), (t, tt)], ours,
                 theirs)


@pytest.mark.filterwarnings("ignore:The PyTorch API of nested tensors")
def test_encoder_stack_in_evaluation_equals_torchs_nested_tensor_path_everywhere():
    """PyTorch drops padded positions (nested tensors) and writes zeros there before the
    final norm, as our layers do: the outputs agree at padded positions too."""
    rng = np.random.default_rng(8)
    layer = torch.nn.TransformerEncoderLayer(8, 2, 12, dropout=0.0, batch_first=True,
                                             dtype=torch.float64)
    theirs = torch.nn.TransformerEncoder(layer, 2, norm=torch.nn.LayerNorm(
        8, dtype=torch.float64)).eval()
    ours = TransformerEncoder(TransformerEncoderLayer(8, 2, 12, dropout=0.0, batch_first=True,
                                                      dtype="float64"), 2,
                              norm=nn.LayerNorm(8, dtype="float64")).eval()
    load_random(theirs, ours, rng)
    x = rng.standard_normal((3, 5, 8))
    padding = np.array([[False] * 5, [False] * 2 + [True] * 3, [False] * 4 + [True]])
    with torch.no_grad():
        expected = theirs(torch.tensor(x), src_key_padding_mask=torch.tensor(padding))
    got = ours(engine.tensor(x), src_key_padding_mask=padding)
    np.testing.assert_allclose(got.numpy(), expected.numpy(), **TOL)


def test_gradcheck_of_an_encoder_layer():
    rng = np.random.default_rng(9)
    layer = TransformerEncoderLayer(4, 2, 5, dropout=0.0, activation="gelu", dtype="float64",
                                    rng=rng)
    for p in layer.parameters():
        p.data = p.data + 0.2 * rng.standard_normal(p.shape)
    x = engine.tensor(rng.standard_normal((3, 2, 4)), requires_grad=True)
    padding = np.array([[0.0, 0.0, -np.inf], [0.0, 0.0, 0.0]])  # float, as the mask
    mask = rng.standard_normal((3, 3))
    assert engine.gradcheck(lambda x, *_: layer(x, src_mask=mask, src_key_padding_mask=padding),
                            [x, *layer.parameters()])


# ---------------------------------------------------------------- padding of any value

ANY = st.floats(allow_nan=True, allow_infinity=True, width=64)


@settings(max_examples=30)
@given(ANY, st.integers(0, 2**16), st.sampled_from(["encoder", "decoder", "transformer"]),
       st.booleans(), st.booleans())
def test_padding_of_any_value_changes_no_output_or_gradient(value, seed, kind, batch_first,
                                                            norm_first):
    rng = np.random.default_rng(seed)
    args = dict(dropout=0.0, batch_first=batch_first, norm_first=norm_first, dtype="float64",
                rng=rng)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = {
            "encoder": lambda: TransformerEncoder(TransformerEncoderLayer(4, 2, 6, **args), 2,
                                                  norm=nn.LayerNorm(4, dtype="float64")),
            "decoder": lambda: TransformerDecoder(TransformerDecoderLayer(4, 2, 6, **args), 2),
            "transformer": lambda: Transformer(4, 2, 1, 1, 6, **args),
        }[kind]()
    lengths = np.array([4, 1, 3])
    padded = np.arange(4)[None, :] >= lengths[:, None]  # (N, T)
    x, memory = rng.standard_normal((3, 4, 4)), rng.standard_normal((3, 4, 4))
    if not batch_first:
        x, memory = x.swapaxes(0, 1).copy(), memory.swapaxes(0, 1).copy()
    where = padded if batch_first else padded.T

    def run(fill):
        model.zero_grad()
        a, b = x.copy(), memory.copy()
        a[where] = fill
        b[where] = fill
        a, b = engine.tensor(a, requires_grad=True), engine.tensor(b, requires_grad=True)
        if kind == "encoder":
            out = model(a, src_key_padding_mask=padded)
        elif kind == "decoder":
            out = model(a, b, tgt_key_padding_mask=padded, memory_key_padding_mask=padded)
        else:
            out = model(b, a, src_key_padding_mask=padded, tgt_key_padding_mask=padded,
                        memory_key_padding_mask=padded)
        (out * engine.tensor(np.cos(np.arange(out.numel())).reshape(out.shape))).sum().backward()
        grads = [p.grad.numpy() for p in model.parameters()]
        return [out.numpy(), a.grad.numpy()] + ([b.grad.numpy()] if kind != "encoder" else []) \
            + grads

    clean, dirty = run(0.0), run(value)
    for got, expected in zip(dirty, clean):
        np.testing.assert_array_equal(got, expected)
    assert all(np.isfinite(a).all() for a in dirty)


# ---------------------------------------------------------------- masks and encodings


@pytest.mark.parametrize("size", [1, 4])
def test_square_subsequent_mask_is_torchs(size):
    expected = torch.nn.Transformer.generate_square_subsequent_mask(size)
    got = Transformer.generate_square_subsequent_mask(size)
    assert got.dtype == engine.float32
    np.testing.assert_array_equal(got.numpy(), expected.numpy())


def tutorial_pe(d_model, max_len):
    """PyTorch's tutorial (word_language_model/model.py), in float64."""
    import math

    pe = torch.zeros(max_len, d_model, dtype=torch.float64)
    position = torch.arange(0, max_len, dtype=torch.float64).unsqueeze(1)
    div_term = torch.exp(torch.arange(0, d_model, 2).double() * (-math.log(10000.0) / d_model))
    pe[:, 0::2] = torch.sin(position * div_term)
    pe[:, 1::2] = torch.cos(position * div_term)
    return pe.unsqueeze(0).transpose(0, 1)  # (max_len, 1, d_model)


def test_positional_encoding_is_the_tutorials():
    enc = PositionalEncoding(6, dropout=0.0, max_len=50, dtype="float64")
    np.testing.assert_allclose(enc.pe.numpy(), tutorial_pe(6, 50).numpy(), atol=1e-15)
    assert list(enc.state_dict()) == ["pe"] and not list(enc.parameters())
    x = np.random.default_rng(0).standard_normal((7, 2, 6))
    np.testing.assert_allclose(enc(engine.tensor(x)).numpy(), x + enc.pe.numpy()[:7], atol=0)
    first = PositionalEncoding(6, dropout=0.0, max_len=50, dtype="float64", batch_first=True)
    got = first(engine.tensor(x.swapaxes(0, 1).copy())).numpy().swapaxes(0, 1)
    np.testing.assert_allclose(got, x + enc.pe.numpy()[:7], atol=0)
    np.testing.assert_allclose(enc(engine.tensor(x[:, 0])).numpy(), x[:, 0] + enc.pe.numpy()[:7, 0])
    assert sinusoids(3, 5).shape == (3, 5)  # an odd width works too


def test_learned_positional_encoding_trains_its_table():
    enc = LearnedPositionalEncoding(4, dropout=0.0, max_len=6, dtype="float64", rng=0,
                                    batch_first=True)
    x = engine.tensor(np.zeros((2, 3, 4)))
    (enc(x) * engine.tensor(np.arange(4.0))).sum().backward()
    np.testing.assert_array_equal(enc.weight.grad.numpy()[:3], np.tile(2 * np.arange(4.0), (3, 1)))
    assert (enc.weight.grad.numpy()[3:] == 0).all()
    assert abs(float(enc.weight.numpy().std()) - 0.02) < 0.01


def test_dropout_is_reproducible_from_the_default_generator():
    layer = TransformerEncoderLayer(8, 2, 16, dropout=0.3, rng=0)
    x = engine.randn(5, 3, 8, rng=1)
    engine.manual_seed(4)
    a = layer(x).numpy()
    engine.manual_seed(4)
    b = layer(x).numpy()
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, layer(x).numpy())
    layer.eval()
    np.testing.assert_array_equal(layer(x).numpy(), layer(x).numpy())


def test_a_subclass_as_the_word_language_model_defines_it():
    class TransformerModel(Transformer):  # pytorch/examples word_language_model/model.py
        def __init__(self, ntoken, ninp, nhead, nhid, nlayers):
            super().__init__(d_model=ninp, nhead=nhead, dim_feedforward=nhid,
                             num_encoder_layers=nlayers)
            self.pos_encoder = PositionalEncoding(ninp, 0.0)
            self.input_emb = nn.Embedding(ntoken, ninp)
            self.decoder = nn.Linear(ninp, ntoken)  # replaces the TransformerDecoder

        def forward(self, src):
            with np.errstate(divide="ignore"):  # log(0) = -inf, silently, as in PyTorch
                mask = engine.log(engine.tril(engine.ones(len(src), len(src))))
            output = self.encoder(self.pos_encoder(self.input_emb(src)), mask=mask)
            return nn.functional.log_softmax(self.decoder(output), dim=-1)

    with pytest.warns(UserWarning, match="enable_nested_tensor is True.*batch_first"):
        model = TransformerModel(11, 8, 2, 16, 2)
    out = model(engine.tensor(np.arange(10).reshape(5, 2) % 11))
    assert out.shape == (5, 2, 11) and isinstance(model.decoder, nn.Linear)
    assert np.isfinite(out.numpy()).all()


def test_repr_names_the_submodules():
    text = repr(TransformerEncoderLayer(4, 2, 8))
    for name in ("self_attn", "out_proj", "linear1", "dropout", "linear2", "norm1", "norm2",
                 "dropout1", "dropout2"):
        assert f"({name}):" in text


# ---------------------------------------------------------------- bad input

BAD = [
    (lambda: TransformerEncoderLayer(4, 2, activation="tanh"), RuntimeError,
     "activation should be relu/gelu, not tanh"),
    (lambda: PositionalEncoding(4, max_len=3)(engine.zeros(5, 1, 4)), ValueError,
     "5 positions, more than max_len = 3"),
    (lambda: PositionalEncoding(4)(engine.zeros(5, 1, 3)), ValueError, r"\(T, B, 4\).*\(5, 1, 3\)"),
    (lambda: Transformer(4, 2, 1, 1, 8)(engine.zeros(3, 2, 4), engine.zeros(3, 5, 4)),
     RuntimeError, "batch number of src and tgt must be equal"),
    (lambda: Transformer(4, 2, 1, 1, 8)(engine.zeros(3, 2, 4), engine.zeros(3, 2, 5)),
     RuntimeError, "equal to d_model = 4"),
    (lambda: TransformerEncoderLayer(4, 2, 8)(engine.zeros(3, 2, 4),
                                              src_key_padding_mask=np.zeros((3, 2), bool)),
     AssertionError, r"key_padding_mask of shape \(2, 3\).*got \(3, 2\)"),
]


@pytest.mark.filterwarnings("ignore:enable_nested_tensor")
@pytest.mark.parametrize("call, error, message", BAD)
def test_bad_input_names_expected_and_received(call, error, message):
    with pytest.raises(error, match=message):
        call()


def test_nested_tensor_warning_is_torchs():
    layer = TransformerEncoderLayer(4, 2, 8, norm_first=True)
    with pytest.warns(UserWarning, match="use_nested_tensor is False because encoder_layer."
                                         "norm_first was True"):
        encoder = TransformerEncoder(layer, 2)
    assert not encoder.use_nested_tensor and encoder.enable_nested_tensor
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        TransformerEncoder(layer, 2, enable_nested_tensor=False)
        TransformerEncoder(TransformerEncoderLayer(4, 2, 8, batch_first=True), 1)
