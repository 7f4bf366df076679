"""Training sources: file discovery, reading with colour handling, LR pairs, Otsu foreground."""

from pathlib import Path

import numpy as np
import pytest

from medsr.errors import MedsrError
from medsr.train.sources import (
    foreground_coordinates,
    list_files,
    load_sources,
    otsu_threshold,
    read_array,
)


def test_list_files_folder_glob_single_and_errors(bsd_crops: Path, tmp_path: Path):
    files = list_files(str(bsd_crops))
    assert len(files) == 4 and files == sorted(files)
    assert list_files(str(bsd_crops), limit=2) == files[:2]
    assert list_files(str(bsd_crops), pattern=files[1].name) == [files[1]]
    assert list_files(str(bsd_crops / "*.png")) == files
    assert list_files(str(files[0])) == [files[0]]
    with pytest.raises(MedsrError, match="nowhere.*current directory"):
        list_files(str(tmp_path / "nowhere"))
    (tmp_path / "empty").mkdir()
    with pytest.raises(MedsrError, match="no readable images"):
        list_files(str(tmp_path / "empty"))


def test_read_array_colour_and_unreadable_file(shared_data: Path, tmp_path: Path):
    img = min((shared_data / "natural" / "CBSD68").glob("*.png"))
    y, is_2d = read_array(img, "y")
    rgb, _ = read_array(img, "rgb")
    assert is_2d and y.shape[0] == 1 and rgb.shape[0] == 3 and y.shape[1:] == rgb.shape[1:]
    assert 16.0 <= y.min() and y.max() <= 235.0  # BT.601 studio-range luma
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"\x89PNG but not really")
    with pytest.raises(MedsrError, match="broken.png"):
        load_sources(str(tmp_path))


def test_otsu_threshold_agrees_with_scikit_image(shared_data: Path):
    from medsr.io import read

    skimage_filters = pytest.importorskip("skimage.filters")
    t1 = read(shared_data / "medical" / "chris_t1.nii.gz").data[0]
    ours = otsu_threshold(t1)
    theirs = float(skimage_filters.threshold_otsu(t1, nbins=256))
    assert ours == pytest.approx(theirs, abs=float(np.ptp(t1)) / 256)  # within one histogram bin
    assert otsu_threshold(np.full((4, 4), 3.0)) == 3.0  # constant image: no split


def test_foreground_is_the_bright_object_and_is_subsampled_with_the_seed():
    vol = np.zeros((1, 32, 32, 8), dtype=np.float32)
    vol[0, 4:12, 20:28, 2:6] = 100.0
    fg = foreground_coordinates(vol, "otsu", 50.0, seed=0)
    assert fg is not None and len(fg) == 8 * 8 * 4
    assert fg[:, 0].min() == 4 and fg[:, 1].max() == 27 and set(fg[:, 2]) == {2, 3, 4, 5}
    assert foreground_coordinates(vol, "none", 50.0, seed=0) is None
    a = foreground_coordinates(vol, "percentile", 10.0, seed=1, max_points=50)
    b = foreground_coordinates(vol, "percentile", 10.0, seed=1, max_points=50)
    assert a is not None and len(a) == 50 and np.array_equal(a, b)
