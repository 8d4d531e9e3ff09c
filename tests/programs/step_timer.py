"""Run a program with one library's ``Tensor.backward`` timed: ``python step_timer.py LIB
SCRIPT [ARGS...]`` imports LIB (``torch`` or ``loopgrad``), wraps its ``Tensor.backward`` so
that each call's start time is recorded, runs SCRIPT as ``__main__``, and writes the times
(JSON, seconds) to the file named by ``$STEP_TIMES``.

A training step of these programs is one ``backward()`` with the forward before it and
the update after it, so the time from one ``backward()`` to the next is one step: the
median of those intervals leaves out start-up, data preparation and evaluation.
"""

import atexit
import importlib
import json
import os
import runpy
import sys
import time


def main():
    library, script, *arguments = sys.argv[1:]
    tensor_class = importlib.import_module(library).Tensor
    starts = []
    backward = tensor_class.backward
    depth = [0]  # PyTorch's function modes (set_default_device) call backward from backward

    def timed_backward(self, *args, **kwargs):
        if depth[0] == 0:
            starts.append(time.perf_counter())
        depth[0] += 1
        try:
            return backward(self, *args, **kwargs)
        finally:
            depth[0] -= 1

    tensor_class.backward = timed_backward
    atexit.register(lambda: open(os.environ["STEP_TIMES"], "w").write(json.dumps(starts)))
    sys.argv = [script, *arguments]
    sys.path.insert(0, os.path.dirname(os.path.abspath(script)))
    runpy.run_path(script, run_name="__main__")


if __name__ == "__main__":
    main()
