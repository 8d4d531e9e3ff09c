"""One step of the fused ops' gate arithmetic, as array operations: the CPU's way (and,
on a GPU, the "arrays" way, CuPy's own kernels).

``ArraySteps`` has one method per kind and direction of time. The ops' shared loop
(``rnn.fused.ops``) calls it by keyword for every step, with the whole (T, B, ...)
buffers and the step ``t``, whose rows ``:rows`` are the sequences still running; a
method takes only what it reads and reads as its equations, gate by gate, on named views
of the step's slab, each operation in place (``out=``) on a preallocated buffer. The
CUDA kernels (``rnn.fused.cuda``) do the same arithmetic, so all ways agree to rounding.

The ops hand the steps their inputs already summed, x W_ih^T + b (only h W_hh^T is
added per step), and with the rows of every sigmoid gate halved, so that one tanh call
covers all the gates of a step: see ``sigmoid_from_half``. At the small sizes of a
recurrent step an operation costs more in overhead than in arithmetic, and one pass over
a step's whole (b, G*H) slab costs less than one per gate view, hence ``GateRows``: the
per-gate treatment of a whole slab in one pass, from the kind's activations. For the same
reason a backward step multiplies dh and dc only by factors the forward alone determines
(a gate's slope times what the gate multiplies): ``ArraySteps`` makes them for every step
at once when backward begins, a few passes over the whole sequence instead of a few
operations per step.
"""

import numpy as np

from rnn.cells import CELL_KINDS


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
        self.xp = xp
        self.s, self.one_minus_s = xp.asarray(s), xp.asarray(1 - s)
        self.half_s, self.one_minus_half_s = xp.asarray(s / 2), xp.asarray(1 - s / 2)

    def activate(self, tanh_of_slab):
        """``sigmoid_from_half`` on the sigmoid gates' rows, in place (a tanh gate keeps its
        tanh): x * (1 - s/2) + s/2 is x / 2 + 1 / 2 where s = 1 and x where s = 0."""
        tanh_of_slab *= self.one_minus_half_s
        tanh_of_slab += self.half_s
        return tanh_of_slab

    def slopes(self, values, out):
        """Each gate's activation slope from its value y, into ``out``: sigmoid' = (1 - y) y,
        tanh' = 1 - y^2, both as (s - y) y + 1 - s."""
        self.xp.subtract(self.s, values, out=out)
        out *= values
        out += self.one_minus_s
        return out


class ArraySteps:
    """The step arithmetic of each kind as array operations (see the module text).

    Made once per op call, with two contiguous (B, H) scratch buffers and, made on first
    use, the kind's ``GateRows`` and the backward's ``factors``: every factor of a step's
    gradients that the forward alone determines (a gate's slope times what multiplies
    the gate), computed for all T steps at once in a few passes over the whole
    (T, B, ...) buffers, so that a backward step is only what dh and dc make it: half the
    operations, each on one step's rows. They depend on the forward's values alone, so a
    second backward (``retain_graph``) reuses them.
    """

    fused_product = False  # the loop computes the recurrent product h_{t-1} W_hh^T (BLAS)
    whole_sequence = False  # the loop runs the steps: no *_sequence methods
    lstm_forward_sequence = lstm_backward_sequence = None
    gru_forward_sequence = gru_backward_sequence = None
    rnn_forward_sequence = rnn_backward_sequence = None

    def __init__(self, xp, batch, hidden, dtype):
        self.xp = xp
        self.scratch = xp.empty((2, batch, hidden), dtype=dtype)  # 2 x (B, H), contiguous
        self.hidden, self.dtype = hidden, dtype
        self.factors = None  # the backward's factors, made by its first step
        self._gate_rows = {}

    def gate_rows(self, kind):
        """The GateRows of ``kind`` (a name of CELL_KINDS), made on first use."""
        if kind not in self._gate_rows:
            self._gate_rows[kind] = GateRows(self.xp, CELL_KINDS[kind], self.hidden, self.dtype)
        return self._gate_rows[kind]

    def contiguous(self, a):
        """``a`` as these steps can read it: as it is (array operations take any strides)."""
        return a

    # ------------------------------------------------------------ LSTM

    def lstm_forward(self, *, gates, recurrent, hs, cs, tanh_c, t, rows):
        # i, f, o = sigmoid(.), g = tanh(.) of x W_ih^T + b + h_{t-1} W_hh^T;
        # c_t = f c_{t-1} + i g;  h_t = o tanh(c_t)
        xp = self.xp
        a = gates[t, :rows]  # (b, 4H): x W_ih^T + b, then the pre-activations, then the gates
        a += recurrent[:rows]
        xp.tanh(a, out=a)  # one call for the four: tanh(a) for g, tanh(a / 2) for i, f, o
        self.gate_rows("lstm").activate(a)  # i, f, o = sigmoid_from_half(.); g stays tanh(a)
        i, f, g, o = split_gates(a, 4)
        c, i_g = cs[t + 1, :rows], self.scratch[0, :rows]
        xp.multiply(f, cs[t, :rows], out=c)
        c += xp.multiply(i, g, out=i_g)  # c_t = f c_{t-1} + i g
        xp.tanh(c, out=tanh_c[t, :rows])
        xp.multiply(o, tanh_c[t, :rows], out=hs[t + 1, :rows])  # h_t = o tanh(c_t)

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

    def lstm_backward(self, *, d_pre, gates, cs, tanh_c, d_out, d_cs, dh_next, dc, t, rows):
        # dh = d_out_t + (from step t+1);  dc += dh o (1 - tanh^2 c_t);  do = dh tanh(c_t) o';
        # di, df, dg = dc g i', dc c_{t-1} f', dc i g';  dc_{t-1} = dc f  (' : the slope)
        xp = self.xp
        if self.factors is None:
            self.factors = self._lstm_factors(gates, cs, tanh_c)
        of_gates, of_c = self.factors[0][t, :rows], self.factors[1][t, :rows]
        hidden = dc.shape[1]
        dh, dc_t, tmp = self.scratch[0, :rows], dc[:rows], self.scratch[1, :rows]
        xp.add(dh_next[:rows], d_out[t, :rows], out=dh)
        if d_cs is not None:
            dc_t += d_cs[t, :rows]
        dc_t += xp.multiply(dh, of_c, out=tmp)  # dc += dh o (1 - tanh^2 c_t)
        d = d_pre[t, :rows].reshape(rows, 4, hidden)  # (b, 4, H): di, df, dg, do
        of_gates = of_gates.reshape(rows, 4, hidden)
        xp.multiply(dc_t[:, None], of_gates[:, :3], out=d[:, :3])  # di, df, dg: one call
        xp.multiply(dh, of_gates[:, 3], out=d[:, 3])  # do
        dc_t *= gates[t, :rows, hidden:2 * hidden]  # dc_{t-1} = dc f

    # ------------------------------------------------------------ GRU

    def gru_forward(self, *, gates, recurrent, b_hn, hs, hn, t, rows):
        # r, z = sigmoid(x W_i + b + h W_h); hn = h W_hn + b_hn;
        # n = tanh(x W_in + b_in + r hn);  h_t = (1 - z) n + z h = n + z (h - n)
        xp = self.xp
        a = gates[t, :rows]  # (b, 3H): x W_ih^T + b, then r, z, n
        r, z, n = split_gates(a, 3)
        h_n = recurrent[:rows, 2 * n.shape[1]:]  # h W_hn (no bias yet)
        r_z = a[:, :2 * n.shape[1]]  # r and z, side by side: one call for both
        r_z += recurrent[:rows, :2 * n.shape[1]]
        xp.tanh(r_z, out=r_z)
        sigmoid_from_half(r_z)
        hn_t, r_hn = hn[t, :rows], self.scratch[0, :rows]
        xp.add(h_n, b_hn, out=hn_t)  # hn = h W_hn + b_hn
        n += xp.multiply(r, hn_t, out=r_hn)
        xp.tanh(n, out=n)  # n = tanh(x W_in + b_in + r hn)
        h = hs[t + 1, :rows]
        xp.subtract(hs[t, :rows], n, out=h)
        h *= z
        h += n  # h_t = n + z (h_{t-1} - n)

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

    def gru_backward(self, *, d_pre, d_pre_n, gates, hn, hs, d_out, dh_next, carry, t, rows):
        # dh = carry + (from step t+1) + d_out_t;  dn = dh (1 - z) n';  dz = dh (h - n) z';
        # dr = dn hn r';  d(hn) = dn r;  carry <- dh z  (' : the slope)
        xp = self.xp
        if self.factors is None:
            self.factors = self._gru_factors(gates, hn, hs)
        by_r, by_z, by_n = split_gates(self.factors[t, :rows], 3)
        r, z, _ = split_gates(gates[t, :rows], 3)
        dr, dz, d_hn = split_gates(d_pre[t, :rows], 3)  # the h side: (dr, dz, dn r)
        dn = d_pre_n[t, :rows]  # the x side of the n block
        dh = self.scratch[0, :rows]
        xp.add(carry[:rows], dh_next[:rows], out=dh)
        dh += d_out[t, :rows]
        xp.multiply(dh, by_n, out=dn)  # dn = dh (1 - z) n'
        xp.multiply(dh, by_z, out=dz)  # dz = dh (h - n) z'
        xp.multiply(dn, by_r, out=dr)  # dr = dn hn r'
        xp.multiply(dn, r, out=d_hn)  # d(hn) = dn r
        xp.multiply(dh, z, out=carry[:rows])  # carry = dh z

    # ------------------------------------------------------------ Elman RNN

    def rnn_forward(self, *, hs, recurrent, relu, t, rows):
        # h_t = act(x W_ih^T + b + h_{t-1} W_hh^T), act = relu or tanh
        h = hs[t + 1, :rows]  # (b, H): x W_ih^T + b, then h_t
        h += recurrent[:rows]
        if relu:
            self.xp.maximum(h, 0, out=h)
        else:
            self.xp.tanh(h, out=h)

    def _rnn_slopes(self, hs, relu):
        """For all steps (T, B, H): act'(a_t) from h_t, [h_t > 0] for relu, 1 - h_t^2 for
        tanh."""
        xp, h = self.xp, hs[1:]
        if relu:
            return xp.greater(h, 0).astype(h.dtype)
        slopes = xp.multiply(h, h)
        return xp.subtract(1, slopes, out=slopes)

    def rnn_backward(self, *, d_pre, hs, d_out, dh_next, relu, t, rows):
        # dA_t = dh act'(a_t), dh = d_out_t + (from step t+1)
        if self.factors is None:
            self.factors = self._rnn_slopes(hs, relu)
        d = d_pre[t, :rows]
        self.xp.add(dh_next[:rows], d_out[t, :rows], out=d)  # dh
        d *= self.factors[t, :rows]
