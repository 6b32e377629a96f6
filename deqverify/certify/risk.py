"""Certified enclosures of the empirical risk and its IFT gradient (FP-2), scalar DEQs.

R(θ) = (1/n)·Σᵢ (yᵢ − tᵢ)²,  ∇R(θ) = (2/n)·Σᵢ (yᵢ − tᵢ)·cᵢ·(xᵢ, yᵢ),  cᵢ = σ'(uᵢ)/(1 − θ₂σ'(uᵢ)),

with yᵢ the root of y = σ(θ₁ᵀxᵢ + θ₂y) and uᵢ = θ₁ᵀxᵢ + θ₂yᵢ. Every yᵢ comes from a proved
enclosure (:func:`deqverify.certify.scalar.fixed_point`), σ' is enclosed on the pre-activation
interval it spans, and c is increasing in σ' (dc/dσ' = 1/(1 − θ₂σ')² > 0 where 1 − θ₂σ' ≠ 0,
which the root's certificate proved), so c lies between its values at the two ends of σ'.
The rest is Arb arithmetic on the exact float64 inputs: the enclosure holds the exact R and
∇R at the float64 θ. A sample that cannot be certified makes the whole risk uncertified,
with that sample's reason.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from deqverify.certify.balls import hull, slope_bounds
from deqverify.certify.scalar import _floats, _offset_ball, _pre_activation, _precision, finite_rows_of, fixed_point
from deqverify.core.errors import InvalidInputError
from deqverify.core.validation import _as_float_array, as_theta


@dataclass(frozen=True)
class RiskEnclosure:
    """[value_low, value_high] ∋ R(θ) and gradient[j] = (low, high) ∋ ∂R/∂θⱼ, proved when
    ``certified``; otherwise ``reason`` says why (and the bounds are NaN)."""

    value: tuple[float, float]
    gradient: np.ndarray
    certified: bool
    reason: str = ""
    exact: tuple | None = field(default=None, repr=False, compare=False)
    """(R, [∂R/∂θⱼ]) as the Arb balls the bounds were rounded from (128 bits), when kept."""

    @property
    def gradient_radius(self) -> float:
        """The widest half-width of the gradient's components."""
        return float(np.max(self.gradient[:, 1] - self.gradient[:, 0]) / 2)

    def gradient_distance(self, gradient) -> tuple[float, float]:
        """(nearest, farthest) ∞-norm distance from ``gradient`` to the points of the box: the
        exact ∇R is proved to be at least the first and at most the second away."""
        low, high = self.gradient[:, 0], self.gradient[:, 1]
        g = np.asarray(gradient, dtype=float)
        nearest = np.maximum(np.maximum(low - g, g - high), 0.0)
        farthest = np.maximum(np.abs(g - low), np.abs(g - high))
        return float(np.max(nearest)), float(np.max(farthest))

    def balls(self):
        """(R, [∂R/∂θⱼ]) as Arb balls (for identities built on them): the 128-bit balls where
        kept, else the float64 bounds (wider by their outward rounding)."""
        if self.exact is not None:
            return self.exact
        from flint import arb
        return hull(arb(self.value[0]), arb(self.value[1])), [hull(arb(lo), arb(hi)) for lo, hi in self.gradient]


def proved(value, gradient) -> RiskEnclosure:
    """The certified RiskEnclosure of the balls R and [∂R/∂θⱼ], keeping them; uncertified if a
    ball is not finite (a NaN or unbounded input never makes a certificate)."""
    if not (value.is_finite() and all(g.is_finite() for g in gradient)):
        return _uncertified(len(gradient), "an enclosure is not finite (a non-finite or overflowing input)")
    return RiskEnclosure(_floats(value, value), np.array([_floats(g, g) for g in gradient]), True,
                         exact=(value, list(gradient)))


def _uncertified(size: int, reason: str) -> RiskEnclosure:
    return RiskEnclosure((math.nan, math.nan), np.full((size, 2), math.nan), False, reason)


def _factor_bounds(theta2: float, s_low, s_high):
    """c = s/(1 − θ₂s) at both ends of the slope interval (c is increasing in s)."""
    from flint import arb
    t2 = arb(theta2)
    return hull(s_low / (1 - t2 * s_low), s_high / (1 - t2 * s_high))


def empirical_risk(theta, X, targets, activation: str, answers=None) -> RiskEnclosure:
    """Proved enclosures of the scalar DEQ's empirical risk R(θ) and its gradient ∇R(θ)
    (FP-2 through the implicit function theorem) at the exact float64 θ.

    ``answers``: the float64 fixed points to certify around (default: deqverify's solver).
    Uncertified — never a false enclosure — when a root cannot be proved (NaN row, a tangency,
    a box that does not contract) or 1 − θ₂σ' is not bounded away from 0 on its enclosure."""
    given, (X, _) = X, finite_rows_of(X)  # a NaN row is an uncertified sample, not an error
    theta = as_theta(theta, X.shape[1])
    targets = _as_float_array(targets, "targets").reshape(-1)
    if targets.size != X.shape[0]:
        raise InvalidInputError(f"targets has {targets.size} values for {X.shape[0]} rows of X; "
                                "pass one target per row")
    size = theta.size
    if not np.all(np.isfinite(targets)):
        return _uncertified(size, "a target is not finite")
    roots = fixed_point(theta, given, activation, answers)
    for index, root in enumerate(roots):
        if not root.certified:
            return _uncertified(size, f"the fixed point of sample {index} is not certified: {root.reason}")
    from flint import arb
    with _precision():
        theta2 = float(theta[-1])
        value, gradient = arb(0), [arb(0) for _ in range(size)]
        for x, target, root in zip(X, targets, roots):
            offset = _offset_ball(theta[:-1], x)
            y = hull(arb(root.low), arb(root.high))
            s_low, s_high = slope_bounds(activation, *_pre_activation(offset, theta2, arb(root.low), arb(root.high)))
            if not ((1 - arb(theta2) * s_low) * (1 - arb(theta2) * s_high) > 0):
                return _uncertified(size, "1 − θ₂σ'(u) is not bounded away from 0 at a certified root")
            error = y - arb(float(target))
            value += error * error  # not error ** 2: Arb's power of a ball holding 0 is NaN
            weight = 2 * error * _factor_bounds(theta2, s_low, s_high)
            for j, feature in enumerate(x):
                gradient[j] += weight * arb(float(feature))
            gradient[-1] += weight * y
        n = arb(X.shape[0])
        return proved(value / n, [g / n for g in gradient])


def linear_population_risk(theta, second_moment, xi) -> RiskEnclosure:
    """Proved enclosures of the linear DEQ's population risk and gradient (closed form):
    φ = θ₁/(1 − θ₂), r = φ − ξ, R = rᵀΣr, ∇R = (2/(1 − θ₂))·(Σr, φᵀΣr), with Σ = E[xxᵀ]
    given as exact floats or as Arb balls (a uniform law's (l² + lh + h²)/3 is not a float).
    Uncertified at θ₂ = 1 (the singular set, where φ is undefined)."""
    from flint import arb
    theta = np.asarray(theta, dtype=float)
    if theta[-1] == 1.0 or not np.all(np.isfinite(theta)):
        return _uncertified(theta.size, "θ₂ = 1 or a non-finite θ: the linear risk is undefined there")
    with _precision():
        gap = 1 - arb(float(theta[-1]))
        phi = [arb(float(v)) / gap for v in theta[:-1]]
        residual = [p - arb(float(x)) for p, x in zip(phi, xi)]
        Sigma = [[entry if isinstance(entry, arb) else arb(float(entry)) for entry in row] for row in second_moment]
        Sigma_r = [sum((s * r for s, r in zip(row, residual)), arb(0)) for row in Sigma]
        value = sum((r * s for r, s in zip(residual, Sigma_r)), arb(0))
        gradient = [2 * s / gap for s in Sigma_r] + [2 * sum((p * s for p, s in zip(phi, Sigma_r)), arb(0)) / gap]
        return proved(value, gradient)
