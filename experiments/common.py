"""What every experiment shares: flags, the generator, JSON, the training loop
(checkpoint, resume, NaN guard, Ctrl-C, progress), a recurrent model and plots.

Contents: base_parser (ExperimentParser, Flags, integer, number), check_device, write_json,
git_commit, sha256_of, config, Run (train, evaluate, finish, report), SequenceModel,
figure, draw, save_figure.

A script is its data, its loss, and these few lines::

    args = base_parser("adding", __doc__, steps=1500).parse_args(argv)
    run = Run("adding", args)                # checks --device and --resume, writes config.json
    models = {k: SequenceModel(k, 2, args.hidden_size, 1, rng=run.rng).to(run.device)
              for k in args.models}
    optimizers = {k: nn.optim.Adam(m.parameters(), lr=args.lr) for k, m in models.items()}
    run.train(models, optimizers, make_batch, loss_fn, evaluate)
    run.finish({"final_mse": ...})           # writes metrics.json and timing.json
    run.report()                             # prints where the results are

``make_batch(rng)`` draws one batch from the generator it is given;
``loss_fn(model, batch)`` returns a scalar Tensor; ``evaluate(model)`` returns
``{metric: float}`` on held-out data and runs under ``no_grad``.

Flags are checked before any work: each has a type that says what it takes (a bad
value exits with status 2 and ``argument --steps: expected an integer >= 1, got '0'``),
and checks across flags are added with ``parser.add_check``.

Reproducibility. All randomness flows from one ``np.random.Generator``
(``run.rng``, seeded by ``--seed``): the models draw their initial weights from
it, then training batches are drawn from it, step after step, every model
seeing the same batch. The checkpoint holds its state beside the weights, the
optimizer states, the step, the metrics so far and the run's flags, so a resumed
run draws the very batches an uninterrupted one would and ends bit-identical to it;
``--resume`` with other flags is refused (see ``Run.MAY_CHANGE``).
Held-out data comes from ``run.eval_rng()``, a fresh generator seeded by
(seed, 1), so evaluating never disturbs the training stream. ``metrics.json``
holds results only (wall-clock times go to ``timing.json``): on the CPU one
seed gives the same bytes every time (on one machine: another CPU's BLAS kernels
may round differently, and training amplifies the difference).
"""

import argparse
import hashlib
import importlib.metadata
import json
import math
import os
import platform
import shlex
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np

import engine
import nn
import rnn
from engine import backend

KINDS = ("rnn", "lstm", "gru")
CHECKPOINT = "checkpoint.npz"
EXPLODED = 1e3  # a loss this many times its first value counts as exploded
ROOT = Path(__file__).resolve().parent.parent  # the repository: python -m runs from here
PLOTS = 'the plots need matplotlib: pip install -e ".[experiments]"'


# ---------------------------------------------------------------- flags


def integer(low):
    """An argparse type: an int >= ``low``, else the error names what came."""
    def convert(text):
        try:
            value = int(text)
        except ValueError:
            value = None
        if value is None or value < low:
            raise argparse.ArgumentTypeError(f"expected an integer >= {low}, got {text!r}")
        return value

    convert.__name__ = f"integer >= {low}"
    return convert


def number(low=0.0, *, strict=True):
    """An argparse type: a finite float > ``low`` (>= ``low`` when not ``strict``)."""
    relation = ">" if strict else ">="

    def convert(text):
        try:
            value = float(text)
        except ValueError:
            value = math.nan
        if not math.isfinite(value) or value < low or strict and value == low:
            raise argparse.ArgumentTypeError(f"expected a finite number {relation} {low:g}, "
                                             f"got {text!r}")
        return value

    convert.__name__ = f"number {relation} {low:g}"
    return convert


def existing_file(text):
    """An argparse type: the path of a file that exists."""
    if not Path(text).is_file():
        raise argparse.ArgumentTypeError(f"expected an existing file, got {text!r}")
    return text


class Flags(argparse.Namespace):
    """Parsed flags. ``vars(flags)`` holds the flags only (config.json and the checkpoint
    record them); ``flags.argv`` is the command line they came from, to print the command
    that resumes the run."""

    __slots__ = ("argv",)


class ExperimentParser(argparse.ArgumentParser):
    """An ArgumentParser that, after parsing, fills the ``--out`` template (e.g.
    ``results/digits_{task}``) and runs the checks added with ``add_check``: any failure
    exits with status 2 and argparse's ``error:`` line, before the script does any work."""

    def __init__(self, *args, out_template, **kwargs):
        super().__init__(*args, **kwargs)
        self.out_template = out_template
        self.checks = [_check_out, _check_models]

    def add_check(self, check):
        """``check(flags)`` returns None if the flags fit together, else the error message."""
        self.checks.append(check)

    def parse_args(self, args=None, namespace=None):
        argv = list(sys.argv[1:] if args is None else args)
        flags = super().parse_args(argv, Flags() if namespace is None else namespace)
        if getattr(flags, "out", "") is None:
            flags.out = self.out_template.format(**vars(flags))
        for check in self.checks:
            message = check(flags)
            if message:
                self.error(message)
        if isinstance(flags, Flags):
            flags.argv = argv
        return flags


def _check_out(flags):
    out = getattr(flags, "out", None)
    if out is not None and Path(out).exists() and not Path(out).is_dir():
        return f"argument --out: expected a folder, got {out!r}, which is a file"
    return None


def _check_models(flags):
    models = getattr(flags, "models", None) or []
    twice = sorted({k for k in models if models.count(k) > 1})
    return f"argument --models: expected each model once, got {', '.join(twice)} twice" \
        if twice else None


def base_parser(name, description, **defaults):
    """The flags every experiment shares; ``defaults`` override their defaults (``out``
    may name other flags, as ``out="results/digits_{task}"``).

    Add the script's own flags to the parser it returns, with a type that checks them
    (``integer(1)``, ``number(0)``), and checks across flags with ``add_check``.
    """
    out = defaults.pop("out", f"results/{name}")
    parser = ExperimentParser(
        prog=f"python -m experiments.{name}", description=description,
        formatter_class=argparse.RawDescriptionHelpFormatter, out_template=out,
    )
    add = parser.add_argument
    add("--seed", type=integer(0), default=0,
        help="seed of the one generator all randomness comes from (default: %(default)s)")
    add("--device", choices=["cpu", "cuda"], default="cpu",
        help="where to train: cuda needs CuPy and a GPU; reruns are bit-identical on cpu "
        "(default: %(default)s)")
    add("--out", default=None, metavar="DIR",
        help=f"results folder (default: {out.replace('%', '%%')})")
    add("--steps", type=integer(1), default=1000,
        help="training steps, each one batch for every model (default: %(default)s)")
    add("--resume", action="store_true",
        help="continue from the checkpoint in --out (if any) up to --steps; the other flags "
        "must be the checkpoint's, but for --steps, --out, --device and --checkpoint-every")
    add("--checkpoint-every", type=integer(1), default=100, metavar="N",
        help="write the checkpoint every N steps, and at the end (default: %(default)s)")
    add("--eval-every", type=integer(1), default=50, metavar="N",
        help="evaluate on held-out data every N steps (default: %(default)s)")
    add("--models", nargs="+", choices=KINDS, default=list(KINDS),
        help="which recurrent layers to train side by side (default: %(default)s)")
    add("--hidden-size", type=integer(1), default=64,
        help="hidden units per layer (default: %(default)s)")
    add("--batch-size", type=integer(1), default=32,
        help="sequences per batch (default: %(default)s)")
    add("--lr", type=number(0), default=1e-3, help="Adam learning rate (default: %(default)s)")
    add("--clip", type=number(0, strict=False), default=1.0,
        help="clip the global gradient norm to this; 0 turns clipping off (default: %(default)s)")
    parser.set_defaults(**defaults)
    return parser


def usage_error(name, message):
    """Exit as argparse does for a bad flag: status 2 and ``PROG: error: MESSAGE``."""
    print(f"python -m experiments.{name}: error: {message}", file=sys.stderr)
    raise SystemExit(2)


def check_device(device):
    """``device`` if it can be used, else exit with a message saying what is missing."""
    if device == "cuda":
        try:
            backend.get_cupy()
        except RuntimeError as error:
            raise SystemExit(f"error: --device cuda: {error}") from None
    return device


def check_plots():
    """Exit with a message saying how to install matplotlib if it is missing (checked
    before training, not after it)."""
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        raise SystemExit(f"error: {PLOTS}") from None


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


def command(name, args, *extra):
    """The command line that runs ``name`` with ``args`` again, plus ``extra`` flags: the
    flags as they were typed (``args.argv``; else every flag spelled out), the script as it
    was invoked (``python -m experiments.NAME``, or the file's path when run as a file)."""
    main = sys.modules.get("__main__")
    as_file = getattr(main, "__spec__", None) is None and sys.argv[0].endswith(".py") \
        and Path(sys.argv[0]).stem == name
    head = ["python", sys.argv[0]] if as_file else ["python", "-m", f"experiments.{name}"]
    argv = getattr(args, "argv", None)
    if argv is None:  # not parsed by ExperimentParser: every flag
        argv = []
        for key, value in vars(args).items():
            flag = "--" + key.replace("_", "-")
            if value is True:
                argv.append(flag)
            elif isinstance(value, (list, tuple)):
                argv += [flag, *map(str, value)]
            elif value is not None and value is not False:
                argv += [flag, str(value)]
    return shlex.join([*head, *[a for a in argv if a not in extra], *extra])


# ---------------------------------------------------------------- progress


class Progress:
    """tqdm's bar on a terminal; elsewhere (a log, CI) one plain line every 10% of the
    steps: ``adding: step 200/2000 (10%), 6 s, about 54 s left; loss rnn 0.171, ...``.
    Written to stderr; tqdm is imported only for a terminal, and without it the plain
    lines are written there too."""

    def __init__(self, name, total, initial, stream=None):
        self.name, self.total, self.initial = name, total, initial
        self.stream = sys.stderr if stream is None else stream
        self.started = time.perf_counter()
        self.bar = None
        if self.stream.isatty():
            try:
                from tqdm import tqdm
            except ImportError:
                tqdm = None
            if tqdm is not None:
                self.bar = tqdm(total=total, initial=min(initial, total), desc=name,
                                file=self.stream, dynamic_ncols=True)

    def update(self, step, losses):
        """Step ``step`` is done; ``losses`` maps model name to its loss."""
        if self.bar is not None:
            self.bar.update(1)
            self.bar.set_postfix({k: f"{v:.4f}" for k, v in losses.items()})
            return
        if step < self.total and 10 * step // self.total == 10 * (step - 1) // self.total:
            return
        seconds = time.perf_counter() - self.started
        left = seconds / (step - self.initial) * (self.total - step)
        print(f"{self.name}: step {step}/{self.total} ({100 * step // self.total}%), "
              f"{seconds:.0f} s, about {left:.0f} s left; loss "
              + ", ".join(f"{k} {v:.4g}" for k, v in losses.items()),
              file=self.stream, flush=True)

    def close(self):
        if self.bar is not None:
            self.bar.close()


class _Interrupts:
    """Ctrl-C while training: the first one lets the current step finish (so the
    checkpoint holds a whole step), a second one stops at once. ``count`` says how many
    came. Only in the main thread, and not where SIGINT is ignored (a background job)."""

    def __enter__(self):
        self.count, self.previous = 0, None
        if threading.current_thread() is threading.main_thread() and \
                signal.getsignal(signal.SIGINT) is not signal.SIG_IGN:
            self.previous = signal.signal(signal.SIGINT, self._handler) or \
                signal.default_int_handler
        return self

    def _handler(self, signum, frame):
        self.count += 1
        if self.count > 1:
            raise KeyboardInterrupt

    def __exit__(self, *exc):
        if self.previous is not None:
            signal.signal(signal.SIGINT, self.previous)
        return False


# ---------------------------------------------------------------- the run


class Run:
    """One experiment run: its results folder, generator, metrics and training loop.

    ``extra`` (e.g. ``data_sha256=...``) is written into config.json.
    Metrics: ``step``, ``loss[model]`` and ``grad_norm[model]`` (the global gradient
    norm before clipping) per training step; ``eval["step"]``
    and ``eval[metric][model]`` every ``--eval-every`` steps; ``final``.

    ``--resume`` compares this run's flags and ``extra`` with the checkpoint's and
    refuses, before writing anything, with one message listing every difference: only
    the flags in ``MAY_CHANGE`` (and ``resume_may_change``, the script's own flags that
    change nothing the checkpoint holds) may differ, ``--steps`` only to the
    checkpoint's step or beyond. config.json then records, under ``resumed``, the step
    each later process started from, on which device and commit.
    """

    MAY_CHANGE = ("steps", "out", "device", "checkpoint_every", "resume")

    def __init__(self, name, args, *, resume_may_change=(), **extra):
        self.name, self.args = name, args
        self.device = check_device(args.device)
        check_plots()
        self.out = Path(args.out)
        self.rng = np.random.default_rng(args.seed)
        self.step = 0
        self.metrics = {"step": [], "loss": {}, "grad_norm": {}, "eval": {"step": []}}
        self.seconds, self.steps_run = {}, 0  # training seconds per model, steps: this process
        self.started = time.perf_counter()
        self.config = config(name, args, **extra)
        self.checkpoint_step = None  # the step of the checkpoint on disk this run wrote or read
        self._resumed = None  # the checkpoint's contents, read here, loaded by train()
        if args.resume and (self.out / CHECKPOINT).exists():
            self._resumed = self._read_checkpoint(resume_may_change)
        self.out.mkdir(parents=True, exist_ok=True)
        write_json(self.out / "config.json", self.config)

    def eval_rng(self):
        """A fresh generator for held-out data: the same data at every evaluation."""
        return np.random.default_rng([self.args.seed, 1])

    # -------------------------------------------------------- checkpoint

    def _read_checkpoint(self, resume_may_change):
        """The checkpoint in --out, if its flags are this run's (see the class docstring);
        else a usage error listing every difference."""
        path = self.out / CHECKPOINT
        try:
            state = nn.load(path)
        except nn.CheckpointError as error:
            raise SystemExit(f"error: --resume: {error}") from None
        if "config" not in state:
            usage_error(self.name, f"--resume: {path} does not record the flags it was made "
                        "with (it predates that), so they cannot be checked; rerun without "
                        "--resume to start afresh")
        saved, now = json.loads(str(state["config"])), _plain(self.config)
        free = set(self.MAY_CHANGE) | set(resume_may_change)
        differences = []
        for key in sorted(set(saved["args"]) | set(now["args"])):
            old, new = saved["args"].get(key, "(none)"), now["args"].get(key, "(none)")
            if old != new and key not in free:
                differences.append(f"--{key.replace('_', '-')} {_shown(new)} "
                                   f"(the checkpoint's: {_shown(old)})")
        ignored = {"args", "git_commit", "versions", "experiment", "resumed"}
        for key in sorted((set(saved) | set(now)) - ignored):
            old, new = saved.get(key, "(none)"), now.get(key, "(none)")
            if old != new:
                differences.append(f"{key} {_shown(new)} (the checkpoint's: {_shown(old)})")
        step = int(state["step"])
        if self.args.steps < step:
            differences.append(f"--steps {self.args.steps} is below the checkpoint's step "
                               f"{step}")
        if differences:
            others = [f"--{k.replace('_', '-')}" for k in (*self.MAY_CHANGE, *resume_may_change)
                      if k not in ("steps", "resume")]
            usage_error(self.name, f"--resume: {path} was made with other settings: "
                        + "; ".join(differences) + ". Only --steps (at or above the "
                        f"checkpoint's step), {', '.join(others)} may change on resume: rerun "
                        "with the checkpoint's flags, or without --resume to start afresh")
        self.config["resumed"] = [*saved.get("resumed", []), {
            "from_step": step, "device": self.device, "git_commit": self.config["git_commit"]}]
        return state

    def save_checkpoint(self, models, optimizers):
        nn.save({
            "step": self.step,
            "rng": self.rng.bit_generator.state,
            "metrics": json.dumps(self.metrics),
            "config": json.dumps(_plain(self.config)),
            "models": {k: m.state_dict() for k, m in models.items()},
            "optimizers": {k: o.state_dict() for k, o in optimizers.items()},
        }, self.out / CHECKPOINT)
        self.checkpoint_step = self.step

    def load_checkpoint(self, models, optimizers):
        state = self._resumed if self._resumed is not None else nn.load(self.out / CHECKPOINT)
        for k, model in models.items():
            model.load_state_dict(state["models"][k])
            optimizers[k].load_state_dict(state["optimizers"][k])
        self.rng.bit_generator.state = state["rng"]
        self.metrics = json.loads(str(state["metrics"]))
        self.step = int(state["step"])
        self.checkpoint_step = self.step

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

    def _on_disk(self):
        """What the results folder holds by way of a checkpoint, in words."""
        path = self.out / CHECKPOINT
        if self.checkpoint_step is not None:
            return f"the checkpoint of step {self.checkpoint_step} is in {path}"
        if path.exists():
            return f"no checkpoint of this run was written ({path} is an earlier run's)"
        return (f"no checkpoint was written (the first comes at step "
                f"{min(self.args.checkpoint_every, self.args.steps)})")

    def _stop(self, message):
        """Divergence: record why in metrics.json, say what is on disk, and exit."""
        self.metrics["stopped"] = message
        write_json(self.out / "metrics.json", self.metrics)
        kept = f"the last good checkpoint, of step {self.checkpoint_step}, is kept in " \
            f"{self.out / CHECKPOINT}" if self.checkpoint_step is not None else self._on_disk()
        raise SystemExit(f"error: {message}; {kept}")

    def _interrupted(self, models, optimizers, whole_step):
        """Ctrl-C: save the last whole step (if the interrupt let it finish), say how to go
        on, and exit with status 130 (128 + SIGINT), as a shell does."""
        if whole_step and self.step > 0 and self.checkpoint_step != self.step:
            self.save_checkpoint(models, optimizers)
        if whole_step:
            write_json(self.out / "metrics.json",
                       dict(self.metrics, stopped=f"interrupted after step {self.step}"))
        where = self._on_disk() if whole_step else \
            f"step {self.step + 1} was cut short, not saved; {self._on_disk()}"
        print(f"interrupted: {where}; resume with: {command(self.name, self.args, '--resume')}",
              file=sys.stderr, flush=True)
        raise SystemExit(130)

    def train(self, models, optimizers, make_batch, loss_fn, evaluate=None, clip=None):
        """Train every model on the same batches up to ``--steps``, resuming if asked.

        ``clip`` maps model name to max gradient norm (default: ``--clip`` for all).
        Ctrl-C stops after the current step, saves it and prints the command that resumes.
        """
        args = self.args
        if args.resume and (self.out / CHECKPOINT).exists():
            self.load_checkpoint(models, optimizers)
            self._resumed = None
            print(f"resuming from step {self.step} of {self.out / CHECKPOINT}", file=sys.stderr)
        elif args.resume:
            print(f"no checkpoint in {self.out}: starting from step 0", file=sys.stderr)
        clip = clip or dict.fromkeys(models, args.clip)
        self.seconds = dict.fromkeys(models, 0.0)
        for k in models:
            self.metrics["loss"].setdefault(k, [])
            self.metrics["grad_norm"].setdefault(k, [])
        progress = Progress(self.name, args.steps, self.step)
        try:
            with _Interrupts() as interrupts:
                for step in range(self.step + 1, args.steps + 1):
                    self._train_step(step, models, optimizers, make_batch, loss_fn, evaluate,
                                     clip, progress)
                    if interrupts.count:
                        self._interrupted(models, optimizers, whole_step=True)
        except KeyboardInterrupt:
            self._interrupted(models, optimizers, whole_step=False)
        finally:
            progress.close()

    def _train_step(self, step, models, optimizers, make_batch, loss_fn, evaluate, clip,
                    progress):
        """One step: a batch, every model's update, the evaluation and checkpoint if due."""
        args = self.args
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
                self._stop(f"{', '.join(bad)}: parameters became NaN or inf at step {step}")
            self.save_checkpoint(models, optimizers)
        progress.update(step, {k: v[-1] for k, v in self.metrics["loss"].items()})

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

    def report(self):
        """Print where the results are: the folder and the files in it."""
        files = sorted(p.name for p in self.out.iterdir() if p.is_file())
        print(f"results in {self.out}{os.sep}: {', '.join(files)}")


def _shown(value):
    """A flag's value as it would be typed."""
    if isinstance(value, list):
        return " ".join(map(str, value))
    return str(value)


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
    try:
        import matplotlib
    except ImportError:
        raise SystemExit(f"error: {PLOTS}") from None

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
