"""The corpus's speed: each program run on loopgrad and on PyTorch, the time per training
step of each (the median interval between ``backward()`` calls, step_timer.py) and their
ratio. ``python -m tests.programs.bench [--repeats N] [NAME ...]``; experiments/bench_programs.py
runs it. Both libraries run with one BLAS thread, on the same data and sizes as the tests.
"""

import argparse
import json
import os
import pathlib
import statistics
import sys
import tempfile

from tests.programs import harness

TIMER = pathlib.Path(__file__).resolve().parent / "step_timer.py"


def step_seconds(program, engine, workdir):
    """The median time per training step of one run (and the number of steps timed)."""
    times_file = pathlib.Path(workdir) / "step_times.json"
    os.environ["STEP_TIMES"] = str(times_file)
    library = "torch" if engine == "pytorch" else "loopgrad"
    result = harness.run(program, pathlib.Path(workdir) / "run", engine,
                         prefix=(str(TIMER), library))
    harness.check_ran(result)
    starts = json.loads(times_file.read_text())
    intervals = [b - a for a, b in zip(starts, starts[1:])]
    if not intervals:
        raise RuntimeError(f"{program.name} with {engine}: fewer than two backward() calls")
    return statistics.median(intervals), len(intervals)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("names", nargs="*", help="programs (default: all of the corpus)")
    parser.add_argument("--repeats", type=int, default=3,
                        help="runs of each program on each library; the median is quoted")
    args = parser.parse_args(argv)
    if args.repeats < 1:
        parser.error(f"--repeats must be at least 1; got {args.repeats}")
    known = {p.name: p for p in harness.PROGRAMS}
    unknown = [name for name in args.names if name not in known]
    if unknown:
        parser.error(f"unknown programs {unknown}; the corpus has {sorted(known)}")
    programs = [known[name] for name in args.names] or harness.PROGRAMS
    print(f"ms per training step, median of {args.repeats} runs of each "
          f"(each run: the median interval between backward() calls)")
    print(f"{'program':<28}{'loopgrad':>10}{'pytorch':>10}{'ratio':>8}{'steps':>7}")
    ratios = []
    for program in programs:
        times = {"loopgrad": [], "pytorch": []}
        for _ in range(args.repeats):
            for engine in times:  # the two take turns, so load elsewhere slows both alike
                with tempfile.TemporaryDirectory() as workdir:
                    seconds, steps = step_seconds(program, engine, workdir)
                times[engine].append(seconds)
        ours, theirs = (statistics.median(times[e]) * 1e3 for e in ("loopgrad", "pytorch"))
        ratios.append(ours / theirs)
        print(f"{program.name:<28}{ours:>10.2f}{theirs:>10.2f}{ours / theirs:>8.2f}{steps:>7}")
        sys.stdout.flush()
    print(f"{'median ratio':<48}{statistics.median(ratios):>8.2f}")
    print(f"{'worst ratio':<48}{max(ratios):>8.2f}")


if __name__ == "__main__":
    main()
