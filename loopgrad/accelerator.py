"""torch.accelerator (PyTorch 2.6+): the one accelerator here is a CUDA GPU through CuPy."""

from engine import backend
from loopgrad import _missing


def is_available():
    return backend.cuda_available()


def current_accelerator(check_available=False):
    """``device('cuda')`` when a GPU is usable, else None (as PyTorch on a CPU-only machine)."""
    return backend.device("cuda") if backend.cuda_available() else None


def device_count():
    return backend.device_count()


__all__ = ["current_accelerator", "device_count", "is_available"]


__getattr__ = _missing.missing_attributes("loopgrad.accelerator", "torch.accelerator")
