"""The checkerboard of the three up-sampling layers of Sanchez & Vilaplana 2018 at initialisation.

Review section 4, ref. [77] (Sanchez I., Vilaplana V., "Brain MRI super-resolution using 3D
generative adversarial networks", MIDL 2018) compares nearest + convolution, sub-pixel convolution
and checkerboard-free sub-pixel convolution (ICNR, Aitken et al. 2017). :func:`initial_period2`
builds the ``sanchez_gan3d`` generator with each (same seed for the shared layers) and measures the
period-2 energy (:func:`medsr.models.medical.sanchez.period2_energy`) of its initial output on a
real block, beside the nearest-neighbour up-sampled input (zero by construction).
"""

from __future__ import annotations

import numpy as np

__all__ = ["initial_period2"]


def initial_period2(block: np.ndarray, *, preset: str = "tiny", seed: int = 0) -> dict[str, float]:
    """``{choice: period-2 energy of the untrained x2 generator's output}`` for a 3D ``block``
    (normalised to zero mean, unit variance first) and ``"nearest_input"`` for reference."""
    import torch
    import torch.nn.functional as F

    from medsr.models import create_model
    from medsr.models.medical.sanchez import UPSAMPLING, period2_energy
    from medsr.runtime import torch_seed

    x = torch.from_numpy(np.ascontiguousarray(block, dtype=np.float32))[None, None]
    x = (x - x.mean()) / x.std().clamp_min(1e-6)
    out = {"nearest_input": period2_energy(F.interpolate(x, scale_factor=2, mode="nearest"))}
    for kind in UPSAMPLING:
        with torch_seed(seed):
            net = create_model(
                "sanchez_gan3d", scale=2, dims=3, preset=preset, upsampling=kind
            ).eval()
        with torch.no_grad():
            out[kind] = period2_energy(net(x))
    return out
