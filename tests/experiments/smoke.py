"""What the smoke tests of every experiment share."""

import json
import math

import nn
from experiments import common


def numbers(tree):
    """Every int and float in a JSON tree (bools excluded); a null, which is how
    ``write_json`` writes NaN and inf, counts as NaN."""
    if tree is None:
        return [math.nan]
    if isinstance(tree, dict):
        return [x for value in tree.values() for x in numbers(value)]
    if isinstance(tree, list):
        return [x for value in tree for x in numbers(value)]
    return [tree] if isinstance(tree, (int, float)) and not isinstance(tree, bool) else []


def check_files_and_metrics(out, data, plots, steps):
    """The run in ``out`` wrote every file, its metrics (``data``, metrics.json bytes) are
    finite with a curve point per step, and its checkpoint is at the last step."""
    for file in ["config.json", "metrics.json", "timing.json", common.CHECKPOINT, *plots]:
        assert (out / file).stat().st_size > 0, file
    metrics = json.loads(data)
    assert metrics["step"] == list(range(1, steps + 1))
    assert metrics["eval"]["step"] == [2, 4]
    values = numbers(metrics)
    assert values and all(math.isfinite(v) for v in values), "a metric is NaN, inf or missing"
    assert nn.load(out / common.CHECKPOINT)["step"] == steps


def once_per_script(run, tmp_path_factory):
    """``get(name)`` -> (folder, metrics.json bytes) of one uninterrupted run, made once."""
    cache = {}

    def get(name):
        if name not in cache:
            out = tmp_path_factory.mktemp(name)
            cache[name] = (out, run(name, out))
        return cache[name]

    return get


def check_resumed(out, steps):
    """The run in ``out`` was resumed: this last process ran only the second half."""
    timing = json.loads((out / "timing.json").read_text())
    assert timing["steps_in_this_process"] == steps - steps // 2
