"""How the built-in samples were made (kept for provenance; not imported by medsr).

``brain.nii.gz``: the MNI ICBM152 2009a non-linear symmetric T1 template as shipped, skull-stripped
and rescaled to 0..255, inside the nilearn wheel (``nilearn/datasets/data/
mni_icbm152_t1_tal_nlin_sym_09a_converted.nii.gz``, 197x233x189 at 1 mm). Cropped at native
resolution to the brain's bounding box padded to 148x184x156 (every brain voxel kept, sizes
divisible by 4), stored as int16 so that super-resolved values above 255 are not clipped, gzip
level 9 (1.9 MB).

``dicom/``: six consecutive slices (files 1-060 .. 1-065) of the TCIA Vestibular-Schwannoma-SEG
series of subject VS-SEG-001 (T1 MPRAGE, 512x512, 0.41 mm, 1.5 mm slices), copied unchanged.

Usage::

    pip download --no-deps nilearn -d /tmp/nl && unzip -o /tmp/nl/nilearn-*.whl \
        'nilearn/datasets/data/mni_icbm152_t1*' -d /tmp/nl
    python -m medsr.data._build_samples /tmp/nl/nilearn/datasets/data/\
mni_icbm152_t1_tal_nlin_sym_09a_converted.nii.gz src/medsr/data/brain.nii.gz
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


def build_brain(template: Path, out: Path) -> Volume:
    """Crop the MNI template and write it as int16 NIfTI, gzip level 9."""
    volume = io.read(template)
    (x0, y0, z0), (sx, sy, sz) = BRAIN_START, BRAIN_SIZE
    data = volume.data[:, x0 : x0 + sx, y0 : y0 + sy, z0 : z0 + sz]
    if int(np.count_nonzero(data)) != int(np.count_nonzero(volume.data)):
        raise SystemExit("the crop would cut brain voxels; check the template version")
    cropped = Volume(data, crop_affine(volume.affine, BRAIN_START), volume.meta.copy(dtype="int16"))
    cropped.meta.header["descrip"] = b"MNI ICBM152 2009a sym T1 (nilearn), crop"
    cropped.meta.header.set_xyzt_units("mm", "sec")  # the template leaves units unset
    with tempfile.TemporaryDirectory() as tmp:
        plain = Path(tmp) / "brain.nii"
        io.write(cropped, plain, dtype="int16")
        with (
            atomic_path(out) as target,
            open(plain, "rb") as src,
            gzip.open(target, "wb", 9) as dst,
        ):
            shutil.copyfileobj(src, dst)
    return cropped


if __name__ == "__main__":
    build_brain(Path(sys.argv[1]), Path(sys.argv[2]))
