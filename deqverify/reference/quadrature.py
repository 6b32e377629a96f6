"""An independent float64 reference for single-index population risks: adaptive quadrature
(``scipy.integrate.quad_vec``) in the *data* coordinates, with the fixed point of every node
found by bracketed bisection (:mod:`.bracket`).

The core (:mod:`deqverify.core.population`) substitutes the pre-activation u and uses nested
trapezoid rules; this module shares neither the substitution, nor the rule, nor σ:

* X ~ U[l, h] (d = 1): R = (1/(h−l))∫ (y(θ₁x) − σ(ξx))² dx, adaptive in x;
* X ~ N(0, Σ): with the Σ-orthonormal pair a = θ₁ᵀX = s·W₁ and V = ξᵀX = ρW₁ + τW₂, the outer
  integral over W₁ is adaptive on [−12, 12] (mass beyond < 4e-33, breakpoints where σ and
  the teacher turn) and the inner one over W₂ is Gauss–Hermite with
  :data:`HERMITE_NODES` nodes (probabilists' weight), whose error is estimated by the rule
  of half the order.

Each integral returns scipy's error estimate next to the value, so a comparison can allow
for the reference's own error.
"""

from __future__ import annotations

import numpy as np
from scipy.integrate import quad_vec
from scipy.special import roots_hermitenorm

from deqverify.reference import bracket

HERMITE_NODES = 400
"""Gauss–Hermite order for E[g(μ + τW₂)]. σ is analytic only in a strip (tanh: poles at
distance π/2), so the error decays like exp(−c·√nodes): measured 1e-8 at 160 nodes for
tanh with τ ≈ 1.2, hence 400 nodes and the 200-node rule as the error estimate."""
EPSABS, EPSREL = 1e-14, 1e-12
OUTER_RANGE = 12.0


def _gradient_terms(theta, a, y, activation, target, target_sq, mean_x, mean_target_x):
    """Integrand of (R, ∇R) at one value of a = θ₁ᵀx, given E[f], E[f²], E[X], E[fX]."""
    theta2 = float(theta[-1])
    factor = bracket.output_jacobian_factor(y, a, theta2, activation)
    value = y * y - 2.0 * y * target + target_sq
    gradient1 = 2.0 * factor * (y * mean_x - mean_target_x)
    gradient2 = 2.0 * factor * y * (y - target)
    return np.r_[value, gradient1, gradient2]


def uniform_risk(theta, low: float, high: float, xi, activation: str):
    """((R, ∇R) as one vector, error estimate) for X ~ U[low, high], d = 1."""
    theta = np.asarray(theta, dtype=float)
    xi0 = float(np.asarray(xi).ravel()[0])

    def integrand(x):
        a = np.array([theta[0] * x])
        y = bracket.fixed_points(a, theta[-1], activation)[0]
        f = float(bracket.value(activation, np.array([xi0 * x]))[0])
        return _gradient_terms(theta, a[0], y, activation, f, f * f, np.array([x]), np.array([f * x]))

    # breakpoints where σ(θ₁x) and the teacher σ(ξx) turn (|·| ≤ 40): an adaptive rule
    # sampling a smooth-looking interval coarsely can step over a transition of width 1e-3
    total, error = quad_vec(integrand, low, high, epsabs=EPSABS, epsrel=EPSREL, norm="max",
                            points=_turning_points((theta[0], xi0), low, high))
    return total / (high - low), error / (high - low)


def _turning_points(scales, low, high) -> list[float] | None:
    """The points x in (low, high) with k·x ∈ linspace(−40, 40, 33) for each nonzero scale k:
    where σ(k·x) turns, for ``quad_vec``'s ``points`` (None if there are none)."""
    with np.errstate(over="ignore"):  # a subnormal k puts its points at ±inf: outside
        turns = [t / k for k in scales if k != 0 for t in np.linspace(-40.0, 40.0, 33)]
    return sorted({float(p) for p in turns if low < p < high}) or None


def gaussian_risk(theta, Sigma, xi, activation: str):
    """((R, ∇R) as one vector, error estimate) for X ~ N(0, Σ); needs θ₁ ≠ 0 in Σ."""
    theta = np.asarray(theta, dtype=float)
    Sigma, xi = np.asarray(Sigma, dtype=float), np.asarray(xi, dtype=float)
    theta1 = theta[:-1]
    s = float(np.sqrt(theta1 @ Sigma @ theta1))
    b1 = theta1 / s
    rho = float(xi @ Sigma @ b1)
    rest = xi - rho * b1
    tau = float(np.sqrt(max(rest @ Sigma @ rest, 0.0)))
    b2 = rest / tau if tau > 0 else np.zeros_like(xi)
    rules = [roots_hermitenorm(n) for n in (HERMITE_NODES, HERMITE_NODES // 2)]
    rules = [(z, w / np.sqrt(2.0 * np.pi)) for z, w in rules]
    Sigma_b1, Sigma_b2 = Sigma @ b1, Sigma @ b2

    def integrand(w1):
        a = np.array([s * w1])
        y = bracket.fixed_points(a, theta[-1], activation)[0]
        density = np.exp(-0.5 * w1 * w1) / np.sqrt(2.0 * np.pi)
        parts = []
        for z, w in rules:
            f = bracket.value(activation, rho * w1 + tau * z)
            target, target_sq, target_z = f @ w, (f * f) @ w, (f * z) @ w
            mean_x = w1 * Sigma_b1  # E[X | W₁] (W₂ has mean zero)
            mean_target_x = target * w1 * Sigma_b1 + target_z * Sigma_b2
            parts.append(density * _gradient_terms(theta, a[0], y, activation, target,
                                                   target_sq, mean_x, mean_target_x))
        return np.concatenate(parts)

    # w₁ beyond ±12 carries mass < 4e-33; breakpoints where σ(s·w₁) and the teacher turn
    both, error = quad_vec(integrand, -OUTER_RANGE, OUTER_RANGE, epsabs=EPSABS, epsrel=EPSREL,
                           norm="max", points=_turning_points((s, rho), -OUTER_RANGE, OUTER_RANGE))
    fine, coarse = np.split(both, 2)
    return fine, error + float(np.max(np.abs(fine - coarse)))
