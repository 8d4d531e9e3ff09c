"""PyTorch's checkpoint format, both ways, without PyTorch: ``save`` writes what ``torch.save``
writes, so ``torch.load(f, weights_only=True)`` reads it with PyTorch installed and this
library not; ``load`` reads ``torch.save``'s files (and safetensors and ``nn.save`` files)
without PyTorch, never running code from the file (see ``nn.safe_pickle``).

Contents: save, load; the zip container; map_location. The pickle is written by
``nn.torch_pickler`` and read by ``nn.safe_pickle``.

The file (PyTorch >= 1.6) is a zip whose records sit under one folder (``archive/``):

- ``data.pkl``: the object, pickled with protocol 2. A tensor is
  ``torch._utils._rebuild_tensor_v2(storage, offset, size, stride, requires_grad,
  OrderedDict())`` where ``storage`` is the persistent id ``('storage', torch.FloatStorage,
  key, location, numel)``; a Parameter wraps that in ``torch._utils._rebuild_parameter``.
- ``data/<key>``: each storage's raw little-endian bytes, 64-byte aligned in the file (as
  PyTorch aligns them, so they can be memory-mapped).
- ``byteorder`` ("little"), ``.format_version`` ("1"), ``.storage_alignment`` ("64"),
  ``version`` ("3"), ``.data/serialization_id``.

What ``save`` writes, and how it comes back from ``load``:

- dicts, OrderedDicts (a state dict), lists, tuples, sets, ints, floats, complex, bools,
  None, str, bytes: as they are.
- Tensors and Parameters (requires_grad kept), and NumPy and CuPy arrays: as tensors, since
  PyTorch pickles a NumPy array with NumPy's globals, which ``weights_only`` refuses; they
  load as Tensors. Each is written contiguous (a transposed view is saved as its values),
  each as its own storage (two views of one array do not share memory after loading; the
  same Tensor twice is one tensor). NumPy scalars are written as Python numbers.
- dtypes and devices as ``torch.float32`` and ``torch.device``; ``engine.Size`` as
  ``torch.Size``.
- Modules: as ``torch.save(model)`` writes them (``NEWOBJ`` of the class, then its state:
  ``training``, ``_parameters``, ``_buffers``, ``_modules`` and its other attributes); the
  class is named by its path from ``register_class_path`` if it has one (PyTorch's
  ``torch.nn.modules.linear.Linear``), else its own import path. Loading one rebuilds it only
  when its class is allowlisted (``add_safe_globals`` / ``safe_globals``). A NumPy or engine
  random generator in an attribute (a layer's ``rng``) is saved by its state; a function by
  its import path; lambdas and other objects are refused.
- Other objects with a plain ``__dict__`` (an ``argparse.Namespace``): by class and
  ``__dict__``, as pickle does; they load when their class is allowlisted.

Loading gives Tensors on the CPU, or where ``map_location`` says: a device name or device,
a dict from the file's locations to ours (``{"cuda:0": "cpu"}``), or a function
``(storage, location) -> storage or None`` (``lambda storage, loc: storage`` keeps the CPU).
A file saved on a GPU needs a GPU or ``map_location``, as in PyTorch. bfloat16 tensors load
as float32 (exactly: NumPy has no bfloat16). ``weights_only=False`` reads the same way: this
loader never runs code from a file, so it has nothing else to offer; classes a file names
must be allowlisted either way. ``mmap=True`` maps the storages of a file given by path
(copy-on-write) instead of reading them.
"""

import io
import os
import pickle
import struct
import zipfile
import zlib
from collections.abc import Mapping

import numpy as np

from engine import Tensor, backend
from nn import safe_pickle, safetensors_format, torch_pickler, torch_rebuild
from nn.serialization import (
    CheckpointError,
    describe,
    is_file_object,
    not_a_checkpoint,
    open_for_reading,
    sniff,
    write_file,
)
from nn.serialization import load as load_npz

_ALIGNMENT = 64


# ---------------------------------------------------------------- save


def save(obj, f, pickle_module=None, pickle_protocol=2, _use_new_zipfile_serialization=True,
         _disable_byteorder_record=False):
    """Write ``obj`` to ``f`` (a path, written atomically, or an open binary file) in
    PyTorch's format; a path ending in ``.safetensors`` gets the safetensors format (a flat
    dict of name -> tensor). ``pickle_protocol`` is accepted; the data is always written with
    protocol 2, as PyTorch does.

    >>> import io, engine
    >>> buffer = io.BytesIO()
    >>> save({"weight": engine.ones(2, 3), "step": 7}, buffer)
    >>> loaded = load(io.BytesIO(buffer.getvalue()))
    >>> loaded["weight"].shape, loaded["step"]
    ((2, 3), 7)
    """
    if pickle_module not in (None, pickle):
        raise TypeError("save: pickle_module must be None or pickle; the format is PyTorch's")
    if not _use_new_zipfile_serialization:
        raise ValueError("save: only PyTorch's zip format is written "
                         "(_use_new_zipfile_serialization=True)")
    if not is_file_object(f) and os.fsdecode(os.fspath(f)).endswith(".safetensors"):
        return safetensors_format.save(obj, f)
    writer = torch_pickler.Writer()
    data = writer.dump(obj)  # every refusal comes before the file is touched
    records = [("data.pkl", data), (".format_version", b"1"),
               (".storage_alignment", str(_ALIGNMENT).encode())]
    if not _disable_byteorder_record:
        records.append(("byteorder", b"little"))
    records += [(f"data/{key}", array) for key, array in enumerate(writer.storages)]
    crc = 0
    for _, content in records:
        crc = zlib.crc32(memoryview(content).cast("B"), crc)
    records += [("version", b"3\n"), (".data/serialization_id",
                                      f"{crc:020d}{len(data):020d}".encode())]
    write_file(f, lambda file: _write_zip(file, records))


def _write_zip(file, records):
    """The records under ``archive/``, stored, each one's data 64-byte aligned in the file."""
    with zipfile.ZipFile(file, mode="w", compression=zipfile.ZIP_STORED,
                         allowZip64=True) as archive:
        for name, content in records:
            content = memoryview(content).cast("B")
            info = zipfile.ZipInfo("archive/" + name, date_time=(1980, 1, 1, 0, 0, 0))
            info.file_size = content.nbytes
            zip64 = content.nbytes * 1.05 > zipfile.ZIP64_LIMIT  # as ZipFile.open decides
            header = 30 + len(info.filename.encode()) + 4 + (20 if zip64 else 0)
            pad = -(archive.fp.tell() + header) % _ALIGNMENT
            info.extra = b"FB" + struct.pack("<H", pad) + b"Z" * pad  # PyTorch's padding field
            with archive.open(info, mode="w", force_zip64=zip64) as member:
                member.write(content)


# ---------------------------------------------------------------- load


def load(f, map_location=None, pickle_module=None, *, weights_only=None, mmap=None,
         **pickle_load_args):
    """Read ``f`` (a path or an open binary file): a ``torch.save`` file, a safetensors file
    or an ``nn.save`` file, told apart by their content. Tensors come back as Tensors (on
    ``map_location``), Parameters as Parameters. Anything else, or a file that is corrupt or
    asks for a global that is not allowed, raises CheckpointError naming the file."""
    encoding = pickle_load_args.pop("encoding", "utf-8")
    if pickle_load_args:
        raise TypeError(f"load: unexpected arguments {sorted(pickle_load_args)}")
    if pickle_module not in (None, pickle):
        raise TypeError("load: pickle_module must be None or pickle: the file is read by the "
                        "restricted loader, which never runs code from it")
    if weights_only not in (None, True, False):
        raise TypeError(f"load: weights_only must be a bool; got {weights_only!r}")
    if mmap and is_file_object(f):
        raise ValueError("load: mmap=True needs the file's path, not a file object")
    restore = _restorer(map_location)
    name = describe(f)
    with open_for_reading(f) as file:
        kind, head = sniff(file)
        if kind == "safetensors":
            arrays = safetensors_format.load(file, name)
            return {key: _tensor_at(array, restore) for key, array in arrays.items()}
        if kind != "zip":
            raise not_a_checkpoint(name, kind, head)
        start = file.tell()
        try:
            with zipfile.ZipFile(file) as archive:
                prefix = _archive_prefix(archive, name)
                if prefix is not None:
                    path = os.fspath(f) if mmap else None
                    return _load_torch(archive, prefix, name, restore, encoding, path)
        except CheckpointError:
            raise
        except (zipfile.BadZipFile, EOFError, OSError, ValueError, KeyError, zlib.error,
                struct.error, MemoryError) as error:
            raise CheckpointError(f"load: {name} is truncated or corrupt ({error})") from None
        file.seek(start)
        return _tensors_of(load_npz(file), restore)


def _archive_prefix(archive, name):
    """The folder of ``data.pkl`` in a torch.save zip; None for a zip of .npy members."""
    names = archive.namelist()
    pickles = [member for member in names if member.endswith("/data.pkl")
               and member.count("/") == 1]
    if any(member.endswith("/constants.pkl") for member in names):
        raise CheckpointError(f"load: {name} is a TorchScript archive (torch.jit.save), not a "
                              "torch.save checkpoint")
    if not pickles:
        if names and all(member.endswith(".npy") for member in names):
            return None
        raise CheckpointError(f"load: {name} is a zip archive but not a checkpoint (it holds "
                              f"{names[:3]}, no data.pkl)")
    if len(pickles) > 1:
        raise CheckpointError(f"load: {name} holds several archives ({pickles})")
    return pickles[0][:-len("data.pkl")]


def _load_torch(archive, prefix, name, restore, encoding, mmap_path):
    records = {info.filename: info for info in archive.infolist()}
    order = archive.read(prefix + "byteorder") if prefix + "byteorder" in records else b"little"
    if order not in (b"little", b"big"):
        raise CheckpointError(f"load: {name} has an unknown byte order {order[:20]!r}")
    mapped = np.memmap(mmap_path, dtype=np.uint8, mode="c") if mmap_path else None
    storages = {}

    def persistent_load(kind, key, location, numel):
        dtype = np.dtype(np.uint16 if kind.dtype is torch_rebuild.BFLOAT16 else (
            kind.dtype or np.uint8))
        if key in storages:
            storage, first = storages[key]
            if first is not kind:
                raise CheckpointError(f"load: {name}: storage {key!r} is declared as both "
                                      f"{first} and {kind}")
            return storage
        record = records.get(f"{prefix}data/{key}")
        if record is None:
            raise CheckpointError(f"load: {name} is corrupt: storage {key!r} has no record "
                                  f"{prefix}data/{key}")
        nbytes = numel * dtype.itemsize
        _check_record(record, nbytes, archive, name)
        if mapped is not None and record.compress_type == zipfile.ZIP_STORED:
            start = _data_offset(archive, record)
            raw = mapped[start:start + nbytes]  # copy-on-write pages of the file
        else:
            raw = _read_record(archive, record, nbytes, name)
        array = np.frombuffer(raw, dtype=dtype.newbyteorder("<" if order == b"little" else ">"))
        if not array.dtype.isnative:
            array = array.astype(dtype)
        if kind.dtype is torch_rebuild.BFLOAT16:  # the top 16 bits of a float32: exact
            array = (array.astype(np.uint32) << 16).view(np.float32)
        storage = restore(torch_rebuild.Storage(array), location)
        storages[key] = (storage, kind)
        return storage

    pickled = records[prefix + "data.pkl"]
    _check_record(pickled, pickled.file_size, archive, name)
    data = _read_record(archive, pickled, pickled.file_size, name)
    return safe_pickle.RestrictedUnpickler(data, name, persistent_load, encoding).load()


def _check_record(record, nbytes, archive, name):
    """Refuse a record whose declared sizes cannot be true before allocating anything."""
    if record.file_size != nbytes:
        raise CheckpointError(f"load: {name} is corrupt: its record {record.filename} holds "
                              f"{record.file_size} bytes where the data declares {nbytes}")
    if record.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
        raise CheckpointError(f"load: {name}: the record {record.filename} is compressed in a "
                              "way PyTorch's files never are")
    limit = record.compress_size * (1 if record.compress_type == zipfile.ZIP_STORED else 1032)
    total = archive.fp.seek(0, io.SEEK_END)
    if nbytes > limit or record.compress_size > total:
        raise CheckpointError(f"load: {name} is corrupt or truncated: the record "
                              f"{record.filename} claims {nbytes} bytes from "
                              f"{record.compress_size} in a file of {total}")


def _read_record(archive, record, nbytes, name):
    buffer = bytearray(nbytes)  # writable, so the loaded tensors are
    view = memoryview(buffer)
    with archive.open(record) as member:
        filled = 0
        while filled < nbytes:
            got = member.readinto(view[filled:])
            if not got:
                raise CheckpointError(f"load: {name} is truncated: its record "
                                      f"{record.filename} ends after {filled} of {nbytes} bytes")
            filled += got
        member.read(1)  # at the end: the CRC is checked
    return buffer


def _data_offset(archive, record):
    archive.fp.seek(record.header_offset)
    header = archive.fp.read(30)
    name_length, extra_length = struct.unpack("<HH", header[26:30])
    return record.header_offset + 30 + name_length + extra_length


def _restorer(map_location):
    """``restore(storage, location) -> storage`` for ``map_location``, as in PyTorch."""
    if map_location is None or isinstance(map_location, (str, dict)):
        if isinstance(map_location, str):
            backend.parse_device(map_location)  # a wrong name fails before the file is read

        def restore(storage, location):
            if isinstance(map_location, dict):
                location = map_location.get(location, location)
            elif map_location is not None:
                location = map_location
            return _moved(storage, location)
        return restore
    if callable(map_location):
        def restore(storage, location):
            result = map_location(storage, location)
            if result is None:
                return _moved(storage, location)
            if isinstance(result, (str, backend.device)):
                return _moved(storage, result)
            if not isinstance(result, torch_rebuild.Storage):
                raise TypeError(f"load: map_location returned {type(result).__name__}; "
                                "expected a storage, a device or None")
            return result
        return restore
    raise TypeError(f"load: map_location must be a device, a dict or a function; got "
                    f"{type(map_location).__name__}")


def _moved(storage, location):
    try:
        device = backend.device(str(location))
    except ValueError:
        raise RuntimeError(f"load: the file holds tensors saved on {location!r}, a device "
                           "this library does not have; pass map_location='cpu'") from None
    if device.type == "cuda" and not backend.cuda_available():
        raise RuntimeError(f"load: the file holds tensors saved on {location!r}, and CUDA is "
                           "not available here; pass map_location='cpu' to load them on the "
                           "CPU")
    return storage.to(device)


def _tensor_at(array, restore):
    return Tensor(restore(torch_rebuild.Storage(array.reshape(-1)), "cpu").array.reshape(
        array.shape))


def _tensors_of(value, restore):
    """An ``nn.save`` tree with its arrays as Tensors."""
    if isinstance(value, Mapping):
        return {key: _tensors_of(item, restore) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_tensors_of(item, restore) for item in value)
    return _tensor_at(value, restore) if isinstance(value, np.ndarray) else value

