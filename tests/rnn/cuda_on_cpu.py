"""Run CUDA kernels on the CPU: the same source, built with a C++ compiler.

A CUDA kernel is C++ plus a few keywords and the thread coordinates. Defining the
keywords away and making ``blockIdx``/``threadIdx`` globals that a loop sets turns a
kernel into a function called once per (block, thread) of the launch, one after another.
That is faithful for kernels whose threads never wait for each other (no shared memory,
no ``__syncthreads``), which is what ``rnn.fused_kernels`` writes.

``cpu_kernel(source, name)`` has the signature of ``rnn.fused_kernels``' ``compile``: it
returns a kernel callable as ``kernel(grid, block, args)``, as a CuPy RawKernel is. It
checks what CuPy would not: every pointer argument is a C-contiguous NumPy array of the
kernel's dtype, or None; every ``int`` argument is a ``numpy.int32`` (CuPy sends a Python
int as 64 bits); and no array passed as ``const`` changed.
"""

import ctypes
import functools
import pathlib
import re
import shutil
import subprocess
import tempfile

import numpy as np

PRELUDE = r"""
#include <math.h>
struct ThreadCoordinates { unsigned x, y, z; };
static ThreadCoordinates threadIdx, blockIdx, blockDim, gridDim;
#define __global__
#define __device__
#define __forceinline__ inline
"""
KERNEL = re.compile(r'extern "C" __global__ void (\w+)\(([^)]*)\)')
REAL = re.compile(r"typedef (float|double) real;")


def compiler():
    """The C++ compiler to build with, or None."""
    return shutil.which("g++") or shutil.which("c++")


def _parameters(text):
    """'const real* x, int t' -> [('const real*', 'x'), ('int', 't')]."""
    split = [re.match(r"\s*(.*?[\s*])(\w+)\s*$", p, re.S) for p in text.split(",")]
    return [(" ".join(m.group(1).split()), m.group(2)) for m in split]


def _launcher(name, parameters):
    """C++ for ``launch_<name>(grid, block, ...)``: the kernel once per (block, thread)."""
    declared = ", ".join(f"{kind} {arg}" for kind, arg in parameters)
    passed = ", ".join(arg for _, arg in parameters)
    return (f'extern "C" void launch_{name}(unsigned grid, unsigned block, {declared}) {{\n'
            f"    gridDim.x = grid; blockDim.x = block;\n"
            f"    for (unsigned b = 0; b < grid; ++b)\n"
            f"        for (unsigned i = 0; i < block; ++i) {{\n"
            f"            blockIdx.x = b; threadIdx.x = i; {name}({passed});\n"
            f"        }}\n}}\n")


@functools.cache
def _build(source):
    """Compile ``source`` with its launchers; -> (library, {kernel name: parameters})."""
    kernels = {name: _parameters(text) for name, text in KERNEL.findall(source)}
    code = PRELUDE + source + "".join(_launcher(n, p) for n, p in kernels.items())
    folder = pathlib.Path(tempfile.mkdtemp(prefix="cuda_on_cpu_"))
    (folder / "kernels.cpp").write_text(code)
    # -ffp-contract=off: no fused multiply-adds, each operation rounded as written
    subprocess.run([compiler(), "-O1", "-ffp-contract=off", "-shared", "-fPIC", "-o",
                    str(folder / "kernels.so"), str(folder / "kernels.cpp")],
                   check=True, capture_output=True, text=True)
    return ctypes.CDLL(str(folder / "kernels.so")), kernels


class CpuKernel:
    """One kernel of a source, launched like a CuPy RawKernel: ``kernel(grid, block, args)``.
    ``launch`` (grid, block) replaces the launch size asked for, to test any size works."""

    def __init__(self, source, name, launch=None):
        library, kernels = _build(source)
        self.name, self.parameters, self.launch = name, kernels[name], launch
        self.dtype = np.dtype(np.float32 if REAL.search(source).group(1) == "float" else np.float64)
        self.function = getattr(library, f"launch_{name}")
        self.function.restype = None
        self.function.argtypes = [ctypes.c_uint, ctypes.c_uint] + [
            ctypes.c_void_p if "*" in kind else ctypes.c_int for kind, _ in self.parameters]

    def __call__(self, grid, block, args):
        if len(args) != len(self.parameters):
            raise TypeError(f"{self.name}: {len(self.parameters)} arguments expected, "
                            f"{len(args)} given")
        values, constants = [], []
        for (kind, arg_name), arg in zip(self.parameters, args):
            where = f"{self.name}({arg_name})"
            if "*" not in kind:
                if type(arg) is not np.int32:
                    raise TypeError(f"{where}: expected numpy.int32 for {kind}; got "
                                    f"{type(arg).__name__}")
                values.append(int(arg))
            elif arg is None:
                values.append(None)
            else:
                if not (isinstance(arg, np.ndarray) and arg.flags.c_contiguous
                        and arg.dtype == self.dtype):
                    got = (f"a {arg.dtype} array, C-contiguous: {arg.flags.c_contiguous}"
                           if isinstance(arg, np.ndarray) else type(arg).__name__)
                    raise TypeError(f"{where}: expected a C-contiguous {self.dtype} array; "
                                    f"got {got}")
                values.append(arg.ctypes.data)
                if kind.startswith("const"):
                    constants.append((where, arg, arg.copy()))
        grid, block = self.launch or (grid[0], block[0])
        self.function(grid, block, *values)
        for where, arg, before in constants:
            if not np.array_equal(arg, before, equal_nan=True):
                raise AssertionError(f"{where} is const but the kernel changed it")


def cpu_kernel(source, name, launch=None):
    """``rnn.fused_kernels``' ``compile``: the kernel ``name`` of ``source``, on the CPU."""
    return CpuKernel(source, name, launch)
