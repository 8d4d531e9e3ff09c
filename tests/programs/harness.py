"""Run a corpus program with PyTorch (as written) or with loopgrad (imports rewritten).

Each program in ``corpus/`` is a real public PyTorch program (its header says from
where, at which commit, under which license, and the few lines changed: data,
sizes). ``run(program, workdir, engine)`` copies the program into ``workdir`` (for
``engine="loopgrad"`` with every ``.py`` file passed through ``rewrite``), runs its
entry script there in a fresh interpreter, ``sys.executable``, with every random stream
seeded (seed 0, seeded.py: one draw, the same each time), and reads the losses it
prints. ``check_learned`` asserts that it ran, that its losses are finite, that it
learned, and that its final loss lies in the band PyTorch's runs of it span over
seeds, widened by a margin (``Program.accepts``).

The loopgrad run finds ``loopgrad`` at the root of this repository and cannot import
torch: a stub ``torch`` first on its path raises ModuleNotFoundError, as a missing torch
does, so a torch import that the rewrite missed fails loudly, with or without PyTorch
installed.
"""

import dataclasses
import math
import os
import pathlib
import re
import shutil
import subprocess
import sys
import time

from tests.programs.rewrite import changed_lines, rewrite

HERE = pathlib.Path(__file__).resolve().parent
CORPUS = HERE / "corpus"
SEEDED = HERE / "seeded.py"  # the launcher that seeds every random stream of a run
ROOT = HERE.parent.parent  # the repository, where the loopgrad package lives

NUMBER = r"([-+]?(?:\d+\.?\d*(?:[eE][-+]?\d+)?|nan|inf))"
TAIL = 40  # lines of a failed run's output shown in the assertion message

# One thread, a headless matplotlib, no .pyc files left: the same for both engines.
ENV = {"MPLBACKEND": "Agg", "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1",
       "MKL_NUM_THREADS": "1", "PYTHONDONTWRITEBYTECODE": "1", "PYTHONUNBUFFERED": "1"}

# What ``import torch`` meets in a loopgrad run: the error of a missing torch, with the reason.
TORCH_BLOCKER = '''raise ModuleNotFoundError(
    "the rewritten program imported torch: an import the rewrite (tests/programs/rewrite.py) "
    "missed, or loopgrad importing torch; a loopgrad run must not need torch", name="torch")
'''


@dataclasses.dataclass(frozen=True)
class Program:
    """A corpus program, how to run it, and what PyTorch's runs of it measured.

    ``first`` is a regex whose first match is the loss before (or early in) training,
    or a number where the program prints no early loss: the loss of the trivial
    prediction (ln of the number of classes, the variance of the target). ``final`` is a
    regex whose last match is the loss at the end (the mean of its last ``final_of_last``
    matches, for a program whose last loss alone is too noisy). ``band`` is (min, max) of
    that final loss over PyTorch runs with 10 seeds, or 40 for a program that does not seed
    itself, whose every test run differs (measure_spread.py), and ``min_drop`` the smallest
    first - final among them.
    """

    name: str
    entry: str  # the script to run, relative to the program's folder
    args: tuple
    first: object  # str (regex) or float (baseline)
    final: str
    band: tuple
    min_drop: float
    seeding: str  # how the program seeds itself, and how measure_spread.py varied the seed
    pytorch_seconds: float  # wall time of one PyTorch run, measured on 2 cores
    timeout: int = 300
    final_of_last: int = 1

    @property
    def folder(self):
        """The program's files: a folder of its own, or one file directly in corpus/."""
        path = CORPUS / self.name
        return path if path.is_dir() else None

    @property
    def margin(self):
        """How far outside PyTorch's seed band a final loss may lie: the width of the band
        (so the accepted range is three bands wide: for 10 normal samples, whose range is
        about 3.1 sd, mean +- 4.6 sd), and at least 10% of the band's top, for float32
        round-off and the engines' different random streams."""
        lo, hi = self.band
        return max(hi - lo, 0.1 * hi)

    def accepts(self, final):
        lo, hi = self.band
        return lo - self.margin <= final <= hi + self.margin


def prepare(program, workdir, engine):
    """Copy the program into ``workdir``; for loopgrad, each ``.py`` file rewritten.

    Returns the number of lines the rewrite changed (0 for PyTorch)."""
    workdir = pathlib.Path(workdir)
    if program.folder is not None:
        shutil.copytree(program.folder, workdir, dirs_exist_ok=True,
                        ignore=shutil.ignore_patterns("__pycache__"))
    else:
        workdir.mkdir(parents=True, exist_ok=True)
        shutil.copy(CORPUS / program.entry, workdir / program.entry)
    changed = 0
    if engine == "loopgrad":
        for path in sorted(workdir.rglob("*.py")):
            original = path.read_text(encoding="utf-8")
            rewritten = rewrite(original)
            changed += changed_lines(original, rewritten)
            path.write_text(rewritten, encoding="utf-8")
    elif engine != "pytorch":
        raise ValueError(f"engine is 'pytorch' or 'loopgrad', not {engine!r}")
    return changed


def environment(workdir, engine):
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env.update(ENV)
    if engine == "loopgrad":
        blocker = pathlib.Path(workdir).parent / (pathlib.Path(workdir).name + "-no-torch")
        (blocker / "torch").mkdir(parents=True, exist_ok=True)
        (blocker / "torch" / "__init__.py").write_text(TORCH_BLOCKER)
        env["PYTHONPATH"] = os.pathsep.join([str(blocker), str(ROOT)])
    return env


@dataclasses.dataclass
class Result:
    program: Program
    engine: str
    returncode: int
    stdout: str
    stderr: str
    seconds: float
    changed_lines: int
    command: list

    def tail(self, n=TAIL):
        """The last ``n`` lines of its standard error (the traceback), else of its output."""
        lines = (self.stderr.strip() or self.stdout.strip()).splitlines()
        return "\n".join(lines[-n:])

    def output_tail(self, n=10):
        return "\n".join(self.stdout.strip().splitlines()[-n:])

    def losses(self):
        """(first, final) as printed (first may be the program's baseline), or raises
        AssertionError naming what was not found."""
        if isinstance(self.program.first, str):
            found = re.findall(self.program.first, self.stdout, flags=re.M)
            assert found, (f"{self.describe()}: no first loss ({self.program.first!r}) in its "
                           f"output, which ends:\n{self.output_tail()}")
            first = float(found[0])
        else:
            first = float(self.program.first)
        found = re.findall(self.program.final, self.stdout, flags=re.M)
        assert found, (f"{self.describe()}: no final loss ({self.program.final!r}) in its output, "
                       f"which ends:\n{self.output_tail()}")
        last = [float(value) for value in found[-self.program.final_of_last:]]
        return first, sum(last) / len(last)

    def describe(self):
        return f"{self.program.name} with {self.engine}"


def run(program, workdir, engine, extra_args=(), python=sys.executable, prefix=None, seed=0):
    """Run ``program`` in ``workdir`` with ``engine`` ('pytorch' or 'loopgrad'), every random
    stream seeded with ``seed`` (seeded.py), or under another launcher: ``prefix``, the
    command's words before the program's (step_timer.py)."""
    workdir = pathlib.Path(workdir)
    changed = prepare(program, workdir, engine)
    if prefix is None:
        prefix = (str(SEEDED), "torch" if engine == "pytorch" else "loopgrad", str(seed))
    command = [python, *prefix, program.entry, *program.args, *extra_args]
    start = time.perf_counter()
    try:
        done = subprocess.run(command, cwd=workdir, env=environment(workdir, engine),
                              capture_output=True, text=True, timeout=program.timeout,
                              check=False)
        returncode, stdout, stderr = done.returncode, done.stdout, done.stderr
    except subprocess.TimeoutExpired as e:
        returncode = None
        stdout = e.stdout.decode() if isinstance(e.stdout, bytes) else (e.stdout or "")
        stderr = (e.stderr.decode() if isinstance(e.stderr, bytes) else (e.stderr or ""))
        stderr += f"\n[harness] killed after {program.timeout} s"
    return Result(program, engine, returncode, stdout, stderr, time.perf_counter() - start,
                  changed, command)


def check_ran(result):
    """Assert the run finished with exit status 0; else show the end of what it wrote."""
    assert result.returncode == 0, (
        f"{result.describe()} failed (exit status {result.returncode}, "
        f"{' '.join(map(str, result.command[1:]))}); the last {TAIL} lines it wrote:\n"
        f"{result.tail()}")


def check_learned(result):
    """Assert the run finished, printed finite losses, learned, and ended in the band."""
    p = result.program
    check_ran(result)
    first, final = result.losses()
    assert math.isfinite(first) and math.isfinite(final), (
        f"{result.describe()}: losses not finite: first {first}, final {final}")
    assert first - final >= 0.5 * p.min_drop, (
        f"{result.describe()} did not learn: first loss {first:.4g}, final {final:.4g}, a drop "
        f"of {first - final:.4g}; PyTorch's smallest drop over 10 seeds is {p.min_drop:.4g} and "
        f"at least half of it is asked for; its output ends:\n{result.output_tail()}")
    lo, hi = p.band
    assert p.accepts(final), (
        f"{result.describe()}: final loss {final:.4g} is outside "
        f"[{lo - p.margin:.4g}, {hi + p.margin:.4g}], PyTorch's seed band [{lo:.4g}, {hi:.4g}] "
        f"widened by {p.margin:.4g} on each side; its output ends:\n{result.output_tail()}")
    return first, final


# ---------------------------------------------------------------------------------------------
# The corpus. band, min_drop: measured by measure_spread.py (PyTorch 2.13.0+cpu, 2 cores, one
# thread, 10 seeds; 40 for the programs that do not seed themselves, as a band of 10 left
# their own PyTorch runs outside it too often); each comment lists the final losses (for 40
# seeds: min, median, max), the range of the first losses, and a plain run's final loss (a
# run as the test makes it). pytorch_seconds: the wall time
# of the test's PyTorch run (pytest --durations), python and torch start-up included.

PROGRAMS = [
    # test loss: 1.68 1.71 1.75 1.73 1.69 1.69 1.71 1.58 1.83 1.68; first 4.30-4.36; plain 1.68
    Program(
        name="word_language_model", entry="main.py",
        args=("--data", "./data/synthetic", "--model", "LSTM", "--epochs", "8", "--emsize", "32",
              "--nhid", "64", "--bptt", "20", "--batch_size", "10", "--log-interval", "5"),
        first=r"\| loss\s+" + NUMBER + r" \|", final=r"test loss\s+" + NUMBER + r" \|",
        band=(1.58, 1.83), min_drop=2.49, pytorch_seconds=4.8,
        seeding="torch.manual_seed(args.seed), --seed 1111 (the default)"),
    # last training loss: 0.002906 0.002518 0.01394 0.00348 0.009568 0.005601 0.003659
    # 0.003762 0.07015 0.004175; first 0.498-0.568; plain 0.002906 (the program seeds itself:
    # its plain run is seed 0's)
    Program(
        name="time_sequence_prediction", entry="time_sequence_prediction.py", args=("--steps", "1"),
        first=r"^loss: " + NUMBER, final=r"^loss: " + NUMBER,
        band=(0.002518, 0.07015), min_drop=0.4354, pytorch_seconds=7.2,
        seeding="np.random.seed(0); torch.manual_seed(0) (in the program)"),
    # test loss: 0.4297 0.4542 0.386 0.3753 0.4135 0.3617 0.4099 0.4136 0.4247 0.4017;
    # first 2.20-2.49; plain 0.4297
    Program(
        name="mnist_rnn", entry="mnist_rnn.py",
        args=("--epochs", "2", "--log-interval", "5", "--lr", "1.0"),
        first=r"Train Epoch: .*Loss: " + NUMBER, final=r"Test set: Average loss: " + NUMBER,
        band=(0.3617, 0.4542), min_drop=1.779, pytorch_seconds=5.1,
        seeding="torch.manual_seed(args.seed), --seed 1 (the default)"),
    # last epoch's loss over 40 seeds: 0.5648, median 0.6161, 0.7186; first 1.75-1.84;
    # plain 0.6489
    Program(
        name="char_rnn_classification", entry="char_rnn_classification_tutorial.py", args=(),
        first=r"average batch loss = " + NUMBER, final=r"average batch loss = " + NUMBER,
        band=(0.5648, 0.7186), min_drop=1.049, pytorch_seconds=5.4,
        seeding="none: each run differs (its train/test split: a Generator seeded 2024)"),
    # last 2 epochs' loss over 40 seeds: 0.7613, median 0.8045, 0.8514; first 3.04-3.44;
    # plain 0.8026
    Program(
        name="seq2seq_translation", entry="seq2seq_translation_tutorial.py", args=(),
        first=r"\(\d+ \d+%\) " + NUMBER, final=r"\(\d+ \d+%\) " + NUMBER,
        band=(0.7613, 0.8514), min_drop=2.207, pytorch_seconds=6.7,
        seeding="none: each run differs"),
    # last 5 iterations' loss over 40 seeds: 2.730, median 2.822, 2.943; first 3.86-3.95;
    # plain 2.852
    Program(
        name="chatbot", entry="chatbot_tutorial.py", args=(),
        first=r"Average loss: " + NUMBER, final=r"Average loss: " + NUMBER,
        band=(2.730, 2.943), min_drop=0.999, pytorch_seconds=5.9,
        seeding="none: each run differs"),
    # last training loss: 0.03095 0.04328 0.05444 0.04583 0.02549 0.05382 0.03473 0.04047
    # 0.04311 0.02944; first: ln 3, the loss of a uniform guess over its 3 tags (it prints
    # no loss before training); plain 0.03095
    Program(
        name="sequence_models_tutorial", entry="sequence_models_tutorial.py", args=(),
        first=math.log(3), final=r"final training loss: " + NUMBER,
        band=(0.02549, 0.05444), min_drop=1.044, pytorch_seconds=4.5,
        seeding="torch.manual_seed(1) (in the program)"),
    # loss of the 10th epoch's first batch over 40 seeds: 1.616, median 1.642, 1.672;
    # first 3.66-3.73; plain 1.650
    Program(
        name="yunjey_language_model", entry="main.py", args=(),
        first=r"Loss: " + NUMBER + ", Perplexity", final=r"Loss: " + NUMBER + ", Perplexity",
        band=(1.616, 1.672), min_drop=2.006, pytorch_seconds=5.1,
        seeding="none: each run differs"),
    # last printed batch loss over 40 seeds: 1.011, median 1.190, 1.444; first 2.27-2.31;
    # plain 1.192
    Program(
        name="yunjey_bidirectional_rnn", entry="yunjey_bidirectional_rnn.py", args=(),
        first=r"Loss: " + NUMBER, final=r"Loss: " + NUMBER,
        band=(1.011, 1.444), min_drop=0.845, pytorch_seconds=5.2,
        seeding="none: each run differs"),
    # mean loss of the last 5 steps (each one window of 10 points) over 40 seeds: 0.002143,
    # median 0.01571, 0.09531, 0.1148, 0.1395, 0.4951 (the 4 highest: a seed that had not
    # learned yet); first: 0.5, the loss of predicting 0 for its target cos(t) (it prints its
    # loss after each step only); plain 0.01445
    Program(
        name="morvan_rnn_regressor", entry="morvan_rnn_regressor.py", args=(),
        first=0.5, final=r"^training loss: " + NUMBER, final_of_last=5,
        band=(0.002143, 0.4951), min_drop=0.004866, pytorch_seconds=12.0,
        seeding="none: each run differs (its torch.manual_seed(1) is commented out)"),
]
