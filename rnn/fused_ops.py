"""Fused sequence ops: one layer, one direction, the whole sequence as ONE autograd node.

Contents:
    helpers          the weight copies, the input projection, the weight gradients
    LSTMSequence     LSTM over a sequence (gates i, f, g, o)
    GRUSequence      GRU over a sequence (gates r, z, n)
    RNNSequence      Elman RNN over a sequence (tanh or relu)

Each op is ``rnn.cells``' cell function run by ``rnn.unroll`` (the reference), computed
the way cuDNN does it:

    forward   the input projection of all T steps in one matrix product
                  A = X W_ih^T + b        (T*B, I) @ (I, G*H) -> (T, B, G*H)
              then per step one product with the recurrent weights, h_{t-1} W_hh^T,
              and one pass of gate arithmetic over a preallocated slab;
    backward  per step the gate arithmetic in reverse, writing the gradient of the
              pre-activations dA_t into a (T, B, G*H) buffer, and one product
              dA_t W_hh for the gradient of h_{t-1}; then over all T*B rows at once
                  dW_ih = dA^T X,   dW_hh = dA^T H_prev,   db = sum of dA,   dX = dA W_ih.

Every buffer is allocated once per call and written in place (``out=``). Sigmoids are
``sigmoid(a) = (1 + tanh(a / 2)) / 2``: tanh never overflows, and the halving is folded
into a copy of the weights (exact: a power of two), so all gates of a step take one
``tanh`` over the slab and one multiply-add per column (``scale``, ``shift``).

Padding (``lengths``) follows ``rnn.unroll``: past its end a sequence keeps its state and
outputs zeros; ``reverse=True`` starts each sequence at its own last valid step. The
loops run on a working copy of the batch sorted by length, longest first (with each
valid prefix reversed when ``reverse``), so step k touches rows ``0 .. batch_sizes[k]-1``
only, as PyTorch's packed sequences do; padded rows are never computed
(``rnn.fused_layout.SequenceLayout``, passed in by ``rnn.fused``).
"""

from engine.backend import xp_of
from engine.tensor import Function

# ---------------------------------------------------------------- helpers


def _transposed(w, scale=None):
    """``(w * scale[:, None])^T`` as a new C-contiguous (in, G*H) array: rows scaled, then
    transposed once per call so every per-step product reads it in order."""
    out = xp_of(w).empty(w.shape[::-1], dtype=w.dtype)
    if scale is None:
        out[...] = w.T
    else:
        xp_of(w).multiply(w.T, scale, out=out)
    return out


def _project(x, w_ih_t, out=None):
    """The input projection of every step at once: (T, B, I) @ (I, G*H) -> (T, B, G*H), into
    ``out`` (contiguous) when given. The loops add the biases, a step at a time, while
    that step is in cache."""
    steps, batch, inputs = x.shape
    if out is None:
        out = xp_of(x).empty((steps, batch, w_ih_t.shape[1]), dtype=x.dtype)
    xp_of(x).matmul(x.reshape(steps * batch, inputs), w_ih_t,
                    out=out.reshape(steps * batch, -1))  # (T*B, G*H)
    return out


def _states(xp, steps, first):
    """A (T+1, B, H) zero buffer for the states of every step, ``first`` at index 0."""
    states = xp.zeros((steps + 1, *first.shape), dtype=first.dtype)
    states[0] = first
    return states


def _weight_grads(d_pre, x, h_prev, needs):
    """dW_ih = dA^T X, dW_hh = dA^T H_prev, db = sum of dA, each one product over T*B rows.

    d_pre (T, B, G*H); x (T, B, I); h_prev (T, B, H) -> (G*H, I), (G*H, H), (G*H,) (None
    where ``needs`` says no); ``needs`` are the flags of w_ih, w_hh, b_ih, b_hh.
    """
    rows = d_pre.reshape(-1, d_pre.shape[-1])  # (T*B, G*H)
    d_w_ih = rows.T @ x.reshape(rows.shape[0], -1) if needs[0] else None  # (G*H, I)
    d_w_hh = rows.T @ h_prev.reshape(rows.shape[0], -1) if needs[1] else None  # (G*H, H)
    d_b = rows.sum(axis=0) if needs[2] or needs[3] else None  # (G*H,)
    return d_w_ih, d_w_hh, d_b, d_b


def _input_grad(d_pre, w_ih, layout, needed):
    """dX = dA W_ih, one product over all T*B rows, back in the caller's order (or None).

    d_pre (T, B, G*H); w_ih (G*H, I) -> (T, B, I).
    """
    if not needed:
        return None
    steps, batch, _ = d_pre.shape
    return layout.from_work((d_pre.reshape(steps * batch, -1) @ w_ih).reshape(steps, batch, -1))


# ---------------------------------------------------------------- LSTM


class LSTMSequence(Function):
    """LSTM over a whole sequence, one direction:

        i, f, g, o = sigmoid, sigmoid, tanh, sigmoid of  W_ih x_t + b_ih + W_hh h_{t-1} + b_hh
        c_t = f c_{t-1} + i g,    h_t = o tanh(c_t)

    Inputs x (T, B, I), h0, c0 (B, H), w_ih (4H, I), w_hh (4H, H), b_ih, b_hh (4H,).
    Outputs h_t of every step (T, B, H) (zero past each length), h_n, c_n (B, H), and
    with ``cell_states`` c_t of every step (T, B, H) too.
    """

    def forward(self, x, h0, c0, w_ih, w_hh, b_ih, b_hh, layout, cell_states):
        xp = xp_of(x)
        steps, batch, hidden = x.shape[0], x.shape[1], h0.shape[1]
        scale = xp.tile(xp.asarray([0.5, 0.5, 1.0, 0.5], dtype=x.dtype), (hidden, 1)).T.ravel()
        shift = 1 - scale  # gate = tanh(pre) * scale + shift: sigmoid for i, f, o, tanh for g
        self.is_sigmoid, self.is_tanh = 2 * shift, 1 - 2 * shift  # (4H,) each: 1 or 0
        self.layout, self.x = layout, layout.to_work(x)  # (T, B, I)
        w_hh_t, bias = _transposed(w_hh, scale), (b_ih + b_hh) * scale  # (H, 4H), (4H,)
        gates = _project(self.x, _transposed(w_ih, scale))  # (T, B, 4H)
        hs = _states(xp, steps, layout.rows_to_work(h0))  # (T+1, B, H)
        cs = _states(xp, steps, layout.rows_to_work(c0))  # (T+1, B, H)
        tanh_c = xp.empty((steps, batch, hidden), dtype=x.dtype)  # tanh(c_t), for backward
        recurrent = xp.empty((batch, 4 * hidden), dtype=x.dtype)  # (B, 4H)
        scratch = xp.empty((batch, hidden), dtype=x.dtype)  # (B, H)
        for t, b in enumerate(layout.batch_sizes):
            a = gates[t, :b]  # (b, 4H): pre-activations, then the gate values
            xp.matmul(hs[t, :b], w_hh_t, out=recurrent[:b])
            a += recurrent[:b]
            a += bias
            xp.tanh(a, out=a)
            a *= scale
            a += shift
            i, f, g, o = (a[:, k * hidden:(k + 1) * hidden] for k in range(4))  # each (b, H)
            c = cs[t + 1, :b]
            xp.multiply(f, cs[t, :b], out=c)
            xp.multiply(i, g, out=scratch[:b])
            c += scratch[:b]  # c = f c_prev + i g
            xp.tanh(c, out=tanh_c[t, :b])
            xp.multiply(o, tanh_c[t, :b], out=hs[t + 1, :b])  # h = o tanh(c)
        self.w_ih, self.w_hh = w_ih, w_hh
        self.gates, self.hs, self.cs, self.tanh_c = gates, hs, cs, tanh_c
        out = (layout.from_work(hs[1:]), layout.final(hs), layout.final(cs))
        return (*out, layout.from_work(cs[1:])) if cell_states else out

    def backward(self, d_out, d_hn, d_cn, d_cs=None):
        # c_t = f c + i g, h_t = o tanh(c_t): dc = dc_next + dh o (1 - tanh^2 c_t),
        # di = dc g, df = dc c_{t-1}, dg = dc i, do = dh tanh(c_t), dc_{t-1} = dc f
        xp, layout, hidden = xp_of(d_out), self.layout, self.hs.shape[2]
        steps, batch = d_out.shape[:2]
        d_out = layout.to_work(d_out)  # (T, B, H)
        d_cs = None if d_cs is None else layout.to_work(d_cs)  # (T, B, H)
        dh, dc = layout.rows_to_work(d_hn), layout.rows_to_work(d_cn)  # (B, H): d final states
        d_pre = xp.zeros((steps, batch, 4 * hidden), dtype=d_out.dtype)  # (T, B, 4H)
        slope = xp.empty((batch, 4 * hidden), dtype=d_out.dtype)  # (B, 4H)
        scratch = xp.empty((batch, hidden), dtype=d_out.dtype)  # (B, H)
        for t in reversed(range(steps)):
            b = layout.batch_sizes[t]
            a, d = self.gates[t, :b], d_pre[t, :b]  # (b, 4H): gate values, their gradients
            i, f, g, o = (a[:, k * hidden:(k + 1) * hidden] for k in range(4))
            di, df, dg, do = (d[:, k * hidden:(k + 1) * hidden] for k in range(4))
            tanh_c, dh_t, dc_t, tmp = self.tanh_c[t, :b], dh[:b], dc[:b], scratch[:b]
            dh_t += d_out[t, :b]
            if d_cs is not None:
                dc_t += d_cs[t, :b]
            xp.multiply(dh_t, tanh_c, out=do)
            xp.multiply(do, tanh_c, out=tmp)
            xp.subtract(dh_t, tmp, out=tmp)
            tmp *= o
            dc_t += tmp  # dh o (1 - tanh^2 c) = (dh - do tanh c) o
            xp.multiply(dc_t, g, out=di)
            xp.multiply(dc_t, self.cs[t, :b], out=df)
            xp.multiply(dc_t, i, out=dg)
            dc_t *= f
            s = slope[:b]  # sigmoid' = (1 - s) s, tanh' = 1 - g^2: (p - a) a + 1 - p, p = 1, 0
            xp.subtract(self.is_sigmoid, a, out=s)
            s *= a
            s += self.is_tanh
            d *= s
            xp.matmul(d, self.w_hh, out=dh_t)  # dh_{t-1} = dA_t W_hh
        needs = self.needs_input_grad
        d_x = _input_grad(d_pre, self.w_ih, layout, needs[0])  # (T, B, I)
        return (d_x, layout.rows_from_work(dh), layout.rows_from_work(dc),
                *_weight_grads(d_pre, self.x, self.hs[:-1], needs[3:]))


# ---------------------------------------------------------------- GRU


class GRUSequence(Function):
    """GRU over a whole sequence, one direction:

        r = sigmoid(W_ir x_t + b_ir + W_hr h + b_hr),  z = sigmoid(W_iz x_t + b_iz + W_hz h + b_hz)
        n = tanh(W_in x_t + b_in + r (W_hn h + b_hn)),  h_t = (1 - z) n + z h = n + z (h - n)

    with h = h_{t-1}. Inputs x (T, B, I), h0 (B, H), w_ih (3H, I), w_hh (3H, H), b_ih,
    b_hh (3H,). Outputs h_t of every step (T, B, H) (zero past each length) and h_n (B, H).
    b_hr and b_hz join b_ih in one bias; b_hn cannot (r multiplies it), so the
    pre-activation gradient differs on the two sides in the n rows: dA_h = (dr, dz, dn r),
    dA_x = (dr, dz, dn), kept as one (T, B, 3H) buffer and one (T, B, H) buffer.
    """

    def forward(self, x, h0, w_ih, w_hh, b_ih, b_hh, layout):
        xp = xp_of(x)
        steps, batch, hidden = x.shape[0], x.shape[1], h0.shape[1]
        scale = xp.ones(3 * hidden, dtype=x.dtype)
        scale[:2 * hidden] = 0.5  # r and z are sigmoids: tanh(pre / 2) / 2 + 1 / 2
        bias = b_ih.copy()  # (3H,): b_ih, plus b_hr and b_hz (b_hn stays inside r (...))
        bias[:2 * hidden] += b_hh[:2 * hidden]
        bias *= scale
        self.layout, self.x = layout, layout.to_work(x)  # (T, B, I)
        w_hh_t = _transposed(w_hh, scale)  # (H, 3H)
        gates = _project(self.x, _transposed(w_ih, scale))  # (T, B, 3H)
        b_hn = b_hh[2 * hidden:]  # (H,)
        hs = _states(xp, steps, layout.rows_to_work(h0))  # (T+1, B, H)
        hn = xp.empty((steps, batch, hidden), dtype=x.dtype)  # W_hn h + b_hn, for backward
        recurrent = xp.empty((batch, 3 * hidden), dtype=x.dtype)  # (B, 3H)
        for t, b in enumerate(layout.batch_sizes):
            a, rec = gates[t, :b], recurrent[:b]  # (b, 3H): pre-activations, then r, z, n
            xp.matmul(hs[t, :b], w_hh_t, out=rec)
            rz, n = a[:, :2 * hidden], a[:, 2 * hidden:]  # (b, 2H), (b, H)
            a += bias
            rz += rec[:, :2 * hidden]
            xp.tanh(rz, out=rz)
            rz *= 0.5
            rz += 0.5
            r, z = rz[:, :hidden], rz[:, hidden:]
            xp.add(rec[:, 2 * hidden:], b_hn, out=hn[t, :b])
            xp.multiply(r, hn[t, :b], out=rec[:, :hidden])
            n += rec[:, :hidden]
            xp.tanh(n, out=n)
            h = hs[t + 1, :b]
            xp.subtract(hs[t, :b], n, out=h)
            h *= z
            h += n  # h = n + z (h_prev - n)
        self.w_ih, self.w_hh, self.gates, self.hn, self.hs = w_ih, w_hh, gates, hn, hs
        return layout.from_work(hs[1:]), layout.final(hs)

    def backward(self, d_out, d_hn):
        # h_t = n + z (h - n): dn = dh (1 - z), dz = dh (h - n), dh_prev = dh z + dA_h W_hh;
        # n = tanh(a_n + r hn): dn_pre = dn (1 - n^2), dr = dn_pre hn, d hn = dn_pre r
        xp, layout, hidden = xp_of(d_out), self.layout, self.hs.shape[2]
        steps, batch = d_out.shape[:2]
        d_out = layout.to_work(d_out)  # (T, B, H)
        dh = layout.rows_to_work(d_hn)  # (B, H)
        d_pre_h = xp.zeros((steps, batch, 3 * hidden), dtype=d_out.dtype)  # dA_h (T, B, 3H)
        d_pre_n = xp.zeros((steps, batch, hidden), dtype=d_out.dtype)  # dA_x, n rows (T, B, H)
        scratch = xp.empty((2, batch, hidden), dtype=d_out.dtype)  # 2 x (B, H)
        for t in reversed(range(steps)):
            b = layout.batch_sizes[t]
            r, z, n = (self.gates[t, :b, k * hidden:(k + 1) * hidden] for k in range(3))
            dr, dz, d_hn_t = (d_pre_h[t, :b, k * hidden:(k + 1) * hidden] for k in range(3))
            dn, dh_t, tmp, one_minus_z = d_pre_n[t, :b], dh[:b], scratch[0, :b], scratch[1, :b]
            dh_t += d_out[t, :b]
            xp.multiply(n, n, out=tmp)
            xp.subtract(1, tmp, out=tmp)
            tmp *= dh_t
            xp.subtract(1, z, out=one_minus_z)
            xp.multiply(tmp, one_minus_z, out=dn)  # dn_pre = dh (1 - z) (1 - n^2)
            xp.subtract(self.hs[t, :b], n, out=dz)
            dz *= dh_t
            one_minus_z *= z
            dz *= one_minus_z  # dz_pre = dh (h - n) z (1 - z)
            xp.multiply(dn, self.hn[t, :b], out=dr)
            xp.subtract(1, r, out=tmp)
            tmp *= r
            dr *= tmp  # dr_pre = dn_pre hn r (1 - r)
            xp.multiply(dn, r, out=d_hn_t)
            dh_t *= z
            xp.matmul(d_pre_h[t, :b], self.w_hh, out=tmp)
            dh_t += tmp  # dh_{t-1} = dh z + dA_h W_hh
        needs, rows = self.needs_input_grad, steps * batch
        rows_rz = d_pre_h.reshape(rows, -1)[:, :2 * hidden]  # (T*B, 2H): dA_x = dA_h there
        rows_n = d_pre_n.reshape(rows, hidden)  # (T*B, H)
        d_x = None
        if needs[0]:
            d_x = rows_rz @ self.w_ih[:2 * hidden] + rows_n @ self.w_ih[2 * hidden:]  # (T*B, I)
            d_x = layout.from_work(d_x.reshape(steps, batch, -1))
        _, d_w_hh, d_b_hh, _ = _weight_grads(d_pre_h, self.x, self.hs[:-1], (False, *needs[3:]))
        d_w_ih = d_b_ih = None
        if needs[2]:
            x = self.x.reshape(rows, -1)  # (T*B, I)
            d_w_ih = xp.concatenate([rows_rz.T @ x, rows_n.T @ x])  # (3H, I)
        if needs[4]:
            d_b_ih = xp.concatenate([d_b_hh[:2 * hidden], rows_n.sum(axis=0)])  # (3H,)
        return d_x, layout.rows_from_work(dh), d_w_ih, d_w_hh, d_b_ih, d_b_hh


# ---------------------------------------------------------------- RNN


class RNNSequence(Function):
    """Elman RNN over a whole sequence, one direction:

        h_t = act(W_ih x_t + b_ih + W_hh h_{t-1} + b_hh),   act = tanh or relu

    Inputs x (T, B, I), h0 (B, H), w_ih (H, I), w_hh (H, H), b_ih, b_hh (H,). Outputs h_t
    of every step (T, B, H) (zero past each length) and h_n (B, H). The input projection
    is written straight into the state buffer, which each step then finishes in place.
    """

    def forward(self, x, h0, w_ih, w_hh, b_ih, b_hh, layout, nonlinearity):
        xp = xp_of(x)
        steps, batch = x.shape[:2]
        self.layout, self.nonlinearity, self.x = layout, nonlinearity, layout.to_work(x)
        hs = _states(xp, steps, layout.rows_to_work(h0))  # (T+1, B, H)
        _project(self.x, _transposed(w_ih), out=hs[1:])
        bias = b_ih + b_hh  # (H,)
        w_hh_t = _transposed(w_hh)  # (H, H)
        recurrent = xp.empty_like(hs[0])  # (B, H)
        for t, b in enumerate(layout.batch_sizes):
            h = hs[t + 1, :b]
            xp.matmul(hs[t, :b], w_hh_t, out=recurrent[:b])
            h += recurrent[:b]
            h += bias
            if nonlinearity == "tanh":
                xp.tanh(h, out=h)
            else:
                xp.maximum(h, 0, out=h)
            hs[t + 1, b:] = 0  # padded rows: output zero
        self.w_ih, self.w_hh, self.hs = w_ih, w_hh, hs
        return layout.from_work(hs[1:]), layout.final(hs)

    def backward(self, d_out, d_hn):
        # h_t = act(a_t): dA_t = dh_t (1 - h_t^2) for tanh, dh_t [h_t > 0] for relu
        xp, layout = xp_of(d_out), self.layout
        steps, batch, hidden = d_out.shape
        d_out = layout.to_work(d_out)  # (T, B, H)
        dh = layout.rows_to_work(d_hn)  # (B, H)
        d_pre = xp.zeros((steps, batch, hidden), dtype=d_out.dtype)  # (T, B, H)
        positive = xp.empty((batch, hidden), dtype=bool)  # (B, H), relu only
        for t in reversed(range(steps)):
            b = layout.batch_sizes[t]
            h, d, dh_t = self.hs[t + 1, :b], d_pre[t, :b], dh[:b]
            dh_t += d_out[t, :b]
            if self.nonlinearity == "tanh":
                xp.multiply(h, h, out=d)
                xp.subtract(1, d, out=d)
                d *= dh_t
            else:
                xp.greater(h, 0, out=positive[:b])
                xp.multiply(dh_t, positive[:b], out=d)
            xp.matmul(d, self.w_hh, out=dh_t)  # dh_{t-1} = dA_t W_hh
        needs = self.needs_input_grad
        d_x = _input_grad(d_pre, self.w_ih, layout, needs[0])  # (T, B, I)
        return (d_x, layout.rows_from_work(dh),
                *_weight_grads(d_pre, self.x, self.hs[:-1], needs[2:]))
