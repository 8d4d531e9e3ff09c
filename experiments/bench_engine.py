"""Per-op overhead of the engine on tiny tensors, against raw NumPy and PyTorch.

A chain of ``--length`` ops cycles through ``tanh``, ``* w`` and ``+ b`` (``w`` and
``b`` are leaves that require grad), on shapes (1,) and (16,): tiny enough that
the arithmetic is nearly free and what is measured is the bookkeeping around it.
Each cost is the median over ``--repeats`` runs of the whole chain, divided by
its length (microseconds per op).

    engine     forward (graph recorded), forward + backward
    numpy      the same arithmetic on raw arrays: forward, and forward + a
               backward written out by hand (the floor any engine pays)
    torch      the same chain in PyTorch, when it is installed

Ratios: ours / PyTorch (same mode) and ours / NumPy forward arithmetic. Run:

    python -m experiments.bench_engine --length 1000 --repeats 7
"""

import argparse
import statistics
import sys
import time
from pathlib import Path

if not __package__:  # run as a file (python experiments/NAME.py): the repository on the path
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    import experiments  # noqa: F401  (first: it asks for one BLAS thread before NumPy loads)

import numpy as np

import engine


def _medians_us_per_op(runs, length, repeats):
    """Median wall time of each ``runs[name]()``, in microseconds per op.

    The runs take turns within each repeat, so a burst of load elsewhere on the
    machine slows all of them alike and the ratios stay fair.
    """
    times = {name: [] for name in runs}
    for run in runs.values():
        run()  # warm up caches and lazy imports
    for _ in range(repeats):
        for name, run in runs.items():
            start = time.perf_counter()
            run()
            times[name].append(time.perf_counter() - start)
    return {name: statistics.median(t) / length * 1e6 for name, t in times.items()}


# ---------------------------------------------------------------- the chains


def autograd_chain(x0, w, b, length, backward):
    """The chain as a function of no arguments, for a library with autograd (ours or
    PyTorch's: the same methods), so that both time exactly the same ops."""
    def run():
        x = x0
        for i in range(length):
            step = i % 3
            x = x.tanh() if step == 0 else x * w if step == 1 else x + b
        if backward:
            x.sum().backward()

    return run


def engine_chain(shape, length, backward):
    rng = np.random.default_rng(0)
    x0 = engine.randn(*shape, rng=rng)
    w = engine.uniform(0.5, 1.0, shape, rng=rng, requires_grad=True)
    b = engine.randn(*shape, rng=rng, requires_grad=True)
    return autograd_chain(x0, w, b, length, backward)


def numpy_chain(shape, length, backward):
    rng = np.random.default_rng(0)
    x0 = rng.standard_normal(shape).astype(np.float32)
    w = rng.uniform(0.5, 1.0, shape).astype(np.float32)
    b = rng.standard_normal(shape).astype(np.float32)

    def run():
        x, saved = x0, []
        for i in range(length):
            step = i % 3
            if step == 0:
                x = np.tanh(x)
                saved.append(x)  # backward needs the output
            elif step == 1:
                saved.append(x)  # backward needs the input
                x = x * w
            else:
                x = x + b
        if not backward:
            return
        grad, grad_w, grad_b = np.ones_like(x), np.zeros_like(w), np.zeros_like(b)
        for i in reversed(range(length)):
            step = i % 3
            if step == 0:
                y = saved.pop()
                grad = grad * (1 - y * y)
            elif step == 1:
                grad_w = grad_w + grad * saved.pop()
                grad = grad * w
            else:
                grad_b = grad_b + grad

    return run


def torch_chain(torch, shape, length, backward):
    generator = torch.Generator().manual_seed(0)
    x0 = torch.randn(shape, generator=generator)
    w = (0.5 + 0.5 * torch.rand(shape, generator=generator)).requires_grad_()
    b = torch.randn(shape, generator=generator).requires_grad_()
    return autograd_chain(x0, w, b, length, backward)


# ---------------------------------------------------------------- the table


def measure(length, repeats, shapes, use_torch=True):
    """Rows of {shape, mode, engine, numpy, torch} in microseconds per op."""
    torch = None
    if use_torch:
        try:
            import torch
        except ImportError:
            pass  # no torch column
    rows = []
    for shape in shapes:
        for mode, backward in (("forward", False), ("fwd+bwd", True)):
            runs = {
                "engine": engine_chain(shape, length, backward),
                "numpy": numpy_chain(shape, length, backward),
            }
            if torch is not None:
                runs["torch"] = torch_chain(torch, shape, length, backward)
            row = {"shape": shape, "mode": mode, "torch": None}
            row.update(_medians_us_per_op(runs, length, repeats))
            rows.append(row)
    return rows


def format_table(rows):
    """The rows as a fixed-width text table, with the two ratios."""
    numpy_forward = {r["shape"]: r["numpy"] for r in rows if r["mode"] == "forward"}
    lines = [
        f"{'shape':<7} {'mode':<8} {'engine':>8} {'numpy':>8} {'torch':>8} "
        f"{'ours/torch':>11} {'ours/np fwd':>12}   (microseconds per op)"
    ]
    for r in rows:
        torch_cell = "-" if r["torch"] is None else f"{r['torch']:.2f}"
        ratio = "-" if r["torch"] is None else f"{r['engine'] / r['torch']:.2f}"
        lines.append(
            f"{str(r['shape']):<7} {r['mode']:<8} {r['engine']:>8.2f} {r['numpy']:>8.2f} "
            f"{torch_cell:>8} {ratio:>11} {r['engine'] / numpy_forward[r['shape']]:>12.2f}"
        )
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m experiments.bench_engine",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--length", type=int, default=1000, help="ops per chain")
    parser.add_argument("--repeats", type=int, default=7, help="runs per median")
    parser.add_argument("--sizes", type=int, nargs="+", default=[1, 16], help="tensor sizes")
    parser.add_argument("--no-torch", action="store_true", help="skip the PyTorch rows")
    args = parser.parse_args(argv)
    shapes = [(n,) for n in args.sizes]
    rows = measure(args.length, args.repeats, shapes, use_torch=not args.no_torch)
    print(f"chain of {args.length} ops (tanh, * w, + b), median of {args.repeats} runs")
    print(format_table(rows))


if __name__ == "__main__":
    main()
