"""The real PyTorch programs of the corpus (tests/programs/corpus), each run on loopgrad
and on PyTorch in one process tree, with the time per training step of each and the ratio.

    python -m experiments.bench_programs --repeats 3

The corpus and its harness live with the tests (tests/programs: each program with its
source, commit and license, the import rewrite, the data); this runs their benchmark,
tests/programs/bench.py, from a clone. It needs PyTorch installed.
"""

import pathlib
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if not (ROOT / "tests" / "programs" / "bench.py").is_file():
        sys.exit("bench_programs: the corpus (tests/programs) is not here: run it from a clone")
    return subprocess.call([sys.executable, "-m", "tests.programs.bench", *argv], cwd=ROOT)


if __name__ == "__main__":
    sys.exit(main())
