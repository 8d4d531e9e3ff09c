"""nn.data (``torch.utils.data``): datasets, random_split, samplers, default_collate and the
DataLoader against PyTorch where it is installed (the same batches for the same order, the
same split sizes, collated dtypes, shapes and structure, lengths and error messages), and
shuffling by its properties (our random numbers are NumPy's, not PyTorch's)."""

import collections
import warnings

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import engine
import nn
from nn import data

Point = collections.namedtuple("Point", ["x", "y"])


def signature(value):
    """A comparable picture of a batch, the same for ours and PyTorch's: tensors as
    (dtype name, shape, values), containers by their type, the rest as they are."""
    if isinstance(value, engine.Tensor):
        return ("tensor", str(value.dtype), tuple(value.shape), value.tolist())
    if type(value).__module__.startswith("torch"):
        return ("tensor", str(value.dtype).removeprefix("torch."), tuple(value.shape),
                value.tolist())
    if isinstance(value, tuple) and hasattr(value, "_fields"):
        return (type(value).__name__, [signature(v) for v in value])
    if isinstance(value, (list, tuple)):
        return (type(value).__name__, [signature(v) for v in value])
    if isinstance(value, dict):
        return ("dict", {k: signature(v) for k, v in value.items()})
    return (type(value).__name__, value)


def raised(call):
    """(type name, message) of what ``call()`` raises."""
    with pytest.raises(Exception) as info:
        call()
    return type(info.value).__name__, str(info.value)


def arrays(n=10, seed=0):
    rng = np.random.default_rng(seed)
    return rng.random((n, 3)).astype(np.float32), rng.integers(0, 5, n)


def ours_and_torchs(torch, n=10):
    x, y = arrays(n)
    return (data.TensorDataset(engine.tensor(x), engine.tensor(y)),
            torch.utils.data.TensorDataset(torch.from_numpy(x), torch.from_numpy(y)))


def batch_indices(loader):
    """The keys of each batch of a loader over ``TensorDataset(arange(n))``."""
    return [batch[0].tolist() for batch in loader]


def indexed(n):
    return data.TensorDataset(engine.arange(n))


# ---------------------------------------------------------------- datasets


def test_tensor_dataset_subset_concat_index_as_pytorch():
    torch = pytest.importorskip("torch")
    ours, theirs = ours_and_torchs(torch)
    assert len(ours) == len(theirs) == 10
    for i in (0, 7, -1, np.int64(3)):
        assert signature(ours[i]) == signature(theirs[i])
    for make in (lambda d: d + d, lambda d: data.ConcatDataset([d, d]) if isinstance(
            d, data.Dataset) else torch.utils.data.ConcatDataset([d, d])):
        a, b = make(ours), make(theirs)
        assert len(a) == len(b) == 20 and a.cumulative_sizes == b.cumulative_sizes
        for i in (0, 9, 10, 19, -1, -20):
            assert signature(a[i]) == signature(b[i])
        assert raised(lambda a=a: a[-21]) == raised(lambda b=b: b[-21])
    sub, theirs_sub = data.Subset(ours, [4, 2, 9]), torch.utils.data.Subset(theirs, [4, 2, 9])
    assert len(sub) == 3 and signature(sub[np.int64(1)]) == signature(theirs_sub[1])
    assert signature(sub.__getitems__([0, 2])) == signature(theirs_sub.__getitems__([0, 2]))


def test_streams_chain_and_concat_refuses_them():
    class Count(data.IterableDataset):
        def __iter__(self):
            return iter(range(3))

    assert list(Count() + Count()) == [0, 1, 2, 0, 1, 2]
    with pytest.raises(AssertionError, match="does not support IterableDataset"):
        data.ConcatDataset([range(2), Count()])
    with pytest.raises(AssertionError, match="should not be an empty iterable"):
        data.ConcatDataset([])
    with pytest.raises(NotImplementedError, match="should implement __getitem__"):
        data.Dataset()[0]


def test_tensor_dataset_of_unequal_lengths_names_both_before_any_loader():
    torch = pytest.importorskip("torch")
    with pytest.raises(AssertionError) as info:
        data.DataLoader(data.TensorDataset(engine.zeros(10, 2), engine.zeros(9)), batch_size=2)
    expected = raised(lambda: torch.utils.data.TensorDataset(torch.zeros(10, 2), torch.zeros(9)))
    assert expected[0] == "AssertionError" and str(info.value).startswith(expected[1])
    assert "[10, 9]" in str(info.value)
    with pytest.raises(ValueError, match="tensor 1 has no first dimension"):
        data.TensorDataset(engine.zeros(3), engine.tensor(1.0))
    with pytest.raises(IndexError, match="at least one tensor"):
        data.TensorDataset()


def test_subset_subclass_overriding_only_getitem_is_refused():
    class Shifted(data.Subset):
        def __getitem__(self, i):
            return super().__getitem__(i) + 1

    with pytest.raises(NotImplementedError, match="overrides __getitem__ but not __getitems__"):
        Shifted(range(5), [0, 1])


# ---------------------------------------------------------------- random_split


@pytest.mark.parametrize("fractions", [[0.85, 0.15], [0.3, 0.3, 0.4], [1 / 3] * 3, [0.5, 0.5],
                                       [0.1] * 10, [1.0], [0.7, 0.2, 0.1]])
@pytest.mark.parametrize("n", [1, 2, 3, 7, 10, 150, 1001])
def test_random_split_sizes_equal_pytorchs(fractions, n):
    torch = pytest.importorskip("torch")
    with warnings.catch_warnings(record=True) as ours_warned:
        warnings.simplefilter("always")
        parts = data.random_split(range(n), fractions)
    with warnings.catch_warnings(record=True) as theirs_warned:
        warnings.simplefilter("always")
        expected = torch.utils.data.random_split(range(n), fractions)
    assert [len(p) for p in parts] == [len(p) for p in expected]
    assert [str(w.message) for w in ours_warned] == [str(w.message) for w in theirs_warned]
    assert sorted(i for p in parts for i in p) == list(range(n))  # a partition


def test_random_split_150_items_as_the_names_program():
    generator = engine.Generator(device="cuda").manual_seed(2024)  # as torch.Generator(device=)
    train, test = data.random_split(list(range(150)), [0.85, 0.15], generator=generator)
    assert (len(train), len(test)) == (128, 22)
    again = data.random_split(list(range(150)), [0.85, 0.15],
                              generator=engine.Generator().manual_seed(2024))
    assert list(train) == list(again[0]) and list(test) == list(again[1])
    other = data.random_split(list(range(150)), [0.85, 0.15],
                              generator=engine.Generator().manual_seed(2025))
    assert list(train) != list(other[0])
    i = np.array_split(np.arange(len(train)), 4)[1][0]  # indexed by a NumPy integer
    assert train[i] == train.indices[int(i)]


def test_random_split_integer_lengths_and_bad_lengths():
    torch = pytest.importorskip("torch")
    assert [len(p) for p in data.random_split(range(10), [3, 7])] == [3, 7]
    for lengths in ([3, 8], [0.5, 0.4], [1.5, -0.5]):
        assert raised(lambda lengths=lengths: data.random_split(range(10), lengths))[1].startswith(
            raised(lambda lengths=lengths: torch.utils.data.random_split(range(10), lengths))[1])
    with pytest.raises(ValueError, match=r"non-negative integers.*\[-1, 11\]"):
        data.random_split(range(10), [-1, 11])


# ---------------------------------------------------------------- samplers


def test_sequential_and_batch_samplers_equal_pytorchs():
    torch = pytest.importorskip("torch")
    tdata = torch.utils.data
    assert list(data.SequentialSampler(range(5))) == list(tdata.SequentialSampler(range(5)))
    for n, size, drop in [(10, 3, False), (10, 3, True), (9, 3, True), (2, 5, False),
                          (2, 5, True), (0, 2, False)]:
        ours = data.BatchSampler(data.SequentialSampler(range(n)), size, drop)
        theirs = tdata.BatchSampler(tdata.SequentialSampler(range(n)), size, drop)
        assert list(ours) == list(theirs) and len(ours) == len(theirs)


def test_random_sampler_is_a_reproducible_permutation_differing_across_seeds():
    def order(seed, **options):
        return list(data.RandomSampler(range(20), generator=engine.Generator().manual_seed(seed),
                                       **options))

    assert sorted(order(0)) == list(range(20))
    assert order(0) == order(0) and order(0) != order(1)
    sampler = data.RandomSampler(range(20), generator=engine.Generator().manual_seed(0))
    assert list(sampler) != list(sampler)  # each pass draws anew
    twice = order(0, num_samples=45)  # more than n without replacement: whole permutations
    assert len(twice) == 45 and sorted(twice[:20]) == sorted(twice[20:40]) == list(range(20))
    drawn = order(0, replacement=True, num_samples=70)
    assert len(drawn) == 70 and set(drawn) <= set(range(20)) and len(set(drawn)) < 20
    engine.manual_seed(3)
    first = list(data.RandomSampler(range(20)))
    engine.manual_seed(3)
    assert list(data.RandomSampler(range(20))) == first  # the default generator, reseeded
    assert list(data.RandomSampler(range(20))) != first


def test_subset_and_weighted_samplers():
    g = engine.Generator().manual_seed(0)
    assert sorted(data.SubsetRandomSampler([7, 3, 5], generator=g)) == [3, 5, 7]
    weighted = data.WeightedRandomSampler([0.0, 2.0, 0.0, 1.0], 50, generator=g)
    drawn = list(weighted)
    assert len(weighted) == 50 and set(drawn) == {1, 3} and drawn.count(1) > drawn.count(3)
    distinct = list(data.WeightedRandomSampler([1.0] * 6, 6, replacement=False, generator=g))
    assert sorted(distinct) == list(range(6))


@pytest.mark.parametrize("make", [
    lambda d: d.RandomSampler(range(3), replacement="yes"),
    lambda d: d.RandomSampler(range(3), num_samples=0),
    lambda d: d.RandomSampler([]),
    lambda d: d.WeightedRandomSampler([1.0, 2.0], 0),
    lambda d: d.WeightedRandomSampler([1.0, 2.0], 2, replacement=1),
    lambda d: d.WeightedRandomSampler([[1.0, 2.0]], 2),
    lambda d: d.BatchSampler(range(3), 0, False),
    lambda d: d.BatchSampler(range(3), -2, False),
    lambda d: d.BatchSampler(range(3), 2.0, False),
    lambda d: d.BatchSampler(range(3), 2, None),
])
def test_bad_sampler_arguments_raise_pytorchs_errors(make):
    torch = pytest.importorskip("torch")
    assert raised(lambda: make(data)) == raised(lambda: make(torch.utils.data))


# ---------------------------------------------------------------- collation


def collate_cases(tensor):
    """Batches of each sample kind, their tensors made by ``tensor`` (a NumPy array -> a
    framework's tensor)."""
    rng = np.random.default_rng(0)
    f32 = rng.random((4, 3)).astype(np.float32)
    return {
        "tensor float32 (3,)": [tensor(row) for row in f32],
        "tensor int64 ()": [tensor(np.array(i)) for i in range(3)],
        "tensor bool (2, 2)": [tensor(rng.random((2, 2)) < 0.5) for _ in range(2)],
        "ndarray float32 (2, 3)": [rng.random((2, 3)).astype(np.float32) for _ in range(3)],
        "ndarray int16 (3,)": [np.arange(3, dtype=np.int16) + i for i in range(2)],
        "ndarray float64 ()": [np.array(0.5), np.array(1.5)],
        "numpy float32": [np.float32(1.5), np.float32(2.5)],
        "numpy int32": [np.int32(1), np.int32(2)],
        "numpy float64": [np.float64(1.5), np.float64(-1)],
        "numpy int64": [np.int64(7)],
        "numpy bool": [np.bool_(True), np.bool_(False)],
        "float": [0.5, 1.5, 2.0],
        "int": [1, 2, 3],
        "bool": [True, False],
        "int then float": [1, 2.5],
        "float then int": [2.5, 1],
        "str": ["a", "bc"],
        "bytes": [b"a", b"b"],
        "tuple (tensor, tensor, str, str)": [(tensor(np.array([i])), tensor(f32[i]), "lab",
                                              f"name{i}") for i in range(3)],
        "list of ints": [[1, 2], [3, 4], [5, 6]],
        "dict": [{"x": tensor(f32[i]), "y": 0.5 * i, "name": "n"} for i in range(2)],
        "nested": [{"pair": (tensor(f32[i]), np.arange(2)), "k": [i, i + 1]} for i in range(2)],
        "namedtuple": [Point(tensor(f32[i]), i) for i in range(3)],
    }


@pytest.mark.parametrize("kind", list(collate_cases(np.asarray)))
def test_default_collate_equals_pytorchs(kind):
    torch = pytest.importorskip("torch")
    ours = data.default_collate(collate_cases(engine.tensor)[kind])
    theirs = torch.utils.data.default_collate(collate_cases(lambda a: torch.from_numpy(
        np.array(a)))[kind])
    assert signature(ours) == signature(theirs)


@pytest.mark.parametrize("sample", [
    np.arange(3), np.float32(1.5), (np.zeros(2), 1, "a"), {"x": np.ones(2), "k": [np.int64(2)]},
    Point(np.array(1.0), 2), [np.arange(2), 3], "text", 5, np.array(["a", "b"]),
], ids=repr)
def test_default_convert_equals_pytorchs(sample):
    torch = pytest.importorskip("torch")
    ours, theirs = data.default_convert(sample), torch.utils.data.default_convert(sample)
    if isinstance(sample, np.ndarray) and sample.dtype.kind == "U":
        assert ours is sample and theirs is sample
    else:
        assert signature(ours) == signature(theirs)


@pytest.mark.parametrize("make", [
    lambda tensor: [tensor(np.zeros(3)), tensor(np.zeros(4))],
    lambda tensor: [tensor(np.zeros((2, 3))), tensor(np.zeros((2, 3))), tensor(np.zeros((3, 2)))],
    lambda tensor: [np.array(["a"]), np.array(["b"])],
    lambda tensor: [object(), object()],
    lambda tensor: [(1, 2), (1,)],
    lambda tensor: [None, None],
])
def test_default_collate_errors_equal_pytorchs(make):
    torch = pytest.importorskip("torch")
    assert raised(lambda: data.default_collate(make(engine.tensor))) == raised(
        lambda: torch.utils.data.default_collate(make(torch.from_numpy)))


# ---------------------------------------------------------------- DataLoader


class Named(data.Dataset):
    """Samples like the names program's: (label tensor, data tensor, label, name)."""

    def __init__(self, tensor, n=7):
        self.tensor = tensor
        self.n = n

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        return (self.tensor(np.array([i % 3])), self.tensor(np.full((2, 4), i, np.float32)),
                f"label{i % 3}", f"name{i}")


@pytest.mark.parametrize("batch_size,drop_last", [(1, False), (3, False), (3, True), (4, True),
                                                  (8, False), (None, False)])
def test_same_batches_as_pytorch_for_the_same_order(batch_size, drop_last):
    torch = pytest.importorskip("torch")
    tdata = torch.utils.data
    order = [3, 1, 4, 0, 5, 7, 2, 6]  # keys of all four datasets
    ours, theirs = ours_and_torchs(torch)
    pairs = [(ours, theirs), (data.Subset(ours, order[::-1]), tdata.Subset(theirs, order[::-1])),
             (ours + ours, theirs + theirs),
             (Named(engine.tensor), type("Named", (tdata.Dataset,), dict(Named.__dict__))(
                 lambda a: torch.from_numpy(np.array(a))))]
    for a, b in pairs:
        mine = data.DataLoader(a, batch_size=batch_size, sampler=order, drop_last=drop_last)
        expected = tdata.DataLoader(b, batch_size=batch_size, sampler=order, drop_last=drop_last)
        assert [signature(x) for x in mine] == [signature(x) for x in expected]
        assert len(mine) == len(expected) and len(iter(mine)) == len(expected)


def test_batches_keep_dtypes_and_the_program_idioms_work():
    x, y = arrays(10)
    dataset = data.TensorDataset(engine.from_numpy(x), engine.from_numpy(y))
    loader = data.DataLoader(dataset=dataset, batch_size=4, shuffle=True)
    assert loader.dataset is dataset and len(loader.dataset) == 10 and loader.batch_size == 4
    assert isinstance(loader.sampler, data.RandomSampler) and len(loader) == 3
    for i, (images, labels) in enumerate(loader):
        assert images.dtype == engine.float32 and labels.dtype == engine.int64
        assert images.shape == (4 if i < 2 else 2, 3) and labels.shape == (images.shape[0],)
    loader = data.DataLoader(dataset, sampler=data.RandomSampler(dataset), batch_size=3)
    for batch in loader:
        a, b = batch
        assert a.dtype == engine.float32 and b.dtype == engine.int64
    first = next(iter(loader))
    assert isinstance(first, list) and len(first) == 2


def test_tensor_dataset_shortcut_gives_what_default_collate_gives():
    x, y = arrays(12)
    base = data.TensorDataset(engine.tensor(x), engine.tensor(y))
    for dataset in (base, data.random_split(base, [0.5, 0.5])[0],
                    data.Subset(data.Subset(base, [5, 3, 1, 11]), [3, 0, -1])):
        def batches(collate_fn, dataset=dataset):
            return [signature(b) for b in data.DataLoader(
                dataset, batch_size=2, sampler=list(range(len(dataset)))[::-1],
                collate_fn=collate_fn)]
        assert batches(None) == batches(lambda samples: data.default_collate(samples))
    for keys in ([slice(0, 2), slice(2, 4)], [True, True], [np.int64(3), 1]):  # not all ints
        shortcut = data.DataLoader(base, batch_sampler=[keys])
        per_sample = data.DataLoader(base, batch_sampler=[keys], collate_fn=lambda s: (
            data.default_collate(s)))
        assert [signature(b) for b in shortcut] == [signature(b) for b in per_sample]


def test_shuffled_loader_is_a_reproducible_permutation_differing_across_seeds():
    def epochs(seed, count=2, **options):
        loader = data.DataLoader(indexed(23), batch_size=5, shuffle=True,
                                 generator=engine.Generator().manual_seed(seed), **options)
        return [sum(batch_indices(loader), []) for _ in range(count)]

    first, second = epochs(0)
    assert sorted(first) == sorted(second) == list(range(23))
    assert first != second  # reshuffled every epoch
    assert epochs(0) == [first, second] and epochs(1)[0] != first
    calls = []
    workers = epochs(0, num_workers=2, pin_memory=True, prefetch_factor=4,
                     persistent_workers=True, worker_init_fn=calls.append, timeout=5)
    assert workers == [first, second] and calls == []  # no workers: the same batches
    engine.manual_seed(7)
    order = batch_indices(data.DataLoader(indexed(23), batch_size=5, shuffle=True))
    engine.manual_seed(7)
    assert batch_indices(data.DataLoader(indexed(23), batch_size=5, shuffle=True)) == order


@given(n=st.integers(0, 60), batch_size=st.integers(1, 20), drop_last=st.booleans(),
       shuffle=st.booleans())
def test_batches_cover_each_index_once_in_the_right_sizes(n, batch_size, drop_last, shuffle):
    shuffle = shuffle and n > 0  # a RandomSampler needs a sample
    loader = data.DataLoader(indexed(n), batch_size=batch_size, shuffle=shuffle,
                             drop_last=drop_last, generator=engine.Generator().manual_seed(n))
    batches = batch_indices(loader)
    full, rest = divmod(n, batch_size)
    sizes = [batch_size] * full + ([rest] if rest and not drop_last else [])
    assert [len(b) for b in batches] == sizes and len(loader) == len(sizes)
    seen = sorted(sum(batches, []))
    assert len(set(seen)) == len(seen) and set(seen) <= set(range(n))
    assert len(seen) == (full * batch_size if drop_last else n)
    if not shuffle:
        assert seen == sum(batches, [])


@pytest.mark.parametrize("n,batch_size", [(10, 3), (9, 3), (1, 4), (64, 64), (65, 64), (0, 2)])
def test_len_with_and_without_drop_last_equals_pytorchs(n, batch_size):
    torch = pytest.importorskip("torch")
    for drop_last in (False, True):
        ours = data.DataLoader(range(n), batch_size=batch_size, drop_last=drop_last)
        theirs = torch.utils.data.DataLoader(range(n), batch_size=batch_size,
                                             drop_last=drop_last)
        assert len(ours) == len(theirs)


def test_batch_sampler_and_unbatched_loading_equal_pytorchs():
    torch = pytest.importorskip("torch")
    ours, theirs = ours_and_torchs(torch)
    for options in ({"batch_sampler": [[0, 2], [9], [1, 1, 3]]}, {"batch_size": None}):
        mine = data.DataLoader(ours, **options)
        expected = torch.utils.data.DataLoader(theirs, **options)
        assert [signature(b) for b in mine] == [signature(b) for b in expected]
        assert len(mine) == len(expected)
    assert signature(list(data.DataLoader([np.arange(2), 1], batch_size=None))) == signature(
        list(torch.utils.data.DataLoader([np.arange(2), 1], batch_size=None)))


def streams(base):
    class Stream(base):
        def __init__(self, n):
            self.n = n

        def __iter__(self):
            return iter([np.float32(i) for i in range(self.n)])

    class Sized(Stream):
        def __len__(self):
            return self.n

    return Stream, Sized


@pytest.mark.parametrize("options", [{"batch_size": 2}, {"batch_size": 2, "drop_last": True},
                                     {"batch_size": None}, {"batch_size": 7}])
def test_iterable_dataset_batches_and_len_equal_pytorchs(options):
    torch = pytest.importorskip("torch")
    (stream, sized), (tstream, tsized) = streams(data.IterableDataset), streams(
        torch.utils.data.IterableDataset)
    for ours, theirs in ((stream(5), tstream(5)), (sized(5), tsized(5))):
        mine = data.DataLoader(ours, **options)
        expected = torch.utils.data.DataLoader(theirs, **options)
        assert [signature(b) for b in mine] == [signature(b) for b in expected]
    assert len(data.DataLoader(sized(5), **options)) == len(
        torch.utils.data.DataLoader(tsized(5), **options))
    assert raised(lambda: len(data.DataLoader(stream(5), **options))) == raised(
        lambda: len(torch.utils.data.DataLoader(tstream(5), **options)))


@pytest.mark.parametrize("options", [
    {"batch_size": 0}, {"batch_size": -3}, {"batch_size": 2.5}, {"drop_last": "yes"},
    {"sampler": [0, 1], "shuffle": True},
    {"batch_sampler": [[0]], "batch_size": 2}, {"batch_sampler": [[0]], "shuffle": True},
    {"batch_sampler": [[0]], "sampler": [0]}, {"batch_sampler": [[0]], "drop_last": True},
    {"batch_size": None, "drop_last": True}, {"num_workers": -1}, {"timeout": -1},
    {"prefetch_factor": 2}, {"num_workers": 1, "prefetch_factor": -1},
    {"persistent_workers": True}, {"multiprocessing_context": "spawn"},
])
def test_bad_loader_options_raise_pytorchs_errors(options):
    torch = pytest.importorskip("torch")
    ours, theirs = ours_and_torchs(torch)
    assert raised(lambda: data.DataLoader(ours, **options)) == raised(
        lambda: torch.utils.data.DataLoader(theirs, **options))


@pytest.mark.parametrize("options", [{"shuffle": True}, {"sampler": [0]},
                                     {"batch_sampler": [[0]]}])
def test_bad_loader_options_for_a_stream_raise_pytorchs_errors(options):
    torch = pytest.importorskip("torch")
    (stream, _), (tstream, _) = streams(data.IterableDataset), streams(
        torch.utils.data.IterableDataset)
    ours = raised(lambda: data.DataLoader(stream(3), **options))
    theirs = raised(lambda: torch.utils.data.DataLoader(tstream(3), **options))
    assert ours[0] == theirs[0] and ours[1].split(", but got")[0] == theirs[1].split(
        ", but got")[0]


def test_loader_settings_are_frozen_after_construction():
    torch = pytest.importorskip("torch")
    ours, theirs = ours_and_torchs(torch)
    mine, expected = data.DataLoader(ours), torch.utils.data.DataLoader(theirs)
    for attr in ("batch_size", "sampler", "drop_last", "dataset"):
        assert raised(lambda attr=attr: setattr(mine, attr, 2)) == raised(
            lambda attr=attr: setattr(expected, attr, 2))
    mine.collate_fn = data.default_convert  # the others may change, as in PyTorch
    assert nn.data is data and data.get_worker_info() is None
