"""Looking inside backward: tensor hooks, and anomaly mode.

    RemovableHandle    what ``register_hook`` returns; ``remove()`` undoes it
    RetainGrad         the hook ``retain_grad()`` registers (it runs after the others)
    leaf_hooks         the hooks of leaf tensors, keyed (weakly) by tensor
    run_hooks          a gradient passed through a tensor's hooks
    detect_anomaly     check every op's output, forward and backward, for NaN and inf
    set_detect_anomaly, is_anomaly_enabled

A hook of a non-leaf tensor lives on the node that made it (``node.hooks``, by output
index), a leaf's in ``leaf_hooks``; the backward walk calls them with the tensor's whole
gradient, once it is summed, before it flows on. Nothing here costs anything while no
hook is registered and anomaly mode is off: the walk tests one attribute per node.
"""

import contextlib
import functools
import linecache
import os
import sys
import weakref

from engine import backend


class _ByIdentity:
    """A mapping keyed by object identity that forgets an object once it is collected.
    (A WeakKeyDictionary compares keys with ==, which for tensors is elementwise.)"""

    def __init__(self):
        self._items = {}  # id -> (weak reference, value)

    def __bool__(self):
        return bool(self._items)

    def get(self, obj):
        entry = self._items.get(id(obj))
        return entry[1] if entry is not None and entry[0]() is obj else None

    def setdefault(self, obj, default):
        found = self.get(obj)
        if found is not None:
            return found
        key = id(obj)
        self._items[key] = (weakref.ref(obj, lambda _, key=key: self._items.pop(key, None)),
                            default)
        return default


leaf_hooks = _ByIdentity()  # leaf Tensor -> [hook, ...]


class RemovableHandle:
    """Undoes one registration: ``handle.remove()`` (also as a context manager's exit)."""

    def __init__(self, hooks, hook):
        self._hooks, self._hook = hooks, hook

    def remove(self):
        if self._hook in self._hooks:
            self._hooks.remove(self._hook)

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.remove()


class RetainGrad:
    """The hook of ``retain_grad()``: keep the gradient in the tensor's ``.grad``."""

    def __init__(self, tensor):
        self.tensor = tensor

    def __call__(self, grad):
        self.tensor._accumulate(grad.array)


def run_hooks(hooks, grad, wrap, capturing):
    """``grad`` (an array) after ``hooks``: each is called with the gradient as a Tensor
    (``wrap``) and may return a replacement of the same shape; retain_grad's run last
    (and not while ``capturing``, for ``autograd.grad``, which fills no ``.grad``)."""
    for hook in hooks:
        if isinstance(hook, RetainGrad):
            continue
        replaced = hook(wrap(grad))
        if replaced is not None:
            array = getattr(replaced, "array", replaced)
            if getattr(array, "shape", None) != grad.shape:
                raise RuntimeError(f"hook {getattr(hook, '__name__', hook)!r} returned a "
                                   f"gradient of shape {getattr(array, 'shape', None)}; "
                                   f"expected {grad.shape}")
            grad = array
    if not capturing:
        for hook in hooks:
            if isinstance(hook, RetainGrad):
                hook(wrap(grad))
    return grad


# ---------------------------------------------------------------- anomaly mode


class _Anomaly:
    enabled = False
    check_inf = True


def is_anomaly_enabled():
    return _Anomaly.enabled


@contextlib.contextmanager
def detect_anomaly(check_nan=True, check_inf=True):
    """Inside, every op's output is checked as it is made, in forward and in backward, and
    the first one with a NaN (or an inf, unless ``check_inf=False``: attention masks of
    -inf make infs on purpose) raises a RuntimeError naming the op, its inputs' shapes
    and dtypes, and the line of your code that called it. Slow: for finding a NaN.

    PyTorch checks only backward, and its report comes far from the cause; this names
    the op where the first non-finite value appears.
    """
    previous = (_Anomaly.enabled, _Anomaly.check_inf)
    _Anomaly.enabled, _Anomaly.check_inf = bool(check_nan), bool(check_inf)
    try:
        yield
    finally:
        _Anomaly.enabled, _Anomaly.check_inf = previous


def set_detect_anomaly(mode, check_nan=True, check_inf=True):
    """Turn anomaly mode on or off (PyTorch's ``torch.autograd.set_detect_anomaly``)."""
    _Anomaly.enabled, _Anomaly.check_inf = bool(mode) and check_nan, bool(check_inf)


@functools.cache
def _library_folders():
    here = os.path.dirname(os.path.abspath(__file__))  # engine/
    root = os.path.dirname(here)
    return tuple(os.path.join(root, name) + os.sep for name in ("engine", "nn", "rnn",
                                                                 "loopgrad"))


def user_line():
    """'file:line: code' of the innermost caller outside engine, nn, rnn and loopgrad."""
    frame = sys._getframe(1)
    folders = _library_folders()
    while frame is not None and os.path.abspath(frame.f_code.co_filename).startswith(folders):
        frame = frame.f_back
    if frame is None:
        return "(no caller outside the library)"
    code = linecache.getline(frame.f_code.co_filename, frame.f_lineno).strip()
    return f"{frame.f_code.co_filename}:{frame.f_lineno}: {code}"


def non_finite(array):
    """'NaN' or 'inf' if the float ``array`` (or NumPy scalar) holds one that anomaly mode
    looks for, else None."""
    if array.dtype.kind not in "fc" or not array.size:
        return None
    xp = backend.xp_of(array)
    if bool(xp.isnan(array).any()):
        return "NaN"
    if _Anomaly.check_inf and not bool(xp.isfinite(array).all()):
        return "inf"
    return None


def report(op_name, where, value, inputs, line):
    """The error anomaly mode raises: the op, where the value appeared, its inputs, the line."""
    shapes = ", ".join(f"{tuple(t.shape)} {t.dtype}" for t in inputs) or "none"
    return RuntimeError(f"detect_anomaly: {op_name} made {value} in its {where} (inputs: "
                        f"{shapes}); it was called at {line}")
