"""Issue 13: a NIfTI input larger than ``--max-memory`` is read into a memory-mapped file, and the
job's result is bit for bit the in-memory job's."""

from __future__ import annotations

import nibabel as nib
import numpy as np

from medsr.infer.buffers import allocate
from medsr.infer.files import Job, upscale_file
from medsr.infer.pipeline import UpscaleConfig
from medsr.models import create_model
from medsr.models.io import save_weights
from medsr.runtime import torch_seed


def test_memory_mapped_input_gives_the_same_file(tmp_path, monkeypatch) -> None:
    from medsr.infer import files

    made: list[tuple[tuple[int, ...], bool]] = []

    def spy(shape, **kwargs):
        array = allocate(shape, **kwargs)
        made.append((tuple(shape), isinstance(array, np.memmap)))
        return array

    monkeypatch.setattr(files, "allocate", spy)
    rng = np.random.default_rng(3)
    ct = rng.integers(-1000, 1500, (40, 36, 10)).astype(np.int16)
    nib.save(nib.Nifti1Image(ct, np.diag([0.5, 0.5, 2.0, 1.0])), str(tmp_path / "ct.nii.gz"))
    with torch_seed(0):
        model = create_model("espcn", scale=(1, 1, 2), dims=3, in_channels=1, preset="tiny")
    weights, _ = save_weights(
        model,
        tmp_path / "w",
        name="espcn",
        preset="tiny",
        normalisation={"kind": "minmax", "params": {"min": -1024, "max": 3071}},
    )
    outputs = {}
    for name, limit in (("memory", 4 * 2**30), ("mapped", 1024)):
        job = Job(
            factors="1,1,2",
            weights=weights,
            dtype="float32",
            config=UpscaleConfig(tile=16, max_memory=limit, scratch=tmp_path),
        )
        side = upscale_file(tmp_path / "ct.nii.gz", tmp_path / f"{name}.nii.gz", job)
        assert side["memory"]["output_buffer"] == ("memmap" if name == "mapped" else "memory")
        outputs[name] = np.asarray(nib.load(str(tmp_path / f"{name}.nii.gz")).dataobj)
    assert made == [((1, 40, 36, 10), False), ((1, 40, 36, 10), True)]  # the inputs, as read
    np.testing.assert_array_equal(outputs["mapped"], outputs["memory"])
    assert not list(tmp_path.glob(".medsr-buffer-*"))  # scratch files are unlinked at once
