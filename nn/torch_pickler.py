"""The pickle inside PyTorch's checkpoints, written opcode by opcode (protocol 2), with
PyTorch's own globals for tensors, dtypes, sizes and devices, so that ``torch.load(...,
weights_only=True)`` reads it without this library installed. What each value becomes is
listed in ``nn.torch_format``'s docstring.

Contents: Writer.
"""

import io
import struct
import types
from collections import Counter, OrderedDict

import numpy as np

from engine import Size, Tensor, backend
from engine import random as engine_random
from nn import safe_pickle, torch_rebuild
from nn.module import Module, Parameter

_STORAGE_NAMES = {np.dtype(dtype): name for name, dtype in torch_rebuild.STORAGES.items()
                  if dtype is not torch_rebuild.BFLOAT16}
_UNTYPED_DTYPES = {np.dtype(name): name for name in ("uint16", "uint32", "uint64")}
_TORCH_DTYPE_NAMES = {np.dtype(name): name for name in (
    "float32", "float64", "float16", "int64", "int32", "int16", "int8", "uint8", "bool",
    "uint16", "uint32", "uint64", "complex64", "complex128")}


class Writer:
    """Pickle protocol 2, written opcode by opcode: PyTorch's globals for tensors and dtypes,
    every storage collected in ``storages``, nothing of this library's in a tensor's data."""

    def __init__(self):
        self.out = io.BytesIO()
        self.memo = {}  # id(obj) -> memo index
        self.alive = []  # the objects memoized, so their ids stay theirs
        self.storages = []
        self.globals = {}

    def dump(self, obj):
        self.out.write(b"\x80\x02")
        self.save(obj, "")
        self.out.write(b".")
        return self.out.getvalue()

    # -- opcodes
    def put(self, obj):
        index = len(self.memo)
        self.memo[id(obj)] = index
        self.alive.append(obj)
        self.out.write(b"q" + bytes([index]) if index < 256 else b"r" + struct.pack("<I", index))

    def get(self, index):
        self.out.write(b"h" + bytes([index]) if index < 256 else b"j" + struct.pack("<I", index))

    def global_(self, path):
        module, _, name = path.rpartition(".")
        if path in self.globals:
            return self.get(self.globals[path])
        self.out.write(b"c" + module.encode() + b"\n" + name.encode() + b"\n")
        self.globals[path] = len(self.memo)
        self.put(object())  # a memo slot for the global (its key is never looked up)

    def call(self, path, args, where):
        """``path(*args)``: GLOBAL, the argument tuple, REDUCE."""
        self.global_(path)
        self.save(tuple(args), where)
        self.out.write(b"R")

    def save(self, obj, where):
        if obj is None or obj is True or obj is False:
            self.out.write({None: b"N", True: b"\x88", False: b"\x89"}[obj])
        elif type(obj) is int:
            self.save_int(obj)
        elif type(obj) is float:
            self.out.write(b"G" + struct.pack(">d", obj))
        elif isinstance(obj, str) and not isinstance(obj, backend.device):
            data = str(obj).encode("utf-8", "surrogatepass")
            self.out.write(b"X" + struct.pack("<I", len(data)) + data)
        elif id(obj) in self.memo:
            self.get(self.memo[id(obj)])
        elif isinstance(obj, tuple) and not isinstance(obj, Size):
            self.save_tuple(obj, where)
        else:
            self.save_object(obj, where)

    def save_int(self, value):
        if 0 <= value < 256:
            self.out.write(b"K" + bytes([value]))
        elif 0 <= value < 65536:
            self.out.write(b"M" + struct.pack("<H", value))
        elif -2**31 <= value < 2**31:
            self.out.write(b"J" + struct.pack("<i", value))
        else:
            data = value.to_bytes((value.bit_length() + 8) // 8, "little", signed=True)
            self.out.write(b"\x8a" + bytes([len(data)]) + data)

    def save_tuple(self, obj, where):
        if not obj:
            return self.out.write(b")")
        if len(obj) > 3:
            self.out.write(b"(")
        for i, item in enumerate(obj):
            self.save(item, f"{where}[{i}]")
        if id(obj) in self.memo:  # the tuple holds itself through a list or dict
            self.out.write(b"1" if len(obj) > 3 else b"0" * len(obj))
            return self.get(self.memo[id(obj)])
        self.out.write(b"t" if len(obj) > 3 else bytes([0x84 + len(obj)]))
        self.put(obj)

    def save_items(self, pairs, where, op):
        """MARK ... SETITEMS (op b'u') or APPENDS (b'e') in batches of 1000."""
        pairs = list(pairs)
        for start in range(0, len(pairs), 1000):
            self.out.write(b"(")
            for item in pairs[start:start + 1000]:
                if op == b"u":
                    self.save(item[0], where)
                    self.save(item[1], f"{where}[{item[0]!r}]")
                else:
                    self.save(item, where)
            self.out.write(op)

    def save_object(self, obj, where):
        kind = type(obj)
        if kind is list:
            self.out.write(b"]")
            self.put(obj)
            self.save_items(obj, where, b"e")
        elif kind is dict or kind is OrderedDict:
            if kind is dict:
                self.out.write(b"}")
            else:
                self.call("collections.OrderedDict", (), where)
            self.put(obj)
            self.save_items(obj.items(), where, b"u")
            if kind is OrderedDict and vars(obj):  # a PyTorch state dict's _metadata
                self.save(dict(vars(obj)), where)
                self.out.write(b"b")
        elif kind is Counter:
            self.call("collections.Counter", (dict(obj),), where)
            self.put(obj)
        elif kind in (set, frozenset):
            self.call(f"builtins.{kind.__name__}", (list(obj),), where)
            self.put(obj)
        elif kind is complex:
            self.call("builtins.complex", (obj.real, obj.imag), where)
        elif kind is bytes:
            self.call("_codecs.encode", (obj.decode("latin1"), "latin1"), where)
        elif kind is bytearray:
            self.call("builtins.bytearray", (obj.decode("latin1"), "latin-1"), where)
            self.put(obj)
        elif isinstance(obj, Size):
            self.call("torch.Size", (tuple(int(n) for n in obj),), where)
        elif isinstance(obj, backend.device):
            kind = str.__str__(obj).partition(":")[0]  # a plain str, never a device
            self.call("torch.device", (kind,) if obj.index is None else (kind, obj.index), where)
        elif isinstance(obj, np.dtype):
            if obj not in _TORCH_DTYPE_NAMES:
                raise TypeError(f"save: the dtype {obj} at {where or 'the top'} has no torch "
                                "dtype")
            self.global_(f"torch.{_TORCH_DTYPE_NAMES[obj]}")
        elif isinstance(obj, np.generic) and obj.dtype.kind in "biufc":
            self.save(obj.item(), where)  # a NumPy scalar: a Python number
        elif isinstance(obj, Tensor) or backend.is_array(obj):
            self.save_tensor(obj, where)
        elif isinstance(obj, Module):
            self.save_module(obj, where)
        elif isinstance(obj, np.random.Generator):
            self.call("nn.torch_rebuild._rebuild_numpy_generator", (
                obj.bit_generator.state["bit_generator"], obj.bit_generator.state), where)
            self.put(obj)
        elif isinstance(obj, engine_random.Generator):
            self.call("nn.torch_rebuild._rebuild_engine_generator",
                      (str(obj.device), obj.initial_seed(), obj.rng), where)
            self.put(obj)
        elif isinstance(obj, (types.FunctionType, types.BuiltinFunctionType, type)):
            path = safe_pickle.path_of(obj) if isinstance(obj, type) else safe_pickle.own_path(obj)
            if "<" in path:
                raise TypeError(f"save: cannot store {obj!r} at {where or 'the top'}: a lambda "
                                "or local function or class has no import path")
            self.global_(path)
        else:
            self.save_plain(obj, where)

    def save_tensor(self, obj, where):
        parameter = isinstance(obj, Parameter)
        requires_grad = bool(obj.requires_grad) if isinstance(obj, Tensor) else False
        array = obj.array if isinstance(obj, Tensor) else obj
        location = str(backend.device_of(array))
        array = np.require(backend.to_numpy(array), requirements="C")  # 0-d stays 0-d
        if array.dtype.byteorder == ">":
            array = array.astype(array.dtype.newbyteorder("<"))
        dtype = np.dtype(array.dtype.str.lstrip("<>=|"))
        if dtype not in _STORAGE_NAMES and dtype not in _UNTYPED_DTYPES:
            raise TypeError(f"save: a {dtype} array at {where or 'the top'} has no torch dtype")
        key = str(len(self.storages))
        self.storages.append(array.reshape(-1))
        stride, step = [], 1
        for n in reversed(array.shape):  # PyTorch's contiguous strides (in elements)
            stride.insert(0, step)
            step *= max(n, 1)
        if parameter:
            self.global_("torch._utils._rebuild_parameter")
        untyped = dtype in _UNTYPED_DTYPES
        self.global_("torch._utils._rebuild_tensor_v3" if untyped
                     else "torch._utils._rebuild_tensor_v2")
        self.out.write(b"(")
        self.out.write(b"(")
        self.save("storage", where)
        self.global_("torch.storage.UntypedStorage" if untyped
                     else f"torch.{_STORAGE_NAMES[dtype]}")
        self.save(key, where)
        self.save(location, where)
        self.save(array.nbytes if untyped else array.size, where)
        self.out.write(b"tQ")  # the persistent id
        self.save(0, where)
        self.save(tuple(int(n) for n in array.shape), where)
        self.save(tuple(stride), where)
        self.save(requires_grad and not parameter, where)
        self.call("collections.OrderedDict", (), where)
        if untyped:
            self.global_(f"torch.{_UNTYPED_DTYPES[dtype]}")
        self.out.write(b"tR")
        if parameter:
            self.save(requires_grad, where)
            self.call("collections.OrderedDict", (), where)
            self.out.write(b"\x87R")
        self.put(obj)

    def save_module(self, module, where):
        self.global_(safe_pickle.path_of(type(module)))
        self.out.write(b")\x81")
        self.put(module)
        registries = ("_parameters", "_buffers", "_modules")
        registered = {name for registry in registries for name in getattr(module, registry)}
        state = {"training": module.training}
        state.update((registry, dict(getattr(module, registry))) for registry in registries)
        state.update((key, value) for key, value in vars(module).items()
                     if key not in registered and key not in state)
        self.save(state, f"{where}.{type(module).__name__}" if where else type(module).__name__)
        self.out.write(b"b")

    def save_plain(self, obj, where):
        kind = type(obj)
        plain = (hasattr(obj, "__dict__") and not hasattr(kind, "__slots__")
                 and kind.__reduce_ex__ is object.__reduce_ex__
                 and kind.__reduce__ is object.__reduce__
                 and getattr(kind, "__getstate__", object.__getstate__) is object.__getstate__)
        if not plain or "<" in kind.__qualname__:
            raise TypeError(f"save: cannot store {kind.__name__} at {where or 'the top'}: "
                            "use tensors, arrays, numbers, strings, None, containers, Modules "
                            "and objects with a plain __dict__")
        self.global_(safe_pickle.path_of(kind))
        self.out.write(b")\x81")
        self.put(obj)
        self.save(dict(vars(obj)), where)
        self.out.write(b"b")
