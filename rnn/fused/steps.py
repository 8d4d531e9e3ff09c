"""One step of the fused ops' gate arithmetic, as array operations: the CPU's way (and,
on a GPU, the "arrays" way, CuPy's own kernels).

``ArraySteps`` has one method per kind and direction of time. The ops' shared loop
(``rnn.fused.ops``) calls it by keyword for every step, with the whole (T, B, ...)
buffers and the step ``t``, whose rows ``:rows`` are the sequences still running; a
method takes only what it reads and reads as its equations, gate by gate, on named views
of the step's slab, each operation in place (``out=``) on a preallocated buffer. The
CUDA kernels (``rnn.fused.cuda``) do the same arithmetic in the same order, so all ways
agree to rounding.

The ops hand the steps their inputs already summed, x W_ih^T + b (only h W_hh^T is
added per step), and with the rows of every sigmoid gate halved, so that one tanh call
covers all the gates of a step: see ``sigmoid_from_half``. At the small sizes of a
recurrent step an operation costs more in overhead than in arithmetic, and one pass over
a step's whole (b, G*H) slab costs less than one per gate view, hence ``GateRows``: the
per-gate treatment of a whole slab in one pass, from the kind's activations.
"""

import functools

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
    """(b, count*H) -> ``count`` views (b, H), one per gate, in the weights' order."""
    width = a.shape[1] // count
    return [a[:, k * width:(k + 1) * width] for k in range(count)]


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

    Made once per op call, with three contiguous (B, H) scratch buffers (the third for a
    gate's slopes), one (B, 4H) for the slopes of the LSTM's gates and, made on first use,
    the LSTM slab's ``GateRows``.
    """

    fused_product = False  # the loop computes the recurrent product h_{t-1} W_hh^T (BLAS)
    whole_sequence = False  # the loop runs the steps: no *_sequence methods
    lstm_forward_sequence = lstm_backward_sequence = None
    gru_forward_sequence = gru_backward_sequence = None
    rnn_forward_sequence = rnn_backward_sequence = None

    def __init__(self, xp, batch, hidden, dtype):
        self.xp = xp
        self.scratch = xp.empty((3, batch, hidden), dtype=dtype)  # 3 x (B, H), contiguous
        self.slope = xp.empty((batch, 4 * hidden), dtype=dtype)  # (B, 4H): slopes
        self.hidden, self.dtype = hidden, dtype

    @functools.cached_property
    def lstm_rows(self):
        """The LSTM slab's GateRows (i, f, o sigmoid, g tanh), made on first use."""
        return GateRows(self.xp, CELL_KINDS["lstm"], self.hidden, self.dtype)

    def contiguous(self, a):
        """``a`` as these steps can read it: as it is (array operations take any strides)."""
        return a

    def _times_sigmoid_slope(self, d, s):
        """d *= sigmoid'(a) = (1 - s) s, in place, from the gate's value s (b, H)."""
        slope = self.xp.subtract(1, s, out=self.scratch[2, :s.shape[0]])
        slope *= s
        d *= slope

    def _times_tanh_slope(self, d, g):
        """d *= tanh'(a) = 1 - g^2, in place, from the gate's value g (b, H)."""
        slope = self.xp.multiply(g, g, out=self.scratch[2, :g.shape[0]])
        self.xp.subtract(1, slope, out=slope)
        d *= slope

    # ------------------------------------------------------------ LSTM

    def lstm_forward(self, *, gates, recurrent, hs, cs, tanh_c, t, rows):
        # i, f, o = sigmoid(.), g = tanh(.) of x W_ih^T + b + h_{t-1} W_hh^T;
        # c_t = f c_{t-1} + i g;  h_t = o tanh(c_t)
        xp = self.xp
        a = gates[t, :rows]  # (b, 4H): x W_ih^T + b, then the pre-activations, then the gates
        a += recurrent[:rows]
        xp.tanh(a, out=a)  # one call for the four: tanh(a) for g, tanh(a / 2) for i, f, o
        self.lstm_rows.activate(a)  # i, f, o = sigmoid_from_half(.); g stays tanh(a)
        i, f, g, o = split_gates(a, 4)
        c, i_g = cs[t + 1, :rows], self.scratch[0, :rows]
        xp.multiply(f, cs[t, :rows], out=c)
        c += xp.multiply(i, g, out=i_g)  # c_t = f c_{t-1} + i g
        xp.tanh(c, out=tanh_c[t, :rows])
        xp.multiply(o, tanh_c[t, :rows], out=hs[t + 1, :rows])  # h_t = o tanh(c_t)

    def lstm_backward(self, *, d_pre, gates, cs, tanh_c, d_out, d_cs, dh_next, dc, t, rows):
        # dh = d_out_t + (from step t+1);  do = dh tanh(c_t);  dc += dh o (1 - tanh^2 c_t);
        # di = dc g, df = dc c_{t-1}, dg = dc i, each times its gate's slope; dc_{t-1} = dc f
        xp = self.xp
        a, d = gates[t, :rows], d_pre[t, :rows]  # (b, 4H): the gate values, their gradients
        i, f, g, o = split_gates(a, 4)
        di, df, dg, do = split_gates(d, 4)  # of the pre-activations, in the end
        tanh_of_c, dc_t = tanh_c[t, :rows], dc[:rows]
        dh, tmp = self.scratch[0, :rows], self.scratch[1, :rows]
        xp.add(dh_next[:rows], d_out[t, :rows], out=dh)
        if d_cs is not None:
            dc_t += d_cs[t, :rows]
        xp.multiply(dh, tanh_of_c, out=do)  # do = dh tanh(c_t)
        xp.multiply(do, tanh_of_c, out=tmp)
        xp.subtract(dh, tmp, out=tmp)
        tmp *= o
        dc_t += tmp  # dc += dh o (1 - tanh^2 c_t), as (dh - do tanh(c_t)) o
        xp.multiply(dc_t, g, out=di)  # di = dc g
        xp.multiply(dc_t, cs[t, :rows], out=df)  # df = dc c_{t-1}
        xp.multiply(dc_t, i, out=dg)  # dg = dc i
        dc_t *= f  # dc_{t-1} = dc f
        # times each gate's slope: (1 - i) i, (1 - f) f, 1 - g^2, (1 - o) o, in one pass
        d *= self.lstm_rows.slopes(a, out=self.slope[:rows])  # now of the pre-activations

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

    def gru_backward(self, *, d_pre, d_pre_n, gates, hn, hs, d_out, dh_next, carry, t, rows):
        # dh = carry + (from step t+1) + d_out_t;  dn = dh (1 - z) (1 - n^2);
        # dz = dh (h - n) z (1 - z);  dr = dn hn r (1 - r);  d(hn) = dn r;  carry <- dh z
        xp = self.xp
        r, z, n = split_gates(gates[t, :rows], 3)
        dr, dz, d_hn = split_gates(d_pre[t, :rows], 3)  # the h side: (dr, dz, dn r)
        dn = d_pre_n[t, :rows]  # the x side of the n block
        dh, one_minus_z = self.scratch[0, :rows], self.scratch[1, :rows]
        xp.add(carry[:rows], dh_next[:rows], out=dh)
        dh += d_out[t, :rows]
        xp.subtract(1, z, out=one_minus_z)
        xp.multiply(dh, one_minus_z, out=dn)
        self._times_tanh_slope(dn, n)  # dn = dh (1 - z) (1 - n^2)
        xp.subtract(hs[t, :rows], n, out=dz)
        dz *= dh
        one_minus_z *= z
        dz *= one_minus_z  # dz = dh (h - n) z (1 - z)
        xp.multiply(dn, hn[t, :rows], out=dr)
        self._times_sigmoid_slope(dr, r)  # dr = dn hn r (1 - r)
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

    def rnn_backward(self, *, d_pre, hs, d_out, dh_next, relu, t, rows):
        # dA_t = dh act'(a_t):  (1 - h_t^2) dh for tanh, [h_t > 0] dh for relu
        xp = self.xp
        h, d = hs[t + 1, :rows], d_pre[t, :rows]
        xp.add(dh_next[:rows], d_out[t, :rows], out=d)  # dh
        if relu:
            d *= xp.greater(h, 0, out=self.scratch[0, :rows])
        else:
            self._times_tanh_slope(d, h)
