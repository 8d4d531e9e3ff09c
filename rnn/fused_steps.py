"""The gate arithmetic of one step of the fused sequence ops, with array operations.

``ArrayKernels`` has one method per kernel of ``rnn.fused_kernels``, with the kernel's
name and arguments, doing the same arithmetic in the same order as a few in-place passes
over the step's slab (NumPy on the CPU, CuPy's own kernels on the GPU). ``rnn.fused_ops``
calls either through ``launch(name, units, *args)``, so its loops do not change with the
way a step is run; the tests run both on the same inputs.

Buffers are the whole (T, B, ...) arrays of the op and ``t`` picks the step; the views of
step ``t`` (rows ``:rows``) are taken here. Sigmoid gates arrive halved, so their values
are ``tanh(a) / 2 + 1 / 2`` (``gate_scale``).
"""

import functools

LSTM_GATES = (0.5, 0.5, 1.0, 0.5)  # i, f, g, o: 1/2 for a sigmoid gate, 1 for tanh
GRU_GATES = (0.5, 0.5, 1.0)  # r, z, n


def gate_scale(xp, gates, hidden, dtype):
    """(G*H,): each gate's factor of ``gates`` (``LSTM_GATES``, ``GRU_GATES``) for its H rows.
    The weights are scaled by it, so that every gate is then one tanh:
    sigmoid(a) = tanh(a / 2) / 2 + 1 / 2."""
    return xp.repeat(xp.asarray(gates, dtype=dtype), hidden)


def _split(a, parts):
    """(b, parts*H) -> ``parts`` views (b, H), gate by gate."""
    width = a.shape[1] // parts
    return [a[:, k * width:(k + 1) * width] for k in range(parts)]


class ArrayKernels:
    """The step kernels of ``rnn.fused_kernels`` as array operations (see the module text).

    Made once per op call: three (B, H) scratch buffers; the LSTM's gate constants (4H,)
    and its (B, 4H) slope buffer on first use.
    """

    fused_product = False  # the caller computes the recurrent product (a BLAS call)
    whole_sequence = False  # the caller runs a loop over the steps

    def __init__(self, xp, batch, hidden, dtype):
        self.xp, self.hidden, self.dtype = xp, hidden, dtype
        self.scratch = xp.empty((3, batch, hidden), dtype=dtype)  # 3 x (B, H)
        self.slope = None  # (B, 4H), lstm_backward's

    @functools.cached_property
    def lstm_constants(self):
        """(4H,) each: the scale (1/2 sigmoid, 1 tanh), the shift (1/2, 0), and the flags
        is_sigmoid (1, 0) and is_tanh (0, 1)."""
        scale = gate_scale(self.xp, LSTM_GATES, self.hidden, self.dtype)
        shift = 1 - scale
        return scale, shift, 2 * shift, 1 - 2 * shift

    def launch(self, name, units, *args):
        """Run the step kernel ``name`` (``units``, the thread count, is the GPU's business)."""
        getattr(self, name)(*args)

    def contiguous(self, a):
        """``a`` as these kernels can read it: as it is (array operations take any strides)."""
        return a

    # ------------------------------------------------------------ LSTM

    def lstm_forward(self, gates, recurrent, w_hh_t, bias, hs, cs, tanh_c, t, rows, batch,
                     hidden):
        # c_t = f c_{t-1} + i g,  h_t = o tanh(c_t)
        xp = self.xp
        a = gates[t, :rows]  # (b, 4H): x W_ih^T, then the pre-activations, then the gates
        a += recurrent[:rows]
        a += bias
        xp.tanh(a, out=a)
        scale, shift, _, _ = self.lstm_constants
        a *= scale
        a += shift  # tanh(a) / 2 + 1 / 2 for i, f, o; tanh(a) for g
        i, f, g, o = _split(a, 4)
        c, scratch = cs[t + 1, :rows], self.scratch[0, :rows]
        xp.multiply(f, cs[t, :rows], out=c)
        xp.multiply(i, g, out=scratch)
        c += scratch
        xp.tanh(c, out=tanh_c[t, :rows])
        xp.multiply(o, tanh_c[t, :rows], out=hs[t + 1, :rows])

    def lstm_backward(self, d_pre, gates, cs, tanh_c, d_out, d_cs, dh_next, w_hh, dc, t, rows,
                      next_rows, batch, hidden):
        # dc += dh o (1 - tanh^2 c_t); di = dc g, df = dc c_{t-1}, dg = dc i, do = dh tanh(c_t),
        # each times its gate's slope; dc_{t-1} = dc f
        xp = self.xp
        a, d = gates[t, :rows], d_pre[t, :rows]  # (b, 4H): gate values, their gradients
        i, f, g, o = _split(a, 4)
        di, df, dg, do = _split(d, 4)
        tanh_of_c, dc_t = tanh_c[t, :rows], dc[:rows]
        dh, tmp = self.scratch[0, :rows], self.scratch[1, :rows]
        xp.add(dh_next[:rows], d_out[t, :rows], out=dh)
        if d_cs is not None:
            dc_t += d_cs[t, :rows]
        xp.multiply(dh, tanh_of_c, out=do)
        xp.multiply(do, tanh_of_c, out=tmp)
        xp.subtract(dh, tmp, out=tmp)
        tmp *= o
        dc_t += tmp  # dh o (1 - tanh^2 c) = (dh - do tanh c) o
        xp.multiply(dc_t, g, out=di)
        xp.multiply(dc_t, cs[t, :rows], out=df)
        xp.multiply(dc_t, i, out=dg)
        dc_t *= f
        if self.slope is None:
            self.slope = xp.empty_like(gates[0])
        slope = self.slope[:rows]  # sigmoid' = (1 - s) s, tanh' = 1 - g^2: (p - a) a + 1 - p
        _, _, is_sigmoid, is_tanh = self.lstm_constants
        xp.subtract(is_sigmoid, a, out=slope)  # p = is_sigmoid
        slope *= a
        slope += is_tanh
        d *= slope

    # ------------------------------------------------------------ GRU

    def gru_forward(self, gates, recurrent, w_hh_t, bias, b_hn, hs, hn, t, rows, batch, hidden):
        # r, z = sigmoid(...), n = tanh(a_n + r hn), hn = W_hn h + b_hn, h_t = n + z (h - n)
        xp = self.xp
        a, rec = gates[t, :rows], recurrent[:rows]  # (b, 3H): x W_ih^T, then r, z, n
        rz, n = a[:, :2 * hidden], a[:, 2 * hidden:]  # (b, 2H), (b, H)
        a += bias
        rz += rec[:, :2 * hidden]
        xp.tanh(rz, out=rz)
        rz *= 0.5
        rz += 0.5
        r, z = _split(rz, 2)
        hn_t, scratch = hn[t, :rows], self.scratch[0, :rows]
        xp.add(rec[:, 2 * hidden:], b_hn, out=hn_t)
        xp.multiply(r, hn_t, out=scratch)
        n += scratch
        xp.tanh(n, out=n)
        h = hs[t + 1, :rows]
        xp.subtract(hs[t, :rows], n, out=h)
        h *= z
        h += n  # h = n + z (h_prev - n)

    def gru_backward(self, d_pre_h, d_pre_n, gates, hn, hs, d_out, dh_next, w_hh, carry, t, rows,
                     next_rows, batch, hidden):
        # dh = carry + dA_h,{t+1} W_hh + d_out; dn = dh (1 - z) (1 - n^2),
        # dz = dh (h - n) z (1 - z), dr = dn hn r (1 - r), d(W_hn h + b_hn) = dn r; carry <- dh z
        xp = self.xp
        r, z, n = _split(gates[t, :rows], 3)
        dr, dz, d_hn_t = _split(d_pre_h[t, :rows], 3)
        dn = d_pre_n[t, :rows]
        dh, tmp, one_minus_z = (self.scratch[k, :rows] for k in range(3))
        xp.add(carry[:rows], dh_next[:rows], out=dh)
        dh += d_out[t, :rows]
        xp.multiply(n, n, out=tmp)
        xp.subtract(1, tmp, out=tmp)
        tmp *= dh
        xp.subtract(1, z, out=one_minus_z)
        xp.multiply(tmp, one_minus_z, out=dn)  # dn_pre = dh (1 - z) (1 - n^2)
        xp.subtract(hs[t, :rows], n, out=dz)
        dz *= dh
        one_minus_z *= z
        dz *= one_minus_z  # dz_pre = dh (h - n) z (1 - z)
        xp.multiply(dn, hn[t, :rows], out=dr)
        xp.subtract(1, r, out=tmp)
        tmp *= r
        dr *= tmp  # dr_pre = dn_pre hn r (1 - r)
        xp.multiply(dn, r, out=d_hn_t)
        xp.multiply(dh, z, out=carry[:rows])

    # ------------------------------------------------------------ RNN

    def rnn_forward(self, hs, recurrent, w_hh_t, bias, relu, t, rows, batch, hidden):
        # h_t = act(x W_ih^T + h_{t-1} W_hh^T + b)
        h = hs[t + 1, :rows]
        h += recurrent[:rows]
        h += bias
        if relu:
            self.xp.maximum(h, 0, out=h)
        else:
            self.xp.tanh(h, out=h)

    def rnn_backward(self, d_pre, hs, d_out, dh_next, w_hh, relu, t, rows, next_rows, batch,
                     hidden):
        # dA_t = dh_t (1 - h_t^2) for tanh, dh_t [h_t > 0] for relu
        xp = self.xp
        h, d = hs[t + 1, :rows], d_pre[t, :rows]
        dh, tmp = self.scratch[0, :rows], self.scratch[1, :rows]
        xp.add(dh_next[:rows], d_out[t, :rows], out=dh)
        if relu:
            xp.greater(h, 0, out=tmp)
            xp.multiply(dh, tmp, out=d)
        else:
            xp.multiply(h, h, out=d)
            xp.subtract(1, d, out=d)
            d *= dh
