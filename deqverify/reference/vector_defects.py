"""mpmath defects of the vector statements for the precision ladder.

Equalities (zero exactly when the statement holds): VEC-REDUCE (vector twin at k = 1 against
the scalar twin), VEC-FP-2 (adjoint gradient against the derivative of R along fixed
directions, by ``mpmath.diff``), VEC-ORTH, VEC-BAL, VEC-CONS (dQ/dt = M + Mᵀ at θ₀),
VEC-RADIUS and VEC-SCALE (exact GD steps in mpmath). Inequality: VEC-FP-1's
certified-bound slack. Frozen parts get a zero gradient, as the model under test trains.
"""

from __future__ import annotations

import mpmath
import numpy as np

from deqverify.core.population import PopulationRisk
from deqverify.core.vector_params import PARTS, split_flat
from deqverify.reference import twin, vector_twin
from deqverify.reference.population import linear_population_risk
from deqverify.reference.precision import to_float, to_mp

LADDER_ROWS = 4
"""Rows of an empirical risk rerun in mpmath by the costly defects (VEC-FP-1, VEC-FP-2), as
the float64 checks compare only their first rows against mpmath."""
GD_STEPS = 3
"""Exact mpmath GD steps from θ₀ for VEC-RADIUS and VEC-SCALE."""


def _dims(problem):
    return problem.model.width, problem.risk.dim


def parts_mp(problem, theta) -> dict:
    """A float64 flat θ as mpmath parts: W (k×k), U (k×d), b and v as columns."""
    parts = split_flat(theta, *_dims(problem))
    return {"W": _mp(parts["W"]), "U": _mp(parts["U"]), "b": _mp(parts["b"]).T,
            "v": _mp(parts["v"]).T}


def risk_mp_parts(problem, P, rows=None):
    """(R, gradient parts) of the problem's risk at mpmath parts P (empirical risks on their
    first ``rows`` rows if given); frozen parts get a zero gradient."""
    risk, model = problem.risk, problem.model
    if isinstance(risk, PopulationRisk):
        value, G = vector_twin.linear_population_risk_and_gradient(
            P["W"], P["U"], P["b"], P["v"], risk.second_moment, risk.xi)
    else:
        X, targets = (risk.X, risk.targets) if rows is None else (risk.X[:rows], risk.targets[:rows])
        value, G = vector_twin.risk_and_gradient(P["W"], P["U"], P["b"], P["v"], X, targets,
                                                 model.activation)
    return value, {name: G[name] * 0 if name in model.frozen else G[name] for name in PARTS}


def risk_mp(problem, theta):
    """(R, gradient parts as mpmath matrices) of a vector problem's risk at a float64 θ."""
    return risk_mp_parts(problem, parts_mp(problem, theta))


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
    X = problem.X[:LADDER_ROWS]
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


def _quadratic_Q(P):
    """Q = AAᵀ + UUᵀ + bbᵀ with A = I − W (VEC-CONS, VEC-RADIUS)."""
    A = mpmath.eye(P["W"].rows) - P["W"]
    return A * A.T + P["U"] * P["U"].T + P["b"] * P["b"].T


def _frobenius2(matrix):
    return mpmath.fsum(matrix[i, j] ** 2 for i in range(matrix.rows) for j in range(matrix.cols))


def _scale_quantity(P):
    """‖v‖² + ‖A‖_F² (VEC-SCALE)."""
    return _frobenius2(P["v"]) + _frobenius2(mpmath.eye(P["W"].rows) - P["W"])


def _exact_descent(problem):
    """(before, G, after) for :data:`GD_STEPS` GD steps from θ₀ with no rounding to float64."""
    eta = to_mp(problem.step)
    P = parts_mp(problem, problem.theta0)
    steps = []
    for _ in range(GD_STEPS):
        _, G = risk_mp_parts(problem, P)
        after = {name: P[name] - eta * G[name] for name in PARTS}
        steps.append((P, G, after))
        P = after
    return steps


def radius_identity(problem):
    """max over exact GD steps of |ΔQ − η²(G_W G_Wᵀ + G_U G_Uᵀ + g_b g_bᵀ)| / max|Q| (VEC-RADIUS)."""
    eta2 = to_mp(problem.step) ** 2
    worst = mpmath.mpf(0)
    for before, G, after in _exact_descent(problem):
        predicted = eta2 * (G["W"] * G["W"].T + G["U"] * G["U"].T + G["b"] * G["b"].T)
        Q_after = _quadratic_Q(after)
        defect = Q_after - _quadratic_Q(before) - predicted
        worst = max(worst, _max_abs(defect) / (_max_abs(Q_after) or 1))
    return worst


def scale_identity(problem):
    """max over exact GD steps of |ΔS − η²(‖G_v‖² + ‖G_W‖_F²)| / S, S = ‖v‖² + ‖A‖_F² (VEC-SCALE)."""
    eta2 = to_mp(problem.step) ** 2
    worst = mpmath.mpf(0)
    for before, G, after in _exact_descent(problem):
        predicted = eta2 * (_frobenius2(G["v"]) + _frobenius2(G["W"]))
        S_after = _scale_quantity(after)
        worst = max(worst, abs(S_after - _scale_quantity(before) - predicted) / (S_after or 1))
    return worst


def conservation_rate(problem):
    """max over the problem's points of |dQ/dt| / scale, where under θ' = −∇R
    dQ/dt = M + Mᵀ with M = G_W Aᵀ − G_U Uᵀ − G_b bᵀ (VEC-CONS). The claim is that this
    vanishes at every θ, so θ₀ reruns it; the float64 flow is not repeated."""
    worst = mpmath.mpf(0)
    for theta in problem.all_points():
        P = parts_mp(problem, theta)
        _, G = risk_mp_parts(problem, P)
        A = mpmath.eye(P["W"].rows) - P["W"]
        M = G["W"] * A.T - G["U"] * P["U"].T - G["b"] * P["b"].T
        scale = (_max_abs(G["W"]) * _max_abs(A) + _max_abs(G["U"]) * _max_abs(P["U"])
                 + _max_abs(G["b"]) * _max_abs(P["b"])) or 1
        worst = max(worst, _max_abs(M + M.T) / scale)
    return worst


def _directions(problem):
    """Two fixed parameter directions (a seeded normal draw and all ones), frozen parts 0."""
    size = problem.theta0.size
    frozen = problem.model.flat_gradient(**split_flat(np.ones(size), *_dims(problem))) == 0
    return [np.where(frozen, 0.0, d) for d in (np.random.default_rng(0).standard_normal(size),
                                               np.ones(size))]


def adjoint_vs_derivative(problem):
    """max over :func:`_directions` d of |⟨∇R, d⟩ − dR(θ₀ + s·d)/ds| / scale at s = 0, ∇R by
    the twin's adjoint and the derivative by ``mpmath.diff`` (VEC-FP-2; empirical risks on
    their first :data:`LADDER_ROWS` rows)."""
    P = parts_mp(problem, problem.theta0)
    _, G = risk_mp_parts(problem, P, LADDER_ROWS)
    worst = mpmath.mpf(0)
    for direction in _directions(problem):
        D = parts_mp(problem, direction)
        along = mpmath.fsum(G[name][i, j] * D[name][i, j] for name in PARTS
                            for i in range(D[name].rows) for j in range(D[name].cols))
        derivative = mpmath.diff(lambda s, D=D: risk_mp_parts(
            problem, {name: P[name] + s * D[name] for name in PARTS}, LADDER_ROWS)[0], 0)
        worst = max(worst, abs(along - derivative) / (max(abs(along), abs(derivative)) or 1))
    return worst


def reduction_gap(problem):
    """max relative |R_vector − R_scalar| and |∇ mapped − ∇_scalar| at θ₀, both twins in
    mpmath, the scalar one at θ = (U, W) (VEC-REDUCE); v and b's gradients count in full
    (frozen: zero)."""
    params = problem.model.params(problem.theta0, problem.risk.dim)
    theta = np.r_[params.U[0], params.W[0, 0]]
    value, G = risk_mp(problem, problem.theta0)
    risk = problem.risk
    if isinstance(risk, PopulationRisk):
        scalar_value, scalar_gradient = linear_population_risk(theta, risk.second_moment, risk.xi)
    else:
        scalar_value, scalar_gradient = twin.risk_and_gradient(theta, risk.X, risk.targets,
                                                               problem.model.activation)
    mapped = [G["U"][0, j] for j in range(G["U"].cols)] + [G["W"][0, 0]]
    size = max([abs(scalar_value)] + [abs(g) for g in scalar_gradient]) or 1
    gaps = ([abs(value - scalar_value)] + [abs(a - b) for a, b in zip(mapped, scalar_gradient)]
            + [abs(G["b"][0, 0]), abs(G["v"][0, 0])])
    return max(gaps) / size
