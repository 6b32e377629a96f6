"""An independent float64 reference: per-sample bracketed roots (bisection), own formulas.

Nothing here calls the solver core or :mod:`deqverify.core.activations`: σ and σ' are written
again from :mod:`scipy.special`, and each root of g(y) = y − σ(a + θ₂y) is found by bisection
on a bracket that is grown until g changes sign. Wherever g is increasing (nondecreasing σ
with θ₂·L < 1, which includes every θ₂ ≤ 0, and the linear DEQ with θ₂ ≠ 1 by its closed
form) the root is unique and bisection cannot miss it, so a Newton, Picard or library
answer is compared with a value that shares no code with it.

Accuracy: bisection stops when the bracket is two adjacent floats or g vanishes, so the
reference is within one ulp of the float64 root *of the evaluated g*; that evaluated root is
within ≈ 2·eps·(|y| + |a|)·cond of the exact one, cond = 1/(1 − θ₂σ'(u)) (the checks that use
it add that allowance).
"""

from __future__ import annotations

import numpy as np
from scipy.special import expit

from deqverify.core.errors import InvalidInputError


def _tanh_slope(z):
    with np.errstate(over="ignore"):
        return 1.0 / np.cosh(z) ** 2


_FUNCTIONS = {
    "sigmoid": (expit, lambda z: expit(z) * expit(-z), 0.25),
    "tanh": (np.tanh, _tanh_slope, 1.0),
    "softplus": (lambda z: np.logaddexp(0.0, z), expit, 1.0),
}
"""name → (σ, σ', L) for the nondecreasing smooth activations, written independently."""

SUPPORTED = (*_FUNCTIONS, "identity")
_MAX_GROWTH = 2100  # doublings of the bracket half-width: from 2⁻¹⁰⁷⁴ past 2¹⁰²³
_MAX_BISECTIONS = 2200  # halvings from a width of 2¹⁰²⁴ down to adjacent floats


def _require(activation: str) -> None:
    if activation not in SUPPORTED:
        raise InvalidInputError(
            f"the bracketed reference knows {list(SUPPORTED)}, not {activation!r}; use the "
            "mpmath twin (deqverify.reference.fixed_point) for other activations")


def lipschitz(activation: str) -> float:
    """L = sup σ' of a supported activation (1 for the identity)."""
    _require(activation)
    return 1.0 if activation == "identity" else _FUNCTIONS[activation][2]


def value(activation: str, z) -> np.ndarray:
    """σ(z)."""
    _require(activation)
    z = np.asarray(z, dtype=np.float64)
    return z.copy() if activation == "identity" else _FUNCTIONS[activation][0](z)


def slope(activation: str, z) -> np.ndarray:
    """σ'(z)."""
    _require(activation)
    z = np.asarray(z, dtype=np.float64)
    return np.ones_like(z) if activation == "identity" else _FUNCTIONS[activation][1](z)


def fixed_points(offsets, theta2: float, activation: str) -> np.ndarray:
    """The root y of y = σ(a + θ₂y) for every offset a (vectorised bisection).

    Requires a unique root: θ₂ ≠ 1 for the identity, θ₂·L < 1 otherwise (all the built-in
    smooth σ are nondecreasing). Non-finite offsets give NaN.
    """
    _require(activation)
    a = np.asarray(offsets, dtype=np.float64)
    theta2 = float(theta2)
    if activation == "identity":
        if theta2 == 1.0:
            raise InvalidInputError("the linear DEQ has no unique root at θ₂ = 1")
        return a / (1.0 - theta2)
    sigma, _, lip = _FUNCTIONS[activation]
    if theta2 * lip >= 1.0:
        raise InvalidInputError(f"θ₂·L = {theta2 * lip:g} ≥ 1: the root need not be unique")

    def g(y, offset):
        with np.errstate(invalid="ignore", over="ignore"):
            return y - sigma(offset + theta2 * y)

    finite = np.isfinite(a)
    a_ok = a[finite]
    centre = sigma(a_ok)
    half = np.maximum(np.abs(centre), 1.0)
    for _ in range(_MAX_GROWTH):
        lo, hi = centre - half, centre + half
        open_ = (g(lo, a_ok) > 0) | (g(hi, a_ok) < 0)
        if not open_.any():
            break
        half = np.where(open_, half * 2.0, half)
    for _ in range(_MAX_BISECTIONS):
        mid = lo + (hi - lo) / 2.0
        active = (mid > lo) & (mid < hi)
        if not active.any():
            break
        g_mid = g(mid, a_ok)
        go_right = active & (g_mid < 0)
        go_left = active & (g_mid > 0)
        exact = active & (g_mid == 0)
        lo = np.where(go_right | exact, mid, lo)
        hi = np.where(go_left | exact, mid, hi)
    g_lo, g_hi = np.abs(g(lo, a_ok)), np.abs(g(hi, a_ok))
    y = np.full(a.shape, np.nan)
    y[finite] = np.where(g_lo <= g_hi, lo, hi)
    return y


def output_jacobian_factor(y, offsets, theta2: float, activation: str) -> np.ndarray:
    """c = σ'(u)/(1 − θ₂σ'(u)) at u = a + θ₂y, so that ∇_θ y = c·(x, y)  (FP-2)."""
    _require(activation)
    s = slope(activation, np.asarray(offsets) + theta2 * np.asarray(y))
    return s / (1.0 - theta2 * s)


def risk_and_gradient(theta, X, targets, activation: str) -> tuple[float, np.ndarray]:
    """R(θ) = (1/n)Σ(yᵢ − tᵢ)² and ∇R = (2/n)Σ(yᵢ − tᵢ)·cᵢ·(xᵢ, yᵢ), from bracketed roots."""
    theta = np.asarray(theta, dtype=np.float64)
    X = np.asarray(X, dtype=np.float64)
    offsets = X @ theta[:-1]
    y = fixed_points(offsets, theta[-1], activation)
    error = y - np.asarray(targets, dtype=np.float64)
    weights = error * output_jacobian_factor(y, offsets, theta[-1], activation)
    n = len(y)
    gradient = np.r_[weights @ X, weights @ y] * (2.0 / n)
    return float(error @ error / n), gradient
