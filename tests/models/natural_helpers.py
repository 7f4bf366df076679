"""The natural-image networks (review section 3.4) that the shape, ONNX and parameter-count tests
cover together.

Imported by the test modules of this folder (``from natural_helpers import NATURAL, RGB``).
"""

from __future__ import annotations

NATURAL = [
    "srcnn",
    "fsrcnn",
    "espcn",
    "vdsr",
    "drcn",
    "drrn",
    "lapsrn",
    "edsr",
    "srresnet",
    "srdensenet",
    "rdn",
    "rrdbnet",
    "dilated_sr",
]
#: Those whose paper preset takes RGB pictures; the others take luma (Y).
RGB = ("edsr", "rdn", "rrdbnet", "srresnet")
