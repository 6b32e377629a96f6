"""mpmath reference for population risks (linear closed form, single-index by ``mp.quad``).

Single-index, X ~ N(0, Σ): the same Σ-orthonormal decomposition a = s·W₁, V = ρW₁ + τW₂ as
:mod:`deqverify.core.population`, the outer integral over the pre-activation u (a = u − θ₂σ(u),
da = (1 − θ₂σ'(u))du, an exact substitution) and the inner moments over W₂, all by
``mp.quad`` (tanh-sinh), at the enclosing working precision.
"""

from __future__ import annotations

import mpmath
import numpy as np

from deqverify.reference.precision import to_mp
from deqverify.reference.twin import fixed_point


def linear_population_risk(theta, Sigma, xi):
    """R = ‖φ − ξ‖²_Σ, ∇R = (2/(1−θ₂))(Σ(φ−ξ), φᵀΣ(φ−ξ)), φ = θ₁/(1−θ₂), in mpmath."""
    theta = [to_mp(v) for v in theta]
    S = mpmath.matrix([[to_mp(v) for v in row] for row in np.asarray(Sigma)])
    gap = 1 - theta[-1]
    residual = mpmath.matrix([t / gap - to_mp(x) for t, x in zip(theta[:-1], xi)])
    S_residual = S * residual
    value = (residual.T * S_residual)[0]
    phi = mpmath.matrix([t / gap for t in theta[:-1]])
    gradient = [2 * v / gap for v in S_residual] + [2 * (phi.T * S_residual)[0] / gap]
    return value, gradient


def gaussian_single_index_risk(theta, Sigma, xi, activation):
    """(R, ∇R) for X ~ N(0, Σ), single-index DEQ; requires θ₁ ≠ 0 in the Σ-metric.

    Seconds when θ₁ ∥ ξ (one-dimensional), minutes otherwise (nested quadrature).
    """
    f, df = activation.mp_f, activation.mp_df
    S = mpmath.matrix([[to_mp(v) for v in row] for row in np.asarray(Sigma)])
    t1 = mpmath.matrix([to_mp(v) for v in theta[:-1]])
    t2 = to_mp(theta[-1])
    x = mpmath.matrix([to_mp(v) for v in xi])
    s = mpmath.sqrt((t1.T * S * t1)[0])
    b1 = t1 / s
    rho = (x.T * S * b1)[0]
    rest = x - rho * b1
    tau = mpmath.sqrt(max((rest.T * S * rest)[0], 0))
    # Dropping τ ≤ 1e-12·‖ξ‖_Σ changes R by O(τ²·sup|σ''|) ≤ 1e-24 (float θ₁ = αξ is
    # parallel only up to rounding, which would otherwise force the slow nested quadrature).
    if tau <= mpmath.mpf("1e-12") * mpmath.sqrt((x.T * S * x)[0]):
        tau = mpmath.mpf(0)
    b2 = rest / tau if tau else rest * 0
    gauss = mpmath.npdf

    def inner(mean, power, weight_by_w):
        if tau == 0:  # θ₁ ∥ ξ: V = ρW₁ exactly
            return 0 if weight_by_w else f(mean) ** power

        def integrand(w):
            value = f(mean + tau * w) ** power
            return value * gauss(w) * (w if weight_by_w else 1)
        return mpmath.quad(integrand, [-mpmath.inf, -3, 0, 3, mpmath.inf])

    def outer(kind):
        def integrand(u):
            y, slope = f(u), df(u)
            a = u - t2 * y
            w1 = a / s
            density = gauss(w1) / s * (1 - t2 * slope)
            factor = slope / (1 - t2 * slope)
            m0 = inner(rho * w1, 1, False)
            if kind == "value":
                return density * (y * y - 2 * y * m0 + inner(rho * w1, 2, False))
            if kind == "w1":
                return density * factor * w1 * (y - m0)
            if kind == "w2":
                return density * factor * (-inner(rho * w1, 1, True))
            return density * factor * y * (y - m0)

        # u-range covering |a| ≤ 12 s (u = a + θ₂y(a) is increasing in a), split where σ
        # turns (|u| ≤ 40) and where the teacher does (|ρ·w₁| ≤ 40): tanh-sinh on 8 equal
        # pieces alone misses a transition much narrower than a piece (‖θ₁‖_Σ ≫ 1, |ρ| ≫ 1)
        def u_of(a):
            return a + t2 * fixed_point(a, float(t2), activation)

        ends = [u_of(a) for a in (-12 * s, 12 * s)]
        points = list(mpmath.linspace(ends[0], ends[1], 9)) + [-40, -5, 0, 5, 40]
        if rho:
            points += [u_of(sign * k * s / abs(rho)) for k in (1, 5, 40) for sign in (-1, 1)]
        return mpmath.quad(integrand, sorted({p for p in points if ends[0] <= p <= ends[1]}))

    value = outer("value")
    g1 = 2 * (S * (b1 * outer("w1") + b2 * outer("w2")))
    return value, [g1[i] for i in range(len(xi))] + [2 * outer("theta2")]


def uniform_single_index_risk(theta, low, high, xi, activation):
    """(R, ∇R) for X ~ U[low, high], d = 1, single-index DEQ, θ₁ ≠ 0; outer integral in u."""
    f, df = activation.mp_f, activation.mp_df
    t1, t2, x_teacher = to_mp(theta[0]), to_mp(theta[1]), to_mp(xi[0])
    low, high = to_mp(low), to_mp(high)

    def integrate(kind):
        def integrand(u):
            y, slope = f(u), df(u)
            x = (u - t2 * y) / t1
            density = (1 - t2 * slope) / (abs(t1) * (high - low))
            factor = slope / (1 - t2 * slope)
            error = y - f(x_teacher * x)
            return density * {"value": error * error, "theta1": 2 * error * factor * x,
                              "theta2": 2 * error * factor * y}[kind]

        ends = [a + t2 * fixed_point(a, float(t2), activation) for a in (t1 * low, t1 * high)]
        return mpmath.quad(integrand, sorted(ends))

    return integrate("value"), [integrate("theta1"), integrate("theta2")]



def linear_flow(theta0, Sigma, xi, t_end):
    """θ(t_end) of the linear-DEQ population gradient flow θ' = −∇R(θ), by ``mp.odefun``
    (a Taylor-series integrator at the working precision): a short high-precision rerun."""
    def velocity(_, theta):
        return [-g for g in _linear_gradient_mp(theta, Sigma, xi)[1]]

    solution = mpmath.odefun(velocity, 0, [to_mp(v) for v in theta0])
    return solution(to_mp(t_end))


def _linear_gradient_mp(theta, Sigma, xi):
    """∇R at an mpf θ (no rounding to float64): (2/(1−θ₂))(Σ(φ−ξ), φᵀΣ(φ−ξ))."""
    S = mpmath.matrix([[to_mp(v) for v in row] for row in np.asarray(Sigma)])
    gap = 1 - theta[-1]
    phi = mpmath.matrix([v / gap for v in theta[:-1]])
    residual = S * (phi - mpmath.matrix([to_mp(v) for v in xi]))
    return None, [2 * v / gap for v in residual] + [2 * (phi.T * residual)[0] / gap]
