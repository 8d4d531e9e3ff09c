// CUDA kernels of the fused sequence ops (rnn/fused/ops.py), launched by rnn/fused/cuda.py
// (one thin wrapper per kernel, arguments in this order), which puts two lines before this
// text: `typedef float real;` (or double) and tanh_() for it.
//
// Each *_unit function is the work of one (row, unit) of step t, the arithmetic of
// rnn/fused/steps.py in the same order; the per-step kernels run it over the rows of one
// step, the *_sequence kernels over all the steps of a row, one block per row. The slab
// holds x W_ih^T + b already; sigmoid gates arrive halved (their weights and biases were
// scaled by 1/2): sigmoid(a) is then tanh(a / 2) / 2 + 1 / 2, which never overflows.

#define FOR_EACH_UNIT(count)                                                        \
    for (long long index = (long long)blockIdx.x * blockDim.x + threadIdx.x;         \
         index < (count); index += (long long)blockDim.x * gridDim.x)
#define FOR_EACH_ROW for (int row = blockIdx.x; row < batch; row += gridDim.x)
#define FOR_EACH_UNIT_OF_ROW for (int unit = threadIdx.x; unit < hidden; unit += blockDim.x)

__device__ __forceinline__ real sigmoid_from_half(real half) {
    return tanh_(half) * (real)0.5 + (real)0.5;
}

// sum over m of row[m] * matrix[m, column], matrix (inner, width) row-major: the naive
// small matrix product of the "step" and "sequence" ways (a warp reads adjacent columns)
__device__ __forceinline__ real row_times_column(const real* row, const real* matrix,
                                                 int inner, int width, int column) {
    real total = 0;
    for (int m = 0; m < inner; ++m) total += row[m] * matrix[(long long)m * width + column];
    return total;
}

// ------------------------------------------------------------------ LSTM, gates i f g o

// gates (T, B, 4H): x W_ih^T + b on entry, the gate values on exit; recurrent (B, 4H):
// h_{t-1} W_hh^T by cuBLAS, or NULL: computed here from w_hh_t (H, 4H);
// hs, cs (T+1, B, H), step t+1 written; tanh_c (T, B, H) <- tanh(c_t).
__device__ void lstm_forward_unit(
        real* gates, const real* recurrent, const real* w_hh_t, real* hs, real* cs,
        real* tanh_c, int t, int row, int unit, int batch, int hidden) {
    const int width = 4 * hidden;
    const long long slab = ((long long)t * batch + row) * width;  // gates[t, row, 0]
    const long long at = ((long long)t * batch + row) * hidden;   // hs[t, row, 0]
    const long long next = at + (long long)batch * hidden + unit;  // hs[t + 1, row, unit]
    real value[4];
    for (int k = 0; k < 4; ++k) {
        const int column = k * hidden + unit;
        const real product = recurrent ? recurrent[(long long)row * width + column]
            : row_times_column(hs + at, w_hh_t, hidden, width, column);
        value[k] = gates[slab + column] + product;
    }
    const real i = sigmoid_from_half(value[0]), f = sigmoid_from_half(value[1]);
    const real g = tanh_(value[2]), o = sigmoid_from_half(value[3]);
    gates[slab + unit] = i;
    gates[slab + hidden + unit] = f;
    gates[slab + 2 * hidden + unit] = g;
    gates[slab + 3 * hidden + unit] = o;
    const real c = f * cs[at + unit] + i * g;
    const real tanh_of_c = tanh_(c);
    cs[next] = c;
    tanh_c[at + unit] = tanh_of_c;
    hs[next] = o * tanh_of_c;
}

// d_pre (T, B, 4H) <- the pre-activation gradients of step t. The gradient reaching h_t from
// step t+1 is dA_{t+1} W_hh: computed here from w_hh (4H, H) when from_product, else read
// from dh_next (B, H), which holds it (from cuBLAS) or d h_n (the row's last step).
// d_cs (T, B, H) or NULL; dc (B, H): d c_t in, d c_{t-1} out.
__device__ void lstm_backward_unit(
        real* d_pre, const real* gates, const real* cs, const real* tanh_c, const real* d_out,
        const real* d_cs, const real* dh_next, const real* w_hh, real* dc, bool from_product,
        int t, int row, int unit, int batch, int hidden) {
    const int width = 4 * hidden;
    const long long slab = ((long long)t * batch + row) * width;
    const long long state = ((long long)t * batch + row) * hidden + unit;
    const long long carried = (long long)row * hidden + unit;
    const real from_next = from_product
        ? row_times_column(d_pre + slab + (long long)batch * width, w_hh, width, hidden, unit)
        : dh_next[carried];
    const real dh = from_next + d_out[state];
    real dc_t = dc[carried];
    if (d_cs) dc_t += d_cs[state];
    const real i = gates[slab + unit], f = gates[slab + hidden + unit];
    const real g = gates[slab + 2 * hidden + unit], o = gates[slab + 3 * hidden + unit];
    const real tanh_of_c = tanh_c[state];
    const real d_o = dh * tanh_of_c;
    dc_t += (dh - d_o * tanh_of_c) * o;  // dh o (1 - tanh^2 c)
    d_pre[slab + unit] = dc_t * g * ((1 - i) * i);
    d_pre[slab + hidden + unit] = dc_t * cs[state] * ((1 - f) * f);
    d_pre[slab + 2 * hidden + unit] = dc_t * i * (1 - g * g);
    d_pre[slab + 3 * hidden + unit] = d_o * ((1 - o) * o);
    dc[carried] = dc_t * f;
}

// ------------------------------------------------------------------ GRU, gates r z n

// gates (T, B, 3H): x W_ih^T + b on entry (b: b_ih, plus b_hh in the r and z rows), r z n on
// exit; recurrent (B, 3H): h_{t-1} W_hh^T, or NULL: computed here from w_hh_t (H, 3H);
// b_hn (H,); hs (T+1, B, H), step t+1 written; hn (T, B, H) <- W_hn h + b_hn.
__device__ void gru_forward_unit(
        real* gates, const real* recurrent, const real* w_hh_t, const real* b_hn, real* hs,
        real* hn, int t, int row, int unit, int batch, int hidden) {
    const int width = 3 * hidden;
    const long long slab = ((long long)t * batch + row) * width;
    const long long at = ((long long)t * batch + row) * hidden;
    real product[3];
    for (int k = 0; k < 3; ++k) {
        const int column = k * hidden + unit;
        product[k] = recurrent ? recurrent[(long long)row * width + column]
            : row_times_column(hs + at, w_hh_t, hidden, width, column);
    }
    const real r = sigmoid_from_half(gates[slab + unit] + product[0]);
    const real z = sigmoid_from_half(gates[slab + hidden + unit] + product[1]);
    const real hn_t = product[2] + b_hn[unit];
    const real n = tanh_(gates[slab + 2 * hidden + unit] + r * hn_t);
    gates[slab + unit] = r;
    gates[slab + hidden + unit] = z;
    gates[slab + 2 * hidden + unit] = n;
    hn[at + unit] = hn_t;
    hs[at + (long long)batch * hidden + unit] = (hs[at + unit] - n) * z + n;
}

// d_pre_h (T, B, 3H) <- (dr, dz, dn r), d_pre_n (T, B, H) <- dn, pre-activation gradients of
// step t. dA_h,{t+1} W_hh: computed here from w_hh (3H, H) when from_product, else read
// from dh_next (B, H), which holds it (from cuBLAS) or zero (the row's last step).
// carry (B, H): dh_{t+1} z_{t+1} (d h_n before a row's last step) in, dh_t z_t out.
__device__ void gru_backward_unit(
        real* d_pre_h, real* d_pre_n, const real* gates, const real* hn, const real* hs,
        const real* d_out, const real* dh_next, const real* w_hh, real* carry, bool from_product,
        int t, int row, int unit, int batch, int hidden) {
    const int width = 3 * hidden;
    const long long slab = ((long long)t * batch + row) * width;
    const long long state = ((long long)t * batch + row) * hidden + unit;
    const long long carried = (long long)row * hidden + unit;
    const real* d_next = d_pre_h + slab + (long long)batch * width;  // d_pre_h[t + 1, row]
    const real from_next = from_product ? row_times_column(d_next, w_hh, width, hidden, unit)
        : dh_next[carried];
    const real dh = carry[carried] + from_next + d_out[state];
    const real r = gates[slab + unit], z = gates[slab + hidden + unit];
    const real n = gates[slab + 2 * hidden + unit];
    const real dn = dh * (1 - z) * (1 - n * n);
    d_pre_h[slab + unit] = dn * hn[state] * ((1 - r) * r);
    d_pre_h[slab + hidden + unit] = (hs[state] - n) * dh * ((1 - z) * z);
    d_pre_h[slab + 2 * hidden + unit] = dn * r;
    d_pre_n[state] = dn;
    carry[carried] = dh * z;
}

// ------------------------------------------------------------------ Elman RNN

// hs (T+1, B, H): step t+1 holds x W_ih^T + b on entry (zero where padded: never computed),
// h_t on exit; recurrent (B, H): h_{t-1} W_hh^T, or NULL: computed here from w_hh_t (H, H);
// relu: 1 or 0 (tanh).
__device__ void rnn_forward_unit(
        real* hs, const real* recurrent, const real* w_hh_t, int relu, int t, int row, int unit,
        int batch, int hidden) {
    const long long at = ((long long)t * batch + row) * hidden;
    const long long next = at + (long long)batch * hidden + unit;
    const real product = recurrent ? recurrent[(long long)row * hidden + unit]
        : row_times_column(hs + at, w_hh_t, hidden, hidden, unit);
    const real pre = hs[next] + product;
    hs[next] = relu ? (pre < 0 ? (real)0 : pre) : tanh_(pre);
}

// d_pre (T, B, H) <- the pre-activation gradient of step t; dh_next, w_hh (H, H) and
// from_product as for lstm_backward_unit.
__device__ void rnn_backward_unit(
        real* d_pre, const real* hs, const real* d_out, const real* dh_next, const real* w_hh,
        int relu, bool from_product, int t, int row, int unit, int batch, int hidden) {
    const long long state = ((long long)t * batch + row) * hidden + unit;
    const long long after = state - unit + (long long)batch * hidden;  // d_pre[t + 1, row, 0]
    const real from_next = from_product ? row_times_column(d_pre + after, w_hh, hidden, hidden,
                                                           unit)
        : dh_next[(long long)row * hidden + unit];
    const real dh = from_next + d_out[state];
    const real h = hs[state + (long long)batch * hidden];
    d_pre[state] = relu ? dh * (real)(h > 0) : dh * (1 - h * h);
}

// ------------------------------------------------------- one step: rows * hidden threads
// The rows below `rows` run step t; next_rows ran step t + 1 (0 after the last step).

extern "C" __global__ void lstm_forward(
        real* gates, const real* recurrent, const real* w_hh_t, real* hs, real* cs,
        real* tanh_c, int t, int rows, int batch, int hidden) {
    FOR_EACH_UNIT((long long)rows * hidden)
        lstm_forward_unit(gates, recurrent, w_hh_t, hs, cs, tanh_c, t, index / hidden,
                          index % hidden, batch, hidden);
}

extern "C" __global__ void lstm_backward(
        real* d_pre, const real* gates, const real* cs, const real* tanh_c,
        const real* d_out, const real* d_cs, const real* dh_next, const real* w_hh, real* dc,
        int t, int rows, int next_rows, int batch, int hidden) {
    FOR_EACH_UNIT((long long)rows * hidden) {
        const int row = index / hidden;
        lstm_backward_unit(d_pre, gates, cs, tanh_c, d_out, d_cs, dh_next, w_hh, dc,
                           w_hh && row < next_rows, t, row, index % hidden, batch, hidden);
    }
}

extern "C" __global__ void gru_forward(
        real* gates, const real* recurrent, const real* w_hh_t, const real* b_hn, real* hs,
        real* hn, int t, int rows, int batch, int hidden) {
    FOR_EACH_UNIT((long long)rows * hidden)
        gru_forward_unit(gates, recurrent, w_hh_t, b_hn, hs, hn, t, index / hidden,
                         index % hidden, batch, hidden);
}

extern "C" __global__ void gru_backward(
        real* d_pre_h, real* d_pre_n, const real* gates, const real* hn, const real* hs,
        const real* d_out, const real* dh_next, const real* w_hh, real* carry,
        int t, int rows, int next_rows, int batch, int hidden) {
    FOR_EACH_UNIT((long long)rows * hidden) {
        const int row = index / hidden;
        gru_backward_unit(d_pre_h, d_pre_n, gates, hn, hs, d_out, dh_next, w_hh, carry,
                          w_hh && row < next_rows, t, row, index % hidden, batch, hidden);
    }
}

extern "C" __global__ void rnn_forward(
        real* hs, const real* recurrent, const real* w_hh_t, int relu, int t, int rows,
        int batch, int hidden) {
    FOR_EACH_UNIT((long long)rows * hidden)
        rnn_forward_unit(hs, recurrent, w_hh_t, relu, t, index / hidden, index % hidden, batch,
                         hidden);
}

extern "C" __global__ void rnn_backward(
        real* d_pre, const real* hs, const real* d_out, const real* dh_next, const real* w_hh,
        int relu, int t, int rows, int next_rows, int batch, int hidden) {
    FOR_EACH_UNIT((long long)rows * hidden) {
        const int row = index / hidden;
        rnn_backward_unit(d_pre, hs, d_out, dh_next, w_hh, relu, w_hh && row < next_rows, t,
                          row, index % hidden, batch, hidden);
    }
}

// ------------------------------------------------------- whole sequence: a block per row
// A row's steps depend on its own earlier steps only, so a block runs them all, one after
// the other, its threads splitting the units; a barrier ends each step. lengths (B,): the
// steps of each row (working order). The product is computed here (w_hh_t / w_hh).

extern "C" __global__ void lstm_forward_sequence(
        real* gates, const real* w_hh_t, real* hs, real* cs, real* tanh_c, const int* lengths,
        int batch, int hidden) {
    FOR_EACH_ROW for (int t = 0; t < lengths[row]; ++t) {
        FOR_EACH_UNIT_OF_ROW
            lstm_forward_unit(gates, nullptr, w_hh_t, hs, cs, tanh_c, t, row, unit, batch,
                              hidden);
        __syncthreads();  // h_t complete before step t + 1 reads it
    }
}

extern "C" __global__ void lstm_backward_sequence(
        real* d_pre, const real* gates, const real* cs, const real* tanh_c, const real* d_out,
        const real* d_cs, const real* dh_next, const real* w_hh, real* dc, const int* lengths,
        int batch, int hidden) {
    FOR_EACH_ROW for (int t = lengths[row] - 1; t >= 0; --t) {
        FOR_EACH_UNIT_OF_ROW
            lstm_backward_unit(d_pre, gates, cs, tanh_c, d_out, d_cs, dh_next, w_hh, dc,
                               t + 1 < lengths[row], t, row, unit, batch, hidden);
        __syncthreads();  // d_pre[t] complete before step t - 1 reads it
    }
}

extern "C" __global__ void gru_forward_sequence(
        real* gates, const real* w_hh_t, const real* b_hn, real* hs, real* hn,
        const int* lengths, int batch, int hidden) {
    FOR_EACH_ROW for (int t = 0; t < lengths[row]; ++t) {
        FOR_EACH_UNIT_OF_ROW
            gru_forward_unit(gates, nullptr, w_hh_t, b_hn, hs, hn, t, row, unit, batch, hidden);
        __syncthreads();
    }
}

extern "C" __global__ void gru_backward_sequence(
        real* d_pre_h, real* d_pre_n, const real* gates, const real* hn, const real* hs,
        const real* d_out, const real* dh_next, const real* w_hh, real* carry,
        const int* lengths, int batch, int hidden) {
    FOR_EACH_ROW for (int t = lengths[row] - 1; t >= 0; --t) {
        FOR_EACH_UNIT_OF_ROW
            gru_backward_unit(d_pre_h, d_pre_n, gates, hn, hs, d_out, dh_next, w_hh, carry,
                              t + 1 < lengths[row], t, row, unit, batch, hidden);
        __syncthreads();
    }
}

extern "C" __global__ void rnn_forward_sequence(
        real* hs, const real* w_hh_t, int relu, const int* lengths, int batch, int hidden) {
    FOR_EACH_ROW for (int t = 0; t < lengths[row]; ++t) {
        FOR_EACH_UNIT_OF_ROW
            rnn_forward_unit(hs, nullptr, w_hh_t, relu, t, row, unit, batch, hidden);
        __syncthreads();
    }
}

extern "C" __global__ void rnn_backward_sequence(
        real* d_pre, const real* hs, const real* d_out, const real* dh_next, const real* w_hh,
        int relu, const int* lengths, int batch, int hidden) {
    FOR_EACH_ROW for (int t = lengths[row] - 1; t >= 0; --t) {
        FOR_EACH_UNIT_OF_ROW
            rnn_backward_unit(d_pre, hs, d_out, dh_next, w_hh, relu, t + 1 < lengths[row], t,
                              row, unit, batch, hidden);
        __syncthreads();
    }
}
