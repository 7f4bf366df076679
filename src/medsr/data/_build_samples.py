"""How the built-in samples were made (kept for provenance; not imported by medsr).

``brain.nii.gz``: the MNI ICBM152 2009a non-linear symmetric T1 template as shipped, skull-stripped
and rescaled to 0..255, inside the nilearn wheel (``nilearn/datasets/data/
mni_icbm152_t1_tal_nlin_sym_09a_converted.nii.gz``, 197x233x189 at 1 mm). Cropped at native
resolution to the brain's bounding box padded to 148x184x156 (every brain voxel kept, sizes
divisible by 4), stored as int16 so that super-resolved values above 255 are not clipped, gzip
level 9 (1.9 MB).

``brain_labels.nii.gz``: a tissue label map on the grid of ``brain.nii.gz`` (0 background, 1 CSF,
2 grey matter, 3 white matter), from the grey- and white-matter probability maps that the same
nilearn wheel ships beside the T1 template (``mni_icbm152_gm_tal_nlin_sym_09a_converted.nii.gz``,
``..._wm_...``, probabilities x 255); it has no CSF map, so CSF probability is taken as
``1 - p_gm - p_wm`` inside the skull-stripped template's brain (T1 > 0). Each brain voxel gets the
most probable of CSF/GM/WM; voxels outside the brain are background. Same crop, uint8, gzip 9.
It is the development label map of the T-L network (review ref. [80], Oktay et al. 2018).

``dicom/``: six consecutive slices (files 1-060 .. 1-065) of the TCIA Vestibular-Schwannoma-SEG
series of subject VS-SEG-001 (T1 MPRAGE, 512x512, 0.41 mm, 1.5 mm slices), copied unchanged.

Usage::

    pip download --no-deps nilearn -d /tmp/nl && unzip -o /tmp/nl/nilearn-*.whl \
        'nilearn/datasets/data/mni_icbm152_t1*' -d /tmp/nl
    python -m medsr.data._build_samples /tmp/nl/nilearn/datasets/data/\
mni_icbm152_t1_tal_nlin_sym_09a_converted.nii.gz src/medsr/data/brain.nii.gz
    python -m medsr.data._build_samples --labels /tmp/nl/nilearn/datasets/data/ \
        src/medsr/data/brain_labels.nii.gz
"""

from __future__ import annotations

import gzip
import shutil
import sys
import tempfile
from pathlib import Path

import numpy as np

from medsr import io
from medsr.io.atomic import atomic_path
from medsr.volume import Volume, crop_affine

#: Crop of the 197x233x189 template (start voxel, size): the brain's bounding box, padded.
BRAIN_START = (24, 26, 0)
BRAIN_SIZE = (148, 184, 156)


def _crop_brain(data: np.ndarray, what: str) -> np.ndarray:
    """The brain box (:data:`BRAIN_START`, :data:`BRAIN_SIZE`) of the template grid: the last
    three axes of ``data`` cropped.

    Raises:
        SystemExit: the crop would cut ``what`` voxels (non-zero ones): another template version.
    """
    box = tuple(slice(s, s + n) for s, n in zip(BRAIN_START, BRAIN_SIZE))
    crop = data[(..., *box)]
    if int(np.count_nonzero(crop)) != int(np.count_nonzero(data)):
        raise SystemExit(f"the crop would cut {what} voxels; check the template version")
    return crop


def _write_nifti_gz9(volume: Volume, out: Path, dtype: str, descrip: bytes) -> None:
    """Write ``volume`` to ``out`` as ``dtype`` NIfTI, gzip level 9, atomically, with the header's
    ``descrip`` set and units mm/s (the template leaves units unset)."""
    volume.meta.header["descrip"] = descrip
    volume.meta.header.set_xyzt_units("mm", "sec")
    with tempfile.TemporaryDirectory() as tmp:
        plain = Path(tmp) / "sample.nii"
        io.write(volume, plain, dtype=dtype)
        with (
            atomic_path(out) as target,
            open(plain, "rb") as src,
            gzip.open(target, "wb", 9) as dst,
        ):
            shutil.copyfileobj(src, dst)


def build_brain(template: Path, out: Path) -> Volume:
    """Crop the MNI template and write it as int16 NIfTI, gzip level 9."""
    volume = io.read(template)
    data = _crop_brain(volume.data, "brain")
    cropped = Volume(data, crop_affine(volume.affine, BRAIN_START), volume.meta.copy(dtype="int16"))
    _write_nifti_gz9(cropped, out, "int16", b"MNI ICBM152 2009a sym T1 (nilearn), crop")
    return cropped


def tissue_labels(t1: np.ndarray, gm: np.ndarray, wm: np.ndarray) -> np.ndarray:
    """Labels 0 background, 1 CSF, 2 GM, 3 WM from the template's T1 (brain where > 0) and its
    GM/WM probability maps stored as 0..255 (CSF probability = 1 - p_gm - p_wm, clipped)."""
    p_gm, p_wm = gm / 255.0, wm / 255.0
    p_csf = np.clip(1.0 - p_gm - p_wm, 0.0, 1.0)
    labels = np.argmax(np.stack([p_csf, p_gm, p_wm]), axis=0).astype(np.uint8) + 1
    labels[t1 <= 0] = 0
    return labels


def build_labels(folder: Path, out: Path) -> Volume:
    """The tissue label map of the brain sample from the nilearn template folder ``folder``."""
    names = {k: f"mni_icbm152_{k}_tal_nlin_sym_09a_converted.nii.gz" for k in ("t1", "gm", "wm")}
    vols = {k: io.read(folder / v) for k, v in names.items()}
    for k in ("gm", "wm"):
        if vols[k].shape != vols["t1"].shape or not np.allclose(vols[k].affine, vols["t1"].affine):
            raise SystemExit(f"the {k} map is not on the T1 template's grid")
    labels = tissue_labels(*(vols[k].data[0].astype(np.float64) for k in ("t1", "gm", "wm")))
    crop = _crop_brain(labels, "labelled")[None]
    t1 = vols["t1"]
    out_vol = Volume(crop, crop_affine(t1.affine, BRAIN_START), t1.meta.copy(dtype="uint8"))
    _write_nifti_gz9(out_vol, out, "uint8", b"MNI ICBM152 2009a sym 0 bg 1 CSF 2 GM 3 WM, crop")
    return out_vol


if __name__ == "__main__":
    if sys.argv[1] == "--labels":
        build_labels(Path(sys.argv[2]), Path(sys.argv[3]))
    else:
        build_brain(Path(sys.argv[1]), Path(sys.argv[2]))
