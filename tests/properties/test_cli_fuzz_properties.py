"""Property test: no command line, however wrong, gives a traceback or a strange exit code.

The promise of the CLI (issue 14, ``docs/CONTRACTS.md``): a user error is one ``error:`` line and
exit code 2, a batch with a failed scan exits 1, success exits 0; nothing else, and never a
traceback (without ``--debug``). Hypothesis builds command lines from the real flags of every
command (read from the typer app, so new flags are fuzzed as soon as they exist), realistic and
broken values (factors ``0``, ``1e308``, ``nan``, ``1,1``; unknown methods, dtypes, devices;
noise specs) and paths (tiny NIfTI/NRRD/PNG/DICOM inputs, a NaN volume, tiny network weights and
their ONNX export, a broken YAML, missing files, output names of every format), shuffles them, and
runs :func:`medsr.cli.main` in-process (fast: no interpreter start). Each run must exit 0, 1 or 2
with no ``Traceback`` and no "unexpected" internal error; the inputs keep their bytes and mtimes
and no temporary file is left behind.

Not fuzzed (slow or covered elsewhere): ``demo``, the self-supervised methods (``self``/``dip``
train a network for a minute: ``--method nearest`` is added when a command line names no method
or network), and cohort execution (several inputs, ``--executor``/``--workers``/``--scheduler``
...: process pools and cluster schedulers, see ``tests/infer``).
"""

from __future__ import annotations

import contextlib
import io
import os
import shutil
import tempfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import event, given
from hypothesis import strategies as st

COHORT_FLAGS = {
    "--executor",
    "--workers",
    "--threads",
    "--scheduler",
    "--chunk-size",
    "--slurm-option",
}
COMMANDS = ("info", "degrade", "metrics", "upscale", "models", "export", "train")

VALUES = [
    # numbers, factors, spacings, sizes
    "0", "1", "2", "3", "-1", "-5", "1.5", "0.5", "0.1", "1e308", "nan", "inf", "65",
    "1,1,2", "2x2", "1,1", "2,2,2,2", "1,,2", "abc", "", " ", "4GB", "1KB", "all", "x", "z",
    "0,1", "17", "5",
    # names
    "cpu", "cuda", "tpu9", "hann", "gaussian", "rect", "nearest", "linear", "cubic", "bspline",
    "lanczos", "bicubic", "bogus", "self", "uint8", "int16", "float32", "complex64", "onnx",
    "table1", "generator", "discriminator", "espcn",
    # degradation and noise specs, method options, overrides
    "bicubic+rician:0.02", "thick:profile=rect,gap=1", "bd:sigma=1.6", "kspace:window=hamming",
    "gaussian:0.01", "poisson:100", "rician:-1", "key=value", "=", "steps=2",
    "train.max_steps=abc", "model.name=[", "1.2.3",
]  # fmt: skip
PATHS = [
    "{in}/good.nii.gz", "{in}/small.nrrd", "{in}/pic.png", "{in}/dicom", "{in}/nan.nii.gz",
    "{in}/absent.nii.gz", "{in}/bad.yaml", "{in}/empty.yaml", "{in}/net/model.safetensors",
    "{in}/net", "{in}/net.onnx", "{in}/profile.txt",
    "{out}/o.nii.gz", "{out}/o.png", "{out}/o.mha", "{out}/o.nrrd", "{out}/o.tif", "{out}/o.onnx",
    "{out}/o.txt", "{out}/missing/o.nii.gz", "{out}", "{out}/o.nii.gz.json",
]  # fmt: skip
SINGLE_SCANS = ["{in}/good.nii.gz", "{in}/small.nrrd", "{in}/pic.png", "{in}/dicom"]


def _flags() -> dict[str, list[str]]:
    """The options of every command, from the real typer app."""
    import typer.main

    from medsr.cli import app

    group = typer.main.get_command(app)
    out = {}
    for name in COMMANDS:
        opts = [o for p in group.commands[name].params if p.param_type_name == "option"
                for o in p.opts if o not in COHORT_FLAGS]  # fmt: skip
        out[name] = opts + ["--help", "--bogus-flag"]
    return out


FLAGS = _flags()


def _pick(draw: st.DrawFn, items: list[str]) -> str:
    return draw(st.sampled_from(items))


@st.composite
def valid_lines(draw: st.DrawFn) -> list[str]:
    """A command line that should work (a template per command), then 0-2 random mutations."""
    scan = _pick(draw, SINGLE_SCANS)
    out = _pick(draw, ["{out}/o.png"] if scan.endswith(".png") else ["{out}/o.nii.gz",
                "{out}/o.nrrd", "{out}/o.mha"])  # fmt: skip
    command = _pick(draw, ["info", "degrade", "metrics", "upscale", "upscale", "models"])
    if command == "info":
        argv = ["info", scan] + (["--json"] if draw(st.booleans()) else [])
    elif command == "degrade":
        argv = ["degrade", scan, out, "-f", _pick(draw, ["2", "1,1,2", "1.5"])]
        argv += ["-m", _pick(draw, ["bicubic", "bd", "kspace", "thick", "thick:profile=rect"])]
        if draw(st.booleans()):
            argv += ["--noise", _pick(draw, ["gaussian:0.01", "rician:0.02", "poisson:100"])]
    elif command == "metrics":
        argv = ["metrics", scan, scan] + (["--json"] if draw(st.booleans()) else [])
    elif command == "models":
        argv = ["models"] + (["--json"] if draw(st.booleans()) else [])
    else:
        argv = ["upscale", scan, "-o", out]
        grid = _pick(draw, ["--factors", "--spacing"])
        argv += [grid, _pick(draw, ["2", "1,1,2", "1.5"] if grid == "--factors" else ["1", "0.8"])]
        how = _pick(draw, ["nearest", "linear", "cubic", "bspline", "lanczos", "net", "onnx"])
        if how == "net":
            argv += ["--weights", "{in}/net/model.safetensors"]
        elif how == "onnx":
            argv += ["--onnx", "{in}/net.onnx"]
        else:
            argv += ["--method", how]
        if draw(st.integers(0, 3)) == 0:
            argv += ["--enforce-consistency"]
    for _ in range(draw(st.integers(0, 2))):
        where = draw(st.integers(1, len(argv)))
        kind = _pick(draw, ["replace", "delete", "insert"])
        if kind == "replace" and where < len(argv):
            argv[where] = _pick(draw, VALUES + PATHS)
        elif kind == "delete" and where < len(argv):
            del argv[where]
        else:
            argv[where:where] = [_pick(draw, FLAGS[argv[0]]), _pick(draw, VALUES + PATHS)]
    if argv[0] == "upscale" and not {"--method", "--weights", "--onnx", "--help"} & set(argv):
        argv += ["--method", "nearest"]
    return argv


@st.composite
def random_lines(draw: st.DrawFn) -> list[str]:
    """A command name, some positionals and options with or without values, shuffled."""
    command = draw(st.sampled_from(COMMANDS))
    positional = st.sampled_from(SINGLE_SCANS + PATHS if command != "upscale" else SINGLE_SCANS)
    tokens = draw(st.lists(positional, max_size=3 if command != "upscale" else 1))
    for _ in range(draw(st.integers(0, 6))):
        tokens.append(draw(st.sampled_from(FLAGS[command])))
        if draw(st.integers(0, 4)):  # mostly with a value
            tokens.append(draw(st.sampled_from(VALUES + PATHS)))
    tokens = draw(st.permutations(tokens)) if draw(st.booleans()) else tokens
    if command == "upscale" and not {"--method", "--weights", "--onnx", "--help"} & set(tokens):
        tokens += ["--method", "nearest"]  # the default method (self-SR) trains for a minute
    if draw(st.integers(0, 30)) == 0:
        tokens.insert(0, draw(st.sampled_from(["--version", "--help", "frobnicate"])))
    return [command, *tokens]


def _tiny_dicom(folder: Path) -> None:
    """The shipped 6-slice DICOM sample reduced to 8 x 8 pixels per slice (fast to upscale)."""
    import pydicom

    from medsr.data import sample_path

    folder.mkdir()
    for src in sorted(sample_path("dicom").glob("*.dcm")):
        ds = pydicom.dcmread(src)
        small = np.ascontiguousarray(ds.pixel_array[::64, ::64])  # keeps the stored dtype
        ds.Rows, ds.Columns = small.shape
        ds.PixelSpacing = [float(v) * 64 for v in ds.PixelSpacing]
        ds.PixelData = small.tobytes()
        ds.save_as(folder / src.name)


@pytest.fixture(scope="module")
def fuzz_inputs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Tiny inputs of every kind (see the module docstring)."""
    import nibabel as nib
    import SimpleITK as sitk
    import torch
    from PIL import Image

    from medsr.models import create_model
    from medsr.models.io import save_weights

    root = tmp_path_factory.mktemp("fuzz_inputs")
    rng = np.random.default_rng(0)
    vol = (rng.random((6, 5, 4)) * 100).astype(np.float32)
    affine = np.diag([1.0, 1.2, 2.5, 1.0])
    nib.save(nib.Nifti1Image(vol, affine), root / "good.nii.gz")
    nan = vol.copy()
    nan[1, 1, 1] = np.nan
    nib.save(nib.Nifti1Image(nan, affine), root / "nan.nii.gz")
    sitk.WriteImage(sitk.GetImageFromArray((vol[:4, :4, :3] * 10).astype(np.int16)),
                    str(root / "small.nrrd"))  # fmt: skip
    Image.fromarray((rng.random((9, 7)) * 255).astype(np.uint8)).save(root / "pic.png")
    _tiny_dicom(root / "dicom")
    (root / "bad.yaml").write_text("model: [unclosed\n")
    (root / "empty.yaml").write_text("")
    (root / "profile.txt").write_text("0.25\n0.5\n0.25\n")
    torch.manual_seed(0)
    net = create_model("espcn", scale=2, dims=2, in_channels=1, preset="tiny")
    save_weights(net, root / "net", name="espcn", preset="tiny",
                 normalisation={"kind": "minmax", "params": {"min": 0, "max": 255}})  # fmt: skip
    export = ["export", "--weights", str(root / "net" / "model.safetensors"), "-o", "net.onnx"]
    code, _, stderr = _run(export, root)
    assert code == 0 and (root / "net.onnx").is_file(), stderr
    return root


def _snapshot(root: Path) -> dict[str, tuple[bytes, int]]:
    return {
        str(p.relative_to(root)): (p.read_bytes(), p.stat().st_mtime_ns)
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def _run(argv: list[str], cwd: Path) -> tuple[int, str, str]:
    """``medsr ARGV`` in this process: exit code, stdout, stderr."""
    from medsr.cli import main

    out, err = io.StringIO(), io.StringIO()
    code: int | str | None = 0
    with contextlib.chdir(cwd), contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            main(argv)
        except SystemExit as exc:
            code = exc.code
    if code is None:
        code = 0
    assert isinstance(code, int), f"exit with {code!r}"
    return code, out.getvalue(), err.getvalue()


command_lines = st.one_of(valid_lines(), random_lines())


@given(argv=command_lines)
def test_random_command_lines_exit_0_1_or_2_without_traceback(fuzz_inputs: Path, argv) -> None:
    os.environ.setdefault("COLUMNS", "100")
    before = _snapshot(fuzz_inputs)
    with tempfile.TemporaryDirectory() as tmp:
        out_dir = Path(tmp) / "out"
        out_dir.mkdir()
        args = [a.replace("{in}", str(fuzz_inputs)).replace("{out}", str(out_dir)) for a in argv]
        code, stdout, stderr = _run(args, Path(tmp))
        shown = f"medsr {' '.join(args)} -> {code}\nstdout:\n{stdout}\nstderr:\n{stderr}"
        event(f"medsr {argv[0]} exit {code}")
        assert code in (0, 1, 2), shown
        assert "Traceback" not in stdout + stderr, shown
        assert "please report it" not in stderr, shown  # an internal error, not a user one
        if code == 2:
            assert "error:" in stderr or "Usage" in stdout + stderr, shown
        left = [p.name for p in Path(tmp).rglob("*") if ".tmp" in p.name]
        assert not left, f"temporary files left: {left}\n{shown}"
    after = _snapshot(fuzz_inputs)
    for extra in set(after) - set(before):  # outputs a command line put among the inputs
        (fuzz_inputs / extra).unlink()
    for name, (blob, mtime) in before.items():
        assert name in after and after[name] == (blob, mtime), f"input {name} changed\n{shown}"
    for junk in fuzz_inputs.iterdir():
        if junk.is_dir() and not any(k.startswith(junk.name + "/") for k in before):
            shutil.rmtree(junk)
