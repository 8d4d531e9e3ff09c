"""Module and Parameter: the containers every layer and model is built from.

Contents: Parameter, Module, ModuleList.

A Module registers what is assigned to it: a Parameter into ``_parameters``,
a Module into ``_modules``, in assignment order (a dict, never a set, so
parameter order never depends on hashing). Everything else that walks a
model (``named_parameters``, ``state_dict``, ``to``, ``train``) follows those
two dicts, so a model is found the same way every time.
"""

from collections import OrderedDict, namedtuple

import numpy as np

from engine import Tensor, backend


class Parameter(Tensor):
    """A leaf Tensor that requires grad, registered by the Module it is assigned to.

    >>> w = Parameter(np.zeros((2, 3), dtype=np.float32))
    >>> w.requires_grad, w.shape
    (True, (2, 3))
    """

    __slots__ = ()

    def __init__(self, data, requires_grad=True):
        if isinstance(data, Tensor):
            data = data.array
        super().__init__(data, requires_grad=requires_grad)

    def __repr__(self):
        return "Parameter containing:\n" + super().__repr__()


IncompatibleKeys = namedtuple("IncompatibleKeys", ["missing_keys", "unexpected_keys"])


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

    def __init__(self):
        object.__setattr__(self, "_parameters", OrderedDict())
        object.__setattr__(self, "_buffers", OrderedDict())
        object.__setattr__(self, "_modules", OrderedDict())
        object.__setattr__(self, "training", True)

    # ------------------------------------------------------------ registration

    def __setattr__(self, name, value):
        if "_parameters" not in self.__dict__:
            raise AttributeError(
                f"cannot assign {name!r} before Module.__init__() is called in "
                f"{type(self).__name__}"
            )
        plain_tensor = isinstance(value, Tensor) and not isinstance(value, Parameter)
        if name in self._buffers and (value is None or plain_tensor):
            self._buffers[name] = value  # a buffer stays a buffer when its value is replaced
        else:
            for registry in (self._parameters, self._buffers, self._modules):
                registry.pop(name, None)
            if isinstance(value, Parameter):
                self._parameters[name] = value
            elif isinstance(value, Module):
                self._modules[name] = value
        object.__setattr__(self, name, value)

    def __delattr__(self, name):
        for registry in (self._parameters, self._buffers, self._modules):
            registry.pop(name, None)
        object.__delattr__(self, name)

    def register_buffer(self, name, tensor):
        """A Tensor that is part of the state (saved, moved by ``to``) but not trained."""
        self.__setattr__(name, tensor)
        self._buffers[name] = tensor

    # ------------------------------------------------------------ calling

    def forward(self, *args, **kwargs):
        raise NotImplementedError(f"{type(self).__name__} does not define forward()")

    def __call__(self, *args, **kwargs):
        return self.forward(*args, **kwargs)

    # ------------------------------------------------------------ walking the tree

    def named_modules(self, prefix="", remove_duplicate=True):
        """(dotted name, module) for this module and every descendant, depth first.

        A module reachable by two paths is listed once, unless ``remove_duplicate=False``.
        """
        stack, seen = [(prefix, self)], set()
        while stack:
            name, module = stack.pop()
            if remove_duplicate and id(module) in seen:
                continue
            seen.add(id(module))
            yield name, module
            children = [(f"{name}.{key}" if name else key, child)
                        for key, child in module._modules.items() if child is not None]
            stack.extend(reversed(children))

    def modules(self):
        return (module for _, module in self.named_modules())

    def named_children(self):
        return ((name, m) for name, m in self._modules.items() if m is not None)

    def children(self):
        return (module for _, module in self.named_children())

    def _named(self, registry_name, recurse=True):
        seen = set()
        walk = self.named_modules() if recurse else [("", self)]
        for prefix, module in walk:
            for name, value in getattr(module, registry_name).items():
                if value is None or id(value) in seen:
                    continue
                seen.add(id(value))  # a shared parameter is listed once
                yield (f"{prefix}.{name}" if prefix else name), value

    def named_parameters(self, recurse=True):
        """(dotted name, Parameter) in registration order, e.g. ``('0.weight', ...)``."""
        return self._named("_parameters", recurse)

    def parameters(self, recurse=True):
        return (p for _, p in self.named_parameters(recurse))

    def named_buffers(self, recurse=True):
        return self._named("_buffers", recurse)

    def buffers(self, recurse=True):
        return (b for _, b in self.named_buffers(recurse))

    # ------------------------------------------------------------ modes and moves

    def train(self, mode=True):
        """Training mode (dropout active) for this module and all below; returns self."""
        for module in self.modules():
            object.__setattr__(module, "training", bool(mode))
        return self

    def eval(self):
        return self.train(False)

    def zero_grad(self, set_to_none=True):
        """Forget every parameter's gradient (or fill it with zeros, in place)."""
        zero_grads(self.parameters(), set_to_none)

    def apply(self, fn):
        """Call ``fn(module)`` on every sub-module, then on this one; returns self."""
        for module in self.children():
            module.apply(fn)
        fn(self)
        return self

    def to(self, device=None, dtype=None):
        """Move (and/or cast to a float ``dtype``) every parameter, gradient and buffer, in place.

        Parameters stay the same objects, so an optimizer built before still holds them
        (its state arrays follow them at its next step).
        """
        if dtype is not None and np.dtype(dtype).kind != "f":
            raise TypeError(f"{type(self).__name__}.to: dtype must be a float dtype; got "
                            f"{np.dtype(dtype)}")

        def convert(array):
            if dtype is not None and array.dtype.kind == "f":
                array = array.astype(dtype)
            return array if device is None else backend.to_device(array, device)

        if device is not None:
            backend.parse_device(device)
        for tensor in [*self.parameters(), *self.buffers()]:
            tensor.array = convert(tensor.array)
            if tensor.grad is not None:
                tensor.grad.array = convert(tensor.grad.array)
        return self

    def double(self):
        return self.to(dtype=np.float64)

    def float(self):
        return self.to(dtype=np.float32)

    # ------------------------------------------------------------ state

    def _state_tensors(self):
        """name -> Tensor of every parameter and buffer, in PyTorch's order (each module's
        parameters, then its buffers, then its children's); a shared one under each name."""
        state = OrderedDict()
        for prefix, module in self.named_modules(remove_duplicate=False):
            for name, tensor in [*module._parameters.items(), *module._buffers.items()]:
                if tensor is not None:
                    state[f"{prefix}.{name}" if prefix else name] = tensor
        return state

    def state_dict(self):
        """Ordered name -> NumPy array (a copy, from the GPU where needed) of every
        parameter and buffer.

        Names and layouts are PyTorch's, so ``{k: v.numpy() for k, v in
        torch_model.state_dict().items()}`` loads into the matching model here.
        A parameter shared by two sub-modules appears under both names, as in PyTorch.

        >>> class Affine(Module):
        ...     def __init__(self):
        ...         super().__init__()
        ...         self.weight = Parameter(np.ones((2, 2), dtype=np.float32))
        >>> {name: a.shape for name, a in Affine().state_dict().items()}
        {'weight': (2, 2)}
        """
        return OrderedDict(
            (name, np.array(backend.to_numpy(tensor.array), copy=True))
            for name, tensor in self._state_tensors().items()
        )

    def load_state_dict(self, state_dict, strict=True):
        """Copy arrays into the parameters and buffers; returns (missing_keys, unexpected_keys).

        Values may be anything ``numpy.asarray`` takes (a PyTorch tensor, a list),
        a CuPy array or a Tensor. Each parameter keeps its dtype, device and identity.
        A missing or an unexpected key (when ``strict``) or a wrong shape (always)
        raises a ValueError naming every offending key, and the two shapes of each
        wrong one, before anything is changed.
        """
        own = self._state_tensors()
        arrays = OrderedDict((name, backend.to_numpy(array_of(value)))
                             for name, value in state_dict.items())
        missing = [name for name in own if name not in arrays]
        unexpected = [name for name in arrays if name not in own]
        wrong_shape = [
            f"{name}: expected shape {own[name].shape}, got {arrays[name].shape}"
            for name in own
            if name in arrays and arrays[name].shape != own[name].shape
        ]
        problems = []
        if strict and missing:
            problems.append(f"missing keys: {missing}")
        if strict and unexpected:
            problems.append(f"unexpected keys: {unexpected}")
        if wrong_shape:
            problems.append("wrong shapes: " + "; ".join(wrong_shape))
        if problems:
            raise ValueError(
                f"load_state_dict into {type(self).__name__} failed, nothing was loaded: "
                + " | ".join(problems)
            )
        converted = {name: arrays[name].astype(tensor.dtype, copy=True)  # all converted first
                     for name, tensor in own.items() if name in arrays}
        for name, value in converted.items():  # in place, as PyTorch: the version goes up
            own[name]._write(backend.to_device(value, own[name].device))
        return IncompatibleKeys(missing, unexpected)

    # ------------------------------------------------------------ printing

    def extra_repr(self):
        """One line of settings shown inside the repr (override in layers)."""
        return ""

    def __repr__(self):
        """PyTorch's layout: ``Name(extra)`` or one indented line per setting and child."""
        extra = self.extra_repr()
        lines = extra.split("\n") if extra else []
        children = [f"({name}): " + repr(m).replace("\n", "\n  ")
                    for name, m in self.named_children()]
        if not children and len(lines) <= 1:
            return f"{type(self).__name__}({extra})"
        return f"{type(self).__name__}(\n  " + "\n  ".join(lines + children) + "\n)"


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


class ModuleList(Module):
    """A list of modules, registered under the names '0', '1', ...

    >>> layers = ModuleList([Module(), Module()])
    >>> len(layers), [name for name, _ in layers.named_children()]
    (2, ['0', '1'])
    """

    def __init__(self, modules=()):
        super().__init__()
        for module in modules:
            self.append(module)

    def append(self, module):
        if not isinstance(module, Module):
            raise TypeError(f"ModuleList holds Modules; got {type(module).__name__}")
        self.__setattr__(str(len(self._modules)), module)
        return self

    def extend(self, modules):
        for module in modules:
            self.append(module)
        return self

    def __getitem__(self, index):
        modules = list(self._modules.values())
        if isinstance(index, slice):
            return ModuleList(modules[index])
        return modules[index]

    def __len__(self):
        return len(self._modules)

    def __iter__(self):
        return iter(self._modules.values())
