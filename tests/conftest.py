"""Shared test settings: Hypothesis budgets sized for a 2-core CI machine."""

import os

from hypothesis import HealthCheck, settings

# Examples per property: enough to find shape and broadcasting bugs, small enough for a 90-minute CI on 2 cores.
settings.register_profile(
    "ci", max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large]
)
settings.register_profile("dev", max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

# Every pass's result is verified in the tests (a compile outside them verifies after the last pass only).
os.environ.setdefault("TRT_PASSES_VERIFY", "1")
