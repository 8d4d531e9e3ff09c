"""Collation, PyTorch's rules: a list of samples becomes one batch (tensors stacked along a
new first axis, numbers made tensors, tuples, lists and dicts collated element by element).

default_collate default_convert collate default_collate_fn_map
"""

import collections.abc
import copy
import re

import numpy as np

import engine
from engine import Tensor

np_str_obj_array_pattern = re.compile(r"[SaUO]")  # NumPy dtypes of strings and objects

default_collate_err_msg_format = (
    "default_collate: batch must contain tensors, numpy arrays, numbers, dicts or lists; "
    "found {}"
)


def _is_numpy(value):
    kind = type(value)
    return kind.__module__ == "numpy" and kind.__name__ not in ("str_", "string_")


def default_convert(data):
    """Each NumPy array or scalar inside ``data`` made a Tensor (sharing memory), through
    mappings, named tuples and sequences (a tuple becomes a list); the rest unchanged. The
    DataLoader's collation without batching (``batch_size=None``).

    >>> default_convert({"x": np.arange(2), "name": "a"})
    {'x': tensor([0, 1]), 'name': 'a'}
    """
    kind = type(data)
    if isinstance(data, Tensor):
        return data
    if _is_numpy(data):
        if kind is np.ndarray and np_str_obj_array_pattern.search(data.dtype.str):
            return data
        return engine.as_tensor(data)
    if isinstance(data, collections.abc.Mapping):
        return _rebuild_mapping(data, {key: default_convert(data[key]) for key in data})
    if isinstance(data, tuple) and hasattr(data, "_fields"):  # a named tuple
        return kind(*(default_convert(d) for d in data))
    if isinstance(data, tuple):
        return [default_convert(d) for d in data]
    if isinstance(data, collections.abc.Sequence) and not isinstance(data, (str, bytes)):
        return _rebuild_sequence(data, [default_convert(d) for d in data])
    return data


def _rebuild_mapping(like, values):
    """``values`` (a dict) in ``like``'s mapping type where it can be built, else a dict."""
    try:
        if isinstance(like, collections.abc.MutableMapping):
            clone = copy.copy(like)  # keeps the type's extra attributes
            clone.update(values)
            return clone
        return type(like)(values)
    except TypeError:
        return values


def _rebuild_sequence(like, values):
    """``values`` (a list) in ``like``'s sequence type where it can be built, else a list."""
    try:
        if isinstance(like, collections.abc.MutableSequence):
            clone = copy.copy(like)
            for i, value in enumerate(values):
                clone[i] = value
            return clone
        return type(like)(values)
    except TypeError:  # e.g. a range
        return values


def collate(batch, *, collate_fn_map=None):
    """Collate a list of samples by the type of the first: a type in ``collate_fn_map``
    (exactly, else the first key it is an instance of) goes to that function; mappings,
    named tuples and sequences are collated element by element (a tuple gives a list).

    >>> collate([(1, "a"), (2, "b")], collate_fn_map=default_collate_fn_map)
    [tensor([1, 2]), ('a', 'b')]
    """
    elem = batch[0]
    kind = type(elem)
    if collate_fn_map is not None:
        if kind in collate_fn_map:
            return collate_fn_map[kind](batch, collate_fn_map=collate_fn_map)
        for key in collate_fn_map:
            if isinstance(elem, key):
                return collate_fn_map[key](batch, collate_fn_map=collate_fn_map)
    if isinstance(elem, collections.abc.Mapping):
        values = {key: collate([d[key] for d in batch], collate_fn_map=collate_fn_map)
                  for key in elem}
        return _rebuild_mapping(elem, values)
    if isinstance(elem, tuple) and hasattr(elem, "_fields"):  # a named tuple keeps its type
        return kind(*(collate(field, collate_fn_map=collate_fn_map) for field in zip(*batch)))
    if isinstance(elem, collections.abc.Sequence):
        if any(len(sample) != len(elem) for sample in batch):
            raise RuntimeError("each element in list of batch should be of equal size")
        columns = [collate(column, collate_fn_map=collate_fn_map) for column in zip(*batch)]
        return columns if isinstance(elem, tuple) else _rebuild_sequence(elem, columns)
    raise TypeError(default_collate_err_msg_format.format(kind))


def collate_tensor_fn(batch, *, collate_fn_map=None):
    """Tensors of one shape S stacked into one (B, *S)."""
    shapes = [tuple(t.shape) for t in batch]
    for i, shape in enumerate(shapes):
        if shape != shapes[0]:
            raise RuntimeError(f"stack expects each tensor to be equal size, but got "
                               f"{list(shapes[0])} at entry 0 and {list(shape)} at entry {i}")
    return engine.stack(batch, 0)


def collate_numpy_array_fn(batch, *, collate_fn_map=None):
    if np_str_obj_array_pattern.search(batch[0].dtype.str):
        raise TypeError(default_collate_err_msg_format.format(batch[0].dtype))
    return collate([engine.as_tensor(a) for a in batch], collate_fn_map=collate_fn_map)


def collate_numpy_scalar_fn(batch, *, collate_fn_map=None):
    return engine.as_tensor(np.asarray(batch))  # NumPy's dtype kept: float32 gives float32


def collate_float_fn(batch, *, collate_fn_map=None):
    return engine.tensor(batch, dtype=engine.float64)  # Python floats are doubles


def collate_int_fn(batch, *, collate_fn_map=None):
    return engine.tensor(batch)  # int64; bools (an int subclass) give bool


def collate_str_fn(batch, *, collate_fn_map=None):
    return batch


# Tried in this order (after an exact type match): np.float64 is a float, but a NumPy
# number first; a bool is an int.
default_collate_fn_map = {
    Tensor: collate_tensor_fn,
    np.ndarray: collate_numpy_array_fn,
    (np.bool_, np.number, np.object_): collate_numpy_scalar_fn,
    float: collate_float_fn,
    int: collate_int_fn,
    str: collate_str_fn,
    bytes: collate_str_fn,
}


def default_collate(batch):
    """A list of B samples made one batch, PyTorch's rules by the type of the samples:

        Tensor (shape S)  -> Tensor (B, *S), stacked (all of one shape)
        NumPy array       -> Tensor, stacked, its dtype kept; NumPy scalar -> (B,) Tensor
        float / int / bool -> (B,) float64 / int64 / bool Tensor
        str, bytes        -> the batch unchanged (a tuple of them inside a tuple sample)
        dict              -> dict of the collated values; named tuple -> the same type
        tuple / list      -> list of the collated columns (samples of equal length)

    >>> default_collate([(np.zeros(2, "float32"), 1), (np.ones(2, "float32"), 0)])
    [tensor([[0., 0.],
            [1., 1.]]), tensor([1, 0])]
    >>> default_collate([{"y": 0.5}, {"y": 1.5}])
    {'y': tensor([0.5000, 1.5000], dtype=float64)}
    """
    return collate(batch, collate_fn_map=default_collate_fn_map)
