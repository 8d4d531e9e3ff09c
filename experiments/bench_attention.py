"""Training-step time of a TransformerEncoderLayer: ours against PyTorch's, and the memory
of attention, which grows as T^2.

One training step is the forward pass of a batch_first TransformerEncoderLayer(d_model,
heads, dim_feedforward=4 d_model, dropout=--dropout) in training mode and the backward
pass of ``output.sum()`` into the input and every weight (no optimizer), float32, on the
CPU. Both layers are timed in this process, interleaved, one warm-up each, median over
--repeats. Shapes are (B, T, d_model, heads). Threads: --threads for BLAS and PyTorch
(default 1: on a busy 2-core machine OpenBLAS's threads slow our many small attention
products down ten-fold, see experiments/__init__.py; compare like with like).

Then the peak memory of one of our training steps (NumPy's allocations, tracemalloc) at
three lengths, of the layer and of attention alone, beside what attention keeps for
backward: its weights, B * heads * T^2 floats per layer.

    python -m experiments.bench_attention
    python -m experiments.bench_attention --shapes 16,256,128,4 --repeats 9
"""

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

if not __package__:  # run as a file (python experiments/NAME.py): the repository on the path
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    import experiments  # noqa: F401  (first: it asks for one BLAS thread before NumPy loads)

from experiments.bench_rnn import limit_threads, peak_bytes

SHAPES = [(32, 128, 128, 4), (8, 512, 256, 8)]
TARGET = 1.5  # ours / PyTorch, at most


def ours(shape, dropout):
    """A training step of our TransformerEncoderLayer, as a function of no arguments."""
    import numpy as np

    import engine
    import rnn

    B, T, E, H = shape
    rng = np.random.default_rng(0)
    layer = rnn.TransformerEncoderLayer(E, H, 4 * E, dropout=dropout, batch_first=True, rng=rng)
    x = engine.randn(B, T, E, rng=rng, requires_grad=True)
    params = list(layer.parameters())

    def step():
        for p in [x, *params]:
            p.grad = None
        layer(x).sum().backward()

    return step


def pytorch(torch, shape, dropout):
    """A training step of PyTorch's nn.TransformerEncoderLayer."""
    B, T, E, H = shape
    torch.manual_seed(0)
    layer = torch.nn.TransformerEncoderLayer(E, H, 4 * E, dropout=dropout, batch_first=True)
    x = torch.randn(B, T, E, requires_grad=True)

    def step():
        layer.zero_grad(set_to_none=True)
        x.grad = None
        layer(x).sum().backward()

    return step


def median_ms(steps, repeats):
    """{name: median milliseconds} of each step function, run in turns (one warm-up each)."""
    times = {name: [] for name in steps}
    for round_ in range(repeats + 1):
        for name, step in steps.items():
            start = time.perf_counter()
            step()
            if round_:
                times[name].append(time.perf_counter() - start)
    return {name: statistics.median(t) * 1e3 for name, t in times.items()}


def attention_alone(shape):
    """A training step of scaled_dot_product_attention on (B, heads, T, d_model / heads)."""
    import engine
    import rnn

    B, T, E, H = shape
    q, k, v = (engine.randn(B, H, T, E // H, rng=i, requires_grad=True) for i in range(3))

    def step():
        for t in (q, k, v):
            t.grad = None
        rnn.scaled_dot_product_attention(q, k, v).sum().backward()

    return step


def memory_report(shape, lengths, dropout):
    """Lines: the peak of a layer's step and of attention's alone at each T, what attention
    keeps for backward, and the growth from one T to the next."""
    B, _, E, H = shape
    shapes = [(B, T, E, H) for T in lengths]
    layer = [peak_bytes(ours(s, dropout)) for s in shapes]
    alone = [peak_bytes(attention_alone(s)) for s in shapes]
    lines = [f"peak memory of a training step (NumPy's allocations, tracemalloc), "
             f"(B, d_model, heads) = {(B, E, H)}:"]
    for T, a, b in zip(lengths, layer, alone):
        weights = B * H * T * T * 4
        lines.append(f"  T={T}: the layer {a / 2**20:.1f} MiB, attention alone "
                     f"{b / 2**20:.1f} MiB, its weights kept for backward (B heads T^2 "
                     f"float32) {weights / 2**20:.1f} MiB")
    for i in range(1, len(lengths)):
        t0, t1 = lengths[i - 1], lengths[i]
        lines.append(f"  T {t0} -> {t1}: the layer x{layer[i] / layer[i - 1]:.2f}, attention "
                     f"x{alone[i] / alone[i - 1]:.2f} (T^2 would be x{(t1 / t0) ** 2:.2f})")
    return lines


def verdicts(results):
    """'met' / 'missed' / 'not measured' for the target at each standard shape."""
    lines = []
    for shape in SHAPES:
        ms = results.get(shape, {})
        if "ours" not in ms or "torch" not in ms:
            lines.append(f"target: ours <= {TARGET} x PyTorch at {shape}: not measured")
            continue
        value = ms["ours"] / ms["torch"]
        lines.append(f"target: ours <= {TARGET} x PyTorch at {shape}: "
                     f"{'met' if value <= TARGET else 'missed'} ({value:.2f})")
    return lines


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m experiments.bench_attention",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5, help="timed steps per median")
    parser.add_argument("--threads", type=int, default=1, help="BLAS and PyTorch threads")
    parser.add_argument("--shapes", nargs="+", metavar="B,T,E,H",
                        type=lambda s: tuple(int(n) for n in s.split(",")),
                        help="(default: the two standard shapes)")
    parser.add_argument("--dropout", type=float, default=0.0,
                        help="dropout of the layer (default: %(default)s)")
    parser.add_argument("--no-torch", action="store_true", help="skip PyTorch")
    parser.add_argument("--memory", nargs="*", type=int, default=[128, 256, 512], metavar="T",
                        help="lengths for the memory of a step at the last shape's B, d_model "
                        "and heads (--memory alone: skip)")
    args = parser.parse_args(argv)
    threads = limit_threads(args.threads)
    torch = None
    if not args.no_torch:
        try:
            import torch
        except ImportError:
            print("PyTorch is not installed: no torch column")
        else:
            torch.set_num_threads(args.threads)
            threads += f"; PyTorch {torch.__version__}: {torch.get_num_threads()} threads"
    shapes = args.shapes or SHAPES
    print(f"TransformerEncoderLayer training step (forward + backward of output.sum()), "
          f"float32, cpu, dim_feedforward = 4 d_model, dropout {args.dropout}, median of "
          f"{args.repeats}; threads: {args.threads} ({threads}); load average "
          f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    print(f"{'B, T, d_model, heads':<22} {'ours ms':>9} {'torch ms':>9} {'ours/torch':>11}")
    results = {}
    for shape in shapes:
        steps = {"ours": ours(shape, args.dropout)}
        if torch is not None:
            steps["torch"] = pytorch(torch, shape, args.dropout)
        ms = results[shape] = median_ms(steps, args.repeats)
        ratio = f"{ms['ours'] / ms['torch']:.2f}" if "torch" in ms else "-"
        torch_ms = f"{ms['torch']:.1f}" if "torch" in ms else "-"
        print(f"{str(shape):<22} {ms['ours']:>9.1f} {torch_ms:>9} {ratio:>11}", flush=True)
    for line in verdicts(results):
        print(line)
    if args.memory:
        for line in memory_report(shapes[-1], args.memory, args.dropout):
            print(line)


if __name__ == "__main__":
    main()
