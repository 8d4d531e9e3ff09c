"""Padding: the one convention for variable-length batches, used by unroll, the layers
and attention.

Contents: check_lengths, lengths_to_mask, reversed_steps, reverse_padded.

A padded batch is time-major, ``(T, B, ...)``; sequence ``b`` is valid at time steps
``0 .. lengths[b] - 1`` and padding after that. The mask of a batch is ``(T, B)`` bool,
``mask[t, b] = t < lengths[b]``, True where a step is valid.
"""

import numpy as np

import engine
from engine import Tensor, backend


def check_lengths(lengths, max_len, batch_size):
    """``lengths`` as a NumPy int64 array of shape ``(B,)``, after checking it.

    ``lengths`` is a list, a NumPy or CuPy array or an integer Tensor (on any device: the
    lengths steer the loops on the host, so a GPU one is copied here), one length per batch
    element, each in ``1 .. max_len`` (any order). Anything else raises a ValueError
    (a TypeError for non-integers) naming what was expected and what came.

    >>> check_lengths([3, 1], max_len=3, batch_size=2)
    array([3, 1])
    >>> check_lengths([4, 1], max_len=3, batch_size=2)
    Traceback (most recent call last):
    ...
    ValueError: lengths must each be in 1..T = 1..3; got [4, 1]
    """
    if isinstance(lengths, Tensor):
        array = lengths.numpy()
    else:  # a CuPy array refuses np.asarray (an implicit copy from the GPU)
        array = backend.to_numpy(lengths) if backend.is_array(lengths) else np.asarray(lengths)
    if array.size and array.dtype.kind not in "iu":
        raise TypeError(f"lengths must be integers; got dtype {array.dtype}: {array.tolist()}")
    if array.ndim != 1 or array.shape[0] != batch_size:
        raise ValueError(
            f"lengths must hold one length per batch element, shape ({batch_size},); "
            f"got shape {array.shape}: {array.tolist()}"
        )
    if array.size and (array.min() < 1 or array.max() > max_len):
        raise ValueError(f"lengths must each be in 1..T = 1..{max_len}; got {array.tolist()}")
    return array.astype(np.int64)


def lengths_to_mask(lengths, max_len, batch_size=None, device=None):
    """The ``(T, B)`` bool mask of a padded batch: ``mask[t, b] = t < lengths[b]``.

    ``lengths`` is checked by ``check_lengths`` (``batch_size`` defaults to its count).

    >>> lengths_to_mask([2, 3], max_len=3).numpy().astype(int)
    array([[1, 1],
           [1, 1],
           [0, 1]])
    """
    if batch_size is None:
        batch_size = len(lengths)
    lengths = check_lengths(lengths, max_len, batch_size)
    mask = np.arange(max_len)[:, None] < lengths[None, :]  # (T, B)
    return engine.tensor(mask, device=device)


def reversed_steps(lengths, max_len):
    """``(T, B)`` time step read by each slot when every valid prefix is reversed:
    ``lengths[b] - 1 - t`` for ``t < lengths[b]``, ``t`` itself in the padding.

    >>> reversed_steps(np.array([2, 3]), 3)
    array([[1, 2],
           [0, 1],
           [2, 0]])
    """
    t = np.arange(max_len)[:, None]  # (T, 1)
    return np.where(t < lengths, lengths - 1 - t, t)


def reverse_padded(x, lengths=None):
    """``x`` ``(T, B, ...)`` with each sequence's valid prefix reversed in time.

    Sequence ``b`` becomes ``x[lengths[b]-1, b], ..., x[0, b]``, then its padding where
    it was; without ``lengths`` every sequence is reversed whole. The reordering is one
    gather (its gradient flows back), and it is its own inverse: running a sequence
    backwards is ``reverse_padded``, a forward run, ``reverse_padded`` again.

    >>> x = engine.tensor(np.arange(6).reshape(3, 2))  # (T, B) = (3, 2)
    >>> reverse_padded(x, [2, 3]).numpy()
    array([[2, 5],
           [0, 3],
           [4, 1]])
    """
    max_len, batch_size = x.shape[:2]
    if lengths is None:
        lengths = np.full(batch_size, max_len)
    lengths = check_lengths(lengths, max_len, batch_size)
    return x[reversed_steps(lengths, max_len), np.arange(batch_size)[None, :]]
