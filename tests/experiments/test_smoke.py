"""Smoke tests of adding, copy_memory, gradient_flow and forecast, plus the shared loop.

Each script runs a few steps on tiny sizes, in-process through ``main(argv)``:
it writes its files with finite metrics, one seed gives the same metrics.json
bytes twice, and a run stopped halfway and resumed from its checkpoint ends
byte-identical to one that never stopped.
"""

import json
import math

import numpy as np
import pytest

import engine
from experiments import adding, common, copy_memory, forecast, gradient_flow
from tests.experiments.smoke import check_files_and_metrics, check_resumed, once_per_script

STEPS = 4
SCRIPTS = {
    "adding": (adding, ["--seq-len", "8", "--eval-size", "16"], "mse.png"),
    "copy_memory": (copy_memory, ["--delay", "3", "--eval-size", "16"], "copy_memory.png"),
    "gradient_flow": (gradient_flow, ["--seq-len", "8", "--probe-size", "8"],
                      "gradient_flow.png"),
    "forecast": (forecast, ["--length", "300", "--window", "8", "--context", "8",
                            "--horizon", "5", "--eval-points", "4"], "forecast.png"),
}


def run(name, out, steps=STEPS, *extra):
    """Run script ``name`` tiny, with a checkpoint and an evaluation every 2 steps."""
    module, flags, _ = SCRIPTS[name]
    module.main([*flags, "--hidden-size", "6", "--batch-size", "4", "--steps", str(steps),
                 "--eval-every", "2", "--checkpoint-every", "2", "--out", str(out), *extra])
    return (out / "metrics.json").read_bytes()


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """metrics.json bytes of one uninterrupted run of each script, made once."""
    return once_per_script(run, tmp_path_factory)


@pytest.mark.parametrize("name", SCRIPTS)
def test_writes_its_files_with_finite_metrics(name, reference):
    out, data = reference(name)
    check_files_and_metrics(out, data, [SCRIPTS[name][2]], STEPS)
    config = json.loads((out / "config.json").read_text())
    assert config["args"]["steps"] == STEPS and config["versions"]["numpy"] == np.__version__


@pytest.mark.parametrize("name", SCRIPTS)
def test_one_seed_gives_the_same_bytes(name, reference, tmp_path):
    assert run(name, tmp_path) == reference(name)[1]


@pytest.mark.parametrize("name", SCRIPTS)
def test_stop_and_resume_equals_an_uninterrupted_run(name, reference, tmp_path):
    run(name, tmp_path, STEPS // 2)
    assert run(name, tmp_path, STEPS, "--resume") == reference(name)[1]
    check_resumed(tmp_path, STEPS)


@pytest.mark.skipif(engine.cuda_available(), reason="this machine has a GPU")
def test_cuda_without_a_gpu_is_a_clear_error(tmp_path):
    with pytest.raises(SystemExit, match="--device cuda"):
        run("adding", tmp_path, 1, "--device", "cuda")


def test_write_json_is_sorted_plain_and_atomic(tmp_path):
    common.write_json(tmp_path / "a.json", {"b": np.float32(0.5), "a": [np.int64(1), math.nan]})
    assert (tmp_path / "a.json").read_text() == '{\n "a": [\n  1,\n  null\n ],\n "b": 0.5\n}\n'
    assert [p.name for p in tmp_path.iterdir()] == ["a.json"]
