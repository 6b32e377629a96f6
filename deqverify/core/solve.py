"""Scalar fixed-point solvers for y = σ(a + θ₂·y), vectorised over samples.

Every sample i has its own offset aᵢ = θ₁ᵀxᵢ and the shared coupling θ₂. The map
g(y) = y − σ(a + θ₂y) has slope g'(y) = 1 − θ₂σ'(u), and under the well-posedness condition
of FP-1 (|θ₂|·L < 1, or θ₂·L < 1 for nondecreasing σ) g' ≥ m > 0 with

    m = 1 − max(θ₂, 0)·L   (σ nondecreasing)      m = 1 − |θ₂|·L   (otherwise),

so g is strictly increasing and has exactly one root. Three solvers share
:class:`FixedPointResult`:

* :func:`newton` (default): safeguarded Newton inside a bracket derived from m; it converges
  wherever the root is unique, including θ₂ ≤ −1/L where Picard iteration diverges. For
  θ₂·L < −10 it solves for the pre-activation u = a + θ₂y instead (h(u) = u − a − θ₂σ(u),
  same slope), since y then shrinks like 1/|θ₂| — down to θ₂ = −10³⁰⁰ with offsets to 10³⁰⁰.
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

FLOAT_MAX = float(np.finfo(np.float64).max)
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
    method: str = field(default="newton", init=False, repr=False)


@dataclass(frozen=True)
class PicardSettings(_ValidatedSettings):
    """Picard iteration: stop when the a-posteriori bound q/(1−q)·|Δy| ≤ atol + rtol·|y|."""

    rtol: float = 1e-14
    atol: float = 1e-14
    max_iter: int = 100_000
    method: str = field(default="picard", init=False, repr=False)


@dataclass(frozen=True)
class AndersonSettings(_ValidatedSettings):
    """Anderson(1) acceleration: stop when |g(y)|/m ≤ atol + rtol·|y|."""

    rtol: float = 1e-14
    atol: float = 1e-14
    max_iter: int = 1_000
    method: str = field(default="anderson", init=False, repr=False)


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
        max_i |yᵢ − σ(aᵢ + θ₂yᵢ)| over the finite samples, recomputed after the solve (for
        θ₂L < −10, where Newton solves for uᵢ, the defect of the pair (yᵢ, uᵢ): see
        :func:`finish_preactivation`).
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
    """Absolute float64 noise in evaluating g(y) = y − σ(a + θ₂y), each term scaled by eps
    before the sum (a sum of terms near the float limit would overflow)."""
    unit = ROUNDING_FLOOR_FACTOR * EPS
    return unit * np.abs(y) + unit * np.abs(s) + unit * ds * np.abs(a) + unit * ds * np.abs(theta2 * y)


def finish(y, done, iterations, a, theta2, activation, method) -> FixedPointResult:
    """Recompute residuals at the returned y; a sample whose y or σ(a + θ₂y) is not finite
    (overflow) gets NaN and converged = False, and the status says NON_FINITE."""
    value, slope = activation.value_and_slope(a + theta2 * y)
    return _per_sample_result(y, slope, np.abs(y - value), done, iterations, method)


def _per_sample_result(y, slope, residuals, done, iterations, method) -> FixedPointResult:
    """A sample is finite when its residual is; a non-finite one is NaN and not converged."""
    finite = np.isfinite(residuals)
    y = np.where(finite, y, np.nan)
    converged = done & finite
    residual = float(np.max(residuals, initial=0.0, where=finite))
    return FixedPointResult(y, batch_status(finite, converged), residual, int(iterations),
                            converged, method, slope)


def finish_preactivation(u, done, iterations, a, theta2, activation, method) -> FixedPointResult:
    """:func:`finish` for a solve in the pre-activation u (θ₂ ≠ 0): y = σ(u) exactly, σ'(u) from
    the solved u. The residual is the defect y − σ(u) of the pair with u = a + θ₂y imposed
    one way or the other — |y − σ(a + θ₂y)| (u from y) or |(u − a)/θ₂ − σ(u)| (y from u) —
    whichever float64 evaluation does not cancel: a + θ₂y cancels when θ₂y ≈ −a (a = 10³⁰⁰,
    θ₂ = −10³⁰⁰: y rounds to 1.0 and σ(a + θ₂·1.0) = σ(0)), u − a when θ₂y is below the ulp
    of a (a = −400: u = a exactly and y = e⁻⁴⁰⁰ is lost in the difference)."""
    value, slope = activation.value_and_slope(u)
    from_u = np.abs((u - a) / theta2 - value)
    from_y = np.abs(value - activation.f(a + theta2 * value))
    residuals = np.where(np.isfinite(value), np.fmin(from_u, from_y), np.nan)
    return _per_sample_result(value, slope, residuals, done, iterations, method)


def batch_status(finite: np.ndarray, converged: np.ndarray) -> Status:
    """NON_FINITE if any sample is not finite, else MAX_ITERATIONS if any did not converge."""
    if not finite.all():
        return Status.NON_FINITE
    return Status.CONVERGED if converged.all() else Status.MAX_ITERATIONS


def newton_error_factor(theta2: float, m: float, activation: Activation) -> float:
    """K with |y_new − y*| ≤ K·(|g(y)|/m)² after a Newton step from y (0 if C₂ unknown).

    Taylor: y_new − y* = g''(η)/(2g'(y))·(y − y*)², |g''| = θ₂²|σ''| ≤ θ₂²C₂, g' ≥ m and
    |y − y*| ≤ |g(y)|/m, so K = θ₂²C₂/(2m).
    """
    if activation.curvature_bound is None:
        return 0.0
    return theta2 * theta2 * activation.curvature_bound / (2.0 * m)


def _converged_after_step(abs_step, g, tolerance, error_factor, m):
    """Cheap a-posteriori test: is the stepped iterate within ``tolerance`` of the root?"""
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
        tolerance = settings.atol + settings.rtol * np.abs(y + step)
        done |= _converged_after_step(np.abs(step), g, tolerance, error_factor, m)
        if done.all():
            return y, done, used
    return y, done, iterations


class _OutputUnknown:
    """Newton on the output: g(y) = y − σ(a + θ₂y), g'(y) = 1 − θ₂σ'(u) ≥ m.

    Tolerance on y itself (atol + rtol·|y|); start y₀ = σ(a)."""

    def __init__(self, a, theta2, activation, settings, m):
        self.a, self.theta2, self.activation, self.settings = a, theta2, activation, settings
        self.error_factor = newton_error_factor(theta2, m, activation)

    def start(self):
        return self.activation.value_and_slope(self.a)[0]

    def residual(self, y):
        """(g(y), σ(u), σ'(u)) at u = a + θ₂y."""
        s, ds = self.activation.value_and_slope(self.a + self.theta2 * y)
        return y - s, s, ds

    def rounding_floor(self, y, s, ds):
        return _rounding_floor(y, s, ds, self.a, self.theta2)

    def tolerance(self, y, s, ds):
        return self.settings.atol + self.settings.rtol * np.abs(y)

    def step(self, y, g, s, ds, newton_step):
        """The Newton step g/g'."""
        return newton_step


class _PreactivationUnknown:
    """Newton on the pre-activation: h(u) = u − a − θ₂σ(u), h'(u) = 1 − θ₂σ'(u) ≥ m.

    Same root (y = σ(u), u = a + θ₂y) and the same slope as g, but for θ₂·L ≪ −1 the output
    is y = O(1/|θ₂|) — far below any absolute tolerance, and a + θ₂y cancels — while u stays
    O(1) (at most O(log|θ₂|) for a saturating σ) and y = σ(u) is then exact to rounding.
    Start u₀ = a, where h(a) = −θ₂σ(a).
    Tolerance: the step must be within atol + rtol·|u| in u and, through σ'(u), within
    rtol·|y| in y — relative only, since y may be far below any atol; where that is below
    float64 resolution the rounding floor of h, 4·eps·(|u| + |a| + |θ₂σ(u)|), or one ulp of
    u stops it (so y = σ(u) is exact to σ'(u)·eps·|u|: ~225 ulps of y at u ≈ −225).
    """

    error_factor = 0.0
    """No quadratic early stop: its bound holds for the exact step, but x − step cancels where
    u* ≪ u (tanh at a = 1e-270, θ₂ = −1e16: u* = a/(1 − θ₂)), and the step test costs one
    iteration more at most."""

    def __init__(self, a, theta2, activation, settings):
        self.a, self.theta2, self.activation, self.settings = a, theta2, activation, settings

    def start(self):
        return self.a.copy()

    def residual(self, u):
        """(h(u), σ(u), σ'(u))."""
        s, ds = self.activation.value_and_slope(u)
        return u - self.a - self.theta2 * s, s, ds

    def rounding_floor(self, u, s, ds):
        return ROUNDING_FLOOR_FACTOR * EPS * (np.abs(u) + np.abs(self.a) + np.abs(self.theta2 * s))

    def tolerance(self, u, s, ds):
        atol, rtol = self.settings.atol, self.settings.rtol
        with np.errstate(divide="ignore", invalid="ignore"):  # σ'(u) = 0: no limit from y
            return np.fmin(atol + rtol * np.abs(u), rtol * np.abs(s) / ds)

    def step(self, u, h, s, ds, newton_step):
        """Newton's step on G(u) = log|p| − log|q|, p = −θ₂σ(u), q = a − u (h = p − q), where
        p and q share a sign (as they do at the root) and differ by more than a factor e;
        else on h. In a tail where σ ~ eᵘ, h is exponential and Newton on it creeps ~1 per
        step from above (u* ≈ −log|θ₂|, so ~700 steps at θ₂ = −10³⁰⁰); G is nearly linear
        there. G' = p'/p + 1/q, p' = −θ₂σ'."""
        p, q = -self.theta2 * s, self.a - u
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            log_ratio = np.log(np.abs(p)) - np.log(np.abs(q))
            log_step = log_ratio / (-self.theta2 * ds / p + 1.0 / q)
        # near the root (p/q within a factor e of 1) the logarithms cancel: plain Newton
        far = (np.abs(log_ratio) > 1.0) & (p * q > 0) & np.isfinite(log_step)
        return np.where(far, log_step, newton_step)


PREACTIVATION_BELOW = -10.0
"""θ₂·L below this: Newton solves for u instead of y (:class:`_PreactivationUnknown`). The
y-form fails where |θ₂|·y = O(1) while y is below atol (θ₂ ≈ −1/atol), and is faster at
moderate feedback (tanh at θ₂L = −10: ≤ 20 iterations in y, 25 in u); −10 leaves four orders
of magnitude to the first failure at the default atol = 1e-14 … 1e-6."""


def bisection_point(lo, hi):
    """The point that halves [lo, hi]: in value while the bracket lies within a factor 4 of
    the larger of 1 and its nearer end (of 1 if it straddles 0), in the exponent beyond that
    (√(lo·hi) with the nearer end floored at 1 in magnitude; 0 for a bracket straddling 0).
    A bracket as wide as [−1.8e308, 1e300] (a far end clipped at overflow) reaches an O(1)
    root in about 11 halvings, not 1000, and a y-bracket such as [0, 0.5] is halved as usual.
    0.5·lo + 0.5·hi cannot overflow."""
    small, big = np.minimum(np.abs(lo), np.abs(hi)), np.maximum(np.abs(lo), np.abs(hi))
    straddles = (lo < 0.0) & (hi > 0.0)
    floor = np.where(straddles, 1.0, np.maximum(small, 1.0))
    geometric = np.where(straddles, 0.0, np.where(hi > 0.0, 1.0, -1.0) * np.sqrt(floor) * np.sqrt(big))
    return np.where(big > 4.0 * floor, geometric, 0.5 * lo + 0.5 * hi)


def _safeguarded_newton(unknown, m, guess):
    """Bracketed Newton (see :func:`newton`) on ``unknown`` from ``guess`` where it lies in
    the bracket. Returns (x, converged, iterations) for the unknown x (y or u)."""
    settings = unknown.settings
    x = unknown.start()
    reach = unknown.residual(x)[0] / m
    # the bracket's far end may overflow (|θ₂σ(a)| near the float64 limit): clip it
    far = np.clip(x - reach, -np.finfo(np.float64).max, np.finfo(np.float64).max)
    lo, hi = np.minimum(x, far), np.maximum(x, far)
    x = np.where((guess >= lo) & (guess <= hi), guess, x)
    g, s, ds = unknown.residual(x)
    last_step = step_before_last = 2.0 * (hi - lo)
    done = np.zeros(x.shape, dtype=bool)
    iterations = 0
    while iterations < settings.max_iter:
        iterations += 1
        slope = 1.0 - unknown.theta2 * ds
        step = g / slope
        abs_step = np.abs(step)
        # an infinite residual (θ₂σ overflowed) has an infinite floor: never "at the floor";
        # a step below half an ulp of x cannot move it: x is the root to one ulp
        at_floor = np.isfinite(g) & ((abs_step <= unknown.rounding_floor(x, s, ds) / slope)
                                     | (abs_step <= EPS * np.abs(x)))
        within = _converged_after_step(abs_step, g, unknown.tolerance(x, s, ds),
                                       unknown.error_factor, m)
        newly_done = (at_floor | within) & ~done
        hi = np.where(g > 0, np.minimum(hi, x), hi)
        lo = np.where(g < 0, np.maximum(lo, x), lo)
        # a converged sample takes the Newton step itself (its error is quadratically smaller)
        move = np.where(newly_done, step, unknown.step(x, g, s, ds, step))
        candidate = x - move
        bisect = ~(np.isfinite(candidate) & (candidate >= lo) & (candidate <= hi)
                   & (np.abs(move) <= 0.5 * step_before_last)) & ~newly_done
        candidate = np.where(bisect, bisection_point(lo, hi), candidate)
        step_before_last = last_step
        last_step = np.where(bisect, 0.5 * (hi - lo), np.abs(move))
        x = np.where(done | ~np.isfinite(candidate), x, candidate)
        done |= newly_done
        if done.all():
            break
        g, s, ds = unknown.residual(x)
    return x, done, iterations


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
    quadratically) or K·(|g|/m)² (:func:`newton_error_factor`, which saves an iteration) —
    or, in phase 2 only, |step| is at the float64 rounding floor of g.
    ``iterations`` counts both phases.

    For θ₂·L < −10 (:data:`PREACTIVATION_BELOW`) the unknown is the pre-activation u instead,
    h(u) = u − a − θ₂σ(u) with the same slope 1 − θ₂σ'(u), solved by phase 2 alone and
    returned as y = σ(u) (:class:`_PreactivationUnknown`): at θ₂ = −10¹⁶ the output is ~10⁻¹⁶,
    below the absolute tolerance, and a step test in y would accept a value 100 % off.
    """
    m = slope_lower_bound(theta2, activation)
    a = np.asarray(a, dtype=np.float64)
    if theta2 * activation.lipschitz < PREACTIVATION_BELOW:
        unknown = _PreactivationUnknown(a, theta2, activation, settings)
        u, done, iterations = _safeguarded_newton(unknown, m, unknown.start())
        return finish_preactivation(u, done, iterations, a, theta2, activation, "newton")
    error_factor = newton_error_factor(theta2, m, activation)
    fast_iterations = min(FAST_NEWTON_ITERATIONS, settings.max_iter)
    y, done, iterations = _plain_newton(a, theta2, activation, settings, m, error_factor,
                                        fast_iterations)
    if not done.all():
        rest = np.flatnonzero(~done)
        unknown = _OutputUnknown(a[rest], theta2, activation, settings, m)
        y_rest, done_rest, extra = _safeguarded_newton(unknown, m, y[rest])
        y[rest], done[rest] = y_rest, done_rest
        iterations += extra
    return finish(y, done, iterations, a, theta2, activation, "newton")


def newton_scalar(a: float, theta2: float, activation: Activation,
                  settings: NewtonSettings = NewtonSettings()) -> tuple[float, bool, int]:
    """One-sample fast path of :func:`newton` with ``math`` instead of numpy.

    Same bracket, stopping rule and safeguard as :func:`newton`; about 1 µs per iteration
    instead of ~15 µs of numpy call overhead. Returns ``(y, converged, iterations)``. For
    θ₂·L < −10 it is :func:`newton` on one sample (the pre-activation unknown).
    """
    if theta2 * activation.lipschitz < PREACTIVATION_BELOW:
        result = newton(np.array([float(a)]), theta2, activation, settings)
        return float(result.value[0]), bool(result.converged[0]), result.iterations
    m = slope_lower_bound(theta2, activation)
    error_factor = newton_error_factor(theta2, m, activation)
    f, df = activation.value_scalar, activation.slope_scalar
    y = f(a)
    reach = (y - f(a + theta2 * y)) / m
    # a root is a finite float, so the bracket is clipped to them: g's sign at an overflowed
    # u = a + θ₂y still bisects, where an infinite end would leave every midpoint infinite
    lo, hi = max(min(y, y - reach), -FLOAT_MAX), min(max(y, y - reach), FLOAT_MAX)
    last_step = step_before_last = 2.0 * (hi - lo)
    for iterations in range(1, settings.max_iter + 1):
        u = a + theta2 * y
        s, ds = f(u), df(u)
        g = y - s
        slope = 1.0 - theta2 * ds
        step = g / slope
        unit = ROUNDING_FLOOR_FACTOR * EPS  # each term scaled before the sum, as _rounding_floor
        floor = unit * abs(y) + unit * abs(s) + unit * ds * abs(a) + unit * ds * abs(theta2 * y)
        tolerance = max(settings.atol + settings.rtol * abs(y), floor / slope)
        # g or its rounding floor overflowed (u or σ(u) near the float limit): no test, the
        # sign of g still bisects
        if math.isfinite(g) and math.isfinite(tolerance) and (abs(step) <= tolerance or
                                 (error_factor and error_factor * (g / m) * (g / m) <= tolerance)):
            y -= step  # (g/m)·(g/m): a float's ** raises OverflowError where * gives inf
            return y, math.isfinite(y), iterations
        if g > 0:
            hi = min(hi, y)
        elif g < 0:
            lo = max(lo, y)
        step_before_last = last_step
        if lo <= y - step <= hi and abs(step) <= 0.5 * step_before_last:
            y, last_step = y - step, abs(step)
        else:  # halves of each end: lo + hi overflows for two ends near the float limit
            y, last_step = 0.5 * lo + 0.5 * hi, 0.5 * (hi - lo)
        if not math.isfinite(y):  # a NaN offset: the bracket is NaN from the start
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
