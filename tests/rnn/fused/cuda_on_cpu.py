"""Run CUDA kernels on the CPU: the same source, built with a C++ compiler.

A CUDA kernel is C++ plus a few keywords and the thread coordinates. Defining the
keywords away and making ``blockIdx``/``threadIdx`` globals that a loop sets turns a
kernel into a function called once per (block, thread) of the launch, one after another:
faithful for kernels whose threads never wait for each other. A kernel that calls
``__syncthreads()`` gets a real thread per CUDA thread of a block instead (blocks one after
another), and ``__syncthreads()`` is a ``std::barrier`` of the block's threads.

``cpu_kernel(source, name)`` has the signature of the ``compile`` that
``rnn.fused.cuda.CudaSteps`` takes: it returns a kernel callable as
``kernel(grid, block, args)``, as a CuPy RawKernel is. It checks what CuPy would not: every
pointer argument is a C-contiguous NumPy array of the kernel's dtype (int32 for ``int*``),
or ``numpy.intp(0)`` for NULL (never None, which some CuPy versions send as a garbage
address: cupy/cupy#9046); every ``int`` argument is a ``numpy.int32`` (CuPy sends a Python
int or a numpy.int64 as 64 bits); no launch is empty (CUDA refuses a grid of 0); and no
array passed as ``const`` changed.
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
#include <barrier>
#include <thread>
#include <vector>
struct ThreadCoordinates { unsigned x, y, z; };
static thread_local ThreadCoordinates threadIdx;
static ThreadCoordinates blockIdx, blockDim, gridDim;
static std::barrier<>* block_barrier;
static inline void __syncthreads() { block_barrier->arrive_and_wait(); }
#define __global__
#define __device__
#define __forceinline__ inline
"""
KERNEL = re.compile(r'extern "C" __global__ void (\w+)\(([^)]*)\)')
REAL = re.compile(r"typedef (float|double) real;")


FLAGS = ["-std=c++20", "-pthread", "-O1", "-ffp-contract=off", "-shared", "-fPIC"]


@functools.cache
def compiler():
    """The C++ compiler to build with (one that builds PRELUDE: C++20), or None."""
    path = shutil.which("g++") or shutil.which("c++")
    if path is None:
        return None
    with tempfile.TemporaryDirectory() as folder:
        probe = pathlib.Path(folder, "probe.cpp")
        probe.write_text(PRELUDE)
        built = subprocess.run([path, *FLAGS, "-o", str(probe.with_suffix(".so")), str(probe)],
                               capture_output=True)
    return path if built.returncode == 0 else None


def _parameters(text):
    """'const real* x, int t' -> [('const real*', 'x'), ('int', 't')]."""
    split = [re.match(r"\s*(.*?[\s*])(\w+)\s*$", p, re.S) for p in text.split(",")]
    return [(" ".join(m.group(1).split()), m.group(2)) for m in split]


def _launcher(name, parameters, synchronizes):
    """C++ for ``launch_<name>(grid, block, ...)``: the kernel once per (block, thread), the
    threads of a block one after another, or, for a kernel that ``synchronizes``, as
    threads of their own that meet at the block's barrier."""
    declared = ", ".join(f"{kind} {arg}" for kind, arg in parameters)
    call = f"{name}({', '.join(arg for _, arg in parameters)});"
    if synchronizes:
        block = (f"        std::barrier<> barrier(block);\n"
                 f"        block_barrier = &barrier;\n"
                 f"        std::vector<std::thread> threads;\n"
                 f"        for (unsigned i = 0; i < block; ++i)\n"
                 f"            threads.emplace_back([=] {{ threadIdx.x = i; {call} }});\n"
                 f"        for (auto& thread : threads) thread.join();\n")
    else:
        block = (f"        for (unsigned i = 0; i < block; ++i) {{\n"
                 f"            threadIdx.x = i; {call}\n"
                 f"        }}\n")
    return (f'extern "C" void launch_{name}(unsigned grid, unsigned block, {declared}) {{\n'
            f"    gridDim.x = grid; blockDim.x = block;\n"
            f"    for (unsigned b = 0; b < grid; ++b) {{\n"
            f"        blockIdx.x = b;\n{block}    }}\n}}\n")


def _body(source, start):
    """The text of the braced body that begins after ``start`` in ``source``."""
    opening = source.index("{", start)
    depth = 0
    for end in range(opening, len(source)):
        depth += {"{": 1, "}": -1}.get(source[end], 0)
        if depth == 0:
            return source[opening:end + 1]
    raise ValueError("unbalanced braces")


@functools.cache
def _build(source):
    """Compile ``source`` with its launchers; -> (library, {kernel name: parameters})."""
    kernels = {match.group(1): (_parameters(match.group(2)),
                                "__syncthreads" in _body(source, match.end()))
               for match in KERNEL.finditer(source)}
    code = PRELUDE + source + "".join(_launcher(n, p, s) for n, (p, s) in kernels.items())
    folder = pathlib.Path(tempfile.mkdtemp(prefix="cuda_on_cpu_"))
    (folder / "kernels.cpp").write_text(code)
    # -ffp-contract=off: no fused multiply-adds, each operation rounded as written
    subprocess.run([compiler(), *FLAGS, "-o",
                    str(folder / "kernels.so"), str(folder / "kernels.cpp")],
                   check=True, capture_output=True, text=True)
    return ctypes.CDLL(str(folder / "kernels.so")), kernels


class CpuKernel:
    """One kernel of a source, launched like a CuPy RawKernel: ``kernel(grid, block, args)``.
    ``launch`` (grid, block) replaces the launch size asked for, to test any size works."""

    def __init__(self, source, name, launch=None):
        library, kernels = _build(source)
        self.name, self.launch = name, launch
        self.parameters = kernels[name][0]
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
            elif type(arg) is np.intp and arg == 0:
                values.append(None)  # NULL, as rnn.fused.cuda passes it
            elif arg is None:
                raise TypeError(f"{where}: None for a pointer: CuPy may send it as a garbage "
                                "address (cupy/cupy#9046); pass numpy.intp(0) for NULL")
            else:
                dtype = np.dtype(np.int32) if kind.replace("const ", "") == "int*" else self.dtype
                if not (isinstance(arg, np.ndarray) and arg.flags.c_contiguous
                        and arg.dtype == dtype):
                    got = (f"a {arg.dtype} array, C-contiguous: {arg.flags.c_contiguous}"
                           if isinstance(arg, np.ndarray) else type(arg).__name__)
                    raise TypeError(f"{where}: expected a C-contiguous {dtype} array; "
                                    f"got {got}")
                values.append(arg.ctypes.data)
                if kind.startswith("const"):
                    constants.append((where, arg, arg.copy()))
        if grid[0] < 1 or block[0] < 1:  # CUDA refuses an empty launch
            raise RuntimeError(f"{self.name}: invalid configuration argument (grid {grid}, "
                               f"block {block})")
        grid, block = self.launch or (grid[0], block[0])
        self.function(grid, block, *values)
        for where, arg, before in constants:
            if not np.array_equal(arg, before, equal_nan=True):
                raise AssertionError(f"{where} is const but the kernel changed it")


def cpu_kernel(source, name, launch=None):
    """A ``compile`` for ``rnn.fused.cuda``: the kernel ``name`` of ``source``, on the CPU."""
    return CpuKernel(source, name, launch)
