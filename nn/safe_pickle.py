"""Reading the pickle inside PyTorch's checkpoints without ever running code from the file.

Contents: add_safe_globals, get_safe_globals, clear_safe_globals, safe_globals (PyTorch's
allowlist, by its names); register_class_path; RestrictedUnpickler.

Why not ``pickle.Unpickler`` with a ``find_class``: its opcodes call methods on whatever the
stack holds (``append``, ``extend``, ``__setitem__``, ``__setstate__``), call any admitted
callable with any arguments, and size its memo by the index a file names (``LONG_BINPUT
2**31`` asks for gigabytes). So, as PyTorch's ``weights_only`` loader does, this is an
interpreter of the data opcodes of pickle protocols 2 to 4, in which every step is ours:

- ``GLOBAL`` resolves a name only through tables, never by importing. Admitted without asking:
  PyTorch's tensor-rebuilding functions, storage types, dtypes, ``torch.Size``,
  ``torch.device``, ``collections.OrderedDict`` / ``Counter``, ``builtins.set`` /
  ``frozenset`` / ``complex`` / ``bytearray`` and ``_codecs.encode`` (how protocol 2 writes
  bytes), each mapped onto OUR implementation, which checks its arguments (``bytearray(10**12)``
  is refused). Then the classes and functions the user allowlisted (``add_safe_globals``),
  under their own import path or a path given to ``register_class_path`` (PyTorch's
  ``torch.nn.modules.linear.Linear``). Then, as values that the loader never calls, public
  functions of ``engine``, ``nn`` and ``rnn`` that are already imported (a layer's
  ``cell_function``). Names from ``os``, ``sys``, ``subprocess``, ``builtins`` (beyond the
  types above) and the like are refused even when allowlisted. Anything else is refused with
  an error naming it.
- ``REDUCE`` calls only those admitted callables (a Module class is never called: its
  ``__init__`` does not run); ``NEWOBJ`` makes only admitted classes, by ``cls.__new__``;
  ``APPEND`` works on lists only, ``SETITEM`` on dicts only, ``BUILD`` on OrderedDicts (plain
  attributes), on Modules (below) and on allowlisted classes (their ``__setstate__``, or
  ``__dict__`` updated); ``BINPERSID`` only loads a storage, through the caller's function.
- A Module (an instance of an allowlisted ``nn.Module`` subclass) is made by
  ``cls.__new__(cls)`` and ``Module.__init__`` (the empty registries), then its state, PyTorch's
  or ours: ``training`` (a bool), ``_parameters`` / ``_buffers`` / ``_modules`` (dicts of
  Parameters, Tensors, Modules or None, registered through ``Module.__setattr__`` and
  ``register_buffer``), PyTorch's hook dicts and sets (dropped: a hook would be a function the
  file cannot name), and plain attributes written into ``__dict__`` (so no property setter runs),
  each one a value this loader built: data, tensors, modules, allowlisted objects. Dunder
  names are refused. A rebuild function given to ``register_class_path`` runs last. (The
  implementations, argument checks and ``build_module`` are in ``nn.torch_rebuild``.)
- Lengths are checked against the bytes left before anything is allocated, the memo is a dict,
  and every malformed input raises CheckpointError naming the file and the byte.
"""

import struct
import sys
import types
from collections import Counter, OrderedDict

from nn import torch_rebuild as rebuild
from nn.module import Module
from nn.serialization import CheckpointError

# ---------------------------------------------------------------- the allowlists

_safe_globals = []  # what the user allowlisted: objects, or (object, "its.import.path")
_class_paths = {}  # "torch.nn.modules.linear.Linear" -> (class, rebuild function or None)

# never admitted, allowlisted or not (PyTorch blocks sys, os, posix and nt)
_BLOCKED = {"sys", "os", "posix", "nt", "subprocess", "builtins", "importlib", "runpy",
            "pickle", "_pickle", "marshal", "ctypes", "shutil", "socket", "code", "codeop",
            "pty", "operator", "functools", "types", "io", "_io", "codecs", "pdb", "inspect",
            "multiprocessing", "signal", "threading", "webbrowser", "nn.safe_pickle",
            "nn.serialization", "nn.torch_format", "nn.torch_pickler", "nn.torch_rebuild",
            "nn.safetensors_format"}

# whose public functions a file may name as values (not loopgrad: its own functions are the
# namespace's wrappers, save and load among them, which no layer holds as an attribute)
_LIBRARY = {"engine", "nn", "rnn"}
_PY2_NAMES = {"__builtin__": "builtins", "copy_reg": "copyreg"}


def _check_entry(entry):
    if isinstance(entry, tuple):
        if len(entry) != 2 or not isinstance(entry[1], str):
            raise TypeError(f"safe globals: expected (object, 'its.import.path'); got {entry!r}")
        entry = entry[0]
    if not isinstance(entry, (type, types.FunctionType, types.BuiltinFunctionType)):
        raise TypeError(f"safe globals: expected classes or functions; got "
                        f"{type(entry).__name__} {entry!r}")


def add_safe_globals(safe_globals):
    """Allowlist classes and functions (or ``(object, "import.path")`` pairs) that ``load``
    may rebuild: PyTorch's ``torch.serialization.add_safe_globals``."""
    for entry in safe_globals:
        _check_entry(entry)
    _safe_globals.extend(entry for entry in safe_globals if entry not in _safe_globals)


def get_safe_globals():
    """The allowlist, as ``add_safe_globals`` was given it."""
    return list(_safe_globals)


def clear_safe_globals():
    del _safe_globals[:]


class safe_globals:
    """Context manager: allowlist ``safe_globals`` inside the ``with`` block only.

    >>> import nn
    >>> with safe_globals([nn.Linear]):
    ...     nn.Linear in get_safe_globals()
    True
    >>> nn.Linear in get_safe_globals()
    False
    """

    def __init__(self, safe_globals):
        for entry in safe_globals:
            _check_entry(entry)
        self.safe_globals = list(safe_globals)

    def __enter__(self):
        self._added = [entry for entry in self.safe_globals if entry not in _safe_globals]
        _safe_globals.extend(self._added)

    def __exit__(self, *exc_info):
        for entry in self._added:
            _safe_globals.remove(entry)


def register_class_path(path, cls, rebuild=None):
    """Let files name ``cls`` by ``path`` (PyTorch's ``"torch.nn.modules.rnn.LSTM"``): a
    file's global ``path`` resolves to ``cls`` when ``cls`` is allowlisted (registering admits
    nothing by itself), and ``save`` writes ``cls`` under the first path registered for it.
    ``rebuild(module, state)``, if given, finishes a Module loaded under ``path`` in place,
    after its parameters, buffers, sub-modules and attributes are set (``state``: the dict
    the file held), e.g. to derive attributes that PyTorch's class does not have."""
    parts = path.split(".") if isinstance(path, str) else []
    if len(parts) < 2 or not all(part.isidentifier() for part in parts):
        raise ValueError(f"register_class_path: expected a dotted import path such as "
                         f"'torch.nn.modules.linear.Linear'; got {path!r}")
    if not isinstance(cls, type):
        raise TypeError(f"register_class_path: expected a class; got {type(cls).__name__}")
    if rebuild is not None and not callable(rebuild):
        raise TypeError(f"register_class_path: rebuild must be callable; got {rebuild!r}")
    _class_paths[path] = (cls, rebuild)


def own_path(obj):
    return f"{obj.__module__}.{obj.__qualname__}"


def path_of(cls):
    """The name ``save`` writes for ``cls``: its first registered path, else its own."""
    registered = [path for path, (known, _) in _class_paths.items() if known is cls]
    return registered[0] if registered else own_path(cls)


def _user_globals():
    """name -> object for everything allowlisted, under every name a file may use for it."""
    names = {}
    for entry in _safe_globals:
        if isinstance(entry, tuple):
            names[entry[1]] = entry[0]
            continue
        names[own_path(entry)] = entry
    # an (object, name) entry admits the object under that name only, as in PyTorch
    allowed = {id(entry) for entry in _safe_globals if not isinstance(entry, tuple)}
    for path, (cls, _) in _class_paths.items():
        if id(cls) in allowed:
            names[path] = cls
    return names


_TORCH_ONLY_DTYPES = ("bfloat16", "complex32", "chalf", "float8", "float4", "qint", "quint",
                      "bits", "int1", "int2", "int3", "int4", "int5", "int6", "int7", "uint1",
                      "uint2", "uint3", "uint4", "uint5", "uint6", "uint7")


def _blocked(module):
    return module in _BLOCKED or module.split(".")[0] in _BLOCKED


# ---------------------------------------------------------------- the interpreter

class RestrictedUnpickler:
    """Reads one pickle (``data``, bytes) as described in the module docstring.

    ``persistent_load(pid)`` turns a ``('storage', storage_type, key, location, numel)`` id
    into a Storage; ``name`` is how errors name the file; ``encoding`` decodes Python 2 byte
    strings ('bytes' keeps them bytes)."""

    def __init__(self, data, name, persistent_load=None, encoding="utf-8"):
        self.data, self.name = memoryview(data), name
        self.persistent_load, self.encoding = persistent_load, encoding
        self.position = 0
        self.user = _user_globals()
        self.allowed_ids = {id(obj) for obj in self.user.values()}
        self.made_from = {}  # id(module made by NEWOBJ) -> the rebuild registered for its path
        self.caller_error = None

    def error(self, message):
        return CheckpointError(f"load: {self.name}: {message}")

    # -- reading bytes
    def read(self, n):
        if n < 0 or self.position + n > len(self.data):
            raise self.error(f"the data is truncated (wants {n} bytes at byte {self.position} "
                             f"of {len(self.data)})")
        start, self.position = self.position, self.position + n
        return self.data[start:self.position]

    def readline(self):
        end = bytes(self.data[self.position:self.position + 1000]).find(b"\n")
        if end < 0:
            raise self.error(f"a global's name at byte {self.position} is unterminated")
        return bytes(self.read(end + 1)[:-1]).decode("utf-8")

    def unsigned(self, n):
        return int.from_bytes(self.read(n), "little")

    # -- globals
    def find_class(self, module, name):
        """The object a file's ``GLOBAL module name`` stands for, by the rules above."""
        module = _PY2_NAMES.get(module, module)
        full = f"{module}.{name}"
        if full in rebuild.CALLABLES:
            return rebuild.CALLABLES[full]
        if full in rebuild.VALUES:
            return rebuild.VALUES[full]
        if module in ("torch", "torch.cuda") and name.endswith("Storage"):
            raise self.error(f"the storage type {full} (quantized, or of a dtype NumPy does "
                             "not have) is not supported")
        if module == "torch" and name.startswith(_TORCH_ONLY_DTYPES):
            raise self.error(f"the dtype {full} has no NumPy equivalent")
        blocked = _blocked(module)
        if not blocked and full in self.user:
            found = self.user[full]
            if not _blocked(getattr(found, "__module__", None) or ""):  # os.system by alias
                return found
            blocked, full = True, own_path(found)
        if not blocked and module.split(".")[0] in _LIBRARY and "." not in name \
                and not name.startswith("_"):
            home = sys.modules.get(module)  # imported already, or not at all
            value = vars(home).get(name) if isinstance(home, types.ModuleType) else None
            if isinstance(value, types.FunctionType) and own_path(value) == full:
                return value  # a value only: never called while loading
        if blocked:
            raise self.error(f"the file wants to import {full}, which is never allowed: "
                             "loading a checkpoint must not run code, and this file asks to")
        short = name.split(".")[-1]
        raise self.error(f"the file wants to import {full}, which is not allowed: tensors, "
                         "numbers, strings and containers load by default. If you trust the "
                         f"class or function {full}, allowlist it: add_safe_globals([{short}]) "
                         f"or `with safe_globals([{short}]): load(...)`")

    def callable_for_reduce(self, func):
        if id(func) in rebuild.FUNCTIONS:
            return func
        if id(func) in self.allowed_ids:
            if isinstance(func, type) and issubclass(func, Module):
                raise self.error(f"the file calls the Module class {func.__qualname__}; "
                                 "Modules are rebuilt from their state, never constructed")
            return func
        raise self.error(f"the file calls {func!r}, which is not a function it may call")

    # -- the loop
    def load(self):
        stack, marks, memo = [], [], {}

        def pop_mark():
            if not marks:
                raise self.error(f"a MARK is missing (byte {self.position})")
            start = marks.pop()
            items = stack[start:]
            del stack[start:]
            return items

        while True:
            at = self.position
            op = self.read(1)[0]
            try:
                if op == 0x80:  # PROTO
                    if self.read(1)[0] > 5:
                        raise self.error("the pickle protocol is newer than 5")
                elif op == 0x95:  # FRAME: a length hint only
                    self.read(8)
                elif op == 0x2E:  # STOP
                    if len(stack) != 1 or marks:
                        raise self.error("the data ends with a malformed stack")
                    return stack.pop()
                elif op == 0x4E:  # NONE
                    stack.append(None)
                elif op in (0x88, 0x89):  # NEWTRUE, NEWFALSE
                    stack.append(op == 0x88)
                elif op == 0x4A:  # BININT
                    stack.append(struct.unpack("<i", self.read(4))[0])
                elif op == 0x4B:  # BININT1
                    stack.append(self.read(1)[0])
                elif op == 0x4D:  # BININT2
                    stack.append(self.unsigned(2))
                elif op in (0x8A, 0x8B):  # LONG1, LONG4
                    n = self.read(1)[0] if op == 0x8A else struct.unpack("<i", self.read(4))[0]
                    stack.append(int.from_bytes(self.read(n), "little", signed=True))
                elif op == 0x47:  # BINFLOAT
                    stack.append(struct.unpack(">d", self.read(8))[0])
                elif op in (0x58, 0x8C, 0x8D):  # BINUNICODE, SHORT_BINUNICODE, BINUNICODE8
                    n = self.unsigned({0x58: 4, 0x8C: 1, 0x8D: 8}[op])
                    stack.append(str(self.read(n), "utf-8", "surrogatepass"))
                elif op in (0x42, 0x43, 0x8E, 0x96):  # BINBYTES, SHORT_, BINBYTES8, BYTEARRAY8
                    n = self.unsigned({0x42: 4, 0x43: 1, 0x8E: 8, 0x96: 8}[op])
                    data = bytes(self.read(n))
                    stack.append(bytearray(data) if op == 0x96 else data)
                elif op in (0x55, 0x54):  # SHORT_BINSTRING, BINSTRING (Python 2 str)
                    data = bytes(self.read(self.read(1)[0] if op == 0x55 else self.unsigned(4)))
                    stack.append(data if self.encoding == "bytes" else data.decode(self.encoding))
                elif op == 0x29:  # EMPTY_TUPLE
                    stack.append(())
                elif op == 0x74:  # TUPLE
                    stack.append(tuple(pop_mark()))
                elif op in (0x85, 0x86, 0x87):  # TUPLE1, TUPLE2, TUPLE3
                    n = op - 0x84
                    if len(stack) - (marks[-1] if marks else 0) < n:
                        raise self.error(f"TUPLE{n} needs {n} items")
                    items = tuple(stack[-n:])
                    del stack[-n:]
                    stack.append(items)
                elif op == 0x5D:  # EMPTY_LIST
                    stack.append([])
                elif op == 0x7D:  # EMPTY_DICT
                    stack.append({})
                elif op == 0x8F:  # EMPTY_SET
                    stack.append(set())
                elif op == 0x61:  # APPEND
                    item = stack.pop()
                    self.expect(stack[-1], list, "APPEND").append(item)
                elif op == 0x65:  # APPENDS
                    items = pop_mark()
                    self.expect(stack[-1], list, "APPENDS").extend(items)
                elif op == 0x73:  # SETITEM
                    value, key = stack.pop(), stack.pop()
                    self.expect(stack[-1], dict, "SETITEM")[key] = value
                elif op == 0x75:  # SETITEMS
                    items = pop_mark()
                    target = self.expect(stack[-1], dict, "SETITEMS")
                    if len(items) % 2:
                        raise self.error("SETITEMS needs key, value pairs")
                    for i in range(0, len(items), 2):
                        target[items[i]] = items[i + 1]
                elif op == 0x90:  # ADDITEMS
                    items = pop_mark()
                    self.expect(stack[-1], set, "ADDITEMS").update(items)
                elif op == 0x91:  # FROZENSET
                    stack.append(frozenset(pop_mark()))
                elif op == 0x28:  # MARK
                    marks.append(len(stack))
                elif op == 0x30:  # POP
                    if marks and marks[-1] == len(stack):
                        marks.pop()
                    else:
                        stack.pop()
                elif op == 0x31:  # POP_MARK
                    pop_mark()
                elif op == 0x32:  # DUP
                    stack.append(stack[-1])
                elif op in (0x71, 0x72):  # BINPUT, LONG_BINPUT: the memo is a dict
                    memo[self.read(1)[0] if op == 0x71 else self.unsigned(4)] = stack[-1]
                elif op == 0x94:  # MEMOIZE
                    memo[len(memo)] = stack[-1]
                elif op in (0x68, 0x6A):  # BINGET, LONG_BINGET
                    key = self.read(1)[0] if op == 0x68 else self.unsigned(4)
                    if key not in memo:
                        raise self.error(f"the memo has no entry {key}")
                    stack.append(memo[key])
                elif op == 0x63:  # GLOBAL
                    module = self.readline()
                    stack.append(self.find_class(module, self.readline()))
                elif op == 0x93:  # STACK_GLOBAL
                    name, module = stack.pop(), stack.pop()
                    if not isinstance(module, str) or not isinstance(name, str):
                        raise self.error("STACK_GLOBAL needs two strings")
                    stack.append(self.find_class(module, name))
                elif op == 0x52:  # REDUCE
                    args = stack.pop()
                    if not isinstance(args, tuple):
                        raise self.error("REDUCE needs a tuple of arguments")
                    stack[-1] = self.callable_for_reduce(stack[-1])(*args)
                elif op in (0x81, 0x92):  # NEWOBJ, NEWOBJ_EX
                    kwargs = stack.pop() if op == 0x92 else {}
                    args = stack.pop()
                    stack[-1] = self.new_object(stack[-1], args, kwargs)
                elif op == 0x62:  # BUILD
                    state = stack.pop()
                    self.build(stack[-1], state)
                elif op == 0x51:  # BINPERSID
                    stack.append(self.load_persistent(stack.pop()))
                else:
                    raise self.error(f"the pickle opcode {bytes([op])!r} at byte {at} is not one "
                                     "a checkpoint's data uses; nothing was run")
            except CheckpointError as error:
                if self.name in str(error):
                    raise
                raise self.error(f"{error} (byte {at})") from None  # a rebuild's refusal
            except Exception as error:  # noqa: BLE001 - any malformed input, one error type
                if error is self.caller_error:  # map_location's own errors pass as they are
                    raise
                raise self.error(f"the data is corrupt at byte {at} ({type(error).__name__}: "
                                 f"{error})") from None

    def expect(self, target, kind, op):
        if type(target) is not kind and not (kind is dict and type(target) in (OrderedDict,
                                                                              Counter)):
            raise self.error(f"{op} works on a {kind.__name__} only; got {type(target).__name__}")
        return target

    def new_object(self, cls, args, kwargs):
        if not isinstance(args, tuple) or not isinstance(kwargs, dict):
            raise self.error("NEWOBJ needs a tuple of arguments")
        if cls is rebuild.TorchParameterType:
            if kwargs:
                raise self.error("Parameter takes no keyword arguments here")
            data, requires_grad = (*args, True)[:2] if args else (None, True)
            return rebuild.rebuild_parameter(data, requires_grad, None)
        if not isinstance(cls, type) or id(cls) not in self.allowed_ids:
            raise self.error(f"the file makes an object of {cls!r}, which is not an allowlisted "
                             "class")
        if issubclass(cls, Module):
            if args or kwargs:
                raise self.error(f"{cls.__qualname__} is made without arguments")
            module = cls.__new__(cls)
            Module.__init__(module)  # the empty registries; the class's own __init__ never runs
            path = next((path for path, (known, _) in _class_paths.items() if known is cls), None)
            self.made_from[id(module)] = _class_paths[path][1] if path else None
            return module
        return cls.__new__(cls, *args, **kwargs)

    def build(self, inst, state):
        if isinstance(inst, Module) and id(inst) in self.made_from:
            rebuild.build_module(inst, state, self.made_from.pop(id(inst)))
        elif type(inst) is OrderedDict:  # a state dict's _metadata
            if not isinstance(state, dict):
                raise self.error("the state of an OrderedDict must be a dict")
            for key, value in state.items():
                inst.__dict__[rebuild.check_name(key, "an attribute")] = value
        elif id(type(inst)) in self.allowed_ids and not isinstance(inst, Module):
            if hasattr(inst, "__setstate__"):
                inst.__setstate__(state)  # the allowlisted class's own code
                return
            slots = None
            if isinstance(state, tuple) and len(state) == 2:
                state, slots = state
            for key, value in (state or {}).items():
                inst.__dict__[rebuild.check_name(key, "an attribute")] = value
            for key, value in (slots or {}).items():
                setattr(inst, rebuild.check_name(key, "a slot"), value)
        else:
            raise self.error(f"the file sets the state of a {type(inst).__name__}, which only "
                             "Modules, OrderedDicts and allowlisted classes allow")

    def load_persistent(self, pid):
        if self.persistent_load is None:
            raise self.error("the data refers to storages, and there are none")
        if not (isinstance(pid, tuple) and len(pid) == 5 and pid[0] in ("storage", b"storage")):
            raise self.error(f"a persistent id must be ('storage', type, key, location, numel); "
                             f"got {pid!r:.100}")
        _, kind, key, location, numel = pid
        if not isinstance(kind, rebuild.StorageType):
            raise self.error(f"a storage's type must be a torch storage type; got {kind!r:.60}")
        if not isinstance(key, str) or not isinstance(location, str) or not isinstance(
                numel, int) or isinstance(numel, bool) or numel < 0:
            raise self.error(f"a storage id needs a key, a location and a size; got {pid!r:.100}")
        try:
            return self.persistent_load(kind, key, location, numel)
        except Exception as error:
            self.caller_error = error
            raise

