"""Writing a derived series as one enhanced multi-frame object (Enhanced MR/CT Image Storage).

The alternative to one file per slice (:mod:`medsr.io.dicom_write`, which it shares identity,
intensity storage and geometry with): one file whose frames are the output slices, with the
geometry in functional groups (PS3.3 C.7.6.16): shared Pixel Measures (PixelSpacing,
SliceThickness, SpacingBetweenSlices), Plane Orientation and Pixel Value Transformation (the
rescale that keeps CT in HU), per frame Plane Position (ImagePositionPatient of slice ``k`` =
origin + k times the slice vector) and Frame Content (one stack, in-stack position ``k + 1``,
indexed by a two-level Multi-frame Dimension). ImageType/FrameType are
``DERIVED\\SECONDARY\\VOLUME\\NONE``. Only CT and MR have enhanced image classes here; other
modalities keep the one-file-per-slice series.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from medsr.errors import OptionError
from medsr.volume import Volume

__all__ = ["ENHANCED_SOP", "write_dicom_enhanced"]

ENHANCED_SOP = {
    "CT": "1.2.840.10008.5.1.4.1.1.2.1",  # Enhanced CT Image Storage
    "MR": "1.2.840.10008.5.1.4.1.1.4.1",  # Enhanced MR Image Storage
}
_IMAGE_TYPE = ["DERIVED", "SECONDARY", "VOLUME", "NONE"]
#: Classic-image elements that have functional-group homes in an enhanced object.
_CLASSIC_ONLY = (
    "ScanningSequence",
    "SequenceVariant",
    "ScanOptions",
    "MRAcquisitionType",
    "RepetitionTime",
    "EchoTime",
    "InversionTime",
    "EchoTrainLength",
    "FlipAngle",
    "ImagingFrequency",
    "KVP",
    "ConvolutionKernel",
    "AcquisitionNumber",
    "WindowCenter",
    "WindowWidth",
    "RescaleType",
)


def _item(**values: Any) -> Any:
    from pydicom.dataset import Dataset

    ds = Dataset()
    for key, value in values.items():
        setattr(ds, key, value)
    return ds


def _seq(*items: Any) -> Any:
    from pydicom.sequence import Sequence

    return Sequence(list(items))


def write_dicom_enhanced(
    volume: Volume,
    path: str | Path,
    dtype: str,
    *,
    derivation: Any = None,
    anonymise: bool = False,
    reference: Any | None = None,
) -> tuple[str, int, list[str]]:
    """Write ``volume`` (one channel, CT or MR) as one enhanced multi-frame file ``path``.

    Returns:
        ``(stored dtype, clipped voxel count, notes)``, as the other writers.

    Raises:
        OptionError: several channels, or a modality without an enhanced image class here.
    """
    from pydicom.dataset import FileMetaDataset
    from pydicom.uid import PYDICOM_IMPLEMENTATION_UID, UID, generate_uid

    from medsr.io.dicom_write import (
        _EXPLICIT_LE,
        _ds,
        prepare_series,
    )
    from medsr.io.storage import to_storage

    if volume.channels != 1:
        raise OptionError(
            f"an enhanced multi-frame object holds one channel, not {volume.channels}; write the "
            "one-file-per-slice series ({format} dicom) instead"
        )
    _ref, nz, geo, stored, slope, inter, notes, ds = prepare_series(
        volume, dtype, derivation, anonymise, reference
    )
    modality = str(ds.Modality)
    if modality not in ENHANCED_SOP:
        raise OptionError(
            f"medsr writes enhanced multi-frame objects for CT and MR, not {modality}; write the "
            "one-file-per-slice series ({format} dicom) instead"
        )
    notes = [n for n in notes if "Secondary Capture" not in n]  # the classic writer's note
    for key in _CLASSIC_ONLY:
        if key in ds:
            del ds[key]
    ds.SOPClassUID = ENHANCED_SOP[modality]
    ds.SOPInstanceUID = generate_uid()
    ds.ImageType = _IMAGE_TYPE
    ds.ManufacturerModelName = "medsr"
    ds.DeviceSerialNumber = "0"
    ds.SoftwareVersions = getattr(derivation, "version", None) or "medsr"
    ds.InstanceNumber = 1
    ds.NumberOfFrames = nz
    ds.Rows, ds.Columns = volume.shape[1], volume.shape[0]
    ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
    bits = np.dtype(stored).itemsize * 8
    ds.BitsAllocated = ds.BitsStored = bits
    ds.HighBit = bits - 1
    ds.PixelRepresentation = int(np.dtype(stored).kind == "i")
    ds.BurnedInAnnotation = "NO"
    ds.LossyImageCompression = "00"
    ds.PresentationLUTShape = "IDENTITY"
    ds.PixelPresentation = "MONOCHROME"
    ds.VolumetricProperties = "VOLUME"
    ds.VolumeBasedCalculationTechnique = "NONE"
    frame_type: dict[str, Any] = {
        "FrameType": _IMAGE_TYPE,
        "PixelPresentation": "MONOCHROME",
        "VolumetricProperties": "VOLUME",
        "VolumeBasedCalculationTechnique": "NONE",
    }
    if modality == "MR":
        ds.ComplexImageComponent = "MAGNITUDE"
        ds.AcquisitionContrast = "UNKNOWN"
        ds.ContentQualification = "RESEARCH"
        ds.ResonantNucleus = str(ds.get("ImagedNucleus", "") or "1H")
        ds.KSpaceFiltering = "NONE"
        ds.MagneticFieldStrength = ds.get("MagneticFieldStrength", "") or ""
        frame_type.update(ComplexImageComponent="MAGNITUDE", AcquisitionContrast="UNKNOWN")
    else:
        ds.ContentQualification = "RESEARCH"
    if "ImagedNucleus" in ds:
        del ds["ImagedNucleus"]
    ds.AcquisitionContextSequence = _seq()

    dimension_uid = generate_uid()
    ds.DimensionOrganizationSequence = _seq(_item(DimensionOrganizationUID=dimension_uid))
    ds.DimensionIndexSequence = _seq(
        *(
            _item(
                DimensionOrganizationUID=dimension_uid,
                DimensionIndexPointer=pointer,
                FunctionalGroupPointer=0x00209111,  # FrameContentSequence
            )
            for pointer in (0x00209056, 0x00209057)  # StackID, InStackPositionNumber
        )
    )
    shared = _item(
        PixelMeasuresSequence=_seq(
            _item(
                PixelSpacing=[_ds(v) for v in geo["pixel_spacing"]],
                SliceThickness=_ds(geo["spacing"]),
                SpacingBetweenSlices=_ds(geo["spacing"]),
            )
        ),
        PlaneOrientationSequence=_seq(
            _item(ImageOrientationPatient=[_ds(v) for v in geo["orientation"]])
        ),
        PixelValueTransformationSequence=_seq(
            _item(
                RescaleIntercept=_ds(inter),
                RescaleSlope=_ds(slope),
                RescaleType="HU" if modality == "CT" else "US",
            )
        ),
        FrameAnatomySequence=_seq(
            _item(
                AnatomicRegionSequence=_seq(
                    _item(
                        CodeValue="38266002",
                        CodingSchemeDesignator="SCT",
                        CodeMeaning="Entire body",
                    )
                ),
                FrameLaterality="U",
            )
        ),
    )
    setattr(shared, f"{modality}ImageFrameTypeSequence", _seq(_item(**frame_type)))
    ds.SharedFunctionalGroupsSequence = _seq(shared)
    frames, clipped = [], 0
    for k in range(nz):
        pixels, n_clipped = to_storage(
            np.ascontiguousarray(volume.data[0, :, :, k].T), stored, slope, inter
        )
        clipped += n_clipped
        frames.append(pixels.astype(pixels.dtype.newbyteorder("<"), copy=False).tobytes())
    ds.PerFrameFunctionalGroupsSequence = _seq(
        *(
            _item(
                FrameContentSequence=_seq(
                    _item(StackID="1", InStackPositionNumber=k + 1, DimensionIndexValues=[1, k + 1])
                ),
                PlanePositionSequence=_seq(
                    _item(ImagePositionPatient=[_ds(v) for v in geo["positions"][k]])
                ),
            )
            for k in range(nz)
        )
    )
    ds.PixelData = b"".join(frames)
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = ds.SOPClassUID
    meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    meta.TransferSyntaxUID = UID(_EXPLICIT_LE)
    meta.ImplementationClassUID = PYDICOM_IMPLEMENTATION_UID
    ds.file_meta = meta
    ds.save_as(Path(path), enforce_file_format=True)
    return stored, clipped, notes
