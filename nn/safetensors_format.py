"""The safetensors format: a flat dict of name -> tensor, no code and no pickle by design.

Contents: save, load (of the arrays), read_header; the pure-Python writer and reader used
without the package.

Layout: 8 bytes (little-endian u64) giving N, then N bytes of JSON (padded with spaces)
``{"name": {"dtype": "F32", "shape": [2, 3], "data_offsets": [begin, end]}, ...,
"__metadata__": {str: str}}``, then the data, each tensor's bytes little-endian and C-order
at ``begin:end`` of the data, the tensors covering it whole without holes or overlaps.

The well-kept ``safetensors`` package (the optional extra ``loopgrad[safetensors]``) writes and
reads the files when it is installed (``safetensors.numpy``). Without it, the small writer and
reader below do, checking every rule the package checks; the tests check each against the
other. BF16 tensors, which NumPy cannot hold, are read by the reader below in either case
and load as float32 (exactly).
"""

import json
from collections.abc import Mapping

import numpy as np

from engine import Tensor, backend
from nn.serialization import CheckpointError, describe, write_file

try:
    import safetensors.numpy as package
except ImportError:  # the optional extra is not installed
    package = None

DTYPES = {"BOOL": "bool", "U8": "uint8", "I8": "int8", "I16": "int16", "U16": "uint16",
          "F16": "float16", "I32": "int32", "U32": "uint32", "F32": "float32",
          "F64": "float64", "I64": "int64", "U64": "uint64", "C64": "complex64"}
CODES = {np.dtype(name): code for code, name in DTYPES.items()}
_MAX_HEADER = 100_000_000  # the package's limit


def save(obj, f, metadata=None, use_package=None):
    """Write the flat dict ``obj`` (str -> Tensor or array) to ``f`` (a path, atomically, or
    an open binary file). ``use_package`` (None: when installed) picks the writer."""
    if not isinstance(obj, Mapping):
        raise TypeError(f"save: a safetensors file holds a dict of name -> tensor; got "
                        f"{type(obj).__name__}")
    arrays = {}
    for key, value in obj.items():
        if not isinstance(key, str):
            raise TypeError(f"save: safetensors names are strings; got the key {key!r}")
        if isinstance(value, Tensor):
            value = value.array
        if not backend.is_array(value):
            what = "a nested dict" if isinstance(value, Mapping) else type(value).__name__
            raise TypeError(f"save: a safetensors file holds a flat dict of name -> tensor; "
                            f"{key!r} is {what} (save nested objects in PyTorch's format: a "
                            "path not ending in .safetensors)")
        array = np.require(backend.to_numpy(value), requirements="C")  # 0-d stays 0-d
        array = array.astype(array.dtype.newbyteorder("<"), copy=False)
        if np.dtype(array.dtype.str.lstrip("<>=|")) not in CODES:
            raise TypeError(f"save: safetensors has no dtype for {key!r} ({array.dtype})")
        arrays[key] = array
    if metadata is not None and not (isinstance(metadata, Mapping) and all(
            isinstance(k, str) and isinstance(v, str) for k, v in metadata.items())):
        raise TypeError("save: safetensors metadata is a dict of str -> str")
    use = package is not None if use_package is None else use_package
    data = package.save(arrays, metadata) if use else _serialize(arrays, metadata)
    write_file(f, lambda file: file.write(data))


def _serialize(arrays, metadata):
    """The file's bytes: largest alignment first, then by name, as the package orders them."""
    order = sorted(arrays, key=lambda k: (-arrays[k].dtype.itemsize, k))
    header, offset = {}, 0
    if metadata:
        header["__metadata__"] = dict(metadata)
    for key in order:
        array = arrays[key]
        header[key] = {"dtype": CODES[np.dtype(array.dtype.str.lstrip("<>=|"))],
                       "shape": list(array.shape), "data_offsets": [offset, offset + array.nbytes]}
        offset += array.nbytes
    text = json.dumps(header, separators=(",", ":")).encode("utf-8")
    text += b" " * (-len(text) % 8)
    return b"".join([len(text).to_bytes(8, "little"), text,
                     *(arrays[key].tobytes() for key in order)])


def read_header(data, name):
    """(entries in data order as (key, dtype code, shape, begin, end), metadata, data start),
    every rule of the format checked."""
    def bad(what):
        return CheckpointError(f"load: {name} is not a valid safetensors file: {what}")

    if len(data) < 8:
        raise bad("it is shorter than its 8-byte header length")
    n = int.from_bytes(data[:8], "little")
    if n > _MAX_HEADER or 8 + n > len(data):
        raise bad(f"its header claims {n} bytes and the file has {len(data) - 8} after it")
    try:
        header = json.loads(bytes(data[8:8 + n]).decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as error:
        raise bad(f"its header is not JSON ({error})") from None
    if not isinstance(header, dict):
        raise bad("its header is not a JSON object")
    metadata = header.pop("__metadata__", None)
    if metadata is not None and not (isinstance(metadata, dict) and all(
            isinstance(v, str) for v in metadata.values())):
        raise bad("its __metadata__ is not a dict of strings")
    entries = []
    for key, entry in header.items():
        if not isinstance(entry, dict) or set(entry) != {"dtype", "shape", "data_offsets"}:
            raise bad(f"the entry {key!r} is not {{dtype, shape, data_offsets}}")
        code, shape, offsets = entry["dtype"], entry["shape"], entry["data_offsets"]
        if code not in DTYPES and code != "BF16":
            raise bad(f"the entry {key!r} has the unknown dtype {code!r}")
        if not isinstance(shape, list) or not all(
                type(d) is int and d >= 0 for d in shape):
            raise bad(f"the entry {key!r} has the shape {shape!r}")
        if not (isinstance(offsets, list) and len(offsets) == 2 and all(
                type(o) is int and o >= 0 for o in offsets) and offsets[0] <= offsets[1]):
            raise bad(f"the entry {key!r} has the data offsets {offsets!r}")
        itemsize = 2 if code == "BF16" else np.dtype(DTYPES[code]).itemsize
        if int(np.prod(shape, dtype=object)) * itemsize != offsets[1] - offsets[0]:
            raise bad(f"the entry {key!r} of shape {shape} and dtype {code} spans "
                      f"{offsets[1] - offsets[0]} bytes")
        entries.append((key, code, tuple(shape), *offsets))
    entries.sort(key=lambda e: (e[3], e[4]))
    end = 0
    for key, _, _, begin, stop in entries:
        if begin != end:
            raise bad(f"the entry {key!r} starts at {begin} where the data before ends at {end}")
        end = stop
    if end != len(data) - 8 - n:
        raise bad(f"the tensors cover {end} bytes of a data section of {len(data) - 8 - n}")
    return entries, metadata, 8 + n


def load(file, name=None, use_package=None):
    """name -> NumPy array (writable) of a safetensors file (an open binary file), in the
    order of their data; CheckpointError naming the file for anything malformed."""
    name = name or describe(file)
    data = file.read()
    entries, _, start = read_header(data, name)
    use = package is not None if use_package is None else use_package
    if use and not any(code == "BF16" for _, code, *_ in entries):
        try:
            arrays = package.load(data)
        except Exception as error:  # noqa: BLE001 - SafetensorError and whatever it raises
            raise CheckpointError(f"load: {name} is not a valid safetensors file "
                                  f"({error})") from None
        return {key: arrays[key] for key, *_ in entries}
    arrays = {}
    for key, code, shape, begin, end in entries:
        raw = bytearray(data[start + begin:start + end])
        if code == "BF16":  # the top 16 bits of a float32
            array = (np.frombuffer(raw, dtype="<u2").astype(np.uint32) << 16).view(np.float32)
        else:
            array = np.frombuffer(raw, dtype=np.dtype(DTYPES[code]).newbyteorder("<"))
            array = array.astype(DTYPES[code], copy=False)
        arrays[key] = array.reshape(shape)
    return arrays
