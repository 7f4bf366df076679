"""Noise models: the ``+ n`` of the forward model ``g = A f + n`` (review eq. 3).

* :class:`GaussianNoise`: additive white Gaussian noise.
* :class:`RicianNoise`: the noise of MR magnitude images. The complex MR signal carries independent
  Gaussian noise of the same ``sigma`` on its real and imaginary parts; the magnitude
  ``|f + n_1 + i n_2|`` follows a Rice distribution (Gudbjartsson & Patz, "The Rician distribution
  of noisy MRI data", MRM 34, 1995). At zero signal its mean is ``sigma sqrt(pi / 2)``, not 0.
* :class:`PoissonNoise`: photon counting. ``model="scaled"`` (generic images, e.g. nuclear
  medicine or microscopy): the image is scaled so that its maximum is ``counts`` photons, Poisson
  counts are drawn and scaled back. ``model="ct"`` (low-dose CT, image domain): a voxel of
  ``HU`` has attenuation ``mu = mu_water (1 + HU / 1000)``; a ray of ``path_mm`` through that
  material transmits ``N ~ Poisson(I0 exp(-mu L))`` of ``I0 = counts`` photons; the measured
  ``mu = -ln(N / I0) / L`` is converted back to HU. This is a crude image-domain stand-in for a
  projection-domain (sinogram) simulation: the noise level follows the dose (``~ 1 / sqrt(I0)``)
  and grows with attenuation, but it is white, not the streaky texture of filtered
  back-projection. ``N = 0`` is replaced by 1/2 photon (a common log guard).

``sigma`` is relative by default: a fraction of the intensity range (max - min) of the array it is
applied to (``relative=False``: intensity units). With patch-wise degradation the range is the
patch's; give the reference explicitly (``intensity_range=`` for Gaussian/Rician, ``reference=``,
the peak, for scaled Poisson), or call :meth:`~medsr.degrade.base.Degradation.with_reference`, for
the level of the whole volume. As in deepinv, where a ``NoiseModel`` is separate from the
``Physics``, noise is a model of its own, composed after ``A`` in a :class:`Pipeline`. Noise is
drawn from the ``rng`` given at call time (seeded => reproducible).
"""

from __future__ import annotations

import numpy as np

from medsr.degrade.base import Degradation, RngLike, as_generator, check_array, float_dtype
from medsr.errors import MedsrError

__all__ = ["MU_WATER_PER_MM", "GaussianNoise", "PoissonNoise", "RicianNoise"]

#: linear attenuation of water at ~70 keV (NIST XCOM, 0.193 cm^2/g), per mm.
MU_WATER_PER_MM = 0.0193


def _check_level(value: float, name: str) -> float:
    value = float(value)
    if not np.isfinite(value) or value < 0:
        raise MedsrError(f"{name} must be a number >= 0, got {value}")
    return value


def _noise_sd(
    x: np.ndarray, sigma: float, relative: bool, intensity_range: float | None = None
) -> float:
    if not relative:
        return sigma
    if intensity_range is not None:
        return sigma * intensity_range
    span = float(np.max(x) - np.min(x)) if x.size else 0.0
    return sigma * span


class _LevelNoise(Degradation):
    """Shared by the additive noises: a level ``sigma``, relative to an intensity range or not.

    Args:
        sigma: noise level, a fraction of the intensity range (``relative=True``) or in intensity
            units (``relative=False``).
        relative: see ``sigma``.
        intensity_range: the range a relative ``sigma`` refers to (default: the range of the
            array the noise is applied to).
    """

    stochastic = True

    def __init__(
        self, sigma: float, *, relative: bool = True, intensity_range: float | None = None
    ) -> None:
        self.sigma = _check_level(sigma, "the noise sigma")
        self.relative = bool(relative)
        if intensity_range is not None:
            intensity_range = _check_level(intensity_range, "the reference intensity range")
        self.intensity_range = intensity_range

    def with_reference(self, intensity_range: float, peak: float) -> Degradation:
        """A relative level referred to ``intensity_range`` (the range of the whole volume)."""
        if not self.relative or self.intensity_range is not None:
            return self
        return type(self)(self.sigma, relative=True, intensity_range=intensity_range)

    def _draw_setup(
        self, x: np.ndarray, rng: RngLike
    ) -> tuple[np.ndarray, np.dtype, np.floating, np.random.Generator]:
        """The checked array, its working dtype, the noise standard deviation in that dtype and
        the generator to draw from."""
        x = check_array(x)
        dtype = float_dtype(x)
        sd = dtype.type(_noise_sd(x, self.sigma, self.relative, self.intensity_range))
        return x, dtype, sd, as_generator(rng)

    def _params(self) -> dict[str, object]:
        params: dict[str, object] = {"sigma": self.sigma, "relative": self.relative}
        if self.relative and self.intensity_range is not None:
            params["intensity_range"] = self.intensity_range
        return params


class GaussianNoise(_LevelNoise):
    """Additive white Gaussian noise of standard deviation ``sigma``: a fraction of the intensity
    range (``relative=True``; the range is ``intensity_range``, default the array's own) or in
    intensity units (``relative=False``)."""

    def apply_array(self, x: np.ndarray, rng: RngLike = None) -> np.ndarray:
        x, dtype, sd, gen = self._draw_setup(x, rng)
        out = gen.standard_normal(size=x.shape, dtype=dtype)
        out *= sd
        out += x
        return out


class RicianNoise(_LevelNoise):
    """Rician noise: the magnitude of the signal plus complex Gaussian noise (Gudbjartsson & Patz
    1995). ``sigma`` is the standard deviation of each of the real and imaginary parts, relative
    or not as for :class:`GaussianNoise`.
    """

    def apply_array(self, x: np.ndarray, rng: RngLike = None) -> np.ndarray:
        x, dtype, sd, gen = self._draw_setup(x, rng)
        real = gen.standard_normal(size=x.shape, dtype=dtype)
        real *= sd
        real += x
        imag = gen.standard_normal(size=x.shape, dtype=dtype)
        imag *= sd
        return np.hypot(real, imag, out=real)


class PoissonNoise(Degradation):
    """Photon-counting (Poisson) noise; see the module docstring for both models.

    Args:
        counts: expected photons: at the image maximum (``model="scaled"``) or the unattenuated
            beam ``I0`` per ray (``model="ct"``; 1e4 to 1e6, lower = lower dose).
        model: "scaled" (generic non-negative images) or "ct" (data in Hounsfield units).
        reference: ``scaled`` only: the intensity that gets ``counts`` photons (default: the
            array's maximum).
        path_mm: ``ct`` only: the effective ray length L in mm (default 200, a head/abdomen).
        mu_water: ``ct`` only: attenuation of water per mm.
    """

    stochastic = True

    def __init__(
        self,
        counts: float,
        *,
        model: str = "scaled",
        reference: float | None = None,
        path_mm: float = 200.0,
        mu_water: float = MU_WATER_PER_MM,
    ) -> None:
        counts = float(counts)
        if not np.isfinite(counts) or counts <= 0:
            raise MedsrError(f"the photon count must be a positive number, got {counts}")
        if model not in ("scaled", "ct"):
            raise MedsrError(f"unknown Poisson noise model {model!r}; choose scaled or ct")
        if not (np.isfinite(path_mm) and path_mm > 0 and np.isfinite(mu_water) and mu_water > 0):
            raise MedsrError("path_mm and mu_water must be positive numbers")
        if reference is not None and not (np.isfinite(reference) and reference > 0):
            raise MedsrError(f"the reference intensity must be positive, got {reference}")
        self.counts = counts
        self.model = model
        self.reference = reference
        self.path_mm = float(path_mm)
        self.mu_water = float(mu_water)

    def with_reference(self, intensity_range: float, peak: float) -> Degradation:
        """Scaled counts referred to ``peak`` (the maximum of the whole volume) when no reference
        was given; a non-positive peak keeps the array's own maximum."""
        if self.model != "scaled" or self.reference is not None or not peak > 0:
            return self
        return PoissonNoise(
            self.counts,
            model=self.model,
            reference=peak,
            path_mm=self.path_mm,
            mu_water=self.mu_water,
        )

    def apply_array(self, x: np.ndarray, rng: RngLike = None) -> np.ndarray:
        x = check_array(x)
        dtype = float_dtype(x)
        gen = as_generator(rng)
        xf = x.astype(np.float64)
        if self.model == "scaled":
            ref = (
                float(self.reference)
                if self.reference is not None
                else float(np.max(xf, initial=0.0))
            )
            if ref <= 0:
                return x.astype(dtype, copy=True)  # an all-zero (or negative) image has no photons
            lam = np.clip(xf, 0.0, None) * (self.counts / ref)
            return (gen.poisson(lam) * (ref / self.counts)).astype(dtype)
        mu = np.clip(self.mu_water * (1.0 + xf / 1000.0), 0.0, None)
        expected = self.counts * np.exp(-mu * self.path_mm)
        n = gen.poisson(expected).astype(np.float64)
        n = np.where(n > 0, n, 0.5)
        mu_hat = -np.log(n / self.counts) / self.path_mm
        return (1000.0 * (mu_hat / self.mu_water - 1.0)).astype(dtype)

    def _params(self) -> dict[str, object]:
        params: dict[str, object] = {"counts": self.counts, "model": self.model}
        if self.model == "scaled" and self.reference is not None:
            params["reference"] = self.reference
        if self.model == "ct":
            params.update(path_mm=self.path_mm, mu_water=self.mu_water)
        return params
