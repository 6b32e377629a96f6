"""FP-1 and FP-2 as Hypothesis properties over generated well-posed problems, and the solver's
own contracts:

REF-FP-LIMIT   past FP-3's limit a typed refusal, inside it the root (any σ, monotone or not)
REF-FP-SCALAR  the one-sample Newton path agrees with the batched solver, to and past the
               float limit and under an iteration budget
REPR           a model's repr is the call that rebuilds it
"""

import math

import numpy as np
import pytest
from hypothesis import example, given, settings, target
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import deqverify as dv
from deqverify import reference as ref
from deqverify.core import solve
from deqverify.theorems.fixed_point import jacobian_allowance
from deqverify.theorems.checking import examples_for
from deqverify.theorems.strategies import finite_floats, fixed_point_problems
from deqverify.theorems.spec import SINE

EPS = np.finfo(float).eps
ROUNDING_K = 8  # float64 root of g is fixed to ≈ 2 eps·scale/(1 − θ₂σ'); 8 leaves a factor 4


@given(fixed_point_problems())
def test_FP1_newton_converges_to_the_unique_root(problem):
    activation, theta, X = problem
    fp = dv.SingleIndexDEQ(activation).fixed_point(theta, X)
    assert fp.status is dv.Status.CONVERGED
    offsets, theta2 = X @ theta[:-1], theta[-1]
    y = fp.value
    # FP-1 residual: |g(y)| ≤ g'·|y − y*| with g' ≤ 1 + |θ₂|L and |y − y*| within tolerance
    slope_max = 1.0 + abs(theta2) * activation.lipschitz
    allowed = slope_max * (1e-14 + 1e-14 * np.abs(y)) + ROUNDING_K * EPS * (np.abs(y) + np.abs(offsets))
    residuals = np.abs(y - activation.f(offsets + theta2 * y))
    target(float(np.max(residuals / allowed)), label="FP-1 residual / allowed")
    assert np.all(residuals <= allowed)


@given(fixed_point_problems(low=-0.95, high=0.95))
def test_FP1_every_solver_agrees_where_picard_contracts(problem):
    activation, theta, X = problem
    offsets, theta2 = X @ theta[:-1], theta[-1]
    newton = solve.newton(offsets, theta2, activation)
    cond = 1.0 / (1.0 - abs(theta2) * activation.lipschitz)  # ≤ 20 here
    scale = np.maximum(1.0, np.abs(newton.value))
    for method in (solve.picard, solve.anderson):
        other = method(offsets, theta2, activation)
        assert other.status is dv.Status.CONVERGED
        # each solver is within tolerance (1e-14 rel) or its rounding floor (k·eps·cond)
        allowed = 2 * (1e-14 + ROUNDING_K * EPS * cond)
        assert np.all(np.abs(other.value - newton.value) <= allowed * scale), method.__name__


@given(fixed_point_problems(high=0.9))
def test_FP1_newton_matches_mpmath_root(problem):
    activation, theta, X = problem
    offsets, theta2 = X[:5] @ theta[:-1], theta[-1]
    y = solve.newton(offsets, theta2, activation).value
    with ref.working_precision(40):
        truth = np.array([ref.to_float(ref.fixed_point(a, theta2, activation)) for a in offsets])
    cond = 1.0 / (1.0 - theta2 * activation.df(offsets + theta2 * truth))
    allowed = np.maximum(1e-13, ROUNDING_K * EPS * cond) * np.maximum(1.0, np.abs(truth))
    target(float(np.max(np.abs(y - truth) / allowed)), label="FP-1 error / allowed")
    assert np.all(np.abs(y - truth) <= allowed)


@given(fixed_point_problems(low=-0.99, high=0.99))
def test_FP2_denominator_bounded_below(problem):
    """FP-2: |1 − θ₂σ'(u)| ≥ 1 − |θ₂|L at every fixed point."""
    activation, theta, X = problem
    fp = dv.SingleIndexDEQ(activation).fixed_point(theta, X)
    denominator = np.abs(1.0 - theta[-1] * fp.slope)
    bound = 1.0 - abs(theta[-1]) * activation.lipschitz
    assert np.all(denominator >= bound * (1 - 4 * EPS))


@given(fixed_point_problems(high=0.9))
def test_FP2_ift_gradient_matches_mpmath(problem):
    activation, theta, X = problem
    X = X[:4]
    jacobian = dv.SingleIndexDEQ(activation).output_jacobian(theta, X)
    with ref.working_precision(40):
        exact = np.array([[ref.to_float(v) for v in ref.output_and_jacobian(theta, x, activation)[1]]
                          for x in X])
    y = dv.SingleIndexDEQ(activation).fixed_point(theta, X).value
    allowed = jacobian_allowance(X @ theta[:-1], theta[-1], y, activation, exact)
    target(float(np.max(np.abs(jacobian - exact) / allowed)), label="FP-2 error / allowed")
    assert np.all(np.abs(jacobian - exact) <= allowed)


@given(fixed_point_problems(high=0.9))
def test_FP2_ift_gradient_matches_central_differences(problem):
    activation, theta, X = problem
    model = dv.SingleIndexDEQ(activation)
    jacobian = model.output_jacobian(theta, X)

    def difference(h):
        columns = []
        for k in range(theta.size):
            step = np.zeros_like(theta)
            step[k] = h
            columns.append((model.fixed_point(theta + step, X).value
                            - model.fixed_point(theta - step, X).value) / (2 * h))
        return np.stack(columns, axis=1)

    coarse, fine = difference(1e-3), difference(5e-4)
    scale = max(1.0, float(np.abs(model.fixed_point(theta, X).value).max()))
    rounding = 1e3 * EPS * scale * 10  # ≈ eps·|y|·cond/h per quotient
    fine_error = np.max(np.abs(fine - jacobian))
    assert fine_error <= np.max(np.abs(coarse - jacobian)) / 4 * 1.25 + rounding
    assert np.max(np.abs((4 * fine - coarse) / 3 - jacobian)) <= 0.1 * fine_error + rounding


@settings(max_examples=examples_for("pointwise"), deadline=None)
@given(st.sampled_from(["sigmoid", "tanh", "softplus", "relu", "sine"]), finite_floats(0.5, 1.5),
       st.booleans(), hnp.arrays(np.float64, st.integers(1, 8), elements=finite_floats(-5.0, 5.0)))
def test_REF_FP_LIMIT_past_the_uniqueness_limit_a_typed_refusal_inside_it_the_root(name, gain, negative, offsets):
    """FP-3's limit, θ₂·L < 1 for a nondecreasing σ and |θ₂|·L < 1 otherwise: at or past it
    the solver refuses with a typed error naming the limit (ReLU: no fixed point where
    θ₁ᵀx > 0); inside it every sample converges to a root of y = σ(a + θ₂y), certified by
    g(y) = y − σ(a + θ₂y) within the solver's rounding floor and g' = 1 − θ₂σ' > 0 there."""
    activation = SINE if name == "sine" else dv.get_activation(name)
    theta2 = (-gain if negative else gain) / activation.lipschitz
    past = gain >= 1.0 and (not negative or not activation.monotone)
    model = dv.SingleIndexDEQ(activation)
    if past:
        with pytest.raises((dv.NonContractiveError, dv.NoFixedPointError), match="θ₂"):
            model.solve_offsets(offsets, theta2).raise_for_status()
        return
    result = model.solve_offsets(offsets, theta2)
    assert result.converged.all(), result.status
    y = result.value
    u = offsets + theta2 * y
    slope = activation.df(u)
    assert np.all(1.0 - theta2 * slope > 0)
    # |g(y)| = |g(y) − g(y*)| ≤ sup|g'|·|y − y*| ≤ (1 + |θ₂|L)·(atol + rtol|y|), the solver's
    # promise, plus the rounding of evaluating g (a few ulps of each term)
    tolerance = model.settings.atol + model.settings.rtol * np.abs(y)
    floor = 8 * EPS * (np.abs(y) + np.abs(activation.f(u)) + np.abs(slope) * (np.abs(offsets) + np.abs(theta2 * y)))
    assert np.all(np.abs(y - activation.f(u)) <= (1 + abs(theta2) * activation.lipschitz) * tolerance + floor)


SETTINGS = {"newton": dv.NewtonSettings, "picard": dv.PicardSettings, "anderson": dv.AndersonSettings}
REBUILD = {name: getattr(dv, name) for name in ("LinearDEQ", "SingleIndexDEQ", "VectorDEQ", *(s.__name__ for s in SETTINGS.values()))}


@st.composite
def configured_models(draw):
    """Any model a user can build from the built-ins: scalar or vector, any method, default or
    own settings, a vector model's allow_noncontractive and frozen parts."""
    method = draw(st.sampled_from(sorted(SETTINGS)))
    settings = draw(st.one_of(st.none(), st.builds(SETTINGS[method], rtol=finite_floats(1e-14, 1e-6),
                                                   atol=finite_floats(1e-14, 1e-6), max_iter=st.integers(50, 5000))))
    activation = draw(st.sampled_from(["sigmoid", "tanh", "softplus", "relu", "identity"]))
    kind = draw(st.sampled_from(["linear", "single-index", "vector"]))
    if kind == "linear":
        return dv.LinearDEQ()
    if kind == "single-index":
        return dv.SingleIndexDEQ(activation, method, settings)
    return dv.VectorDEQ(draw(st.integers(1, 3)), activation, method, settings,
                        allow_noncontractive=draw(st.booleans()),
                        frozen=tuple(draw(st.lists(st.sampled_from(["W", "U", "b", "v"]), unique=True, max_size=3))))


@settings(max_examples=examples_for("pointwise"), deadline=None)
@given(configured_models(), st.integers(0, 2**32 - 1))
def test_REPR_a_models_repr_is_the_call_that_rebuilds_it(model, seed):
    """REPR: eval(repr(model)) builds a model with the same options (method, settings,
    allow_noncontractive, frozen), which solves a batch bitwise like the original — so a
    report or a stored counterexample that prints a model can be run again."""
    rebuilt = eval(repr(model), REBUILD)  # noqa: S307 (our own repr, built-in names only)
    assert type(rebuilt) is type(model) and repr(rebuilt) == repr(model)
    for option in ("method", "settings", "allow_noncontractive", "frozen", "width"):
        assert getattr(rebuilt, option, None) == getattr(model, option, None), option
    rng = np.random.default_rng(seed)
    if isinstance(model, dv.VectorDEQ):
        k = model.width
        params = dv.VectorParams(0.3 * np.eye(k) / k, rng.standard_normal((k, 2)), rng.standard_normal(k), np.ones(k))
        X = rng.standard_normal((5, 2))
        first, second = model.fixed_point(params, X), rebuilt.fixed_point(params, X)
    else:
        theta, X = np.r_[rng.standard_normal(2), 0.3], rng.standard_normal((5, 2))
        first, second = model.fixed_point(theta, X), rebuilt.fixed_point(theta, X)
    assert np.array_equal(first.value, second.value) and first.status == second.status


@settings(max_examples=examples_for("pointwise"), deadline=None)
@given(st.sampled_from(["identity", "softplus", "sigmoid", "tanh", "relu"]),
       st.one_of(finite_floats(-50.0, 50.0), finite_floats(-1.7e308, 1.7e308),
                 st.sampled_from([1.7e308, -1.7e308, 1e308, -1e308, math.inf, -math.inf, math.nan])),
       st.one_of(finite_floats(-3.0, 0.99), finite_floats(-1e6, -10.0)), st.sampled_from([None, 1, 2, 3]))
@example(name="tanh", a=math.nan, gain=0.5, max_iter=None)  # a NaN offset: the bracket is NaN, so is every midpoint
@example(name="sigmoid", a=30.0, gain=-3.0, max_iter=1)  # Newton needs more than one step here
def test_REF_FP_SCALAR_the_one_sample_path_agrees_with_the_batched_solver(name, a, gain, max_iter):
    """``newton_scalar`` (the Python-float path of risks with few samples) against ``newton``
    on one sample, out to offsets at the float limit where y, u or the bracket overflow, and
    past it (±inf, NaN): both converge to the same root within the tolerance of each (or its
    rounding floor), or neither converges; never a converged answer that the other refutes.
    With an iteration budget of 1–3 (``max_iter``) the one-sample path may run out: then it
    says so (not converged, the whole budget used); what it calls converged is still the root."""
    activation = dv.get_activation(name)
    theta2 = gain / activation.lipschitz
    budget = solve.NewtonSettings() if max_iter is None else solve.NewtonSettings(max_iter=max_iter)
    y, converged, used = solve.newton_scalar(a, theta2, activation, budget)
    batched = solve.newton(np.array([a]), theta2, activation)
    if max_iter is not None and not converged:
        assert used == max_iter or not math.isfinite(a), (used, max_iter)
        return
    assert converged == bool(batched.converged[0]), (y, batched.value, batched.status)
    if converged:
        reference = float(batched.value[0])
        assert math.isfinite(y)
        # each stops within atol + rtol|y| of the root, or within its rounding floor (≈ 4 eps
        # of the terms of g over g' ≥ 1 − θ₂L⁺): 16 eps·(|y| + |a| + |θ₂y|) covers both floors
        allowed = 2 * (1e-14 + 1e-14 * abs(reference)) + 16 * EPS * (abs(reference) + abs(a) + abs(theta2 * reference))
        assert abs(y - reference) <= allowed, (y, reference)
