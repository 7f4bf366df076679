"""Networks of the review section 3.4 (natural images), one module per paper family.

Each module registers its builder with :func:`medsr.models.registry.register_model`; importing
them here (explicitly, no scanning) fills the registry.
"""

from medsr.models.natural import (  # noqa: F401
    ddpn,
    dilated,
    drcn,
    drrn,
    edsr,
    enhancenet,
    espcn,
    fsrcnn,
    gradient_prior,
    lapsrn,
    rdn,
    rrdb,
    srcnn,
    srdensenet,
    srfeat,
    srresnet,
    vdsr,
)
