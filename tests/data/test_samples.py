"""Built-in samples: present, readable, small, with the expected grids and licences."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from medsr.data import list_samples, sample, sample_info, sample_path
from medsr.errors import MedsrError

REPO = Path(__file__).resolve().parents[2]


def test_list_and_info() -> None:
    assert list_samples() == ["brain", "brain_labels", "dicom"]
    assert "CC BY 4.0" in sample_info("dicom").licence
    assert "MNI" in sample_info("brain").licence and "MNI" in sample_info("brain_labels").licence
    with pytest.raises(MedsrError, match="choose one of brain, brain_labels, dicom"):
        sample_path("knee")


def test_brain_is_an_isotropic_t1_truth() -> None:
    vol = sample("brain")
    assert vol.shape == (148, 184, 156) and vol.channels == 1
    np.testing.assert_allclose(vol.spacing, (1.0, 1.0, 1.0))
    assert vol.orientation() == "RAS" and vol.meta.dtype == "int16"
    assert vol.data.min() == 0 and vol.data.max() == 255
    # a brain, not a box: about a third of the crop is tissue, and the border is background
    tissue = float((vol.data > 20).mean())
    assert 0.25 < tissue < 0.6
    assert vol.data[0, 0].max() == 0 and vol.data[0, -1].max() == 0
    # MNI space and a symmetric template: mirroring through the world plane x = 0 (found from the
    # affine) maps the brain onto itself exactly, and the centroid lies on that plane
    x_world = vol.world_coordinates(0)[:, 0]
    i0 = int(np.argmin(np.abs(x_world)))
    assert x_world[i0] == 0.0
    left, right = vol.data[0, 1:i0], vol.data[0, 2 * i0 - 1 : i0 : -1]
    np.testing.assert_array_equal(left, right)
    weights = vol.data[0] / vol.data[0].sum()
    centroid = (np.indices(vol.shape).reshape(3, -1) * weights.ravel()).sum(axis=1)
    assert abs((vol.affine @ np.append(centroid, 1.0))[0]) < 0.5


def test_dicom_sample_is_six_real_slices() -> None:
    files = sorted(sample_path("dicom").glob("*.dcm"))
    assert [f.name for f in files] == [f"1-0{n}.dcm" for n in range(60, 66)]
    vol = sample("dicom")
    assert vol.shape == (512, 512, 6) and vol.meta.modality == "MR"
    np.testing.assert_allclose(vol.spacing, (0.41015625, 0.41015625, 1.5))


def test_samples_are_small_and_attributed() -> None:
    total = (
        sum(p.stat().st_size for p in sample_path("dicom").iterdir())
        + sample_path("brain").stat().st_size
    )
    assert total < 5.5 * 2**20
    assert sample_path("brain").stat().st_size < 2 * 2**20
    assert sample_path("brain_labels").stat().st_size < 256 * 2**10
    readme = (sample_path("brain").parent / "README.md").read_text()
    assert "Louis Collins" in readme and "CC BY 4.0" in readme and "VS-SEG-001" in readme
    licences = REPO / "DATA_LICENSES.md"
    if licences.exists():  # at the repository root (not in an installed wheel)
        text = licences.read_text()
        assert "CC BY-NC 4.0" in text and "non-commercial" in text


@pytest.mark.data
def test_dicom_sample_matches_the_shared_series(shared_data: Path) -> None:
    from medsr import io

    full = io.read(shared_data / "medical" / "mr_t1_series_dicom")
    part = sample("dicom")
    np.testing.assert_array_equal(part.data, full.data[..., 10:16])
    np.testing.assert_allclose(part.affine[:3, 3], (full.affine @ [0, 0, 10, 1.0])[:3], atol=1e-6)


def test_tissue_labels_take_the_most_probable_tissue_inside_the_brain() -> None:
    """How ``brain_labels`` was made (data/_build_samples.py): CSF = 1 - GM - WM in the brain."""
    from medsr.data._build_samples import tissue_labels

    t1 = np.array([0.0, 50.0, 120.0, 200.0, 90.0])
    gm = np.array([200.0, 20.0, 200.0, 60.0, 100.0])  # probabilities x 255
    wm = np.array([0.0, 10.0, 30.0, 190.0, 100.0])
    # background outside the brain; CSF (0.88); GM (0.78); WM (0.75); GM/WM tie -> first (GM)
    np.testing.assert_array_equal(tissue_labels(t1, gm, wm), [0, 1, 2, 3, 2])
    labels, brain = sample("brain_labels"), sample("brain")
    assert labels.meta.dtype == "uint8" and np.allclose(labels.affine, brain.affine)
    means = [float(brain.data[labels.data == k].mean()) for k in (1, 2, 3)]
    assert means[0] < means[1] < means[2]  # T1: CSF darker than grey, grey than white matter
