"""Vector DEQ core: parameters, solvers, certified bounds, gradients, risks, dynamics, bad
input — each behaviour checked against an independent computation."""

import math

import numpy as np
import pytest

import deqverify as dv
from deqverify.core.activations import get_activation
from deqverify.reference import vector_twin
from deqverify.reference.precision import to_float, working_precision

ACTIVATIONS = ["tanh", "sigmoid", "softplus", "relu", "identity"]


def random_params(rng, k, d, activation="tanh", q=0.9):
    W = rng.normal(size=(k, k))
    W *= q / (np.linalg.norm(W, 2) * get_activation(activation).lipschitz)
    return dv.VectorParams(W, rng.normal(size=(k, d)), rng.normal(size=k), rng.normal(size=k))


def central_differences(risk, theta, h=1e-6):
    return np.array([(risk.value(theta + e) - risk.value(theta - e)) / (2 * h)
                     for e in np.eye(theta.size) * h])


# -- parameters ---------------------------------------------------------------------------
def test_flat_round_trip_is_exact(rng):
    params = random_params(rng, 3, 5)
    again = dv.VectorParams.from_flat(params.flat, 3, 5)
    for name in ("W", "U", "b", "v"):
        np.testing.assert_array_equal(getattr(again, name), getattr(params, name))
    assert params.flat.size == 9 + 15 + 3 + 3
    np.testing.assert_array_equal(params.flat[:9], params.W.ravel())  # row-major W first


@pytest.mark.parametrize("parts, fragment", [
    (dict(W=np.zeros((2, 3)), U=np.zeros((2, 2)), b=np.zeros(2), v=np.zeros(2)), "square"),
    (dict(W=np.zeros((2, 2)), U=np.zeros((3, 2)), b=np.zeros(2), v=np.zeros(2)), "U must have shape"),
    (dict(W=np.zeros((2, 2)), U=np.zeros((2, 2)), b=np.zeros(3), v=np.zeros(2)), "b must have shape"),
    (dict(W=np.zeros((2, 2)), U=np.zeros((2, 2)), b=np.zeros(2), v=np.zeros(1)), "v must have shape"),
    (dict(W=[[np.nan, 0], [0, 0]], U=np.zeros((2, 2)), b=np.zeros(2), v=np.zeros(2)), "NaN"),
    (dict(W=np.zeros((2, 2)), U=[["a", "b"], ["c", "d"]], b=np.zeros(2), v=np.zeros(2)), "dtype"),
    (dict(W=np.zeros((0, 0)), U=np.zeros((0, 2)), b=np.zeros(0), v=np.zeros(0)), "non-empty"),
])
def test_bad_parameters_raise_typed_errors(parts, fragment):
    with pytest.raises(dv.InvalidInputError, match=fragment):
        dv.VectorParams(**parts)


def test_params_are_read_only_copies(rng):
    W = np.zeros((2, 2))
    params = dv.VectorParams(W, np.ones((2, 3)), np.zeros(2), np.ones(2))
    W[0, 0] = 5.0
    assert params.W[0, 0] == 0.0
    with pytest.raises(ValueError):
        params.W[0, 0] = 1.0


def test_flat_of_wrong_length_says_how_to_build_it():
    with pytest.raises(dv.InvalidInputError, match=r"length k² \+ k·d \+ 2k = 14"):
        dv.VectorParams.from_flat(np.zeros(13), 2, 3)


@pytest.mark.parametrize("kwargs, fragment", [
    (dict(width=0), "width"), (dict(width=2.5), "width"), (dict(width=2, method="euler"), "method"),
    (dict(width=2, frozen=("Q",)), "frozen"), (dict(width=2, activation="nosuch"), "activation"),
    (dict(width=2, settings=dv.PicardSettings()), "settings"),
    (dict(width=2, allow_noncontractive="yes"), "allow_noncontractive"),
])
def test_bad_model_arguments_raise_typed_errors(kwargs, fragment):
    with pytest.raises(dv.DEQError, match=fragment):
        dv.VectorDEQ(**kwargs)


def test_parameters_must_match_the_data(rng):
    model = dv.VectorDEQ(3, "tanh")
    with pytest.raises(dv.InvalidInputError, match="width 3 and dim 4.*data dim 2"):
        model.fixed_point(random_params(rng, 3, 4), rng.normal(size=(5, 2)))
    with pytest.raises(dv.InvalidInputError, match="width"):
        dv.VectorDEQ(2, "tanh").fixed_point(random_params(rng, 3, 2), rng.normal(size=(5, 2)))


# -- well-posedness -----------------------------------------------------------------------
def test_non_contractive_W_raises_with_the_fix(rng):
    params = random_params(rng, 3, 2, q=1.2)
    with pytest.raises(dv.NonContractiveError, match="‖W‖₂·L = 1.2.*allow_noncontractive"):
        dv.VectorDEQ(3, "tanh").fixed_point(params, rng.normal(size=(4, 2)))


def test_non_contractive_but_unique_is_solved_honestly_when_allowed(rng):
    """W = −(3/L)·I: ‖W‖₂L = 3, yet z ↦ z − tanh(−3z + p) is strictly increasing, so the
    root is unique; Newton with the opt-in finds it, and no bound is claimed."""
    k, d = 2, 3
    params = dv.VectorParams(-3.0 * np.eye(k), rng.normal(size=(k, d)), np.zeros(k), np.ones(k))
    X = rng.normal(size=(50, d))
    result = dv.VectorDEQ(k, "tanh", allow_noncontractive=True).fixed_point(params, X)
    assert result.status is dv.Status.CONVERGED
    assert np.all(np.isinf(result.error_bound))
    z = result.value
    np.testing.assert_allclose(z, np.tanh(z @ params.W.T + X @ params.U.T), atol=1e-13)


def test_singular_linear_model_raises(rng):
    W = np.eye(2) - np.array([[1.0, 2.0], [2.0, 4.0]])  # I − W has rank 1
    params = dv.VectorParams(W, np.ones((2, 2)), np.zeros(2), np.ones(2))
    with pytest.raises(dv.SingularDEQError, match="σ_min"):
        dv.VectorDEQ(2, "identity").fixed_point(params, np.ones((3, 2)))


# -- solvers ------------------------------------------------------------------------------
@pytest.mark.parametrize("activation", ACTIVATIONS)
@pytest.mark.parametrize("method", ["newton", "anderson", "picard"])
def test_certified_bound_holds_against_mpmath(activation, method, rng):
    k, d = 4, 3
    params = random_params(rng, k, d, activation, q=0.95)
    X = rng.normal(size=(6, d)) * 2
    result = dv.VectorDEQ(k, activation, method).fixed_point(params, X)
    assert result.status is dv.Status.CONVERGED
    with working_precision(40):
        exact = np.array([[to_float(v) for v in vector_twin.fixed_point(
            params.W, params.U, params.b, x, get_activation(activation))] for x in X])
    errors = np.linalg.norm(result.value - exact, axis=1)
    assert np.all(errors <= result.error_bound)
    assert np.all(result.error_bound < 1e-11)  # and the bound is useful, not vacuous


@pytest.mark.parametrize("q", [0.5, 0.9, 0.99, 0.999])
def test_newton_iterations_stay_few_up_to_the_contraction_limit(q, rng):
    params = random_params(rng, 8, 5, "tanh", q=q)
    result = dv.VectorDEQ(8, "tanh").fixed_point(params, rng.normal(size=(200, 5)) * 3)
    assert result.status is dv.Status.CONVERGED
    assert result.iterations <= 20


def test_picard_reports_max_iterations_honestly(rng):
    params = random_params(rng, 3, 2, "tanh", q=0.999)
    model = dv.VectorDEQ(3, "tanh", "picard", dv.PicardSettings(max_iter=5))
    result = model.fixed_point(params, rng.normal(size=(10, 2)) * 3)
    assert result.status is dv.Status.MAX_ITERATIONS
    assert not result.converged.all()
    with pytest.raises(dv.ConvergenceError):
        result.raise_for_status()


def test_a_sample_never_changes_another(rng):
    """Each row solved alone agrees with the batch within both certified bounds (BLAS may sum
    a 1-row and a 20-row product in different orders: the last ulp may differ), with the same
    status; an overflowing row is flagged alone."""
    k, d = 3, 2
    params = random_params(rng, k, d, "tanh", q=0.9)
    X = rng.normal(size=(20, d))
    X[7] = [1e308, -1e308]  # X @ Uᵀ overflows for this row only
    model = dv.VectorDEQ(k, "tanh")
    batch = model.fixed_point(params, X)
    assert batch.status is dv.Status.NON_FINITE
    assert np.flatnonzero(~batch.converged).tolist() == [7]
    for i in (0, 6, 8, 19):
        alone = model.fixed_point(params, X[i:i + 1])
        assert alone.converged[0] and batch.converged[i]
        gap = np.linalg.norm(alone.value[0] - batch.value[i])
        assert gap <= alone.error_bound[0] + batch.error_bound[i]


def test_chunks_do_not_change_the_answer(rng):
    """More rows than one solver chunk (2²⁰/k² rows): same values as small batches."""
    k, d = 64, 2
    params = random_params(rng, k, d, "tanh", q=0.9)
    X = rng.normal(size=(300, d))
    model = dv.VectorDEQ(k, "tanh")
    whole = model.fixed_point(params, X).value
    parts = np.vstack([model.fixed_point(params, X[i:i + 100]).value for i in range(0, 300, 100)])
    np.testing.assert_allclose(whole, parts, rtol=0, atol=1e-13)


# -- gradients and risks ------------------------------------------------------------------
@pytest.mark.parametrize("activation", ["tanh", "sigmoid", "softplus", "identity"])
def test_adjoint_gradient_matches_mpmath_and_differences(activation, rng):
    k, d, n = 3, 4, 6
    params = random_params(rng, k, d, activation, q=0.8)
    X, targets = rng.normal(size=(n, d)), rng.normal(size=n)
    risk = dv.EmpiricalRisk(dv.VectorDEQ(k, activation), X, targets)
    gradient = risk.gradient(params)
    with working_precision(40):
        _, parts = vector_twin.risk_and_gradient(params.W, params.U, params.b, params.v, X,
                                                 targets, get_activation(activation))
        exact = np.concatenate([np.array([[to_float(v) for v in row] for row in parts[name].tolist()]).ravel()
                                for name in ("W", "U", "b", "v")])
    np.testing.assert_allclose(gradient, exact, rtol=1e-11, atol=1e-13)
    np.testing.assert_allclose(gradient, central_differences(risk, params.flat), rtol=1e-6, atol=1e-8)


def test_frozen_parts_have_zero_gradient_and_do_not_move(rng):
    k, d = 2, 3
    params = random_params(rng, k, d, "tanh", q=0.5)
    X = rng.normal(size=(10, d))
    risk = dv.EmpiricalRisk(dv.VectorDEQ(k, "tanh", frozen=("b", "v")), X, rng.normal(size=10))
    gradient = dv.core.vector_params.split_flat(risk.gradient(params), k, d)
    assert not gradient["b"].any() and not gradient["v"].any() and gradient["W"].any()
    run = dv.gradient_descent(risk, params, step=0.01, steps=5)
    end = dv.VectorParams.from_flat(run.final_theta, k, d)
    np.testing.assert_array_equal(end.v, params.v)
    np.testing.assert_array_equal(end.b, params.b)


def test_population_closed_form_matches_a_large_sample_and_differences(rng):
    k, d = 3, 2
    Sigma = np.array([[2.0, 0.3], [0.3, 0.5]])
    xi = np.array([1.0, -0.5])
    params = random_params(rng, k, d, "identity", q=0.6)
    model = dv.VectorDEQ(k, "identity")
    population = dv.PopulationRisk(model, dv.GaussianPopulation(Sigma), xi)
    value, gradient = population.value_and_gradient(params)
    np.testing.assert_allclose(gradient, central_differences(population, params.flat), rtol=1e-6, atol=1e-8)
    X = dv.GaussianPopulation(Sigma).sample(400_000, rng)
    sample = dv.EmpiricalRisk.from_teacher(model, X, xi)
    assert sample.value(params) == pytest.approx(value, rel=0.02)


def test_population_risk_of_a_nonlinear_vector_model_is_refused():
    with pytest.raises(dv.InvalidInputError, match="linear model"):
        dv.PopulationRisk(dv.VectorDEQ(2, "tanh"), dv.GaussianPopulation(np.eye(2)), [1.0, 0.0])


def test_failed_forward_solve_makes_the_risk_raise(rng):
    params = random_params(rng, 3, 2, "tanh", q=0.999)
    model = dv.VectorDEQ(3, "tanh", "picard", dv.PicardSettings(max_iter=3))
    risk = dv.EmpiricalRisk(model, rng.normal(size=(8, 2)) * 3, np.zeros(8))
    with pytest.raises(dv.ConvergenceError, match="forward solve failed"):
        risk.value(params)


# -- dynamics -----------------------------------------------------------------------------
def test_gradient_flow_conserves_Q_for_the_linear_model(rng):
    k, d = 3, 2
    A = np.eye(k) + 0.2 * rng.normal(size=(k, k))
    params = dv.VectorParams(np.eye(k) - A, rng.normal(size=(k, d)), rng.normal(size=k), rng.normal(size=k))
    risk = dv.EmpiricalRisk.from_teacher(dv.VectorDEQ(k, "identity"), rng.normal(size=(30, d)), [1.0, -1.0])
    flow = dv.gradient_flow(risk, params, 2.0)
    assert flow.status is dv.RunStatus.COMPLETED
    assert np.isnan(flow.truth).all() and flow.truth.size == params.flat.size

    def Q(theta):
        p = dv.VectorParams.from_flat(theta, k, d)
        return p.A @ p.A.T + p.U @ p.U.T + np.outer(p.b, p.b)

    np.testing.assert_allclose(Q(flow.final_theta), Q(flow.theta[0]), atol=1e-8)
    assert flow.risk[-1] < flow.risk[0]


def test_descent_stops_with_a_status_where_W_leaves_the_contraction_region(rng):
    k, d = 2, 2
    params = random_params(rng, k, d, "tanh", q=0.99)
    risk = dv.EmpiricalRisk(dv.VectorDEQ(k, "tanh"), rng.normal(size=(10, d)), 5 * rng.normal(size=10))
    run = dv.gradient_descent(risk, params, step=5.0, steps=50)
    assert run.status in (dv.RunStatus.ILL_POSED, dv.RunStatus.COMPLETED, dv.RunStatus.DIVERGED)
    if run.status is dv.RunStatus.ILL_POSED:
        assert "NonContractiveError" in run.message
    assert math.isnan(run.risk[-1]) or np.isfinite(run.risk).all()


@pytest.mark.parametrize("activation", ["tanh", "softplus", "identity"])
def test_mpmath_jacobian_vector_product_matches_solver_differences(activation, rng):
    """The twin's forward-mode derivative against central differences of the float64 solver
    (two independent routes to dz)."""
    k, d = 3, 2
    params = random_params(rng, k, d, activation, q=0.7)
    x = rng.normal(size=d)
    dW, dU, db = rng.normal(size=(k, k)), rng.normal(size=(k, d)), rng.normal(size=k)
    with working_precision(40):
        exact = np.array([to_float(v) for v in vector_twin.jacobian_vector_product(
            params.W, params.U, params.b, x, get_activation(activation), dW, dU, db)])
    model, h = dv.VectorDEQ(k, activation), 1e-6

    def z(sign):
        moved = dv.VectorParams(params.W + sign * h * dW, params.U + sign * h * dU,
                                params.b + sign * h * db, params.v)
        return model.fixed_point(moved, x[None, :]).value[0]

    np.testing.assert_allclose((z(1) - z(-1)) / (2 * h), exact, rtol=1e-6, atol=1e-8)
