"""The fused sequence ops: one layer, one direction, a whole sequence as ONE autograd node.

Contents:
    the shared loop   _forward_steps, _backward_steps: a kind's step over every step
    helpers           the working slab, the weight copies, the weight gradients
    LSTMSequence      LSTM over a sequence (gates i, f, g, o)
    GRUSequence       GRU over a sequence (gates r, z, n)
    RNNSequence       Elman RNN over a sequence (tanh or relu)

Each op is its kind's cell function (``rnn.cells``) run by ``rnn.unroll`` (the
reference), computed the way cuDNN does it. Its input is the input projection of all T
steps, one matrix product made before it by ``rnn.fused.sequence`` (for both directions
of a layer at once):

    pre_x = X W_ih^T          (T*B, I) @ (I, G*H) -> (T, B, G*H), no bias

    forward   the biases added to all steps at once; per step one product with the
              recurrent weights, h_{t-1} W_hh^T, and one pass of gate arithmetic;
    backward  per step the gate arithmetic in reverse, writing the gradient of the
              pre-activations dA_t into a (T, B, G*H) buffer, and one product
              dA_t W_hh for the gradient of h_{t-1}; then over all T*B rows at once
                  dW_hh = dA^T H_prev,   db = sum of dA,
              and dA itself is the gradient of pre_x: the engine's matrix product turns
              it into dX = dA W_ih and dW_ih = dA^T X, one product each.

Contract: an op CONSUMES pre_x. Its memory becomes the op's working slab, the gate values
written over the projection (so the projection costs no memory beyond them), and the
Elman op reuses it for dA. ``rnn.fused.sequence`` makes pre_x for the op alone and bumps
its version after the op, so a node that kept it would refuse to run backward.

Every other buffer is allocated once per call and written in place. The rows of each
sigmoid gate are halved in the slab, the bias and a copy of W_hh (exact: a power of two),
so that one tanh call covers all the gates of a step (``rnn.fused.steps.sigmoid_from_half``).

The gate arithmetic is a method of the steps object that ``rnn.fused.ways`` selects
(``ArraySteps`` on the CPU, ``CudaSteps`` on a GPU), called by keyword by
``_forward_steps`` / ``_backward_steps``, which the three ops share: with
``steps.whole_sequence`` (the CPU's arrays, CUDA's "sequence" way) one call,
``steps.lstm_forward_sequence(...)``, runs every step; otherwise those loop over the steps,
calling ``steps.lstm_forward(...)`` per step, with the recurrent product made by one BLAS
call per step unless ``steps.fused_product`` (the step does it).

Padding (``lengths``) follows ``rnn.unroll``: past its end a sequence keeps its state and
outputs zeros; ``reverse=True`` starts each sequence at its own last valid step. The
loops run on a working copy of the batch sorted by length, longest first (with each valid
prefix reversed when ``reverse``), so step k touches rows ``0 .. batch_sizes[k]-1`` only,
as PyTorch's packed sequences do; padded rows are never computed
(``rnn.fused.layout.SequenceLayout``, passed in by ``rnn.fused.sequence``). Forward and
backward run with the GPU of their arrays current (CuPy launches on the current one).
"""

import functools

import numpy as np

from engine import backend
from engine.backend import xp_of
from engine.tensor import Function
from rnn.cells import CELL_KINDS
from rnn.fused.ways import select

# ---------------------------------------------------------------- the shared loop


def _forward_steps(steps, name, layout, w_hh_t, **buffers):
    """Run the step ``name`` of ``steps`` ("lstm_forward", ...) for t = 0 .. T-1 by
    keyword: the ``buffers`` (``hs`` (T+1, B, H) among them), ``t``, ``rows``, and the
    recurrent product h_{t-1} W_hh^T in ``recurrent`` (B, G*H), one BLAS call here, or the
    weights ``w_hh_t`` (H, G*H) for a step that computes it (``steps.fused_product``).
    With ``steps.whole_sequence``, one call of ``name + "_sequence"`` with the weights and
    the lengths does every step."""
    hs = buffers["hs"]
    xp, batch = xp_of(hs), hs.shape[1]
    if not batch:  # an empty batch: nothing to run (and CUDA refuses an empty launch)
        return
    if steps.whole_sequence:
        getattr(steps, name + "_sequence")(w_hh_t=w_hh_t, lengths=layout.index(
            "sorted_lengths", hs), **buffers)
        return
    step = getattr(steps, name)
    recurrent = None if steps.fused_product else xp.empty((batch, w_hh_t.shape[1]),
                                                          dtype=hs.dtype)
    for t, rows in enumerate(layout.batch_sizes):
        if not rows:  # every sequence is shorter, and the sizes only fall: done
            break
        if recurrent is None:
            step(w_hh_t=w_hh_t, t=t, rows=rows, **buffers)
        else:
            xp.matmul(hs[t, :rows], w_hh_t, out=recurrent[:rows])  # h_{t-1} W_hh^T
            step(recurrent=recurrent, t=t, rows=rows, **buffers)


def _backward_steps(steps, name, layout, w_hh, **buffers):
    """Run the step ``name`` ("lstm_backward", ...) for t = T-1 .. 0 as ``_forward_steps``
    does: among the ``buffers``, ``d_pre`` (T, B, G*H), the pre-activation gradients whose
    product dA_t W_hh goes to h_t, and ``dh_next`` (B, H), which holds d h_n (LSTM, RNN) or
    zeros (GRU) on entry, then that product (one BLAS call here), or the step computes it
    from ``w_hh`` (G*H, H) for the rows that ran step t+1 (``next_rows``). Leaves dA_0 W_hh
    in ``dh_next``."""
    d_pre, dh_next = buffers["d_pre"], buffers["dh_next"]
    xp, (steps_count, batch) = xp_of(d_pre), d_pre.shape[:2]
    if not batch:
        return
    if steps.whole_sequence:
        getattr(steps, name + "_sequence")(w_hh=w_hh, lengths=layout.index(
            "sorted_lengths", d_pre), **buffers)
    else:
        step, sizes = getattr(steps, name), layout.batch_sizes + [0]
        for t in reversed(range(steps_count)):
            rows = sizes[t]
            if not rows:
                continue
            if steps.fused_product:
                step(w_hh=w_hh, t=t, rows=rows, next_rows=sizes[t + 1], **buffers)
            else:
                step(t=t, rows=rows, **buffers)
                xp.matmul(d_pre[t, :rows], w_hh, out=dh_next[:rows])  # dA_t W_hh
    if steps.fused_product:
        xp.matmul(d_pre[0], w_hh, out=dh_next)  # every row runs step 0


def _on_its_device(method):
    """Run an op's forward or backward with the GPU of its first array current (nothing on
    the CPU): CuPy runs every kernel, cuBLAS call and RawKernel on the current device."""
    @functools.wraps(method)
    def run(self, first, *args, **options):
        with backend.on_device_of(first):
            return method(self, first, *args, **options)
    return run


# ---------------------------------------------------------------- helpers


def halves(kind, hidden, like):
    """(G*H,): 1/2 on the rows of each sigmoid gate of ``kind``, 1 on the others, with the
    dtype and on the device of the array ``like``. Scaled by it, a sigmoid gate holds
    a / 2, from which one tanh and ``sigmoid_from_half`` give sigmoid(a)."""
    return _halves(kind.name, hidden, np.dtype(like.dtype), backend.device_of(like))


@functools.cache
def _halves(kind_name, hidden, dtype, device):  # made once, read only
    factors = [0.5 if a == "sigmoid" else 1.0 for a in CELL_KINDS[kind_name].activations]
    return backend.to_device(np.repeat(np.asarray(factors, dtype=dtype), hidden), device)


def _transposed(w, scale=None):
    """``(w * scale[:, None])^T`` as a new C-contiguous (in, G*H) array: rows scaled, then
    transposed once per call so that every per-step product reads it in order."""
    out = xp_of(w).empty(w.shape[::-1], dtype=w.dtype)
    if scale is None:
        out[...] = w.T
    else:
        xp_of(w).multiply(w.T, scale, out=out)
    return out


def _slab_over_pre_x(pre_x, layout, bias, scale):
    """(pre_x (T, B, G*H) in the working order + ``bias`` (G*H,)) * ``scale`` (G*H,): the slab
    the loops write the gate values over. A C-contiguous pre_x becomes the slab in place
    (see the contract above), in two passes, or three where the working order moves it."""
    xp = xp_of(pre_x)
    work = layout.to_work(pre_x)
    if not pre_x.flags.c_contiguous:  # into a new one, C-contiguous (a ufunc's own output
        slab = xp.empty(pre_x.shape, dtype=pre_x.dtype)  # would keep its input's order)
        xp.multiply(work, scale, out=slab)
    elif work is pre_x:
        slab = pre_x
        slab *= scale
    else:  # a gather (a copy), or time reversed: a view of pre_x itself, copied first
        slab = pre_x
        xp.multiply(work.copy() if layout.time_reversed else work, scale, out=slab)
    slab += bias * scale
    return slab


def _states(xp, steps, first):
    """A (T+1, B, H) zero buffer for the states of every step, ``first`` at index 0."""
    states = xp.zeros((steps + 1, *first.shape), dtype=first.dtype)
    states[0] = first
    return states


def _weight_grads(d_pre, h_prev, needs):
    """dW_hh = dA^T H_prev and db = sum of dA, each over all T*B rows at once (padded rows
    of dA are zero and those of H_prev finite: never computed, the zeros they started as).

    d_pre (T, B, G*H); h_prev (T, B, H) -> (G*H, H), (G*H,), (G*H,) (None where ``needs``,
    the flags of w_hh, b_ih, b_hh, says no).
    """
    rows = d_pre.reshape(-1, d_pre.shape[-1])  # (T*B, G*H)
    h_rows = h_prev.reshape(rows.shape[0], h_prev.shape[-1])  # (T*B, H)
    d_w_hh = rows.T @ h_rows if needs[0] else None  # (G*H, H)
    d_b = rows.sum(axis=0) if needs[1] or needs[2] else None  # (G*H,)
    return d_w_hh, d_b, d_b


# ---------------------------------------------------------------- LSTM


class LSTMSequence(Function):
    """LSTM over a whole sequence, one direction, consuming pre_x:

        i, f, g, o = sigmoid, sigmoid, tanh, sigmoid of  W_ih x_t + b_ih + W_hh h_{t-1} + b_hh
        c_t = f c_{t-1} + i g,    h_t = o tanh(c_t)

    Inputs pre_x = x W_ih^T (T, B, 4H) (overwritten: the contract above), h0, c0 (B, H),
    w_hh (4H, H), b_ih, b_hh (4H,). Outputs h_t of every step (T, B, H) (zero past each
    length), h_n, c_n (B, H), and with ``cell_states`` c_t of every step (T, B, H) too.
    """

    saved_inputs = (3,)  # w_hh (pre_x's memory is the op's own slab)

    @_on_its_device
    def forward(self, pre_x, h0, c0, w_hh, b_ih, b_hh, layout, kind, cell_states=False):
        xp, steps_count, batch, hidden = xp_of(pre_x), *pre_x.shape[:2], h0.shape[1]
        scale = halves(kind, hidden, pre_x)  # (4H,): 1/2 on i, f and o, 1 on g
        gates = _slab_over_pre_x(pre_x, layout, b_ih + b_hh, scale)  # (T, B, 4H)
        w_hh_t = _transposed(w_hh, scale)  # (H, 4H)
        hs = _states(xp, steps_count, layout.rows_to_work(h0))  # (T+1, B, H)
        cs = _states(xp, steps_count, layout.rows_to_work(c0))  # (T+1, B, H)
        tanh_c = xp.zeros((steps_count, batch, hidden), dtype=pre_x.dtype)  # for backward
        steps = select(xp, batch, hidden, pre_x.dtype)
        _forward_steps(steps, "lstm_forward", layout, w_hh_t,
                       gates=gates, hs=hs, cs=cs, tanh_c=tanh_c)
        self.layout, self.steps, self.w_hh = layout, steps, w_hh
        self.gates, self.hs, self.cs, self.tanh_c = gates, hs, cs, tanh_c
        out = (layout.from_work(hs[1:]), layout.final(hs), layout.final(cs))
        return (*out, layout.from_work(cs[1:])) if cell_states else out

    @_on_its_device
    def backward(self, d_out, d_hn, d_cn, d_cs=None):
        # per step (lstm_backward): dA_t from dh_t = d_out_t + dA_{t+1} W_hh and dc_t;
        # dh_{t-1} = dA_t W_hh (a row's d h_n until its last step comes)
        xp, layout, steps = xp_of(d_out), self.layout, self.steps
        d_out = steps.contiguous(layout.to_work(d_out))  # (T, B, H)
        d_cs = None if d_cs is None else steps.contiguous(layout.to_work(d_cs))
        dh, dc = layout.rows_to_work(d_hn), layout.rows_to_work(d_cn)  # (B, H): d final states
        d_pre = xp.zeros_like(self.gates)  # (T, B, 4H)
        _backward_steps(steps, "lstm_backward", layout,
                        steps.contiguous(self.w_hh), d_pre=d_pre, gates=self.gates,
                        cs=self.cs, tanh_c=self.tanh_c, d_out=d_out, d_cs=d_cs, dh_next=dh,
                        dc=dc)
        return (layout.from_work(d_pre), layout.rows_from_work(dh), layout.rows_from_work(dc),
                *_weight_grads(d_pre, self.hs[:-1], self.needs_input_grad[3:]))


# ---------------------------------------------------------------- GRU


class GRUSequence(Function):
    """GRU over a whole sequence, one direction, consuming pre_x:

        r = sigmoid(W_ir x_t + b_ir + W_hr h + b_hr),  z = sigmoid(W_iz x_t + b_iz + W_hz h + b_hz)
        n = tanh(W_in x_t + b_in + r (W_hn h + b_hn)),  h_t = (1 - z) n + z h = n + z (h - n)

    with h = h_{t-1}. Inputs pre_x = x W_ih^T (T, B, 3H) (overwritten: the contract above),
    h0 (B, H), w_hh (3H, H), b_ih, b_hh (3H,). Outputs h_t of every step (T, B, H) (zero
    past each length) and h_n (B, H).
    b_hr and b_hz join b_ih in one bias; b_hn cannot (r multiplies it), so the
    pre-activation gradient differs on the two sides in the n rows: dA_h = (dr, dz, dn r),
    dA_x = (dr, dz, dn), kept as one (T, B, 3H) buffer and one (T, B, H) buffer until dW_hh
    is done, then the (T, B, 3H) one becomes dA_x.
    """

    saved_inputs = (2,)  # w_hh

    @_on_its_device
    def forward(self, pre_x, h0, w_hh, b_ih, b_hh, layout, kind):
        xp, steps_count, batch, hidden = xp_of(pre_x), *pre_x.shape[:2], h0.shape[1]
        bias = b_ih.copy()  # (3H,): b_ih, plus b_hr and b_hz (b_hn stays inside r (...))
        bias[:2 * hidden] += b_hh[:2 * hidden]
        scale = halves(kind, hidden, pre_x)  # (3H,): 1/2 on r and z, 1 on n
        gates = _slab_over_pre_x(pre_x, layout, bias, scale)  # (T, B, 3H)
        w_hh_t = _transposed(w_hh, scale)  # (H, 3H)
        b_hn = b_hh[2 * hidden:].copy()  # (H,)
        hs = _states(xp, steps_count, layout.rows_to_work(h0))  # (T+1, B, H)
        hn = xp.zeros((steps_count, batch, hidden), dtype=pre_x.dtype)  # W_hn h + b_hn
        steps = select(xp, batch, hidden, pre_x.dtype)
        _forward_steps(steps, "gru_forward", layout, w_hh_t,
                       gates=gates, b_hn=b_hn, hs=hs, hn=hn)
        self.layout, self.steps, self.w_hh = layout, steps, w_hh
        self.gates, self.hn, self.hs = gates, hn, hs
        return layout.from_work(hs[1:]), layout.final(hs)

    @_on_its_device
    def backward(self, d_out, d_hn):
        # per step (gru_backward): dA_h, dA_x from dh_t = dh_{t+1} z_{t+1} + dA_h,{t+1} W_hh
        # + d_out_t, the first two terms kept apart (carry, dh_next) until the step comes
        xp, layout, steps, hidden = xp_of(d_out), self.layout, self.steps, self.hs.shape[2]
        d_out = steps.contiguous(layout.to_work(d_out))  # (T, B, H)
        carry = layout.rows_to_work(d_hn)  # (B, H): d h_n, then dh_t z_t
        dh_next = xp.zeros_like(carry)  # (B, H): dA_h,{t+1} W_hh
        d_pre = xp.zeros_like(self.gates)  # dA_h (T, B, 3H)
        d_pre_n = xp.zeros(d_out.shape, dtype=d_out.dtype)  # dA_x, n rows (T, B, H)
        _backward_steps(steps, "gru_backward", layout,
                        steps.contiguous(self.w_hh), d_pre=d_pre, d_pre_n=d_pre_n,
                        gates=self.gates, hn=self.hn, hs=self.hs, d_out=d_out,
                        dh_next=dh_next, carry=carry)
        dh = carry + dh_next  # dh_0 = dh_1 z_1 + dA_h,1 W_hh, for h0
        d_w_hh, _, d_b_hh = _weight_grads(d_pre, self.hs[:-1], self.needs_input_grad[2:])
        d_pre_x = d_pre  # (T, B, 3H): dA_h done with, it becomes dA_x = (dr, dz, dn)
        d_pre_x[..., 2 * hidden:] = d_pre_n
        d_b_ih = None
        if self.needs_input_grad[3]:  # the r and z rows as b_hh's, the n rows from dn
            d_b_ih = d_b_hh.copy()
            d_b_ih[2 * hidden:] = d_pre_n.reshape(-1, hidden).sum(axis=0)
        return layout.from_work(d_pre_x), layout.rows_from_work(dh), d_w_hh, d_b_ih, d_b_hh


# ---------------------------------------------------------------- RNN


class RNNSequence(Function):
    """Elman RNN over a whole sequence, one direction, consuming pre_x:

        h_t = act(W_ih x_t + b_ih + W_hh h_{t-1} + b_hh),   act = tanh or relu

    Inputs pre_x = x W_ih^T (T, B, H), h0 (B, H), w_hh (H, H), b_ih, b_hh (H,). Outputs h_t
    of every step (T, B, H) (zero past each length) and h_n (B, H). The input projection
    plus the bias goes straight into the state buffer, which each step then finishes in
    place; pre_x's own memory (the contract above) is reused for dA in backward.
    """

    saved_inputs = (2,)  # w_hh

    @_on_its_device
    def forward(self, pre_x, h0, w_hh, b_ih, b_hh, layout, kind):
        xp, steps_count, batch, hidden = xp_of(pre_x), *pre_x.shape[:2], h0.shape[1]
        self.layout, self.relu = layout, int(kind.activations == ("relu",))
        hs = _states(xp, steps_count, layout.rows_to_work(h0))  # (T+1, B, H)
        xp.add(layout.to_work(pre_x), b_ih + b_hh, out=hs[1:])  # x W_ih^T + b
        if not layout.all_full:  # padded steps output zero, never computed: a select
            xp.copyto(hs[1:], 0, where=layout.index("padding", pre_x)[..., None])
        self.steps = select(xp, batch, hidden, pre_x.dtype)
        _forward_steps(self.steps, "rnn_forward",
                       layout, _transposed(w_hh), hs=hs, relu=self.relu)
        self.w_hh, self.hs = w_hh, hs
        self.spare = pre_x if pre_x.flags.c_contiguous else None  # (T, B, H), for dA
        return layout.from_work(hs[1:]), layout.final(hs)

    @_on_its_device
    def backward(self, d_out, d_hn):
        # per step (rnn_backward): dA_t = dh_t act'(a_t), dh_t = d_out_t + dA_{t+1} W_hh
        xp, layout, steps = xp_of(d_out), self.layout, self.steps
        d_out = steps.contiguous(layout.to_work(d_out))  # (T, B, H)
        dh = layout.rows_to_work(d_hn)  # (B, H): d h_n, then dA_{t+1} W_hh row by row
        d_pre = self.spare  # (T, B, H)
        if d_pre is None:
            d_pre = xp.empty(d_out.shape, dtype=d_out.dtype)
        d_pre[...] = 0
        _backward_steps(steps, "rnn_backward", layout,
                        steps.contiguous(self.w_hh), d_pre=d_pre, hs=self.hs, d_out=d_out,
                        dh_next=dh, relu=self.relu)
        return (layout.from_work(d_pre), layout.rows_from_work(dh),
                *_weight_grads(d_pre, self.hs[:-1], self.needs_input_grad[2:]))
