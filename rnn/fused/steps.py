"""The fused ops' gate arithmetic, as array operations: the CPU's way (and, on a GPU, the
"arrays" way, CuPy's own kernels).

``ArraySteps`` has one method per kind and direction of time, which runs a whole
sequence: the ops (``rnn.fused.ops``) call it by keyword, once, with the whole
(T, B, ...) buffers and the sorted lengths. Its loop takes each step's views from
``step_views`` (the rows ``:rows`` of the sequences still running), and its body takes
only what it reads and reads as the step's equations, gate by gate, on named views of the
step's slab, each operation in place on a preallocated buffer, the recurrent product
included. The CUDA kernels (``rnn.fused.cuda``) do the same arithmetic, step by step or a
sequence at once, so all ways agree to rounding.

The ops hand the steps their inputs already summed, x W_ih^T + b (only h W_hh^T is
added per step), and with the rows of every sigmoid gate halved, so that one tanh call
covers all the gates of a step: see ``sigmoid_from_half``. At the small sizes of a
recurrent step an operation costs more in overhead than in arithmetic, and one pass over
a step's whole (b, G*H) slab costs less than one per gate view, hence ``GateRows``: the
per-gate treatment of a whole slab in one pass, from the kind's activations. For the same
reason a backward step multiplies dh and dc only by factors the forward alone determines
(a gate's slope times what the gate multiplies): ``ArraySteps`` makes them for every step
at once when backward begins, a few passes over the whole sequence instead of a few
operations per step; and the loops call the operations positionally, their outputs last,
on views that iterating the buffers makes in C, with no keyword or index per step.
"""

import itertools

import numpy as np

from rnn.cells import CELL_KINDS
from rnn.fused.layout import batch_sizes


def sigmoid_from_half(tanh_of_half):
    """sigmoid(a) = tanh(a / 2) / 2 + 1 / 2, in place over tanh(a / 2), which a sigmoid
    gate holds because its weights and bias were halved (exactly: a power of two): no exp,
    so no overflow for any a."""
    tanh_of_half *= 0.5
    tanh_of_half += 0.5
    return tanh_of_half


def split_gates(a, count):
    """(..., count*H) -> ``count`` views (..., H), one per gate, in the weights' order."""
    width = a.shape[-1] // count
    if a.ndim == 2:  # a step's slab: the plain slice is the cheaper one, per step
        return [a[:, k * width:(k + 1) * width] for k in range(count)]
    return [a[..., k * width:(k + 1) * width] for k in range(count)]


class GateRows:
    """The activation of each row of a kind's (b, G*H) slab of gates, as (G*H,) factors, so
    that one pass over the whole slab treats every gate by its own activation: ``s`` is 1 on
    the rows of a sigmoid gate and 0 on those of a tanh gate (the kind's record says which).
    """

    def __init__(self, xp, kind, hidden, dtype):
        is_sigmoid = [activation == "sigmoid" for activation in kind.activations]
        s = np.repeat(np.asarray(is_sigmoid, dtype=dtype), hidden)  # (G*H,)
        self.xp, self.dtype = xp, dtype
        self.s, self.one_minus_s = xp.asarray(s), xp.asarray(1 - s)

    def activation(self, batch):
        """(scale, shift), each (batch, G*H), for ``sigmoid_from_half`` on the sigmoid gates'
        rows of a slab of tanh values (a tanh gate keeps its tanh): x * scale + shift with
        scale = 1 - s/2, shift = s/2 is x / 2 + 1 / 2 where s = 1 and x where s = 0. Every
        row holds them, so that a step's two passes have operands of one shape (NumPy's
        cheapest call: no broadcasting)."""
        shape = (batch, self.s.shape[0])
        scale, shift = (self.xp.empty(shape, dtype=self.dtype) for _ in range(2))
        scale[...], shift[...] = 1 - self.s / 2, self.s / 2
        return scale, shift

    def slopes(self, values, out):
        """Each gate's activation slope from its value y, into ``out``: sigmoid' = (1 - y) y,
        tanh' = 1 - y^2, both as (s - y) y + 1 - s."""
        self.xp.subtract(self.s, values, out=out)
        out *= values
        out += self.one_minus_s
        return out


def step_views(sizes, per_step, per_row=(), reverse=False):
    """For each step that runs, t = 0 .. T-1 (T-1 .. 0 with ``reverse``): the rows
    ``:sizes[t]`` of step t of each (T, B, ...) array of ``per_step`` and of each (B, ...)
    array of ``per_row``, as one tuple; None stays None. Iterating an array gives its steps
    as views made in C, so a full step (no row finished) costs no slicing at all."""
    batch, count = per_step[0].shape[1], len(sizes)
    order = range(count - 1, -1, -1) if reverse else range(count)
    columns = [itertools.repeat(None) if a is None else (a[::-1] if reverse else a)
               for a in per_step]
    for t, views in zip(order, zip(*columns)):
        rows = sizes[t]
        if rows == batch:
            yield (*views, *per_row)
        elif rows:
            yield tuple(None if v is None else v[:rows] for v in (*views, *per_row))


class ArraySteps:
    """The step arithmetic of each kind as array operations (see the module text), each
    sequence's loop run here: ``whole_sequence``, one ``*_sequence`` call per op call.

    Made once per op call, with contiguous (B, ...) scratch buffers and, made on first
    use, the kind's ``GateRows`` and the backward's ``factors``: every factor of a step's
    gradients that the forward alone determines (a gate's slope times what multiplies
    the gate), computed for all T steps at once in a few passes over the whole
    (T, B, ...) buffers, so that a backward step is only what dh and dc make it: half the
    operations, each on one step's rows. They depend on the forward's values alone, so a
    second backward (``retain_graph``) reuses them. The loops take each step's views from
    ``step_views`` and call the array operations positionally, their outputs last: at the
    sizes of a recurrent step the cost of a call is most of its time.
    """

    fused_product = False  # the loops compute the products h_{t-1} W_hh^T and dA_t W_hh
    whole_sequence = True  # one *_sequence call runs all the steps (its loop is here)

    def __init__(self, xp, batch, hidden, dtype):
        self.xp = xp
        self.scratch = xp.empty((2, batch, hidden), dtype=dtype)  # 2 x (B, H), contiguous
        self.batch, self.hidden, self.dtype = batch, hidden, dtype
        self.factors = None  # the backward's factors, made by its first call
        self._gate_rows = {}

    def gate_rows(self, kind):
        """The GateRows of ``kind`` (a name of CELL_KINDS), made on first use."""
        if kind not in self._gate_rows:
            self._gate_rows[kind] = GateRows(self.xp, CELL_KINDS[kind], self.hidden, self.dtype)
        return self._gate_rows[kind]

    def contiguous(self, a):
        """``a`` as these steps can read it: as it is (array operations take any strides)."""
        return a

    def _products(self, width):
        """A (B, width) buffer for a step's recurrent product."""
        return self.xp.empty((self.batch, width), dtype=self.dtype)

    # ------------------------------------------------------------ LSTM

    def lstm_forward_sequence(self, *, gates, w_hh_t, hs, cs, tanh_c, lengths):
        # i, f, o = sigmoid(.), g = tanh(.) of x W_ih^T + b + h_{t-1} W_hh^T;
        # c_t = f c_{t-1} + i g;  h_t = o tanh(c_t)
        xp = self.xp
        scale, shift = self.gate_rows("lstm").activation(self.batch)
        views = step_views(batch_sizes(lengths, len(gates)),
                           (gates, *split_gates(gates, 4), hs[:-1], hs[1:], cs[:-1], cs[1:],
                            tanh_c),
                           (self._products(4 * self.hidden), self.scratch[0], scale, shift))
        for a, i, f, g, o, h_prev, h, c_prev, c, tanh_of_c, recurrent, i_g, scale, shift in views:
            # a (b, 4H): x W_ih^T + b, then the pre-activations, then the gates i, f, g, o
            xp.add(a, xp.matmul(h_prev, w_hh_t, out=recurrent), a)
            xp.tanh(a, a)  # one call for the four: tanh(a) for g, tanh(a / 2) for i, f, o
            xp.add(xp.multiply(a, scale, a), shift, a)  # i, f, o = sigmoid_from_half(.)
            xp.multiply(f, c_prev, c)
            xp.add(c, xp.multiply(i, g, i_g), c)  # c_t = f c_{t-1} + i g
            xp.multiply(o, xp.tanh(c, tanh_of_c), h)  # h_t = o tanh(c_t)

    def _lstm_factors(self, gates, cs, tanh_c):
        """For all steps: (T, B, 4H) the factors of dc in di, df, dg and of dh in do,
        (g i', c_{t-1} f', i g', tanh(c_t) o'), and (T, B, H) that of dh in dc,
        o (1 - tanh^2 c_t), each gate's slope from its value (GateRows.slopes)."""
        xp = self.xp
        of_gates = self.gate_rows("lstm").slopes(gates, out=xp.empty_like(gates))
        i, f, g, o = split_gates(gates, 4)
        by_i, by_f, by_g, by_o = split_gates(of_gates, 4)
        by_i *= g
        by_f *= cs[:-1]
        by_g *= i
        by_o *= tanh_c
        of_c = xp.multiply(tanh_c, tanh_c)
        xp.subtract(1, of_c, out=of_c)
        of_c *= o
        return of_gates, of_c

    def lstm_backward_sequence(self, *, d_pre, gates, cs, tanh_c, d_out, d_cs, dh_next, dc,
                               w_hh, lengths):
        # dh = d_out_t + (from step t+1);  dc += dh o (1 - tanh^2 c_t);  do = dh tanh(c_t) o';
        # di, df, dg = dc g i', dc c_{t-1} f', dc i g';  dc_{t-1} = dc f  (' : the slope);
        # then dh_{t-1} = dA_t W_hh
        xp, (steps, batch), hidden = self.xp, d_pre.shape[:2], self.hidden
        if self.factors is None:
            self.factors = self._lstm_factors(gates, cs, tanh_c)
        of_gates, of_c = self.factors
        by_gate = of_gates.reshape(steps, batch, 4, hidden)  # (T, B, 4, H): i, f, g, o
        d_gate = d_pre.reshape(steps, batch, 4, hidden)  # di, df, dg, do
        views = step_views(batch_sizes(lengths, steps),
                           (d_pre, d_gate[:, :, :3], d_gate[:, :, 3], by_gate[:, :, :3],
                            by_gate[:, :, 3], of_c, split_gates(gates, 4)[1], d_out, d_cs),
                           (dh_next, dc, dc[:, None], *self.scratch), reverse=True)
        for (d, d_ifg, d_o, by_ifg, by_o, by_c, f, d_out_t, d_c_t, dh_next, dc, dc_by_gate, dh,
             tmp) in views:
            xp.add(dh_next, d_out_t, dh)
            if d_c_t is not None:
                xp.add(dc, d_c_t, dc)
            xp.add(dc, xp.multiply(dh, by_c, tmp), dc)  # dc += dh o (1 - tanh^2 c_t)
            xp.multiply(dc_by_gate, by_ifg, d_ifg)  # di, df, dg: one call
            xp.multiply(dh, by_o, d_o)  # do
            xp.multiply(dc, f, dc)  # dc_{t-1} = dc f
            xp.matmul(d, w_hh, out=dh_next)  # dA_t W_hh

    # ------------------------------------------------------------ GRU

    def gru_forward_sequence(self, *, gates, w_hh_t, b_hn, hs, hn, lengths):
        # r, z = sigmoid(x W_i + b + h W_h); hn = h W_hn + b_hn;
        # n = tanh(x W_in + b_in + r hn);  h_t = (1 - z) n + z h = n + z (h - n)
        xp, hidden = self.xp, self.hidden
        recurrent = self._products(3 * hidden)  # h W_hh^T: (h W_hr, h W_hz) then h W_hn
        r, z, n = split_gates(gates, 3)
        views = step_views(batch_sizes(lengths, len(gates)),
                           (gates[..., :2 * hidden], r, z, n, hs[:-1], hs[1:], hn),
                           (recurrent, recurrent[:, :2 * hidden], recurrent[:, 2 * hidden:],
                            self.scratch[0]))
        for r_z, r, z, n, h_prev, h, hn_t, recurrent, h_rz, h_n, r_hn in views:
            # r_z (b, 2H) and n (b, H): x W_ih^T + b, then r and z side by side, and n
            xp.matmul(h_prev, w_hh_t, out=recurrent)
            xp.add(r_z, h_rz, r_z)
            sigmoid_from_half(xp.tanh(r_z, r_z))  # r and z: one call for both
            xp.add(h_n, b_hn, hn_t)  # hn = h W_hn + b_hn
            xp.add(n, xp.multiply(r, hn_t, r_hn), n)
            xp.tanh(n, n)  # n = tanh(x W_in + b_in + r hn)
            xp.subtract(h_prev, n, h)
            xp.multiply(h, z, h)
            xp.add(h, n, h)  # h_t = n + z (h_{t-1} - n)

    def _gru_factors(self, gates, hn, hs):
        """For all steps (T, B, 3H): the factors of dn in dr and of dh in dz and dn,
        (hn r', (h_{t-1} - n) z', (1 - z) n'), each gate's slope from its value."""
        xp = self.xp
        factors = self.gate_rows("gru").slopes(gates, out=xp.empty_like(gates))
        r, z, n = split_gates(gates, 3)
        by_r, by_z, by_n = split_gates(factors, 3)
        by_r *= hn
        by_z *= xp.subtract(hs[:-1], n)
        by_n *= xp.subtract(1, z)
        return factors

    def gru_backward_sequence(self, *, d_pre, d_pre_n, gates, hn, hs, d_out, dh_next, carry,
                              w_hh, lengths):
        # dh = carry + (from step t+1) + d_out_t;  dn = dh (1 - z) n';  dz = dh (h - n) z';
        # dr = dn hn r';  d(hn) = dn r;  carry <- dh z  (' : the slope);
        # then (from step t) = dA_h,t W_hh
        xp = self.xp
        if self.factors is None:
            self.factors = self._gru_factors(gates, hn, hs)
        views = step_views(batch_sizes(lengths, len(d_pre)),
                           (d_pre, *split_gates(d_pre, 3), d_pre_n, *split_gates(self.factors, 3),
                            *split_gates(gates, 3)[:2], d_out),
                           (carry, dh_next, self.scratch[0]), reverse=True)
        for (d, dr, dz, d_hn, dn, by_r, by_z, by_n, r, z, d_out_t, carry, dh_next,
             dh) in views:  # d (b, 3H): the h side (dr, dz, dn r); dn the x side's n block
            xp.add(xp.add(carry, dh_next, dh), d_out_t, dh)
            xp.multiply(dh, by_n, dn)  # dn = dh (1 - z) n'
            xp.multiply(dh, by_z, dz)  # dz = dh (h - n) z'
            xp.multiply(dn, by_r, dr)  # dr = dn hn r'
            xp.multiply(dn, r, d_hn)  # d(hn) = dn r
            xp.multiply(dh, z, carry)  # carry = dh z
            xp.matmul(d, w_hh, out=dh_next)  # dA_h,t W_hh

    # ------------------------------------------------------------ Elman RNN

    def rnn_forward_sequence(self, *, hs, w_hh_t, relu, lengths):
        # h_t = act(x W_ih^T + b + h_{t-1} W_hh^T), act = relu or tanh
        xp = self.xp
        views = step_views(batch_sizes(lengths, len(hs) - 1), (hs[:-1], hs[1:]),
                           (self._products(self.hidden),))
        for h_prev, h, recurrent in views:  # h (b, H): x W_ih^T + b, then h_t
            xp.add(h, xp.matmul(h_prev, w_hh_t, out=recurrent), h)
            if relu:
                xp.maximum(h, 0, out=h)
            else:
                xp.tanh(h, h)

    def _rnn_slopes(self, hs, relu):
        """For all steps (T, B, H): act'(a_t) from h_t, [h_t > 0] for relu, 1 - h_t^2 for
        tanh."""
        xp, h = self.xp, hs[1:]
        if relu:
            return xp.greater(h, 0).astype(h.dtype)
        slopes = xp.multiply(h, h)
        return xp.subtract(1, slopes, out=slopes)

    def rnn_backward_sequence(self, *, d_pre, hs, d_out, dh_next, w_hh, relu, lengths):
        # dA_t = dh act'(a_t), dh = d_out_t + (from step t+1);  then dA_t W_hh
        xp = self.xp
        if self.factors is None:
            self.factors = self._rnn_slopes(hs, relu)
        views = step_views(batch_sizes(lengths, len(d_pre)), (d_pre, self.factors, d_out),
                           (dh_next,), reverse=True)
        for d, slopes, d_out_t, dh_next in views:
            xp.multiply(xp.add(dh_next, d_out_t, d), slopes, d)
            xp.matmul(d, w_hh, out=dh_next)
