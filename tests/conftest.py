"""Shared test set-up: hypothesis profiles and the cpu/cuda ``device`` fixture.

Profiles (chosen by LOOPGRAD_HYPOTHESIS_PROFILE, else ``ci`` when CI is set, else ``dev``):
    dev        a quick local run
    ci         derandomized (never flaky) and without deadlines
    thorough   many examples, for a long local run
"""

import os

import pytest
from hypothesis import HealthCheck, settings

import engine

settings.register_profile("dev", max_examples=20, deadline=None)
settings.register_profile(
    "ci", max_examples=20, derandomize=True, deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile("thorough", max_examples=500, deadline=None)
settings.load_profile(
    os.environ.get("LOOPGRAD_HYPOTHESIS_PROFILE", "ci" if os.environ.get("CI") else "dev")
)

DEVICES = [
    pytest.param("cpu"),
    pytest.param(
        "cuda",
        marks=[
            pytest.mark.gpu,
            pytest.mark.skipif(not engine.cuda_available(), reason="needs CuPy and a CUDA GPU"),
        ],
    ),
]


@pytest.fixture(params=DEVICES)
def device(request):
    """Each test using it runs on the CPU, and on the GPU where there is one."""
    return request.param
