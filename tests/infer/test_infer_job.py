"""``Job.validate``: every option checked once, before any scan is read; flags only in the CLI."""

from __future__ import annotations

import numpy as np
import pytest
from infer_helpers import run

from medsr.errors import MedsrError, OptionError
from medsr.infer.job import Job, check_device
from medsr.infer.methods import MethodOptions
from medsr.infer.pipeline import UpscaleConfig
from medsr.io import write
from medsr.volume import Volume, VolumeMeta

BAD_CONFIGS = [
    ({"tile": 0}, "tile"),
    ({"tile": [64, -1, 64]}, "tile"),
    ({"overlap": -5}, "overlap"),
    ({"batch_size": 0}, "batch_size"),
    ({"halo": -1}, "halo"),
    ({"ibp_iterations": 0}, "ibp_iterations"),
    ({"axis": 3}, "axis"),
    ({"blend": "box"}, "blend"),
    ({"finish": "bogus"}, "finish"),
    ({"consistency_profile": "triangle"}, "consistency_profile"),
    ({"consistency_fwhm": float("nan")}, "consistency_fwhm"),
    ({"max_memory": 0}, "max_memory"),
]


@pytest.mark.parametrize(("fields", "option"), BAD_CONFIGS)
def test_engine_options_are_range_checked(fields, option) -> None:
    with pytest.raises(OptionError) as info:
        Job(config=UpscaleConfig(**fields)).validate()
    message = str(info.value)
    assert message.startswith(option) and "--" not in message  # the library names no flag
    assert info.value.as_flag().startswith("--" + option.replace("_", "-"))


@pytest.mark.parametrize(
    ("options", "option"),
    [
        ({"device": "tpu9"}, "device"),
        ({"budget": -5.0}, "budget"),
        ({"budget": float("inf")}, "budget"),
        ({"seed": -1}, "seed"),
    ],
)
def test_method_options_are_range_checked(options, option) -> None:
    with pytest.raises(OptionError, match=f"^{option} "):
        Job(config=UpscaleConfig(method_options=MethodOptions(**options))).validate()


def test_contradictions_and_normalisation() -> None:
    with pytest.raises(OptionError, match="only one of spacing .* and factors"):
        Job(factors="2", spacing="1").validate()
    with pytest.raises(OptionError, match="method and weights"):
        Job(method="cubic", weights="w.safetensors").validate()
    with pytest.raises(OptionError, match="^model srcnn needs weights"):
        Job(model="srcnn").validate()
    with pytest.raises(MedsrError, match="unknown method 'magic'"):
        Job(method="magic").validate()
    job = Job(config=UpscaleConfig(method_options=MethodOptions(device="CPU"))).validate()
    assert job.device == "cpu" == job.config.method_options.device  # stored once
    assert check_device("cpu") == "cpu"


def test_option_error_renders_flags_and_survives_braces() -> None:
    err = OptionError("give only one of {spacing} and {factors}")
    assert str(err) == "give only one of spacing and factors"
    assert err.as_flag() == "give only one of --spacing and --factors"
    odd = OptionError("{tile} got '{weird}}'")  # a user value with braces: shown as given
    assert "tile" in str(odd) or "{tile}" in str(odd)


@pytest.mark.parametrize(
    ("args", "flag"),
    [
        (["--tile", "0"], "--tile"),
        (["--overlap", "-5"], "--overlap"),
        (["--batch-size", "0"], "--batch-size"),
        (["--budget", "-5"], "--budget"),
        (["--device", "tpu9"], "--device"),
        (["--finish", "bogus"], "--finish"),
    ],
)
def test_cli_refuses_bad_ranges_before_reading(tmp_path, capsys, args, flag) -> None:
    vol = Volume(
        np.zeros((1, 6, 6, 3), np.float32), np.diag([1.0, 1.0, 3.0, 1.0]), VolumeMeta(modality="MR")
    )
    write(vol, tmp_path / "in.nii.gz")
    out = tmp_path / "out.nii.gz"
    code = run(
        [
            "upscale",
            tmp_path / "in.nii.gz",
            "-o",
            out,
            "--factors",
            "1,1,3",
            "--method",
            "linear",
            *args,
        ]
    )
    err = capsys.readouterr().err
    assert code == 2, err
    assert err.startswith(f"error: {flag} ") and err.count("\n") == 1, err
    assert not out.exists() and not (tmp_path / "out.nii.gz.json").exists()
