"""Checkpoints: ``save`` and ``load`` nested dicts of arrays and numbers as one ``.npz`` file,
and the file handling every checkpoint format here shares.

Contents: CheckpointError; write_file (atomic, keeps the target's mode, through symlinks,
refuses read-only targets, or straight into an open file); sniff (what a file is, by its
first bytes); save / load of the ``.npz`` format.

The ``.npz`` format is NumPy's (a zip of ``.npy`` members), so ``numpy.load(path)`` reads it
anywhere and loading never runs code. Layout:

- Each leaf is one member, named by its path of keys joined with "/"::

      {"model": {"0.weight": w}, "optim": {"state": {0: {"exp_avg": m}},
       "param_groups": [{"lr": 0.1, "betas": (0.9, 0.999)}]}, "step": 7}

  gives the members ``model/0.weight``, ``optim/state/0/exp_avg``,
  ``optim/param_groups/0/lr``, ``optim/param_groups/0/betas/0``, ... and ``step``.
- Arrays are stored as they are (copied from the GPU where needed). A Python bool, int or
  float and a NumPy number become a 0-d array (an int beyond int64, such as a PCG64
  generator's state, is stored as its decimal digits); a str becomes the uint8 array of its
  UTF-8 bytes (so trailing NUL characters survive, which NumPy's own strings drop).
- The member ``__structure__`` holds UTF-8 JSON (as a uint8 array) describing the tree:
  which containers are dicts, lists or tuples, every key as it was (an int key stays an
  int), which leaves were Python scalars and which were None. ``load`` follows it to return
  the same nested structure. Version 1 files (strings as NumPy strings) still load.

Keys must be str or int, without "/" (or NUL); the top level must be a dict.

Writing (``write_file``, for every format): to a path, the file is written to a temporary
file beside its target, fsynced and renamed over it (``os.replace``), so a crash leaves
either the old file or the new one, never half of one, and any error or interrupt removes
the temporary file. The new file gets the old one's mode (a 0600 file stays 0600) and, where
the writer may, its owner; a new file gets the mode ``open()`` would give it. A symlink is
written through: its target gets the new data and the link stays a link. A target the user
could not write raises PermissionError naming it, as ``torch.save`` does; root can write
anything, so a file with no write bit at all (0444) is refused for root too, since the rename
would otherwise replace it silently. An existing target that is not a regular file (a FIFO,
``/dev/null``) is opened and written in place, as ``open()`` would. A hard-linked target is
replaced under this name only (the rename gives it a new inode). To an open binary file
object the bytes go straight into it at its position: no atomic rename is possible there.
"""

import contextlib
import errno
import io
import json
import os
import pickle
import secrets
import stat
import zipfile
from collections.abc import Mapping

import numpy as np

from engine import Tensor, backend

_STRUCTURE = "__structure__"
_FORMAT = "loopgrad-checkpoint"
_VERSION = 2
_READS = (1, 2)  # version 1 stored strings as NumPy strings
_INT64 = np.iinfo(np.int64)


class CheckpointError(ValueError, pickle.UnpicklingError):
    """A file that is not a checkpoint this library can read, or one that is corrupt, or
    one whose content is refused (a global that is not allowed). The message names the file
    and what is wrong. It is a ValueError, and the ``pickle.UnpicklingError`` that
    ``torch.load`` raises for a refused file, so code catching either keeps working."""


# ---------------------------------------------------------------- files


def is_file_object(f):
    return hasattr(f, "write") or hasattr(f, "read")


def describe(f):
    """How error messages name ``f``: its path, or the file object's name."""
    if is_file_object(f):
        name = getattr(f, "name", None)
        return repr(name) if isinstance(name, str) else f"the file object {type(f).__name__}"
    return repr(os.fsdecode(os.fspath(f)))


def write_file(f, write, who="save"):
    """Call ``write(binary_file)`` to make the file ``f``: atomically for a path (see the
    module docstring), directly into ``f`` when it is an open binary file object."""
    if is_file_object(f):
        mode = getattr(f, "mode", "b")
        if isinstance(f, io.TextIOBase) or isinstance(mode, str) and "b" not in mode:
            raise TypeError(f"{who}: {describe(f)} is open in text mode; open it with 'wb'")
        write(f)
        if hasattr(f, "flush"):
            f.flush()
        return
    path = os.fsdecode(os.fspath(f))
    target = os.path.realpath(path) if os.path.islink(path) else path  # write through links
    try:
        status = os.stat(target)
    except FileNotFoundError:
        status = None
    if status is not None:
        if stat.S_ISDIR(status.st_mode):
            raise IsADirectoryError(errno.EISDIR, f"{who}: is a folder, not a file", path)
        read_only = stat.S_ISREG(status.st_mode) and not status.st_mode & 0o222  # even for root
        if read_only or not os.access(target, os.W_OK):
            raise PermissionError(errno.EACCES, f"{who}: permission denied (the file is not "
                                  "writable)", path)
    if status is not None and not stat.S_ISREG(status.st_mode):
        with open(target, "wb") as file:  # a FIFO or a device: written in place, as open()
            write(file)
        return
    _replace_atomically(target, status, write, who)


def _replace_atomically(target, status, write, who):
    folder = os.path.dirname(os.path.abspath(target))
    temporary = os.path.join(folder, f".{os.path.basename(target)}.{secrets.token_hex(4)}.tmp")
    try:
        # 0600 while the data is written when a mode is to be copied; else open()'s mode
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL,
                             0o666 if status is None else 0o600)
    except PermissionError as error:
        raise PermissionError(errno.EACCES, f"{who}: cannot create the temporary file the "
                              f"atomic write needs in the folder {folder!r}", target) from error
    except FileNotFoundError:
        raise FileNotFoundError(errno.ENOENT, f"{who}: the folder does not exist",
                                folder) from None
    try:
        with open(descriptor, "wb") as file:
            if status is not None:
                os.chmod(descriptor, stat.S_IMODE(status.st_mode))
                if (status.st_uid, status.st_gid) != (os.geteuid(), os.getegid()):
                    with contextlib.suppress(OSError):  # only root may give a file away
                        os.chown(descriptor, status.st_uid, status.st_gid)
            write(file)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise
    if hasattr(os, "O_DIRECTORY"):  # make the rename itself durable (POSIX)
        descriptor = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
        try:
            os.fsync(descriptor)
        finally:
            os.close(descriptor)


@contextlib.contextmanager
def open_for_reading(f):
    """A seekable binary file for ``f`` (a path, or a file object, read whole if it cannot
    seek); a missing path raises FileNotFoundError as ``open`` does."""
    if not is_file_object(f):
        with open(os.fspath(f), "rb") as file:
            yield file
        return
    if isinstance(f, io.TextIOBase):
        raise TypeError(f"load: {describe(f)} is open in text mode; open it with 'rb'")
    seekable = getattr(f, "seekable", lambda: False)()
    yield f if seekable else io.BytesIO(f.read())


def sniff(file):
    """What the seekable binary ``file`` holds, by its first bytes (read at its position,
    which is restored): 'empty', 'zip', 'npy', 'safetensors', 'torch-legacy', 'pickle' or
    'unknown'; and those first bytes."""
    start = file.tell()
    head = file.read(16)
    file.seek(start)
    if not head:
        return "empty", head
    if head[:4] in (b"PK\x03\x04", b"PK\x05\x06"):
        return "zip", head
    if head[:6] == b"\x93NUMPY":
        return "npy", head
    if head[:2] == b"\x80\x02" and head[2:3] == b"\x8a":  # torch's legacy magic number, a long
        return "torch-legacy", head
    if head[:1] == b"\x80" and head[1:2] in (b"\x02", b"\x03", b"\x04", b"\x05"):
        return "pickle", head
    if len(head) >= 9 and head[8:9] == b"{" and int.from_bytes(head[:8], "little") < 2**27:
        return "safetensors", head
    return "unknown", head


def not_a_checkpoint(name, kind, head, reader="load"):
    """The CheckpointError for a file of ``kind`` that ``reader`` cannot read."""
    what = {
        "empty": "is empty",
        "npy": "is a single NumPy array (.npy), not a checkpoint; read it with numpy.load",
        "torch-legacy": "is in PyTorch's legacy format (before PyTorch 1.6), which is not read "
                        "here; re-save it with a recent torch.save",
        "pickle": "is a bare Python pickle, not a checkpoint; only the formats of torch.save, "
                  "safetensors and nn.save load here",
        "zip": "is a zip archive but not a checkpoint",
    }.get(kind, f"is not a checkpoint (it starts with {head[:12]!r})")
    return CheckpointError(f"{reader}: {name} {what}")


# ---------------------------------------------------------------- save and load (.npz)


def save(obj, f):
    """Write a dict (of dicts, lists, tuples, arrays, numbers, strings, None) to ``f``, a path
    (atomically) or an open binary file.

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
    tree = _encode(obj, (), members)  # every refusal comes before the file is touched
    meta = json.dumps({"format": _FORMAT, "version": _VERSION, "tree": tree}).encode("utf-8")
    members[_STRUCTURE] = np.frombuffer(meta, dtype=np.uint8)
    write_file(f, lambda file: _write_npz(file, members))


def load(f):
    """Read a file written by ``save`` (a path or an open binary file): the same nested
    structure, arrays as NumPy arrays. A plain ``.npz`` written by NumPy gives a flat dict of
    name -> array. Anything else raises CheckpointError naming the file and what it is."""
    name = describe(f)
    with open_for_reading(f) as file:
        kind, head = sniff(file)
        if kind != "zip":
            raise not_a_checkpoint(name, kind, head, "load")
        try:
            with zipfile.ZipFile(file) as archive:
                return _read_npz(archive, name)
        except CheckpointError:
            raise
        except (zipfile.BadZipFile, EOFError, OSError, ValueError, KeyError, TypeError,
                RecursionError, MemoryError) as error:
            raise CheckpointError(f"load: {name} is truncated or corrupt ({error})") from None


def _read_npz(archive, name):
    names = archive.namelist()
    if any(member.endswith("/data.pkl") for member in names):
        raise CheckpointError(f"load: {name} is a PyTorch checkpoint (torch.save's format); "
                              "read it with nn.torch_format.load")
    strangers = [member for member in names if not member.endswith(".npy")]
    if strangers:
        raise CheckpointError(f"load: {name} is a zip archive but not a checkpoint: its "
                              f"members are not all .npy arrays (found {strangers[:3]})")

    def member(key):
        try:
            with archive.open(key + ".npy") as raw:
                return np.lib.format.read_array(raw, allow_pickle=False)
        except KeyError:
            raise CheckpointError(f"load: {name} is corrupt: its structure names the member "
                                  f"{key!r}, which is missing") from None
        except ValueError as error:
            if "Object arrays" in str(error):
                raise CheckpointError(f"load: {name}: the member {key!r} holds Python objects, "
                                      "which a checkpoint never contains") from None
            raise

    if _STRUCTURE + ".npy" not in names:
        return {key[:-4]: member(key[:-4]) for key in names}
    try:
        meta = json.loads(member(_STRUCTURE).tobytes().decode("utf-8"))
        found = (meta.get("format"), meta.get("version"))
    except (ValueError, AttributeError):
        raise CheckpointError(f"load: {name} is corrupt: its {_STRUCTURE} is not the JSON "
                              "a checkpoint holds") from None
    if found[0] != _FORMAT or found[1] not in _READS:
        raise CheckpointError(f"load: {name} is not a {_FORMAT} of a version read here "
                              f"(found {found[0]!r} version {found[1]!r}; versions "
                              f"{list(_READS)} are read)")
    try:
        return _decode(meta["tree"], member)
    except (KeyError, TypeError, ValueError, IndexError, UnicodeDecodeError) as error:
        if isinstance(error, CheckpointError):
            raise
        raise CheckpointError(f"load: {name} is corrupt: its {_STRUCTURE} does not describe "
                              f"a checkpoint ({type(error).__name__}: {error})") from None


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
    if isinstance(value, str):  # UTF-8 bytes: NumPy's own strings drop trailing NULs
        return np.frombuffer(value.encode("utf-8", "surrogatepass"), dtype=np.uint8), "str"
    if isinstance(value, np.generic) and value.dtype.kind in "biufcmM":
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


def _decode(node, member):
    if node is None:
        return None
    if "dict" in node:
        return {key: _decode(item, member) for key, item in node["dict"]}
    if "list" in node:
        return [_decode(item, member) for item in node["list"]]
    if "tuple" in node:
        return tuple(_decode(item, member) for item in node["tuple"])
    array, kind = member(node["leaf"]), node["as"]
    if kind == "array":
        return array
    if kind == "scalar":
        return array[()]
    if kind == "str" and array.dtype == np.uint8:
        return array.tobytes().decode("utf-8", "surrogatepass")
    return {"bool": bool, "int": int, "float": float, "str": str}[kind](array[()])


def _write_npz(file, members):
    """The .npz format (as ``numpy.savez``), member by member, never pickling."""
    with zipfile.ZipFile(file, mode="w", compression=zipfile.ZIP_STORED, allowZip64=True) as zf:
        for name, array in members.items():
            with zf.open(name + ".npy", mode="w", force_zip64=True) as member:
                np.lib.format.write_array(member, np.asarray(array), allow_pickle=False)
