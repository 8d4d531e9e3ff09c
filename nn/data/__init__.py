"""Data loading, PyTorch's ``torch.utils.data``: datasets, samplers, collation, DataLoader.

    Datasets   Dataset  IterableDataset  TensorDataset  Subset  ConcatDataset  ChainDataset
               random_split
    Samplers   Sampler  SequentialSampler  RandomSampler  SubsetRandomSampler
               WeightedRandomSampler  BatchSampler
    Collation  default_collate  default_convert  collate  default_collate_fn_map
    Loading    DataLoader  get_worker_info

A map-style dataset is anything with ``__getitem__`` and ``__len__``. A sampler yields its
keys (in order, shuffled, weighted), a ``BatchSampler`` groups them into lists of
``batch_size``, and the ``DataLoader`` fetches each list's samples and collates them into
one batch: tensors stacked along a new first axis, numbers made tensors, tuples, lists and
dicts collated element by element.

Everything runs in the calling process: ``num_workers`` is accepted and changes nothing
(the batches are those of ``num_workers=0``). Shuffling draws from ``generator=`` or the
default generator, so ``engine.manual_seed`` makes it reproducible; the numbers are NumPy's,
not PyTorch's, so a seed gives another order than on PyTorch.

    >>> import engine
    >>> data = TensorDataset(engine.arange(10.0).reshape(5, 2), engine.arange(5))
    >>> [(x.shape, y.tolist()) for x, y in DataLoader(data, batch_size=2)]
    [((2, 2), [0, 1]), ((2, 2), [2, 3]), ((1, 2), [4])]
"""

from nn.data.collate import collate, default_collate, default_collate_fn_map, default_convert
from nn.data.dataloader import DataLoader, get_worker_info
from nn.data.dataset import (
    ChainDataset,
    ConcatDataset,
    Dataset,
    IterableDataset,
    Subset,
    TensorDataset,
    random_split,
)
from nn.data.sampler import (
    BatchSampler,
    RandomSampler,
    Sampler,
    SequentialSampler,
    SubsetRandomSampler,
    WeightedRandomSampler,
)

__all__ = [
    "BatchSampler", "ChainDataset", "ConcatDataset", "DataLoader", "Dataset", "IterableDataset",
    "RandomSampler", "Sampler", "SequentialSampler", "Subset", "SubsetRandomSampler",
    "TensorDataset", "WeightedRandomSampler", "collate", "default_collate",
    "default_collate_fn_map", "default_convert", "get_worker_info", "random_split",
]
