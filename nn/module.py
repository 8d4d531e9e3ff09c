"""Module and Parameter: the containers every layer and model is built from, PyTorch's rules.

Contents: Parameter, Module (registration, walking, modes and moves, state dicts,
printing), zero_grads, array_of, typename.

A Module keeps what is assigned to it in three insertion-ordered dicts, as
PyTorch does: a Parameter goes into ``_parameters``, a Module into
``_modules``, a Tensor given to ``register_buffer`` into ``_buffers`` (dicts,
never sets, so the order never depends on hashing). They are found again by
``__getattr__``, so ``self.weight`` and ``self._parameters["weight"]`` are one
thing. Everything that walks a model (``named_parameters``, ``state_dict``,
``to``, ``train``) follows those dicts, so a model is found the same way every time.
"""

import warnings
from collections import OrderedDict, namedtuple
from collections.abc import Mapping

import numpy as np

from engine import Tensor, backend, dtypes
from engine.hooks import RemovableHandle


class Parameter(Tensor):
    """A leaf Tensor that requires grad, registered by the Module it is assigned to.

    ``Parameter(data=None, requires_grad=True)``: ``data`` (a Tensor or an array,
    whose memory the parameter shares; None: an empty tensor of the default dtype).

    >>> w = Parameter(np.zeros((2, 3), dtype=np.float32))
    >>> w.requires_grad, w.shape, Parameter().shape
    (True, (2, 3), (0,))
    """

    __slots__ = ()

    def __init__(self, data=None, requires_grad=True):
        if data is None:
            data = np.empty((0,), dtype=dtypes.get_default_dtype())
        elif isinstance(data, Tensor):
            data = data.array  # shared, as PyTorch's Parameter(t)
        super().__init__(data, requires_grad=requires_grad)

    def __repr__(self):
        return "Parameter containing:\n" + super().__repr__()


class _IncompatibleKeys(namedtuple("IncompatibleKeys", ["missing_keys", "unexpected_keys"])):
    """What ``load_state_dict`` returns: the keys it missed and those it did not expect."""

    __slots__ = ()

    def __repr__(self):
        if not self.missing_keys and not self.unexpected_keys:
            return "<All keys matched successfully>"
        return super().__repr__()

    __str__ = __repr__


IncompatibleKeys = _IncompatibleKeys

_TORCH_TYPES = {"float32": "FloatTensor", "float64": "DoubleTensor", "float16": "HalfTensor",
                "int64": "LongTensor", "int32": "IntTensor", "int16": "ShortTensor",
                "int8": "CharTensor", "uint8": "ByteTensor", "bool": "BoolTensor"}


def typename(value):
    """PyTorch's ``torch.typename``, which its error messages use: ``'torch.FloatTensor'``
    for a float32 tensor, else the qualified name (``'numpy.ndarray'``, ``'int'``)."""
    if isinstance(value, Tensor):
        kind = _TORCH_TYPES.get(str(value.dtype), str(value.dtype))
        return f"torch.{'cuda.' if value.is_cuda else ''}{kind}"
    module = getattr(value, "__module__", "") or ""
    qualname = getattr(value, "__qualname__", None) or getattr(value, "__name__", None)
    if qualname is None:
        module, qualname = type(value).__module__ or "", type(value).__qualname__
    return qualname if module in ("", "builtins") else f"{module}.{qualname}"


def _addindent(text, spaces):
    """Indent every line but the first (blank lines stay empty), as PyTorch's reprs do."""
    first, *rest = text.split("\n")
    return "\n".join([first] + [" " * spaces + line if line.strip() else "" for line in rest])


class Module:
    """Base class of every layer and model: subclass it, assign parameters and
    sub-modules in ``__init__`` (after ``super().__init__()``), define ``forward``.

    >>> class Scale(Module):
    ...     def __init__(self):
    ...         super().__init__()
    ...         self.factor = Parameter(np.ones(1, dtype=np.float32))
    ...     def forward(self, x):
    ...         return x * self.factor
    >>> [name for name, _ in Scale().named_parameters()]
    ['factor']
    """

    _version = 1  # of the state dict layout (PyTorch's: a layer that changes it counts up)

    def __init__(self):
        init = object.__setattr__
        init(self, "training", True)
        init(self, "_parameters", {})
        init(self, "_buffers", {})
        init(self, "_non_persistent_buffers_set", set())
        init(self, "_modules", {})

    def __setstate__(self, state):
        self.__dict__.update(state)
        self.__dict__.setdefault("_non_persistent_buffers_set", set())

    # ------------------------------------------------------------ registration

    def __getattr__(self, name):
        # Called only when normal lookup fails: parameters, buffers and modules live here.
        for registry in ("_parameters", "_buffers", "_modules"):
            found = self.__dict__.get(registry)
            if found is not None and name in found:
                return found[name]
        raise AttributeError(f"'{type(self).__name__}' object has no attribute '{name}'")

    def __setattr__(self, name, value):
        """PyTorch's rules: a Parameter is registered (a registered parameter takes only a
        Parameter or None), a Module likewise, a Tensor given to a buffer's name stays a
        buffer; anything else is a plain attribute."""
        params = self.__dict__.get("_parameters")
        if isinstance(value, Parameter):
            if params is None:
                raise AttributeError("cannot assign parameters before Module.__init__() call")
            self._forget(name, keep="_parameters")
            self.register_parameter(name, value)
        elif params is not None and name in params:
            if value is not None:
                raise TypeError(f"cannot assign '{typename(value)}' as parameter '{name}' "
                                "(torch.nn.Parameter or None expected)")
            self.register_parameter(name, value)
        elif isinstance(value, Module):
            if params is None:
                raise AttributeError("cannot assign module before Module.__init__() call")
            self._forget(name, keep="_modules")
            self._modules[name] = value
        elif params is not None and name in self._modules:
            if value is not None:
                raise TypeError(f"cannot assign '{typename(value)}' as child module '{name}' "
                                "(torch.nn.Module or None expected)")
            self._modules[name] = value
        elif params is not None and name in self._buffers:
            if value is not None and not isinstance(value, Tensor):
                raise TypeError(f"cannot assign '{typename(value)}' as buffer '{name}' "
                                "(torch.nn.Buffer, torch.Tensor or None expected)")
            self.register_buffer(name, value, name not in self._non_persistent_buffers_set)
        else:
            object.__setattr__(self, name, value)

    def _forget(self, name, keep):
        """Drop ``name`` from the plain attributes and from every registry but ``keep``."""
        self.__dict__.pop(name, None)
        for registry in ("_parameters", "_buffers", "_modules"):
            if registry != keep:
                getattr(self, registry).pop(name, None)
        self._non_persistent_buffers_set.discard(name)

    def __delattr__(self, name):
        if name in self._parameters:
            del self._parameters[name]
        elif name in self._buffers:
            del self._buffers[name]
            self._non_persistent_buffers_set.discard(name)
        elif name in self._modules:
            del self._modules[name]
        else:
            object.__delattr__(self, name)

    def _check_name(self, name, kind, registry):
        if not isinstance(name, str):
            raise TypeError(f"{kind} name should be a string. Got {typename(name)}")
        if "." in name:
            raise KeyError(f"{kind} name can't contain \".\", got: {name}")
        if name == "":
            raise KeyError(f"{kind} name can't be empty string \"\"")
        if hasattr(self, name) and name not in registry:
            raise KeyError(f"attribute '{name}' already exists")

    def register_buffer(self, name, tensor, persistent=True):
        """A Tensor (or None) that is part of the state but not trained (running statistics,
        a mask): moved by ``to``, saved by ``state_dict`` unless ``persistent=False``."""
        if "_buffers" not in self.__dict__:
            raise AttributeError("cannot assign buffer before Module.__init__() call")
        self._check_name(name, "buffer", self._buffers)
        if tensor is not None and not isinstance(tensor, Tensor):
            raise TypeError(f"cannot assign '{typename(tensor)}' object to buffer '{name}' "
                            "(torch Tensor or None required)")
        self._buffers[name] = tensor
        if persistent:
            self._non_persistent_buffers_set.discard(name)
        else:
            self._non_persistent_buffers_set.add(name)

    def register_parameter(self, name, param):
        """Register ``param`` (a Parameter, or None: the name is kept, with no value)."""
        if "_parameters" not in self.__dict__:
            raise AttributeError("cannot assign parameter before Module.__init__() call")
        self._check_name(name, "parameter", self._parameters)
        if param is not None and not isinstance(param, Parameter):
            raise TypeError(f"cannot assign '{typename(param)}' object to parameter '{name}' "
                            "(torch.nn.Parameter or None required)")
        if param is not None and param.grad_fn is not None:
            raise ValueError(
                f"Cannot assign non-leaf Tensor to parameter '{name}'. Model parameters must be "
                f"created explicitly. To express '{name}' as a function of another Tensor, "
                "compute the value in the forward() method.")
        self._parameters[name] = param

    def add_module(self, name, module):
        """Register ``module`` (or None) as the child ``name``."""
        if module is not None and not isinstance(module, Module):
            raise TypeError(f"{typename(module)} is not a Module subclass")
        self._check_name(name, "module", self._modules)
        self._modules[name] = module

    register_module = add_module

    def get_submodule(self, target):
        """The module at the dotted path ``target`` ('' is this one)."""
        module = self
        for item in target.split(".") if target else []:
            if not hasattr(module, item):
                raise AttributeError(f"{type(module).__name__} has no attribute `{item}`")
            module = getattr(module, item)
            if not isinstance(module, Module):
                raise AttributeError(f"`{item}` is not an nn.Module")
        return module

    def get_parameter(self, target):
        """The parameter at the dotted path ``target`` (e.g. ``'0.weight'``)."""
        module, name = self._owner_of(target)
        param = getattr(module, name)
        if not isinstance(param, Parameter):
            raise AttributeError(f"`{name}` is not an nn.Parameter")
        return param

    def get_buffer(self, target):
        """The buffer at the dotted path ``target``."""
        module, name = self._owner_of(target)
        if name not in module._buffers:
            raise AttributeError(f"`{name}` is not a buffer")
        return getattr(module, name)

    def _owner_of(self, target):
        """(the submodule holding the dotted path ``target``, the last name), that name an
        attribute of it."""
        path, _, name = target.rpartition(".")
        module = self.get_submodule(path)
        if not hasattr(module, name):
            raise AttributeError(f"{type(module).__name__} has no attribute `{name}`")
        return module, name

    # ------------------------------------------------------------ calling

    def forward(self, *args, **kwargs):
        raise NotImplementedError(
            f'Module [{type(self).__name__}] is missing the required "forward" function')

    _forward_pre_hooks = _forward_hooks = ()  # lists of this module's own, once registered

    def __call__(self, *args, **kwargs):
        if self._forward_pre_hooks or self._forward_hooks:
            return self._call_with_hooks(args, kwargs)
        return self.forward(*args, **kwargs)

    def _call_with_hooks(self, args, kwargs):
        for hook, with_kwargs in list(self._forward_pre_hooks):
            if with_kwargs:
                result = hook(self, args, kwargs)
                if result is not None:
                    args, kwargs = result
            else:
                result = hook(self, args)
                if result is not None:
                    args = result if isinstance(result, tuple) else (result,)
        output = self.forward(*args, **kwargs)
        for hook, with_kwargs in list(self._forward_hooks):
            result = hook(self, args, kwargs, output) if with_kwargs else hook(self, args, output)
            if result is not None:
                output = result
        return output

    def register_forward_pre_hook(self, hook, *, prepend=False, with_kwargs=False):
        """Call ``hook(module, args)`` before each ``forward`` (``with_kwargs``:
        ``hook(module, args, kwargs)``); what it returns (not None) replaces the arguments.
        Returns a handle: ``handle.remove()`` undoes it.

        >>> seen = []
        >>> layer = Module()
        >>> layer.forward = lambda x: x * 2
        >>> handle = layer.register_forward_pre_hook(lambda module, args: seen.append(args))
        >>> layer(3), seen
        (6, [(3,)])
        """
        return self._register("_forward_pre_hooks", (hook, with_kwargs), prepend)

    def register_forward_hook(self, hook, *, prepend=False, with_kwargs=False):
        """Call ``hook(module, args, output)`` after each ``forward`` (``with_kwargs``:
        ``hook(module, args, kwargs, output)``); what it returns (not None) replaces the
        output. Returns a handle: ``handle.remove()`` undoes it."""
        return self._register("_forward_hooks", (hook, with_kwargs), prepend)

    def _register(self, name, entry, prepend):
        if name not in self.__dict__:
            object.__setattr__(self, name, [])
        registered = self.__dict__[name]
        registered.insert(0, entry) if prepend else registered.append(entry)
        return RemovableHandle(registered, entry)

    # ------------------------------------------------------------ walking the tree

    def named_modules(self, memo=None, prefix="", remove_duplicate=True):
        """(dotted name, module) for this module and every descendant, depth first.

        A module reachable by two paths is listed once, unless ``remove_duplicate=False``.
        """
        memo = set() if memo is None else memo
        if self in memo:
            return
        if remove_duplicate:
            memo.add(self)
        yield prefix, self
        for name, module in self._modules.items():
            if module is not None:
                yield from module.named_modules(memo, f"{prefix}.{name}" if prefix else name,
                                                remove_duplicate)

    def modules(self, remove_duplicate=True):
        return (module for _, module in self.named_modules(remove_duplicate=remove_duplicate))

    def named_children(self):
        """(name, module) of each direct child (one that is there twice, once)."""
        seen = set()
        for name, module in self._modules.items():
            if module is not None and id(module) not in seen:
                seen.add(id(module))
                yield name, module

    def children(self):
        return (module for _, module in self.named_children())

    def _named_members(self, registry, prefix, recurse, remove_duplicate):
        seen = set()
        walk = (self.named_modules(prefix=prefix, remove_duplicate=remove_duplicate) if recurse
                else [(prefix, self)])
        for module_prefix, module in walk:
            for name, value in getattr(module, registry).items():
                if value is None or id(value) in seen:
                    continue
                if remove_duplicate:
                    seen.add(id(value))  # a shared parameter is listed once
                yield (f"{module_prefix}.{name}" if module_prefix else name), value

    def named_parameters(self, prefix="", recurse=True, remove_duplicate=True):
        """(dotted name, Parameter) in registration order, e.g. ``('0.weight', ...)``."""
        return self._named_members("_parameters", prefix, recurse, remove_duplicate)

    def parameters(self, recurse=True):
        return (p for _, p in self.named_parameters(recurse=recurse))

    def named_buffers(self, prefix="", recurse=True, remove_duplicate=True):
        return self._named_members("_buffers", prefix, recurse, remove_duplicate)

    def buffers(self, recurse=True):
        return (b for _, b in self.named_buffers(recurse=recurse))

    # ------------------------------------------------------------ modes

    def train(self, mode=True):
        """Training mode (dropout active, batch statistics) for this module and all below;
        returns self."""
        if not isinstance(mode, bool):
            raise ValueError("training mode is expected to be boolean")
        self.training = mode
        for module in self.children():
            module.train(mode)
        return self

    def eval(self):
        return self.train(False)

    def requires_grad_(self, requires_grad=True):
        for p in self.parameters():
            p.requires_grad_(requires_grad)
        return self

    def zero_grad(self, set_to_none=True):
        """Forget every parameter's gradient (or fill it with zeros, in place)."""
        zero_grads(self.parameters(), set_to_none)

    def apply(self, fn):
        """Call ``fn(module)`` on every sub-module, then on this one; returns self."""
        for module in self.children():
            module.apply(fn)
        fn(self)
        return self

    # ------------------------------------------------------------ moves and casts

    def _apply(self, convert):
        """Replace the array of every parameter, buffer and gradient by ``convert(array)``.

        Parameters and buffers stay the same objects (PyTorch's ``param.data = ...``),
        so an optimizer built before still holds them.
        """
        for tensor in [*self.parameters(), *self.buffers()]:
            tensor.array = convert(tensor.array)
            if tensor.grad is not None:
                tensor.grad.array = convert(tensor.grad.array)
        return self

    def to(self, *args, device=None, dtype=None, non_blocking=False, **kwargs):
        """``to(device)``, ``to(dtype)``, ``to(device, dtype)``, ``to(tensor)``: move
        every parameter, buffer and gradient, and cast the floating ones; returns self."""
        for arg in args:
            if isinstance(arg, Tensor):
                device, dtype = arg.device, arg.dtype
            elif isinstance(arg, (str, int)) and not backend.names_a_dtype(arg):
                device = arg
            elif arg is not None:
                dtype = arg
        if kwargs.keys() - {"memory_format", "copy"}:
            raise TypeError(f"to() got an unexpected keyword argument "
                            f"'{sorted(kwargs.keys() - {'memory_format', 'copy'})[0]}'")
        if dtype is not None:
            dtype = dtypes.as_dtype(dtype)
            if dtype.kind not in "fc":
                raise TypeError("nn.Module.to only accepts floating point or complex dtypes, "
                                f"but got desired dtype={dtype}")
        if device is not None:
            device = backend.parse_device(backend.device(device))

        def convert(array):
            if dtype is not None and array.dtype.kind in "fc" and array.dtype != dtype:
                array = array.astype(dtype)
            return array if device is None else backend.to_device(array, device)

        return self._apply(convert)

    def cpu(self):
        return self.to("cpu")

    def cuda(self, device=None):
        return self.to("cuda" if device is None else backend.device(device))

    def type(self, dst_type):
        """Cast every parameter and buffer (integer ones too, as PyTorch) to ``dst_type``."""
        dst_type = dtypes.as_dtype(dst_type)
        return self._apply(lambda array: array.astype(dst_type, copy=False))

    def _cast_floats(self, dtype):
        return self._apply(lambda array: array.astype(dtype, copy=False)
                           if array.dtype.kind == "f" else array)

    def float(self):
        return self._cast_floats(dtypes.float32)

    def double(self):
        return self._cast_floats(dtypes.float64)

    def half(self):
        return self._cast_floats(dtypes.float16)

    # ------------------------------------------------------------ state

    def _local_state(self):
        """name -> tensor of this module's own parameters and persistent buffers (not None)."""
        return {name: t for name, t in [*self._parameters.items(), *self._buffers.items()]
                if t is not None and name not in self._non_persistent_buffers_set}

    def _save_to_state_dict(self, destination, prefix, keep_vars):
        for name, tensor in self._local_state().items():
            destination[prefix + name] = tensor if keep_vars else tensor.detach()

    def state_dict(self, *args, destination=None, prefix="", keep_vars=False):
        """Ordered name -> Tensor of every parameter and persistent buffer, PyTorch's.

        Each value is detached and shares memory with the model (``keep_vars=True``:
        the parameters themselves), so ``sd[k].numpy()`` is a view and an in-place change
        of ``sd[k]`` changes the model. Order: each module's parameters, then its buffers,
        then its children's; a parameter shared by two sub-modules is under both names.
        ``_metadata`` holds each module's layout version, as PyTorch's does.

        >>> class Affine(Module):
        ...     def __init__(self):
        ...         super().__init__()
        ...         self.weight = Parameter(np.ones((2, 2), dtype=np.float32))
        >>> {name: tuple(t.shape) for name, t in Affine().state_dict().items()}
        {'weight': (2, 2)}
        """
        if args:
            warnings.warn("Positional args are being deprecated, use kwargs instead.",
                          FutureWarning, stacklevel=2)
            destination = args[0] if destination is None else destination
            prefix = args[1] if len(args) > 1 and prefix == "" else prefix
            keep_vars = args[2] if len(args) > 2 and keep_vars is False else keep_vars
        if destination is None:
            destination = OrderedDict()
            destination._metadata = OrderedDict()
        if hasattr(destination, "_metadata"):
            destination._metadata[prefix[:-1]] = {"version": self._version}
        self._save_to_state_dict(destination, prefix, keep_vars)
        for name, module in self._modules.items():
            if module is not None:
                module.state_dict(destination=destination, prefix=prefix + name + ".",
                                  keep_vars=keep_vars)
        return destination

    def _upgrade_state_dict(self, state_dict, prefix, version):
        """Fill in what an older layout ``version`` (None: unknown) lacks, before loading;
        a layer whose state dict changed over PyTorch's versions overrides it."""

    def load_state_dict(self, state_dict, strict=True, assign=False):
        """Load a state dict; returns PyTorch's ``(missing_keys, unexpected_keys)``.

        Values may be Tensors, PyTorch tensors (read through ``.detach().cpu().numpy()``,
        without importing torch), NumPy or CuPy arrays, or anything ``numpy.asarray``
        takes. Each parameter keeps its dtype, device and identity (``assign=True``
        instead replaces it by a Parameter holding the given values, as PyTorch).
        All or nothing: a missing or an unexpected key (when ``strict``) or a wrong
        shape (always) raises PyTorch's RuntimeError naming every offending key, and
        both shapes of each wrong one, before anything is changed.
        """
        if not isinstance(state_dict, Mapping):
            raise TypeError(f"Expected state_dict to be dict-like, got {type(state_dict)}.")
        metadata = getattr(state_dict, "_metadata", None)
        state_dict = OrderedDict(state_dict)  # upgrades below must not change the caller's
        missing, unexpected, errors, loads = [], [], [], []
        for prefix, module in self.named_modules(remove_duplicate=False):
            prefix = prefix + "." if prefix else ""
            version = None if metadata is None else metadata.get(prefix[:-1], {}).get("version")
            module._upgrade_state_dict(state_dict, prefix, version)
            local = module._local_state()
            for name, tensor in local.items():
                key = prefix + name
                if key not in state_dict:
                    missing.append(key)
                    continue
                value = _loadable(state_dict[key])
                if value is None:
                    errors.append(f'While copying the parameter named "{key}", expected a tensor '
                                  f"or an array from the checkpoint but received "
                                  f"{type(state_dict[key])}")
                    continue
                if tensor.ndim == 0 and value.shape == (1,):
                    value = value.reshape(())  # PyTorch takes a 1-element vector for a scalar
                if value.shape != tensor.shape:
                    errors.append(f"size mismatch for {key}: copying a param with shape "
                                  f"{tuple(value.shape)} from checkpoint, the shape in current "
                                  f"model is {tuple(tensor.shape)}.")
                    continue
                loads.append((module, name, tensor, value))
            for key in state_dict:  # PyTorch's rule: a key is unexpected where its path ends
                if key.startswith(prefix):
                    head, dot, _ = key[len(prefix):].partition(".")
                    if (head not in module._modules) if dot else (head not in local):
                        unexpected.append(key)
        if strict:
            if unexpected:
                errors.insert(0, "Unexpected key(s) in state_dict: {}. ".format(
                    ", ".join(f'"{k}"' for k in unexpected)))
            if missing:
                errors.insert(0, "Missing key(s) in state_dict: {}. ".format(
                    ", ".join(f'"{k}"' for k in missing)))
        if errors:
            raise RuntimeError(f"Error(s) in loading state_dict for {type(self).__name__} "
                               "(nothing was loaded):\n\t" + "\n\t".join(errors))
        if assign:
            for module, name, tensor, value in loads:
                _assign(module, name, tensor, value)
        else:
            converted = [backend.to_device(value.astype(tensor.dtype, copy=True), tensor.device)
                         for _, _, tensor, value in loads]  # all converted before any write
            for (_, _, tensor, _), value in zip(loads, converted):
                tensor._write(value)  # in place, as PyTorch's copy_: the version goes up
        return _IncompatibleKeys(missing, unexpected)

    # ------------------------------------------------------------ printing

    def extra_repr(self):
        """The settings shown inside the repr (override in layers)."""
        return ""

    def _get_name(self):
        return type(self).__name__

    def __repr__(self):
        """PyTorch's layout: ``Name(extra)`` or one indented line per setting and child."""
        extra = self.extra_repr()
        extra_lines = extra.split("\n") if extra else []
        child_lines = [f"({name}): " + _addindent(repr(module), 2)
                       for name, module in self._modules.items()]
        if not child_lines and len(extra_lines) == 1:
            return f"{self._get_name()}({extra_lines[0]})"
        lines = extra_lines + child_lines
        body = "\n  " + "\n  ".join(lines) + "\n" if lines else ""
        return f"{self._get_name()}({body})"




def _loadable(value):
    """The array in a state dict value (Tensor, PyTorch tensor, array, list), or None."""
    if isinstance(value, Tensor):
        return value.array
    if backend.is_array(value):
        return value
    if all(hasattr(value, attr) for attr in ("detach", "cpu", "numpy")):  # a PyTorch tensor
        value = value.detach().cpu()
        if str(getattr(value, "dtype", "")) == "torch.bfloat16":  # NumPy has no bfloat16
            value = value.float()
        return value.numpy()
    try:
        array = np.asarray(value)
    except (TypeError, ValueError):
        return None
    return array if array.dtype.kind in "biufc" else None


def _assign(module, name, tensor, value):
    """``load_state_dict(assign=True)``: the module holds the given values themselves."""
    if isinstance(tensor, Parameter):
        module._parameters[name] = Parameter(Tensor(value), requires_grad=tensor.requires_grad)
    else:
        module._buffers[name] = Tensor(value)


def zero_grads(parameters, set_to_none=True):
    """Forget each parameter's gradient, or fill it with zeros in place (``Module`` and
    ``Optimizer`` both ``zero_grad`` through this)."""
    for p in parameters:
        if set_to_none or p.grad is None:
            p.grad = None
        else:
            p.grad.array.fill(0)


def array_of(value):
    """The array inside a Tensor, a CuPy array as it is, anything else through numpy.asarray."""
    return backend.as_array(value.array if isinstance(value, Tensor) else value)
