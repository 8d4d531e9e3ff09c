"""The DataLoader: batches of a dataset, from its sampler and a collate function.

DataLoader get_worker_info
"""

import itertools
import math

import numpy as np

import engine
from nn.data.collate import default_collate, default_convert
from nn.data.dataset import IterableDataset, Subset, TensorDataset
from nn.data.sampler import (
    BatchSampler,
    RandomSampler,
    SequentialSampler,
    _InfiniteConstantSampler,
)


def get_worker_info():
    """None: data is always loaded in the calling process, never in a worker."""
    return None


def _gather(dataset, indices):
    """``default_collate([dataset[i] for i in indices])`` with one indexing per tensor, for
    a TensorDataset or a Subset of one (as ``random_split`` gives): ``[t[indices] for t in
    tensors]``, the same values, dtypes and shapes. None where the shortcut does not apply
    (another dataset, a subclass with its own indexing, keys that are not integers)."""
    while (isinstance(dataset, Subset) and type(dataset).__getitem__ is Subset.__getitem__
           and type(dataset).__getitems__ is Subset.__getitems__):
        indices = [dataset.indices[i] for i in indices]
        dataset = dataset.dataset
    if not (isinstance(dataset, TensorDataset) and not hasattr(dataset, "__getitems__")
            and type(dataset).__getitem__ is TensorDataset.__getitem__):
        return None
    positions = np.asarray(indices)
    if positions.ndim != 1 or positions.dtype.kind not in "iu":
        return None
    return [engine.as_tensor(t)[positions] for t in dataset.tensors]


class DataLoader:
    """Batches of a dataset: the keys of ``sampler`` (in order; with ``shuffle=True`` a
    ``RandomSampler`` drawing from ``generator``) in lists of ``batch_size`` (or the lists of
    ``batch_sampler``), each list's samples fetched and merged by ``collate_fn`` (default
    ``default_collate``). ``batch_size=None`` yields single samples (``default_convert``).
    An ``IterableDataset`` is read in its own order, ``batch_size`` samples at a time.
    ``len(loader)`` is the number of batches.

    Loading always happens in this process, one batch when asked for: ``num_workers > 0``
    starts no workers and gives the same batches as ``num_workers=0`` (``worker_init_fn``
    is never called; ``get_worker_info()`` is None); ``pin_memory``, ``timeout``,
    ``prefetch_factor``, ``persistent_workers``, ``multiprocessing_context`` and
    ``in_order`` are checked as PyTorch checks them and otherwise ignored.

    >>> data = TensorDataset(engine.arange(10.0), engine.arange(10))
    >>> loader = DataLoader(data, batch_size=4, shuffle=True, drop_last=True)
    >>> len(loader), [(x.dtype, y.dtype) for x, y in loader]
    (2, [(dtype('float32'), dtype('int64')), (dtype('float32'), dtype('int64'))])
    """

    __initialized = False

    def __init__(self, dataset, batch_size=1, shuffle=None, sampler=None, batch_sampler=None,
                 num_workers=0, collate_fn=None, pin_memory=False, drop_last=False, timeout=0,
                 worker_init_fn=None, multiprocessing_context=None, generator=None, *,
                 prefetch_factor=None, persistent_workers=False, pin_memory_device="",
                 in_order=True):
        if num_workers < 0:
            raise ValueError("num_workers option should be non-negative; "
                             "use num_workers=0 to disable multiprocessing.")
        if timeout < 0:
            raise ValueError("timeout option should be non-negative")
        if num_workers == 0 and prefetch_factor is not None:
            raise ValueError(
                "prefetch_factor option could only be specified in multiprocessing.let "
                "num_workers > 0 to enable multiprocessing, otherwise set prefetch_factor to "
                "None.")
        if num_workers > 0 and prefetch_factor is None:
            prefetch_factor = 2
        elif prefetch_factor is not None and prefetch_factor < 0:
            raise ValueError("prefetch_factor option should be non-negative")
        if persistent_workers and num_workers == 0:
            raise ValueError("persistent_workers option needs num_workers > 0")
        if multiprocessing_context is not None and num_workers == 0:
            raise ValueError("multiprocessing_context can only be used with multi-process "
                             f"loading (num_workers > 0), but got num_workers={num_workers}")

        stream = isinstance(dataset, IterableDataset)
        if stream:
            if shuffle not in (False, None):
                raise ValueError("DataLoader with IterableDataset: expected unspecified "
                                 f"shuffle option, but got shuffle={shuffle}")
            if sampler is not None:
                raise ValueError("DataLoader with IterableDataset: expected unspecified "
                                 f"sampler option, but got sampler={sampler}")
            if batch_sampler is not None:
                raise ValueError("DataLoader with IterableDataset: expected unspecified "
                                 f"batch_sampler option, but got batch_sampler={batch_sampler}")
        shuffle = bool(shuffle)
        if sampler is not None and shuffle:
            raise ValueError("sampler option is mutually exclusive with shuffle")
        if batch_sampler is not None:
            if batch_size != 1 or shuffle or sampler is not None or drop_last:
                raise ValueError("batch_sampler option is mutually exclusive with batch_size, "
                                 "shuffle, sampler, and drop_last")
            batch_size, drop_last = None, False
        elif batch_size is None and drop_last:
            raise ValueError("batch_size=None option disables auto-batching and is mutually "
                             "exclusive with drop_last")

        if sampler is None:
            if stream:
                sampler = _InfiniteConstantSampler()
            elif shuffle:
                sampler = RandomSampler(dataset, generator=generator)
            else:
                sampler = SequentialSampler(dataset)
        if batch_size is not None and batch_sampler is None:
            batch_sampler = BatchSampler(sampler, batch_size, drop_last)  # checks both

        self.dataset = dataset
        self.batch_size = batch_size
        self.drop_last = drop_last
        self.sampler = sampler
        self.batch_sampler = batch_sampler
        self.generator = generator
        if collate_fn is None:
            collate_fn = default_convert if batch_sampler is None else default_collate
        self.collate_fn = collate_fn
        self.num_workers = num_workers
        self.prefetch_factor = prefetch_factor
        self.pin_memory = pin_memory
        self.pin_memory_device = pin_memory_device
        self.timeout = timeout
        self.worker_init_fn = worker_init_fn
        self.multiprocessing_context = multiprocessing_context
        self.persistent_workers = persistent_workers
        self.in_order = in_order
        self.__initialized = True

    def __setattr__(self, attr, value):
        if self.__initialized and attr in ("batch_size", "batch_sampler", "sampler",
                                           "drop_last", "dataset", "persistent_workers"):
            raise ValueError(f"{attr} attribute should not be set after "
                             f"{type(self).__name__} is initialized")
        super().__setattr__(attr, value)

    def __iter__(self):
        return _DataLoaderIter(self)

    def __len__(self):
        if isinstance(self.dataset, IterableDataset):
            length = len(self.dataset)  # TypeError for a stream without __len__, as PyTorch
            if self.batch_size is not None:
                length = (length // self.batch_size if self.drop_last
                          else math.ceil(length / self.batch_size))
            return length
        return len(self._index_sampler)

    @property
    def _index_sampler(self):
        return self.sampler if self.batch_sampler is None else self.batch_sampler

    def _batches(self):
        if isinstance(self.dataset, IterableDataset):
            yield from self._stream_batches()
            return
        for index in self._index_sampler:
            yield self._fetch(index)

    def _stream_batches(self):
        samples = iter(self.dataset)
        if self.batch_size is None:
            for sample in samples:
                yield self.collate_fn(sample)
            return
        while batch := list(itertools.islice(samples, self.batch_size)):
            if self.drop_last and len(batch) < self.batch_size:
                return
            yield self.collate_fn(batch)

    def _fetch(self, index):
        """One batch of a map-style dataset: ``index`` is a list of keys (one key without
        automatic batching)."""
        if self.batch_sampler is None:
            return self.collate_fn(self.dataset[index])
        if self.collate_fn is default_collate:
            batch = _gather(self.dataset, index)
            if batch is not None:
                return batch
        getitems = getattr(self.dataset, "__getitems__", None)
        samples = getitems(index) if getitems else [self.dataset[i] for i in index]
        return self.collate_fn(samples)


class _DataLoaderIter:
    """One pass over a DataLoader, what ``iter(loader)`` gives: ``next()`` is the next
    batch, ``len()`` the loader's number of batches."""

    def __init__(self, loader):
        self._loader = loader
        self._batches = loader._batches()

    def __iter__(self):
        return self

    def __next__(self):
        return next(self._batches)

    def __len__(self):
        return len(self._loader)
