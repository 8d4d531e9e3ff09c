"""Datasets, PyTorch's: Dataset IterableDataset TensorDataset Subset ConcatDataset
ChainDataset, and random_split."""

import bisect
import itertools
import math
import warnings
from types import GenericAlias

import numpy as np

import engine
from engine.random import default_generator


class Dataset:
    """A map from keys (usually ``0 .. len - 1``) to samples. Subclasses define
    ``__getitem__`` and, for the samplers and ``len(loader)``, ``__len__``; ``a + b`` is
    their ``ConcatDataset``. A subclass may add ``__getitems__(indices)``, a list of
    samples, which the DataLoader then calls once per batch.

    >>> class Squares(Dataset):
    ...     def __len__(self): return 4
    ...     def __getitem__(self, i): return i * i
    >>> both = Squares() + Squares()
    >>> len(both), both[5]
    (8, 1)
    """

    __class_getitem__ = classmethod(GenericAlias)  # Dataset[int], as PyTorch's Generic

    def __getitem__(self, index):
        raise NotImplementedError("Subclasses of Dataset should implement __getitem__.")

    def __add__(self, other):
        return ConcatDataset([self, other])


class IterableDataset(Dataset):
    """A stream of samples: subclasses define ``__iter__``; ``a + b`` chains two streams.

    >>> class Count(IterableDataset):
    ...     def __iter__(self): return iter(range(3))
    >>> list(Count() + Count())
    [0, 1, 2, 0, 1, 2]
    """

    def __iter__(self):
        raise NotImplementedError("Subclasses of IterableDataset should implement __iter__.")

    def __add__(self, other):
        return ChainDataset([self, other])


class TensorDataset(Dataset):
    """Sample ``i`` is ``tuple(t[i] for t in tensors)``: tensors of one first dimension N,
    indexed together along it.

    >>> data = TensorDataset(engine.zeros(3, 2), engine.arange(3))
    >>> len(data), [t.shape for t in data[1]]
    (3, [(2,), ()])
    """

    def __init__(self, *tensors):
        if not tensors:
            raise IndexError("TensorDataset: needs at least one tensor; got none")
        lengths = []
        for i, t in enumerate(tensors):
            if not getattr(t, "shape", ()):
                raise ValueError(f"TensorDataset: tensor {i} has no first dimension to index "
                                 f"(shape {getattr(t, 'shape', None)}, type {type(t).__name__})")
            lengths.append(t.shape[0])
        if len(set(lengths)) > 1:
            raise AssertionError(
                f"Size mismatch between tensors: their first dimensions are {lengths}")
        self.tensors = tensors

    def __getitem__(self, index):
        return tuple(t[index] for t in self.tensors)

    def __len__(self):
        return self.tensors[0].shape[0]


class Subset(Dataset):
    """The samples of ``dataset`` at ``indices``: ``subset[i]`` is
    ``dataset[indices[i]]``.

    >>> part = Subset(range(10, 20), [4, 0])
    >>> len(part), part[0], part[1]
    (2, 14, 10)
    """

    def __init__(self, dataset, indices):
        self.dataset = dataset
        self.indices = indices
        # The DataLoader calls __getitems__ when there is one: a subclass that changed only
        # __getitem__ would be bypassed without a word (PyTorch's rule and message).
        if (type(self).__getitem__ is not Subset.__getitem__
                and type(self).__getitems__ is Subset.__getitems__):
            raise NotImplementedError(
                f"{type(self).__name__} overrides __getitem__ but not __getitems__. When "
                "subclassing Subset and overriding __getitem__, you must also override "
                "__getitems__ to ensure DataLoader works correctly with your custom logic. "
                "A simple implementation:\n\ndef __getitems__(self, indices):\n"
                "    return [self.__getitem__(idx) for idx in indices]")

    def __getitem__(self, idx):
        if isinstance(idx, list):
            return self.dataset[[self.indices[i] for i in idx]]
        return self.dataset[self.indices[idx]]

    def __getitems__(self, indices):
        getitems = getattr(self.dataset, "__getitems__", None)
        if callable(getitems):
            return getitems([self.indices[i] for i in indices])
        return [self.dataset[self.indices[i]] for i in indices]

    def __len__(self):
        return len(self.indices)


class ConcatDataset(Dataset):
    """The samples of several datasets one after the other; ``cumulative_sizes[k]`` is
    the number of samples in the first k + 1.

    >>> both = ConcatDataset([range(3), range(10, 12)])
    >>> len(both), both.cumulative_sizes, both[3], both[-1]
    (5, [3, 5], 10, 11)
    """

    @staticmethod
    def cumsum(sequence):
        return list(itertools.accumulate(len(d) for d in sequence))

    def __init__(self, datasets):
        self.datasets = list(datasets)
        if not self.datasets:
            raise AssertionError("datasets should not be an empty iterable")
        if any(isinstance(d, IterableDataset) for d in self.datasets):
            raise AssertionError("ConcatDataset does not support IterableDataset")
        self.cumulative_sizes = self.cumsum(self.datasets)

    def __len__(self):
        return self.cumulative_sizes[-1]

    def __getitem__(self, idx):
        if idx < 0:
            if -idx > len(self):
                raise ValueError("absolute value of index should not exceed dataset length")
            idx = len(self) + idx
        which = bisect.bisect_right(self.cumulative_sizes, idx)  # the dataset holding idx
        start = self.cumulative_sizes[which - 1] if which > 0 else 0
        return self.datasets[which][idx - start]


class ChainDataset(IterableDataset):
    """Several streams (``IterableDataset``) one after the other.

    >>> class Count(IterableDataset):
    ...     def __iter__(self): return iter(range(2))
    >>> list(ChainDataset([Count(), Count()]))
    [0, 1, 0, 1]
    """

    def __init__(self, datasets):
        self.datasets = datasets

    def __iter__(self):
        for d in self.datasets:
            if not isinstance(d, IterableDataset):
                raise AssertionError("ChainDataset only supports IterableDataset")
            yield from d

    def __len__(self):
        for d in self.datasets:
            if not isinstance(d, IterableDataset):
                raise AssertionError("ChainDataset only supports IterableDataset")
        return sum(len(d) for d in self.datasets)


def _split_lengths(lengths, n):
    """PyTorch's rule for fractions summing to 1: floor(fraction * n) each, then the
    remainder handed out one by one from the first split on."""
    sizes = []
    for i, fraction in enumerate(lengths):
        if fraction < 0 or fraction > 1:
            raise ValueError(f"Fraction at index {i} is not between 0 and 1")
        sizes.append(math.floor(n * fraction))
    for i in range(n - sum(sizes)):
        sizes[i % len(sizes)] += 1
    for i, size in enumerate(sizes):
        if size == 0:
            warnings.warn(f"Length of split at index {i} is 0. "
                          f"This might result in an empty dataset.", stacklevel=3)
    return sizes


def random_split(dataset, lengths, generator=default_generator):
    """Split ``dataset`` into non-overlapping ``Subset``s of the given ``lengths`` (ints
    summing to ``len(dataset)``, or fractions summing to 1: see ``_split_lengths``), by one
    random permutation drawn from ``generator``.

    >>> train, test = random_split(range(150), [0.85, 0.15],
    ...                            generator=engine.Generator().manual_seed(2024))
    >>> len(train), len(test), sorted(list(train) + list(test)) == list(range(150))
    (128, 22, True)
    """
    n = len(dataset)
    if math.isclose(sum(lengths), 1) and sum(lengths) <= 1:
        lengths = _split_lengths(lengths, n)
    if sum(lengths) != n:
        raise ValueError("Sum of input lengths does not equal the length of the input dataset! "
                         f"(lengths {list(lengths)} sum to {sum(lengths)}; the dataset has {n})")
    if any(isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 0
           for k in lengths):
        raise ValueError("random_split: lengths must be non-negative integers, or fractions "
                         f"summing to 1; got {list(lengths)}")
    indices = engine.randperm(n, generator=generator).tolist()
    ends = itertools.accumulate(int(k) for k in lengths)
    return [Subset(dataset, indices[end - int(k):end]) for end, k in zip(ends, lengths)]
