"""Activation functions σ with the facts the theory needs.

Each :class:`Activation` carries numerically stable vectorised σ, σ', σ'' (numpy), scalar
versions for the one-sample fast path (``math``), an mpmath twin for the reference, its
Lipschitz constant ``L = sup |σ'|``, a monotone flag (A-act: σ nondecreasing) and the slope
floor γ = min σ' on an interval (A-act: 0 < γ ≤ σ' ≤ L on the region reached).

Users define their own by constructing :class:`Activation`; only ``name``, ``f``, ``df``,
``d2f``, ``lipschitz`` and ``monotone`` are required.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import mpmath
import numpy as np
from scipy.special import expit

from deqverify.core.errors import InvalidInputError, NoFixedPointError, SingularDEQError

ArrayFn = Callable[[np.ndarray], np.ndarray]
ScalarFn = Callable[[float], float]

_SLOPE_GRID_POINTS = 4097


@dataclass(frozen=True)
class Activation:
    """An activation σ and the constants the theorems use.

    Parameters
    ----------
    name : str
    f, df, d2f : callable
        Vectorised σ, σ', σ'' on float64 arrays.
    lipschitz : float
        L = sup_z |σ'(z)| (docs/theorems.md notation).
    monotone : bool
        True when σ is nondecreasing; then θ₂·L < 1 suffices for a unique fixed point.
    scalar_f, scalar_df : callable, optional
        ``float -> float`` versions for the one-sample fast path; default wraps ``f``/``df``.
    mp_f, mp_df : callable, optional
        mpmath versions used by :mod:`deqverify.reference`; default: none (the reference
        refuses activations without them).
    value_and_slope : callable, optional
        ``z -> (σ(z), σ'(z))`` in one pass (one exponential for the built-ins); default calls
        ``f`` and ``df``. The Newton inner loop uses it.
    curvature_bound : float, optional
        C₂ = sup |σ''|; lets Newton stop one iteration early by the rigorous bound
        |y_new − y*| ≤ θ₂²C₂/(2m)·(|g|/m)². Default: unknown (step test only).
    slope_floor_fn : callable, optional
        ``(lo, hi) -> min σ' on [lo, hi]``; default: the minimum over a 4097-point grid
        and the end points (approximate for a user activation with narrow dips).
    closed_form : callable, optional
        ``(a, θ₂) -> y`` solving y = σ(a + θ₂ y) exactly (piecewise-linear σ); it raises an
        :class:`~deqverify.core.errors.IllPosedError` where no unique root exists.
    """

    name: str
    f: ArrayFn
    df: ArrayFn
    d2f: ArrayFn
    lipschitz: float
    monotone: bool
    scalar_f: ScalarFn | None = None
    scalar_df: ScalarFn | None = None
    mp_f: Callable | None = None
    mp_df: Callable | None = None
    value_and_slope_fn: Callable | None = None
    curvature_bound: float | None = None
    slope_floor_fn: Callable[[float, float], float] | None = None
    closed_form: Callable[[np.ndarray, float], np.ndarray] | None = None

    def __post_init__(self):
        if not isinstance(self.monotone, (bool, np.bool_)):
            raise InvalidInputError(f"Activation {self.name!r}: monotone must be True or False, got "
                                    f"{self.monotone!r} (a {type(self.monotone).__name__} is not a declaration)")
        if isinstance(self.lipschitz, bool) or not isinstance(self.lipschitz, (int, float, np.integer, np.floating)):
            raise InvalidInputError(f"Activation {self.name!r}: lipschitz must be a number, got "
                                    f"{self.lipschitz!r}; pass L = sup |σ'|.")
        for label in ("f", "df", "d2f"):
            with np.errstate(all="ignore"):
                shape = np.shape(getattr(self, label)(LIPSCHITZ_GRID))
            if shape != LIPSCHITZ_GRID.shape:
                raise InvalidInputError(
                    f"Activation {self.name!r}: {label} must act elementwise (an array of shape "
                    f"{LIPSCHITZ_GRID.shape} in, the same shape out), got shape {shape}")
        if not (math.isfinite(self.lipschitz) and self.lipschitz > 0):
            raise InvalidInputError(
                f"Activation {self.name!r}: lipschitz must be a finite positive number, got "
                f"{self.lipschitz!r}; pass L = sup |σ'|."
            )
        with np.errstate(all="ignore"):
            slopes = np.abs(np.asarray(self.df(LIPSCHITZ_GRID), dtype=float))
        worst = float(np.max(slopes, where=np.isfinite(slopes), initial=0.0))
        if worst > self.lipschitz * (1.0 + LIPSCHITZ_SLACK):
            where = float(LIPSCHITZ_GRID[np.nanargmax(np.where(np.isfinite(slopes), slopes, -1.0))])
            raise InvalidInputError(
                f"Activation {self.name!r} under-states its Lipschitz constant: |σ'({where:.6g})| = "
                f"{worst:.6g} > lipschitz = {self.lipschitz:g}; the contraction test and the "
                "solvers' safeguards trust L, so pass L = sup |σ'| (or larger)")

    def value_and_slope(self, z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(σ(z), σ'(z)) for an array."""
        if self.value_and_slope_fn is not None:
            return self.value_and_slope_fn(z)
        return self.f(z), self.df(z)

    def value_scalar(self, z: float) -> float:
        """σ(z) for one float (fast path)."""
        return self.scalar_f(z) if self.scalar_f else float(self.f(np.float64(z)))

    def slope_scalar(self, z: float) -> float:
        """σ'(z) for one float (fast path)."""
        return self.scalar_df(z) if self.scalar_df else float(self.df(np.float64(z)))

    def slope_floor(self, lo: float, hi: float) -> float:
        """γ = min_{z∈[lo, hi]} σ'(z), the slope floor of assumption A-act."""
        if lo > hi:
            lo, hi = hi, lo
        if self.slope_floor_fn is not None:
            return float(self.slope_floor_fn(lo, hi))
        grid = np.linspace(lo, hi, _SLOPE_GRID_POINTS)
        return float(np.min(self.df(grid)))


LIPSCHITZ_GRID = np.concatenate([np.linspace(-50.0, 50.0, 20_001),
                                 np.geomspace(50.0, 1e12, 200), -np.geomspace(50.0, 1e12, 200)])
"""Where a user's σ' is sampled to catch an under-stated L (a wrong L voids the uniqueness
test |θ₂|L < 1: the solver may then return one of several roots as 'converged')."""
LIPSCHITZ_SLACK = 1e-9
"""σ' may exceed L by this relative amount (rounding of σ' itself)."""


def _sigmoid_scalar(z: float) -> float:
    if z >= 0:
        return 1.0 / (1.0 + math.exp(-z))
    e = math.exp(z)
    return e / (1.0 + e)


def _sigmoid(z):
    # σ(z) from e = e^{-|z|}: no overflow, no cancellation; ~4× faster than scipy's expit.
    e = np.exp(-np.abs(z))
    return np.where(z >= 0, 1.0, e) / (1.0 + e)


def _sigmoid_slope(z):
    return expit(z) * expit(-z)


def _sigmoid_slope_scalar(z: float) -> float:
    return _sigmoid_scalar(z) * _sigmoid_scalar(-z)


def _sigmoid_value_and_slope(z):
    # e = e^{-|z|}: σ(|z|) = 1/(1+e), σ(−|z|) = e/(1+e), σ'(z) = e/(1+e)², all without
    # cancellation or overflow; one exponential (scipy's expit is ~6× slower than np.exp).
    e = np.exp(-np.abs(z))
    r = 1.0 / (1.0 + e)
    er = e * r
    return np.where(z >= 0, r, er), er * r


def _sigmoid_curvature(z):
    s = expit(z)
    return s * expit(-z) * (1.0 - 2.0 * s)


def _tanh_slope(z):
    # sech² z = 4 e^{-2|z|} / (1 + e^{-2|z|})², exact in relative terms for every z.
    e = np.exp(-2.0 * np.abs(z))
    return 4.0 * e / (1.0 + e) ** 2


def _tanh_slope_scalar(z: float) -> float:
    e = math.exp(-2.0 * abs(z))
    return 4.0 * e / (1.0 + e) ** 2


def _tanh_value_and_slope(z):
    t = np.tanh(z)
    return t, _tanh_slope(z)


def _tanh_curvature(z):
    return -2.0 * np.tanh(z) * _tanh_slope(z)


def _softplus_scalar(z: float) -> float:
    return max(z, 0.0) + math.log1p(math.exp(-abs(z)))


def _softplus(z):
    """log(1 + eᶻ) as max(z, 0) + log1p(e^−|z|): exact to rounding, no overflow; the formula of
    the scalar and value-and-slope forms, evaluated in place (4× ``np.logaddexp(0, z)`` on the
    quadrature grids of the population risk)."""
    if np.ndim(z) == 0:
        return np.maximum(z, 0.0) + np.log1p(np.exp(-np.abs(z)))
    out = np.abs(z, dtype=float)
    np.negative(out, out=out)
    np.exp(out, out=out)
    np.log1p(out, out=out)
    out += np.maximum(z, 0.0)
    return out


def _softplus_value_and_slope(z):
    e = np.exp(-np.abs(z))
    r = 1.0 / (1.0 + e)
    return np.maximum(z, 0.0) + np.log1p(e), np.where(z >= 0, r, e * r)


def _even_peak_floor(df):
    """Slope floor for σ' even and decreasing in |z| (sigmoid, tanh)."""

    def floor(lo, hi):
        return float(min(df(np.float64(lo)), df(np.float64(hi))))

    return floor


SINGULAR_GAP_TOL = 4 * np.finfo(np.float64).eps
"""|1 − θ₂| at or below this (≈ 8.9e-16, four ulps of 1) counts as θ₂ = 1 for the linear DEQ.

Away from it y = θ₁ᵀx/(1−θ₂) is accurate to a few ulps (1−θ₂ is exact by Sterbenz' lemma for
θ₂ ∈ [½, 2]); within four ulps of 1, θ₂ cannot be told from 1 by the arithmetic that made it."""


def _identity_closed_form(a, theta2):
    """y = a + θ₂y  ⇒  y = a/(1−θ₂) (linear DEQ, FP-3: θ₂ = 1 is singular)."""
    if abs(1.0 - theta2) <= SINGULAR_GAP_TOL:
        raise SingularDEQError(
            f"linear DEQ is singular at θ₂ = {theta2!r}: y = θ₁ᵀx + θ₂·y has no solution "
            f"(or infinitely many) when |1 − θ₂| = {abs(1.0 - theta2):.3g} ≤ "
            f"{SINGULAR_GAP_TOL:.3g}; move θ₂ away from 1 (the gap |1 − θ₂| is conserved "
            "away from 0 by gradient flow, Lemma 3.2)"
        )
    return a / (1.0 - theta2)


def _relu_closed_form(a, theta2):
    """y = relu(a + θ₂y) with θ₂ < 1 has the unique root relu(a)/(1−θ₂) (RELU, FP-3)."""
    if theta2 >= 1.0:
        raise NoFixedPointError(
            f"ReLU DEQ with θ₂ = {theta2!r} ≥ 1: y = relu(θ₁ᵀx + θ₂·y) has no fixed point "
            "where θ₁ᵀx > 0 and two where θ₁ᵀx < 0; use θ₂ < 1"
        )
    return np.maximum(a, 0.0) / (1.0 - theta2)


SIGMOID = Activation(
    name="sigmoid",
    f=_sigmoid,
    df=_sigmoid_slope,
    d2f=_sigmoid_curvature,
    lipschitz=0.25,
    monotone=True,
    scalar_f=_sigmoid_scalar,
    scalar_df=_sigmoid_slope_scalar,
    mp_f=lambda z: 1 / (1 + mpmath.exp(-z)),
    mp_df=lambda z: mpmath.exp(-z) / (1 + mpmath.exp(-z)) ** 2,
    value_and_slope_fn=_sigmoid_value_and_slope,
    curvature_bound=1.0 / (6.0 * math.sqrt(3.0)),
    slope_floor_fn=_even_peak_floor(_sigmoid_slope),
)

TANH = Activation(
    name="tanh",
    f=np.tanh,
    df=_tanh_slope,
    d2f=_tanh_curvature,
    lipschitz=1.0,
    monotone=True,
    scalar_f=math.tanh,
    scalar_df=_tanh_slope_scalar,
    mp_f=mpmath.tanh,
    mp_df=lambda z: mpmath.sech(z) ** 2,
    value_and_slope_fn=_tanh_value_and_slope,
    curvature_bound=4.0 / (3.0 * math.sqrt(3.0)),
    slope_floor_fn=_even_peak_floor(_tanh_slope),
)

SOFTPLUS = Activation(
    name="softplus",
    f=_softplus,
    df=expit,
    d2f=_sigmoid_slope,
    lipschitz=1.0,
    monotone=True,
    scalar_f=_softplus_scalar,
    scalar_df=_sigmoid_scalar,
    mp_f=lambda z: mpmath.log1p(mpmath.exp(z)),
    mp_df=lambda z: 1 / (1 + mpmath.exp(-z)),
    value_and_slope_fn=_softplus_value_and_slope,
    curvature_bound=0.25,
    slope_floor_fn=lambda lo, hi: float(expit(lo)),
)

RELU = Activation(
    name="relu",
    f=lambda z: np.maximum(z, 0.0),
    df=lambda z: (np.asarray(z) > 0).astype(np.float64),
    d2f=lambda z: np.zeros_like(np.asarray(z, dtype=np.float64)),
    lipschitz=1.0,
    monotone=True,
    scalar_f=lambda z: max(z, 0.0),
    scalar_df=lambda z: 1.0 if z > 0 else 0.0,
    mp_f=lambda z: z if z > 0 else mpmath.mpf(0),
    mp_df=lambda z: mpmath.mpf(1) if z > 0 else mpmath.mpf(0),
    slope_floor_fn=lambda lo, hi: 1.0 if lo > 0 else 0.0,
    closed_form=_relu_closed_form,
)

IDENTITY = Activation(
    name="identity",
    f=lambda z: np.asarray(z, dtype=np.float64).copy(),
    df=lambda z: np.ones_like(np.asarray(z, dtype=np.float64)),
    d2f=lambda z: np.zeros_like(np.asarray(z, dtype=np.float64)),
    lipschitz=1.0,
    monotone=True,
    scalar_f=float,
    scalar_df=lambda z: 1.0,
    mp_f=lambda z: z,
    mp_df=lambda z: mpmath.mpf(1),
    slope_floor_fn=lambda lo, hi: 1.0,
    closed_form=_identity_closed_form,
)

BUILTIN_ACTIVATIONS = {a.name: a for a in (SIGMOID, TANH, SOFTPLUS, RELU, IDENTITY)}


def get_activation(activation: str | Activation) -> Activation:
    """Return the :class:`Activation` for a built-in name or pass an instance through."""
    if isinstance(activation, Activation):
        return activation
    try:
        return BUILTIN_ACTIVATIONS[activation]
    except (KeyError, TypeError):
        raise InvalidInputError(
            f"unknown activation {activation!r}; use one of {sorted(BUILTIN_ACTIVATIONS)} "
            "or construct a deqverify.Activation"
        ) from None
