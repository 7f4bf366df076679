"""Built-in sample data, shipped inside the package (licences in ``data/README.md``).

- ``"brain"``: T1 brain MRI at 1 mm isotropic (148x184x156), the MNI ICBM152 2009a symmetric
  template (skull-stripped, intensities 0..255, stored as int16). Permissive MNI licence. It is
  the near-isotropic "truth" for simulated thick-slice experiments (review section 2.2, eq. 3).
- ``"brain_labels"``: its tissue label map (0 background, 1 CSF, 2 grey, 3 white matter) from the
  template's GM/WM probability maps; the development labels of the T-L network (ref. [80]).
- ``"dicom"``: six consecutive axial slices of a real T1 MPRAGE DICOM series (512x512 at 0.41 mm,
  1.5 mm slices), TCIA Vestibular-Schwannoma-SEG subject VS-SEG-001, CC BY 4.0.

Use :func:`sample` for a :class:`~medsr.volume.Volume`, :func:`sample_path` for the file or folder
(handy on the command line, e.g. with ``medsr info``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType

from medsr.errors import MedsrError
from medsr.volume import Volume

__all__ = ["SampleInfo", "list_samples", "sample", "sample_info", "sample_path"]

_HERE = Path(__file__).resolve().parent


@dataclass(frozen=True)
class SampleInfo:
    """What a built-in sample is, where it comes from and under which licence."""

    name: str
    relpath: str
    description: str
    source: str
    licence: str


_SAMPLES = MappingProxyType(
    {
        "brain": SampleInfo(
            name="brain",
            relpath="brain.nii.gz",
            description="T1 brain MRI, 1 mm isotropic, 148x184x156 (MNI ICBM152 2009a sym)",
            source="McConnell Brain Imaging Centre, MNI (Fonov et al. 2009, 2011), via nilearn",
            licence="MNI ICBM152 licence (permissive, copyright notice kept): see data/README.md",
        ),
        "brain_labels": SampleInfo(
            name="brain_labels",
            relpath="brain_labels.nii.gz",
            description="tissue labels of 'brain' (0 background, 1 CSF, 2 GM, 3 WM), uint8",
            source="MNI ICBM152 2009a sym GM/WM probability maps (via nilearn), most probable "
            "tissue; CSF = brain minus GM and WM (see data/_build_samples.py)",
            licence="MNI ICBM152 licence (permissive, copyright notice kept): see data/README.md",
        ),
        "dicom": SampleInfo(
            name="dicom",
            relpath="dicom",
            description="6 axial slices of a T1 MPRAGE series, 512x512 at 0.41 mm, 1.5 mm slices",
            source="TCIA Vestibular-Schwannoma-SEG, subject VS-SEG-001 (Shapey et al. 2021)",
            licence="CC BY 4.0",
        ),
    }
)


def list_samples() -> list[str]:
    """Names of the built-in samples."""
    return sorted(_SAMPLES)


def sample_info(name: str) -> SampleInfo:
    """Description, source and licence of a sample."""
    if name not in _SAMPLES:
        raise MedsrError(f"no sample named {name!r}; choose one of {', '.join(list_samples())}")
    return _SAMPLES[name]


def sample_path(name: str) -> Path:
    """The file (or DICOM folder) of a built-in sample."""
    path = _HERE / sample_info(name).relpath
    if not path.exists():
        raise MedsrError(
            f"sample {name!r} is missing from the installation ({path}); reinstall medsr"
        )
    return path


def sample(name: str) -> Volume:
    """A built-in sample read as a :class:`Volume` (see :func:`list_samples`)."""
    from medsr.io import read

    return read(sample_path(name))
