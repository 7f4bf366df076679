"""`medsr info` on every file of pydicom's own test corpus (files no one here wrote).

The oracle is pydicom itself, with the decoders medsr depends on (pylibjpeg, -libjpeg, -openjpeg,
-rle): a file whose pixels ``pydicom.dcmread(f).pixel_array`` decodes must be read (exit 0, nothing
on stderr); every other file (reports, plans, DICOMDIRs, damaged headers, broken JPEG streams, text
files) must give one line ``error: ...`` naming the file, exit 2, never an internal error. The
corpus is used in place from the installed pydicom package (pydicom's licence, MIT; the files'
origins are listed in its ``test_files/README.txt``).
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pydicom
import pydicom.data
import pytest

from medsr.cli import main

CORPUS = Path(pydicom.data.__file__).parent / "test_files"
FILES = sorted(p for p in CORPUS.rglob("*") if p.is_file()) if CORPUS.is_dir() else []
# The 44 slices of TINY_ALPHA are alike (image headers without pixels): three stand for them.
_TINY = [p for p in FILES if "TINY_ALPHA/PT" in p.as_posix()]
CASES = [p for p in FILES if p not in _TINY[3:]]


def _pydicom_decodes(path: Path) -> bool:
    """The oracle: pydicom reads the file as DICOM and decodes an image from it."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            ds = pydicom.dcmread(str(path))
            pixels = ds.pixel_array
        except Exception:  # noqa: BLE001 - the oracle: any failure means not readable
            return False
    return isinstance(pixels, np.ndarray) and pixels.size > 0


def _info(path: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    capsys.readouterr()
    code = 0
    try:
        main(["info", str(path), "--json"])
    except SystemExit as exc:
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


def test_the_corpus_is_there() -> None:
    assert len(FILES) > 80, f"pydicom's test corpus was not found under {CORPUS}"
    compressed = {
        "JPEG 2000",
        "JPEG-LS",
        "RLE",
        "JPEG Baseline",
        "JPEG Lossless",
        "JPEG Extended",
    }
    seen = set()
    for name in (
        "693_J2KI.dcm",
        "MR_small_jpeg_ls_lossless.dcm",
        "MR_small_RLE.dcm",
        "SC_rgb_jpeg_dcmtk.dcm",
        "SC_rgb_jpeg_gdcm.dcm",
        "JPGExtended.dcm",
    ):
        syntax = pydicom.dcmread(CORPUS / name, stop_before_pixels=True).file_meta
        seen |= {c for c in compressed if c in syntax.TransferSyntaxUID.name}
    assert seen == compressed


@pytest.mark.parametrize("path", CASES, ids=[p.relative_to(CORPUS).as_posix() for p in CASES])
def test_every_corpus_file_is_read_or_refused_in_one_line(
    path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = _info(path, capsys)
    if _pydicom_decodes(path):
        assert code == 0, err
        assert err == ""  # decoder warnings become notes, never stray stderr lines
        assert '"format": "dicom"' in out
    else:
        assert code == 2, (code, err)
        lines = err.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: "), err
        assert path.name in lines[0]
        assert "unexpected" not in err and "Traceback" not in err


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("badVR.dcm", r"badVR\.dcm: element NumberOfFrames \(0028,0008\) holds '1A'"),
        ("nested_priv_SQ.dcm", r"nested_priv_SQ\.dcm: the image lacks Rows \(0028,0010\)"),
        ("MR_truncated.dcm", r"MR_truncated\.dcm: the pixel data is truncated \(8130 of the 8192"),
        ("meta_missing_tsyntax.dcm", r"lacks TransferSyntaxUID \(0002,0010\)"),
        ("JPEG-lossy.dcm", r"JPEG Extended .* pixel data cannot be decoded \(pylibjpeg"),
        ("test-SR.dcm", r"test-SR\.dcm is a DICOM file without an image \(SR"),
        ("waveform_ecg.dcm", r"without an image \(ECG"),
    ],
)
def test_malformed_files_name_the_file_and_the_element(name: str, expected: str) -> None:
    from medsr import io
    from medsr.errors import MedsrError

    with pytest.raises(MedsrError, match=expected) as caught:
        io.read(CORPUS / name)
    assert "\n" not in str(caught.value)


def test_compressed_syntaxes_decode_to_the_uncompressed_pixels() -> None:
    """JPEG-LS, JPEG 2000 and RLE lossless copies of MR_small give its exact pixels and grid."""
    from medsr import io

    ref = io.read(CORPUS / "MR_small.dcm")
    for name in ("MR_small_jpeg_ls_lossless.dcm", "MR_small_jp2klossless.dcm", "MR_small_RLE.dcm"):
        vol = io.read(CORPUS / name)
        np.testing.assert_array_equal(vol.data, ref.data)
        np.testing.assert_allclose(vol.affine, ref.affine, atol=1e-9)
    # JPEG baseline RGB (lossy): three channels, close to the uncompressed original
    rgb = io.read(CORPUS / "SC_rgb_jpeg_dcmtk.dcm")
    assert rgb.channels == 3 and rgb.shape == (100, 100, 1)


def test_a_lenient_value_is_read_with_a_note(tmp_path: Path) -> None:
    from medsr import io
    from medsr.errors import MedsrError

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ds = pydicom.dcmread(CORPUS / "MR_small.dcm")
        ds.InstanceNumber = "1.0"  # an IS written as a decimal: pydicom reads it as 1
        ds.save_as(tmp_path / "lenient.dcm")
    assert b"1.0 " in (tmp_path / "lenient.dcm").read_bytes()
    vol = io.read(tmp_path / "lenient.dcm")
    np.testing.assert_array_equal(vol.data, io.read(CORPUS / "MR_small.dcm").data)
    assert any(
        "InstanceNumber (0020,0013)" in n and "'1.0'" in n and "leniently" in n
        for n in vol.meta.notes
    ), vol.meta.notes
    # a value that is no number where medsr needs one: one line naming the element
    raw = (CORPUS / "MR_small.dcm").read_bytes()
    assert raw.count(b"0.8000") == 1  # SliceThickness, patched in place (same length)
    (tmp_path / "bad.dcm").write_bytes(raw.replace(b"0.8000", b"0.8mm "))
    expected = r"bad\.dcm: element SliceThickness \(0018,0050\) holds '0\.8mm'"
    with pytest.raises(MedsrError, match=expected):
        io.read(tmp_path / "bad.dcm")
