"""Forward solvers (FP-1): agreement, accuracy against mpmath, iteration bounds, statuses."""

import numpy as np
import pytest
from scipy.optimize import brentq

from deqverify import reference as ref
from deqverify.core import solve
from deqverify.core.activations import SIGMOID, SOFTPLUS
from deqverify.core.errors import ConvergenceError, NonContractiveError
from deqverify.core.models import SingleIndexDEQ
from deqverify.reference import bracket

EPS = np.finfo(float).eps
NEWTON_TOLERANCE = 1e-13
"""Issue 2: the returned y lies within 1e-13·max(1, |y|) of the true root."""
ROUNDING_K = 8
"""Float64 evaluation of g(y) = y − σ(a + θ₂y) carries ≈ 2 ulps of max(|y|, |u|·σ'), so the
root of the computed g is fixed only to ≈ 2·eps·scale/(1 − θ₂σ'); 8 leaves a factor 4."""


def true_roots(offsets, theta2, activation):
    with ref.working_precision(50):
        return np.array([ref.to_float(ref.fixed_point(a, theta2, activation))
                         for a in offsets])


def offsets_for(activation, theta2, rng, size=400):
    """N(0, 3²) offsets plus, for sigmoid, the band where the slope 1 − θ₂σ' is smallest."""
    offsets = rng.normal(scale=3.0, size=size)
    if activation is SIGMOID and theta2 > 0:
        offsets = np.r_[offsets, -theta2 / 2 + np.linspace(-0.05, 0.05, 41)]
    return offsets


def condition(offsets, y, theta2, activation):
    """1/(1 − θ₂σ'(u)): the condition number of the fixed point."""
    slope = activation.df(offsets + theta2 * y)
    return 1.0 / (1.0 - theta2 * slope)


@pytest.mark.parametrize("contraction", [-10, -5, -1, 0.0, 0.5, 0.9, 0.99, 0.999])
def test_newton_matches_mpmath_root(smooth_activation, contraction, rng):
    theta2 = contraction / smooth_activation.lipschitz
    offsets = offsets_for(smooth_activation, theta2, rng)
    result = solve.newton(offsets, theta2, smooth_activation)
    assert result.status is solve.Status.CONVERGED and result.converged.all()
    truth = true_roots(offsets, theta2, smooth_activation)
    error = np.abs(result.value - truth) / np.maximum(1.0, np.abs(truth))
    cond = condition(offsets, truth, theta2, smooth_activation)
    attainable = ROUNDING_K * EPS * cond  # float64 limit where cond > 1e-13/(8 eps) ≈ 56
    assert np.all(error <= np.maximum(NEWTON_TOLERANCE, attainable)), (
        f"worst error {error.max():.3g} at offset {offsets[error.argmax()]!r}")
    well_conditioned = attainable <= NEWTON_TOLERANCE
    if contraction <= 0.9:  # cond ≤ 10 everywhere: the 1e-13 bound applies to every sample
        assert well_conditioned.all()
    assert well_conditioned.any()
    assert np.all(error[well_conditioned] <= NEWTON_TOLERANCE)


@pytest.mark.parametrize("contraction", [-0.9, -0.5, 0.0, 0.5, 0.9])
def test_solvers_agree(smooth_activation, contraction, rng):
    theta2 = contraction / smooth_activation.lipschitz
    offsets = rng.normal(scale=2.0, size=2000)
    newton = solve.newton(offsets, theta2, smooth_activation)
    scale = np.maximum(1.0, np.abs(newton.value))
    for method in (solve.picard, solve.anderson):
        other = method(offsets, theta2, smooth_activation)
        assert other.status is solve.Status.CONVERGED
        assert np.max(np.abs(other.value - newton.value) / scale) <= 1e-12, method.__name__
    subsample = offsets[:50]
    brent = np.array([
        brentq(lambda y, a=a: y - smooth_activation.f(a + theta2 * y), -1e3, 1e3,
               xtol=1e-15, rtol=4 * EPS) for a in subsample])
    assert np.max(np.abs(brent - newton.value[:50]) / scale[:50]) <= 1e-12


@pytest.mark.parametrize("contraction", [-10, -5, -1, 0.5, 0.9, 0.99, 0.999])
def test_newton_iterations_bounded(smooth_activation, contraction, rng):
    theta2 = contraction / smooth_activation.lipschitz
    offsets = np.r_[rng.normal(scale=5.0, size=20000), np.linspace(-40, 40, 2001)]
    result = solve.newton(offsets, theta2, smooth_activation)
    assert result.status is solve.Status.CONVERGED
    assert result.iterations <= 20


def test_picard_contracts_by_q(rng):
    """FP-1: Picard error shrinks by at most q = |θ₂|L per step."""
    theta2 = 0.8 / SIGMOID.lipschitz
    offsets = rng.normal(size=500)
    truth = solve.newton(offsets, theta2, SIGMOID).value
    y = SIGMOID.f(offsets)
    error = np.abs(y - truth)
    for _ in range(10):
        y = SIGMOID.f(offsets + theta2 * y)
        new_error = np.abs(y - truth)
        assert np.all(new_error <= 0.8 * error + 4 * EPS)
        error = new_error


@pytest.mark.parametrize("solver", [solve.newton, solve.picard, solve.anderson])
def test_residual_within_tolerance(solver, smooth_activation, rng):
    theta2 = 0.9 / smooth_activation.lipschitz
    offsets = rng.normal(scale=2.0, size=3000)
    result = solver(offsets, theta2, smooth_activation)
    y = result.value
    residuals = np.abs(y - smooth_activation.f(offsets + theta2 * y))
    # |g(y)| ≤ g'·|y − y*| ≤ (1 + |θ₂|L)·(tolerance + rounding floor)
    allowed = (1 + 0.9) * (1e-14 + 1e-14 * np.abs(y)) + ROUNDING_K * EPS * (np.abs(y) + np.abs(offsets))
    assert np.all(residuals <= allowed)
    # the result recomputes σ with the fused value-and-slope kernel: equal to within an ulp
    assert result.residual == pytest.approx(residuals.max(), abs=2 * EPS * np.abs(y).max())


def test_saturated_sigmoid_inputs():
    offsets = np.r_[-700.0, -300.0, -40.0, 40.0, 300.0, 700.0]
    for theta2 in (-10 / 0.25, 0.5 / 0.25, 0.999 / 0.25):
        result = solve.newton(offsets, theta2, SIGMOID)
        assert result.status is solve.Status.CONVERGED
        truth = true_roots(offsets, theta2, SIGMOID)
        assert np.all(np.abs(result.value - truth) <= NEWTON_TOLERANCE * np.maximum(1, truth))
        assert np.all(np.isfinite(result.slope))


def test_newton_step_onto_bracket_end_keeps_converged_root():
    """Regression: θ₂ = 0 makes y₀ = σ(a) the exact root and the bracket [y₀, y₀] a point;
    the tiniest θ₂ leaves the root within an ulp of both bracket ends. The solver must
    return that root, not bisect away from it."""
    offsets = np.array([-3.0, 0.0, 0.7, 5.0])
    for theta2 in (0.0, 1e-300, -1e-300, 5e-324, 1e-17):
        result = solve.newton(offsets, theta2, SIGMOID)
        assert result.status is solve.Status.CONVERGED
        np.testing.assert_allclose(result.value, SIGMOID.f(offsets), rtol=2 * EPS, atol=0)
        assert result.iterations <= 2


def test_stopping_test_triggers_at_large_y_small_slope():
    """Regression: softplus, θ₂ = 0.9/L, y ≈ 10a: g is pure rounding noise at the root, so
    a purely relative test at 1e-14 could never fire; the rounding-floor test must."""
    offsets = np.array([1e3, 1e6, 1e10, 1e15])
    result = solve.newton(offsets, 0.9, SOFTPLUS)
    assert result.status is solve.Status.CONVERGED
    assert result.iterations <= 20
    np.testing.assert_allclose(result.value, offsets / 0.1, rtol=100 * EPS)


def test_max_iterations_is_reported_not_hidden(rng):
    offsets = rng.normal(size=100)
    result = solve.picard(offsets, 0.99 / 0.25, SIGMOID, solve.PicardSettings(max_iter=3))
    assert result.status is solve.Status.MAX_ITERATIONS
    assert not result.converged.any()
    with pytest.raises(ConvergenceError, match="max_iter"):
        result.raise_for_status()


def test_one_sample_never_contaminates_another():
    """A sample that overflows is NON_FINITE alone; the others are exact."""
    offsets = np.array([0.5, 1e308, -1.0])
    with np.errstate(over="ignore", invalid="ignore"):
        result = solve.newton(offsets, 0.9, SOFTPLUS)
    assert result.status is solve.Status.NON_FINITE
    assert result.converged.tolist() == [True, False, True]
    assert np.isnan(result.value[1])
    clean = solve.newton(offsets[[0, 2]], 0.9, SOFTPLUS)
    np.testing.assert_array_equal(result.value[[0, 2]], clean.value)


def test_picard_refuses_non_contractive():
    with pytest.raises(NonContractiveError, match="method='newton'"):
        solve.picard(np.zeros(3), -5 / 0.25, SIGMOID)


def test_newton_handles_theta2_below_minus_one_over_l(smooth_activation, rng):
    """θ₂ = −5/L: unique root, Picard diverges, Newton converges (FP-1)."""
    theta2 = -5 / smooth_activation.lipschitz
    offsets = rng.normal(scale=3, size=300)
    result = solve.newton(offsets, theta2, smooth_activation)
    assert result.status is solve.Status.CONVERGED
    y = smooth_activation.f(offsets)
    for _ in range(200):
        y = smooth_activation.f(offsets + theta2 * y)
    assert np.max(np.abs(y - result.value)) > 1e-3  # Picard does not reach it


def test_scalar_path_matches_vectorised(smooth_activation, rng):
    for contraction in (-5, 0.5, 0.99):
        theta2 = contraction / smooth_activation.lipschitz
        offsets = rng.normal(scale=3, size=200)
        vector = solve.newton(offsets, theta2, smooth_activation).value
        scalar = np.array([solve.newton_scalar(a, theta2, smooth_activation)[0] for a in offsets])
        truth = true_roots(offsets, theta2, smooth_activation)
        for y in (vector, scalar):
            cond = condition(offsets, truth, theta2, smooth_activation)
            assert np.all(np.abs(y - truth) <= np.maximum(NEWTON_TOLERANCE, ROUNDING_K * EPS * cond)
                          * np.maximum(1, np.abs(truth)))


def test_merge_results_keeps_worst_status():
    a = solve.newton(np.zeros(3), 0.5, SIGMOID)
    b = solve.picard(np.ones(3), 3.96, SIGMOID, solve.PicardSettings(max_iter=1))
    merged = solve.merge_results([a, b])
    assert merged.status is solve.Status.MAX_ITERATIONS
    assert merged.converged.tolist() == [True] * 3 + [False] * 3


def test_scalar_path_without_curvature_bound_iterates_to_the_root():
    """Regression (found by `deqverify fuzz --theorem FP-2 --drop A-act`): with no curvature
    bound the scalar path's early-stop test must not pass vacuously on the first iteration."""
    import deqverify as dv

    sine = dv.Activation("sine", np.sin, np.cos, lambda z: -np.sin(z), lipschitz=1.0, monotone=False)
    y, converged, iterations = solve.newton_scalar(1.0, 0.5, sine)
    assert converged and iterations > 1
    assert abs(y - np.sin(1.0 + 0.5 * y)) <= 4 * EPS
    risk = dv.EmpiricalRisk(dv.SingleIndexDEQ(sine), [[1.0]], [0.3])
    h = 1e-6
    numeric = [(risk.value(np.array([1.0, 0.5]) + h * e) - risk.value(np.array([1.0, 0.5]) - h * e)) / (2 * h)
               for e in np.eye(2)]
    np.testing.assert_allclose(risk.gradient([1.0, 0.5]), numeric, rtol=1e-7)


@pytest.mark.parametrize("theta2", [-1e12, -1e16, -1e20, -1e100, -1e300])
@pytest.mark.parametrize("scale", [1.0, 1e30, 1e300])
def test_strong_negative_feedback_gives_the_root_to_relative_accuracy(smooth_activation, theta2, scale):
    """θ₂ ≪ 0 (issue: sigmoid at θ₂ = −1e16 reported converged, residual 0.11, 96–100 % off):
    y ~ 1/|θ₂| lies far below atol, so the solver works in u = a + θ₂y. Every sample is
    converged, its relative error is at the rounding floor of the bisected reference (which
    resolves y in adjacent floats, 4·eps·(1 + |a|/|θ₂y|) relative, cond ≤ 1), and the residual
    of a converged answer is at float64 rounding, never O(1)."""
    offsets = scale * np.array([0.3, -0.5, 0.8, -2.0, 7.0, 1e-300])
    result = solve.newton(offsets, theta2, smooth_activation)
    truth = bracket.fixed_points(offsets, theta2, smooth_activation.name)
    assert result.status is solve.Status.CONVERGED, result
    # rtol (1e-14, relative: the u-path's y-side test), u resolved to one ulp (σ'·eps·|u|,
    # |u| ≤ 750 where y is normal: 750·eps), and the reference's rounding floor
    floor = 4 * EPS * (1.0 + np.abs(offsets) / np.maximum(np.abs(theta2 * truth), np.abs(offsets) * EPS))
    allowed = (1e-14 + 750 * EPS + floor) * np.abs(truth)
    assert np.all(np.abs(result.value - truth) <= allowed), (result.value, truth)
    assert result.residual <= 4 * EPS * max(1.0, float(np.max(np.abs(result.value)))), result.residual


def test_the_issue_reproduction_is_converged_and_right():
    """The reported case, through the model: sigmoid, θ = (0.3, −0.5, 0.8, −1e16)."""
    X = np.random.default_rng(0).normal(size=(50, 3))
    theta = np.r_[0.3, -0.5, 0.8, -1e16]
    result = SingleIndexDEQ("sigmoid").fixed_point(theta, X)
    truth = bracket.fixed_points(X @ theta[:-1], theta[-1], "sigmoid")
    assert result.status is solve.Status.CONVERGED and result.residual < 1e-28
    np.testing.assert_allclose(result.value, truth, rtol=1e-14, atol=0)


@pytest.mark.parametrize("lo,hi,expected", [(-1.8e308, 1e300, 0.0), (1.0, 3.0, 2.0), (1e-300, 1e300, 1e150),
                                            (-1e300, -1e-300, -1e150), (0.0, 0.5, 0.25), (-0.1, 0.5, 0.2)])
def test_bisection_halves_wide_brackets_in_the_exponent(lo, hi, expected):
    """A bracket spanning orders of magnitude is halved in the exponent, so a clipped far end
    (±1.8e308) reaches an O(1) root in ~11 halvings; a narrow one in value, without overflow."""
    assert solve.bisection_point(np.array([lo]), np.array([hi]))[0] == pytest.approx(expected, rel=1e-12)
