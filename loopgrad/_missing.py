"""What loopgrad does not have says so: PyTorch's names we do not support raise an
AttributeError (or ModuleNotFoundError) that names the PyTorch name and what to use instead,
never Python's misleading "Did you mean ...?".

    HINTS                                    what to do instead, by PyTorch's full name
    missing_attributes(module_name, torch_name)   a module-level ``__getattr__``
    MissingModules                           the finder for ``loopgrad.<x>`` submodules
"""

import importlib.abc
import sys

_NOT_SUPPORTED = "is not supported by loopgrad (it runs PyTorch's recurrent-network grammar " \
                 "on NumPy and CuPy: see docs/pytorch.md)"


_CONVOLUTIONS = "(convolutions) is not supported: loopgrad is about recurrent networks"
HINTS = {
    "torch.compile": "(a compiler) does not exist here: call the model itself",
    "torch.distributed": "does not exist here: change the imports back to torch to go "
                         "distributed",
    "torch.autograd.Function": "(custom ops with ctx and static methods) is not supported yet: "
                               "subclass engine.Function (forward and backward on arrays; see "
                               "docs/custom.md)",
    "torch.nn.Conv1d": _CONVOLUTIONS,
    "torch.nn.Conv2d": _CONVOLUTIONS,
    "torch.nn.DataParallel": "does not exist here (one device): call the model itself",
}


def _message(torch_name):
    return f"PyTorch's {torch_name} " + HINTS.get(torch_name, _NOT_SUPPORTED)


def missing_attributes(module_name, torch_name):
    """A ``__getattr__`` for the module ``module_name``, standing for PyTorch's ``torch_name``:
    an AttributeError naming ``torch_name.<name>`` and, from ``HINTS``, what to use instead."""

    def __getattr__(name):
        message = f"module {module_name!r} has no attribute {name!r}"
        if not (name.startswith("__") and name.endswith("__")):  # not Python's own probing
            message += ": " + _message(f"{torch_name}.{name}")
        # name and obj set here keep Python from appending a "Did you mean ...?"
        raise AttributeError(message, name=name, obj=_NO_SUGGESTIONS)

    return __getattr__


class _NoSuggestions:
    def __dir__(self):
        return []


_NO_SUGGESTIONS = _NoSuggestions()


class MissingModules(importlib.abc.MetaPathFinder):
    """Last on ``sys.meta_path``: a ``loopgrad.<x>`` module that nothing else found is one of
    PyTorch's modules that loopgrad does not have; say so."""

    def find_spec(self, fullname, path=None, target=None):
        if fullname.startswith("loopgrad."):
            torch_name = "torch" + fullname[len("loopgrad"):]
            raise ModuleNotFoundError(f"No module named {fullname!r}: " + _message(torch_name),
                                      name=fullname)
        return None


def install():
    if not any(isinstance(finder, MissingModules) for finder in sys.meta_path):
        sys.meta_path.append(MissingModules())
