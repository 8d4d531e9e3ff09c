"""PyTorch's MultiheadAttention, on this package's attention op (rnn.attention): the
projections of queries, keys and values, the heads, PyTorch's masks, the output
projection. The earlier name MultiHeadAttention is the same class.

Dimensions as in rnn.attention: N batch, L queries, S keys, E = H * d the embedding,
H heads. ``key_padding_mask`` and ``attn_mask`` are PyTorch's: bool with True = ignore,
or float, added to the scores.
"""

import warnings

import numpy as np

import engine  # noqa: F401  (the examples in the docstrings use it)
from engine import Tensor, backend
from engine.backend import xp_of
from engine.random import generator_of
from nn import functional as F
from nn import init
from nn.layers import Linear
from nn.module import Module, Parameter
from rnn.attention import _array, _attention, _canonical, mask_from_lengths


class MultiheadAttention(Module):
    """PyTorch's ``nn.MultiheadAttention`` (Vaswani et al. 2017), its parameters and masks.

        head_i = softmax((query W_q^i + b_q^i)(key W_k^i + b_k^i)^T / sqrt(d) + mask)
                 (value W_v^i + b_v^i)
        attn_output = concat(head_1 .. head_H) W_o^T + b_o,   d = embed_dim / num_heads

    Parameters (PyTorch's names, shapes and initialisation): in_proj_weight (3E, E) =
    [W_q; W_k; W_v] (xavier uniform), or q_proj_weight (E, E), k_proj_weight (E, kdim),
    v_proj_weight (E, vdim) when kdim or vdim differ from E; in_proj_bias (3E,) (zeros);
    bias_k, bias_v (1, 1, E) with ``add_bias_kv`` (xavier normal: a learned key and value
    appended to every sequence); out_proj a Linear(E, E) (bias zeros). ``add_zero_attn``
    appends a key and a value of zeros. ``dropout``: on the attention weights, in training.

    forward(query, key, value, key_padding_mask=None, need_weights=True, attn_mask=None,
    average_attn_weights=True, is_causal=False, *, lengths=None) -> (attn_output,
    attn_weights or None). Shapes: query (L, N, E), key (S, N, kdim), value (S, N, vdim);
    (N, L, E) ... with ``batch_first``; (L, E), (S, kdim), (S, vdim) unbatched.
    key_padding_mask (N, S) (unbatched (S,)); attn_mask (L, S) or (N * num_heads, L, S);
    both bool with **True = ignore**, or float, added to the scores. ``is_causal`` is
    PyTorch's hint that attn_mask is causal (it must be given). ``lengths`` (N,), our
    extension, stands for the key_padding_mask of the padding after each length.
    attn_output like query; attn_weights (N, L, S) averaged over heads, (N, num_heads,
    L, S) if not ``average_attn_weights``, None if not ``need_weights``.

    Keys and values under key_padding_mask are selected out before their projection: any
    value there (NaN, inf) changes no output and no gradient. Queries are computed as
    given, as PyTorch's (a padded query position of self-attention computes an output
    from its own row; the Transformer layers select padded positions out). A query whose
    keys are all masked gets the output out_proj.bias and zero gradient (PyTorch: NaN
    with need_weights=True, out_proj.bias without).

    >>> mha = MultiheadAttention(4, 2, batch_first=True, rng=np.random.default_rng(0))
    >>> x = engine.zeros(3, 5, 4)
    >>> [t.shape for t in mha(x, x, x, lengths=[5, 2, 1])]
    [(3, 5, 4), (3, 5, 5)]
    """

    def __init__(self, embed_dim, num_heads, dropout=0.0, bias=True, add_bias_kv=False,
                 add_zero_attn=False, kdim=None, vdim=None, batch_first=False, device=None,
                 dtype=None, *, rng=None):
        super().__init__()
        if embed_dim <= 0 or num_heads <= 0:
            raise ValueError(f"embed_dim and num_heads must be greater than 0, got "
                             f"embed_dim={embed_dim} and num_heads={num_heads} instead")
        self.embed_dim = embed_dim
        self.kdim = kdim if kdim is not None else embed_dim
        self.vdim = vdim if vdim is not None else embed_dim
        self._qkv_same_embed_dim = self.kdim == embed_dim and self.vdim == embed_dim
        self.num_heads, self.dropout, self.batch_first = num_heads, dropout, batch_first
        self.head_dim = embed_dim // num_heads
        if self.head_dim * num_heads != embed_dim:
            raise AssertionError(f"embed_dim must be divisible by num_heads; got embed_dim "
                                 f"{embed_dim} and num_heads {num_heads}")
        rng = generator_of(rng)
        E = embed_dim

        def empty(*shape):
            return Parameter(engine.zeros(*shape, dtype=dtype, device=device))

        if self._qkv_same_embed_dim:
            self.in_proj_weight = empty(3 * E, E)
            for name in ("q_proj_weight", "k_proj_weight", "v_proj_weight"):
                self.register_parameter(name, None)
        else:
            self.q_proj_weight = empty(E, E)
            self.k_proj_weight = empty(E, self.kdim)
            self.v_proj_weight = empty(E, self.vdim)
            self.register_parameter("in_proj_weight", None)
        if bias:
            self.in_proj_bias = empty(3 * E)
        else:
            self.register_parameter("in_proj_bias", None)
        self.out_proj = Linear(E, E, bias=bias, device=device, dtype=dtype, rng=rng)
        if add_bias_kv:
            self.bias_k, self.bias_v = empty(1, 1, E), empty(1, 1, E)
        else:
            self.bias_k = self.bias_v = None
        self.add_zero_attn = add_zero_attn
        self._reset_parameters(rng)

    def _reset_parameters(self, rng=None):
        rng = generator_of(rng)
        for weight in (self.in_proj_weight, self.q_proj_weight, self.k_proj_weight,
                       self.v_proj_weight):
            if weight is not None:
                init.xavier_uniform_(weight, rng=rng)
        if self.in_proj_bias is not None:
            init.constant_(self.in_proj_bias, 0.0)
            init.constant_(self.out_proj.bias, 0.0)
        for extra in (self.bias_k, self.bias_v):
            if extra is not None:
                init.xavier_normal_(extra, rng=rng)

    def forward(self, query, key, value, key_padding_mask=None, need_weights=True,
                attn_mask=None, average_attn_weights=True, is_causal=False, *, lengths=None):
        batched = _check_inputs(query, key, value, self)
        if lengths is not None:
            if key_padding_mask is not None:
                raise ValueError("MultiheadAttention: give key_padding_mask or lengths, not both")
            S = key.shape[0 if not batched or not self.batch_first else 1]
            padding = ~mask_from_lengths(lengths, S).numpy()  # (N, S), True = ignore
            key_padding_mask = padding if batched else padding[0]
        if is_causal and attn_mask is None:
            raise RuntimeError("Need attn_mask if specifying the is_causal hint. You may use "
                               "the Transformer module method `generate_square_subsequent_mask`"
                               " to create this mask.")
        if not batched:  # one sequence: a batch of one
            query, key, value = _same_as(lambda t: t.unsqueeze(0), query, key, value)
            if key_padding_mask is not None:
                key_padding_mask = _array(key_padding_mask)[None]
        elif not self.batch_first:  # (L, N, E) -> (N, L, E), views
            query, key, value = _same_as(lambda t: t.swapaxes(0, 1), query, key, value)
        N, L, S = query.shape[0], query.shape[1], key.shape[1]
        masked, bias = self._masks(key_padding_mask, attn_mask, N, L, S, query.device)
        if key_padding_mask is not None:  # padded keys and values: selected out, any value
            padded = _canonical(key_padding_mask, "key_padding_mask", keep_is_true=False)[0]
            if padded is not None and padded.any():
                rows = Tensor(backend.to_device(padded[:, :, None], query.device))  # (N, S, 1)
                query, key, value = (query, *_same_as(lambda t: engine.where(rows, 0.0, t),
                                                      key, value))
        q, k, v = self._project(query, key, value)  # (N, H, L, d), (N, H, S', d) twice
        out, weights = _attention(q, k, v, masked=masked, bias=bias,
                                  dropout_p=self.dropout if self.training else 0.0,
                                  need_weights=need_weights)
        out = out.swapaxes(1, 2).reshape(N, L, self.embed_dim)  # heads concatenated
        out = self.out_proj(out)  # (N, L, E)
        out = out[0] if not batched else out if self.batch_first else out.swapaxes(0, 1)
        if weights is not None:
            weights = weights.mean(axis=1) if average_attn_weights else weights
            weights = weights if batched else weights[0]
        return out, weights

    def _project(self, query, key, value):
        """The in-projections, split into heads: (N, H, L, d) and (N, H, S', d) twice, with
        bias_k, bias_v and the zero key and value appended (S' = S + 1 or + 2). One matrix
        product for q, k, v in self-attention, one for k, v when key is value."""
        E, H = self.embed_dim, self.num_heads
        b = [None] * 3 if self.in_proj_bias is None else engine.chunk(self.in_proj_bias, 3)
        if self._qkv_same_embed_dim and query is key is value:
            qkv = F.linear(query, self.in_proj_weight, self.in_proj_bias)  # (N, L, 3E)
            q, k, v = _heads(qkv, H, parts=3)
        elif self._qkv_same_embed_dim and key is value:
            w_q, w_kv = engine.split(self.in_proj_weight, [E, 2 * E])
            b_kv = None if b[1] is None else engine.cat([b[1], b[2]])
            q, = _heads(F.linear(query, w_q, b[0]), H, parts=1)
            k, v = _heads(F.linear(key, w_kv, b_kv), H, parts=2)
        else:
            w = (engine.chunk(self.in_proj_weight, 3) if self._qkv_same_embed_dim else
                 (self.q_proj_weight, self.k_proj_weight, self.v_proj_weight))
            q, k, v = (_heads(F.linear(x, w_i, b_i), H, parts=1)[0]
                       for x, w_i, b_i in zip((query, key, value), w, b))
        N = q.shape[0]
        if self.bias_k is not None:  # a learned key and value at the end of every sequence
            k = engine.cat([k, self.bias_k.reshape(1, H, 1, -1).expand(N, H, 1, -1)], axis=2)
            v = engine.cat([v, self.bias_v.reshape(1, H, 1, -1).expand(N, H, 1, -1)], axis=2)
        if self.add_zero_attn:  # and a key and value of zeros
            zeros = engine.zeros(N, H, 1, E // H, dtype=k.dtype, device=k.device)
            k, v = engine.cat([k, zeros], axis=2), engine.cat([v, zeros], axis=2)
        return q, k, v

    def _masks(self, key_padding_mask, attn_mask, N, L, S, device):
        """key_padding_mask (N, S) and attn_mask (L, S) or (N * H, L, S) as one raw bool array
        ``masked`` (True = masked) and one raw float array ``bias`` (finite additions), each
        broadcastable to (N, H, L, S') or None; S' counts bias_k and the zero key."""
        if key_padding_mask is not None and attn_mask is not None and (
                _array(key_padding_mask).dtype != _array(attn_mask).dtype):
            warnings.warn("Support for mismatched key_padding_mask and attn_mask is deprecated. "
                          "Use same type for both instead.", stacklevel=4)
        masked, bias, H = [], [], self.num_heads
        if key_padding_mask is not None:
            shape = _array(key_padding_mask).shape
            if shape != (N, S):
                raise AssertionError(f"Expected key_padding_mask of shape {(N, S)} (batch, "
                                     f"source length); got {shape}")
            m, b = _canonical(key_padding_mask, "key_padding_mask", keep_is_true=False)
            masked.append(None if m is None else m[:, None, None, :])  # (N, 1, 1, S)
            bias.append(None if b is None else b[:, None, None, :])
        if attn_mask is not None:
            shape = _array(attn_mask).shape
            if len(shape) == 2 and shape != (L, S):
                raise RuntimeError(f"The shape of the 2D attn_mask is {shape}, but should be "
                                   f"{(L, S)}.")
            if len(shape) == 3 and shape != (N * H, L, S):
                raise RuntimeError(f"The shape of the 3D attn_mask is {shape}, but should be "
                                   f"{(N * H, L, S)}.")
            if len(shape) not in (2, 3):
                raise RuntimeError(f"attn_mask's dimension {len(shape)} is not supported")
            m, b = _canonical(attn_mask, "attn_mask", keep_is_true=False)
            reshape = (lambda a: a) if len(shape) == 2 else (lambda a: a.reshape(N, H, L, S))
            masked.append(None if m is None else reshape(m))
            bias.append(None if b is None else reshape(b))
        masked = _combine([m for m in masked if m is not None], np.logical_or)
        bias = _combine([b for b in bias if b is not None], np.add)
        extra = (self.bias_k is not None) + bool(self.add_zero_attn)  # keys that always count
        masked, bias = (None if a is None else _append_columns(a, extra) for a in (masked, bias))
        return (None if masked is None else backend.to_device(masked, device),
                None if bias is None else backend.to_device(bias, device))


MultiHeadAttention = MultiheadAttention  # the earlier name in this package


def _check_inputs(query, key, value, mha):
    """PyTorch's checks of MultiheadAttention's inputs; returns whether they are batched."""
    if query.ndim not in (2, 3):
        raise AssertionError(f"query should be unbatched 2D or batched 3D tensor but received "
                             f"{query.ndim}-D query tensor")
    if key.ndim != query.ndim or value.ndim != query.ndim:
        raise AssertionError(f"For {'batched (3-D)' if query.ndim == 3 else 'unbatched (2-D)'} "
                             f"`query`, expected `key` and `value` to be {query.ndim}-D but "
                             f"found {key.ndim}-D and {value.ndim}-D tensors respectively")
    for name, t, size in (("query", query, mha.embed_dim), ("key", key, mha.kdim),
                          ("value", value, mha.vdim)):
        if t.shape[-1] != size:
            raise AssertionError(f"was expecting {name} features of {size}, but got shape "
                                 f"{t.shape}")
    lead = (lambda t: t.shape[:-1]) if query.ndim == 2 else (lambda t: t.shape[:2])
    if lead(key) != lead(value):
        raise AssertionError(f"key's sequence and batch dims {lead(key)} do not match value's "
                             f"{lead(value)}")
    batch = 0 if mha.batch_first else 1
    if query.ndim == 3 and query.shape[batch] != key.shape[batch]:
        raise AssertionError(f"query has batch size {query.shape[batch]} but key "
                             f"{key.shape[batch]} (query {query.shape}, key {key.shape})")
    return query.ndim == 3


def _same_as(change, *tensors):
    """``change`` applied to each distinct tensor once, so that identical inputs (self-
    attention's query, key and value) stay identical."""
    done = []
    for t in tensors:
        same = next((new for old, new in done if old is t), None)
        done.append((t, change(t) if same is None else same))
    return [new for _, new in done]


def _heads(projected, H, parts):
    """(N, L, parts * E) -> ``parts`` Tensors (N, H, L, d): the heads of each part."""
    N, L, width = projected.shape
    d = width // (parts * H)
    if parts == 1:
        return (projected.reshape(N, L, H, d).swapaxes(1, 2),)  # (N, H, L, d)
    split = projected.reshape(N, L, parts, H, d).permute(2, 0, 3, 1, 4)  # (parts, N, H, L, d)
    return engine.unbind(split, 0)


def _combine(arrays, how):
    """The arrays combined by ``how`` (broadcast), or None when there are none."""
    out = None
    for a in arrays:
        out = a if out is None else how(out, a)
    return out


def _append_columns(mask, count):
    """``mask`` (..., S) with ``count`` columns of False / 0 (keys that always count) appended."""
    if not count:
        return mask
    xp = xp_of(mask)
    pad = xp.zeros(mask.shape[:-1] + (count,), dtype=mask.dtype)
    return xp.concatenate([mask, pad], axis=-1)
