"""Scalar fixed-point solvers for y = σ(a + θ₂·y), vectorised over samples.

Every sample i has its own offset aᵢ = θ₁ᵀxᵢ and the shared coupling θ₂. The map
g(y) = y − σ(a + θ₂y) has slope g'(y) = 1 − θ₂σ'(u), and under the well-posedness condition
of FP-1 (|θ₂|·L < 1, or θ₂·L < 1 for nondecreasing σ) g' ≥ m > 0 with

    m = 1 − max(θ₂, 0)·L   (σ nondecreasing)      m = 1 − |θ₂|·L   (otherwise),

so g is strictly increasing and has exactly one root. Three solvers share
:class:`FixedPointResult`:

* :func:`newton` (default): safeguarded Newton inside a bracket derived from m; it converges
  wherever the root is unique, including θ₂ ≤ −1/L where Picard iteration diverges.
* :func:`picard`: y ← σ(a + θ₂y); needs the contraction |θ₂|·L < 1.
* :func:`anderson`: Anderson(1) acceleration of Picard. For a scalar unknown the residual space
  is one-dimensional, so depth 1 (the secant method on the residual) is the whole method;
  deeper histories only make the mixing least-squares problem singular.

Stopping rule (all solvers): the estimated distance to the root, |y − y*|, is at most
``atol + rtol·|y|`` or at the float64 rounding floor of evaluating g, whichever is larger.
Newton estimates the distance by its step |g/g'| and then takes that step, whose error is
quadratically smaller.
"""

from __future__ import annotations

import enum
import functools
import math
from dataclasses import dataclass, field

import numpy as np

from deqverify.core.activations import Activation
from deqverify.core.errors import (
    ConvergenceError,
    InvalidInputError,
    NonContractiveError,
)

EPS = float(np.finfo(np.float64).eps)
ROUNDING_FLOOR_FACTOR = 4.0
"""Rounding of g(y) = y − σ(a + θ₂y) is below eps·(|y| + |σ| + σ'·(|a| + |θ₂y|)); the floor
allows four times that, so noise alone can never block the stopping test."""


class Status(enum.Enum):
    """Outcome of a solve, worst over the samples."""

    CONVERGED = "converged"
    MAX_ITERATIONS = "max_iterations"
    NON_FINITE = "non_finite"

    def __str__(self):
        return self.value


_SEVERITY = {Status.CONVERGED: 0, Status.MAX_ITERATIONS: 1, Status.NON_FINITE: 2}


class _ValidatedSettings:
    """Tolerances must be finite and ≥ 0, ``max_iter`` an integer ≥ 1 (typed errors)."""

    def __post_init__(self):
        for name in ("rtol", "atol"):
            value = getattr(self, name)
            if isinstance(value, (bool, str)) or not isinstance(value, (int, float, np.floating)) \
                    or not (math.isfinite(value) and value >= 0):
                raise InvalidInputError(f"{type(self).__name__}({name}={value!r}): pass a finite "
                                        "number ≥ 0, e.g. 1e-12")
        if isinstance(self.max_iter, bool) or not isinstance(self.max_iter, (int, np.integer)) \
                or self.max_iter < 1:
            raise InvalidInputError(f"{type(self).__name__}(max_iter={self.max_iter!r}): pass an "
                                    "integer ≥ 1")


@dataclass(frozen=True)
class NewtonSettings(_ValidatedSettings):
    """Safeguarded Newton: stop when |step| ≤ atol + rtol·|y| (or the rounding floor)."""

    rtol: float = 1e-14
    atol: float = 1e-14
    max_iter: int = 100
    method: str = field(default="newton", init=False)


@dataclass(frozen=True)
class PicardSettings(_ValidatedSettings):
    """Picard iteration: stop when the a-posteriori bound q/(1−q)·|Δy| ≤ atol + rtol·|y|."""

    rtol: float = 1e-14
    atol: float = 1e-14
    max_iter: int = 100_000
    method: str = field(default="picard", init=False)


@dataclass(frozen=True)
class AndersonSettings(_ValidatedSettings):
    """Anderson(1) acceleration: stop when |g(y)|/m ≤ atol + rtol·|y|."""

    rtol: float = 1e-14
    atol: float = 1e-14
    max_iter: int = 1_000
    method: str = field(default="anderson", init=False)


SolverSettings = NewtonSettings | PicardSettings | AndersonSettings


@dataclass(frozen=True)
class SolveSummary:
    """Forward-solve diagnostics of one risk evaluation (worst over its samples)."""

    status: Status
    residual: float
    iterations: int


@dataclass
class FixedPointResult:
    """Fixed points of one batch.

    Attributes
    ----------
    value : ndarray (n,)
        y; NaN for samples whose iteration became non-finite.
    status : Status
        Worst status over the samples.
    residual : float
        max_i |yᵢ − σ(aᵢ + θ₂yᵢ)| over the finite samples, recomputed after the solve.
    iterations : int
        Largest iteration count over the samples.
    converged : ndarray of bool (n,)
        Per-sample success; a failure in one sample never touches another.
    method : str
    slope : ndarray (n,)
        σ'(u) at the returned y, u = a + θ₂y: reused by the implicit gradient.
    error_bound : ndarray (n,), optional
        Certified per-sample bound on the distance to the true fixed point (vector DEQs:
        ‖z − z*‖ ≤ ‖z − σ(Wz+Ux+b)‖/(1 − ‖W‖₂L), VEC-FP-1); None where not computed.

    For a vector DEQ ``value`` and ``slope`` have shape (n, k) and ``residual`` is the largest
    per-sample 2-norm of z − σ(Wz + Ux + b).
    """

    value: np.ndarray
    status: Status
    residual: float
    iterations: int
    converged: np.ndarray
    method: str
    slope: np.ndarray
    error_bound: np.ndarray | None = None

    def raise_for_status(self) -> "FixedPointResult":
        """Raise :class:`ConvergenceError` unless every sample converged; return self."""
        if self.status is not Status.CONVERGED:
            bad = np.flatnonzero(~self.converged)
            raise ConvergenceError(
                f"{self.method} solver: status {self.status} for {bad.size} of "
                f"{self.converged.size} samples (first: {bad[:5].tolist()}), residual "
                f"{self.residual:.3g} after {self.iterations} iterations; raise max_iter, "
                "use method='newton', or check that θ₂ is well inside the well-posed range"
            )
        return self


def slope_lower_bound(theta2: float, activation: Activation) -> float:
    """m = inf g' (see module docstring); raise :class:`NonContractiveError` if m ≤ 0 (FP-3)."""
    lip = activation.lipschitz
    if activation.monotone:
        m = 1.0 - max(theta2, 0.0) * lip
        condition, limit = "θ₂·L", f"θ₂ < {1.0 / lip:.6g}"
    else:
        m = 1.0 - abs(theta2) * lip
        condition, limit = "|θ₂|·L", f"|θ₂| < {1.0 / lip:.6g}"
    if not m > 0.0:
        product = (theta2 if activation.monotone else abs(theta2)) * lip
        raise NonContractiveError(
            f"{condition} = {product:.6g} ≥ 1 (θ₂ = {theta2!r}, {activation.name} L = {lip:g}): "
            f"y = σ(θ₁ᵀx + θ₂·y) may have several fixed points; use {limit}"
        )
    return m


def contraction_factor(theta2: float, activation: Activation) -> float:
    """q = |θ₂|·L, the Picard contraction factor; raise unless q < 1."""
    q = abs(theta2) * activation.lipschitz
    if not q < 1.0:
        raise NonContractiveError(
            f"|θ₂|·L = {q:.6g} ≥ 1 (θ₂ = {theta2!r}, {activation.name} L = "
            f"{activation.lipschitz:g}): Picard/Anderson iteration does not contract; use "
            f"method='newton' (unique root while θ₂·L < 1 for nondecreasing σ) or "
            f"|θ₂| < {1.0 / activation.lipschitz:.6g}"
        )
    return q


def _rounding_floor(y, s, ds, a, theta2):
    """Absolute float64 noise in evaluating g(y) = y − σ(a + θ₂y)."""
    return ROUNDING_FLOOR_FACTOR * EPS * (
        np.abs(y) + np.abs(s) + ds * (np.abs(a) + np.abs(theta2 * y))
    )


def finish(y, done, iterations, a, theta2, activation, method) -> FixedPointResult:
    """Recompute residuals at the returned y; a sample whose y or σ(a + θ₂y) is not finite
    (overflow) gets NaN and converged = False, and the status says NON_FINITE."""
    value, slope = activation.value_and_slope(a + theta2 * y)
    residuals = np.abs(y - value)
    finite = np.isfinite(residuals)
    y = np.where(finite, y, np.nan)
    converged = done & finite
    residual = float(np.max(residuals, initial=0.0, where=finite))
    return FixedPointResult(y, batch_status(finite, converged), residual, int(iterations),
                            converged, method, slope)


def batch_status(finite: np.ndarray, converged: np.ndarray) -> Status:
    """NON_FINITE if any sample is not finite, else MAX_ITERATIONS if any did not converge."""
    if not finite.all():
        return Status.NON_FINITE
    return Status.CONVERGED if converged.all() else Status.MAX_ITERATIONS


def _newton_error_factor(theta2: float, m: float, activation: Activation) -> float:
    """K with |y_new − y*| ≤ K·(|g(y)|/m)² after a Newton step from y (0 if C₂ unknown).

    Taylor: y_new − y* = g''(η)/(2g'(y))·(y − y*)², |g''| = θ₂²|σ''| ≤ θ₂²C₂, g' ≥ m and
    |y − y*| ≤ |g(y)|/m, so K = θ₂²C₂/(2m).
    """
    if activation.curvature_bound is None:
        return 0.0
    return theta2 * theta2 * activation.curvature_bound / (2.0 * m)


def _converged_after_step(abs_step, g, y, error_factor, m, settings):
    """Cheap a-posteriori test: is y − step within atol + rtol·|y| of the root?"""
    tolerance = settings.atol + settings.rtol * np.abs(y)
    converged = abs_step <= tolerance
    if error_factor:
        converged |= (error_factor / (m * m)) * (g * g) <= tolerance
    return converged


def _plain_newton(a, theta2, activation, settings, m, error_factor, iterations):
    """Unsafeguarded Newton, the fast path: ~20 array operations per iteration.

    Returns (y, converged, iterations used). A sample counts as converged only by the
    a-posteriori test of :func:`_converged_after_step`, so a sample that diverged or
    cycled here is simply handed to the safeguarded solver.
    """
    y = activation.value_and_slope(a)[0]
    done = np.zeros(a.shape, dtype=bool)
    for used in range(1, iterations + 1):
        s, ds = activation.value_and_slope(a + theta2 * y)
        g = y - s
        step = g / (1.0 - theta2 * ds)
        y = np.where(done, y, y - step)  # a converged sample is frozen: no cross-talk
        done |= _converged_after_step(np.abs(step), g, y + step, error_factor, m, settings)
        if done.all():
            return y, done, used
    return y, done, iterations


def _safeguarded_newton(a, theta2, activation, settings, m, error_factor, guess):
    """Bracketed Newton (see :func:`newton`) from ``guess`` where it lies in the bracket.

    Returns (y, converged, iterations).
    """
    y = activation.value_and_slope(a)[0]
    reach = (y - activation.value_and_slope(a + theta2 * y)[0]) / m
    lo = np.minimum(y, y - reach)
    hi = np.maximum(y, y - reach)
    y = np.where((guess >= lo) & (guess <= hi), guess, y)
    s, ds = activation.value_and_slope(a + theta2 * y)
    g = y - s
    last_step = step_before_last = 2.0 * (hi - lo)
    done = np.zeros(a.shape, dtype=bool)
    iterations = 0
    while iterations < settings.max_iter:
        iterations += 1
        slope = 1.0 - theta2 * ds
        step = g / slope
        abs_step = np.abs(step)
        at_floor = abs_step <= _rounding_floor(y, s, ds, a, theta2) / slope
        newly_done = (at_floor | _converged_after_step(abs_step, g, y, error_factor, m, settings)) & ~done
        hi = np.where(g > 0, np.minimum(hi, y), hi)
        lo = np.where(g < 0, np.maximum(lo, y), lo)
        candidate = y - step
        bisect = ((candidate < lo) | (candidate > hi) | (abs_step > 0.5 * step_before_last)) & ~newly_done
        candidate = np.where(bisect, 0.5 * (lo + hi), candidate)
        step_before_last = last_step
        last_step = np.where(bisect, 0.5 * (hi - lo), abs_step)
        y = np.where(done | ~np.isfinite(candidate), y, candidate)
        done |= newly_done
        if done.all():
            break
        s, ds = activation.value_and_slope(a + theta2 * y)
        g = y - s
    return y, done, iterations


FAST_NEWTON_ITERATIONS = 6
"""Plain Newton iterations tried before the safeguarded solver takes over the stragglers."""


def reports_overflow(solver):
    """Decorator for a batch solver: float64 overflow (inf, then NaN) is reported per sample
    by :func:`finish` (NaN value, converged False, status NON_FINITE), so numpy's overflow and
    invalid-value warnings would only repeat, without the sample, what the result says."""
    @functools.wraps(solver)
    def solve_reporting_overflow(*args, **kwargs):
        with np.errstate(over="ignore", invalid="ignore"):
            return solver(*args, **kwargs)
    return solve_reporting_overflow


@reports_overflow
def newton(a: np.ndarray, theta2: float, activation: Activation,
           settings: NewtonSettings = NewtonSettings()) -> FixedPointResult:
    """Safeguarded, vectorised Newton for y = σ(a + θ₂y) (FP-1).

    Two phases. (1) Plain Newton from y₀ = σ(a) for up to 6 iterations — about 20 array
    operations each, the cost that matters at n = 10⁶. (2) Every sample that phase 1 did not
    certify continues in the safeguarded solver (from its phase-1 iterate if that lies in the
    bracket, else from y₀): since g' ≥ m, the root lies in
    [y₀ − g(y₀)/m, y₀] if g(y₀) > 0 and in [y₀, y₀ − g(y₀)/m] otherwise; each iteration
    tests convergence first — a converged sample takes its final Newton step and is frozen,
    so rounding noise in the sign of g can never shrink the bracket past the root — then
    updates the bracket and takes the Newton step, bisecting instead (as in Numerical Recipes'
    rtsafe) when the step leaves the closed bracket or is not at most half the step before
    the last one, which rules out Newton cycles (θ₂ ≪ −1/L).

    Convergence (both phases): the stepped iterate y − g/g' is within atol + rtol·|y| of the
    root by either bound — |step| (the current error, which the step then reduces
    quadratically) or K·(|g|/m)² (:func:`_newton_error_factor`, which saves an iteration) —
    or, in phase 2 only, |step| is at the float64 rounding floor of g.
    ``iterations`` counts both phases.
    """
    m = slope_lower_bound(theta2, activation)
    error_factor = _newton_error_factor(theta2, m, activation)
    a = np.asarray(a, dtype=np.float64)
    fast_iterations = min(FAST_NEWTON_ITERATIONS, settings.max_iter)
    y, done, iterations = _plain_newton(a, theta2, activation, settings, m, error_factor,
                                        fast_iterations)
    if not done.all():
        rest = np.flatnonzero(~done)
        y_rest, done_rest, extra = _safeguarded_newton(a[rest], theta2, activation, settings,
                                                       m, error_factor, y[rest])
        y[rest], done[rest] = y_rest, done_rest
        iterations += extra
    return finish(y, done, iterations, a, theta2, activation, "newton")


def newton_scalar(a: float, theta2: float, activation: Activation,
                  settings: NewtonSettings = NewtonSettings()) -> tuple[float, bool, int]:
    """One-sample fast path of :func:`newton` with ``math`` instead of numpy.

    Same bracket, stopping rule and safeguard as :func:`newton`; about 1 µs per iteration
    instead of ~15 µs of numpy call overhead. Returns ``(y, converged, iterations)``.
    """
    m = slope_lower_bound(theta2, activation)
    error_factor = _newton_error_factor(theta2, m, activation)
    f, df = activation.value_scalar, activation.slope_scalar
    y = f(a)
    reach = (y - f(a + theta2 * y)) / m
    lo, hi = min(y, y - reach), max(y, y - reach)
    last_step = step_before_last = 2.0 * (hi - lo)
    for iterations in range(1, settings.max_iter + 1):
        u = a + theta2 * y
        s, ds = f(u), df(u)
        g = y - s
        slope = 1.0 - theta2 * ds
        step = g / slope
        floor = ROUNDING_FLOOR_FACTOR * EPS * (abs(y) + abs(s) + ds * (abs(a) + abs(theta2 * y)))
        tolerance = max(settings.atol + settings.rtol * abs(y), floor / slope)
        if abs(step) <= tolerance or (error_factor and error_factor * (g / m) ** 2 <= tolerance):
            y -= step
            return y, math.isfinite(y), iterations
        if g > 0:
            hi = min(hi, y)
        elif g < 0:
            lo = max(lo, y)
        step_before_last = last_step
        if lo <= y - step <= hi and abs(step) <= 0.5 * step_before_last:
            y, last_step = y - step, abs(step)
        else:
            y, last_step = 0.5 * (lo + hi), 0.5 * (hi - lo)
        if not math.isfinite(y):
            return math.nan, False, iterations
    return y, False, settings.max_iter


@reports_overflow
def picard(a: np.ndarray, theta2: float, activation: Activation,
           settings: PicardSettings = PicardSettings()) -> FixedPointResult:
    """Picard iteration y ← σ(a + θ₂y); error contracts by q = |θ₂|·L per step (FP-1).

    Stops when the a-posteriori error bound (below) is within tolerance or at the rounding
    floor 2δ/(1−q), where the iteration can make no further certified progress.
    """
    q = contraction_factor(theta2, activation)
    a = np.asarray(a, dtype=np.float64)
    y = activation.f(a)
    done = np.zeros(a.shape, dtype=bool)
    # |y_{k+1} − y*| ≤ q/(1−q)·|y_{k+1} − y_k| in general; for nondecreasing σ and θ₂ < 0
    # the map is nonincreasing, successive iterates straddle the root and the error is
    # at most the step itself.
    error_per_step = 1.0 if (activation.monotone and theta2 < 0) else q / (1.0 - q)
    lip = activation.lipschitz
    iterations = 0
    while iterations < settings.max_iter:
        iterations += 1
        y_next = activation.f(a + theta2 * y)
        step = np.abs(y_next - y)
        # Rounding perturbs each evaluation of σ(a + θ₂y) by δ ≤ 4eps(|y| + L(|a| + |θ₂y|));
        # the perturbed iteration settles within δ/(1−q) of the root (for θ₂ < 0 in a
        # 2-cycle of that amplitude): errors below 2δ/(1−q) cannot be certified.
        floor = 2 * ROUNDING_FLOOR_FACTOR * EPS * (
            np.abs(y_next) + lip * (np.abs(a) + np.abs(theta2 * y))) / (1.0 - q)
        newly_done = ~done & (error_per_step * step <= np.maximum(
            settings.atol + settings.rtol * np.abs(y_next), floor))
        y = np.where(done, y, y_next)
        done |= newly_done
        if done.all() or not np.isfinite(y[~done]).any():
            break
    return finish(y, done, iterations, a, theta2, activation, "picard")


@reports_overflow
def anderson(a: np.ndarray, theta2: float, activation: Activation,
             settings: AndersonSettings = AndersonSettings()) -> FixedPointResult:
    """Anderson(1)-accelerated Picard iteration (secant on the residual), vectorised.

    With residual F(y) = σ(a + θ₂y) − y, the depth-1 Anderson update
    y⁺ = y + F − (y − y₋ + F − F₋)·F/(F − F₋) is the secant step; where F = F₋ (or the step is
    not finite) it falls back to the plain Picard step. Stops when |F|/m ≤ atol + rtol·|y|,
    a rigorous bound on |y − y*| since |g'| ≥ m.
    """
    q = contraction_factor(theta2, activation)
    m = 1.0 - q
    a = np.asarray(a, dtype=np.float64)
    y_prev = activation.f(a)
    residual_prev = activation.f(a + theta2 * y_prev) - y_prev
    y = y_prev + residual_prev
    done = np.zeros(a.shape, dtype=bool)
    iterations = 0
    while iterations < settings.max_iter:
        iterations += 1
        s = activation.f(a + theta2 * y)
        residual = s - y
        floor = ROUNDING_FLOOR_FACTOR * EPS * (np.abs(y) + np.abs(s) + np.abs(a))
        newly_done = ~done & (np.abs(residual) <= np.maximum(
            m * (settings.atol + settings.rtol * np.abs(y)), floor))
        delta = residual - residual_prev
        with np.errstate(divide="ignore", invalid="ignore"):
            secant = y - residual * (y - y_prev) / delta
        candidate = np.where(np.isfinite(secant) & (delta != 0), secant, s)
        y_prev, residual_prev = y, residual
        y = np.where(done | newly_done, y, candidate)
        done |= newly_done
        if done.all() or not np.isfinite(y[~done]).any():
            break
    return finish(y, done, iterations, a, theta2, activation, "anderson")


SOLVERS = {"newton": newton, "picard": picard, "anderson": anderson}
DEFAULT_SETTINGS = {"newton": NewtonSettings(), "picard": PicardSettings(),
                    "anderson": AndersonSettings()}


CHUNK_SIZE = 8192
"""Samples per solver call: 64 KiB per work array, so the ~20 temporaries of a Newton
iteration stay in L2 (measured: 27 ns/sample at 8192 against 65 ns at 16384 and beyond)."""


def worst_status(statuses) -> Status:
    """The most severe of several statuses (for results assembled from row blocks)."""
    return max(statuses, key=_SEVERITY.__getitem__, default=Status.CONVERGED)


def solve_in_chunks(solver, offsets, theta2, activation, settings) -> FixedPointResult:
    """Run ``solver`` on chunks of :data:`CHUNK_SIZE` samples and merge the results, so that
    the solver's work arrays stay in cache."""
    if offsets.size <= CHUNK_SIZE:
        return solver(offsets, theta2, activation, settings)
    return merge_results([solver(offsets[start:start + CHUNK_SIZE], theta2, activation, settings)
                          for start in range(0, offsets.size, CHUNK_SIZE)])


def merge_results(results: list[FixedPointResult]) -> FixedPointResult:
    """Concatenate per-chunk results of the same solve."""
    return FixedPointResult(
        value=np.concatenate([r.value for r in results]),
        status=worst_status(r.status for r in results),
        residual=max(r.residual for r in results),
        iterations=max(r.iterations for r in results),
        converged=np.concatenate([r.converged for r in results]),
        method=results[0].method,
        slope=np.concatenate([r.slope for r in results]),
        error_bound=(None if results[0].error_bound is None
                     else np.concatenate([r.error_bound for r in results])),
    )
