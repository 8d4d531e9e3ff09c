"""Rerun every default run of experiments/README.md's table and compare with expected.json.

``experiments/expected.json`` holds, for each run of the table (the command, run from
the repository root with the defaults, seed 0), its final metrics (``final`` of
metrics.json), the SHA-256 of its metrics.json, and the figures the README quotes
(``quotes``: what each is, how it is written, its value). This command reruns them one
at a time (about fifteen minutes in all on two idle CPU cores; not part of CI) and says,
run by run, whether metrics.json came out byte-identical, and which figures moved.
Exit status 0 when every run gave the expected final metrics, 1 otherwise.

    python -m experiments.check_expected                 # all runs, into results/NAME
    python -m experiments.check_expected --only digits_rows seq2seq_dates
    python -m experiments.check_expected --record        # write what was measured

One seed gives the same bytes on one machine; another CPU (its BLAS kernels round
float32 products differently) gives other trajectories and other figures, which is
why expected.json records the machine it was measured on. tests/experiments checks
that the README table quotes exactly the figures of this file.

A quote names a value of metrics.json: a dotted path (``final.test_mse.lstm``), its
maximum, minimum or median over a curve (``max(eval.accuracy.gru)``), its value at a
step (``eval.exact_match.gru@300``), or the first evaluation
step where a curve passes a threshold (``first(eval.mse.gru < 0.01667)``).
"""

import argparse
import hashlib
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path

if not __package__:  # run as a file (python experiments/NAME.py): the repository on the path
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

ROOT = Path(__file__).resolve().parent.parent
EXPECTED = ROOT / "experiments" / "expected.json"
README = ROOT / "experiments" / "README.md"


# ---------------------------------------------------------------- quotes


def _get(tree, path):
    for key in path.split("."):
        tree = tree[key]
    return tree


def _curve(metrics, path):
    """(steps, values) of a curve: eval.* curves by evaluation step, the others by step."""
    values = _get(metrics, path)
    steps = metrics["eval"]["step"] if path.startswith("eval.") else metrics["step"]
    return steps, values


REDUCERS = {"max": max, "min": min, "median": statistics.median}
FIRST = re.compile(r"^first\((?P<path>[\w. ]+?) (?P<op><=|>=|<|>) (?P<limit>[-+.\deE]+)\)$")
OPS = {"<": float.__lt__, "<=": float.__le__, ">": float.__gt__, ">=": float.__ge__}


def pick(metrics, expr):
    """The value ``expr`` names in ``metrics`` (see the module docstring)."""
    if match := FIRST.match(expr):
        steps, values = _curve(metrics, match["path"])
        limit, op = float(match["limit"]), OPS[match["op"]]
        return next((s for s, v in zip(steps, values) if op(float(v), limit)), None)
    if match := re.match(r"^(max|min|median)\(([\w. ]+)\)$", expr):
        values = _get(metrics, match[2])  # a curve, or a dict of values (one per model)
        return REDUCERS[match[1]](values.values() if isinstance(values, dict) else values)
    if "@" in expr:
        path, step = expr.split("@")
        steps, values = _curve(metrics, path)
        return values[steps.index(int(step))]
    return _get(metrics, expr)


def text_of(value, spec):
    """How the README writes ``value``: ``format(value, spec)``; ``e`` formats without the
    exponent's leading zero (``5e-13``, ``3e-04`` -> ``3e-4``)."""
    text = format(value, spec)
    return re.sub(r"e([-+])0*(\d)", lambda m: "e" + m[1].replace("+", "") + m[2], text)


# ---------------------------------------------------------------- README table


def table_rows(text):
    """{script cell: {"command": ..., "result": ...}} of the README's results table."""
    rows = {}
    for line in text.splitlines():
        if not line.startswith("| `"):
            continue
        cells = [cell.strip() for cell in line.strip().strip("|").split(" | ")]
        script = cells[0].strip("`").split("`")[0]
        rows[script] = {"command": cells[2], "result": cells[3]}
    return rows


NUMBER = re.compile(r"(?<![\w.])\d+(?:[.,]\d+)*(?:e[-+]?\d+)?%?")


def bold_numbers(result):
    """The numbers written in bold in a result cell: each must be a quote or a constant."""
    return [n for segment in re.findall(r"\*\*(.+?)\*\*", result) for n in NUMBER.findall(segment)]


# ---------------------------------------------------------------- running


def _cpu_model():
    """The CPU's model name (Linux's /proc/cpuinfo), else what ``platform`` says."""
    try:
        with open("/proc/cpuinfo") as lines:
            for line in lines:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


def machine():
    """Where a measurement was made: what decides its rounding, hence its figures."""
    import numpy as np

    config = np.show_config(mode="dicts")
    blas = config.get("Build Dependencies", {}).get("blas", {})
    return {"platform": platform.platform(), "processor": _cpu_model(),
            "cpus": os.cpu_count(), "python": platform.python_version(),
            "numpy": np.__version__, "blas": f"{blas.get('name')} {blas.get('version')}"}


def run_one(name, spec, out_root):
    """Run ``spec``'s command into out_root/NAME; its metrics.json bytes and seconds."""
    out = Path(out_root).resolve() / name  # the command runs in ROOT, out_root is from here
    argv = [sys.executable, "-m", f"experiments.{spec['script']}", *spec["argv"],
            "--out", str(out)]
    print(f"== {name}: {spec['command']} --out {out}", flush=True)
    tic = time.perf_counter()
    done = subprocess.run(argv, cwd=ROOT)
    seconds = time.perf_counter() - tic
    if done.returncode != 0:
        return None, seconds
    return (out / "metrics.json").read_bytes(), seconds


def differences(expected, got, path="final"):
    """Every leaf where ``got`` differs from ``expected``: [(path, expected, got)]."""
    if isinstance(expected, dict) and isinstance(got, dict):
        return [d for key in sorted(set(expected) | set(got))
                for d in differences(expected.get(key), got.get(key), f"{path}.{key}")]
    if isinstance(expected, list) and isinstance(got, list) and len(expected) == len(got):
        return [d for i, (e, g) in enumerate(zip(expected, got))
                for d in differences(e, g, f"{path}[{i}]")]
    return [] if expected == got else [(path, expected, got)]


def final_of(metrics):
    """The results of a run: ``final`` of its metrics.json; a run of stages
    (rnn_vs_transformer) writes only results there, so all of it."""
    return metrics["final"] if "final" in metrics else metrics


def compare(spec, data):
    """Lines that say how ``data`` (metrics.json bytes) compares with ``spec``; and
    whether the final metrics are the expected ones."""
    metrics = json.loads(data)
    digest = hashlib.sha256(data).hexdigest()
    recorded = spec.get("metrics_sha256") or "none recorded"
    lines = [f"metrics.json byte-identical (sha256 {digest[:12]}...)" if digest == recorded
             else f"metrics.json differs from the recorded one ({digest[:12]}... against "
             f"{recorded[:12]}...)"]
    moved = differences(spec["final"], final_of(metrics))
    for path, old, new in moved[:20]:
        lines.append(f"  {path}: expected {old!r}, got {new!r}")
    if len(moved) > 20:
        lines.append(f"  ... and {len(moved) - 20} more")
    for quote in spec["quotes"]:
        value = pick(metrics, quote["of"])
        text = text_of(value, quote["format"]) if value is not None else "None"
        if text != quote["text"]:
            lines.append(f"  README quote {quote['of']}: {quote['text']} -> {text}")
    return lines, not moved


def record(spec, data, seconds):
    """``spec`` with what ``data`` (metrics.json bytes) measured."""
    metrics = json.loads(data)
    quotes = []
    for quote in spec["quotes"]:
        value = pick(metrics, quote["of"])
        quotes.append(dict(quote, value=value,
                           text=text_of(value, quote["format"]) if value is not None else None))
    return dict(spec, final=final_of(metrics), quotes=quotes,
                metrics_sha256=hashlib.sha256(data).hexdigest(), seconds=round(seconds))


def main(argv=None):
    expected = json.loads(EXPECTED.read_text())
    runs = expected["runs"]
    p = argparse.ArgumentParser(prog="python -m experiments.check_expected", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--only", nargs="+", choices=list(runs), metavar="RUN",
                   help=f"these runs only: {', '.join(runs)} (default: all)")
    p.add_argument("--out-root", default="results", metavar="DIR",
                   help="each run writes into DIR/RUN (default: %(default)s)")
    p.add_argument("--record", action="store_true",
                   help="write the measured figures into experiments/expected.json")
    args = p.parse_args(argv)
    if Path(args.out_root).exists() and not Path(args.out_root).is_dir():
        p.error(f"argument --out-root: expected a folder, got {args.out_root!r}, a file")
    failed = []
    for name in args.only or list(runs):
        data, seconds = run_one(name, runs[name], args.out_root)
        if data is None:
            print(f"== {name}: the run failed")
            failed.append(name)
            continue
        lines, same = compare(runs[name], data)
        print(f"== {name} ({seconds:.0f} s): " + ("as expected" if same else "DIFFERS"))
        print("\n".join(lines), flush=True)
        if not same:
            failed.append(name)
        if args.record:
            runs[name] = record(runs[name], data, seconds)
    if args.record:
        expected["machine"] = machine()
        EXPECTED.write_text(json.dumps(expected, indent=1) + "\n")
        print(f"recorded in {EXPECTED}; the README quotes:")
        for name in args.only or list(runs):
            print(f"  {name}: " + ", ".join(f"{q['of']} = {q['text']}"
                                             for q in runs[name]["quotes"]))
    print(f"{len(failed)} of {len(args.only or runs)} runs differ from expected.json"
          + (f": {', '.join(failed)}" if failed else ""))
    return 1 if failed and not args.record else 0


if __name__ == "__main__":
    raise SystemExit(main())
