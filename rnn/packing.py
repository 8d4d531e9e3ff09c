"""PyTorch's packed sequences, mapped onto the one padding convention (``lengths=``).

Contents: PackedSequence, pack_padded_sequence, pad_packed_sequence, pad_sequence,
pack_sequence, pack_like (a padded batch packed as another PackedSequence is).

A PackedSequence holds a batch of sequences of different lengths, time-major and without
padding: ``data`` (sum of lengths, *) stacks, for each step t, the rows of the sequences
still running at t, longest first; ``batch_sizes`` (T,) says how many there are at each
step; ``sorted_indices`` is the batch order by decreasing length (None when the input was
sorted already) and ``unsorted_indices`` its inverse. Packing and unpacking are each ONE
gather, so gradients flow through both; the recurrent layers take a PackedSequence by
unpacking it to a padded batch with ``lengths`` and packing their output again.

    >>> x = engine.tensor(np.arange(6.0).reshape(3, 2, 1))  # (T, B, 1), lengths 3 and 1
    >>> packed = pack_padded_sequence(x, [3, 1])
    >>> packed.data.numpy().ravel().tolist(), packed.batch_sizes.tolist()
    ([0.0, 1.0, 2.0, 4.0], [2, 1, 1])
    >>> padded, lengths = pad_packed_sequence(packed)
    >>> padded.numpy().ravel().tolist(), lengths.tolist()
    ([0.0, 1.0, 2.0, 0.0, 4.0, 0.0], [3, 1])
"""

from collections import namedtuple

import numpy as np

import engine
from engine import Tensor


class PackedSequence(namedtuple("PackedSequence",
                                ["data", "batch_sizes", "sorted_indices", "unsorted_indices"])):
    """``(data, batch_sizes, sorted_indices, unsorted_indices)``, PyTorch's fields (see the
    module docstring); ``to``, ``cpu``, ``cuda``, ``double``, ``float`` move or cast ``data``."""

    def __new__(cls, data, batch_sizes=None, sorted_indices=None, unsorted_indices=None):
        if unsorted_indices is None and sorted_indices is not None:
            unsorted_indices = _inverse(sorted_indices)
        return super().__new__(cls, data, batch_sizes, sorted_indices, unsorted_indices)

    def _with(self, data):
        return type(self)(data, self.batch_sizes, self.sorted_indices, self.unsorted_indices)

    def to(self, *args, **kwargs):
        return self._with(self.data.to(*args, **kwargs))

    def cpu(self):
        return self._with(self.data.cpu())

    def cuda(self, device=None):
        return self._with(self.data.cuda(device))

    def double(self):
        return self._with(self.data.double())

    def float(self):
        return self._with(self.data.float())

    @property
    def is_cuda(self):
        return self.data.is_cuda


def _inverse(permutation):
    """The inverse of a permutation, as an int64 Tensor."""
    order = _ints(permutation)
    inverse = np.empty_like(order)
    inverse[order] = np.arange(len(order))
    return engine.tensor(inverse)


def _ints(values):
    """An int64 NumPy array from a list, an array or a (CPU or GPU) Tensor."""
    return np.asarray(values.numpy() if isinstance(values, Tensor) else values, dtype=np.int64)


def _lengths(lengths, batch_size):
    lengths = _ints(lengths)
    if lengths.ndim != 1 or len(lengths) != batch_size:
        raise ValueError(f"pack_padded_sequence: expected one length per batch element, "
                         f"shape ({batch_size},); got shape {lengths.shape}")
    if len(lengths) and lengths.min() < 1:
        raise ValueError(f"pack_padded_sequence: every length must be at least 1; got "
                         f"{lengths.tolist()}")
    return lengths


def _places(batch_sizes, order):
    """For each packed row, in packed order (step by step, longest sequence first), its place
    t * B + b in the padded (T, B) grid of the original batch order; ``order[slot]`` is the
    batch element in sorted slot ``slot``."""
    batch_size = len(order)
    return np.concatenate([t * batch_size + order[:n] for t, n in enumerate(batch_sizes)])


def pack_padded_sequence(input, lengths, batch_first=False, enforce_sorted=True):
    """Pack a padded batch ``input`` (T, B, *) (or (B, T, *) with ``batch_first``) whose
    sequence b has ``lengths[b]`` valid steps. With ``enforce_sorted`` the lengths must be
    in decreasing order (PyTorch's rule, for ONNX export); ``enforce_sorted=False`` sorts."""
    if batch_first:
        input = input.transpose(0, 1)
    max_len, batch_size = input.shape[:2]
    lengths = _lengths(lengths, batch_size)
    if lengths.max() > max_len:
        raise ValueError(f"pack_padded_sequence: a length ({lengths.max()}) is longer than the "
                         f"input's {max_len} steps")
    if enforce_sorted:
        if (np.diff(lengths) > 0).any():
            raise RuntimeError(
                f"`lengths` array must be sorted in decreasing order when `enforce_sorted` is "
                f"True; got {lengths.tolist()}. You can pass `enforce_sorted=False` to "
                "pack_padded_sequence and/or pack_sequence to sidestep this requirement")
        sorted_indices = None
    else:
        sorted_indices = engine.tensor(np.argsort(-lengths, kind="stable"))
    steps = np.arange(lengths.max())
    batch_sizes = engine.tensor((lengths[None, :] > steps[:, None]).sum(axis=1))  # (T,)
    return pack_like(input, PackedSequence(None, batch_sizes, sorted_indices))


def pack_like(padded, like):
    """The padded batch ``padded`` (T, B, *) packed as ``like`` (a PackedSequence) is: the
    same batch sizes and order. One gather, so the gradient flows back to ``padded``."""
    batch_sizes, order = _sizes_and_order(like)
    flat = padded.reshape(padded.shape[0] * padded.shape[1], *padded.shape[2:])
    return PackedSequence(flat[_places(batch_sizes, order)], like.batch_sizes,
                          like.sorted_indices, like.unsorted_indices)


def _sizes_and_order(sequence):
    batch_sizes = _ints(sequence.batch_sizes)
    batch_size = int(batch_sizes[0])
    order = (np.arange(batch_size) if sequence.sorted_indices is None
             else _ints(sequence.sorted_indices))
    return batch_sizes, order


def pad_packed_sequence(sequence, batch_first=False, padding_value=0.0, total_length=None):
    """The padded batch ``(T, B, *)`` (``(B, T, *)`` with ``batch_first``) of a
    PackedSequence, in the original batch order, and its lengths (an int64 Tensor)."""
    batch_sizes, order = _sizes_and_order(sequence)
    max_len, batch_size = len(batch_sizes), len(order)
    if total_length is not None:
        if total_length < max_len:
            raise ValueError(f"pad_packed_sequence: expected total_length to be at least the "
                             f"length of the longest sequence ({max_len}); got {total_length}")
        max_len = total_length
    places = _places(batch_sizes, order)
    data = sequence.data
    # every place of the padded grid reads a packed row, or the padding row appended last
    source = np.full(max_len * batch_size, len(places))
    source[places] = np.arange(len(places))
    pad = engine.full((1, *data.shape[1:]), padding_value, dtype=data.dtype, device=data.device)
    padded = engine.concatenate([data, pad])[source].reshape(max_len, batch_size, *data.shape[1:])
    lengths = np.empty(batch_size, dtype=np.int64)
    lengths[order] = (batch_sizes[None, :] > np.arange(batch_size)[:, None]).sum(axis=1)
    if batch_first:
        padded = padded.transpose(0, 1)
    return padded, engine.tensor(lengths)


def pad_sequence(sequences, batch_first=False, padding_value=0.0, padding_side="right"):
    """Stack sequences of shapes (L_b, *) into one padded batch (T, B, *) (``batch_first``:
    (B, T, *)), T the longest L_b; padding on the right (or the left)."""
    sequences = list(sequences)
    if not sequences:
        raise ValueError("pad_sequence: needs at least one sequence")
    if padding_side not in ("right", "left"):
        raise ValueError(f"pad_sequence: padding_side must be 'right' or 'left'; got "
                         f"{padding_side!r}")
    trailing = {tuple(s.shape[1:]) for s in sequences}
    if len(trailing) > 1:
        raise ValueError(f"pad_sequence: every sequence needs the same trailing shape; got "
                         f"{[tuple(s.shape) for s in sequences]}")
    max_len = max(s.shape[0] for s in sequences)
    padded = []
    for s in sequences:
        pad = engine.full((max_len - s.shape[0], *s.shape[1:]), padding_value, dtype=s.dtype,
                          device=s.device)
        padded.append(engine.concatenate([s, pad] if padding_side == "right" else [pad, s]))
    return engine.stack(padded, dim=0 if batch_first else 1)


def pack_sequence(sequences, enforce_sorted=True):
    """Pack a list of sequences (L_b, *) (decreasing lengths unless ``enforce_sorted=False``)."""
    lengths = [s.shape[0] for s in sequences]
    return pack_padded_sequence(pad_sequence(sequences), lengths, enforce_sorted=enforce_sorted)
