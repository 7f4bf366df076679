"""Every bad input to the ``medsr`` command line gets one clear line, exit code 2, and no file.

The project's standard: a missing or corrupt file, wrong dimensionality, NaN/Inf, impossible
factors, an ambiguous DICOM folder... give a one-line error that says what is wrong and what to do,
exit code 2, no traceback (unless ``--debug``) and no partial output; inputs are never modified.

Each case runs ``python -m medsr`` in a subprocess with ``COLUMNS=60`` (so a message printed
without ``soft_wrap`` would be wrapped onto several lines) and checks: the exit code, stderr is
exactly one line starting with ``error:`` and holding the expected "what is wrong" and "what to do"
phrases, no ``Traceback`` anywhere, the output folder still empty (no output, no temporary file),
and every input file unchanged (bytes and mtime).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

# (id, argv with {d} = input folder and {o} = empty output folder, phrases the message must hold:
#  first what is wrong, then what to do)
UPSCALE = ["upscale", "--method", "bspline", "-o"]
UPSCALE_PICTURE = ["upscale", "{d}/picture.png", "-o", "{o}/sr.png", "--factors", "2"]
CASES: list[tuple[str, list[str], list[str]]] = [
    # ---- the root command
    ("root-unknown-command", ["frobnicate"], ["No such command", "--help"]),
    # ---- info
    ("info-missing", ["info", "{d}/absent.nii.gz"], ["does not exist", "check the path"]),
    ("info-empty", ["info", "{d}/empty.nii.gz"], ["empty (0 bytes)", "re-export"]),
    ("info-truncated-gzip", ["info", "{d}/truncated.nii.gz"], ["cannot read", "re-export"]),
    ("info-text-named-nii", ["info", "{d}/text.nii"], ["cannot read", "re-export"]),
    ("info-5d", ["info", "{d}/five_d.nii.gz"], ["5 dimensions", "split the file"]),
    ("info-unknown-extension", ["info", "{d}/notes.xyz"], ["unknown file type", "use one of"]),
    (
        "info-dicom-missing-slice",
        ["info", "{d}/dicom_missing_slice"],
        ["slice is missing", "re-export"],
    ),
    (
        "info-dicom-unknown-series",
        ["info", "{d}/dicom_two_series", "--series", "1.2.3"],
        ["matches no series", "full UID"],
    ),
    (
        "info-series-on-nifti",
        ["info", "{d}/good.nii.gz", "--series", "1.2.3"],
        ["only applies to DICOM", "drop --series"],
    ),
    # ---- degrade
    (
        "degrade-missing",
        ["degrade", "{d}/absent.nii.gz", "{o}/lr.nii.gz", "-f", "2"],
        ["does not exist", "check the path"],
    ),
    (
        "degrade-truncated",
        ["degrade", "{d}/truncated.nii.gz", "{o}/lr.nii.gz", "-f", "2"],
        ["cannot read", "re-export"],
    ),
    (
        "degrade-nan",
        ["degrade", "{d}/nan.nii.gz", "{o}/lr.nii.gz", "-f", "2"],
        ["NaN/Inf", "replace them"],
    ),
    (
        "degrade-ambiguous-dicom",
        ["degrade", "{d}/dicom_two_series", "{o}/lr.nii.gz", "-f", "2"],
        ["2 DICOM series", "--series"],
    ),
    (
        "degrade-factor-zero",
        ["degrade", "{d}/good.nii.gz", "{o}/lr.nii.gz", "-f", "0"],
        ["positive", "numbers > 0"],
    ),
    (
        "degrade-factor-text",
        ["degrade", "{d}/good.nii.gz", "{o}/lr.nii.gz", "-f", "abc"],
        ["numbers like 1,1,4", "'abc'"],
    ),
    (
        "degrade-four-factors",
        ["degrade", "{d}/good.nii.gz", "{o}/lr.nii.gz", "-f", "1,1,1,2"],
        ["needs 1 or 3 numbers", "one per axis"],
    ),
    (
        "degrade-two-factors-3d",
        ["degrade", "{d}/good.nii.gz", "{o}/lr.nii.gz", "-f", "2,2"],
        ["needs 1 or 3 numbers", "one per axis"],
    ),
    (
        "degrade-factor-below-one",
        ["degrade", "{d}/good.nii.gz", "{o}/lr.nii.gz", "-f", "0.5"],
        ["below 1", "medsr upscale"],
    ),
    (
        "degrade-factor-huge",
        ["degrade", "{d}/good.nii.gz", "{o}/lr.nii.gz", "-f", "1e9"],
        ["larger than the axis", "smaller factor"],
    ),
    (
        "degrade-unknown-method",
        ["degrade", "{d}/good.nii.gz", "{o}/lr.nii.gz", "-f", "2", "-m", "magic"],
        ["unknown degradation", "choose one of"],
    ),
    (
        "degrade-bad-dtype",
        ["degrade", "{d}/good.nii.gz", "{o}/lr.nii.gz", "-f", "2", "--dtype", "int3"],
        ["unsupported output dtype", "use one of"],
    ),
    (
        "degrade-output-exists",
        ["degrade", "{d}/good.nii.gz", "{d}/other.nii.gz", "-f", "2"],
        ["already exists", "--overwrite"],
    ),
    (
        "degrade-output-is-input",
        ["degrade", "{d}/good.nii.gz", "{d}/good.nii.gz", "-f", "2", "--overwrite"],
        ["refusing to overwrite the input", "another output name"],
    ),
    (
        "degrade-output-is-folder",
        ["degrade", "{d}/good.nii.gz", "{o}", "-f", "2"],
        ["is a folder", "file name"],
    ),
    (
        "degrade-output-folder-missing",
        ["degrade", "{d}/good.nii.gz", "{o}/sub/lr.nii.gz", "-f", "2"],
        ["does not exist", "create it first"],
    ),
    (
        "degrade-output-extension",
        ["degrade", "{d}/good.nii.gz", "{o}/lr.xyz", "-f", "2"],
        ["output format", "end the name with"],
    ),
    (
        "degrade-missing-option",
        ["degrade", "{d}/good.nii.gz", "{o}/lr.nii.gz"],
        ["Missing option", "--help"],
    ),
    (
        "degrade-unknown-option",
        ["degrade", "{d}/good.nii.gz", "{o}/lr.nii.gz", "-f", "2", "--speed", "9"],
        ["No such option", "--help"],
    ),
    # ---- metrics
    (
        "metrics-missing",
        ["metrics", "{d}/good.nii.gz", "{d}/absent.nii.gz"],
        ["does not exist", "check the path"],
    ),
    (
        "metrics-text-named-nii",
        ["metrics", "{d}/text.nii", "{d}/good.nii.gz"],
        ["cannot read", "re-export"],
    ),
    (
        "metrics-nan-reference",
        ["metrics", "{d}/nan.nii.gz", "{d}/good.nii.gz"],
        ["NaN/Inf", "before measuring"],
    ),
    (
        "metrics-shape-mismatch",
        ["metrics", "{d}/good.nii.gz", "{d}/small.nii.gz"],
        ["differ in shape", "same grid"],
    ),
    (
        "metrics-zero-data-range",
        ["metrics", "{d}/good.nii.gz", "{d}/other.nii.gz", "--data-range", "0"],
        ["--data-range must be a positive number", "such as 255"],
    ),
    (
        "metrics-unknown-protocol",
        ["metrics", "{d}/good.nii.gz", "{d}/other.nii.gz", "--protocol", "psnr2"],
        ["unknown protocol", "table1"],
    ),
    # ---- upscale (the main command): every kind of bad input
    (
        "upscale-missing",
        [*UPSCALE, "{o}/sr.nii.gz", "{d}/absent.nii.gz", "--factors", "2"],
        ["does not exist", "check the path"],
    ),
    (
        "upscale-empty",
        [*UPSCALE, "{o}/sr.nii.gz", "{d}/empty.nii.gz", "--factors", "2"],
        ["empty (0 bytes)", "re-export"],
    ),
    (
        "upscale-truncated-gzip",
        [*UPSCALE, "{o}/sr.nii.gz", "{d}/truncated.nii.gz", "--factors", "2"],
        ["cannot read", "re-export"],
    ),
    (
        "upscale-text-named-nii",
        [*UPSCALE, "{o}/sr.nii.gz", "{d}/text.nii", "--factors", "2"],
        ["cannot read", "re-export"],
    ),
    (
        "upscale-5d",
        [*UPSCALE, "{o}/sr.nii.gz", "{d}/five_d.nii.gz", "--factors", "2"],
        ["5 dimensions", "split the file"],
    ),
    (
        "upscale-nan",
        [*UPSCALE, "{o}/sr.nii.gz", "{d}/nan.nii.gz", "--factors", "2"],
        ["NaN/Inf", "replace them"],
    ),
    (
        "upscale-inf",
        [*UPSCALE, "{o}/sr.nii.gz", "{d}/inf.nii.gz", "--factors", "2"],
        ["NaN/Inf", "replace them"],
    ),
    (
        "upscale-ambiguous-dicom",
        [*UPSCALE, "{o}/sr.nii.gz", "{d}/dicom_two_series", "--factors", "1,1,2"],
        ["2 DICOM series", "--series"],
    ),
    (
        "upscale-dicom-missing-slice",
        [*UPSCALE, "{o}/sr.nii.gz", "{d}/dicom_missing_slice", "--factors", "1,1,2"],
        ["slice is missing", "re-export"],
    ),
    (
        "upscale-factor-zero",
        [*UPSCALE, "{o}/sr.nii.gz", "{d}/good.nii.gz", "--factors", "0"],
        ["positive", "numbers > 0"],
    ),
    (
        "upscale-factor-negative",
        [*UPSCALE, "{o}/sr.nii.gz", "{d}/good.nii.gz", "--factors", "-2"],
        ["positive", "numbers > 0"],
    ),
    (
        "upscale-factor-text",
        [*UPSCALE, "{o}/sr.nii.gz", "{d}/good.nii.gz", "--factors", "abc"],
        ["numbers like 1,1,4", "'abc'"],
    ),
    (
        "upscale-four-factors",
        [*UPSCALE, "{o}/sr.nii.gz", "{d}/good.nii.gz", "--factors", "1,1,1,2"],
        ["needs 1 or 3 numbers", "one per axis"],
    ),
    (
        "upscale-factor-below-one",
        [*UPSCALE, "{o}/sr.nii.gz", "{d}/good.nii.gz", "--factors", "0.5"],
        ["< 1", "medsr degrade"],
    ),
    (
        "upscale-factor-huge",
        [*UPSCALE, "{o}/sr.nii.gz", "{d}/good.nii.gz", "--factors", "1e9"],
        ["voxels", "smaller factors"],
    ),
    (
        "upscale-one-voxel-axis",
        [*UPSCALE, "{o}/sr.nii.gz", "{d}/one_voxel_x.nii.gz", "--factors", "2,2,2"],
        ["one voxel thick", "factor 1 there"],
    ),
    (
        "upscale-2d-slice-axis-only",
        [*UPSCALE, "{o}/sr.nii.gz", "{d}/single_slice.nii.gz", "--factors", "1,1,2"],
        ["2-D image unchanged", "X,Y factors above 1"],
    ),
    (
        "upscale-spacing-and-factors",
        [*UPSCALE, "{o}/sr.nii.gz", "{d}/good.nii.gz", "--factors", "2", "--spacing", "1"],
        ["only one of --spacing", "--factors"],
    ),
    (
        "upscale-coarser-spacing",
        [*UPSCALE, "{o}/sr.nii.gz", "{d}/good.nii.gz", "--spacing", "3"],
        ["< 1", "medsr degrade"],
    ),
    (
        "upscale-unknown-method",
        [
            "upscale",
            "{d}/good.nii.gz",
            "-o",
            "{o}/sr.nii.gz",
            "--factors",
            "2",
            "--method",
            "magic",
        ],
        ["unknown method", "choose one of"],
    ),
    (
        "upscale-model-without-weights",
        ["upscale", "{d}/good.nii.gz", "-o", "{o}/sr.nii.gz", "--factors", "2", "--model", "srcnn"],
        ["needs --weights", ".safetensors"],
    ),
    (
        "upscale-weights-missing",
        [*UPSCALE_PICTURE, "--weights", "{d}/absent/model.safetensors"],
        ["not found", ".safetensors"],
    ),
    (
        "upscale-model-json-missing",
        [*UPSCALE_PICTURE, "--weights", "{d}/net_no_json/model.safetensors"],
        ["model.json is missing", "beside the weights"],
    ),
    (
        "upscale-weights-corrupt",
        [*UPSCALE_PICTURE, "--weights", "{d}/net_corrupt/model.safetensors"],
        ["not a readable safetensors", "restore it"],
    ),
    (
        "upscale-model-name-mismatch",
        [*UPSCALE_PICTURE, "--weights", "{d}/net/model.safetensors", "--model", "srcnn"],
        ["does not match", "drop --model"],
    ),
    (
        "upscale-weights-and-method",
        [
            *UPSCALE,
            "{o}/sr.png",
            "{d}/picture.png",
            "--factors",
            "2",
            "--weights",
            "{d}/net/model.safetensors",
        ],
        ["only one of", "--method"],
    ),
    (
        "upscale-onnx-missing",
        [*UPSCALE_PICTURE, "--onnx", "{d}/absent.onnx"],
        ["not found", "medsr export"],
    ),
    (
        "upscale-bad-dtype",
        [*UPSCALE, "{o}/sr.nii.gz", "{d}/good.nii.gz", "--factors", "2", "--dtype", "float16"],
        ["unsupported output dtype", "use one of"],
    ),
    (
        "upscale-output-exists",
        [*UPSCALE, "{d}/other.nii.gz", "{d}/good.nii.gz", "--factors", "2"],
        ["already exists", "--overwrite"],
    ),
    (
        "upscale-output-is-input",
        [*UPSCALE, "{d}/good.nii.gz", "{d}/good.nii.gz", "--factors", "2", "--overwrite"],
        ["refusing to overwrite the input", "another output name"],
    ),
    (
        "upscale-output-folder-missing",
        [*UPSCALE, "{o}/sub/sr.nii.gz", "{d}/good.nii.gz", "--factors", "2"],
        ["does not exist", "create it first"],
    ),
    (
        "upscale-output-extension",
        [*UPSCALE, "{o}/sr.xyz", "{d}/good.nii.gz", "--factors", "2"],
        ["output format", "end the name with"],
    ),
    (
        "upscale-bad-axis",
        [*UPSCALE, "{o}/sr.nii.gz", "{d}/good.nii.gz", "--factors", "2", "--axis", "w"],
        ["--axis must be", "x, y, z"],
    ),
    (
        "upscale-batch-output-not-folder",
        [*UPSCALE, "{o}/missing_folder", "{d}/good.nii.gz", "{d}/other.nii.gz", "--factors", "2"],
        ["existing folder", "create the folder"],
    ),
    (
        "upscale-glob-matches-nothing",
        [*UPSCALE, "{o}", "{d}/*.nothing", "--factors", "2"],
        ["no file matches", "check the pattern"],
    ),
    # ---- export
    (
        "export-weights-missing",
        ["export", "--weights", "{d}/absent.safetensors", "-o", "{o}/net.onnx"],
        ["not found", ".safetensors"],
    ),
    (
        "export-model-json-missing",
        ["export", "--weights", "{d}/net_no_json/model.safetensors", "-o", "{o}/net.onnx"],
        ["model.json is missing", "beside the weights"],
    ),
    (
        "export-not-weights",
        ["export", "--weights", "{d}/good.nii.gz", "-o", "{o}/net.onnx"],
        ["not a weights file", "model.safetensors"],
    ),
    (
        "export-unknown-format",
        ["export", "--weights", "{d}/net", "-o", "{o}/net.onnx", "--format", "tflite"],
        ["unknown export format", "onnx"],
    ),
    (
        "export-opset-too-new",
        ["export", "--weights", "{d}/net", "-o", "{o}/net.onnx", "--opset", "99"],
        ["newer than", "use 17 to"],
    ),
    (
        "export-output-exists",
        ["export", "--weights", "{d}/net", "-o", "{d}/existing.onnx"],
        ["already exists", "--overwrite"],
    ),
    (
        "export-output-not-onnx",
        ["export", "--weights", "{d}/net", "-o", "{o}/net.txt"],
        ["should end with .onnx", "net.txt"],
    ),
    (
        "upscale-onnx-not-onnx",
        [*UPSCALE_PICTURE, "--onnx", "{d}/existing.onnx"],
        ["cannot read", "re-export"],
    ),
    # ---- models
    ("models-unknown-kind", ["models", "--kind", "encoder"], ["--kind must be", "generator"]),
]


# Every kind of mistake once per command; the other cases (same checks on the other commands,
# more variants) are marked slow: each is a fresh interpreter, ~0.5-1.5 s.
CORE = {
    "root-unknown-command",
    "info-missing",
    "info-truncated-gzip",
    "info-5d",
    "info-dicom-missing-slice",
    "degrade-nan",
    "degrade-ambiguous-dicom",
    "degrade-factor-zero",
    "degrade-factor-below-one",
    "degrade-output-exists",
    "degrade-output-is-folder",
    "degrade-missing-option",
    "metrics-missing",
    "metrics-nan-reference",
    "metrics-zero-data-range",
    "metrics-shape-mismatch",
    "upscale-missing",
    "upscale-empty",
    "upscale-truncated-gzip",
    "upscale-text-named-nii",
    "upscale-5d",
    "upscale-nan",
    "upscale-inf",
    "upscale-ambiguous-dicom",
    "upscale-dicom-missing-slice",
    "upscale-factor-zero",
    "upscale-factor-text",
    "upscale-four-factors",
    "upscale-factor-below-one",
    "upscale-factor-huge",
    "upscale-one-voxel-axis",
    "upscale-spacing-and-factors",
    "upscale-unknown-method",
    "upscale-model-without-weights",
    "upscale-weights-missing",
    "upscale-model-json-missing",
    "upscale-bad-dtype",
    "upscale-output-exists",
    "upscale-output-is-input",
    "upscale-output-folder-missing",
    "export-not-weights",
    "export-opset-too-new",
    "models-unknown-kind",
}
PARAMS = [
    pytest.param(args, phrases, id=name, marks=() if name in CORE else pytest.mark.slow)
    for name, args, phrases in CASES
]


def _fill(args: list[str], data: Path, out: Path) -> list[str]:
    return [a.format(d=data, o=out) for a in args]


def test_case_table_is_consistent() -> None:
    names = [c[0] for c in CASES]
    assert len(names) == len(set(names)) and CORE <= set(names)


@pytest.mark.parametrize(("args", "phrases"), PARAMS)
def test_bad_input_gives_one_line_exit_2_and_no_file(
    cli, cli_data, snapshot, tmp_path, args, phrases
) -> None:
    out = tmp_path / "out"
    out.mkdir()
    before = snapshot(cli_data)
    result = cli(*_fill(args, cli_data, out), cwd=tmp_path)
    info = result.describe()
    assert result.code == 2, info
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), info  # one line, even at 60 columns
    message = lines[0]
    for phrase in phrases:
        assert phrase in message, f"{phrase!r} missing\n{info}"
    assert "Traceback" not in result.stdout + result.stderr, info
    assert sorted(p.name for p in out.iterdir()) == [], f"files left in the output folder\n{info}"
    assert snapshot(cli_data) == before, (
        f"an input changed or a file appeared among the inputs\n{info}"
    )


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="/proc is Linux-only")
def test_unwritable_output_folder(cli, cli_data, snapshot) -> None:
    """A folder that refuses new files (/proc refuses even root) gives a clean error, not an
    OSError."""
    before = snapshot(cli_data)
    for args in (
        ["degrade", cli_data / "good.nii.gz", "/proc/medsr_test_lr.nii.gz", "-f", "2"],
        [
            "upscale",
            cli_data / "good.nii.gz",
            "-o",
            "/proc/medsr_test_sr.nii.gz",
            "--factors",
            "2",
            "--method",
            "bspline",
        ],
    ):
        result = cli(*args)
        lines = result.stderr.splitlines()
        assert result.code == 2 and len(lines) == 1, result.describe()
        assert "cannot write in folder /proc" in lines[0] and "folder you can write to" in lines[0]
    assert snapshot(cli_data) == before


@pytest.mark.skipif(
    hasattr(os, "geteuid") and os.geteuid() == 0, reason="root ignores folder permissions"
)
def test_read_only_output_folder(cli, cli_data, tmp_path) -> None:
    folder = tmp_path / "locked"
    folder.mkdir()
    folder.chmod(0o555)
    try:
        result = cli("degrade", cli_data / "good.nii.gz", folder / "lr.nii.gz", "-f", "2")
        lines = result.stderr.splitlines()
        assert result.code == 2 and len(lines) == 1, result.describe()
        assert "cannot write in folder" in lines[0]
        assert list(folder.iterdir()) == []
    finally:
        folder.chmod(0o755)


@pytest.mark.parametrize("where", ["before", "after"])
def test_debug_shows_the_traceback(cli, cli_data, tmp_path, where) -> None:
    """``--debug`` (before or after the command name) re-raises, so the traceback is shown."""
    args = ["upscale", cli_data / "absent.nii.gz", "-o", tmp_path / "sr.nii.gz", "--factors", "2"]
    args = ["--debug", *args] if where == "before" else [*args, "--debug"]
    result = cli(*args)
    assert result.code != 0, result.describe()
    assert "Traceback" in result.stderr and "MedsrError" in result.stderr, result.describe()
    assert "absent.nii.gz does not exist" in result.stderr
    assert not (tmp_path / "sr.nii.gz").exists()


def test_batch_with_a_failed_scan_exits_1_and_keeps_the_good_output(
    cli, cli_data, snapshot, tmp_path
) -> None:
    """A folder run continues past a bad scan, reports it on one line each, and exits 1
    (documented)."""
    out = tmp_path / "out"
    out.mkdir()
    before = snapshot(cli_data)
    result = cli(
        "upscale",
        cli_data / "good.nii.gz",
        cli_data / "nan.nii.gz",
        "-o",
        out,
        "--factors",
        "2",
        "--method",
        "linear",
    )
    assert result.code == 1, result.describe()
    lines = result.stderr.splitlines()
    assert len(lines) == 2, result.describe()
    assert lines[0].startswith("failed ") and "nan.nii.gz" in lines[0] and "NaN/Inf" in lines[0]
    assert lines[1] == "1 of 2 scans failed"
    assert "Traceback" not in result.stdout + result.stderr
    assert sorted(p.name for p in out.iterdir()) == [
        "cohort.csv",
        "good.nii.gz",
        "good.nii.gz.json",
    ]
    assert snapshot(cli_data) == before
