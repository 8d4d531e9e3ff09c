"""Fused sequence ops: one layer, one direction, the whole sequence as ONE autograd node.

Contents:
    helpers          the weight copies, the working slab made of pre_x, the weight gradients
    LSTMSequence     LSTM over a sequence (gates i, f, g, o)
    GRUSequence      GRU over a sequence (gates r, z, n)
    RNNSequence      Elman RNN over a sequence (tanh or relu)

Each op is ``rnn.cells``' cell function run by ``rnn.unroll`` (the reference), computed
the way cuDNN does it. Its input is the input projection of all T steps, one matrix
product done before it by ``rnn.fused`` (for both directions of a layer at once):

    pre_x = X W_ih^T          (T*B, I) @ (I, G*H) -> (T, B, G*H), no bias

    forward   per step one product with the recurrent weights, h_{t-1} W_hh^T, and one
              pass of gate arithmetic over a preallocated slab (the biases added there);
    backward  per step the gate arithmetic in reverse, writing the gradient of the
              pre-activations dA_t into a (T, B, G*H) buffer, and one product
              dA_t W_hh for the gradient of h_{t-1}; then over all T*B rows at once
                  dW_hh = dA^T H_prev,   db = sum of dA,
              and dA itself is the gradient of pre_x: the engine's matrix product turns
              it into dX = dA W_ih and dW_ih = dA^T X, one product each.

Every buffer is allocated once per call and written in place (``out=``). Sigmoids are
``sigmoid(a) = (1 + tanh(a / 2)) / 2``: tanh never overflows, and the halving is folded
into the slab (pre_x itself: see ``_working_slab``), the bias and a copy of W_hh (exact:
a power of two), so all gates of a step take one ``tanh`` over the slab and one
multiply-add per column.

The gate arithmetic of a step is a "kernel" named like ``lstm_forward``, launched with
the whole buffers and the step index: array operations on the CPU
(``rnn.fused_steps.ArrayKernels``), one CUDA kernel on the GPU (``rnn.fused_kernels``,
which also chooses the way). ``_run_forward`` and ``_run_backward`` run it over the
steps, the same for the three ops: the loop computes the recurrent product with one BLAS
call per step unless ``kernels.fused_product`` (the kernel does it), and when
``kernels.whole_sequence`` one ``*_sequence`` launch replaces the loop.

Padding (``lengths``) follows ``rnn.unroll``: past its end a sequence keeps its state and
outputs zeros; ``reverse=True`` starts each sequence at its own last valid step. The
loops run on a working copy of the batch sorted by length, longest first (with each
valid prefix reversed when ``reverse``), so step k touches rows ``0 .. batch_sizes[k]-1``
only, as PyTorch's packed sequences do; padded rows are never computed
(``rnn.fused_layout.SequenceLayout``, passed in by ``rnn.fused``).
"""


from engine.backend import xp_of
from engine.tensor import Function
from rnn import fused_kernels
from rnn.fused_steps import GRU_GATES, LSTM_GATES, gate_scale

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


def _working_slab(pre_x, layout, scale):
    """pre_x (T, B, G*H) in the working order, times ``scale`` (G*H,): the slab the loops
    write the gate values over. pre_x is the op's own (``rnn.fused`` makes it for the op
    alone, and nothing reads it after), so a C-contiguous one becomes the slab in place:
    the projection costs no memory beyond the gate values it turns into."""
    xp = xp_of(pre_x)
    contiguous = pre_x.flags.c_contiguous
    slab = pre_x if contiguous else xp.empty(pre_x.shape, dtype=pre_x.dtype)
    work = layout.to_work(pre_x)
    if work is not slab:
        slab[...] = work.copy() if contiguous and layout.time_reversed else work  # no overlap
    slab *= scale
    return slab


def _states(xp, steps, first):
    """A (T+1, B, H) zero buffer for the states of every step, ``first`` at index 0."""
    states = xp.zeros((steps + 1, *first.shape), dtype=first.dtype)
    states[0] = first
    return states


def _run_forward(kernels, name, layout, hs, w_hh_t, head, tail):
    """Run the forward kernel ``name`` over every step: ``kernels.launch(name, ...)`` per step
    with ``head``, the recurrent product (a buffer the loop fills, or the weights for the
    kernels to use), ``tail`` and the step; or one ``name_sequence`` launch with ``head``,
    the weights, ``tail`` and the lengths. hs (T+1, B, H); w_hh_t (H, G*H)."""
    xp, (batch, hidden) = xp_of(hs), hs.shape[1:]
    if not batch:  # an empty batch: nothing to run (CUDA refuses empty launches)
        return
    if kernels.whole_sequence:
        kernels.launch_sequence(f"{name}_sequence", *head, w_hh_t, *tail,
                                layout.index(xp, "sorted_lengths"), batch, hidden)
        return
    recurrent = None if kernels.fused_product else xp.empty((batch, w_hh_t.shape[1]),
                                                            dtype=hs.dtype)  # (B, G*H)
    for t, rows in enumerate(layout.batch_sizes):
        if not rows:  # every sequence is shorter: nothing to run (CUDA refuses empty launches)
            continue
        if recurrent is not None:
            xp.matmul(hs[t, :rows], w_hh_t, out=recurrent[:rows])  # h_{t-1} W_hh^T
        kernels.launch(name, rows * hidden, *head, recurrent,
                       w_hh_t if recurrent is None else None, *tail, t, rows, batch, hidden)


def _run_backward(kernels, name, layout, w_hh, head, tail):
    """Run the backward kernel ``name`` over every step, t = T-1..0, as ``_run_forward``
    does: ``head`` begins with d_pre (T, B, G*H), the pre-activation gradients, and ends
    with dh_next (B, H), d h_n (LSTM, RNN) or zeros (GRU) on entry; then come the weights
    w_hh (G*H, H) or None, and ``tail``. Leaves dA_0 W_hh in dh_next."""
    d_pre, dh_next = head[0], head[-1]
    xp, (steps, batch), hidden = xp_of(d_pre), d_pre.shape[:2], w_hh.shape[1]
    if not batch:
        return
    if kernels.whole_sequence:
        kernels.launch_sequence(f"{name}_sequence", *head, w_hh, *tail,
                                layout.index(xp, "sorted_lengths"), batch, hidden)
    else:
        sizes = layout.batch_sizes + [0]
        for t in reversed(range(steps)):
            rows = sizes[t]
            if not rows:
                continue
            kernels.launch(name, rows * hidden, *head, w_hh if kernels.fused_product else None,
                           *tail, t, rows, sizes[t + 1], batch, hidden)
            if not kernels.fused_product:
                xp.matmul(d_pre[t, :rows], w_hh, out=dh_next[:rows])  # dA_t W_hh
    if kernels.fused_product:
        xp.matmul(d_pre[0], w_hh, out=dh_next)  # every row runs step 0


def _weight_grads(d_pre, h_prev, needs):
    """dW_hh = dA^T H_prev and db = sum of dA, each over all T*B rows at once.

    d_pre (T, B, G*H); h_prev (T, B, H) -> (G*H, H), (G*H,), (G*H,) (None where ``needs``,
    the flags of w_hh, b_ih, b_hh, says no).
    """
    rows = d_pre.reshape(-1, d_pre.shape[-1])  # (T*B, G*H)
    d_w_hh = rows.T @ h_prev.reshape(rows.shape[0], h_prev.shape[-1]) if needs[0] else None  # (G*H, H)
    d_b = rows.sum(axis=0) if needs[1] or needs[2] else None  # (G*H,)
    return d_w_hh, d_b, d_b


# ---------------------------------------------------------------- LSTM


class LSTMSequence(Function):
    """LSTM over a whole sequence, one direction:

        i, f, g, o = sigmoid, sigmoid, tanh, sigmoid of  W_ih x_t + b_ih + W_hh h_{t-1} + b_hh
        c_t = f c_{t-1} + i g,    h_t = o tanh(c_t)

    Inputs pre_x = x W_ih^T (T, B, 4H) (overwritten: see _working_slab), h0, c0 (B, H),
    w_hh (4H, H), b_ih, b_hh (4H,).
    Outputs h_t of every step (T, B, H) (zero past each length), h_n, c_n (B, H), and
    with ``cell_states`` c_t of every step (T, B, H) too.
    """

    def forward(self, pre_x, h0, c0, w_hh, b_ih, b_hh, layout, cell_states=False):
        xp, dtype = xp_of(pre_x), pre_x.dtype
        steps, batch, hidden = pre_x.shape[0], pre_x.shape[1], h0.shape[1]
        scale = gate_scale(xp, LSTM_GATES, hidden, dtype)  # (4H,): 1/2 for i, f, o, 1 for g
        w_hh_t, bias = _transposed(w_hh, scale), (b_ih + b_hh) * scale  # (H, 4H), (4H,)
        gates = _working_slab(pre_x, layout, scale)  # (T, B, 4H)
        hs = _states(xp, steps, layout.rows_to_work(h0))  # (T+1, B, H)
        cs = _states(xp, steps, layout.rows_to_work(c0))  # (T+1, B, H)
        tanh_c = xp.empty((steps, batch, hidden), dtype=dtype)  # tanh(c_t), for backward
        kernels = fused_kernels.select(xp, batch, hidden, dtype)
        _run_forward(kernels, "lstm_forward", layout, hs, w_hh_t, (gates,),
                     (bias, hs, cs, tanh_c))
        self.layout, self.kernels, self.w_hh = layout, kernels, w_hh
        self.gates, self.hs, self.cs, self.tanh_c = gates, hs, cs, tanh_c
        out = (layout.from_work(hs[1:]), layout.final(hs), layout.final(cs))
        return (*out, layout.from_work(cs[1:])) if cell_states else out

    def backward(self, d_out, d_hn, d_cn, d_cs=None):
        # per step (lstm_backward): dA_t from dh_t = d_out_t + dA_{t+1} W_hh and dc_t;
        # dh_{t-1} = dA_t W_hh (a row's d h_n until its last step comes)
        xp, layout, kernels = xp_of(d_out), self.layout, self.kernels
        d_out = kernels.contiguous(layout.to_work(d_out))  # (T, B, H)
        d_cs = None if d_cs is None else kernels.contiguous(layout.to_work(d_cs))
        dh, dc = layout.rows_to_work(d_hn), layout.rows_to_work(d_cn)  # (B, H): d final states
        d_pre = xp.zeros_like(self.gates)  # (T, B, 4H)
        _run_backward(kernels, "lstm_backward", layout, kernels.contiguous(self.w_hh),
                      (d_pre, self.gates, self.cs, self.tanh_c, d_out, d_cs, dh), (dc,))
        return (layout.from_work(d_pre), layout.rows_from_work(dh), layout.rows_from_work(dc),
                *_weight_grads(d_pre, self.hs[:-1], self.needs_input_grad[3:]))


# ---------------------------------------------------------------- GRU


class GRUSequence(Function):
    """GRU over a whole sequence, one direction:

        r = sigmoid(W_ir x_t + b_ir + W_hr h + b_hr),  z = sigmoid(W_iz x_t + b_iz + W_hz h + b_hz)
        n = tanh(W_in x_t + b_in + r (W_hn h + b_hn)),  h_t = (1 - z) n + z h = n + z (h - n)

    with h = h_{t-1}. Inputs pre_x = x W_ih^T (T, B, 3H) (overwritten: see _working_slab),
    h0 (B, H), w_hh (3H, H), b_ih, b_hh (3H,). Outputs h_t of every step (T, B, H) (zero
    past each length) and h_n (B, H).
    b_hr and b_hz join b_ih in one bias; b_hn cannot (r multiplies it), so the
    pre-activation gradient differs on the two sides in the n rows: dA_h = (dr, dz, dn r),
    dA_x = (dr, dz, dn), kept as one (T, B, 3H) buffer and one (T, B, H) buffer until dW_hh
    is done, then the (T, B, 3H) one becomes dA_x.
    """

    def forward(self, pre_x, h0, w_hh, b_ih, b_hh, layout):
        xp, dtype = xp_of(pre_x), pre_x.dtype
        steps, batch, hidden = pre_x.shape[0], pre_x.shape[1], h0.shape[1]
        scale = gate_scale(xp, GRU_GATES, hidden, dtype)  # (3H,): 1/2 for r, z, 1 for n
        bias = b_ih.copy()  # (3H,): b_ih, plus b_hr and b_hz (b_hn stays inside r (...))
        bias[:2 * hidden] += b_hh[:2 * hidden]
        bias *= scale
        w_hh_t = _transposed(w_hh, scale)  # (H, 3H)
        gates = _working_slab(pre_x, layout, scale)  # (T, B, 3H)
        b_hn = b_hh[2 * hidden:].copy()  # (H,)
        hs = _states(xp, steps, layout.rows_to_work(h0))  # (T+1, B, H)
        hn = xp.empty((steps, batch, hidden), dtype=dtype)  # W_hn h + b_hn, for backward
        kernels = fused_kernels.select(xp, batch, hidden, dtype)
        _run_forward(kernels, "gru_forward", layout, hs, w_hh_t, (gates,), (bias, b_hn, hs, hn))
        self.layout, self.kernels, self.w_hh = layout, kernels, w_hh
        self.gates, self.hn, self.hs = gates, hn, hs
        return layout.from_work(hs[1:]), layout.final(hs)

    def backward(self, d_out, d_hn):
        # per step (gru_backward): dA_h, dA_x from dh_t = dh_{t+1} z_{t+1} + dA_h,{t+1} W_hh
        # + d_out_t, the first two terms kept apart (carry, dh_next) until the step comes
        xp, layout, kernels, hidden = xp_of(d_out), self.layout, self.kernels, self.hs.shape[2]
        d_out = kernels.contiguous(layout.to_work(d_out))  # (T, B, H)
        carry = layout.rows_to_work(d_hn)  # (B, H): d h_n, then dh_t z_t
        dh_next = xp.zeros_like(carry)  # (B, H): dA_h,{t+1} W_hh
        d_pre_h = xp.zeros_like(self.gates)  # dA_h (T, B, 3H)
        d_pre_n = xp.zeros(d_out.shape, dtype=d_out.dtype)  # dA_x, n rows (T, B, H)
        _run_backward(kernels, "gru_backward", layout, kernels.contiguous(self.w_hh),
                      (d_pre_h, d_pre_n, self.gates, self.hn, self.hs, d_out, dh_next), (carry,))
        dh = carry + dh_next  # dh_0 = dh_1 z_1 + dA_h,1 W_hh, for h0
        d_w_hh, _, d_b_hh = _weight_grads(d_pre_h, self.hs[:-1], self.needs_input_grad[2:])
        d_pre_x = d_pre_h  # (T, B, 3H): dA_h done with, it becomes dA_x = (dr, dz, dn)
        d_pre_x[..., 2 * hidden:] = d_pre_n
        d_b_ih = None
        if self.needs_input_grad[3]:  # the r and z rows as b_hh's, the n rows from dn
            d_b_ih = d_b_hh.copy()
            d_b_ih[2 * hidden:] = d_pre_n.reshape(-1, hidden).sum(axis=0)
        return layout.from_work(d_pre_x), layout.rows_from_work(dh), d_w_hh, d_b_ih, d_b_hh


# ---------------------------------------------------------------- RNN


class RNNSequence(Function):
    """Elman RNN over a whole sequence, one direction:

        h_t = act(W_ih x_t + b_ih + W_hh h_{t-1} + b_hh),   act = tanh or relu

    Inputs pre_x = x W_ih^T (T, B, H), h0 (B, H), w_hh (H, H), b_ih, b_hh (H,). Outputs h_t
    of every step (T, B, H) (zero past each length) and h_n (B, H). The input projection
    is copied straight into the state buffer, which each step then finishes in place;
    pre_x's own memory (the op's: see _working_slab) is reused for dA in backward.
    """

    def forward(self, pre_x, h0, w_hh, b_ih, b_hh, layout, nonlinearity):
        xp = xp_of(pre_x)
        steps, batch, hidden = pre_x.shape[0], pre_x.shape[1], h0.shape[1]
        self.layout, self.relu = layout, int(nonlinearity == "relu")
        hs = _states(xp, steps, layout.rows_to_work(h0))  # (T+1, B, H)
        hs[1:] = layout.to_work(pre_x)
        if not layout.all_full:
            hs[1:][layout.index(xp, "padding")] = 0  # padded steps output zero, never computed
        bias = b_ih + b_hh  # (H,)
        w_hh_t = _transposed(w_hh)  # (H, H)
        self.kernels = fused_kernels.select(xp, batch, hidden, pre_x.dtype)
        _run_forward(self.kernels, "rnn_forward", layout, hs, w_hh_t, (hs,), (bias, self.relu))
        self.w_hh, self.hs = w_hh, hs
        self.spare = pre_x if pre_x.flags.c_contiguous else None  # (T, B, H), for dA
        return layout.from_work(hs[1:]), layout.final(hs)

    def backward(self, d_out, d_hn):
        # per step (rnn_backward): dA_t = dh_t act'(a_t), dh_t = d_out_t + dA_{t+1} W_hh
        xp, layout, kernels = xp_of(d_out), self.layout, self.kernels
        d_out = kernels.contiguous(layout.to_work(d_out))  # (T, B, H)
        dh = layout.rows_to_work(d_hn)  # (B, H): d h_n, then dA_{t+1} W_hh row by row
        d_pre = self.spare  # (T, B, H)
        if d_pre is None:
            d_pre = xp.empty(d_out.shape, dtype=d_out.dtype)
        d_pre[...] = 0
        _run_backward(kernels, "rnn_backward", layout, kernels.contiguous(self.w_hh),
                      (d_pre, self.hs, d_out, dh), (self.relu,))
        return (layout.from_work(d_pre), layout.rows_from_work(dh),
                *_weight_grads(d_pre, self.hs[:-1], self.needs_input_grad[2:]))
