"""Helpers of the reader/writer tests: the independent reference readers.

Imported by the test modules of this folder (``from io_helpers import sitk_series``).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import SimpleITK as sitk

from medsr.io.itk import itk_geometry_to_affine


def sitk_series(folder: Path) -> tuple[np.ndarray, np.ndarray]:
    """Reference: SimpleITK's series reader (ITK's GDCM, LPS) of the DICOM series in ``folder``,
    as medsr's (x, y, z) array and RAS affine."""
    reader = sitk.ImageSeriesReader()
    reader.SetFileNames(reader.GetGDCMSeriesFileNames(str(folder)))
    image = reader.Execute()
    affine = itk_geometry_to_affine(
        np.array(image.GetOrigin()),
        np.array(image.GetSpacing()),
        np.array(image.GetDirection()).reshape(3, 3),
    )
    return sitk.GetArrayFromImage(image).transpose(2, 1, 0), affine
