"""The scripts run however they are invoked from a clone, and import without the optional
packages they need only for a bar (tqdm) or only at the end (matplotlib)."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SCRIPTS = sorted(  # every command (a module with a __main__ block), the benchmarks too
    path.stem for path in (ROOT / "experiments").glob("*.py")
    if 'if __name__ == "__main__":' in path.read_text())
TINY = ["--seq-len", "4", "--eval-size", "4", "--hidden-size", "2", "--batch-size", "2",
        "--steps", "2", "--eval-every", "1", "--checkpoint-every", "1"]


def plain_env():
    return {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}


def python(*argv, cwd):
    """Run ``python argv`` in ``cwd`` without PYTHONPATH."""
    return subprocess.run([sys.executable, *argv], cwd=cwd, env=plain_env(),
                          capture_output=True, text=True, timeout=120)


def test_each_script_runs_as_a_file_from_another_folder(tmp_path):
    running = {name: subprocess.Popen(  # all at once: each is a Python start-up
        [sys.executable, str(ROOT / "experiments" / f"{name}.py"), "--help"], cwd=tmp_path,
        env=plain_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for name in SCRIPTS}
    for name, process in running.items():
        out, error = process.communicate(timeout=120)
        assert process.returncode == 0, (name, error)
        assert out.startswith("usage: "), name  # bench_programs shows its harness's usage


def test_a_script_run_as_a_file_trains_and_writes_where_it_is_told(tmp_path):
    done = python(str(ROOT / "experiments" / "adding.py"), *TINY, "--out", "out", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "out" / "metrics.json").stat().st_size > 0
    assert "results in out/: " in done.stdout


def test_the_relative_path_from_the_root_works_too():
    done = python("experiments/adding.py", "--help", cwd=ROOT)
    assert done.returncode == 0 and "python -m experiments.adding" in done.stdout


NO_EXTRAS = """
import sys
sys.modules["tqdm"] = None  # import tqdm and import matplotlib now raise ImportError
sys.modules["matplotlib"] = None
from experiments import (adding, char_lm, check_expected, common, copy_memory, digits,
                         forecast, gradient_flow, seq2seq_dates)
import tests.experiments.smoke, tests.experiments.test_runs
progress = common.Progress("x", 10, 0, stream=type("T", (), {"isatty": lambda self: True,
                                                                "write": sys.stdout.write,
                                                                "flush": lambda self: None})())
progress.update(10, {"gru": 0.5})
adding.main(sys.argv[1:])
"""


def test_the_experiments_import_without_tqdm_and_matplotlib(tmp_path):
    done = python("-c", NO_EXTRAS, *TINY, "--out", str(tmp_path / "out"), cwd=ROOT)
    assert "x: step 10/10 (100%)" in done.stdout  # no tqdm: plain lines, even on a terminal
    assert done.returncode == 1
    assert done.stderr.strip().splitlines()[-1] == \
        'error: the plots need matplotlib: pip install -e ".[experiments]"'
    assert not (tmp_path / "out").exists()  # refused before training, not after it


COLLECT = """
import sys
sys.modules["tqdm"] = None  # as on a machine without the experiments extra
sys.modules["matplotlib"] = None
import pytest
sys.exit(pytest.main(["--collect-only", "-q", "-p", "no:cacheprovider", "tests/experiments"]))
"""


def test_these_tests_collect_without_tqdm_and_matplotlib():
    done = python("-c", COLLECT, cwd=ROOT)
    assert done.returncode == 0, done.stdout[-2000:]
    last = done.stdout.strip().splitlines()[-1]
    assert " tests collected in " in last and "error" not in last, last
