"""Training-step time of recurrent layers: our fused ops against our composed layer and PyTorch.

One training step is the forward pass over the whole sequence and the backward pass
of ``output.sum()`` into every weight (no optimizer, gradients reset before each
step), float32, one layer, one direction, zero initial state. Contenders, each timed
in this process, interleaved, median over ``--repeats`` steps:

    fused        the rnn.LSTM / rnn.GRU layer as it comes (fused=True: one autograd node)
    arrays, gates, step, sequence
                 on the GPU, the fused layer with its steps run each way of
                 rnn.fused.WAYS (fused takes "sequence" or "gates" by size)
    composed     the rnn.LSTM / rnn.GRU layer with fused=False (unroll over the cells)
    torch        PyTorch's nn.LSTM / nn.GRU, cuDNN on the GPU (when PyTorch is installed)
    torch cells  a Python loop over nn.LSTMCell / nn.GRUCell (when PyTorch is installed)

Shapes are (B, T, I, H). Threads: ``--threads`` (default 2) for BLAS (threadpoolctl,
or the environment variables read when NumPy loads) and for PyTorch. On the GPU, TF32 is
turned off in PyTorch's cuDNN and cuBLAS (cuDNN's default is on, and our side computes
in full FP32; ``--allow-tf32`` keeps PyTorch's defaults), and the header names the GPU,
the cuDNN version and the precision flags as read back. Then the peak
memory of a fused training step (tracemalloc, CPU) at two sequence lengths, and the
memory per time step it implies. Run:

    python -m experiments.bench_rnn --repeats 7
    python -m experiments.bench_rnn --shapes 32,50,64,256 --kinds lstm
    python -m experiments.bench_rnn --device cuda --repeats 21
"""

import argparse
import contextlib
import os
import statistics
import sys
import time
from pathlib import Path

if not __package__:  # run as a file (python experiments/NAME.py): the repository on the path
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    import experiments  # noqa: F401  (first: it asks for one BLAS thread before NumPy loads)

from experiments import THREAD_VARIABLES

SHAPES = [(1, 20, 8, 16), (32, 50, 64, 128), (32, 50, 64, 256), (64, 100, 128, 512),
          (256, 100, 256, 1024)]
CPU_SHAPES = 3  # the last two take minutes on a CPU: --all includes them
GPU_WAYS = ("arrays", "gates", "step", "sequence")  # rnn.fused.WAYS, timed apart
GPU_TARGETS = dict(zip(SHAPES, (0.5, 1.0, 1.5, 1.5, 1.0)))  # fused LSTM / cuDNN, at most


def limit_threads(threads):
    """Ask BLAS for ``threads`` threads: through the environment if NumPy is not loaded yet
    (its BLAS reads it when loading), then through threadpoolctl if installed. Returns how,
    in words."""
    how = "unchanged (NumPy was loaded first and threadpoolctl is not installed)"
    if "numpy" not in sys.modules:
        for variable in THREAD_VARIABLES:
            os.environ[variable] = str(threads)
        how = "environment variables " + "/".join(THREAD_VARIABLES)
    import numpy  # noqa: F401  (loads BLAS, so that threadpoolctl sees it)

    try:
        from threadpoolctl import threadpool_info, threadpool_limits
    except ImportError:
        return f"BLAS: {how}"
    threadpool_limits(threads)
    libraries = ", ".join(f"{p['internal_api']} {p['num_threads']}" for p in threadpool_info())
    return f"BLAS: threadpoolctl ({libraries})"


# ---------------------------------------------------------------- contenders


def ours(kind, shape, device, fused, way=None):
    """A training step of our layer (``fused=True`` or the composed ``fused=False``), as a
    function of no arguments; ``way`` forces how the fused op runs its steps."""
    import numpy as np

    import engine
    import rnn
    from rnn.fused import use_way

    batch, steps, inputs, hidden = shape
    rng = np.random.default_rng(0)
    layer = {"lstm": rnn.LSTM, "gru": rnn.GRU}[kind](inputs, hidden, fused=fused, rng=rng,
                                                    device=device)
    x = engine.randn(steps, batch, inputs, rng=rng, device=device)
    params = list(layer.parameters())

    def step():
        for p in params:
            p.grad = None
        with use_way(way) if way else contextlib.nullcontext():
            output, _ = layer(x)
            output.sum().backward()

    return step


def pytorch(torch, kind, shape, device, cells):
    """A training step of PyTorch's layer, or of a loop over its cell."""
    batch, steps, inputs, hidden = shape
    torch.manual_seed(0)
    module = {("lstm", False): torch.nn.LSTM, ("gru", False): torch.nn.GRU,
              ("lstm", True): torch.nn.LSTMCell, ("gru", True): torch.nn.GRUCell}[kind, cells]
    module = module(inputs, hidden).to(device)
    x = torch.randn(steps, batch, inputs, device=device)

    def step():
        module.zero_grad(set_to_none=True)
        if not cells:
            output, _ = module(x)
            output.sum().backward()
            return
        h = c = torch.zeros(batch, hidden, device=device)
        outputs = []
        for t in range(steps):
            if kind == "lstm":
                h, c = module(x[t], (h, c))
            else:
                h = module(x[t], h)
            outputs.append(h)
        torch.stack(outputs).sum().backward()

    return step


def median_ms(steps, repeats, synchronize, clock=time.perf_counter):
    """{name: median milliseconds} of each step function, run in turns (one warm-up each)."""
    times = {name: [] for name in steps}
    for round_ in range(repeats + 1):
        for name, step in steps.items():
            synchronize()
            start = clock()
            step()
            synchronize()
            if round_:
                times[name].append(clock() - start)
    return {name: statistics.median(t) * 1e3 for name, t in times.items()}


# ---------------------------------------------------------------- GPU precision


def full_fp32(torch):
    """Turn TF32 off in PyTorch's cuDNN and cuBLAS, so that cuDNN computes in FP32 as our
    kernels do: PyTorch's fp32_precision settings where they exist (PyTorch 2.9 and later,
    which refuse a mix of the two APIs), else the allow_tf32 flags."""
    b = torch.backends
    if hasattr(b, "fp32_precision"):
        for settings in (b, b.cuda.matmul, b.cudnn, getattr(b.cudnn, "rnn", None),
                         getattr(b.cudnn, "conv", None)):
            if settings is not None:
                settings.fp32_precision = "ieee"
    else:
        b.cudnn.allow_tf32 = False
        b.cuda.matmul.allow_tf32 = False


def precision_flags(torch):
    """PyTorch's float32 precision settings as read back, in words."""
    b = torch.backends
    if hasattr(b, "fp32_precision"):
        reads = {"fp32_precision": lambda: b.fp32_precision,
                 "matmul": lambda: b.cuda.matmul.fp32_precision,
                 "cudnn": lambda: b.cudnn.fp32_precision,
                 "cudnn.rnn": lambda: b.cudnn.rnn.fp32_precision}
    else:
        reads = {"cudnn.allow_tf32": lambda: b.cudnn.allow_tf32,
                 "matmul.allow_tf32": lambda: b.cuda.matmul.allow_tf32}
    words = []
    for name, read in reads.items():
        try:
            words.append(f"{name}={read()}")
        except (AttributeError, RuntimeError) as error:  # a setting this PyTorch lacks
            words.append(f"{name}=<{type(error).__name__}>")
    return " ".join(words)


def gpu_header(cupy, torch):
    """A line naming the GPU, CuPy's TF32 setting, the cuDNN version and PyTorch's float32
    precision flags (torch None: no PyTorch)."""
    device = cupy.cuda.Device()
    name = cupy.cuda.runtime.getDeviceProperties(device.id)["name"]
    name = name.decode() if isinstance(name, bytes) else name
    line = (f"GPU {device.id}: {name}, compute capability {device.compute_capability}; "
            f"CuPy {cupy.__version__}, CUPY_TF32={os.environ.get('CUPY_TF32', '0')}")
    if torch is not None:
        line += (f"; PyTorch {torch.__version__}, cuDNN {torch.backends.cudnn.version()}, "
                 f"{precision_flags(torch)}")
    return line


# ---------------------------------------------------------------- memory


def peak_bytes(step):
    """Peak bytes allocated through NumPy during one call of ``step``, after a first call
    (which allocates what stays: the gradients)."""
    import tracemalloc

    step()
    tracemalloc.start()
    step()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak


def memory_report(kind, shape, lengths):
    """Lines: the peak at each T, and bytes per step from the difference."""
    batch, _, inputs, hidden = shape
    peaks = [peak_bytes(ours(kind, (batch, t, inputs, hidden), "cpu", fused=True))
             for t in lengths]
    per_step = (peaks[1] - peaks[0]) / (lengths[1] - lengths[0])
    floats = per_step / 4 / (batch * hidden)
    return [f"peak memory of a fused {kind} training step, (B, I, H) = {(batch, inputs, hidden)}"
            f" (tracemalloc): " + ", ".join(f"T={t}: {p / 2**20:.1f} MiB"
                                            for t, p in zip(lengths, peaks)),
            f"  per time step: {per_step / 2**10:.0f} KiB = {floats:.1f} float32 of (B, H)"]


# ---------------------------------------------------------------- table


def fmt(value, digits=2):
    return "-" if value is None else f"{value:.{digits}f}"


def ratio(a, b):
    return None if a is None or b is None else a / b


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m experiments.bench_rnn",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--device", choices=["cpu", "cuda"], default="cpu")
    parser.add_argument("--repeats", type=int, default=7, help="timed steps per median")
    parser.add_argument("--threads", type=int, default=2, help="BLAS and PyTorch threads")
    parser.add_argument("--shapes", nargs="+", metavar="B,T,I,H",
                        type=lambda s: tuple(int(n) for n in s.split(",")),
                        help="(default: the five standard shapes, the last two only with --all "
                             "on the CPU)")
    parser.add_argument("--all", action="store_true", help="include the two largest on the CPU")
    parser.add_argument("--kinds", nargs="+", choices=["lstm", "gru"], default=["lstm", "gru"])
    parser.add_argument("--no-composed", action="store_true", help="skip our composed layer")
    parser.add_argument("--no-torch", action="store_true", help="skip PyTorch")
    parser.add_argument("--clock", choices=["wall", "cpu"], default="wall",
                        help="wall time, or this process's CPU time: steadier on a busy machine, "
                             "comparable only with --threads 1 (CPU only)")
    parser.add_argument("--memory", nargs=2, type=int, default=[50, 100], metavar="T",
                        help="two sequence lengths for the memory per step (0 0: skip)")
    parser.add_argument("--allow-tf32", action="store_true",
                        help="keep PyTorch's TF32 defaults on the GPU (cuDNN's is on)")
    args = parser.parse_args(argv)
    threads = limit_threads(args.threads)

    from engine import backend

    if args.device == "cuda":
        cupy = backend.get_cupy()
        synchronize = cupy.cuda.Device().synchronize
    else:
        def synchronize():
            pass

    torch = None
    if not args.no_torch:
        try:
            import torch
        except ImportError:
            print("PyTorch is not installed: no torch columns")
        else:
            torch.set_num_threads(args.threads)
            threads += f"; PyTorch {torch.__version__}: {torch.get_num_threads()} threads"
    torch_device = args.device if torch is not None and (
        args.device == "cpu" or torch.cuda.is_available()) else None
    if torch_device == "cuda" and not args.allow_tf32:
        full_fp32(torch)
    shapes = args.shapes or SHAPES[:None if args.all or args.device == "cuda" else CPU_SHAPES]

    clock = time.perf_counter if args.clock == "wall" else time.process_time
    print(f"training step (forward + backward of output.sum()), float32, {args.device}, median "
          f"of {args.repeats} ({args.clock} clock); threads: {args.threads} ({threads}); "
          f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    if args.device == "cuda":
        print(gpu_header(cupy, torch if torch_device else None))
    if args.device == "cpu" and args.clock == "wall" and (
            os.getloadavg()[0] + args.threads > os.cpu_count()):
        print("warning: other work is running: wall times of multi-threaded steps are unreliable "
              "here; --threads 1 --clock cpu compares like with like")
    columns = ["fused", *(GPU_WAYS if args.device == "cuda" else ()), "composed", "torch",
               "cells"]
    ratios = [("fused", "torch"), *((way, "torch") for way in GPU_WAYS if args.device == "cuda"),
              ("fused", "cells"), ("composed", "fused")]
    label = {"torch": "cudnn" if args.device == "cuda" else "torch", "cells": "torch cells"}
    widths = {name: max(9, len(label.get(name, name))) for name in columns}
    names = [f"{label.get(a, a)}/{label.get(b, b).split()[-1]}" for a, b in ratios]
    header = (f"{'kind':<5} {'B, T, I, H':<18} "
              + " ".join(f"{label.get(c, c):>{widths[c]}}" for c in columns) + " | "
              + " ".join(f"{n:>11}" for n in names))
    print(header + "\n" + "-" * len(header))
    results = {}
    for kind in args.kinds:
        for shape in shapes:
            steps = {"fused": ours(kind, shape, args.device, fused=True)}
            if args.device == "cuda":
                steps |= {way: ours(kind, shape, args.device, True, way) for way in GPU_WAYS}
            if not args.no_composed:
                steps["composed"] = ours(kind, shape, args.device, fused=False)
            if torch_device is not None:
                steps["torch"] = pytorch(torch, kind, shape, torch_device, cells=False)
                steps["cells"] = pytorch(torch, kind, shape, torch_device, cells=True)
            ms = results[kind, shape] = median_ms(steps, args.repeats, synchronize, clock)
            print(f"{kind:<5} {str(shape):<18} "
                  + " ".join(f"{fmt(ms.get(c)):>{widths[c]}}" for c in columns) + " | "
                  + " ".join(f"{fmt(ratio(ms.get(a), ms.get(b))):>11}" for a, b in ratios),
                  flush=True)
    print("(milliseconds per step; ratios below 1 favour the fused op, composed/fused above 1)")
    for line in (gpu_targets if args.device == "cuda" else targets)(results):
        print(line)
    if args.device == "cpu" and args.memory[0] != args.memory[1]:
        for kind in args.kinds:
            for line in memory_report(kind, (32, None, 64, 256), sorted(args.memory)):
                print(line)


def targets(results):
    """The CPU targets, each with 'met', 'missed' or 'not measured'."""
    def check(name, value, test):
        if value is None:
            return f"target: {name}: not measured"
        return f"target: {name}: {'met' if test(value) else 'missed'} ({value:.2f})"

    lines = []
    big = results.get(("lstm", (32, 50, 64, 256)), {})
    lines.append(check("fused LSTM (32, 50, 64, 256) <= 1.3 x nn.LSTM",
                       ratio(big.get("fused"), big.get("torch")), lambda v: v <= 1.3))
    cells = [ratio(r.get("fused"), r.get("cells")) for (k, _), r in results.items()
             if k == "lstm"]
    lines.append(check("fused LSTM faster than an LSTMCell loop at every shape (worst ratio)",
                       max(cells) if cells and None not in cells else None, lambda v: v < 1))
    small = results.get(("lstm", (32, 50, 64, 128)), {})
    lines.append(check("fused LSTM >= 3 x faster than composed at (32, 50, 64, 128)",
                       ratio(small.get("composed"), small.get("fused")), lambda v: v >= 3))
    return lines


def gpu_targets(results):
    """The GPU targets: fused LSTM against cuDNN at each standard shape, and >= 3x faster
    than an LSTMCell loop everywhere; 'met', 'missed' or 'not measured'."""
    lines = []
    for shape, limit in GPU_TARGETS.items():
        ms = results.get(("lstm", shape), {})
        value = ratio(ms.get("fused"), ms.get("torch"))
        verdict = "not measured" if value is None else (
            f"{'met' if value <= limit else 'missed'} ({value:.2f})")
        lines.append(f"target: fused LSTM {shape} <= {limit} x cuDNN: {verdict}")
    cells = [ratio(r.get("fused"), r.get("cells")) for (k, _), r in results.items() if k == "lstm"]
    if cells and None not in cells:
        worst = max(cells)
        lines.append("target: fused LSTM >= 3 x faster than an LSTMCell loop at every shape: "
                     f"{'met' if worst <= 1 / 3 else 'missed'} (worst fused/cells {worst:.2f})")
    else:
        lines.append("target: fused LSTM >= 3 x faster than an LSTMCell loop: not measured")
    return lines


if __name__ == "__main__":
    main()
