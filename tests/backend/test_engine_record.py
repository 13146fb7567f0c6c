"""An engine's record: the compatibility checks that run from recorded metadata alone (no GPU, no
deserialisation)."""

from __future__ import annotations

import pytest

from trt_passes.backend.engine_record import ArtifactError, check_engine_compatible

RECORD = {"tensorrt_module": "tensorrt_rtx", "tensorrt_version": "1.7.1.116",
          "target": {"gpu": None, "compute_capability": None}}
NO_GPU = {"gpu": None, "compute_capability": None}
AMPERE = {"gpu": "NVIDIA RTX A4000", "compute_capability": [8, 6]}


def test_engines_from_another_tensorrt_release_are_refused_naming_both_and_the_fix():
    with pytest.raises(ArtifactError, match=r"1\.7\.1\.116.*1\.8\.0.*Recompile") as info:
        check_engine_compatible(RECORD, here_tensorrt=("tensorrt_rtx", "1.8.0.40"), here_target=NO_GPU)
    assert info.value.kind == "tensorrt_version"
    with pytest.raises(ArtifactError, match="tensorrt 10"):
        check_engine_compatible(RECORD, here_tensorrt=("tensorrt", "10.3.0"), here_target=NO_GPU)


def test_the_same_release_with_another_build_number_or_no_tensorrt_here_is_accepted():
    check_engine_compatible(RECORD, here_tensorrt=("tensorrt_rtx", "1.7.1.200"), here_target=AMPERE)
    check_engine_compatible(RECORD, here_tensorrt=None, here_target=NO_GPU)


def test_engines_built_for_another_gpu_are_refused_unless_built_portable():
    hopper = {**RECORD, "target": {"gpu": "NVIDIA H100", "compute_capability": [9, 0]}}
    for here in (AMPERE, NO_GPU):
        with pytest.raises(ArtifactError, match=r"H100.*9\.0.*Recompile") as info:
            check_engine_compatible(hopper, here_tensorrt=("tensorrt_rtx", "1.7.1.116"), here_target=here)
        assert info.value.kind == "device"
    check_engine_compatible(hopper, here_tensorrt=("tensorrt_rtx", "1.7.1.116"), here_target=NO_GPU,
                            check_device=False)
    check_engine_compatible(RECORD, here_tensorrt=("tensorrt_rtx", "1.7.1.116"), here_target=AMPERE)
