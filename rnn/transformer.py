"""PyTorch's Transformer layers (Vaswani et al. 2017), on MultiheadAttention.

Contents: TransformerEncoderLayer, TransformerEncoder, TransformerDecoderLayer,
TransformerDecoder, Transformer, generate_square_subsequent_mask.

Constructor arguments, forward signatures, masks and parameter names are PyTorch's
(``self_attn.in_proj_weight``, ``linear1.weight``, ``norm1.bias``, ``layers.0...``), so
``load_state_dict`` of a PyTorch model's state dict gives the same outputs. A layer
is attention then a position-wise feed-forward network, each inside a residual
connection with layer normalisation after it (post-norm, the paper's) or before it
(``norm_first=True``, pre-norm):

    post-norm   x = norm1(x + sa(x));         x = norm2(x + ff(x))
    pre-norm    x = x + sa(norm1(x));         x = x + ff(norm2(x))
    ff(x) = dropout(linear2(dropout(activation(linear1(x)))))

Shapes: (T, N, E) sequences, (N, T, E) with ``batch_first``, (T, E) unbatched.

Padding. ``src_key_padding_mask`` / ``tgt_key_padding_mask`` (N, T), True (or -inf) at
padded positions, masks those keys in self-attention, as PyTorch's; beyond that, a
layer reads a padded position as zeros and writes zeros there, so padding of any value
(NaN, inf) changes no output and no gradient, and padded positions hold zeros between
layers, as in PyTorch's nested-tensor path (``TransformerEncoder`` in evaluation),
where they are dropped. (PyTorch's training path computes values there from the padding:
outputs at valid positions are the same.) ``memory_key_padding_mask`` masks memory keys,
which MultiheadAttention selects out.
"""

import copy
import warnings

import numpy as np

import engine
from engine import Tensor, backend, dtypes
from engine.random import generator_of
from nn import functional as F
from nn import init
from nn.activation import GELU, ReLU
from nn.containers import ModuleList
from nn.layers import Dropout, Linear
from nn.module import Module
from nn.normalization import LayerNorm
from rnn.attention import _array, _canonical
from rnn.multihead import MultiheadAttention


def generate_square_subsequent_mask(sz, device=None, dtype=None):
    """The (sz, sz) float causal mask: 0 on and below the diagonal, -inf above it, so that
    position i attends to 0..i (PyTorch's ``Transformer.generate_square_subsequent_mask``).

    >>> generate_square_subsequent_mask(3).tolist()
    [[0.0, -inf, -inf], [0.0, 0.0, -inf], [0.0, 0.0, 0.0]]
    """
    mask = np.triu(np.full((sz, sz), -np.inf, dtype=dtypes.as_dtype(dtype)), k=1)
    return engine.tensor(mask, device=device)


def _activation(activation):
    """'relu' / 'gelu' -> nn.functional's; a callable (or Module) as it is."""
    if isinstance(activation, str):
        if activation == "relu":
            return F.relu
        if activation == "gelu":
            return F.gelu
        raise RuntimeError(f"activation should be relu/gelu, not {activation}")
    return activation


def _relu_or_gelu(activation):
    """PyTorch's ``activation_relu_or_gelu``: 1 for relu, 2 for gelu, 0 otherwise."""
    if activation is F.relu or isinstance(activation, ReLU):
        return 1
    if activation is F.gelu or isinstance(activation, GELU):
        return 2
    return 0


def _padding_rows(mask, x, batch_first):
    """The padded positions of ``x`` as a bool Tensor that broadcasts against it ((T, N, 1),
    (N, T, 1) or (T, 1)), from a key padding mask (N, T) (True or -inf = padded); None
    when there is none."""
    if mask is None:
        return None
    padded = _canonical(mask, "key_padding_mask", keep_is_true=False)[0]
    if padded is None or not padded.any():
        return None
    if x.ndim == 2:
        rows = padded.reshape(-1, 1)  # (T, 1)
    else:
        rows = (padded if batch_first else padded.T)[:, :, None]  # (N, T, 1) or (T, N, 1)
    if rows.shape[:-1] != x.shape[:-1]:
        raise AssertionError(f"key padding mask of shape {padded.shape} does not match the "
                             f"sequence of shape {x.shape} (batch_first={batch_first})")
    return Tensor(backend.to_device(rows, x.device))


def _zero_rows(x, rows):
    """``x`` with the padded rows replaced by zeros: selected, whatever they held."""
    return x if rows is None else engine.where(rows, 0.0, x)


def _add_feed_forward(layer, blocks, d_model, dim_feedforward, dropout, activation,
                      layer_norm_eps, norm_first, bias, rng, kw):
    """Give ``layer`` what both layers share after their attention, in PyTorch's order:
    linear1, dropout, linear2 (drawn from ``rng`` in that order), norm_first, norm1 ..
    norm{blocks} and dropout1 .. dropout{blocks} (one per residual block), activation."""
    layer.linear1 = Linear(d_model, dim_feedforward, bias=bias, rng=rng, **kw)
    layer.dropout = Dropout(dropout)
    layer.linear2 = Linear(dim_feedforward, d_model, bias=bias, rng=rng, **kw)
    layer.norm_first = norm_first
    for k in range(1, blocks + 1):
        setattr(layer, f"norm{k}", LayerNorm(d_model, eps=layer_norm_eps, bias=bias, **kw))
    for k in range(1, blocks + 1):
        setattr(layer, f"dropout{k}", Dropout(dropout))
    layer.activation = _activation(activation)


class TransformerEncoderLayer(Module):
    """Self-attention and a feed-forward network, each in a residual with layer norm.

    Arguments as PyTorch's: d_model, nhead, dim_feedforward=2048, dropout=0.1,
    activation=relu ("relu", "gelu" or a callable), layer_norm_eps=1e-5, batch_first,
    norm_first, bias, device, dtype; and ours, keyword-only, ``rng`` for the weights.
    Sub-modules: self_attn (MultiheadAttention), linear1 (d_model -> dim_feedforward),
    linear2, norm1, norm2, dropout, dropout1, dropout2.
    forward(src, src_mask=None, src_key_padding_mask=None, is_causal=False) -> like src.

    >>> layer = TransformerEncoderLayer(8, 2, 16, dropout=0.0, rng=0)
    >>> layer(engine.zeros(5, 3, 8)).shape
    (5, 3, 8)
    """

    def __init__(self, d_model, nhead, dim_feedforward=2048, dropout=0.1, activation=F.relu,
                 layer_norm_eps=1e-5, batch_first=False, norm_first=False, bias=True,
                 device=None, dtype=None, *, rng=None):
        super().__init__()
        rng = generator_of(rng)
        kw = dict(device=device, dtype=dtype)
        self.self_attn = MultiheadAttention(d_model, nhead, dropout=dropout, bias=bias,
                                            batch_first=batch_first, rng=rng, **kw)
        _add_feed_forward(self, 2, d_model, dim_feedforward, dropout, activation,
                          layer_norm_eps, norm_first, bias, rng, kw)
        self.activation_relu_or_gelu = _relu_or_gelu(self.activation)

    def forward(self, src, src_mask=None, src_key_padding_mask=None, is_causal=False):
        rows = _padding_rows(src_key_padding_mask, src, self.self_attn.batch_first)
        x = _zero_rows(src, rows)
        if self.norm_first:
            x = x + self._sa_block(self.norm1(x), src_mask, src_key_padding_mask, is_causal)
            x = x + self._ff_block(self.norm2(x))
        else:
            x = self.norm1(x + self._sa_block(x, src_mask, src_key_padding_mask, is_causal))
            x = self.norm2(x + self._ff_block(x))
        return _zero_rows(x, rows)

    def _sa_block(self, x, attn_mask, key_padding_mask, is_causal=False):
        x = self.self_attn(x, x, x, attn_mask=attn_mask, key_padding_mask=key_padding_mask,
                           need_weights=False, is_causal=is_causal)[0]
        return self.dropout1(x)

    def _ff_block(self, x):
        x = self.linear2(self.dropout(self.activation(self.linear1(x))))
        return self.dropout2(x)


class TransformerDecoderLayer(Module):
    """Self-attention over the target, attention over the memory (the encoder's output),
    and a feed-forward network, each in a residual with layer norm.

    Arguments as TransformerEncoderLayer's. Sub-modules: self_attn, multihead_attn,
    linear1, linear2, norm1, norm2, norm3, dropout, dropout1, dropout2, dropout3.
    forward(tgt, memory, tgt_mask=None, memory_mask=None, tgt_key_padding_mask=None,
    memory_key_padding_mask=None, tgt_is_causal=False, memory_is_causal=False) -> like tgt.

    >>> layer = TransformerDecoderLayer(8, 2, 16, dropout=0.0, rng=0)
    >>> layer(engine.zeros(4, 3, 8), engine.zeros(6, 3, 8)).shape
    (4, 3, 8)
    """

    def __init__(self, d_model, nhead, dim_feedforward=2048, dropout=0.1, activation=F.relu,
                 layer_norm_eps=1e-5, batch_first=False, norm_first=False, bias=True,
                 device=None, dtype=None, *, rng=None):
        super().__init__()
        rng = generator_of(rng)
        kw = dict(device=device, dtype=dtype)
        self.self_attn = MultiheadAttention(d_model, nhead, dropout=dropout,
                                            batch_first=batch_first, bias=bias, rng=rng, **kw)
        self.multihead_attn = MultiheadAttention(d_model, nhead, dropout=dropout,
                                                 batch_first=batch_first, bias=bias, rng=rng,
                                                 **kw)
        _add_feed_forward(self, 3, d_model, dim_feedforward, dropout, activation,
                          layer_norm_eps, norm_first, bias, rng, kw)

    def forward(self, tgt, memory, tgt_mask=None, memory_mask=None, tgt_key_padding_mask=None,
                memory_key_padding_mask=None, tgt_is_causal=False, memory_is_causal=False):
        rows = _padding_rows(tgt_key_padding_mask, tgt, self.self_attn.batch_first)
        x = _zero_rows(tgt, rows)
        if self.norm_first:
            x = x + self._sa_block(self.norm1(x), tgt_mask, tgt_key_padding_mask, tgt_is_causal)
            x = x + self._mha_block(self.norm2(x), memory, memory_mask, memory_key_padding_mask,
                                    memory_is_causal)
            x = x + self._ff_block(self.norm3(x))
        else:
            x = self.norm1(x + self._sa_block(x, tgt_mask, tgt_key_padding_mask, tgt_is_causal))
            x = self.norm2(x + self._mha_block(x, memory, memory_mask, memory_key_padding_mask,
                                               memory_is_causal))
            x = self.norm3(x + self._ff_block(x))
        return _zero_rows(x, rows)

    def _sa_block(self, x, attn_mask, key_padding_mask, is_causal=False):
        x = self.self_attn(x, x, x, attn_mask=attn_mask, key_padding_mask=key_padding_mask,
                           is_causal=is_causal, need_weights=False)[0]
        return self.dropout1(x)

    def _mha_block(self, x, mem, attn_mask, key_padding_mask, is_causal=False):
        x = self.multihead_attn(x, mem, mem, attn_mask=attn_mask,
                                key_padding_mask=key_padding_mask, is_causal=is_causal,
                                need_weights=False)[0]
        return self.dropout2(x)

    def _ff_block(self, x):
        x = self.linear2(self.dropout(self.activation(self.linear1(x))))
        return self.dropout3(x)


def _get_clones(module, N):
    """``N`` deep copies of ``module`` (the same initial weights, as PyTorch's)."""
    return ModuleList([copy.deepcopy(module) for _ in range(N)])


def _detect_is_causal_mask(mask, is_causal=None, size=None):
    """PyTorch's: ``is_causal`` when given, else whether ``mask`` is the causal mask."""
    make_causal = is_causal is True
    if is_causal is None and mask is not None:
        data = _array(mask)
        sz = size if size is not None else data.shape[-2]
        causal = np.triu(np.ones((sz, sz), dtype=bool), k=1)  # True = masked
        masked, bias = _canonical(mask, "mask", keep_is_true=False)
        make_causal = (data.shape == causal.shape and masked is not None
                       and bool((backend.to_device(masked, "cpu") == causal).all())
                       and (bias is None or not bias.any()))
    return make_causal


def _sequence_length(x, batch_first):
    return x.shape[0] if x.ndim == 2 else x.shape[1 if batch_first else 0]


class TransformerEncoder(Module):
    """A stack of ``num_layers`` copies of ``encoder_layer``, then ``norm`` (if given).

    forward(src, mask=None, src_key_padding_mask=None, is_causal=None) -> like src.
    ``enable_nested_tensor`` and ``mask_check`` are accepted and kept (PyTorch's fast
    path for padded batches; ours selects padding out instead, with the same results).

    >>> layer = TransformerEncoderLayer(8, 2, 16, dropout=0.0, rng=0)
    >>> encoder = TransformerEncoder(layer, 2, enable_nested_tensor=False)
    >>> encoder(engine.zeros(5, 3, 8), mask=generate_square_subsequent_mask(5)).shape
    (5, 3, 8)
    """

    def __init__(self, encoder_layer, num_layers, norm=None, enable_nested_tensor=True,
                 mask_check=True):
        super().__init__()
        self.layers = _get_clones(encoder_layer, num_layers)
        self.num_layers, self.norm = num_layers, norm
        self.enable_nested_tensor = self.use_nested_tensor = enable_nested_tensor
        self.mask_check = mask_check
        why_not = _why_not_nested(encoder_layer)
        if enable_nested_tensor and why_not:
            warnings.warn(f"enable_nested_tensor is True, but self.use_nested_tensor is False "
                          f"because {why_not}", stacklevel=2)
            self.use_nested_tensor = False

    def forward(self, src, mask=None, src_key_padding_mask=None, is_causal=None):
        batch_first = self.layers[0].self_attn.batch_first
        is_causal = _detect_is_causal_mask(mask, is_causal, _sequence_length(src, batch_first))
        output = src
        for layer in self.layers:
            output = layer(output, src_mask=mask, is_causal=is_causal,
                           src_key_padding_mask=src_key_padding_mask)
        return output if self.norm is None else self.norm(output)


def _why_not_nested(layer):
    """PyTorch's reason (in words) why an encoder of ``layer`` cannot use nested tensors."""
    name = "encoder_layer"
    if not isinstance(layer, TransformerEncoderLayer):
        return f"{name} was not TransformerEncoderLayer"
    if layer.norm_first:
        return f"{name}.norm_first was True"
    if not layer.self_attn.batch_first:
        return (f"{name}.self_attn.batch_first was not True(use batch_first for better "
                "inference performance)")
    if not layer.self_attn._qkv_same_embed_dim:
        return f"{name}.self_attn._qkv_same_embed_dim was not True"
    if layer.self_attn.in_proj_bias is None:
        return f"{name}.self_attn was passed bias=False"
    if not layer.activation_relu_or_gelu:
        return f"{name}.activation_relu_or_gelu was not True"
    if layer.norm1.eps != layer.norm2.eps:
        return f"{name}.norm1.eps was not equal to {name}.norm2.eps"
    if layer.self_attn.num_heads % 2 == 1:
        return f"{name}.self_attn.num_heads is odd"
    return ""


class TransformerDecoder(Module):
    """A stack of ``num_layers`` copies of ``decoder_layer``, then ``norm`` (if given).

    forward(tgt, memory, tgt_mask=None, memory_mask=None, tgt_key_padding_mask=None,
    memory_key_padding_mask=None, tgt_is_causal=None, memory_is_causal=False) -> like tgt.
    """

    def __init__(self, decoder_layer, num_layers, norm=None):
        super().__init__()
        self.layers = _get_clones(decoder_layer, num_layers)
        self.num_layers, self.norm = num_layers, norm

    def forward(self, tgt, memory, tgt_mask=None, memory_mask=None, tgt_key_padding_mask=None,
                memory_key_padding_mask=None, tgt_is_causal=None, memory_is_causal=False):
        batch_first = self.layers[0].self_attn.batch_first
        tgt_is_causal = _detect_is_causal_mask(tgt_mask, tgt_is_causal,
                                               _sequence_length(tgt, batch_first))
        output = tgt
        for layer in self.layers:
            output = layer(output, memory, tgt_mask=tgt_mask, memory_mask=memory_mask,
                           tgt_key_padding_mask=tgt_key_padding_mask,
                           memory_key_padding_mask=memory_key_padding_mask,
                           tgt_is_causal=tgt_is_causal, memory_is_causal=memory_is_causal)
        return output if self.norm is None else self.norm(output)


class Transformer(Module):
    """The encoder-decoder of Vaswani et al. (2017), PyTorch's ``nn.Transformer``.

    Arguments as PyTorch's: d_model=512, nhead=8, num_encoder_layers=6,
    num_decoder_layers=6, dim_feedforward=2048, dropout=0.1, activation=relu,
    custom_encoder=None, custom_decoder=None, layer_norm_eps=1e-5, batch_first=False,
    norm_first=False, bias=True, device, dtype; ours: ``rng``. Every weight matrix is
    re-drawn xavier-uniform at the end, as PyTorch's. Sub-modules: encoder
    (TransformerEncoder with a final LayerNorm), decoder (likewise).
    forward(src, tgt, src_mask=None, tgt_mask=None, memory_mask=None,
    src_key_padding_mask=None, tgt_key_padding_mask=None, memory_key_padding_mask=None,
    src_is_causal=None, tgt_is_causal=None, memory_is_causal=False) -> like tgt.

    >>> model = Transformer(8, 2, 1, 1, 16, dropout=0.0, batch_first=True, rng=0)
    >>> tgt_mask = Transformer.generate_square_subsequent_mask(4)
    >>> model(engine.zeros(3, 6, 8), engine.zeros(3, 4, 8), tgt_mask=tgt_mask).shape
    (3, 4, 8)
    """

    def __init__(self, d_model=512, nhead=8, num_encoder_layers=6, num_decoder_layers=6,
                 dim_feedforward=2048, dropout=0.1, activation=F.relu, custom_encoder=None,
                 custom_decoder=None, layer_norm_eps=1e-5, batch_first=False, norm_first=False,
                 bias=True, device=None, dtype=None, *, rng=None):
        super().__init__()
        rng = generator_of(rng)
        kw = dict(device=device, dtype=dtype)
        layer_args = (d_model, nhead, dim_feedforward, dropout, activation, layer_norm_eps,
                      batch_first, norm_first, bias)
        if custom_encoder is not None:
            self.encoder = custom_encoder
        else:
            self.encoder = TransformerEncoder(  # warns as PyTorch's when nested tensors cannot
                TransformerEncoderLayer(*layer_args, rng=rng, **kw), num_encoder_layers,
                LayerNorm(d_model, eps=layer_norm_eps, bias=bias, **kw))
        if custom_decoder is not None:
            self.decoder = custom_decoder
        else:
            self.decoder = TransformerDecoder(
                TransformerDecoderLayer(*layer_args, rng=rng, **kw), num_decoder_layers,
                LayerNorm(d_model, eps=layer_norm_eps, bias=bias, **kw))
        self._reset_parameters(rng)
        self.d_model, self.nhead, self.batch_first = d_model, nhead, batch_first

    def forward(self, src, tgt, src_mask=None, tgt_mask=None, memory_mask=None,
                src_key_padding_mask=None, tgt_key_padding_mask=None,
                memory_key_padding_mask=None, src_is_causal=None, tgt_is_causal=None,
                memory_is_causal=False):
        batch = 0 if self.batch_first else 1
        if src.ndim == 3 and src.shape[batch] != tgt.shape[batch]:
            raise RuntimeError(f"the batch number of src and tgt must be equal; got src "
                               f"{src.shape} and tgt {tgt.shape}")
        if src.shape[-1] != self.d_model or tgt.shape[-1] != self.d_model:
            raise RuntimeError(f"the feature number of src and tgt must be equal to d_model "
                               f"= {self.d_model}; got src {src.shape} and tgt {tgt.shape}")
        memory = self.encoder(src, mask=src_mask, src_key_padding_mask=src_key_padding_mask,
                              is_causal=src_is_causal)
        return self.decoder(tgt, memory, tgt_mask=tgt_mask, memory_mask=memory_mask,
                            tgt_key_padding_mask=tgt_key_padding_mask,
                            memory_key_padding_mask=memory_key_padding_mask,
                            tgt_is_causal=tgt_is_causal, memory_is_causal=memory_is_causal)

    @staticmethod
    def generate_square_subsequent_mask(sz, device=None, dtype=None):
        """The (sz, sz) float causal mask, -inf above the diagonal (see the function)."""
        return generate_square_subsequent_mask(sz, device=device, dtype=dtype)

    def _reset_parameters(self, rng=None):
        """Every parameter of two or more dimensions re-drawn xavier-uniform."""
        rng = generator_of(rng)
        for p in self.parameters():
            if p.ndim > 1:
                init.xavier_uniform_(p, rng=rng)
