"""Run a program with every random stream seeded: ``python seeded.py LIB SEED SCRIPT [ARGS...]``
seeds Python's ``random``, NumPy's global stream and LIB's (``torch`` or ``loopgrad``) default
generator with SEED, makes the program's own ``LIB.manual_seed(s)`` seed ``s + SEED``, and
runs SCRIPT as ``__main__``.

So a run is one draw that repeats: the tests run every program with SEED 0, whether or not
it seeds itself, and measure_spread.py varies SEED to see how far its final loss moves (a
program that seeds itself, ``--seed 1111``, varies as much as one that does not). Without
it, the programs that do not seed themselves would pass or fail the band by chance.
"""

import importlib
import os
import random
import runpy
import sys

import numpy as np


def main():
    library_name, seed, script, *arguments = sys.argv[1:]
    seed = int(seed)
    library = importlib.import_module(library_name)
    random.seed(seed)
    np.random.seed(seed)
    library.manual_seed(seed)
    manual_seed = library.manual_seed
    library.manual_seed = lambda s: manual_seed(int(s) + seed)
    sys.argv = [script, *arguments]
    sys.path.insert(0, os.path.dirname(os.path.abspath(script)))
    runpy.run_path(script, run_name="__main__")


if __name__ == "__main__":
    main()
