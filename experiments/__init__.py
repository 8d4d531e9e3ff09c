"""Reproducible experiments: each module is a command, ``python -m experiments.NAME`` from
the repository root (or ``python path/to/experiments/NAME.py`` from anywhere).

Every experiment (the ``bench_*`` benchmarks aside) takes ``--seed``, ``--device``,
``--out``, ``--steps`` and ``--resume``, shows its progress (tqdm's bar on a terminal, a
plain line every 10% elsewhere), and writes ``config.json``, ``metrics.json``,
``timing.json``, PNG plots and a checkpoint under ``results/NAME/``. The shared machinery
(flags and their checks, the training loop with checkpoint, resume, NaN guard and Ctrl-C,
JSON, plots) is in ``experiments.common``; ``experiments/README.md`` lists what each script
reproduces, ``experiments/expected.json`` its figures, and ``python -m
experiments.check_expected`` reruns them all and compares.

One BLAS thread. The recurrent models here multiply small matrices (32 x 64 by
64 x 256, say), where a multi-threaded BLAS gains nothing and, on a machine with
other work running, its spinning threads made an LSTM step 20 to 40 times slower
(measured on 2 cores). So, unless the variables are already set, the BLAS libraries
NumPy may use are asked for one thread. This works when ``experiments`` is imported
before NumPy, as with ``python -m experiments.NAME``; set ``OPENBLAS_NUM_THREADS``
(or ``OMP_NUM_THREADS``, ``MKL_NUM_THREADS``) yourself to choose otherwise.
"""

import os

THREAD_VARIABLES = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")

for _variable in THREAD_VARIABLES:
    os.environ.setdefault(_variable, "1")
