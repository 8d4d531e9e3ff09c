"""Fused recurrent layers: a whole sequence, one layer and one direction, as ONE graph node.

The composed path (``rnn.unroll`` over the cell functions of ``rnn.cells``) records a
dozen nodes per step; these record one for the sequence and run the cuDNN schedule: the
input projection of all steps in one matrix product (of both directions at once, in
``run_layer``), one product and one pass of gate arithmetic per step, the weight
gradients as products over all T*B rows. The numbers are the composed path's up to
rounding, ``check_fused`` says by how much, and ``lengths`` / ``reverse`` mean what they
mean for ``rnn.unroll``: padding of any value changes nothing.

Modules, in the order a call goes through them:

    sequence   lstm_sequence, gru_sequence, rnn_sequence, run_direction, run_layer: the
               checks, the hoisted input projection, then the op
    layout     SequenceLayout: the padded batch sorted by length (PyTorch's packed order)
    ops        LSTMSequence, GRUSequence, RNNSequence, and the one loop over the steps
               that they share
    ways       which way the steps run: WAYS, select, use_way
    steps      ArraySteps: a step's gate arithmetic as array operations (the CPU's way)
    cuda       CudaSteps: the same as CUDA kernels (kernels.cu beside it), imported only
               when a GPU way runs
    check      check_fused: fused against composed, for any configuration
    cell       fused_step: one step of a built-in cell as one node (LSTMStep, GRUStep,
               RNNStep), what rnn.LSTMCell, GRUCell and RNNCell run by default

``KINDS`` is ``rnn.cells.CELL_KINDS``, the record of each kind the ops fuse.

    >>> import numpy as np, engine
    >>> rng = np.random.default_rng(0)
    >>> x, h0 = engine.randn(7, 2, 3, rng=rng), engine.zeros(2, 5)
    >>> w_ih, w_hh = engine.randn(15, 3, rng=rng), engine.randn(15, 5, rng=rng)
    >>> output, h_n = gru_sequence(x, h0, w_ih, w_hh, lengths=[7, 4])
    >>> output.shape, h_n.shape, KINDS["gru"].gates
    ((7, 2, 5), (2, 5), 3)
"""

from rnn.cells import CELL_KINDS as KINDS
from rnn.fused.check import check_fused
from rnn.fused.sequence import (
    gru_sequence,
    lstm_sequence,
    rnn_sequence,
    run_direction,
    run_layer,
)
from rnn.fused.ways import WAYS, select, use_way

__all__ = ["KINDS", "WAYS", "check_fused", "gru_sequence", "lstm_sequence", "rnn_sequence",
           "run_direction", "run_layer", "select", "use_way"]
