"""Checkpoints: ``save`` and ``load`` nested dicts of arrays and numbers as one ``.npz`` file.

The file is NumPy's ``.npz`` (a zip of ``.npy`` members), so ``numpy.load(path,
allow_pickle=False)`` reads it anywhere and loading never runs code. Layout:

- Each leaf is one member, named by its path of keys joined with "/"::

      {"model": {"0.weight": w}, "optim": {"state": {0: {"exp_avg": m}},
       "param_groups": [{"lr": 0.1, "betas": (0.9, 0.999)}]}, "step": 7}

  gives the members ``model/0.weight``, ``optim/state/0/exp_avg``,
  ``optim/param_groups/0/lr``, ``optim/param_groups/0/betas/0``, ... and ``step``.
- Arrays are stored as they are (copied from the GPU where needed). A Python
  bool, int, float or str and a NumPy scalar become a 0-d array (an int beyond
  int64, such as a PCG64 generator's state, is stored as its decimal string).
- The member ``__structure__`` holds UTF-8 JSON (as a uint8 array) describing
  the tree: which containers are dicts, lists or tuples, every key as it was
  (an int key stays an int), which leaves were Python scalars and which were
  None. ``load`` follows it to return the same nested structure.

Keys must be str or int, without "/" (or NUL); the top level must be a dict. ``save``
writes to a temporary file in the same folder, fsyncs it, then renames it over
``path`` (``os.replace``), so a crash leaves either the old file or the new one,
never half of one, and no temporary file behind.
"""

import json
import os
import secrets
import zipfile
from collections.abc import Mapping

import numpy as np

from engine import Tensor, backend

_STRUCTURE = "__structure__"
_FORMAT = {"format": "loopgrad-checkpoint", "version": 1}
_INT64 = np.iinfo(np.int64)


def save(obj, path):
    """Write a dict (of dicts, lists, tuples, arrays, numbers, strings, None) to ``path``.

    >>> import tempfile, numpy as np
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     save({"model": {"weight": np.eye(2)}, "step": 3, "lr": 0.1}, folder + "/ckpt.npz")
    ...     with np.load(folder + "/ckpt.npz") as raw:
    ...         names = sorted(raw.files)
    ...     loaded = load(folder + "/ckpt.npz")
    >>> names, loaded["step"], loaded["model"]["weight"].shape
    (['__structure__', 'lr', 'model/weight', 'step'], 3, (2, 2))
    """
    if not isinstance(obj, Mapping):
        raise TypeError(f"save: the top level must be a dict; got {type(obj).__name__}")
    members = {}
    tree = _encode(obj, (), members)
    meta = json.dumps({**_FORMAT, "tree": tree}).encode("utf-8")
    members[_STRUCTURE] = np.frombuffer(meta, dtype=np.uint8)
    _write_atomically(os.fspath(path), members)


def load(path):
    """Read a file written by ``save``: the same nested structure, arrays as NumPy arrays.

    A plain ``.npz`` written by NumPy gives a flat dict of name -> array.
    """
    with np.load(path, allow_pickle=False) as npz:
        if _STRUCTURE not in npz.files:
            return {name: npz[name] for name in npz.files}
        meta = json.loads(npz[_STRUCTURE].tobytes().decode("utf-8"))
        if meta.get("format") != _FORMAT["format"] or meta.get("version") != _FORMAT["version"]:
            raise ValueError(f"load: {path} is not a version {_FORMAT['version']} checkpoint "
                             f"(found {meta.get('format')!r} version {meta.get('version')!r})")
        return _decode(meta["tree"], npz)


# ---------------------------------------------------------------- the tree


def _encode(value, path, members):
    """The JSON description of ``value``; its leaves are added to ``members`` by flat key."""
    if value is None:
        return None
    if isinstance(value, Mapping):
        items = []
        for key, item in value.items():
            if not isinstance(key, (str, int)) or "/" in str(key) or "\0" in str(key):
                raise ValueError(f"save: key {key!r} at {_name(path) or 'the top level'} must be "
                                 "a str or an int, without '/' or NUL")
            items.append([key, _encode(item, (*path, key), members)])
        return {"dict": items}
    if isinstance(value, (list, tuple)):
        kind = "tuple" if isinstance(value, tuple) else "list"
        return {kind: [_encode(item, (*path, i), members) for i, item in enumerate(value)]}
    array, kind = _leaf(value, path)
    name = _name(path)
    if name in members or name == _STRUCTURE:
        raise ValueError(f"save: two entries would both be stored as {name!r}")
    members[name] = array
    return {"leaf": name, "as": kind}


def _leaf(value, path):
    """(array to store, how to restore it) for one leaf."""
    if isinstance(value, bool):
        return np.asarray(value), "bool"
    if isinstance(value, int):
        fits = _INT64.min <= value <= _INT64.max
        return np.asarray(value if fits else str(value), dtype=np.int64 if fits else None), "int"
    if isinstance(value, float):
        return np.asarray(value, dtype=np.float64), "float"
    if isinstance(value, str):
        return np.asarray(value), "str"
    if isinstance(value, np.generic):
        return np.asarray(value), "scalar"
    if isinstance(value, Tensor):
        value = value.array
    if backend.is_array(value):
        value = backend.to_numpy(value)  # copied from the GPU where needed
    if isinstance(value, np.ndarray) and value.dtype != object:
        return value, "array"
    raise TypeError(f"save: cannot store {type(value).__name__} at {_name(path)!r} without "
                    "pickle; use arrays, numbers, strings, None, dicts, lists and tuples")


def _name(path):
    return "/".join(str(key) for key in path)


def _decode(node, npz):
    if node is None:
        return None
    if "dict" in node:
        return {key: _decode(item, npz) for key, item in node["dict"]}
    if "list" in node:
        return [_decode(item, npz) for item in node["list"]]
    if "tuple" in node:
        return tuple(_decode(item, npz) for item in node["tuple"])
    array, kind = npz[node["leaf"]], node["as"]
    if kind == "array":
        return array
    if kind == "scalar":
        return array[()]
    return {"bool": bool, "int": int, "float": float, "str": str}[kind](array[()])


# ---------------------------------------------------------------- the file


def _write_npz(file, members):
    """The .npz format (as ``numpy.savez``), member by member, never pickling."""
    with zipfile.ZipFile(file, mode="w", compression=zipfile.ZIP_STORED, allowZip64=True) as zf:
        for name, array in members.items():
            with zf.open(name + ".npy", mode="w", force_zip64=True) as member:
                np.lib.format.write_array(member, np.asarray(array), allow_pickle=False)


def _write_atomically(path, members):
    """Write to a temporary file beside ``path``, fsync, rename over ``path``, fsync the folder."""
    folder = os.path.dirname(os.path.abspath(path))
    temporary = os.path.join(folder, f".{os.path.basename(path)}.{secrets.token_hex(4)}.tmp")
    try:
        with open(temporary, "xb") as file:
            _write_npz(file, members)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except BaseException:
        if os.path.exists(temporary):
            os.unlink(temporary)
        raise
    if hasattr(os, "O_DIRECTORY"):  # make the rename itself durable (POSIX)
        descriptor = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
        try:
            os.fsync(descriptor)
        finally:
            os.close(descriptor)
