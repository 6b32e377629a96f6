"""Theorem objects: registry, constants (η₀ of T3.6 is a valid smoothness bound), specs."""

import json

import numpy as np
import pytest

import deqverify as dv
from deqverify.core.dynamics import sphere
from deqverify.theorems import REGISTRY, Problem, linear_constants, t33_limit
from deqverify.theorems.spec import (
    problem_from_spec,
    problem_to_spec,
    reproduction_snippet,
)

IDS = ["FP-1", "FP-2", "FP-3", "LIN-ORTH", "T3.1", "GD-RADIUS", "SPHERE-ID", "L3.2", "PL", "T3.4",
       "T3.3", "PHI-FLOW", "T3.6", "SI-IDENT", "SI-HESS", "SI-RSI", "T3.8", "T3.9", "RELU", "NEUMANN",
       "VEC-REDUCE", "VEC-FP-1", "VEC-FP-2", "VEC-FP-3", "VEC-ORTH", "VEC-CONS", "VEC-RADIUS", "VEC-SCALE",
       "VEC-BAL", "VEC-INVERTIBLE", "MON-WP", "MON-LIP", "LINF-WP", "BWD-PHANTOM", "BWD-JFB", "JFB-NONLINEAR"]


def test_registry_has_every_statement_of_the_catalogue():
    assert set(REGISTRY) == set(IDS)
    for theorem_id, theorem in REGISTRY.items():
        assert theorem.id == theorem_id and theorem.statement and theorem.kind in ("pointwise", "trajectory")


def _linear_problem(rng, d=3):
    A = rng.normal(size=(d, d))
    Sigma = A @ A.T / d + 0.3 * np.eye(d)
    risk = dv.PopulationRisk(dv.LinearDEQ(), dv.GaussianPopulation(Sigma), rng.normal(size=d))
    theta0 = np.r_[rng.normal(size=d), rng.choice([-0.5, 0.4, 1.8])]
    return Problem(model=risk.model, risk=risk, theta0=theta0)


def _hessian_norm(risk, theta, h=1e-5):
    columns = [(risk.gradient(theta + h * e) - risk.gradient(theta - h * e)) / (2 * h)
               for e in np.eye(theta.size)]
    return np.linalg.norm(np.column_stack(columns), 2)


@pytest.mark.parametrize("seed", range(6))
def test_T36_smoothness_bound_dominates_the_hessian_on_the_region(seed):
    """ℓ of T3.6 bounds ‖∇²R‖ on {R ≤ R₀, C ≥ C₀}: sample that region and compare."""
    rng = np.random.default_rng(seed)
    problem = _linear_problem(rng)
    constants = linear_constants(problem)
    risk, C0, R0 = problem.risk, constants["C0"], constants["R0"]
    checked = 0
    for _ in range(400):
        # a point on a sphere of radius² C ≥ C₀ around e, in a random direction
        direction = rng.normal(size=problem.theta0.size)
        direction /= np.linalg.norm(direction)
        theta = np.r_[np.zeros(problem.dim), 1.0] + np.sqrt(C0 * rng.uniform(1, 4)) * direction
        if abs(1 - theta[-1]) < 1e-3 or risk.value(theta) > R0:
            continue
        checked += 1
        assert _hessian_norm(risk, theta) <= constants["smoothness"] * (1 + 1e-6)
    assert checked >= 5


def test_T36_step_bound_makes_descent_monotone_along_the_run(rng):
    problem = _linear_problem(rng)
    eta0 = linear_constants(problem)["eta0"]
    run = dv.gradient_descent(problem.risk, problem.theta0, eta0, 200)
    assert np.all(np.diff(run.risk) <= 1e-15 * run.risk[:-1])


def test_T33_limit_formula_is_on_the_sphere_and_on_the_zero_risk_set(rng):
    xi = rng.normal(size=3)
    theta0 = np.r_[rng.normal(size=3), 0.2]
    limit = t33_limit(theta0, xi)
    assert sphere(limit)[0] == pytest.approx(sphere(theta0)[0], rel=1e-14)
    np.testing.assert_allclose(limit[:-1], xi * (1 - limit[-1]), rtol=1e-14)
    assert np.sign(1 - limit[-1]) == np.sign(1 - theta0[-1])


def test_L32_beta_is_below_the_gap_along_a_flow(rng):
    problem = _linear_problem(rng)
    problem.t_max = 20.0
    verdict = REGISTRY["L3.2"].check(problem)
    assert verdict.holds and 0 < verdict.constants["beta"] <= abs(1 - problem.theta0[-1])


def test_spec_round_trip_reproduces_the_verdict(rng):
    problem = _linear_problem(rng)
    problem.points = rng.normal(size=(2, 4))
    spec = json.loads(json.dumps(problem_to_spec(problem)))
    again = problem_from_spec(spec)
    assert REGISTRY["LIN-ORTH"].check(again).margin == REGISTRY["LIN-ORTH"].check(problem).margin
    namespace = {}
    exec(reproduction_snippet("LIN-ORTH", problem).replace("print(", "result = ("), namespace)
    assert namespace["result"].holds


def test_checks_refuse_what_they_cannot_evaluate(rng):
    problem = _linear_problem(rng)
    problem.theta0[-1] = 1.0
    with pytest.raises(dv.DEQError):
        REGISTRY["SPHERE-ID"].check(problem)
    problem.t_max = 1.0
    with pytest.raises(dv.UncheckableError, match="ended at its start"):
        REGISTRY["T3.1"].check(problem)
