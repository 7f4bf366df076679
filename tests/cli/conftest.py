"""Fixtures for the command-line audit (``test_cli_errors.py``, ``test_cli_happy.py``).

- ``cli``: runs ``python -m medsr ARGS`` in a subprocess (``COLUMNS=60``, so that rich would wrap
  any long line that is not printed with ``soft_wrap``) and returns a :class:`CliResult`.
- ``cli_data``: one folder of good and bad inputs, built once per session: small synthetic NIfTI
  volumes (good, NaN, Inf, 5-D, one voxel thick, 2-D), damaged files (empty, truncated gzip, text
  named .nii), a PNG, DICOM folders (one series with a slice removed, and two series made by
  rewriting the SeriesInstanceUID of every other file with pydicom), and tiny network weights
  (valid, corrupt, without model.json).
- ``snapshot``: every file's bytes and mtime under a folder, to prove inputs are never modified.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from cli_helpers import save_tiny_espcn

SHARED_DICOM = (
    Path(__file__).resolve().parents[2].parent
    / "shared"
    / "data"
    / "medical"
    / "mr_t1_series_dicom"
)


@dataclass(frozen=True)
class CliResult:
    """Exit code and output of one ``medsr`` run."""

    args: tuple[str, ...]
    code: int
    stdout: str
    stderr: str

    def describe(self) -> str:
        return (
            f"medsr {' '.join(self.args)} -> {self.code}\n"
            f"stdout:\n{self.stdout}\nstderr:\n{self.stderr}"
        )


def run_cli(
    *args: str | os.PathLike[str], timeout: float = 120, cwd: Path | None = None, columns: int = 60
) -> CliResult:
    """``python -m medsr ARGS`` in a fresh interpreter, with a 60-column terminal width."""
    env = dict(os.environ)
    env["COLUMNS"] = str(columns)
    env.pop("FORCE_COLOR", None)
    env["NO_COLOR"] = "1"
    argv = tuple(str(a) for a in args)
    proc = subprocess.run(
        [sys.executable, "-m", "medsr", *argv],
        check=False,
        capture_output=True,
        text=True,
        env=env,
        timeout=timeout,
        cwd=cwd,
    )
    return CliResult(argv, proc.returncode, proc.stdout, proc.stderr)


@pytest.fixture(scope="session")
def cli() -> Callable[..., CliResult]:
    """The subprocess runner (see :func:`run_cli`)."""
    return run_cli


def snapshot_tree(root: Path) -> dict[str, tuple[str, int, int]]:
    """``{relative path: (sha256, size, mtime_ns)}`` of every file under ``root`` (hidden ones
    too)."""
    out = {}
    for path in sorted(root.rglob("*")):
        if path.is_file():
            st = path.stat()
            out[str(path.relative_to(root))] = (
                hashlib.sha256(path.read_bytes()).hexdigest(),
                st.st_size,
                st.st_mtime_ns,
            )
    return out


@pytest.fixture(scope="session")
def snapshot() -> Callable[[Path], dict[str, tuple[str, int, int]]]:
    """The tree snapshot function (see :func:`snapshot_tree`)."""
    return snapshot_tree


def _nifti(
    path: Path, data: np.ndarray, spacing: tuple[float, float, float] = (1.0, 1.0, 2.0)
) -> None:
    import nibabel as nib

    affine = np.diag([*spacing, 1.0])
    affine[:3, 3] = (-5.0, 3.0, 1.5)
    nib.save(nib.Nifti1Image(np.asarray(data), affine), str(path))


def _dicom_source() -> list[Path]:
    """Eight consecutive slices of the real series in ../shared/data (else the 6-slice sample
    shipped with medsr): enough for two interleaved series and a detectable missing slice, small to
    hash."""
    files = sorted(SHARED_DICOM.glob("*.dcm")) if SHARED_DICOM.is_dir() else []
    if len(files) >= 6:
        return files[:8]
    from medsr.data import sample_path

    return sorted(sample_path("dicom").glob("*.dcm"))


def _dicom_folders(root: Path) -> None:
    import pydicom
    from pydicom.uid import generate_uid

    files = _dicom_source()
    two, gap, one = root / "dicom_two_series", root / "dicom_missing_slice", root / "dicom_one"
    for folder in (two, gap, one):
        folder.mkdir()
    second_uid = generate_uid()
    for i, src in enumerate(files):
        ds = pydicom.dcmread(src)
        if i % 2 == 1:
            ds.SeriesInstanceUID = second_uid
        ds.save_as(two / src.name)
        shutil.copyfile(src, one / src.name)
        if i != len(files) // 2:  # drop one slice from the middle
            shutil.copyfile(src, gap / src.name)
    (root / "second_series_uid.txt").write_text(second_uid)


def _weights(root: Path) -> None:
    save_tiny_espcn(root / "net")
    corrupt = root / "net_corrupt"
    corrupt.mkdir()
    shutil.copyfile(root / "net" / "model.json", corrupt / "model.json")
    (corrupt / "model.safetensors").write_bytes(b"not a safetensors file\n")
    lonely = root / "net_no_json"
    lonely.mkdir()
    shutil.copyfile(root / "net" / "model.safetensors", lonely / "model.safetensors")


@pytest.fixture(scope="session")
def cli_data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A read-only-by-convention folder of good and bad inputs (see the module docstring)."""
    from PIL import Image

    root = tmp_path_factory.mktemp("cli_inputs")
    rng = np.random.default_rng(0)
    good = (rng.random((12, 10, 6)) * 100).astype(np.float32)
    _nifti(root / "good.nii.gz", good)
    _nifti(root / "other.nii.gz", good + rng.normal(0, 2, good.shape).astype(np.float32))
    _nifti(root / "small.nii.gz", good[:8, :8, :4])
    nan = good.copy()
    nan[3, 4, 2] = np.nan
    _nifti(root / "nan.nii.gz", nan)
    inf = good.copy()
    inf[5, 1, 3] = np.inf
    _nifti(root / "inf.nii.gz", inf)
    _nifti(root / "five_d.nii.gz", rng.random((4, 4, 4, 2, 2)).astype(np.float32))
    _nifti(root / "one_voxel_x.nii.gz", good[:1])  # (1, 10, 6): one voxel thick along X
    _nifti(root / "single_slice.nii.gz", good[..., :1])  # (12, 10, 1): a 2-D image
    (root / "empty.nii.gz").write_bytes(b"")
    blob = (root / "good.nii.gz").read_bytes()
    (root / "truncated.nii.gz").write_bytes(blob[: len(blob) // 2])
    (root / "text.nii").write_text("this is a text file, not a NIfTI image\n")
    (root / "notes.xyz").write_text("unknown format\n")
    (root / "existing.onnx").write_bytes(b"an old file that is not ONNX\n")
    Image.fromarray((rng.random((20, 30)) * 255).astype(np.uint8)).save(root / "picture.png")
    _dicom_folders(root)
    _weights(root)
    return root
