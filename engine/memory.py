"""How the host's allocator treats array memory: a training step's freed arrays are kept
for the next step's, instead of going back to the kernel and faulting in anew.

A training step allocates and frees the same large arrays every step: a layer's gates
over the sequence, the activations of a batch, their gradients. NumPy takes their memory
from ``malloc``, and glibc's serves a request above its mmap threshold (128 KiB at first,
raised as such blocks are freed) with fresh pages from the kernel, and returns the free
memory at the top of its heap to the kernel once it exceeds the trim threshold (twice the
mmap threshold). Each step's arrays then fault in again, one page fault per 4 KiB page: a
step of yunjey's language model at the corpus's sizes took 415 faults, and 11.3 to 11.8 ms
against 8.5 to 9.4 ms without them, on the 2-core machine of docs/performance.md. Fixing
both thresholds at the bound that glibc's own adjustment stops at (32 MiB for the mmap
threshold, twice that for the trim threshold) keeps freed memory in the heap for the next
step, as jemalloc or tcmalloc would (PyTorch's performance tuning guide recommends
preloading one of them for this reason).

``engine`` applies this when it is imported, on Linux with glibc only, and leaves glibc's
defaults alone where the environment already tunes malloc (``MALLOC_MMAP_THRESHOLD_``,
``MALLOC_TRIM_THRESHOLD_`` or ``GLIBC_TUNABLES``: the user's choice wins) or where
``LOOPGRAD_HOST_MALLOC=default`` asks for them. ``policy()`` says which is in force. The
cost: up to 64 MiB of freed memory stays with the process instead of going back to the
kernel, and arrays under 32 MiB share the heap rather than each having its own mapping.
"""

import ctypes
import os
import sys

MMAP_THRESHOLD = 32 * 1024 * 1024  # glibc's DEFAULT_MMAP_THRESHOLD_MAX on 64-bit
TRIM_THRESHOLD = 2 * MMAP_THRESHOLD  # the ratio glibc's own adjustment keeps
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3  # mallopt's parameters (malloc.h)
_USER_SETTINGS = ("MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_", "GLIBC_TUNABLES")

_policy = "default: not applied yet"


def policy():
    """The policy in force: "keep freed memory" (this module's thresholds) or
    "default: <why>" (glibc's, or not glibc)."""
    return _policy


def keep_freed_memory():
    """Set glibc's mmap and trim thresholds (module text) unless the environment says
    otherwise; return ``policy()``. Called once, by ``import engine``."""
    global _policy
    _policy = _applied()
    return _policy


def glibc_mallopt():
    """glibc's ``mallopt`` through ctypes, or None where the C library is not glibc (on
    Linux only: musl's mallopt does nothing, and other systems' allocators differ)."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(None)
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return None
    if not hasattr(libc, "gnu_get_libc_version"):  # glibc's alone
        return None
    mallopt.argtypes, mallopt.restype = (ctypes.c_int, ctypes.c_int), ctypes.c_int
    return mallopt


def _applied():
    if os.environ.get("LOOPGRAD_HOST_MALLOC") == "default":
        return "default: LOOPGRAD_HOST_MALLOC=default"
    chosen = [name for name in _USER_SETTINGS if name in os.environ]
    if chosen:
        return f"default: the environment sets {', '.join(chosen)}"
    mallopt = glibc_mallopt()
    if mallopt is None:
        return f"default: not glibc on Linux ({sys.platform})"
    if not (mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD)
            and mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD)):
        return "default: glibc refused the thresholds"
    return "keep freed memory"
