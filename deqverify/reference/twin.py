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

    def g(y):
        return y - activation.mp_f(a + t * y)

    y0 = activation.mp_f(a)
    reach = abs(g(y0)) / m * (1 + mpmath.mpf(10) ** -6)
    if reach == 0:
        return y0
    return mpmath.findroot(g, (y0 - reach, y0 + reach), solver="illinois", maxsteps=2000)


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
