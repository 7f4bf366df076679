"""Published Set5 / Set14 scores of the classic SR networks (Y channel, x2 / x3 / x4).

The review (Li, Sixou & Peyrin, IRBM 2021, Table 1) compares networks by the PSNR / SSIM their
papers published on Set5 and Set14, measured on the luminance (Y of ITU-R BT.601) after removing a
border of ``scale`` pixels, the LR images made by MATLAB's bicubic ``imresize`` (the protocol of
:mod:`medsr.metrics.protocol`, which reproduces the bicubic row). ``medsr benchmark table1`` prints
these numbers beside each measured row, with the difference.

Sources (each entry names its own):

* Bicubic, SRCNN, VDSR: Kim, Lee & Lee, "Accurate image super-resolution using very deep
  convolutional networks", CVPR 2016, Table 3 (SRCNN: Dong et al. TPAMI 2016, 9-5-5 trained on
  ImageNet, run there with the authors' model; the rows the review copies).
* FSRCNN: PSNR from Dong, Loy & Tang, "Accelerating the super-resolution convolutional neural
  network", ECCV 2016 (results table, 91 images + General-100); the paper gives no SSIM, the SSIM
  is the value later papers report for the released model (e.g. Hui et al., IDN, CVPR 2018).
* ESPCN: Shi et al., "Real-time single image and video super-resolution using an efficient
  sub-pixel convolutional neural network", CVPR 2016 (ImageNet-trained model): PSNR only, x3 / x4.
* DRCN: Kim, Lee & Lee, "Deeply-recursive convolutional network for image super-resolution",
  CVPR 2016, Table 2.
* DRRN: Tai, Yang & Liu, "Image super-resolution via deep recursive residual network", CVPR 2017,
  Table 2.
* SRResNet: Ledig et al., "Photo-realistic single image super-resolution using a generative
  adversarial network", CVPR 2017 (x4 only).
* EDSR: Lim et al., "Enhanced deep residual networks for single image super-resolution",
  CVPRW 2017, Table 3 (the full 43 M-parameter EDSR, without self-ensemble).
* RDN: Zhang et al., "Residual dense network for image super-resolution", CVPR 2018, Table 3
  (BI degradation, without self-ensemble).

These are the papers' full-size models trained on their data; medsr's shipped networks are
trained on a CPU, some at reduced width/depth (see each ``model.json``), so a negative difference
is expected and the report says so.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["PUBLISHED", "Published", "published"]


@dataclass(frozen=True)
class Published:
    """One published score: PSNR (dB), SSIM (None where the paper gives none) and the source."""

    psnr: float
    ssim: float | None
    source: str


_VDSR = "Kim et al. CVPR 2016 (VDSR), Table 3"
_FSRCNN = "PSNR Dong et al. ECCV 2016; SSIM as re-reported (e.g. Hui et al. CVPR 2018)"
_ESPCN = "Shi et al. CVPR 2016 (ImageNet model), PSNR only"
_DRCN = "Kim et al. CVPR 2016 (DRCN), Table 2"
_DRRN = "Tai et al. CVPR 2017 (DRRN), Table 2"
_SRRESNET = "Ledig et al. CVPR 2017 (SRResNet)"
_EDSR = "Lim et al. CVPRW 2017 (EDSR), Table 3"
_RDN = "Zhang et al. CVPR 2018 (RDN), Table 3"


def _rows(
    method: str, source: str, set5: tuple, set14: tuple, scales: tuple[int, ...] = (2, 3, 4)
) -> dict[tuple[str, str, int], Published]:
    out: dict[tuple[str, str, int], Published] = {}
    for dataset, values in (("Set5", set5), ("Set14", set14)):
        for scale, value in zip(scales, values):
            if value is None:
                continue
            psnr, ssim = value if isinstance(value, tuple) else (value, None)
            out[(method, dataset, scale)] = Published(float(psnr), ssim, source)
    return out


#: ``{(method, dataset, scale): Published}``; ``method`` is the registry name of the network
#: (``bicubic`` for the MATLAB-bicubic baseline).
PUBLISHED: dict[tuple[str, str, int], Published] = {
    **_rows(
        "bicubic",
        _VDSR,
        ((33.66, 0.9299), (30.39, 0.8682), (28.42, 0.8104)),
        ((30.24, 0.8688), (27.55, 0.7742), (26.00, 0.7027)),
    ),
    **_rows(
        "srcnn",
        _VDSR,
        ((36.66, 0.9542), (32.75, 0.9090), (30.48, 0.8628)),
        ((32.42, 0.9063), (29.28, 0.8209), (27.49, 0.7503)),
    ),
    **_rows(
        "fsrcnn",
        _FSRCNN,
        ((37.00, 0.9558), (33.16, 0.9140), (30.71, 0.8657)),
        ((32.63, 0.9088), (29.43, 0.8242), (27.59, 0.7535)),
    ),
    **_rows("espcn", _ESPCN, (33.13, 30.90), (29.49, 27.73), scales=(3, 4)),
    **_rows(
        "vdsr",
        _VDSR,
        ((37.53, 0.9587), (33.66, 0.9213), (31.35, 0.8838)),
        ((33.03, 0.9124), (29.77, 0.8314), (28.01, 0.7674)),
    ),
    **_rows(
        "drcn",
        _DRCN,
        ((37.63, 0.9588), (33.82, 0.9226), (31.53, 0.8854)),
        ((33.04, 0.9118), (29.76, 0.8311), (28.02, 0.7670)),
    ),
    **_rows(
        "drrn",
        _DRRN,
        ((37.74, 0.9591), (34.03, 0.9244), (31.68, 0.8888)),
        ((33.23, 0.9136), (29.96, 0.8349), (28.21, 0.7720)),
    ),
    **_rows("srresnet", _SRRESNET, ((32.05, 0.9019),), ((28.49, 0.8184),), scales=(4,)),
    **_rows(
        "edsr",
        _EDSR,
        ((38.11, 0.9601), (34.65, 0.9282), (32.46, 0.8968)),
        ((33.92, 0.9195), (30.52, 0.8462), (28.80, 0.7876)),
    ),
    **_rows(
        "rdn",
        _RDN,
        ((38.24, 0.9614), (34.71, 0.9296), (32.47, 0.8990)),
        ((34.01, 0.9212), (30.57, 0.8468), (28.81, 0.7871)),
    ),
}


def published(method: str, dataset: str, scale: float) -> Published | None:
    """The published score of ``method`` (registry name, or ``bicubic``/``cubic``) on
    ``dataset`` ("Set5"/"Set14") at ``scale``, or None when no paper gives one."""
    key = "bicubic" if method in ("cubic", "bicubic") else str(method).lower()
    if not float(scale).is_integer():
        return None
    return PUBLISHED.get((key, str(dataset), int(scale)))
