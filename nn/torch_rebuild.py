"""What the names in a PyTorch checkpoint's pickle stand for here: storages, the tensor-
rebuilding functions (``torch._utils._rebuild_tensor_v2`` and its kin), the plain values a
checkpoint may hold (``OrderedDict``, ``torch.Size``, bytes, ...), random generators, and the
rebuilding of a Module from its state. Every function checks the arguments a file gives it;
``nn.safe_pickle`` decides which of them a file may reach.

Contents: Storage, StorageType, rebuild_tensor (v1, v2, v3), rebuild_parameter,
rebuild_from_type_v2, CALLABLES, VALUES, build_module.
"""

from collections import Counter, OrderedDict

import numpy as np

from engine import Size, Tensor, backend
from engine import random as engine_random
from nn.module import Module, Parameter
from nn.serialization import CheckpointError

# ---------------------------------------------------------------- storages and tensors


class Storage:
    """One storage of a checkpoint: its elements as a 1-d array (NumPy; CuPy once moved), with
    the methods of PyTorch's storages that ``map_location`` functions call."""

    def __init__(self, array):
        self.array = array

    device = property(lambda self: backend.device_of(self.array))
    dtype = property(lambda self: self.array.dtype)

    def size(self):
        return self.array.shape[0]

    def nbytes(self):
        return self.array.nbytes

    def to(self, device):
        return Storage(backend.to_device(self.array, device))

    def cpu(self):
        return self.to("cpu")

    def cuda(self, device=None):
        return self.to("cuda" if device is None else backend.device(device))

    def __repr__(self):
        return f"Storage(dtype={self.dtype}, size={self.size()}, device={self.device!r})"


class StorageType:
    """What a file's ``torch.FloatStorage`` (and the like) stands for: the element dtype
    (None for ``torch.UntypedStorage``, whose elements are bytes)."""

    def __init__(self, name, dtype):
        self.name, self.dtype = name, dtype

    def __repr__(self):
        return f"torch.{self.name}"


BFLOAT16 = "bfloat16"  # no NumPy dtype: such storages load as float32 (exact)

STORAGES = {"FloatStorage": np.float32, "DoubleStorage": np.float64,
            "HalfStorage": np.float16, "BFloat16Storage": BFLOAT16, "LongStorage": np.int64,
            "IntStorage": np.int32, "ShortStorage": np.int16, "CharStorage": np.int8,
            "ByteStorage": np.uint8, "BoolStorage": np.bool_,
            "ComplexFloatStorage": np.complex64, "ComplexDoubleStorage": np.complex128}
STORAGE_TYPES = {name: StorageType(name, dtype if dtype is BFLOAT16 else np.dtype(dtype))
                 for name, dtype in STORAGES.items()}
UNTYPED = StorageType("UntypedStorage", None)

DTYPES = {  # torch's dtype names that NumPy has
    "float32": "float32", "float": "float32", "float64": "float64", "double": "float64",
    "float16": "float16", "half": "float16", "int64": "int64", "long": "int64",
    "int32": "int32", "int": "int32", "int16": "int16", "short": "int16", "int8": "int8",
    "uint8": "uint8", "bool": "bool", "uint16": "uint16", "uint32": "uint32",
    "uint64": "uint64", "complex64": "complex64", "cfloat": "complex64",
    "complex128": "complex128", "cdouble": "complex128",
}


def _ints(value, what):
    if not isinstance(value, (tuple, list)) or not all(
            isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in value):
        raise CheckpointError(f"{what} must be a tuple of non-negative ints; got {value!r}")
    return tuple(value)


def _view(storage, offset, size, stride, dtype=None):
    """The tensor ``_rebuild_tensor`` makes: ``size`` elements of ``storage`` at ``offset`` with
    ``stride`` (in elements), a view sharing the storage's memory as in PyTorch, read-only
    where its elements overlap (an ``expand``-ed tensor), so no shape a file declares costs
    memory beyond the storage it brought."""
    if not isinstance(storage, Storage):
        raise CheckpointError(f"a tensor's storage must come from the file; got "
                              f"{type(storage).__name__}")
    size, stride = _ints(size, "a tensor's size"), _ints(stride, "a tensor's stride")
    if not isinstance(offset, int) or isinstance(offset, bool) or offset < 0:
        raise CheckpointError(f"a tensor's storage offset must be an int >= 0; got {offset!r}")
    if len(size) != len(stride):
        raise CheckpointError(f"a tensor's size {size} and stride {stride} differ in length")
    array = storage.array
    if dtype is not None:  # _rebuild_tensor_v3: bytes seen as dtype
        if array.shape[0] % dtype.itemsize:
            raise CheckpointError(f"a storage of {array.shape[0]} bytes does not hold whole "
                                  f"{dtype} elements")
        array = array.view(dtype)
    numel = int(np.prod(size, dtype=object)) if size else 1
    length = array.shape[0]
    if numel == 0:
        if offset > length:
            raise CheckpointError(f"a tensor's storage offset {offset} is past the end of its "
                                  f"storage of {length} elements")
        return backend.xp_of(array).zeros(size, dtype=array.dtype)
    last = offset + sum((n - 1) * s for n, s in zip(size, stride))
    if last >= length:
        raise CheckpointError(f"a tensor of size {size}, stride {stride} at offset {offset} "
                              f"reaches element {last} of a storage of {length} elements")
    xp = backend.xp_of(array)
    itemsize = array.dtype.itemsize
    view = xp.lib.stride_tricks.as_strided(array[offset:], shape=size,
                                           strides=tuple(s * itemsize for s in stride))
    extent = 1  # elements spanned by the dims so far, smallest stride first
    for n, s in sorted(((n, s) for n, s in zip(size, stride) if n > 1), key=lambda p: p[1]):
        if s < extent and isinstance(view, np.ndarray):
            view.flags.writeable = False  # elements overlap: writing one would change others
            break
        extent = s * (n - 1) + extent
    return view


def _tensor(array, requires_grad):
    if not isinstance(requires_grad, bool):
        raise CheckpointError(f"requires_grad must be a bool; got {requires_grad!r}")
    if requires_grad and array.dtype.kind not in "fc":
        raise CheckpointError(f"a {array.dtype} tensor cannot require grad")
    return Tensor(array, requires_grad=requires_grad)


def _apply_metadata(array, metadata):
    if metadata is None or metadata == {}:
        return array
    if not isinstance(metadata, dict) or not set(metadata) <= {"conj", "neg"}:
        raise CheckpointError(f"unknown tensor metadata {metadata!r}")
    if metadata.get("neg"):
        array = -array
    if metadata.get("conj"):
        array = array.conj()
    return array


def rebuild_tensor(storage, storage_offset, size, stride):
    return _tensor(_view(storage, storage_offset, size, stride), False)


def rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad, backward_hooks,
                      metadata=None):
    array = _apply_metadata(_view(storage, storage_offset, size, stride), metadata)
    return _tensor(array, requires_grad)  # backward hooks are never saved with data: dropped


def rebuild_tensor_v3(storage, storage_offset, size, stride, requires_grad, backward_hooks,
                      dtype, metadata=None):
    if not isinstance(dtype, np.dtype):
        raise CheckpointError(f"_rebuild_tensor_v3 needs a dtype; got {dtype!r}")
    if storage.array.dtype != np.uint8:
        raise CheckpointError("_rebuild_tensor_v3 needs an untyped storage")
    array = _apply_metadata(_view(storage, storage_offset, size, stride, dtype), metadata)
    return _tensor(array, requires_grad)


def rebuild_parameter(data, requires_grad, backward_hooks):
    if not isinstance(data, Tensor) or not isinstance(requires_grad, bool):
        raise CheckpointError(f"_rebuild_parameter needs a tensor and a bool; got "
                              f"{type(data).__name__}, {requires_grad!r}")
    if requires_grad and data.dtype.kind not in "fc":
        raise CheckpointError(f"a {data.dtype} Parameter cannot require grad")
    return Parameter(data, requires_grad=requires_grad)


def _empty_state(state):
    return state is None or state == {} or (
        isinstance(state, tuple) and all(part is None or part == {} for part in state))


def rebuild_parameter_with_state(data, requires_grad, backward_hooks, state):
    if not _empty_state(state):
        raise CheckpointError(f"a Parameter with Python attributes ({state!r}) cannot be "
                              "rebuilt here")
    return rebuild_parameter(data, requires_grad, backward_hooks)


class TorchTensorType:
    """What a file's ``torch.Tensor`` stands for (only as ``_rebuild_from_type_v2``'s type)."""


class TorchParameterType:
    """What a file's ``torch.nn.parameter.Parameter`` stands for."""


def rebuild_from_type_v2(func, new_type, args, state):
    if func not in (rebuild_tensor, rebuild_tensor_v2, rebuild_tensor_v3, rebuild_parameter):
        raise CheckpointError(f"_rebuild_from_type_v2 may only rebuild tensors; got {func!r}")
    if new_type not in (TorchTensorType, TorchParameterType) or not isinstance(args, tuple):
        raise CheckpointError(f"_rebuild_from_type_v2 of {new_type!r} (a tensor subclass) "
                              "cannot be rebuilt here")
    if not _empty_state(state):
        raise CheckpointError(f"a tensor with Python attributes ({state!r}) cannot be rebuilt "
                              "here")
    tensor = func(*args)
    if new_type is TorchParameterType and not isinstance(tensor, Parameter):
        tensor = Parameter(tensor, requires_grad=tensor.requires_grad)
    return tensor


# ---------------------------------------------------------------- plain values


def _make_from(kind, accepted, what):
    """A rebuild of ``kind`` that takes nothing or one value of the ``accepted`` types."""
    def make(*args):
        if args and not (len(args) == 1 and isinstance(args[0], accepted)):
            raise CheckpointError(f"{kind.__name__} takes one {what}; got {args!r}")
        return kind(*args)
    return make


def _make_dict(kind):
    return _make_from(kind, (list, tuple, dict), "list or dict")


def _make_collection(kind):
    return _make_from(kind, (list, tuple, set), "list")


def _bytes_of(text, encoding="latin1"):
    """``_codecs.encode``, as protocol 2 writes bytes: only str in latin-1 (or UTF-8)."""
    if not isinstance(text, str) or encoding not in ("latin1", "latin-1", "utf-8", "utf8"):
        raise CheckpointError(f"_codecs.encode takes a str and 'latin1'; got {text!r:.40}, "
                              f"{encoding!r:.40}")
    return text.encode(encoding)


def _make_bytearray(*args):
    if args == ():
        return bytearray()
    if len(args) == 1 and isinstance(args[0], (bytes, list)):  # never an int: a size
        if isinstance(args[0], list) and not all(isinstance(b, int) for b in args[0]):
            raise CheckpointError("bytearray takes a list of ints")
        return bytearray(args[0])
    if len(args) == 2 and isinstance(args[0], str):
        return bytearray(_bytes_of(args[0], args[1]))
    raise CheckpointError(f"bytearray takes bytes or (str, 'latin-1'); got {args!r:.80}")


def _make_complex(*args):
    if not 1 <= len(args) <= 2 or not all(
            isinstance(a, (int, float)) and not isinstance(a, bool) for a in args):
        raise CheckpointError(f"complex takes one or two numbers; got {args!r:.80}")
    return complex(*args)


def _make_size(*args):
    if len(args) != 1:
        raise CheckpointError(f"torch.Size takes one tuple; got {args!r:.80}")
    return Size(_ints(args[0], "torch.Size"))


def _make_device(*args):
    if not 1 <= len(args) <= 2 or not isinstance(args[0], str) or (
            len(args) == 2 and not isinstance(args[1], (int, type(None)))):
        raise CheckpointError(f"torch.device takes a name and an index; got {args!r:.80}")
    name = args[0] if len(args) == 1 or args[1] is None else f"{args[0]}:{args[1]}"
    try:
        return backend.device(name)
    except ValueError:
        return name  # a device this library does not have ('mps'), kept as its name


def _rebuild_numpy_generator(bit_generator, state):
    """A ``numpy.random.Generator`` saved by ``save`` (a layer's ``rng``), by its state."""
    if bit_generator not in ("PCG64", "PCG64DXSM", "MT19937", "Philox", "SFC64") or not (
            isinstance(state, dict)):
        raise CheckpointError(f"unknown random generator {bit_generator!r}")
    state = _arrays_of(state)
    generator = getattr(np.random, bit_generator)()
    try:
        generator.state = state
    except (TypeError, ValueError, KeyError) as error:
        raise CheckpointError(f"a {bit_generator} state that NumPy refuses ({error})") from None
    return np.random.Generator(generator)


def _arrays_of(value):
    if isinstance(value, dict):
        return {key: _arrays_of(item) for key, item in value.items()}
    return value.numpy() if isinstance(value, Tensor) else value


def _rebuild_engine_generator(device, seed, rng):
    if not isinstance(rng, np.random.Generator) or not isinstance(seed, int):
        raise CheckpointError("an engine.Generator needs a seed and a NumPy generator")
    generator = engine_random.Generator.__new__(engine_random.Generator)
    generator.device, generator.rng, generator._seed = backend.device(device), rng, seed
    return generator


CALLABLES = {  # the file's name -> our implementation
    "collections.OrderedDict": _make_dict(OrderedDict),
    "collections.Counter": _make_dict(Counter),
    "builtins.set": _make_collection(set),
    "builtins.frozenset": _make_collection(frozenset),
    "builtins.complex": _make_complex,
    "builtins.bytearray": _make_bytearray,
    "_codecs.encode": _bytes_of,
    "torch.Size": _make_size,
    "torch.device": _make_device,
    "torch._utils._rebuild_tensor": rebuild_tensor,
    "torch._utils._rebuild_tensor_v2": rebuild_tensor_v2,
    "torch._utils._rebuild_tensor_v3": rebuild_tensor_v3,
    "torch._utils._rebuild_parameter": rebuild_parameter,
    "torch._utils._rebuild_parameter_with_state": rebuild_parameter_with_state,
    "torch._tensor._rebuild_from_type_v2": rebuild_from_type_v2,
    "nn.torch_rebuild._rebuild_numpy_generator": _rebuild_numpy_generator,
    "nn.torch_rebuild._rebuild_engine_generator": _rebuild_engine_generator,
}
VALUES = {"torch.Tensor": TorchTensorType, "torch.nn.parameter.Parameter": TorchParameterType,
          "torch.storage.UntypedStorage": UNTYPED,
          **{f"{module}.{name}": kind for name, kind in STORAGE_TYPES.items()
             for module in ("torch", "torch.cuda")},
          **{f"torch.{name}": np.dtype(dtype) for name, dtype in DTYPES.items()}}
FUNCTIONS = set(map(id, CALLABLES.values()))

# a Module's state that is not set as an attribute: PyTorch's hooks (which a file cannot
# hold: they are functions) are dropped; the set of non-persistent buffers is applied
TORCH_MODULE_INTERNALS = {
    "_non_persistent_buffers_set", "_backward_pre_hooks", "_backward_hooks",
    "_is_full_backward_hook", "_forward_hooks", "_forward_hooks_with_kwargs",
    "_forward_hooks_always_called", "_forward_pre_hooks", "_forward_pre_hooks_with_kwargs",
    "_state_dict_hooks", "_state_dict_pre_hooks", "_load_state_dict_pre_hooks",
    "_load_state_dict_post_hooks", "_compiled_call_impl"}


def check_name(name, what):
    if not isinstance(name, str) or not name or "." in name or (
            name.startswith("__") and name.endswith("__")):
        raise CheckpointError(f"{what} name {name!r} is not allowed")
    return name


def build_module(module, state, rebuild=None):
    """Give a Module made by ``cls.__new__`` + ``Module.__init__`` the state a file holds."""
    if not isinstance(state, dict) or not all(isinstance(key, str) for key in state):
        raise CheckpointError(f"the state of a {type(module).__name__} must be a dict of "
                              f"attributes; got {type(state).__name__}")
    registries = ("_parameters", "_buffers", "_modules")
    for registry in registries:  # first, so that no plain attribute can shadow one
        items = state.get(registry, {})
        if not isinstance(items, dict):
            raise CheckpointError(f"{registry} must be a dict; got {type(items).__name__}")
        for name, item in items.items():
            _set_registered(module, registry, check_name(name, registry[1:-1]), item)
    transient = state.get("_non_persistent_buffers_set", set())
    if not isinstance(transient, (set, list, tuple)) or not set(transient) <= set(
            module._buffers):
        raise CheckpointError(f"_non_persistent_buffers_set must name buffers; got "
                              f"{transient!r:.80}")
    if "_non_persistent_buffers_set" in module.__dict__:
        module.__dict__["_non_persistent_buffers_set"].update(transient)
    taken = {name for registry in registries for name in getattr(module, registry)}
    for key, value in state.items():
        if key == "training":
            if not isinstance(value, bool):
                raise CheckpointError(f"training must be a bool; got {value!r:.40}")
            object.__setattr__(module, "training", value)
        elif key in registries or key in TORCH_MODULE_INTERNALS:
            continue  # registered above, or PyTorch's hooks (which a file cannot hold)
        elif not isinstance(key, str) or not key.isidentifier() or key in taken or (
                key.startswith("__") and key.endswith("__")):
            raise CheckpointError(f"the attribute name {key!r:.60} is not allowed")
        else:
            module.__dict__[key] = value  # no property setter or __setattr__ of the class runs
    if rebuild is not None:
        rebuild(module, state)
    return module


def _set_registered(module, registry, name, item):
    if registry == "_parameters":
        if isinstance(item, Tensor) and not isinstance(item, Parameter):
            item = Parameter(item, requires_grad=item.requires_grad)
        if item is not None and not isinstance(item, Parameter):
            raise CheckpointError(f"parameter {name!r} must be a tensor; got "
                                  f"{type(item).__name__}")
        Module.register_parameter(module, name, item)  # None keeps the name, as PyTorch
    elif registry == "_buffers":
        if item is not None and not isinstance(item, Tensor):
            raise CheckpointError(f"buffer {name!r} must be a tensor; got {type(item).__name__}")
        Module.register_buffer(module, name, item)  # persistence: set by build_module
    else:
        if item is not None and not isinstance(item, Module):
            raise CheckpointError(f"sub-module {name!r} must be a Module; got "
                                  f"{type(item).__name__}")
        Module.add_module(module, name, item)
