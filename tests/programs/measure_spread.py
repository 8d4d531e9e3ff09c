"""Measure, with PyTorch, how much each corpus program's final loss varies with the seed.

    python -m tests.programs.measure_spread [NAME ...] [--seeds 10] [--jobs 2]

For each program: one run as the test makes it (seed 0), alone, for its wall time, and one
run per seed 0..N-1 (seeded.py: the random streams of Python, NumPy and torch seeded with
that number before the program starts, and ``torch.manual_seed(s)``, where the program
calls it, seeding ``s + seed``), ``jobs`` at a time. It
prints, per program, the first and final losses over the seeds and the values to
write into ``harness.PROGRAMS``: ``band`` (min, max of the final loss), ``min_drop``
(the smallest first - final) and ``pytorch_seconds``.

Offline, by hand: the tests only read the numbers.
"""

import argparse
import json
import os
import sys
import tempfile


def measure(program, seeds, jobs=1):
    """The plain run alone (its time), then the seeded runs, ``jobs`` at a time."""
    from concurrent.futures import ThreadPoolExecutor

    from tests.programs import harness

    with tempfile.TemporaryDirectory() as tmp:
        plain = harness.run(program, os.path.join(tmp, "plain"), "pytorch")
        harness.check_ran(plain)

        def seeded(seed):
            result = harness.run(program, os.path.join(tmp, f"seed{seed}"), "pytorch",
                                 seed=seed)
            harness.check_ran(result)
            return result.losses()

        with ThreadPoolExecutor(jobs) as pool:
            rows = list(pool.map(seeded, range(seeds)))
    firsts, finals = zip(*rows)
    return {
        "name": program.name,
        "seconds": round(plain.seconds, 2),
        "plain": plain.losses(),
        "firsts": firsts,
        "finals": finals,
        "band": (min(finals), max(finals)),
        "min_drop": min(f - g for f, g in rows),
    }


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("names", nargs="*", help="programs to measure (default: all)")
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--jobs", type=int, default=1, help="seeded runs at a time")
    args = parser.parse_args(argv)
    from tests.programs import harness

    for program in harness.PROGRAMS:
        if args.names and program.name not in args.names:
            continue
        print(json.dumps(measure(program, args.seeds, args.jobs)), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
