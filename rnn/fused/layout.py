"""Padded batches for the fused ops: SequenceLayout, the batch sorted by length.

The ops' loops (``rnn.fused.ops``) run on a copy of the batch sorted by length, longest
first, with each valid prefix reversed when running backwards in time. Step k then
involves rows ``0 .. batch_sizes[k] - 1`` only, contiguous, as in PyTorch's packed
sequences: a finished sequence is never computed, so its state stays and its output
stays zero, which is ``rnn.unroll``'s meaning of ``lengths``.
"""

import numpy as np

from engine import backend
from rnn.masks import check_lengths, reversed_steps


class SequenceLayout:
    """Sorted-by-length working order of a padded batch (T, B, ...), and the gathers to it.

    Working row j holds sequence ``order[j]``; its step k reads original step
    ``lengths - 1 - k`` when ``reverse`` (valid prefix reversed), else k. Step k is
    computed for the rows ``:batch_sizes[k]`` (those still running; the sizes only fall).
    Both maps are their own inverse up to the batch order, so leaving the working copy is a
    gather too. A layout serves one op call, forward and backward.

    >>> layout = SequenceLayout([2, 3], max_len=3, batch_size=2, reverse=False)
    >>> layout.batch_sizes, layout.order.tolist()
    ([2, 2, 1], [1, 0])
    """

    def __init__(self, lengths, max_len, batch_size, reverse):
        if lengths is None:
            self._unpadded(max_len, batch_size, reverse)
            return
        lengths = check_lengths(lengths, max_len, batch_size)
        self.lengths, self.all_full = lengths, bool((lengths == max_len).all())
        self.order = np.argsort(-lengths, kind="stable")  # (B,) working row -> sequence
        self.inverse = np.argsort(self.order)  # (B,) sequence -> working row
        # (B,): working order, as C ints (the *_sequence kernels read them)
        self.sorted_lengths = sorted_lengths = lengths[self.order].astype(np.int32)
        steps = np.arange(max_len)[:, None]  # (T, 1)
        self.padding = steps >= sorted_lengths  # (T, B): the padded steps, working order
        self.batch_sizes = batch_sizes(sorted_lengths, max_len)  # (T,)
        self.identity = not reverse and bool((self.order == np.arange(batch_size)).all())
        self.time_reversed = reverse and self.all_full  # every row reversed whole: a view
        self.to_steps = reversed_steps(sorted_lengths, max_len) if reverse else None  # (T, B)
        self.from_steps = reversed_steps(lengths, max_len) if reverse else None  # (T, B)
        self._uploaded = {}  # (device, name) -> that index array there, copied once

    def _unpadded(self, max_len, batch_size, reverse):
        """The layout of a batch without padding (no lengths), made without a search: the
        rows stay where they are, and a reversed one is the whole sequence backwards."""
        self.lengths = np.full(batch_size, max_len)
        self.all_full, self.identity, self.time_reversed = True, not reverse, reverse
        self.order = self.inverse = np.arange(batch_size)
        self.sorted_lengths = self.lengths.astype(np.int32)
        self.padding = np.zeros((max_len, batch_size), dtype=bool)
        self.batch_sizes = batch_sizes(self.sorted_lengths, max_len)  # every row, every step
        self.to_steps = self.from_steps = None  # unread: time_reversed gathers by a view
        self._uploaded = {}

    def index(self, name, like):
        """The index array attribute ``name`` on the device of the array ``like``: the NumPy
        array itself on the CPU, copied to a GPU once per layout and device."""
        device = backend.device_of(like)
        if device == "cpu":
            return getattr(self, name)
        key = (device, name)
        if key not in self._uploaded:
            self._uploaded[key] = backend.to_device(getattr(self, name), device)
        return self._uploaded[key]

    def to_work(self, a):
        """(T, B, ...) original -> working order (a gather; ``a`` itself if nothing moves, a
        view if only time runs backwards)."""
        return self._gather(a, "to_steps", "order")

    def from_work(self, a):
        """(T, B, ...) working -> original order."""
        return self._gather(a, "from_steps", "inverse")

    def _gather(self, a, steps, rows):
        if self.identity:
            return a
        if self.time_reversed:
            return a[::-1]
        if getattr(self, steps) is None:  # forwards in time: only the rows move
            return a[:, self.index(rows, a)]
        return a[self.index(steps, a), self.index(rows, a)]

    def rows_to_work(self, a):
        """(B, ...) original -> working order, always a fresh array (the loops write it)."""
        return a.copy() if self.identity else a[self.index("order", a)]

    def rows_from_work(self, a):
        """(B, ...) working -> original order."""
        return a if self.identity else a[self.index("inverse", a)]

    def final(self, states):
        """Each sequence's state after its own last step, original order: states (T+1, B, H)
        with the initial state at 0 -> (B, H)."""
        if self.all_full:
            return self.rows_from_work(states[-1])
        return states[self.index("lengths", states), self.index("inverse", states)]


def batch_sizes(lengths, steps):
    """The rows that run each of ``steps`` steps, sequences sorted longest first:
    ``lengths`` (B,) (on any device) -> [the count of lengths > t, for t = 0 .. steps-1]."""
    lengths = backend.to_numpy(lengths)
    if not lengths.size or lengths[-1] >= steps:  # nothing padded: every row, every step
        return [lengths.size] * steps
    return np.count_nonzero(lengths > np.arange(steps)[:, None], axis=1).tolist()
