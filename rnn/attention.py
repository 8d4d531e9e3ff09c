"""Attention over a set of keys: the op and the functions first, the Modules on top.

Contents:
    masks      mask_from_lengths; masked_softmax (MaskedSoftmax)
    the op     Attention (and AttentionWithWeights): softmax(scale q k^T + bias) @ v as one
               autograd node, masked scores selected out, softmax backward in one pass
    functions  scaled_dot_product_attention (PyTorch's), dot_product_attention,
               additive_attention
    Modules    DotProductAttention, AdditiveAttention (MultiheadAttention, PyTorch's, is in
               rnn.multihead, on the op and the masks here)

Dimensions: B batch (N in PyTorch's MultiheadAttention), Q or L queries, S keys,
D (E) query/key features, Dv value features, A the additive hidden size, H heads,
E = H * d the embedding of MultiheadAttention.

Two mask conventions, each its API's own. The functions of this package
(``dot_product_attention``, ``additive_attention``, ``masked_softmax``) and
PyTorch's ``scaled_dot_product_attention`` take a bool mask with **True = keep**
(attend to this key); ``MultiheadAttention``'s ``key_padding_mask`` and
``attn_mask`` are PyTorch's, bool with **True = ignore**. Float masks are added
to the scores; their ``-inf`` entries mask.

Masked keys get exactly zero weight, whatever their scores: masking **selects**
(``where``), it never multiplies, so a masked key or value of any value, NaN and
inf included, changes no output and no gradient. A query whose keys are all
masked (a fully masked row) gets zero weights, a zero context and a zero gradient,
never NaN: PyTorch's ``scaled_dot_product_attention`` does the same since 2.5, while
its ``MultiheadAttention`` gives NaN there when ``need_weights=True`` (and
``out_proj.bias``, as ours always, when ``need_weights=False``).
"""

import math

import numpy as np

import engine  # noqa: F401  (the examples in the docstrings use it)
from engine import Function, Tensor, backend
from engine.backend import xp_of
from engine.ops.reduce import Softmax
from engine.random import generator_of
from nn import init
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


def _softmax_(scores):
    """Softmax over the last axis, in place, of float scores whose masked entries are -inf.

    A row that is all -inf (nothing kept) becomes all zeros: its maximum is replaced
    by 0 and its zero total by 1, so every weight is 0 / 1, never NaN.
    """
    xp = xp_of(scores)
    top = scores.max(axis=-1, keepdims=True)  # (..., 1): -inf on a fully masked row
    xp.copyto(top, 0, where=top == -xp.inf)
    scores -= top
    xp.exp(scores, out=scores)  # exactly 0 where masked, <= 1 elsewhere
    total = scores.sum(axis=-1, keepdims=True)  # (..., 1): >= 1, or 0 on a fully masked row
    xp.copyto(total, 1, where=total == 0)
    scores *= 1 / total
    return scores


def _softmax_backward_(grad, weights, row_sums=None):
    """The softmax's backward over the last axis, in place on ``grad``, in one pass each:
    d score_i = w_i (d w_i - sum_j w_j d w_j); zero wherever w_i is zero (masked keys).
    ``row_sums`` (..., 1), when the caller knows them, are the sums over j."""
    if row_sums is None:  # one pass, no temporary
        row_sums = xp_of(grad).einsum("...i,...i->...", grad, weights)[..., None]
    grad -= row_sums
    grad *= weights
    return grad


class MaskedSoftmax(Softmax):
    """softmax over the last axis, restricted to the kept positions.

    s_i = keep_i exp(x_i - m) / sum_j keep_j exp(x_j - m), m = max over kept x_j;
    a row with nothing kept is all zeros. The backward is the softmax's,
    ``s * (grad - sum(grad * s))``: zero wherever s is zero, so masked positions and
    fully masked rows get a zero gradient.
    """

    def forward(self, scores, keep):
        xp = xp_of(scores)
        self.axis = -1
        kept = xp.where(keep, scores, -xp.inf)  # (..., S): masked -> -inf, whatever the score
        self.out = _softmax_(kept)
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
    data = _array(mask)
    if data.dtype != np.bool_:
        raise TypeError(f"{op}: mask must be bool (True = keep); got dtype {data.dtype}")
    return data


def _array(mask):
    """The raw array of a mask given as a Tensor, an array or nested lists."""
    return (mask if isinstance(mask, Tensor) else Tensor(mask)).array


def _dead_keys(masked):
    """(..., S, 1) bool: the keys no query attends to (masked in every row), or None."""
    if masked is None:
        return None
    dead = masked.all(axis=-2)[..., None]
    return dead if dead.any() else None


def _select_keys(tensor, dead):
    """``tensor`` (..., S, F) with the rows of dead keys replaced by zeros: selected, so that
    whatever they held (NaN, inf) reaches no output and no gradient."""
    return tensor if dead is None else engine.where(dead, 0.0, tensor)


# ---------------------------------------------------------------- the op


class Attention(Function):
    """out = dropout(softmax(scale q k^T + bias, masked -> 0)) @ v, one autograd node.

    Inputs: q (..., L, E), k (..., S, E), v (..., S, Ev) (batch axes broadcast), and an
    optional float bias broadcastable to (..., L, S) (a float attn_mask, which may want
    a gradient). Options: ``masked`` bool array broadcastable to (..., L, S) (True =
    masked: the score is replaced by -inf, selected, whatever it and the bias were),
    ``scale``, ``drop`` (None, or the dropout's keep mask already divided by 1 - p).
    Keys masked in every row are replaced by zeros before use, so their k and v rows
    reach nothing. Saved for backward: q, k, v and the weights (..., L, S).

        forward   s = (scale q) k^T + bias;  w = softmax(s);  w' = w * drop;  out = w' v
        backward  dv = w'^T dout;  dw = (dout v^T) * drop;  ds = w (dw - sum(w dw));
                  dq = scale ds k;  dk = scale ds^T q;  dbias = ds

    The softmax's row sums need no pass over the (L, S) weights: sum_j w_ij dw_ij =
    sum_j w'_ij (dout_i . v_j) = dout_i . out_i, a sum over Ev features (FlashAttention's
    identity), so the op saves its output too.
    """

    saved_inputs, saves_output = (0, 1, 2), True

    def forward(self, q, k, v, *bias, masked, scale, drop):
        xp = xp_of(q)
        dead = _dead_keys(masked)
        if dead is not None:  # keys nobody attends to: their rows are selected out
            k, v = xp.where(dead, 0, k), xp.where(dead, 0, v)
        self.q, self.k, self.v, self.scale, self.drop = q, k, v, scale, drop
        self.has_bias = bool(bias)
        scores = (q * q.dtype.type(scale)) @ k.swapaxes(-1, -2)  # (..., L, S)
        shape = np.broadcast_shapes(scores.shape, *(m.shape for m in [*bias, masked]
                                                    if m is not None))
        if shape != scores.shape:  # a mask with more batch axes than q and k
            scores = xp.broadcast_to(scores, shape).copy()
        if bias:
            scores += bias[0]
        if masked is not None:
            xp.copyto(scores, -xp.inf, where=masked)  # selected: whatever the score was
        self.weights = _softmax_(scores)  # (..., L, S), in place
        self.dropped = self.weights if drop is None else self.weights * drop
        self.out = self.dropped @ v  # (..., L, Ev)
        return self.out

    def backward(self, grad, grad_weights=None):
        q, k, v, w, dropped = self.q, self.k, self.v, self.weights, self.dropped
        scale = q.dtype.type(self.scale)
        needs = self.needs_input_grad
        # w'^T dout as (dout^T w')^T: BLAS is faster with the small operand transposed
        dv = (grad.swapaxes(-1, -2) @ dropped).swapaxes(-1, -2) if needs[2] else None
        if not (needs[0] or needs[1] or (self.has_bias and needs[3])):
            return (None, None, dv, None)[: 3 + self.has_bias]
        dw = grad @ v.swapaxes(-1, -2)  # (..., L, S)
        if grad_weights is not None:
            dw += grad_weights
        if self.drop is not None:
            dw *= self.drop
        row_sums = None
        if grad_weights is None and self.out is not None:  # dout_i . out_i, see above
            row_sums = xp_of(grad).einsum("...e,...e->...", grad, self.out)[..., None]
        ds = _softmax_backward_(dw, w, row_sums)  # in place: (..., L, S), zero where masked
        dq = (ds @ k) * scale if needs[0] else None  # (..., L, E)
        dk = (q.swapaxes(-1, -2) @ ds).swapaxes(-1, -2) * scale if needs[1] else None
        return (dq, dk, dv, ds)[: 3 + self.has_bias]


class AttentionWithWeights(Attention):
    """``Attention`` that also returns its weights (after dropout), as its first output:
    (weights (..., L, S), out (..., L, Ev)); a gradient may reach both."""

    saves_output = True  # output 0, the weights, is what backward reads

    def forward(self, q, k, v, *bias, masked, scale, drop):
        out = super().forward(q, k, v, *bias, masked=masked, scale=scale, drop=drop)
        self.out = None  # output 1, unguarded: the row sums come from the weights instead
        return self.dropped, out

    def backward(self, grad_weights, grad):
        return super().backward(grad, grad_weights)


def _attention(q, k, v, *, masked=None, bias=None, scale=None, dropout_p=0.0, need_weights=False):
    """(out, weights or None) of the op: ``masked`` a raw bool array (True = masked), ``bias``
    a float Tensor or raw array or None; dropout drawn from the default generator."""
    scale = 1 / math.sqrt(q.shape[-1]) if scale is None else float(scale)
    if masked is not None:
        masked = backend.to_device(masked, q.device)
    inputs = [q, k, v]
    if bias is not None:
        inputs.append(bias if isinstance(bias, Tensor) else
                      Tensor(backend.to_device(bias.astype(q.dtype, copy=False), q.device)))
    drop = None
    if dropout_p > 0:
        L, S = q.shape[-2], k.shape[-2]
        shape = np.broadcast_shapes(q.shape[:-2] + (L, S), k.shape[:-2] + (1, 1),
                                    *(m.shape for m in (masked, bias) if m is not None))
        if dropout_p >= 1:
            drop = xp_of(q.array).zeros(shape, q.dtype)
        else:  # drawn on the CPU from the default generator, then moved
            kept = generator_of(None).random(shape) >= dropout_p
            drop = backend.to_device((kept / (1 - dropout_p)).astype(q.dtype), q.device)
    op = AttentionWithWeights if need_weights else Attention
    result = op.apply(*inputs, masked=masked, scale=scale, drop=drop)
    return (result[1], result[0]) if need_weights else (result, None)


# ---------------------------------------------------------------- functions


def scaled_dot_product_attention(query, key, value, attn_mask=None, dropout_p=0.0,
                                 is_causal=False, scale=None, enable_gqa=False):
    """PyTorch's ``F.scaled_dot_product_attention``: softmax(q k^T * scale + mask) @ v.

        w = softmax(query key^T * scale + bias),  scale = 1 / sqrt(E) by default
        out = dropout(w, dropout_p) @ value

    Shapes: query (..., L, E), key (..., S, E), value (..., S, Ev) -> (..., L, Ev); the
    leading axes broadcast. ``attn_mask`` broadcastable to (..., L, S): bool, **True =
    take part** (the inverse of MultiheadAttention's masks), or float, added to the
    scores (its -inf entries mask). ``is_causal``: query i sees keys 0..i (the mask
    ``tril(ones(L, S))``; give no attn_mask with it). ``enable_gqa``: key and value may
    have fewer heads (axis -3) than query, a divisor of its count, each shared by a group
    of query heads. Dropout (applied whatever the mode, as PyTorch's: pass 0 in
    evaluation) draws from the default generator. A row with nothing to attend to gives
    zeros, as PyTorch's.

    >>> q = engine.randn(2, 3, 5, 4, rng=0)  # (N, H, L, E)
    >>> scaled_dot_product_attention(q, q, q, is_causal=True).shape
    (2, 3, 5, 4)
    """
    for name, t in (("query", query), ("key", key), ("value", value)):
        if t.ndim < 2:
            raise RuntimeError(f"scaled_dot_product_attention: {name} must have at least 2 "
                               f"dimensions (..., length, features); got shape {t.shape}")
    if query.shape[-1] != key.shape[-1] or key.shape[-2] != value.shape[-2]:
        raise RuntimeError(f"scaled_dot_product_attention: expected query (..., L, E), key "
                           f"(..., S, E) and value (..., S, Ev); got {query.shape}, "
                           f"{key.shape} and {value.shape}")
    L, S = query.shape[-2], key.shape[-2]
    masked = bias = None
    if is_causal:
        if attn_mask is not None:
            raise RuntimeError("_scaled_dot_product_attention: Explicit attn_mask should not "
                               "be set when is_causal=True")
        masked = ~np.tri(L, S, dtype=bool)  # (L, S): True where key s comes after query i
    elif attn_mask is not None:
        _check_mask_fits(attn_mask, query, key, enable_gqa)
        masked, bias = _canonical(attn_mask, "attn_mask", keep_is_true=True)
        if isinstance(attn_mask, Tensor) and attn_mask.requires_grad and bias is not None:
            bias = attn_mask  # the gradient reaches it (zero where masked)
    grouped = enable_gqa and query.ndim >= 3 and key.shape[-3] != query.shape[-3]
    if grouped:  # each key head serves a group of query heads: a broadcast, not a copy
        Hq, Hk = query.shape[-3], key.shape[-3]
        if key.ndim < 3 or Hq % Hk or value.shape[-3] != Hk:
            raise RuntimeError(f"scaled_dot_product_attention: with enable_gqa, query's heads "
                               f"({Hq}) must be a multiple of key's and value's ({key.shape}, "
                               f"{value.shape})")
        query = query.reshape(*query.shape[:-3], Hk, Hq // Hk, L, query.shape[-1])
        key, value = key.unsqueeze(-3), value.unsqueeze(-3)  # (..., Hk, 1, S, E)
        masked, bias = (_grouped_mask(m, Hk) for m in (masked, bias))
    out, _ = _attention(query, key, value, masked=masked, bias=bias, scale=scale,
                        dropout_p=dropout_p)
    return out.reshape(*out.shape[:-4], -1, L, out.shape[-1]) if grouped else out


def _check_mask_fits(attn_mask, query, key, enable_gqa):
    """Raise PyTorch's RuntimeError unless ``attn_mask`` broadcasts to the scores' shape
    (..., L, S) without growing it (a mask with more axes would silently batch the output)."""
    lead = query.shape[:-2]
    if not enable_gqa:
        try:
            lead = np.broadcast_shapes(lead, key.shape[:-2])
        except ValueError:  # query and key do not broadcast: the product says so
            return
    scores = (*lead, query.shape[-2], key.shape[-2])
    try:
        fits = np.broadcast_shapes(scores, tuple(attn_mask.shape)) == scores
    except ValueError:
        fits = False
    if not fits:
        raise RuntimeError(f"scaled_dot_product_attention: attn_mask of shape "
                           f"{tuple(attn_mask.shape)} must broadcast to the scores' shape "
                           f"(..., L, S) = {scores}; query {query.shape}, key {key.shape}")


def _grouped_mask(mask, Hk):
    """A mask broadcastable to (..., Hq, L, S) as one broadcastable to (..., Hk, Hq/Hk, L, S)."""
    if mask is None or mask.ndim < 3:
        return mask
    if mask.shape[-3] == 1:
        return mask.unsqueeze(-3) if isinstance(mask, Tensor) else mask[..., None, :, :]
    return mask.reshape(*mask.shape[:-3], Hk, mask.shape[-3] // Hk, *mask.shape[-2:])


def _canonical(mask, name, keep_is_true):
    """A bool or float mask as (masked, bias): raw bool array (True = masked) or None, and a
    raw float array of the finite additions (0 where masked) or None."""
    data = _array(mask)
    if data.dtype == np.bool_:
        return (~data if keep_is_true else data), None
    if data.dtype.kind != "f":
        raise AssertionError(f"only bool and floating types of {name} are supported; got "
                             f"{data.dtype}")
    xp = xp_of(data)
    masked = data == -xp.inf
    if not masked.any():
        return None, data
    return masked, xp.where(masked, 0, data)


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


def dot_product_attention(query, keys, values, mask=None, scale=None):
    """Scaled dot-product attention (Luong et al. 2015; Vaswani et al. 2017).

        score_{bqs} = scale * <query_{bq}, keys_{bs}>,   scale = 1 / sqrt(D) by default
        weights = softmax over the kept s of score,   context_{bq} = sum_s weights_{bqs} values_{bs}

    Shapes: query (B, Q, D), or (B, D) for one decoder step; keys (B, S, D);
    values (B, S, Dv); mask None, (B, S) or (B, Q, S) bool, True = keep.
    Returns (context, weights): (B, Q, Dv) and (B, Q, S), or (B, Dv) and (B, S).
    The ``Attention`` op computes both, as ``scaled_dot_product_attention`` does.

    >>> rng = np.random.default_rng(0)
    >>> q, k = engine.randn(2, 4, rng=rng), engine.randn(2, 5, 4, rng=rng)
    >>> context, weights = dot_product_attention(q, k, k, mask=mask_from_lengths([5, 3], 5))
    >>> context.shape, weights.shape, weights.numpy()[1, 3:].tolist()
    ((2, 4), (2, 5), [0.0, 0.0])
    """
    op = "dot_product_attention"
    B, Q, S = _check_sequences(op, query, keys, values)
    if query.shape[-1] != keys.shape[-1]:
        raise ValueError(f"{op}: query has {query.shape[-1]} features, expected D = "
                         f"{keys.shape[-1]} as the keys (query {query.shape}, keys {keys.shape})")
    single = query.ndim == 2
    q = query.unsqueeze(1) if single else query  # (B, Q, D)
    masked = None if mask is None else ~_keep(mask, op, B, Q, S, single, query.device)
    context, weights = _attention(q, keys, values, masked=masked, scale=scale,
                                  need_weights=True)  # (B, Q, Dv), (B, Q, S)
    if single:
        return context.squeeze(1), weights.squeeze(1)  # (B, Dv), (B, S)
    return context, weights


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
    B, Q, S = _check_sequences(op, query, keys, values)
    A = v.shape[0]
    for name, weight, features in (("w_query", w_query, query.shape[-1]),
                                   ("w_key", w_key, keys.shape[-1])):
        if weight.shape != (A, features):
            raise ValueError(f"{op}: {name} must be (A, {features}) = {(A, features)} with "
                             f"A = len(v) = {A}; got {weight.shape}")
    single = query.ndim == 2
    q = query.unsqueeze(1) if single else query  # (B, Q, Dq)
    keep = None if mask is None else _keep(mask, op, B, Q, S, single, query.device)
    dead = None if keep is None else _dead_keys(~keep)  # (B, S, 1): keys nobody attends to
    keys, values = _select_keys(keys, dead), _select_keys(values, dead)
    projected_q = q @ w_query.T  # (B, Q, A)
    projected_k = keys @ w_key.T  # (B, S, A)
    hidden = (projected_q.unsqueeze(2) + projected_k.unsqueeze(1)).tanh()  # (B, Q, S, A)
    scores = hidden @ v  # (B, Q, S, A) @ (A,) -> (B, Q, S)
    weights = masked_softmax(scores, keep)  # (B, Q, S)
    context = weights @ values  # (B, Q, S) @ (B, S, Dv) -> (B, Q, Dv)
    if single:
        return context.squeeze(1), weights.squeeze(1)  # (B, Dv), (B, S)
    return context, weights


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
                 dtype=None, device=None):
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

    def __init__(self, query_size, key_size, hidden_size, *, rng=None, dtype=None,
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
