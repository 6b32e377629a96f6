"""REF-*: differential properties that pin *values*, not structure.

The theorems hold for any risk that depends on φ, so a wrong value (a moment, a quadrature
weight, a block offset, a status) can satisfy all of them. Each property here compares a
float64 core quantity with an independent computation — per-sample bracketed roots with
their own σ (:mod:`deqverify.reference.bracket`), adaptive quadrature in the data
coordinates (:mod:`deqverify.reference.quadrature`), mpmath — within a derived tolerance.

REF-FP       fixed points and per-sample statuses, any Newton settings, offsets up to ±1e307
             together with θ₂L down to −1e300; Picard and Anderson at loose tolerances, and
             where they are slowest (local rate near q = θ₂L ∈ [0.9, 0.99])
REF-BATCH    a batch equals its rows solved alone (bitwise); an overflowing sample is
             flagged alone, in any chunk; so is a non-finite offset, for every activation
REF-JAC      the IFT output Jacobian
REF-EMP      empirical risk value and gradient, any block size; a failed sample in any
             block makes the risk raise
REF-POP-LIN  linear population risk (Gaussian and uniform laws) against mpmath
REF-POP-SI   single-index population risk (Gaussian and uniform laws) against quadrature
REF-POP-ZERO the risk at θ₁ = 0 (its own branch) equals its limit θ₁ → 0
REF-GD       gradient-descent iterates against steps taken with the reference gradient
REF-GF       gradient-flow end points against an independent integration (scipy Radau)
REF-EDGE     descent that reaches the ill-posed set θ₂L ≥ 1 ends there with ILL_POSED
REF-GF-EDGE  a flow driven towards θ₂L = 1 stops on its event, every record before it on the
             well-posed side
REF-ACT      σ, σ', σ'' (vector, fused and scalar paths) against mpmath
REF-SLOPE-FLOOR  γ = min σ′ on an interval (A-act): closed forms, and a user's σ on a grid
REF-SAMPLE   Gaussian and uniform draws have the law's moments (6 standard errors)
REF-LAW      the laws' stated moments (uniform E[X²], Gaussian λ_min and λ_max) against mpmath
REF-VEC-DIAG a diagonal vector DEQ equals k scalar DEQs (bracketed roots), ‖W‖₂L up to 20
             (the non-contractive path) and batches over several chunks
"""

import numpy as np
import pytest
from hypothesis import event, example, given, settings, target
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import deqverify as dv
from deqverify import reference as ref
from deqverify.core import solve
from deqverify.reference import bracket, quadrature
from deqverify.reference.population import linear_population_risk
from deqverify.theorems.checking import examples_for
from deqverify.theorems.fixed_point import jacobian_allowance
from deqverify.core.data import PSD_TOLERANCE
from deqverify.core.models import SINGULAR_MARGIN
from deqverify.core.vector_solve import chunk_rows, rounding_floor
from deqverify.theorems.draws import contractions, covariances, far_contractions
from deqverify.theorems.spec import SINE
from deqverify.theorems.strategies import finite_floats

EPS = np.finfo(float).eps
TINY = np.finfo(float).tiny
SMOOTH = ("sigmoid", "tanh", "softplus")
ROOT_K = 16
"""The core's root is exact to its tolerance or to its rounding floor 4·eps·(|y| + |σ| +
σ'(|a| + |θ₂y|))/g' (solve.py); the bisection reference to ≈ 2·eps·(same scale)/g'. 16
covers both with a factor 2 to spare."""


def _preactivation_and_slope_from_output(activation, y):
    """(u, σ'(u)) with σ(u) = y, from y alone: far out (θ₂L ≪ −1) u = a + θ₂y cancels
    (a = 1e30, θ₂y ≈ −1e30), so u and the slope are read off y instead."""
    with np.errstate(divide="ignore", invalid="ignore"):
        if activation == "sigmoid":
            return np.log(y) - np.log1p(-y), y * (1.0 - y)
        if activation == "tanh":
            return np.arctanh(y), (1.0 - y) * (1.0 + y)
        return np.log(np.expm1(y)), -np.expm1(-y)  # softplus: σ' = 1 − e^{−y}


def root_allowance(y_ref, offsets, theta2, activation, settings_):
    """The declared tolerance plus the float64 floor of both roots (for Picard and Anderson, the
    rounding floor their stopping rules declare). Where the solver works in
    the pre-activation (θ₂L < −10: y ~ 1/|θ₂| may lie far below atol) its step is within
    rtol·|y|/σ'(u) in u or below one ulp of u, so y is within rtol·|y*| + σ'(u*)·eps·|u*| —
    a relative bound that an answer 100 % off cannot meet."""
    far = theta2 * bracket.lipschitz(activation) < -10.0  # the solver's promise (solve.newton)
    if far:
        u, slope = _preactivation_and_slope_from_output(activation, y_ref)
        ulp_of_u = np.nan_to_num(slope * EPS * np.abs(u))  # σ' = 0 where u = ±inf: nothing
        declared = settings_.rtol * np.abs(y_ref) + ulp_of_u
    else:
        slope = bracket.slope(activation, offsets + theta2 * y_ref)
        declared = settings_.atol + settings_.rtol * np.abs(y_ref)
    cond = 1.0 / (1.0 - theta2 * slope)
    scale = 2.0 * np.abs(y_ref) + slope * (np.abs(offsets) + np.abs(theta2 * y_ref))
    if settings_.method != "newton":
        # an iteration amplifies rounding by 1/(1 − q), q = |θ₂|L, not by the root's condition:
        # Picard stops at the floor 2δ/(1 − q) and its rounded iterates stray δ/(1 − q) more;
        # Anderson stops at |g| ≤ δ, i.e. δ/(1 − q) in y (solve.picard, solve.anderson), with
        # δ = 4eps(|y| + L(|a| + |θ₂y|)) — 3δ/(1 − q) covers both
        q = abs(theta2) * bracket.lipschitz(activation)
        lipschitz = bracket.lipschitz(activation)
        delta = solve.ROUNDING_FLOOR_FACTOR * EPS * (
            2.0 * np.abs(y_ref) + lipschitz * (np.abs(offsets) + np.abs(theta2 * y_ref)))
        declared = declared + 3.0 * delta / (1.0 - q)
    # below the normal range (sigmoid at a = −740: e⁻⁷⁴⁰ = 4.2e-322) floats lose their
    # relative precision, σ and the bisection with them: two such answers differ by < tiny
    return declared + ROOT_K * EPS * cond * scale + TINY


newton_settings = st.builds(
    dv.NewtonSettings,
    rtol=st.sampled_from([1e-14, 1e-12, 1e-10, 1e-8, 1e-6]),
    atol=st.sampled_from([1e-14, 1e-12, 1e-10, 1e-8, 1e-6]),
    max_iter=st.one_of(st.integers(1, 4), st.just(100)))
iteration_settings = st.one_of(*(
    st.builds(settings_class,
              rtol=st.sampled_from([1e-14, 1e-10, 1e-6]), atol=st.sampled_from([1e-14, 1e-10, 1e-6]),
              max_iter=st.one_of(st.integers(1, 4), st.just(default)))
    for settings_class, default in ((solve.PicardSettings, 100_000), (solve.AndersonSettings, 1_000))))
"""Picard and Anderson at loose tolerances: their stopping rules are a-posteriori bounds
(q/(1 − q)·|Δy|, |g(y)|/(1 − q)), which only an answer compared with the truth can test."""


@st.composite
def batches(draw, max_rows=40, huge=True):
    """(activation, θ, X): θ₂L ∈ [−10, 0.99] or down to −10³⁰⁰; some rows scaled by up to 10³⁰⁶ (offsets stay
    finite: |x| ≤ 3e306·2, |θ₁| ≤ 2, d ≤ 4, so |θ₁ᵀx| ≤ 4.8e307); one batch in four is
    tiled, each copy scaled differently, past :data:`deqverify.core.solve.CHUNK_SIZE` rows, so
    that different chunks are merged."""
    activation = draw(st.sampled_from(SMOOTH))
    n, d = draw(st.integers(1, max_rows)), draw(st.integers(1, 4))
    X = draw(hnp.arrays(np.float64, (n, d), elements=finite_floats(-3.0, 3.0)))
    if huge:
        exponents = draw(hnp.arrays(np.int64, n, elements=st.sampled_from([0, 0, 0, 2, 30, 300, 306])))
        X = X * 10.0 ** exponents[:, None]
    if draw(st.integers(0, 3)) == 0:  # one batch in four spans several solver chunks
        copies = solve.CHUNK_SIZE // n + 2
        scales = np.repeat(1.0 + np.arange(copies) / copies, n)  # chunks differ in content
        X = np.tile(X, (copies, 1)) * scales[:, None]
    theta1 = draw(hnp.arrays(np.float64, d, elements=finite_floats(-2.0, 2.0)))
    theta2 = draw(far_contractions()) / bracket.lipschitz(activation)
    return activation, np.r_[theta1, theta2], X


@settings(max_examples=examples_for("pointwise"))
@given(batches(), st.one_of(newton_settings, iteration_settings))
def test_REF_FP_roots_and_statuses_match_bracketed_roots(problem, solver_settings):
    """Every sample reported converged is within atol + rtol|y*| (+ rounding) of the
    bracketed root; the batch status is CONVERGED exactly when every sample converged. Newton
    at any coupling; Picard and Anderson (which need |θ₂|L < 1) at θ₂L clipped to ±0.99."""
    activation, theta, X = problem
    if solver_settings.method != "newton":
        lipschitz = bracket.lipschitz(activation)
        theta = np.r_[theta[:-1], np.clip(theta[-1] * lipschitz, -0.99, 0.99) / lipschitz]
    fp = dv.SingleIndexDEQ(activation, solver_settings.method, settings=solver_settings).fixed_point(theta, X)
    offsets = X @ theta[:-1]
    truth = bracket.fixed_points(offsets, theta[-1], activation)
    assert (fp.status is dv.Status.CONVERGED) == bool(fp.converged.all())
    assert fp.converged.shape == (X.shape[0],)
    finite_truth = np.isfinite(truth)
    assert not np.any(fp.converged & ~finite_truth), "a sample without a finite root reported converged"
    ok = fp.converged & finite_truth
    with np.errstate(invalid="ignore", over="ignore"):
        allowed = root_allowance(truth, offsets, theta[-1], activation, solver_settings)
        error = np.abs(fp.value - truth)
    ratio = np.divide(error, allowed, out=np.zeros_like(error), where=ok & (error > 0))
    target(float(np.max(ratio)), label="REF-FP error / allowed")
    assert np.all(error[ok] <= allowed[ok]), (error[ok], allowed[ok])
    if fp.status is dv.Status.CONVERGED:
        assert np.isfinite(fp.residual)


@settings(max_examples=examples_for("pointwise"))
@given(st.sampled_from(SMOOTH), finite_floats(0.9, 0.99), st.sampled_from(["picard", "anderson"]),
       st.sampled_from([1e-5, 1e-7, 1e-9]),
       hnp.arrays(np.float64, st.integers(1, 20), elements=finite_floats(-0.5, 0.5)))
def test_REF_FP_iterations_stop_within_their_tolerance_where_they_are_slowest(
        activation, contraction, method, tolerance, u):
    """Picard and Anderson where the local rate |θ₂σ'(u*)| is close to q = θ₂L ∈ [0.9, 0.99]:
    roots placed at pre-activations u* near σ's steepest point (a = u* − θ₂σ(u*)), so an
    a-posteriori stopping bound that lost its 1/(1 − q) stops up to 1/(1 − q) = 100× too early.
    Every converged sample is within the tolerance (+ the rounding floor) of the root."""
    lipschitz = bracket.lipschitz(activation)
    theta2 = contraction / lipschitz
    steepest = {"sigmoid": 0.0, "tanh": 0.0, "softplus": 8.0}[activation]  # softplus' → 1 as u → ∞
    u = u + steepest
    sigma = {"sigmoid": lambda v: 1 / (1 + np.exp(-v)), "tanh": np.tanh,
             "softplus": lambda v: np.log1p(np.exp(v))}[activation]
    offsets = u - theta2 * sigma(u)
    settings_ = (solve.PicardSettings if method == "picard" else solve.AndersonSettings)(rtol=0.0, atol=tolerance)
    fp = dv.SingleIndexDEQ(activation, method, settings=settings_).solve_offsets(offsets, theta2)
    truth = bracket.fixed_points(offsets, theta2, activation)
    allowed = root_allowance(truth, offsets, theta2, activation, settings_)
    error = np.abs(fp.value - truth)
    target(float(np.max(np.where(fp.converged, error / allowed, 0.0))), label="REF-FP iteration error / allowed")
    assert fp.converged.all() and np.all(error <= allowed), (error, allowed)


@settings(max_examples=examples_for("pointwise"))
@given(batches(), newton_settings, st.data())
def test_REF_BATCH_a_batch_equals_its_rows_solved_alone(problem, newton, data):
    """Same offsets in, same bits out (offsets are computed once: BLAS may round X @ θ₁
    differently for a 1-row and an n-row X, which is not the solver's doing), also when an
    extreme or overflowing sample shares the batch."""
    activation, theta, X = problem
    model = dv.SingleIndexDEQ(activation, settings=newton)
    offsets = X @ theta[:-1]
    # an extreme sample appended (softplus with θ₂ > 0 overflows at +1e307: a NaN sample)
    extreme = data.draw(st.sampled_from([None, 1e307, -1e307, 1e300]))
    batch = model.solve_offsets(offsets if extreme is None else np.r_[offsets, extreme], theta[-1])
    rows = data.draw(st.lists(st.integers(0, X.shape[0] - 1), min_size=1, max_size=5, unique=True))
    for i in rows:
        alone = model.solve_offsets(offsets[i:i + 1], theta[-1])
        np.testing.assert_array_equal(alone.value, batch.value[i:i + 1])
        assert alone.converged[0] == batch.converged[i]


@settings(max_examples=examples_for("pointwise"))
@given(hnp.arrays(np.float64, st.integers(1, 50), elements=finite_floats(-30.0, 30.0)),
       finite_floats(0.1, 0.99), st.booleans(), st.booleans())
def test_REF_BATCH_an_overflowing_sample_is_flagged_alone(offsets, contraction, at_end, many_chunks):
    """softplus with θ₂ > 0 at the offset 1.7e308: y = a/(1 − θ₂) overflows. That sample
    alone is NaN and not converged, the batch status says NON_FINITE, and every other
    sample is bitwise what it is without it — also when the batch spans several chunks and
    the bad sample sits in the last one."""
    if many_chunks:
        offsets = np.tile(offsets, solve.CHUNK_SIZE // offsets.size + 2)
    assert_flagged_alone(dv.SingleIndexDEQ("softplus"), offsets, contraction, 1.7e308, at_end)


def assert_flagged_alone(model, offsets, theta2, bad, at_end):
    """The offset ``bad`` inserted first or last: that sample alone is NaN and unconverged,
    the status NON_FINITE, every other sample bitwise what it is without it."""
    position = offsets.size if at_end else 0
    mixed = np.insert(offsets, position, bad)
    clean = model.solve_offsets(offsets, theta2)
    result = model.solve_offsets(mixed, theta2)
    assert result.status is dv.Status.NON_FINITE
    assert np.isnan(result.value[position]) and not result.converged[position]
    others = np.arange(mixed.size) != position
    np.testing.assert_array_equal(result.value[others], clean.value)
    np.testing.assert_array_equal(result.converged[others], clean.converged)


@settings(max_examples=examples_for("pointwise"))
@given(st.sampled_from(SMOOTH + ("relu", "identity")),
       hnp.arrays(np.float64, st.integers(1, 20), elements=finite_floats(-30.0, 30.0)),
       finite_floats(-0.99, 0.99), st.sampled_from([np.inf, -np.inf, np.nan]), st.booleans())
def test_REF_BATCH_a_non_finite_offset_is_flagged_alone(activation, offsets, contraction, bad, at_end):
    """θ₁ᵀx = ±inf or NaN (an overflowing input row), for every activation — the closed-form
    ones (ReLU, identity) included: that sample alone is NaN, not converged, the status is
    NON_FINITE, and every other sample is bitwise what it is without it."""
    model = _model(activation)
    assert_flagged_alone(model, offsets, contraction / model.activation.lipschitz, bad, at_end)


@settings(max_examples=examples_for("pointwise"))
@given(batches(huge=False))
def test_REF_JAC_output_jacobian_matches_the_bracketed_ift(problem):
    activation, theta, X = problem
    offsets = X @ theta[:-1]
    y = bracket.fixed_points(offsets, theta[-1], activation)
    factor = bracket.output_jacobian_factor(y, offsets, theta[-1], activation)
    exact = factor[:, None] * np.column_stack([X, y])
    jacobian = dv.SingleIndexDEQ(activation).output_jacobian(theta, X)
    allowed = jacobian_allowance(offsets, theta[-1], y, dv.get_activation(activation), exact)
    target(float(np.max(np.abs(jacobian - exact) / allowed)), label="REF-JAC error / allowed")
    assert np.all(np.abs(jacobian - exact) <= allowed)


@st.composite
def empirical_risks(draw):
    """(activation or "identity", θ, X, targets, block_rows) with n up to 300 and blocks of
    1..n rows (so n spans several blocks and need not be a multiple of the block)."""
    activation = draw(st.sampled_from(SMOOTH + ("identity",)))
    n, d = draw(st.integers(1, 300)), draw(st.integers(1, 4))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    X = rng.standard_normal((n, d)) * draw(finite_floats(0.1, 3.0))
    targets = rng.standard_normal(n)
    theta1 = draw(hnp.arrays(np.float64, d, elements=finite_floats(-2.0, 2.0)))
    if activation == "identity":
        theta2 = draw(st.one_of(finite_floats(-3.0, 0.9), finite_floats(1.1, 3.0)))
    else:
        theta2 = draw(finite_floats(-5.0, 0.99)) / bracket.lipschitz(activation)
    block = draw(st.integers(1, n))
    return activation, np.r_[theta1, theta2], X, targets, block


def _model(activation):
    return dv.LinearDEQ() if activation == "identity" else dv.SingleIndexDEQ(activation)


@settings(max_examples=examples_for("pointwise"))
@given(empirical_risks())
def test_REF_EMP_empirical_risk_matches_bracketed_roots_for_any_block_size(problem):
    activation, theta, X, targets, block = problem
    value, gradient = dv.EmpiricalRisk(_model(activation), X, targets, block_rows=block).value_and_gradient(theta)
    ref_value, ref_gradient = bracket.risk_and_gradient(theta, X, targets, activation)
    offsets = X @ theta[:-1]
    y = bracket.fixed_points(offsets, theta[-1], activation)
    error = y - targets
    factor = bracket.output_jacobian_factor(y, offsets, theta[-1], activation)
    cond = np.max(np.abs(1.0 + theta[-1] * factor))  # 1/(1 − θ₂σ') = 1 + θ₂c
    # per-sample root error δ ≤ 1e-13·cond (tolerance 1e-14 plus rounding); it moves R by
    # 2|e|δ and each gradient term by (|c| + |e|·|dc/dy|)·δ·|x| with |dc/dy| ≤ C₂|θ₂|·cond³:
    # allow 1e-12·cond³ times the sums of magnitudes, plus n·eps summation rounding.
    magnitude_value = np.mean(error * error) + 2 * np.mean(np.abs(error))
    features = np.column_stack([np.abs(X), np.abs(y)])
    magnitude_gradient = 2 * np.mean(((np.abs(error) + 1) * (np.abs(factor) + 1))[:, None] * features, axis=0)
    slack = 1e-12 * cond ** 3 + X.shape[0] * EPS
    assert abs(value - ref_value) <= slack * magnitude_value
    assert np.all(np.abs(gradient - ref_gradient) <= slack * magnitude_gradient)


@settings(max_examples=examples_for("pointwise"))
@given(hnp.arrays(np.float64, st.integers(1, 40), elements=finite_floats(-30.0, 30.0)),
       finite_floats(0.1, 0.99), st.data())
def test_REF_EMP_a_failed_sample_in_any_block_makes_the_risk_raise(offsets, contraction, data):
    """The risk is undefined when any forward solve fails: an overflowing sample (softplus,
    θ₂ > 0, offset 1.7e308) in the *last* block must raise ConvergenceError, whatever the
    block size — never a NaN or a value computed from the other blocks."""
    X = np.r_[offsets, 1.7e308][:, None]
    block = data.draw(st.integers(1, X.shape[0]))
    risk = dv.EmpiricalRisk(dv.SingleIndexDEQ("softplus"), X, np.zeros(X.shape[0]), block_rows=block)
    with pytest.raises(dv.ConvergenceError):
        risk.value_and_gradient(np.array([1.0, contraction]))


@st.composite
def population_problems(draw, linear: bool):
    """(model name, population, ξ, θ): every model on every population law."""
    activation = "identity" if linear else draw(st.sampled_from(SMOOTH))
    if draw(st.booleans()):
        low = draw(finite_floats(-2.0, 1.0))
        population = dv.UniformPopulation(low, low + draw(finite_floats(0.5, 3.0)))
        d = 1
    else:
        d = draw(st.integers(1, 3))
        rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
        root = rng.standard_normal((d, d))
        population = dv.GaussianPopulation(root @ root.T / d + 0.2 * np.eye(d))
    xi = draw(hnp.arrays(np.float64, d, elements=finite_floats(-2.0, 2.0)))
    theta1 = draw(hnp.arrays(np.float64, d, elements=finite_floats(-2.0, 2.0)))
    if not linear:  # norms up to 10³ (sharp σ and teacher transitions inside the range) and
        # down to 10⁻³¹ (a pre-activation range a few ulps wide: the degenerate limit)
        theta1 = np.where(np.abs(theta1) < 0.05, 0.05, theta1)  # θ₁ ≠ 0 (reference needs s > 0)
        theta1 = theta1 * 10.0 ** draw(st.sampled_from([0, 0, 1, 2, 3, -5, -16, -31]))
        xi = xi * 10.0 ** draw(st.sampled_from([0, 0, 1, 2, 3]))
    if linear:
        theta2 = draw(st.one_of(finite_floats(-3.0, 0.9), finite_floats(1.1, 3.0)))
    else:  # θ₂L down to −10⁸ too: the population's panel ends then come from newton_scalar's
        # pre-activation path (θ₂L < −10), which no other property reaches
        gain = draw(st.one_of(finite_floats(-3.0, 0.9), finite_floats(1.0, 8.0).map(lambda e: -10.0 ** e)))
        theta2 = gain / bracket.lipschitz(activation)
    return activation, population, xi, np.r_[theta1, theta2]


@settings(max_examples=examples_for("pointwise"))
@given(population_problems(linear=True))
def test_REF_POP_LIN_linear_population_risk_matches_mpmath(problem):
    _, population, xi, theta = problem
    value, gradient = dv.PopulationRisk(dv.LinearDEQ(), population, xi).value_and_gradient(theta)
    if isinstance(population, dv.UniformPopulation):  # E[x²] = (l² + lh + h²)/3, written again
        low, high = population.low, population.high
        second_moment = np.array([[(low * low + low * high + high * high) / 3.0]])
    else:
        second_moment = population.Sigma
    with ref.working_precision(40):
        exact_value, exact_gradient = linear_population_risk(theta, second_moment, xi)
        exact = np.array([ref.to_float(v) for v in [exact_value, *exact_gradient]])
    # closed form: O(d²) products and one division by 1 − θ₂ ⇒ 64·eps relative to the
    # magnitudes (|φ| + |ξ|)²·‖Σ‖/|1 − θ₂| of the terms
    phi = theta[:-1] / (1 - theta[-1])
    scale = (np.abs(phi).sum() + np.abs(xi).sum() + 1) ** 2 * np.abs(second_moment).max()
    allowed = 64 * EPS * scale / min(1.0, abs(1 - theta[-1])) ** 2
    assert np.all(np.abs(np.r_[value, gradient] - exact) <= allowed)


@settings(max_examples=max(5, examples_for("trajectory") // 2), deadline=None)
@given(population_problems(linear=False))
# a steep teacher on the uniform law, its transition inside the range and outside it (the
# latter raised a bare ValueError once): a short derandomised run may draw neither
@example(("tanh", dv.UniformPopulation(-1.0, 2.0), np.array([300.0]), np.array([0.5, 0.3])))
@example(("sigmoid", dv.UniformPopulation(1.0, 2.0), np.array([100.0]), np.array([0.05, 0.0])))
# a u-range of width 900 > 16 panels × 2.5: σ's own transition |u| ≤ 40 gets feature panels
@example(("sigmoid", dv.UniformPopulation(-1.0, 2.0), np.array([1.0]), np.array([300.0, 0.2])))
def test_REF_POP_SI_single_index_population_risk_matches_adaptive_quadrature(problem):
    activation, population, xi, theta = problem
    risk = dv.PopulationRisk(dv.SingleIndexDEQ(activation), population, xi)
    value, gradient = risk.value_and_gradient(theta)
    if isinstance(population, dv.UniformPopulation):
        exact, reference_error = quadrature.uniform_risk(theta, population.low, population.high, xi, activation)
    else:
        exact, reference_error = quadrature.gaussian_risk(theta, population.Sigma, xi, activation)
    own = max(risk.quadrature_error.value, risk.quadrature_error.gradient)
    # both rules report an error estimate; allow 10× their sum plus float64 summation
    allowed = 10 * (own + reference_error) + 1e3 * EPS * (1 + np.abs(exact))
    difference = np.abs(np.r_[value, gradient] - exact)
    target(float(np.max(difference / allowed)), label="REF-POP-SI error / allowed")
    assert np.all(difference <= allowed), (difference, own, reference_error)
    if isinstance(population, dv.UniformPopulation):
        # the uniform rule puts panel ends at every transition (σ's, the teacher's), so it is
        # accurate, not only honest: its estimate measured ≤ 1.2e-11 relative over this
        # generator; 1e-9 promises that with 100× to spare (an unresolved transition: 1e-4)
        assert own <= 1e-9 * (1 + abs(value) + np.abs(gradient).max()), own


@settings(max_examples=max(5, examples_for("trajectory") // 2), deadline=None)
@given(population_problems(linear=False), st.sampled_from([1e-300, 1e-200, 1e-100]))
def test_REF_POP_ZERO_the_risk_is_continuous_into_theta1_equal_zero(problem, scale):
    """At θ₁ = 0 the risk takes its own branch (a ≡ 0: one fixed point for every x); it must
    equal the limit θ₁ → 0, which REF-POP-SI pins down to ‖θ₁‖ = 1e-31 (the narrow-range
    rule). Moving θ₁ by ‖δ‖ ≤ 3e-100 changes R and ∇R by ≤ ‖∇²R‖·‖δ‖, far below rounding;
    so the two must agree within both rules' error estimates (10× their sum, as REF-POP-SI)
    plus float64 summation."""
    activation, population, xi, theta = problem
    risk = dv.PopulationRisk(dv.SingleIndexDEQ(activation), population, xi)
    at_zero = np.r_[np.zeros(theta.size - 1), theta[-1]]
    nearby = np.r_[scale * theta[:-1] / np.max(np.abs(theta[:-1])), theta[-1]]
    value_0, gradient_0 = risk.value_and_gradient(at_zero)
    own_0 = max(risk.quadrature_error.value, risk.quadrature_error.gradient)
    value_1, gradient_1 = risk.value_and_gradient(nearby)
    own_1 = max(risk.quadrature_error.value, risk.quadrature_error.gradient)
    allowed = 10 * (own_0 + own_1) + 1e3 * EPS * (1 + np.abs(np.r_[value_1, gradient_1]))
    difference = np.abs(np.r_[value_0, gradient_0] - np.r_[value_1, gradient_1])
    assert np.all(difference <= allowed), (difference, allowed)


@settings(max_examples=examples_for("pointwise"), deadline=None)
@given(population_problems(linear=False), st.booleans())
def test_REF_POP_ZERO_feature_moments_of_a_degenerate_teacher_have_their_closed_form(problem, null_direction):
    """Where ξᵀX = 0 almost surely (ξ = 0, or ξ in the null space of a rank-deficient Σ) the
    Gaussian rule takes its own branch (t = ‖ξ‖_Σ = 0). Then E[w(ξᵀX)·(X, σ)(X, σ)ᵀ] =
    w(0)·[[E XXᵀ, σ(0)E X], [·, σ(0)²]] exactly: w(0)·diag(Σ, σ(0)²) (Gaussian, E X = 0),
    with E X = (l + h)/2 and E X² = (l² + lh + h²)/3 (uniform). Both are a few roundings."""
    activation, population, _, _ = problem
    d = population.dim
    xi, Sigma = np.zeros(d), population.second_moment
    if null_direction and d > 1:  # Σ with a null direction v, and ξ = 3v
        v = np.eye(d)[0]
        Sigma = Sigma - np.outer(Sigma @ v, Sigma @ v) / (v @ Sigma @ v)
        population, xi = dv.GaussianPopulation(Sigma), 3.0 * v
    risk = dv.PopulationRisk(dv.SingleIndexDEQ(activation), population, xi)
    sigma_f = dv.get_activation(activation)
    w0, s0 = sigma_f.slope_scalar(0.0) ** 2, sigma_f.value_scalar(0.0)
    mean = np.full(d, (population.low + population.high) / 2) if isinstance(population, dv.UniformPopulation) else np.zeros(d)
    exact = w0 * np.block([[population.second_moment, s0 * mean[:, None]], [s0 * mean[None, :], np.array([[s0 * s0]])]])
    hessian = risk.hessian_at_truth()
    assert np.allclose(hessian, 2 * exact, rtol=1e-12, atol=1e-14 * np.abs(exact).max()), (hessian, 2 * exact)


@st.composite
def small_empirical_problems(draw):
    """(activation, θ₀, X, targets): n ≤ 20, a teacher-free regression at θ₂L ≤ 0.5."""
    activation = draw(st.sampled_from(SMOOTH + ("identity",)))
    n, d = draw(st.integers(2, 20)), draw(st.integers(1, 3))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    X, targets = rng.standard_normal((n, d)), rng.standard_normal(n) * 0.5
    theta1 = draw(hnp.arrays(np.float64, d, elements=finite_floats(-1.0, 1.0)))
    theta2 = draw(finite_floats(-1.0, 0.5)) / bracket.lipschitz(activation)
    return activation, np.r_[theta1, theta2], X, targets


@settings(max_examples=examples_for("trajectory"), deadline=None)
@given(small_empirical_problems(), finite_floats(0.01, 0.3), st.integers(1, 30))
def test_REF_GD_descent_iterates_are_steps_of_the_reference_gradient(problem, step, steps):
    activation, theta0, X, targets = problem
    run = dv.gradient_descent(dv.EmpiricalRisk(_model(activation), X, targets), theta0, step, steps)
    assert run.status is dv.RunStatus.COMPLETED
    np.testing.assert_array_equal(run.t, np.arange(steps + 1))
    np.testing.assert_array_equal(run.theta[0], theta0)
    for k in range(steps):
        value, gradient = bracket.risk_and_gradient(run.theta[k], X, targets, activation)
        expected = run.theta[k] - step * gradient
        # one step: η times the gradient difference allowed by REF-EMP (cond ≤ 2 here)
        allowed = 1e-11 * (1 + np.abs(run.theta[k])) + step * 1e-11 * (1 + np.abs(gradient))
        assert np.all(np.abs(run.theta[k + 1] - expected) <= allowed), k
        assert abs(run.risk[k] - value) <= 1e-11 * (1 + value)
        assert abs(run.grad_norm[k] - np.linalg.norm(gradient)) <= 1e-11 * (1 + np.linalg.norm(gradient))


@settings(max_examples=max(5, examples_for("trajectory") // 2), deadline=None)
@given(small_empirical_problems(), finite_floats(0.1, 2.0), st.data())
def test_REF_GF_flow_matches_an_independent_integration(problem, t_max, data):
    """θ(t) of the core's gradient flow against scipy's Radau on the bracketed-root
    gradient. Both run at rtol = 1e-10, atol = 1e-12; over t ≤ 2 the difference of two
    such solutions is ≤ ~1e-8 (a gradient flow of a smooth risk: error growth ≤ e^{ℓt} with
    ℓ the Hessian bound, ≤ 3 here); 1e-6·(1 + |θ|) leaves a factor 100. Records are taken
    at drawn times (``t_eval``) half the time; a flow that approaches θ₂L = 1 ends on the
    event, every earlier record on the well-posed side of it."""
    from scipy.integrate import solve_ivp

    activation, theta0, X, targets = problem
    fractions = data.draw(st.one_of(st.none(), st.lists(finite_floats(0.0, 1.0), min_size=1, max_size=6,
                                                         unique=True)), label="t_eval / t_max")
    t_eval = None if fractions is None else np.unique(np.array(fractions) * t_max)
    run = dv.gradient_flow(dv.EmpiricalRisk(_model(activation), X, targets), theta0, t_max, n_records=5,
                           t_eval=t_eval)
    event(f"REF-GF: {run.status}")
    if run.status is not dv.RunStatus.COMPLETED:
        assert run.status is dv.RunStatus.SINGULAR_APPROACH  # stopped honestly before θ₂L = 1
        assert_ends_on_the_event(run, activation)
        return
    if t_eval is not None:
        assert np.array_equal(run.t, t_eval if t_eval[-1] == t_max else np.append(t_eval, t_max))
    independent = solve_ivp(lambda _, theta: -bracket.risk_and_gradient(theta, X, targets, activation)[1],
                            (0.0, t_max), theta0, method="Radau", t_eval=run.t, rtol=1e-10, atol=1e-12)
    assert independent.success
    difference = np.abs(run.theta - independent.y.T)
    target(float(np.max(difference)), label="REF-GF difference")
    assert np.all(difference <= 1e-6 * (1 + np.abs(independent.y.T)))
    for theta, value, norm in zip(run.theta, run.risk, run.grad_norm):  # what the run recorded
        ref_value, ref_gradient = bracket.risk_and_gradient(theta, X, targets, activation)
        assert abs(value - ref_value) <= 1e-11 * (1 + ref_value)
        assert abs(norm - np.linalg.norm(ref_gradient)) <= 1e-11 * (1 + np.linalg.norm(ref_gradient))


def assert_ends_on_the_event(run, activation):
    """The flow stopped where 1 − θ₂L = SINGULAR_MARGIN (the event's root, located to ~eps in
    t: θ₂ is then off by |θ₂'|·δt ≪ 1e-9), every earlier record on the well-posed side."""
    gap = 1.0 - run.theta[:, -1] * bracket.lipschitz(activation)
    assert abs(gap[-1] - SINGULAR_MARGIN) <= 1e-9, gap[-1]
    assert np.all(gap[:-1] >= SINGULAR_MARGIN - 1e-12), gap


@settings(max_examples=max(5, examples_for("trajectory") // 2), deadline=None)
@given(st.sampled_from(("sigmoid", "tanh")),
       hnp.arrays(np.float64, st.tuples(st.integers(2, 20), st.integers(1, 3)), elements=finite_floats(-2.0, 2.0)),
       finite_floats(1.2, 3.0), finite_floats(0.5, 0.95), st.integers(0, 2**32 - 1))
def test_REF_GF_EDGE_a_flow_driven_to_the_ill_posed_set_ends_on_its_event(activation, X, level, contraction, seed):
    """REF-GF-EDGE: targets above σ's range (y ≤ 1 < level) drive θ₂L up towards 1; the flow
    must stop on the singular-approach event (status SINGULAR_APPROACH), never past it."""
    theta0 = np.r_[np.random.default_rng(seed).standard_normal(X.shape[1]) * 0.3,
                   contraction / bracket.lipschitz(activation)]
    run = dv.gradient_flow(dv.EmpiricalRisk(_model(activation), X, np.full(X.shape[0], level)), theta0, 40.0)
    event(f"REF-GF-EDGE: {run.status}")
    if run.status is dv.RunStatus.SINGULAR_APPROACH:
        assert_ends_on_the_event(run, activation)
    else:
        assert run.status is dv.RunStatus.COMPLETED, run.message


@settings(max_examples=examples_for("pointwise"))
@given(st.sampled_from(SMOOTH), st.one_of(finite_floats(-40.0, 40.0), finite_floats(-740.0, 740.0)))
def test_REF_ACT_activation_values_and_derivatives_match_mpmath(name, z):
    """σ, σ', σ'' (vector, fused and scalar paths) against mpmath at 40 digits. Each is a
    few operations on correctly rounded exp/log1p/tanh: 8 ulps relative, plus an absolute
    1e-300 where the exact value underflows; σ'' = σ'·(1 − 2σ) (sigmoid) or −2σσ' (tanh)
    cancels near its zero, so its error is measured against 16·eps·σ'."""
    import mpmath

    activation = dv.get_activation(name)
    with ref.working_precision(40):
        point = ref.to_mp(z)
        exact = [ref.to_float(v) for v in (activation.mp_f(point), activation.mp_df(point),
                                           mpmath.diff(activation.mp_df, point))]
    array = np.array([z])
    fused_value, fused_slope = activation.value_and_slope(array)
    candidates = {
        "f": (activation.f(array)[0], exact[0]), "value_and_slope[0]": (fused_value[0], exact[0]),
        "value_scalar": (activation.value_scalar(z), exact[0]), "f(scalar)": (activation.f(z), exact[0]),
        "df": (activation.df(array)[0], exact[1]), "value_and_slope[1]": (fused_slope[0], exact[1]),
        "slope_scalar": (activation.slope_scalar(z), exact[1]),
    }
    for label, (value, truth) in candidates.items():
        assert abs(value - truth) <= 8 * EPS * abs(truth) + 1e-300, (label, value, truth)
    curvature = activation.d2f(array)[0]
    assert abs(curvature - exact[2]) <= 16 * EPS * (abs(exact[2]) + exact[1]) + 1e-300, (curvature, exact[2])


@settings(max_examples=examples_for("pointwise"))
@given(st.sampled_from(["sigmoid", "tanh", "softplus", "relu", "identity", "sine"]),
       st.one_of(finite_floats(-40.0, 40.0), finite_floats(-1e3, 1e3)), finite_floats(0.0, 20.0), st.booleans())
@example(name="sine", lo=3.0, width=0.2, swapped=False)  # an interior minimum, cos(π) = −1
def test_REF_SLOPE_FLOOR_the_slope_floor_is_the_minimum_of_the_slope(name, lo, width, swapped):
    """γ = min_{[lo, hi]} σ′ (A-act), either argument order. Each built-in's σ′ is monotone or
    peaks once at 0, so γ = min(σ′(lo), σ′(hi)), to a few ulps. A user's σ without a closed-form
    floor (sine) is minimised on a grid of 4097 points, spacing h = (hi − lo)/4096: at most
    h²/8·max|σ‴| = h²/8 above the true minimum — −1 where [lo, hi] holds an odd multiple
    of π, else min(cos lo, cos hi)."""
    activation = SINE if name == "sine" else dv.get_activation(name)
    hi = lo + width
    floor = activation.slope_floor(hi, lo) if swapped else activation.slope_floor(lo, hi)
    if name != "sine":
        exact = min(activation.slope_scalar(lo), activation.slope_scalar(hi))
        # σ′ by another path: ulps apart, or (σ′ subnormal, e.g. sigmoid′(710)) TINY absolute
        assert abs(floor - exact) <= 4 * EPS * exact + TINY, (floor, exact)
        return
    trough = np.ceil((lo - np.pi) / (2 * np.pi)) * 2 * np.pi + np.pi  # the first odd multiple of π ≥ lo
    exact = -1.0 if trough <= hi else min(np.cos(lo), np.cos(hi))
    assert exact - 4 * EPS <= floor <= exact + (width / 4096) ** 2 / 8 + 4 * EPS, (floor, exact)


@st.composite
def edge_runs(draw):
    """A single-index regression started at θ₂L ∈ [0.9, 0.999] whose targets pull θ₂ up
    (targets well above what the model can reach), with steps large enough to jump past
    θ₂L = 1: the runs that approach or cross the ill-posed set."""
    activation = draw(st.sampled_from(SMOOTH))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    n, d = draw(st.integers(2, 12)), draw(st.integers(1, 3))
    X = rng.standard_normal((n, d))
    targets = rng.standard_normal(n) + draw(finite_floats(1.0, 5.0))
    lip = bracket.lipschitz(activation)
    theta0 = np.r_[rng.standard_normal(d) * 0.3, draw(finite_floats(0.9, 0.999)) / lip]
    return activation, theta0, X, targets


@settings(max_examples=examples_for("trajectory"), deadline=None)
@given(edge_runs(), finite_floats(0.01, 5.0), st.integers(1, 40))
def test_REF_EDGE_descent_stops_with_the_right_status_at_the_ill_posed_set(problem, step, steps):
    """Every iterate with a recorded risk is well posed (θ₂L < 1) and its risk is the
    bracketed-root risk; a run that reaches θ₂L ≥ 1 ends ILL_POSED there, the offending
    iterate recorded last with no risk."""
    activation, theta0, X, targets = problem
    lip = bracket.lipschitz(activation)
    run = dv.gradient_descent(dv.EmpiricalRisk(dv.SingleIndexDEQ(activation), X, targets), theta0, step, steps)
    event(f"status {run.status}")
    valued = np.isfinite(run.risk)
    assert np.all(run.theta[valued, -1] * lip < 1.0)
    for theta, value in zip(run.theta[valued], run.risk[valued]):
        assert abs(value - bracket.risk_and_gradient(theta, X, targets, activation)[0]) <= 1e-9 * (1 + value)
    if run.status is dv.RunStatus.ILL_POSED:
        assert run.theta[-1, -1] * lip >= 1.0 and not valued[-1] and valued[:-1].all()
    else:
        assert run.status in (dv.RunStatus.COMPLETED, dv.RunStatus.DIVERGED), run.status
        assert valued.all()


# -- REF-POP-VEC: the linear vector population risk, pinned by an independent route ---------
# The identities VEC-ORTH/CONS/RADIUS/SCALE hold for *any* value of the offset c and any
# readout vector a in the closed form (they only see its outer-product structure), so the
# closed form's values need a reference of their own: ŷ(x) = pᵀx + c is read off the forward
# solver at x = 0 and x = eⱼ (no population code involved), R = (p − ξ)ᵀΣ(p − ξ) + c², and
# the gradient is checked against Richardson differences of R.

@st.composite
def linear_vector_populations(draw):
    from deqverify.theorems.vector_strategies import invertible_complement

    k, d = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    W = invertible_complement(draw, k)
    vector = lambda size: np.array([draw(finite_floats(-1.5, 1.5)) for _ in range(size)])  # noqa: E731
    params = dv.VectorParams(W, vector(k * d).reshape(k, d), vector(k), vector(k))
    Sigma = draw(covariances(d, condition_max=10.0))
    return params, Sigma, vector(d)


@settings(max_examples=examples_for("pointwise"), deadline=None)
@given(linear_vector_populations())
def test_REF_POP_VEC_linear_vector_population_risk_matches_the_forward_solver(problem):
    from deqverify.theorems.fixed_point import _risk_gradient_vs_differences

    params, Sigma, xi = problem
    k, d = params.width, params.dim
    model = dv.VectorDEQ(k, "identity")
    risk = dv.PopulationRisk(model, dv.GaussianPopulation(Sigma), xi)
    value = risk.value(params)
    outputs = model.output(params, np.vstack([np.zeros(d), np.eye(d)]))
    c, p = outputs[0], outputs[1:] - outputs[0]
    expected = float((p - xi) @ Sigma @ (p - xi) + c * c)
    # forward outputs carry ≈ cond(A)·k·eps relative error each; R is a quadratic in them
    cond = np.linalg.cond(params.A)
    scale = float(np.abs(p - xi) @ np.abs(Sigma) @ (np.abs(p) + np.abs(xi)) + c * c) + 1.0
    assert abs(value - expected) <= 64 * (k + d) * np.finfo(float).eps * cond * scale
    holds, margin, detail = _risk_gradient_vs_differences(risk, params.flat)
    target(-margin, label="REF-POP-VEC gradient vs differences −margin")
    assert holds, detail


SAMPLE_SIZE = 20_000
SAMPLE_SIGMAS = 6.0
"""Moment estimates from n draws are off by ≤ 6 standard errors except with probability
~2e-9 per entry (the runs are seeded, so a pass is reproducible, not luck drawn again)."""


@settings(max_examples=max(10, examples_for("trajectory")))
@given(st.integers(1, 4).flatmap(lambda d: covariances(d, zero_eigenvalues=0)), st.integers(0, 2**32 - 1))
def test_REF_SAMPLE_gaussian_draws_have_the_stated_moments(Sigma, seed):
    """GaussianPopulation(Σ).sample draws N(0, Σ): sample mean and covariance within 6
    standard errors of 0 and Σ (sd of Ŝᵢⱼ = √((Σᵢⱼ² + ΣᵢᵢΣⱼⱼ)/n)); a sampler drawing with
    covariance Σ² or without centring fails."""
    X = dv.GaussianPopulation(Sigma).sample(SAMPLE_SIZE, np.random.default_rng(seed))
    diagonal = np.diag(Sigma)
    assert np.all(np.abs(X.mean(axis=0)) <= SAMPLE_SIGMAS * np.sqrt(diagonal / SAMPLE_SIZE))
    empirical = X.T @ X / SAMPLE_SIZE
    spread = np.sqrt((Sigma ** 2 + np.outer(diagonal, diagonal)) / SAMPLE_SIZE)
    assert np.all(np.abs(empirical - Sigma) <= SAMPLE_SIGMAS * spread), (empirical, Sigma)


@settings(max_examples=max(10, examples_for("trajectory")))
@given(finite_floats(-1e3, 1e3), finite_floats(1e-3, 1e3), st.integers(0, 2**32 - 1))
def test_REF_SAMPLE_uniform_draws_have_the_stated_moments(low, width, seed):
    """UniformPopulation(l, h).sample: inside [l, h], mean (l + h)/2 and variance (h − l)²/12
    within 6 standard errors (sd of the mean (h − l)/√(12n), of the variance (h − l)²/√(180n))."""
    high = low + width
    X = dv.UniformPopulation(low, high).sample(SAMPLE_SIZE, np.random.default_rng(seed))[:, 0]
    assert X.min() >= low and X.max() <= high
    assert abs(X.mean() - (low + high) / 2) <= SAMPLE_SIGMAS * width / np.sqrt(12 * SAMPLE_SIZE)
    assert abs(X.var() - width ** 2 / 12) <= SAMPLE_SIGMAS * width ** 2 / np.sqrt(180 * SAMPLE_SIZE)


@settings(max_examples=examples_for("pointwise"))
@given(st.one_of(finite_floats(-1e3, 1e3), finite_floats(-1e8, 1e8)), finite_floats(1e-6, 1e3))
@example(low=1e8, width=1e-6)  # a narrow law far from 0: b³ − a³ cancels all its digits
def test_REF_LAW_the_uniform_laws_second_moment_against_mpmath(low, width):
    """REF-LAW: E[X²] of U[a, b] and its λ_min = λ_max (d = 1), against (a² + ab + b²)/3 in
    mpmath from the same floats a, b: a few roundings, so 4 eps relative."""
    import mpmath

    law = dv.UniformPopulation(low, low + width)
    with ref.working_precision(40):
        a, b = ref.to_mp(law.low), ref.to_mp(law.high)
        exact = ref.to_float((a * a + a * b + b * b) / 3)
    for value in (law.second_moment[0, 0], law.lambda_min, law.lambda_max):
        assert abs(value - exact) <= 4 * EPS * exact, (value, exact, mpmath.mpf(value) / exact - 1)


@settings(max_examples=examples_for("pointwise"))
@given(st.integers(1, 4).flatmap(lambda d: covariances(d)))
def test_REF_LAW_the_gaussian_laws_extreme_eigenvalues_against_mpmath(Sigma):
    """REF-LAW: λ_min and λ_max of N(0, Σ) against mpmath's symmetric eigensolver at 40 digits;
    eigenvalues below the law's PSD tolerance are 0 (rank-deficient). LAPACK's eigh is
    backward stable: each eigenvalue within a small multiple of eps·‖Σ‖₂."""
    import mpmath

    law = dv.GaussianPopulation(Sigma)
    with ref.working_precision(40):
        exact = sorted(ref.to_float(v) for v in mpmath.eigsy(mpmath.matrix(law.Sigma.tolist()), eigvals_only=True))
    allowance = 16 * law.Sigma.shape[0] * EPS * max(abs(exact[0]), abs(exact[-1]))
    assert abs(law.lambda_max - exact[-1]) <= allowance
    if law.rank_deficient:
        assert law.lambda_min == 0.0 and abs(exact[0]) <= PSD_TOLERANCE * exact[-1] + allowance
    else:
        assert abs(law.lambda_min - exact[0]) <= allowance


@settings(max_examples=examples_for("trajectory"), deadline=None)
@given(activation=st.sampled_from(("tanh", "sigmoid", "softplus")), k=st.integers(1, 16), data=st.data())
def test_REF_VEC_DIAG_a_diagonal_vector_deq_is_k_scalar_deqs(activation, k, data):
    """REF-VEC-DIAG: with W = diag(d) the vector DEQ z = σ(Wz + x) decouples into k scalar
    DEQs z_i = σ(d_i z_i + x_i), each with its own bracketed root. Couplings d_i·L from 0.99
    down to −20 (‖W‖₂L up to 20 under allow_noncontractive: the globalised path with its line
    search and backtracking), batches that span several row chunks one time in four. Every
    coordinate within the solver's stopping residual (atol + rtol‖z*‖, or its rounding floor)
    times its condition number, plus rounding."""
    lipschitz = bracket.lipschitz(activation)
    d = np.array(data.draw(st.lists(contractions(-20.0, 0.99), min_size=k, max_size=k), label="dL")) / lipschitz
    rows = 2 * chunk_rows(k) + 1 if data.draw(st.integers(0, 3), label="chunks") == 0 else \
        data.draw(st.integers(1, 20), label="n")
    seed = data.draw(st.integers(0, 2**32 - 1), label="seed")
    X = np.random.default_rng(seed).uniform(-30.0, 30.0, size=(rows, k))
    params = dv.VectorParams(np.diag(d), np.eye(k), np.zeros(k), np.ones(k))
    fp = dv.VectorDEQ(k, activation, allow_noncontractive=True).fixed_point(params, X)
    truth = np.column_stack([bracket.fixed_points(X[:, i], d[i], activation) for i in range(k)])
    assert fp.converged.all(), fp.status
    settings_ = solve.DEFAULT_SETTINGS["newton"]
    slope = bracket.slope(activation, X + d * truth)
    cond = 1.0 / (1.0 - d * slope)
    scale = 2.0 * np.abs(truth) + slope * (np.abs(X) + np.abs(d * truth))
    # the solver stops when ‖F‖ ≤ max(atol + rtol‖z‖, its rounding floor) (vector_solve: the
    # floor bounds the float64 noise of ‖F‖, with L·|p| for the pre-activation's rounding)
    stop = np.maximum(settings_.atol + settings_.rtol * np.linalg.norm(truth, axis=1),
                      rounding_floor(truth, X, np.diag(d), lipschitz))[:, None]
    allowed = cond * stop + ROOT_K * EPS * cond * scale + TINY
    error = np.abs(fp.value - truth)
    target(float(np.max(error / allowed)), label="REF-VEC-DIAG error / allowed")
    assert np.all(error <= allowed), (float(np.max(error / allowed)), d * lipschitz)
