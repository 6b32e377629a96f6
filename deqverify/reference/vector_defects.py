"""mpmath defects of the vector identities for the precision ladder: VEC-ORTH and VEC-BAL
(zero exactly when the identity holds) and VEC-FP-1's certified-bound slack."""

from __future__ import annotations

import mpmath
import numpy as np

from deqverify.core.population import PopulationRisk
from deqverify.core.vector_params import split_flat
from deqverify.reference import vector_twin
from deqverify.reference.precision import to_float, to_mp


def risk_mp(problem, theta):
    """(R, gradient parts as mpmath matrices) of a vector problem's risk at θ."""
    risk, model = problem.risk, problem.model
    parts = split_flat(theta, model.width, risk.dim)
    if isinstance(risk, PopulationRisk):
        return vector_twin.linear_population_risk_and_gradient(
            parts["W"], parts["U"], parts["b"], parts["v"], risk.second_moment, risk.xi)
    return vector_twin.risk_and_gradient(parts["W"], parts["U"], parts["b"], parts["v"],
                                         risk.X, risk.targets, model.activation)


def _mp(array):
    return mpmath.matrix([[to_mp(float(v)) for v in row] for row in np.atleast_2d(array)])


def _max_abs(matrix):
    return max(abs(matrix[i, j]) for i in range(matrix.rows) for j in range(matrix.cols))


def orthogonality(problem):
    """max |∇_W Aᵀ − ∇_U Uᵀ − ∇_b bᵀ| / scale over the problem's points (VEC-ORTH)."""
    worst = mpmath.mpf(0)
    for theta in problem.all_points():
        _, G = risk_mp(problem, theta)
        parts = split_flat(theta, problem.model.width, problem.risk.dim)
        A = mpmath.eye(problem.model.width) - _mp(parts["W"])
        U, b = _mp(parts["U"]), _mp(parts["b"]).T
        defect = G["W"] * A.T - G["U"] * U.T - G["b"] * b.T
        scale = (_max_abs(G["W"]) * _max_abs(A) + _max_abs(G["U"]) * _max_abs(U)) or 1
        worst = max(worst, _max_abs(defect) / scale)
    return worst


def balance(problem):
    """max over neurons of |per-neuron balance| / scale (VEC-BAL)."""
    worst = mpmath.mpf(0)
    k = problem.model.width
    for theta in problem.all_points():
        _, G = risk_mp(problem, theta)
        parts = split_flat(theta, k, problem.risk.dim)
        W, U = _mp(parts["W"]), _mp(parts["U"])
        b, v = [to_mp(x) for x in parts["b"]], [to_mp(x) for x in parts["v"]]
        for i in range(k):
            value = (mpmath.fsum(G["W"][i, j] * W[i, j] - G["W"][j, i] * W[j, i] for j in range(k))
                     + mpmath.fsum(G["U"][i, j] * U[i, j] for j in range(U.cols))
                     + G["b"][i] * b[i] - G["v"][i] * v[i])
            scale = (_max_abs(G["W"]) * _max_abs(W) + _max_abs(G["U"]) * _max_abs(U)
                     + abs(G["v"][i] * v[i])) or 1
            worst = max(worst, abs(value) / scale)
    return worst


def certified_bound_slack(problem):
    """min over samples of (certified bound − ‖z − z*‖)/bound, z* in mpmath (VEC-FP-1)."""
    model = problem.model
    params = model.params(problem.theta0, problem.risk.dim)
    X = problem.X[:4]
    fp = model.fixed_point(params, X)
    worst = mpmath.inf
    for x, z, bound in zip(X, fp.value, fp.error_bound):
        root = vector_twin.fixed_point(params.W, params.U, params.b, x, model.activation)
        error = mpmath.sqrt(mpmath.fsum((to_mp(float(zi)) - root[i]) ** 2 for i, zi in enumerate(z)))
        allowed = to_mp(float(bound))
        worst = min(worst, (allowed - error) / (max(allowed, error) or 1))
    return worst


def gradient_gap(problem) -> float:
    """max |∇R_float − ∇R_mp| / max |∇R_mp| at θ₀ (the vector implementation against the twin)."""
    _, G = risk_mp(problem, problem.theta0)
    exact = np.concatenate([np.array([[to_float(x) for x in row] for row in G[name].tolist()]).ravel()
                            for name in ("W", "U", "b", "v")])
    exact = problem.model.flat_gradient(**split_flat(exact, problem.model.width, problem.risk.dim))
    return float(np.max(np.abs(problem.risk.gradient(problem.theta0) - exact))
                 / max(float(np.max(np.abs(exact))), np.finfo(float).tiny))
