"""Plain mpmath statements of the math, no cleverness: the reference twin of the float64 core.

Per sample: the fixed point y of y = σ(a + θ₂y) by bracketed ``findroot``; the exact IFT
Jacobian ∇_θ y = σ'(u)/(1 − θ₂σ'(u))·(x, y) (FP-2); the empirical risk and its gradient.
Every function takes float64 inputs (converted exactly) and works at the precision of the
enclosing :func:`~deqverify.reference.precision.working_precision` block.
"""

from __future__ import annotations

import mpmath
import numpy as np

from deqverify.core.activations import Activation
from deqverify.core.errors import InvalidInputError
from deqverify.core.solve import slope_lower_bound
from deqverify.reference.precision import to_mp


BISECTION_STEPS = 20_000
"""Enough halvings to go from a bracket of 10³⁰⁸ to a relative 10⁻⁴⁰⁰ (≈ 2 400 are needed)."""
POLISH_STEPS = 8
"""Newton steps after the bracketed solve (quadratic from its answer: 2 or 3 suffice)."""


def _require_twin(activation: Activation) -> None:
    if activation.mp_f is None or activation.mp_df is None:
        raise InvalidInputError(
            f"activation {activation.name!r} has no mpmath twin; construct it with mp_f and "
            "mp_df to use the reference"
        )


def fixed_point(offset, theta2: float, activation: Activation):
    """The root y of y = σ(a + θ₂y) as an mpf, for a = ``offset``.

    Bracket: with y₀ = σ(a) and g' ≥ m (see :mod:`deqverify.core.solve`) the root lies within
    |g(y₀)|/m of y₀; the bracket is widened by one part in 10⁶ so that it holds strictly.
    """
    _require_twin(activation)
    a, t = (offset if isinstance(offset, mpmath.mpf) else to_mp(offset)), to_mp(theta2)
    if activation.closed_form is not None:
        activation.closed_form(np.zeros(1), float(theta2))  # raises where ill-posed
        return activation.mp_f(a) / (1 - t)  # identity: a/(1−θ₂); ReLU: relu(a)/(1−θ₂)
    m = to_mp(slope_lower_bound(theta2, activation))
    # at θ₂L ≪ −1 the root has u = a + θ₂y = O(1) while a and θ₂y are large: evaluating u
    # cancels about log10(|θ₂|L) digits, which are added to the working precision
    extra = int(mpmath.log10(1 + abs(t) * to_mp(activation.lipschitz))) + 10 if theta2 < 0 else 0
    with mpmath.workdps(mpmath.mp.dps + extra):

        def g(y):
            return y - activation.mp_f(a + t * y)

        y0 = activation.mp_f(a)
        reach = abs(g(y0)) / m * (1 + mpmath.mpf(10) ** -6)
        if reach == 0:
            return +y0
        try:
            y = mpmath.findroot(g, (y0 - reach, y0 + reach), solver="illinois", maxsteps=2000)
        except ValueError:  # a bracket spanning many decades around a tiny root (θ₂ ≪ 0)
            y = activation.mp_f(_preactivation_root(a, t, activation))
        # findroot stops on an absolute test; at θ₂ ≪ 0 the root is ~1/|θ₂| (2.5e-43 at
        # θ₂ = −4e44, where it was 4e-13 off relatively): polish by Newton to relative precision
        for _ in range(POLISH_STEPS):
            step = g(y) / (1 - t * activation.mp_df(a + t * y))
            y -= step
            if abs(step) <= 4 * mpmath.eps * abs(y):
                break
    return +y  # rounded to the caller's precision


def _preactivation_root(a, t, activation: Activation):
    """u* with u = a + θ₂σ(u) by bisection (θ₂ < 0: h(u) = u − a − θ₂σ(u) has h' ≥ 1, so
    the root lies between a and a − h(a)), to relative precision."""
    def h(u):
        return u - a - t * activation.mp_f(u)

    low, high = sorted((a, a - h(a)))
    for _ in range(BISECTION_STEPS):
        middle = (low + high) / 2
        if middle in (low, high) or high - low <= 4 * mpmath.eps * max(abs(low), abs(high)):
            break
        if h(middle) <= 0:
            low = middle
        else:
            high = middle
    return (low + high) / 2


def output_and_jacobian(theta, x, activation: Activation):
    """(y, ∇_θ y) at one sample x: ∇_θ y = σ'(u)/(1 − θ₂σ'(u))·(x, y)  (FP-2)."""
    theta_mp = [to_mp(v) for v in theta]
    x_mp = [to_mp(v) for v in x]
    theta2 = theta_mp[-1]
    offset = mpmath.fsum(t * v for t, v in zip(theta_mp[:-1], x_mp))
    y = fixed_point(offset, float(theta[-1]), activation)
    slope = activation.mp_df(offset + theta2 * y)
    factor = slope / (1 - theta2 * slope)
    return y, [factor * v for v in x_mp] + [factor * y]


def risk_and_gradient(theta, X, targets, activation: Activation):
    """R(θ) = (1/n)Σ(yᵢ − tᵢ)² and ∇R = (2/n)Σ(yᵢ − tᵢ)∇_θ yᵢ, as mpf values."""
    n = len(X)
    loss = mpmath.mpf(0)
    gradient = [mpmath.mpf(0)] * len(theta)
    for x, target in zip(X, targets):
        y, jacobian = output_and_jacobian(theta, x, activation)
        error = y - to_mp(target)
        loss += error * error
        gradient = [g + 2 * error * j for g, j in zip(gradient, jacobian)]
    return loss / n, [g / n for g in gradient]
