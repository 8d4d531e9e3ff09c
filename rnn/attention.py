"""Attention over a set of keys: the functions first, the Modules on top.

Contents:
    masks          mask_from_lengths; MaskedSoftmax / masked_softmax
    functions      dot_product_attention, additive_attention
    Modules        DotProductAttention, AdditiveAttention, MultiHeadAttention

Dimensions: B batch, Q queries (decoder steps), S keys (source positions),
D query/key features, Dv value features, A the additive hidden size,
E = num_heads * d the embedding of MultiHeadAttention.

A mask is bool with **True = keep** (attend to this key), shape (B, S) or
(B, Q, S); ``mask_from_lengths`` builds the (B, S) one from sequence lengths
with ``rnn.masks.lengths_to_mask``, the package's one masking convention.
Masked keys get exactly zero weight. A query whose keys are all masked gets
zero weights, a zero context and a zero gradient (never NaN).
"""

import math

import numpy as np

import engine  # noqa: F401  (the examples in the docstrings use it)
from engine import Tensor, backend
from engine.backend import xp_of
from engine.ops.reduce import Softmax
from nn import functional as F
from nn import init
from nn.layers import Linear
from nn.module import Module, Parameter
from rnn.masks import lengths_to_mask

# ---------------------------------------------------------------- masks


def mask_from_lengths(lengths, S, device=None):
    """The (B, S) bool mask of valid keys: ``mask[b, s] = s < lengths[b]`` (True = keep).

    ``lengths`` (B,) are checked by ``rnn.masks.lengths_to_mask``: each in 1..S.

    >>> mask_from_lengths([2, 3], 3).tolist()
    [[True, True, False], [True, True, True]]
    """
    return lengths_to_mask(lengths, S, device=device).T  # (S, B) -> (B, S)


class MaskedSoftmax(Softmax):
    """softmax over the last axis, restricted to the kept positions.

    s_i = keep_i exp(x_i - m) / sum_j keep_j exp(x_j - m), m = max over kept x_j;
    a row with nothing kept is all zeros (its denominator is replaced by 1).
    The backward is the softmax's, ``s * (grad - sum(grad * s))``: zero wherever s is
    zero, so masked positions and fully masked rows get a zero gradient.
    """

    def forward(self, scores, keep):
        xp = xp_of(scores)
        self.axis = -1
        kept = xp.where(keep, scores, -xp.inf)  # (..., S): masked -> -inf, whatever the score
        top = kept.max(axis=-1, keepdims=True)  # (..., 1): -inf on a fully masked row
        top = xp.where(keep.any(axis=-1, keepdims=True), top, 0)  # finite everywhere
        e = xp.exp(kept - top)  # (..., S): exactly 0 where masked, <= 1 elsewhere
        total = e.sum(axis=-1, keepdims=True)  # (..., 1): >= 1, or 0 on a fully masked row
        self.out = e / xp.where(total > 0, total, 1)
        return self.out


def masked_softmax(scores, mask=None):
    """softmax of ``scores`` over the last axis, keeping only where ``mask`` (bool array or
    Tensor broadcastable to ``scores``) is True.

    >>> masked_softmax(Tensor(np.zeros((1, 3))), np.array([[True, True, False]]))
    tensor([[0.5000, 0.5000, 0.0000]], dtype=float64)
    """
    if mask is None:
        return scores.softmax(axis=-1)
    keep = _bool_array(mask, "masked_softmax")
    if keep.ndim > scores.ndim or any(k not in (1, n) for k, n in
                                      zip(keep.shape[::-1], scores.shape[::-1])):
        raise ValueError(f"masked_softmax: mask of shape {keep.shape} does not broadcast to "
                         f"the scores' shape {scores.shape}")
    return MaskedSoftmax.apply(scores, keep=backend.to_device(keep, scores.device))


def _bool_array(mask, op):
    """The raw bool array of a mask given as a Tensor, an array or nested lists."""
    data = (mask if isinstance(mask, Tensor) else Tensor(mask)).array
    if data.dtype != np.bool_:
        raise TypeError(f"{op}: mask must be bool (True = keep); got dtype {data.dtype}")
    return data


def _keep(mask, op, B, Q, S, single, device):
    """``mask`` checked and reshaped to a bool array (B, 1, S) or (B, Q, S) on ``device``."""
    data = _bool_array(mask, op)
    expected = [(B, S)] if single else [(B, S), (B, Q, S)]
    if data.shape not in expected:
        wanted = " or ".join(str(shape) for shape in expected)
        raise ValueError(f"{op}: mask must have shape {wanted} (True = keep); got {data.shape}")
    data = backend.to_device(data, device)
    return data[:, None, :] if data.ndim == 2 else data  # (B, 1 | Q, S)


def _check_sequences(op, query, keys, values):
    """Raise a ValueError naming the expected and received shapes; return (B, Q, S)."""
    if query.ndim not in (2, 3):
        raise ValueError(f"{op}: query must be (B, Q, D) or (B, D); got shape {query.shape}")
    if keys.ndim != 3 or values.ndim != 3:
        raise ValueError(f"{op}: keys must be (B, S, D) and values (B, S, Dv); "
                         f"got {keys.shape} and {values.shape}")
    B, S = keys.shape[:2]
    if query.shape[0] != B:
        raise ValueError(f"{op}: query has batch size {query.shape[0]}, expected {B} as the keys "
                         f"(query {query.shape}, keys {keys.shape})")
    if values.shape[:2] != (B, S):
        raise ValueError(f"{op}: values must be (B, S, Dv) with (B, S) = {(B, S)} as the keys; "
                         f"got {values.shape}")
    return B, 1 if query.ndim == 2 else query.shape[1], S


def _attend(op, scores, values, mask, single):
    """weights = masked softmax of scores (B, Q, S); context = weights @ values (B, Q, Dv)."""
    B, Q, S = scores.shape
    keep = None if mask is None else _keep(mask, op, B, Q, S, single, scores.device)
    weights = masked_softmax(scores, keep)  # (B, Q, S)
    context = weights @ values  # (B, Q, S) @ (B, S, Dv) -> (B, Q, Dv)
    if single:
        return context.squeeze(1), weights.squeeze(1)  # (B, Dv), (B, S)
    return context, weights


# ---------------------------------------------------------------- functions


def dot_product_attention(query, keys, values, mask=None, scale=None):
    """Scaled dot-product attention (Luong et al. 2015; Vaswani et al. 2017).

        score_{bqs} = scale * <query_{bq}, keys_{bs}>,   scale = 1 / sqrt(D) by default
        weights = softmax over the kept s of score,   context_{bq} = sum_s weights_{bqs} values_{bs}

    Shapes: query (B, Q, D), or (B, D) for one decoder step; keys (B, S, D);
    values (B, S, Dv); mask None, (B, S) or (B, Q, S) bool, True = keep.
    Returns (context, weights): (B, Q, Dv) and (B, Q, S), or (B, Dv) and (B, S).

    >>> rng = np.random.default_rng(0)
    >>> q, k = engine.randn(2, 4, rng=rng), engine.randn(2, 5, 4, rng=rng)
    >>> context, weights = dot_product_attention(q, k, k, mask=mask_from_lengths([5, 3], 5))
    >>> context.shape, weights.shape, weights.numpy()[1, 3:].tolist()
    ((2, 4), (2, 5), [0.0, 0.0])
    """
    op = "dot_product_attention"
    _check_sequences(op, query, keys, values)
    if query.shape[-1] != keys.shape[-1]:
        raise ValueError(f"{op}: query has {query.shape[-1]} features, expected D = "
                         f"{keys.shape[-1]} as the keys (query {query.shape}, keys {keys.shape})")
    single = query.ndim == 2
    q = query.unsqueeze(1) if single else query  # (B, Q, D)
    scale = 1 / math.sqrt(keys.shape[-1]) if scale is None else scale
    scores = (q @ keys.swapaxes(1, 2)) * scale  # (B, Q, D) @ (B, D, S) -> (B, Q, S)
    return _attend(op, scores, values, mask, single)


def additive_attention(query, keys, values, w_query, w_key, v, mask=None):
    """Additive attention (Bahdanau, Cho & Bengio 2015).

        score_{bqs} = v^T tanh(W_q query_{bq} + W_k keys_{bs})
        weights = softmax over the kept s of score,   context_{bq} = sum_s weights_{bqs} values_{bs}

    Shapes: query (B, Q, Dq) or (B, Dq); keys (B, S, Dk); values (B, S, Dv);
    w_query (A, Dq); w_key (A, Dk); v (A,); mask None, (B, S) or (B, Q, S) bool,
    True = keep. Returns (context, weights) shaped as ``dot_product_attention``'s.

    >>> rng = np.random.default_rng(0)
    >>> q, k = engine.randn(2, 3, rng=rng), engine.randn(2, 5, 4, rng=rng)
    >>> wq, wk, v = (engine.randn(*shape, rng=rng) for shape in [(6, 3), (6, 4), (6,)])
    >>> context, weights = additive_attention(q, k, k, wq, wk, v)
    >>> context.shape, weights.shape
    ((2, 4), (2, 5))
    """
    op = "additive_attention"
    _check_sequences(op, query, keys, values)
    A = v.shape[0]
    for name, weight, features in (("w_query", w_query, query.shape[-1]),
                                   ("w_key", w_key, keys.shape[-1])):
        if weight.shape != (A, features):
            raise ValueError(f"{op}: {name} must be (A, {features}) = {(A, features)} with "
                             f"A = len(v) = {A}; got {weight.shape}")
    single = query.ndim == 2
    q = query.unsqueeze(1) if single else query  # (B, Q, Dq)
    projected_q = q @ w_query.T  # (B, Q, A)
    projected_k = keys @ w_key.T  # (B, S, A)
    hidden = (projected_q.unsqueeze(2) + projected_k.unsqueeze(1)).tanh()  # (B, Q, S, A)
    scores = hidden @ v  # (B, Q, S, A) @ (A,) -> (B, Q, S)
    return _attend(op, scores, values, mask, single)


# ---------------------------------------------------------------- Modules


def _uniform_parameter(shape, bound, rng, dtype, device):
    """A Parameter of ``shape`` drawn from U(-bound, bound)."""
    return Parameter(engine.uniform(-bound, bound, shape, rng, dtype, device))


class DotProductAttention(Module):
    """Luong attention: 'dot' score (no parameters) or, given the sizes, 'general' score.

        dot:      score = scale * query . key
        general:  score = scale * (W query) . key,   weight W (key_size, query_size)

    ``scale`` defaults to 1 / sqrt(key features); Luong et al. (2015) used 1.
    forward(query, keys, values, mask=None) -> (context, weights), shapes as in
    ``dot_product_attention``.

    >>> attend = DotProductAttention(3, 4, rng=np.random.default_rng(0))
    >>> context, weights = attend(engine.zeros(2, 3), engine.zeros(2, 5, 4), engine.zeros(2, 5, 6))
    >>> context.shape, weights.shape
    ((2, 6), (2, 5))
    """

    def __init__(self, query_size=None, key_size=None, *, scale=None, rng=None,
                 dtype="float32", device=None):
        super().__init__()
        if (query_size is None) != (key_size is None):
            raise ValueError("DotProductAttention: give both query_size and key_size ('general' "
                             f"score) or neither ('dot'); got {query_size} and {key_size}")
        self.scale = scale
        self.weight = None
        if query_size is not None:
            self.weight = _uniform_parameter((key_size, query_size), 1 / math.sqrt(query_size),
                                             init.generator(rng), dtype, device)

    def forward(self, query, keys, values, mask=None):
        if self.weight is not None:
            if query.shape[-1] != self.weight.shape[1]:
                raise ValueError(f"DotProductAttention: query has {query.shape[-1]} features, "
                                 f"expected query_size = {self.weight.shape[1]}")
            query = query @ self.weight.T  # (B, [Q,] key_size)
        return dot_product_attention(query, keys, values, mask, self.scale)

    def extra_repr(self):
        sizes = "" if self.weight is None else f"{self.weight.shape[1]}, {self.weight.shape[0]}"
        return sizes + ("" if self.scale is None else f", scale={self.scale}")


class AdditiveAttention(Module):
    """Bahdanau attention, ``additive_attention`` with its parameters.

    Parameters: w_query (hidden_size, query_size), w_key (hidden_size, key_size),
    v (hidden_size,), each from U(-1/sqrt(fan_in), 1/sqrt(fan_in)) as a Linear's.
    forward(query, keys, values, mask=None) -> (context, weights).

    >>> attend = AdditiveAttention(3, 4, 8, rng=np.random.default_rng(0))
    >>> context, weights = attend(engine.zeros(2, 3), engine.zeros(2, 5, 4), engine.zeros(2, 5, 4))
    >>> context.shape, weights.numpy()[0]
    ((2, 4), array([0.2, 0.2, 0.2, 0.2, 0.2], dtype=float32))
    """

    def __init__(self, query_size, key_size, hidden_size, *, rng=None, dtype="float32",
                 device=None):
        super().__init__()
        rng = init.generator(rng)
        self.w_query = _uniform_parameter((hidden_size, query_size), 1 / math.sqrt(query_size),
                                          rng, dtype, device)
        self.w_key = _uniform_parameter((hidden_size, key_size), 1 / math.sqrt(key_size),
                                        rng, dtype, device)
        self.v = _uniform_parameter((hidden_size,), 1 / math.sqrt(hidden_size), rng, dtype, device)

    def forward(self, query, keys, values, mask=None):
        return additive_attention(query, keys, values, self.w_query, self.w_key, self.v, mask)

    def extra_repr(self):
        hidden_size, query_size = self.w_query.shape
        return f"{query_size}, {self.w_key.shape[1]}, {hidden_size}"


class MultiHeadAttention(Module):
    """Multi-head attention with PyTorch's parameters (Vaswani et al. 2017).

        head_i = dot_product_attention(query W_q^i + b_q^i, key W_k^i + b_k^i, value W_v^i + b_v^i)
        output = concat(head_1 .. head_h) W_o^T + b_o

    Parameters: in_proj_weight (3E, E) = [W_q; W_k; W_v], in_proj_bias (3E,),
    out_proj.weight (E, E), out_proj.bias (E,), initialised as PyTorch does.
    forward(query, key, value, key_padding_mask=None, lengths=None, need_weights=True,
    average_attn_weights=True) -> (output, weights):
    query (Q, B, E), key and value (S, B, E) ((B, Q, E), (B, S, E) if batch_first);
    key_padding_mask (B, S) bool with **True = ignore** (PyTorch's convention), or
    ``lengths`` (B,) instead; output like query; weights (B, Q, S) averaged over
    heads, (B, num_heads, Q, S) if not ``average_attn_weights``, None if not
    ``need_weights``. A query with every key masked gets output = out_proj.bias
    (PyTorch gives NaN). No dropout, add_bias_kv or kdim/vdim.

    >>> mha = MultiHeadAttention(4, 2, batch_first=True, rng=np.random.default_rng(0))
    >>> x = engine.zeros(3, 5, 4)
    >>> [t.shape for t in mha(x, x, x, lengths=[5, 2, 1])]
    [(3, 5, 4), (3, 5, 5)]
    """

    def __init__(self, embed_dim, num_heads, bias=True, batch_first=False, *, rng=None,
                 dtype="float32", device=None):
        super().__init__()
        if embed_dim % num_heads:
            raise ValueError(f"MultiHeadAttention: embed_dim {embed_dim} is not divisible by "
                             f"num_heads {num_heads}")
        rng = init.generator(rng)
        self.embed_dim, self.num_heads, self.batch_first = embed_dim, num_heads, batch_first
        E = embed_dim
        self.in_proj_weight = init.xavier_uniform_(
            Parameter(engine.zeros(3 * E, E, dtype=dtype, device=device)), rng=rng)
        self.in_proj_bias = Parameter(engine.zeros(3 * E, dtype=dtype, device=device)) if bias \
            else None
        self.out_proj = Linear(E, E, bias, rng=rng, dtype=dtype, device=device)
        if bias:
            init.zeros_(self.out_proj.bias)

    def forward(self, query, key, value, key_padding_mask=None, lengths=None, need_weights=True,
                average_attn_weights=True):
        op, E, heads = "MultiHeadAttention", self.embed_dim, self.num_heads
        if not self.batch_first:
            query, key, value = (t.swapaxes(0, 1) if t.ndim == 3 else t
                                 for t in (query, key, value))  # (L, B, E) -> (B, L, E)
        for name, t in (("query", query), ("key", key), ("value", value)):
            if t.ndim != 3 or t.shape[-1] != E:
                raise ValueError(f"{op}: {name} must be 3-D with {E} = embed_dim features; "
                                 f"got shape {t.shape}")
        B, Q, S = _check_sequences(op, query, key, value)
        if key_padding_mask is not None and lengths is not None:
            raise ValueError(f"{op}: give key_padding_mask or lengths, not both")
        keep = None
        if lengths is not None:
            keep = _keep(mask_from_lengths(lengths, S, query.device), op, B, Q, S, True,
                         query.device)
        elif key_padding_mask is not None:
            keep = ~_keep(key_padding_mask, op, B, Q, S, True, query.device)  # True = ignore
        w, b = self.in_proj_weight, self.in_proj_bias
        d = E // heads
        parts = []
        for i, x in enumerate((query, key, value)):
            rows = slice(i * E, (i + 1) * E)  # W_q, W_k or W_v
            projected = F.linear(x, w[rows], None if b is None else b[rows])  # (B, L, E)
            L = x.shape[1]  # Q or S
            split = projected.reshape(B, L, heads, d).swapaxes(1, 2)  # (B, heads, L, d)
            parts.append(split.reshape(B * heads, L, d))  # (B * heads, L, d)
        if keep is not None:  # (B, 1, S) -> (B * heads, S), the same for every head
            xp = xp_of(keep)
            keep = xp.broadcast_to(keep, (B, heads, S)).reshape(B * heads, S)
        context, weights = dot_product_attention(*parts, mask=keep)  # (B*heads, Q, d), (.., S)
        context = context.reshape(B, heads, Q, d).swapaxes(1, 2).reshape(B, Q, E)  # concat heads
        output = self.out_proj(context)  # (B, Q, E)
        if not self.batch_first:
            output = output.swapaxes(0, 1)  # (Q, B, E)
        if not need_weights:
            return output, None
        weights = weights.reshape(B, heads, Q, S)
        return output, weights.mean(axis=1) if average_attn_weights else weights

    def extra_repr(self):
        return f"{self.embed_dim}, {self.num_heads}, batch_first={self.batch_first}"
