"""Data distributions: Gaussian X ~ N(0, Σ) and uniform X ~ U[a, b] (d = 1).

Σ = E[XXᵀ] is the second-moment matrix of docs/theorems.md; λ_min and λ_max its extreme
eigenvalues. A rank-deficient Σ is accepted and flagged (`rank_deficient`): the linear
theorems LIN-ORTH and T3.1 still apply, while β of L3.2 and the PL constant need Σ ≻ 0.
"""

from __future__ import annotations

import numpy as np

from deqverify.core.errors import InvalidInputError
from deqverify.core.validation import _as_float_array, _require_finite

PSD_TOLERANCE = 64 * np.finfo(np.float64).eps
"""Eigenvalues above −64·eps·λ_max count as zero (rounding of a PSD matrix), below as negative."""


class GaussianPopulation:
    """X ~ N(0, Σ) with Σ symmetric positive semi-definite.

    Attributes
    ----------
    Sigma : ndarray (d, d)
    eigenvalues : ndarray (d,), ascending; those within rounding (≤ 64·eps·λ_max) set to 0
    lambda_min, lambda_max : float
    rank_deficient : bool
    """

    def __init__(self, Sigma):
        Sigma = _as_float_array(Sigma, "Sigma")
        if Sigma.ndim != 2 or Sigma.shape[0] != Sigma.shape[1] or Sigma.shape[0] == 0:
            raise InvalidInputError(f"Sigma must be a square (d, d) matrix, got shape {Sigma.shape}")
        _require_finite(Sigma, "Sigma")
        scale = max(float(np.abs(Sigma).max()), np.finfo(np.float64).tiny)
        if np.abs(Sigma - Sigma.T).max() > PSD_TOLERANCE * scale:
            raise InvalidInputError(
                "Sigma is not symmetric (max |Σ − Σᵀ| = "
                f"{np.abs(Sigma - Sigma.T).max():.3g}); pass (Σ + Σᵀ)/2")
        Sigma = 0.5 * (Sigma + Sigma.T)
        eigenvalues, eigenvectors = np.linalg.eigh(Sigma)
        if eigenvalues[0] < -PSD_TOLERANCE * max(eigenvalues[-1], scale):
            raise InvalidInputError(
                f"Sigma is not positive semi-definite (smallest eigenvalue {eigenvalues[0]:.3g}); "
                "a covariance must have eigenvalues ≥ 0")
        self.Sigma = Sigma
        negligible = eigenvalues <= PSD_TOLERANCE * max(eigenvalues[-1], 0.0)
        self.eigenvalues = np.where(negligible, 0.0, eigenvalues)
        self._eigenvectors = eigenvectors
        self.rank_deficient = bool(negligible[0])

    def __repr__(self):
        return (f"GaussianPopulation(d={self.dim}, λ_min={self.lambda_min:.3g}, "
                f"λ_max={self.lambda_max:.3g}, rank_deficient={self.rank_deficient})")

    @property
    def dim(self) -> int:
        return self.Sigma.shape[0]

    @property
    def second_moment(self) -> np.ndarray:
        """Σ = E[XXᵀ]."""
        return self.Sigma

    @property
    def lambda_min(self) -> float:
        return float(self.eigenvalues[0])

    @property
    def lambda_max(self) -> float:
        return float(self.eigenvalues[-1])

    def sample(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """n draws of X, shape (n, d), through the eigendecomposition (works when singular)."""
        root = self._eigenvectors * np.sqrt(self.eigenvalues)
        return rng.standard_normal((n, self.dim)) @ root.T


class UniformPopulation:
    """X ~ U[low, high] in d = 1 (the paper's experiments use U[0, 1])."""

    def __init__(self, low: float = 0.0, high: float = 1.0):
        numbers = all(isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool)
                      for v in (low, high))
        if not (numbers and np.isfinite(low) and np.isfinite(high) and low < high):
            raise InvalidInputError(f"UniformPopulation needs real numbers low < high, both finite; "
                                    f"got low={low!r}, high={high!r}")
        self.low, self.high = float(low), float(high)

    def __repr__(self):
        return f"UniformPopulation({self.low}, {self.high})"

    dim = 1

    @property
    def second_moment(self) -> np.ndarray:
        """E[X²] = (b³ − a³)/(3(b − a)) = (a² + ab + b²)/3 as a 1×1 matrix. The second form has
        no cancellation (a² + b² ≥ 2|ab|); the first loses all digits for a narrow law far from 0
        (b³ − a³ at a = 1e8, b − a = 1e-6 is 3e10 computed from terms of 1e24)."""
        a, b = self.low, self.high
        return np.array([[(a * a + a * b + b * b) / 3.0]])

    @property
    def lambda_min(self) -> float:
        return float(self.second_moment[0, 0])

    lambda_max = lambda_min

    rank_deficient = False

    def sample(self, n: int, rng: np.random.Generator) -> np.ndarray:
        return rng.uniform(self.low, self.high, size=(n, 1))
