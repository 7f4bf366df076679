"""Issue 14, "internal errors and unclear messages": each case run through the ``medsr`` command on
a real file, with a one-line error (exit code 2) that names the real culprit and nothing partial.

- a model.json field of the wrong type (``"dims": "two"``) is named (no "invalid literal for
  int()");
- library warnings (nibabel/numpy) become one ``note:`` line on stdout (stderr on ``--json``), so
  stderr holds only the ``error:`` line;
- a writer's error names the user's output, never medsr's temporary file;
- a name too long for the file system is blamed on the name, not on the folder;
- a truncated DICOM pixel block is called truncated (no "install a decoder");
- a network that outputs NaN is blamed (with its weights and normalisation), not the clean input;
- a 1x1 PNG (and a request nobody typed) gets a message that matches what was typed.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest


def _one_error(code: int, err: str) -> str:
    assert code == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    return lines[0]


def _net_with(root: Path, cli_data: Path, **fields: object) -> Path:
    """A copy of the tiny ESPCN weights whose model.json has ``fields`` replaced."""
    net = root / "net_bad"
    shutil.rmtree(net, ignore_errors=True)
    shutil.copytree(cli_data / "net", net)
    meta = json.loads((net / "model.json").read_text())
    meta.update(fields)
    (net / "model.json").write_text(json.dumps(meta))
    return net / "model.safetensors"


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"dims": "two"}, "'dims' is \"two\", expected 2 or 3"),
        ({"dims": 4}, "'dims' is 4, expected 2 or 3"),
        ({"dims": True}, "'dims' is true, expected 2 or 3"),
        ({"in_channels": "1"}, "'in_channels' is \"1\", expected a whole number >= 1"),
        ({"scale": 0}, "'scale' is 0, expected a number > 0 or one per axis"),
        ({"scale": ["2", "2"]}, "'scale' is [\"2\", \"2\"]"),
        ({"architecture": 5}, "'architecture' is 5, expected a model name"),
        ({"kwargs": [1, 2]}, "'kwargs' is [1, 2], expected an object"),
        ({"normalisation": 3}, "'normalisation' is 3"),
    ],
)
def test_model_json_field_of_the_wrong_type_is_named(
    tmp_path, cli_data, medsr_main, fields, expected
):
    weights = _net_with(tmp_path, cli_data, **fields)
    out = tmp_path / "out.png"
    code, _, err = medsr_main(
        "upscale", cli_data / "picture.png", "-o", out, "--weights", weights,
        "--factors", "2",
    )  # fmt: skip
    line = _one_error(code, err)
    assert "model.json" in line and expected in line, line
    assert "invalid literal" not in line and "unexpected" not in line
    assert not out.exists() and not Path(f"{out}.json").exists()


def _overflowing_nifti(path: Path) -> Path:
    """int16 samples with scl_slope 1e38: nibabel's scaling overflows float32 (numpy warns)."""
    import nibabel as nib

    img = nib.Nifti1Image(np.arange(8 * 8 * 4, dtype=np.int16).reshape(8, 8, 4), np.eye(4))
    img.header["scl_slope"], img.header["scl_inter"] = 1e38, 0
    nib.save(img, str(path))
    return path


def test_library_warnings_are_one_note_line_and_stderr_keeps_the_error(tmp_path, cli):
    """Real subprocesses (their stderr as a user sees it)."""
    scan = _overflowing_nifti(tmp_path / "slope.nii.gz")
    info = cli("info", scan)
    assert info.code == 0 and info.stderr == "", info.describe()
    note = "note: slope.nii.gz: scaled values beyond the float32 range"
    assert note in info.stdout and "overflow" in info.stdout, info.describe()
    assert "nifti.py" not in info.stdout  # no file/line of the warning's source

    as_json = cli("info", "--json", scan)
    assert as_json.code == 0, as_json.describe()
    json.loads(as_json.stdout)  # stdout stays one JSON document
    assert as_json.stderr.strip().startswith(note), as_json.describe()

    out = tmp_path / "out.nii.gz"
    up = cli("upscale", scan, "-o", out, "--factors", "2", "--method", "cubic")
    line = _one_error(up.code, up.stderr)
    assert "NaN/Inf" in line and "overflow" in up.stdout, up.describe()
    assert not out.exists()

    # ITK's C++ reader prints its reason on stderr: it joins the one error line instead
    import SimpleITK as sitk

    sitk.WriteImage(sitk.GetImageFromArray(np.zeros((4, 8, 8), np.float32)), tmp_path / "a.mha")
    blob = (tmp_path / "a.mha").read_bytes()
    (tmp_path / "cut.mha").write_bytes(blob[: len(blob) - 500])
    cut = cli("info", tmp_path / "cut.mha")
    line = _one_error(cut.code, cut.stderr)
    assert "cut.mha" in line and "data not read completely" in line, cut.describe()


@pytest.mark.parametrize("case", ["slices", "channels"])
def test_writer_errors_name_the_output_not_the_temporary(tmp_path, cli_data, medsr_main, case):
    if case == "slices":  # a 3-D scan written as a picture
        args = [cli_data / "small.nii.gz", "--factors", "2"]
        expected = "a .png file holds one 2-D image but the volume has 8 slices"
    else:  # two channels written as a picture
        import nibabel as nib

        two = tmp_path / "two.nii.gz"
        data = np.random.default_rng(0).random((8, 8, 1, 2)).astype(np.float32)
        nib.save(nib.Nifti1Image(data, np.eye(4)), str(two))
        args = [two, "--factors", "2,2"]
        expected = "pictures hold 1 (grey) or 3 (RGB) channels, the volume has 2"
    out = tmp_path / "result.png"
    code, _, err = medsr_main("upscale", *args, "-o", out, "--method", "cubic")
    line = _one_error(code, err)
    assert line.startswith("error: result.png: ") and expected in line, line
    assert ".tmp" not in line
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_too_long_names_are_blamed_on_the_name(tmp_path, cli_data, medsr_main):
    picture = cli_data / "picture.png"
    # fits the file system alone, but not with the temporary file's extra bytes
    out = tmp_path / ("c" * 240 + ".png")
    args = ["--factors", "2", "--method", "cubic"]
    code, _, err = medsr_main("upscale", picture, "-o", out, *args)
    line = _one_error(code, err)
    assert "the output name" in line and "is too long (244 bytes)" in line, line
    assert "choose a name of at most" in line and "cannot write in folder" not in line
    # beyond the file system's limit: an output name, an output folder, an input name
    long_name = "d" * 300
    for args in (
        [picture, "-o", tmp_path / f"{long_name}.png"],
        [picture, "-o", tmp_path / long_name / "x.png"],
        [tmp_path / f"{long_name}.nii.gz", "-o", tmp_path / "x.png"],
    ):
        code, _, err = medsr_main("upscale", *args, "--factors", "2", "--method", "cubic")
        line = _one_error(code, err)
        assert "too long" in line and "unexpected" not in line, line
    code, _, err = medsr_main("info", tmp_path / f"{long_name}.nii.gz")
    assert "too long" in _one_error(code, err)
    assert list(tmp_path.iterdir()) == []


def test_truncated_dicom_pixels_are_called_truncated(tmp_path, cli_data, medsr_main):
    series = tmp_path / "series"
    shutil.copytree(cli_data / "dicom_one", series)
    victim = sorted(series.iterdir())[3]
    blob = victim.read_bytes()
    victim.write_bytes(blob[: len(blob) - 5000])  # the end of the pixel block is lost
    out = tmp_path / "out.nii.gz"
    code, _, err = medsr_main(
        "upscale", series, "-o", out, "--factors", "1,1,2", "--method", "cubic"
    )
    line = _one_error(code, err)
    assert victim.name in line and "truncated" in line, line
    assert "decoder" not in line and "pip install" not in line
    assert not out.exists()


def test_a_network_that_outputs_nan_is_blamed_not_the_input(tmp_path, cli_data, medsr_main):
    import torch
    from safetensors.torch import load_file, save_file

    net = tmp_path / "net_nan"
    shutil.copytree(cli_data / "net", net)
    state = load_file(str(net / "model.safetensors"))
    bias = max(k for k in state if k.endswith("bias"))
    state[bias] = torch.full_like(state[bias], float("nan"))  # a diverged / damaged tensor
    save_file(state, str(net / "model.safetensors"), metadata={"format": "medsr-weights"})
    out = tmp_path / "out.png"
    code, _, err = medsr_main(
        "upscale", cli_data / "picture.png", "-o", out, "--weights",
        net / "model.safetensors", "--factors", "2",
    )  # fmt: skip
    line = _one_error(code, err)
    assert "the network espcn" in line and "produced" in line and "NaN/Inf" in line, line
    assert "picture.png, whose voxels are all finite" in line
    assert "weights" in line and "normalisation" in line
    assert "replace them" not in line  # the clean input is not blamed
    assert not out.exists()


def test_one_pixel_and_untyped_requests_get_matching_messages(tmp_path, cli_data, medsr_main):
    from PIL import Image

    one = tmp_path / "one.png"
    Image.fromarray(np.array([[7]], dtype=np.uint8)).save(one)
    out = tmp_path / "out.png"
    for request in (["--factors", "2"], ["--factors", "2,2"], ["--spacing", "0.5"]):
        code, _, err = medsr_main("upscale", one, "-o", out, *request, "--method", "cubic")
        line = _one_error(code, err)
        assert "this image is 1 x 1 pixels" in line and "nothing to super-resolve" in line, line
        assert "e.g. --factors" not in line  # no advice to type what was typed
    # nothing typed: the message names the default target, not a --spacing nobody typed
    code, _, err = medsr_main("upscale", cli_data / "picture.png", "-o", out, "--method", "cubic")
    line = _one_error(code, err)
    assert "the default target" in line and "neither --factors nor --spacing" in line, line
    assert "--spacing 1,1,1" not in line and "e.g. --factors 2" in line
    assert not out.exists()
