"""torch.jit: no TorchScript compiler here. ``script`` and ``trace`` give back what they are
given, so a program that compiles its model runs it uncompiled."""

from loopgrad import _missing


def script(obj, *args, **kwargs):
    return obj


def trace(func, example_inputs=None, *args, **kwargs):
    return func


def ignore(fn=None, **kwargs):
    return fn if fn is not None else (lambda f: f)


__all__ = ["ignore", "script", "trace"]


__getattr__ = _missing.missing_attributes("loopgrad.jit", "torch.jit")
