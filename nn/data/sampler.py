"""Samplers, PyTorch's: the keys of a dataset, in order, shuffled, weighted or in batches.

Sampler SequentialSampler RandomSampler SubsetRandomSampler WeightedRandomSampler BatchSampler
"""

import itertools
from types import GenericAlias

import numpy as np

import engine
from engine.random import Generator, generator_of


def _is_positive_int(value):
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool) and value > 0


class Sampler:
    """Yields a dataset's keys one at a time (a batch sampler: lists of keys). Subclasses
    define ``__iter__`` and, for ``len(loader)``, ``__len__``.

    >>> from nn.data import DataLoader
    >>> class Backwards(Sampler):
    ...     def __init__(self, data): self.data = data
    ...     def __len__(self): return len(self.data)
    ...     def __iter__(self): return iter(range(len(self.data) - 1, -1, -1))
    >>> [b.tolist() for b in DataLoader(range(5), batch_size=2, sampler=Backwards(range(5)))]
    [[4, 3], [2, 1], [0]]
    """

    __class_getitem__ = classmethod(GenericAlias)

    def __iter__(self):
        raise NotImplementedError


class SequentialSampler(Sampler):
    """``0, 1, ..., len(data_source) - 1``, always in that order.

    >>> list(SequentialSampler(range(3)))
    [0, 1, 2]
    """

    def __init__(self, data_source):
        self.data_source = data_source

    def __iter__(self):
        return iter(range(len(self.data_source)))

    def __len__(self):
        return len(self.data_source)


class RandomSampler(Sampler):
    """The keys ``0 .. n - 1`` in random order: permutations of them (``num_samples`` of
    them in all, default n), or with ``replacement`` ``num_samples`` independent draws.
    Each pass draws anew from ``generator``; without one, from a generator seeded by one
    draw from the default generator at the pass's start (PyTorch's way).

    >>> order = list(RandomSampler(range(5), generator=engine.Generator().manual_seed(0)))
    >>> sorted(order)
    [0, 1, 2, 3, 4]
    >>> len(RandomSampler(range(5), replacement=True, num_samples=12))
    12
    """

    def __init__(self, data_source, replacement=False, num_samples=None, generator=None):
        self.data_source = data_source
        self.replacement = replacement
        self._num_samples = num_samples
        self.generator = generator
        if not isinstance(self.replacement, bool):
            raise TypeError("replacement should be a boolean value, but got "
                            f"replacement={self.replacement}")
        if not _is_positive_int(self.num_samples):
            raise ValueError("num_samples should be a positive integer value, but got "
                             f"num_samples={self.num_samples}")

    @property
    def num_samples(self):
        return len(self.data_source) if self._num_samples is None else self._num_samples

    def __iter__(self):
        n = len(self.data_source)
        generator = self.generator
        if generator is None:
            seed = int(generator_of(None).integers(2**63))
            generator = Generator().manual_seed(seed)
        if self.replacement:
            for _ in range(self.num_samples // 32):  # in chunks: a pass may stop early
                yield from engine.randint(n, (32,), generator=generator).tolist()
            yield from engine.randint(n, (self.num_samples % 32,), generator=generator).tolist()
        else:
            for _ in range(self.num_samples // n):
                yield from engine.randperm(n, generator=generator).tolist()
            yield from engine.randperm(n, generator=generator).tolist()[:self.num_samples % n]

    def __len__(self):
        return self.num_samples


class SubsetRandomSampler(Sampler):
    """The given ``indices`` in a random order (a new one each pass).

    >>> sorted(SubsetRandomSampler([7, 3, 5]))
    [3, 5, 7]
    """

    def __init__(self, indices, generator=None):
        self.indices = indices
        self.generator = generator

    def __iter__(self):
        for i in engine.randperm(len(self.indices), generator=self.generator).tolist():
            yield self.indices[i]

    def __len__(self):
        return len(self.indices)


class WeightedRandomSampler(Sampler):
    """``num_samples`` keys drawn from ``0 .. len(weights) - 1`` with probabilities
    proportional to ``weights`` (with ``replacement``, or each key at most once).

    >>> list(WeightedRandomSampler([0.0, 1.0, 0.0], 3))
    [1, 1, 1]
    """

    def __init__(self, weights, num_samples, replacement=True, generator=None):
        if not _is_positive_int(num_samples):
            raise ValueError("num_samples should be a positive integer value, but got "
                             f"num_samples={num_samples}")
        if not isinstance(replacement, bool):
            raise ValueError(
                f"replacement should be a boolean value, but got replacement={replacement}")
        weights = engine.as_tensor(weights, dtype=engine.float64)
        if weights.ndim != 1:
            raise ValueError("weights should be a 1d sequence but given weights have shape "
                             f"{tuple(weights.shape)}")
        self.weights = weights
        self.num_samples = num_samples
        self.replacement = replacement
        self.generator = generator

    def __iter__(self):
        yield from engine.multinomial(self.weights, self.num_samples, self.replacement,
                                      generator=self.generator).tolist()

    def __len__(self):
        return self.num_samples


class BatchSampler(Sampler):
    """The keys of ``sampler`` in lists of ``batch_size``; the last list is shorter, or
    dropped with ``drop_last``.

    >>> list(BatchSampler(SequentialSampler(range(7)), batch_size=3, drop_last=False))
    [[0, 1, 2], [3, 4, 5], [6]]
    >>> len(BatchSampler(range(7), batch_size=3, drop_last=True))
    2
    """

    def __init__(self, sampler, batch_size, drop_last):
        if not _is_positive_int(batch_size):
            raise ValueError("batch_size should be a positive integer value, but got "
                             f"batch_size={batch_size}")
        if not isinstance(drop_last, bool):
            raise ValueError(f"drop_last should be a boolean value, but got drop_last={drop_last}")
        self.sampler = sampler
        self.batch_size = batch_size
        self.drop_last = drop_last

    def __iter__(self):
        keys = iter(self.sampler)
        while batch := list(itertools.islice(keys, self.batch_size)):
            if self.drop_last and len(batch) < self.batch_size:
                return
            yield batch

    def __len__(self):
        if self.drop_last:
            return len(self.sampler) // self.batch_size
        return (len(self.sampler) + self.batch_size - 1) // self.batch_size


class _InfiniteConstantSampler(Sampler):
    """``None`` forever: the sampler of a stream, whose samples come in their own order."""

    def __iter__(self):
        while True:
            yield None
