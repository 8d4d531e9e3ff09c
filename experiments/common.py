"""What every experiment shares: flags, the generator, JSON, the training loop
(checkpoint, resume, NaN guard, progress bar), a recurrent model and plots.

Contents: base_parser, check_device, write_json, git_commit, sha256_of, config,
Run (train, evaluate, finish), SequenceModel, figure, draw, save_figure.

A script is its data, its loss, and these few lines::

    args = base_parser("adding", __doc__, steps=1500).parse_args(argv)
    run = Run("adding", args)                # checks --device, writes config.json
    models = {k: SequenceModel(k, 2, args.hidden_size, 1, rng=run.rng).to(run.device)
              for k in args.models}
    optimizers = {k: nn.optim.Adam(m.parameters(), lr=args.lr) for k, m in models.items()}
    run.train(models, optimizers, make_batch, loss_fn, evaluate)
    run.finish({"final_mse": ...})           # writes metrics.json and timing.json

``make_batch(rng)`` draws one batch from the generator it is given;
``loss_fn(model, batch)`` returns a scalar Tensor; ``evaluate(model)`` returns
``{metric: float}`` on held-out data and runs under ``no_grad``.

Reproducibility. All randomness flows from one ``np.random.Generator``
(``run.rng``, seeded by ``--seed``): the models draw their initial weights from
it, then training batches are drawn from it, step after step, every model
seeing the same batch. The checkpoint holds its state beside the weights, the
optimizer states, the step and the metrics so far, so a resumed run draws the
very batches an uninterrupted one would and ends bit-identical to it.
Held-out data comes from ``run.eval_rng()``, a fresh generator seeded by
(seed, 1), so evaluating never disturbs the training stream. ``metrics.json``
holds results only (wall-clock times go to ``timing.json``): on the CPU one
seed gives the same bytes every time.
"""

import argparse
import hashlib
import importlib.metadata
import json
import math
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
from tqdm import tqdm

import engine
import nn
import rnn
from engine import backend

KINDS = ("rnn", "lstm", "gru")
CHECKPOINT = "checkpoint.npz"
EXPLODED = 1e3  # a loss this many times its first value counts as exploded


# ---------------------------------------------------------------- flags and set-up


def base_parser(name, description, **defaults):
    """The flags every experiment shares; ``defaults`` override their defaults.

    Add the script's own flags to the parser it returns.
    """
    parser = argparse.ArgumentParser(
        prog=f"python -m experiments.{name}", description=description,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add = parser.add_argument
    add("--seed", type=int, default=0,
        help="seed of the one generator all randomness comes from (default: %(default)s)")
    add("--device", choices=["cpu", "cuda"], default="cpu",
        help="where to train: cuda needs CuPy and a GPU; reruns are bit-identical on cpu "
        "(default: %(default)s)")
    add("--out", default=f"results/{name}", help="results folder (default: %(default)s)")
    add("--steps", type=int, default=1000,
        help="training steps, each one batch for every model (default: %(default)s)")
    add("--resume", action="store_true",
        help="continue from the checkpoint in --out (if any) up to --steps")
    add("--checkpoint-every", type=int, default=100, metavar="N",
        help="write the checkpoint every N steps, and at the end (default: %(default)s)")
    add("--eval-every", type=int, default=50, metavar="N",
        help="evaluate on held-out data every N steps (default: %(default)s)")
    add("--models", nargs="+", choices=KINDS, default=list(KINDS),
        help="which recurrent layers to train side by side (default: %(default)s)")
    add("--hidden-size", type=int, default=64, help="hidden units per layer (default: %(default)s)")
    add("--batch-size", type=int, default=32, help="sequences per batch (default: %(default)s)")
    add("--lr", type=float, default=1e-3, help="Adam learning rate (default: %(default)s)")
    add("--clip", type=float, default=1.0,
        help="clip the global gradient norm to this; 0 turns clipping off (default: %(default)s)")
    parser.set_defaults(**defaults)
    return parser


def check_device(device):
    """``device`` if it can be used, else exit with a message saying what is missing."""
    if device == "cuda":
        try:
            backend.get_cupy()
        except RuntimeError as error:
            raise SystemExit(f"error: --device cuda: {error}") from None
    return device


# ---------------------------------------------------------------- files


def _plain(value):
    """JSON-ready copy: NumPy scalars and arrays become Python numbers and lists,
    non-finite floats None. Floats are written by ``repr``, the shortest string
    that reads back to the same double, so equal results give equal bytes."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, np.ndarray)):
        return [_plain(v) for v in value]
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return float(value) if math.isfinite(value) else None
    return value


def write_json(path, data):
    """Write ``data`` to ``path`` atomically (a temporary file, then a rename), keys sorted."""
    path = Path(path)
    text = json.dumps(_plain(data), indent=1, sort_keys=True, allow_nan=False) + "\n"
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


def git_commit():
    """The repository's HEAD commit, or 'unknown' outside a git checkout."""
    try:
        done = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True,
                              timeout=10, cwd=Path(__file__).resolve().parent)
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return done.stdout.strip() if done.returncode == 0 else "unknown"


def sha256_of(*arrays):
    """Hex digest of arrays' dtypes, shapes and bytes: names a data set in config.json."""
    digest = hashlib.sha256()
    for array in arrays:
        array = np.ascontiguousarray(array)
        digest.update(f"{array.dtype.str}{array.shape}".encode())
        digest.update(array.tobytes())
    return digest.hexdigest()


def config(name, args, **extra):
    """Every setting of a run, with the versions and commit that produced it."""
    try:
        loopgrad = importlib.metadata.version("loopgrad")
    except importlib.metadata.PackageNotFoundError:
        loopgrad = "not installed"
    return {
        "experiment": name, "args": vars(args), "git_commit": git_commit(),
        "versions": {"python": platform.python_version(), "numpy": np.__version__,
                     "loopgrad": loopgrad},
        **extra,
    }


# ---------------------------------------------------------------- the run


class Run:
    """One experiment run: its results folder, generator, metrics and training loop.

    ``extra`` (e.g. ``data_sha256=...``) is written into config.json.
    Metrics: ``step``, ``loss[model]`` and ``grad_norm[model]`` (the global gradient
    norm before clipping) per training step; ``eval["step"]``
    and ``eval[metric][model]`` every ``--eval-every`` steps; ``final``.
    """

    def __init__(self, name, args, **extra):
        self.name, self.args = name, args
        self.device = check_device(args.device)
        self.out = Path(args.out)
        self.out.mkdir(parents=True, exist_ok=True)
        self.rng = np.random.default_rng(args.seed)
        self.step = 0
        self.metrics = {"step": [], "loss": {}, "grad_norm": {}, "eval": {"step": []}}
        self.seconds, self.steps_run = {}, 0  # training seconds per model, steps: this process
        self.started = time.perf_counter()
        write_json(self.out / "config.json", config(name, args, **extra))

    def eval_rng(self):
        """A fresh generator for held-out data: the same data at every evaluation."""
        return np.random.default_rng([self.args.seed, 1])

    # -------------------------------------------------------- checkpoint

    def save_checkpoint(self, models, optimizers):
        nn.save({
            "step": self.step,
            "rng": self.rng.bit_generator.state,
            "metrics": json.dumps(self.metrics),
            "models": {k: m.state_dict() for k, m in models.items()},
            "optimizers": {k: o.state_dict() for k, o in optimizers.items()},
        }, self.out / CHECKPOINT)

    def load_checkpoint(self, models, optimizers):
        state = nn.load(self.out / CHECKPOINT)
        for k, model in models.items():
            model.load_state_dict(state["models"][k])
            optimizers[k].load_state_dict(state["optimizers"][k])
        self.rng.bit_generator.state = state["rng"]
        self.metrics = json.loads(str(state["metrics"]))
        self.step = int(state["step"])

    # -------------------------------------------------------- training

    def evaluate(self, models, evaluate):
        """``evaluate(model)`` for each model in eval mode without a graph: {metric: {model: v}}."""
        results = {}
        with engine.no_grad():
            for k, model in models.items():
                model.eval()
                for metric, value in evaluate(model).items():
                    results.setdefault(metric, {})[k] = float(value)
                model.train()
        return results

    def _stop(self, message):
        """Divergence: keep the last good checkpoint, record why, and exit."""
        self.metrics["stopped"] = message
        write_json(self.out / "metrics.json", self.metrics)
        raise SystemExit(f"error: {message}; the last good checkpoint in {self.out} is kept")

    def train(self, models, optimizers, make_batch, loss_fn, evaluate=None, clip=None):
        """Train every model on the same batches up to ``--steps``, resuming if asked.

        ``clip`` maps model name to max gradient norm (default: ``--clip`` for all).
        """
        args = self.args
        if args.resume and (self.out / CHECKPOINT).exists():
            self.load_checkpoint(models, optimizers)
            print(f"resuming from step {self.step} of {self.out / CHECKPOINT}", file=sys.stderr)
        elif args.resume:
            print(f"no checkpoint in {self.out}: starting from step 0", file=sys.stderr)
        clip = clip or dict.fromkeys(models, args.clip)
        self.seconds = dict.fromkeys(models, 0.0)
        for k in models:
            self.metrics["loss"].setdefault(k, [])
            self.metrics["grad_norm"].setdefault(k, [])
        bar = tqdm(total=args.steps, initial=min(self.step, args.steps), desc=self.name,
                   disable=None, dynamic_ncols=True)
        for step in range(self.step + 1, args.steps + 1):
            batch = make_batch(self.rng)
            for k, model in models.items():
                tic = time.perf_counter()
                optimizers[k].zero_grad()
                loss = loss_fn(model, batch)
                loss.backward()
                norm = float(nn.utils.clip_grad_norm_(model.parameters(), clip[k] or math.inf))
                optimizers[k].step()
                value = float(loss.item())
                self.seconds[k] += time.perf_counter() - tic
                first = self.metrics["loss"][k][0] if self.metrics["loss"][k] else math.inf
                if not math.isfinite(value) or value > EXPLODED * first:
                    bar.close()
                    self._stop(f"{k}: the loss became {value} at step {step} (NaN or exploded)")
                self.metrics["loss"][k].append(value)
                self.metrics["grad_norm"][k].append(norm)
            self.metrics["step"].append(step)
            self.step = step
            self.steps_run += 1
            if evaluate is not None and step % args.eval_every == 0:
                self.metrics["eval"]["step"].append(step)
                for metric, values in self.evaluate(models, evaluate).items():
                    for k, value in values.items():
                        self.metrics["eval"].setdefault(metric, {}).setdefault(k, []).append(value)
            if step % args.checkpoint_every == 0 or step == args.steps:
                bad = [k for k, m in models.items()
                       if not all(np.isfinite(p.numpy()).all() for p in m.parameters())]
                if bad:
                    bar.close()
                    self._stop(f"{', '.join(bad)}: parameters became NaN or inf at step {step}")
                self.save_checkpoint(models, optimizers)
            bar.update(1)
            bar.set_postfix({k: f"{v[-1]:.4f}" for k, v in self.metrics["loss"].items()})
        bar.close()

    def finish(self, final):
        """Write metrics.json (with ``final``) and timing.json; returns the metrics."""
        self.metrics["final"] = final
        write_json(self.out / "metrics.json", self.metrics)
        write_json(self.out / "timing.json", {
            "wall_seconds": time.perf_counter() - self.started,
            "train_seconds": self.seconds,
            "steps_in_this_process": self.steps_run,
            "machine": {"cpus": os.cpu_count(), "processor": platform.processor(),
                        "platform": platform.platform(), "device": self.device},
        })
        return self.metrics


# ---------------------------------------------------------------- model


LAYERS = {"rnn": rnn.RNN, "lstm": rnn.LSTM, "gru": rnn.GRU}  # --models names -> layers


class SequenceModel(nn.Module):
    """A recurrent layer (tanh RNN, LSTM or GRU) and a linear read-out at every step.

    Shapes: x (T, B, I) -> y (T, B, O), and the final state (h_n, or (h_n, c_n)).

    >>> model = SequenceModel("gru", 2, 8, 1, rng=np.random.default_rng(0))
    >>> model(engine.zeros(5, 3, 2))[0].shape
    (5, 3, 1)
    """

    def __init__(self, kind, input_size, hidden_size, output_size, *, num_layers=1, rng):
        super().__init__()
        self.rnn = LAYERS[kind](input_size, hidden_size, num_layers=num_layers, rng=rng)
        self.head = nn.Linear(hidden_size, output_size, rng=rng)

    def forward(self, x, state=None):
        hidden, state = self.rnn(x, state)  # (T, B, H)
        return self.head(hidden), state


# ---------------------------------------------------------------- plots


def figure(ncols=1, nrows=1, width=5.5, height=3.8):
    """A matplotlib figure (Agg backend: no display needed) and its axes, as a flat list."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(nrows, ncols, figsize=(width * ncols, height * nrows), squeeze=False)
    return fig, list(axes.flat)


def draw(ax, curves, *, title, ylabel, xlabel="step", baseline=None,
         baseline_label="baseline", logy=False, smooth=1, styles=None):
    """Draw ``curves`` ({label: (xs, ys)}) on ``ax``, each a moving average over
    ``smooth`` points, with an optional dashed horizontal baseline. ``styles`` maps
    a label to extra ``ax.plot`` keywords (e.g. ``{"linestyle": "--"}``)."""
    for label, (xs, ys) in curves.items():
        xs, ys = np.asarray(xs, float), np.asarray(ys, float)
        window = max(1, min(smooth, len(ys)))
        if window > 1:
            ys = np.convolve(ys, np.ones(window) / window, mode="valid")
            xs = xs[window - 1:]
        ax.plot(xs, ys, label=label, **(styles or {}).get(label, {}))
    if baseline is not None:
        ax.axhline(baseline, color="gray", linestyle="--", label=baseline_label)
    if logy:
        ax.set_yscale("log")
    ax.set(title=title, xlabel=xlabel, ylabel=ylabel)
    ax.grid(True, alpha=0.3)
    ax.legend()


def save_figure(fig, path):
    """Save as PNG and close (so long runs do not pile figures up in memory)."""
    import matplotlib.pyplot as plt

    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
