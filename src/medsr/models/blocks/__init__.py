"""Building blocks shared by the networks: 2D/3D layer choice, up-samplers, residual/dense blocks."""
