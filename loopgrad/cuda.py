"""torch.cuda: whether a GPU is here, and the few calls programs make around it.

Random numbers for CUDA tensors are drawn on the CPU from the default generator
and moved (engine.random), so ``loopgrad.manual_seed`` seeds them too and
``cuda.manual_seed`` has nothing left to seed.
"""

from engine import backend
from loopgrad import _missing


def is_available():
    return backend.cuda_available()


def device_count():
    return backend.device_count()


def current_device():
    if not is_available():
        backend.get_cupy()  # raises, saying what is missing
    return backend.get_cupy().cuda.runtime.getDevice()


def get_device_name(device=None):
    index = backend.device(device if device is not None else "cuda:0").index or 0
    properties = backend.get_cupy().cuda.runtime.getDeviceProperties(index)
    return properties["name"].decode()


def synchronize(device=None):
    if is_available():
        backend.get_cupy().cuda.Device().synchronize()


def empty_cache():
    if is_available():
        backend.get_cupy().get_default_memory_pool().free_all_blocks()


def manual_seed(seed):
    """Accepted; CUDA tensors' random numbers come from the CPU default generator
    (``loopgrad.manual_seed`` seeds them)."""


manual_seed_all = manual_seed

__all__ = ["current_device", "device_count", "empty_cache", "get_device_name", "is_available",
           "manual_seed", "manual_seed_all", "synchronize"]

__getattr__ = _missing.missing_attributes("loopgrad.cuda", "torch.cuda")
