"""engine.memory: a training step's freed arrays serve the next step's, with no page
faults, where glibc's defaults fault every page in anew; the user's own malloc settings
win."""

import os
import subprocess
import sys

import pytest

from engine import memory

# A step's worth of arrays above glibc's first mmap threshold (128 KiB): three 1 MiB
# arrays filled, then freed together, so the free top of the heap outgrows the trim
# threshold glibc's own adjustment reaches (2 MiB); the minor page faults per step after
# a warm-up step.
STEPS = """
import resource, sys
import engine, numpy as np
def step():
    arrays = [np.empty(1 << 18, dtype=np.float32) for _ in range(3)]
    for a in arrays:
        a.fill(1.0)
step()
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(20):
    step()
faults = (resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before) / 20
print(engine.memory.policy(), faults, sep="\\n")
"""


def _run(**environment):
    env = {key: value for key, value in os.environ.items() if key not in
           (*memory._USER_SETTINGS, "LOOPGRAD_HOST_MALLOC")}
    result = subprocess.run([sys.executable, "-c", STEPS], capture_output=True, text=True,
                            env=env | environment, check=True)
    policy, faults = result.stdout.splitlines()
    return policy, float(faults)


glibc_linux = pytest.mark.skipif(memory.glibc_mallopt() is None,
                                 reason="the thresholds are glibc's: Linux with glibc only")


@glibc_linux
def test_a_steps_freed_arrays_serve_the_next_step_without_faulting_in():
    policy, faults = _run()
    assert policy == "keep freed memory"
    assert faults < 10  # 768 pages a step are allocated and written


@glibc_linux
def test_glibcs_defaults_fault_every_page_in_anew():  # what the policy is for
    policy, faults = _run(LOOPGRAD_HOST_MALLOC="default")
    assert policy == "default: LOOPGRAD_HOST_MALLOC=default"
    assert faults > 500


@pytest.mark.parametrize("name", memory._USER_SETTINGS)
def test_the_users_own_malloc_settings_are_left_alone(name):
    value = "glibc.malloc.check=0" if name == "GLIBC_TUNABLES" else "1048576"
    policy, _ = _run(**{name: value})
    assert policy == f"default: the environment sets {name}"
