"""mpmath defects of MON-WP, MON-LIP, LINF-WP, BWD-PHANTOM and BWD-JFB for the precision ladder.

Each is an inequality slack, ≥ 0 exactly when the claim holds, with every constant (m, ‖·‖₂,
μ∞, γ) recomputed in mpmath and the roots polished by the vector twin's Newton from the float64
answers (the first :data:`ROWS` rows):

* MON-WP: 1 − √(1 − 2αm + α²L²), the claimed contraction (the map's ratio is ≤ that factor
  for any W: the slack is negative exactly where α or m leave their ranges);
* MON-LIP, LINF-WP: the Lipschitz bound minus the observed ‖Δz*‖ over row pairs, relative
  (LINF-WP also 1 − factor of its averaged map);
* BWD-PHANTOM: (1 − τ + τγ)ᵏ/(1 − γ) − ‖τΣ_{i<k}Bⁱ − (I − J)⁻¹‖₂, relative, J at the
  mpmath root;
* BWD-JFB: ⟨Γ, ∇_U⟩ − max((1 − ‖W‖₂)‖∇_U‖², 0), relative to ‖∇_U‖²;
* JFB-NONLINEAR (open): cos(Γ, ∇_U), so a directed search's counterexample is confirmed at
  120 digits.
"""

from __future__ import annotations

import mpmath
import numpy as np

from deqverify.core.splitting import (
    averaged_map,
    linf_constants,
    monotone_roots,
    run_map,
)
from deqverify.reference import vector_twin
from deqverify.reference.precision import to_mp

ROWS = 12
"""Rows rerun in mpmath: every row the strategies draw (≤ 12), so a float64 failure in any row
or pair is rerun."""


def to_mp_matrix(array) -> mpmath.matrix:
    """A float64 array (1-D: a column) as an exact mpmath matrix."""
    array = np.asarray(array, dtype=float)
    rows = array[:, None] if array.ndim == 1 else array
    return mpmath.matrix([[to_mp(v) for v in row] for row in rows])


def spectral_norm(matrix) -> mpmath.mpf:
    return max(mpmath.svd_r(matrix, compute_uv=False))


def _setup(problem):
    X = problem.X[:ROWS]
    params = problem.model.params(problem.theta0, problem.X.shape[1])
    return params, X[: 2 * (X.shape[0] // 2)]


def _polished(problem, params, X, starts):
    """mpmath roots (columns) from the float64 answers."""
    return [vector_twin.fixed_point(params.W, params.U, params.b, x, problem.model.activation,
                                    start=[to_mp(v) for v in z])
            for x, z in zip(X, starts)]


def _pair_slack(roots, inputs, constant, norm):
    """min over pairs of (constant·‖Δx‖ − ‖Δz*‖)/(constant·‖Δx‖); +1 where Δx = 0 and Δz* = 0."""
    worst = mpmath.mpf(1)
    for first, second, x, x_other in zip(roots[0::2], roots[1::2], inputs[0::2], inputs[1::2]):
        apart = mpmath.norm(first - second, norm)
        allowed = constant * mpmath.norm(x - x_other, norm)
        worst = min(worst, (allowed - apart) / allowed if allowed > 0 else -apart)
    return worst


def _monotone_m(W) -> mpmath.mpf:
    A = mpmath.eye(W.rows) - W
    return min(mpmath.eigsy((A + A.T) / 2, eigvals_only=True))


def monotone_contraction(problem):
    """1 − √(1 − 2αm + α²L²) with m and L = ‖I − W‖₂ in mpmath (MON-WP)."""
    params, _ = _setup(problem)
    W = to_mp_matrix(params.W)
    m, L, alpha = _monotone_m(W), spectral_norm(mpmath.eye(W.rows) - W), to_mp(problem.step)
    return 1 - mpmath.sqrt(max(1 - 2 * alpha * m + alpha ** 2 * L ** 2, 0))


def monotone_lipschitz(problem):
    """min over pairs of the MON-LIP slack with mpmath roots, m and ‖U‖₂; −1 for m ≤ 0."""
    params, X = _setup(problem)
    m = _monotone_m(to_mp_matrix(params.W))
    if m <= 0:
        return mpmath.mpf(-1)
    starts, _ = monotone_roots(problem.model, params, X @ params.U.T + params.b)
    roots = _polished(problem, params, X, starts)
    inputs = [to_mp_matrix(x) for x in X]
    return _pair_slack(roots, inputs, spectral_norm(to_mp_matrix(params.U)) / m, 2)


def linf_lipschitz(problem):
    """min(1 − factor, pair slack of ‖Δz*‖∞ ≤ ‖Δp‖∞/(1 − μ⁺)) in mpmath (LINF-WP); −1 for μ ≥ 1."""
    params, X = _setup(problem)
    W = to_mp_matrix(params.W)
    k = W.rows
    mu = max(W[i, i] + mpmath.fsum(abs(W[i, j]) for j in range(k) if j != i) for i in range(k))
    if mu >= 1:
        return mpmath.mpf(-1)
    alpha = 1 / (1 - min(min(W[i, i] for i in range(k)), 0))
    factor = 1 - alpha * (1 - max(mu, 0))
    offsets = X @ params.U.T + params.b
    constants = linf_constants(params.W)
    run = run_map(params.W, offsets, constants["alpha"],
                  averaged_map(params.W, offsets, problem.model.activation, constants["alpha"]),
                  constants["factor"], np.inf, np.zeros_like(offsets))
    roots = _polished(problem, params, X, run.value)
    U, b = to_mp_matrix(params.U), to_mp_matrix(params.b)
    inputs = [U * to_mp_matrix(x) + b for x in X]
    return min(1 - factor, _pair_slack(roots, inputs, 1 / (1 - max(mu, 0)), mpmath.inf))


def phantom_bound(problem):
    """min over rows of (bound − ‖τΣ_{i<k}Bⁱ − (I − J)⁻¹‖₂)/bound with J at the mpmath root
    (BWD-PHANTOM); −1 where ‖J‖₂ ≥ 1 (no bound is claimed)."""
    params = problem.model.params(problem.theta0, problem.X.shape[1])
    X = problem.X[:ROWS]
    starts = problem.model.solve_offsets(params, X @ params.U.T + params.b).value
    W, tau, steps = to_mp_matrix(params.W), to_mp(problem.damping), problem.steps
    k = W.rows
    identity = mpmath.eye(k)
    worst = mpmath.mpf(1)
    for root, x in zip(_polished(problem, params, X, starts), X):
        u = W * root + to_mp_matrix(params.U) * to_mp_matrix(x) + to_mp_matrix(params.b)
        J = mpmath.matrix([[problem.model.activation.mp_df(u[i]) * W[i, j] for j in range(k)] for i in range(k)])
        gamma = spectral_norm(J)
        if gamma >= 1:
            return mpmath.mpf(-1)
        B = tau * J + (1 - tau) * identity
        total, power = mpmath.zeros(k, k), identity
        for _ in range(steps):
            total += tau * power
            power = power * B
        bound = (1 - tau + tau * gamma) ** steps / (1 - gamma)
        # a negative "bound" (τ > 1, odd k) is a failed claim, not a slack to divide by
        worst = min(worst, (bound - spectral_norm(total - mpmath.inverse(identity - J))) / abs(bound))
    return worst


def jfb_descent(problem):
    """(⟨Γ, ∇_U⟩ − max((1 − ‖W‖₂)‖∇_U‖², 0))/‖∇_U‖² in mpmath (BWD-JFB)."""
    params = problem.model.params(problem.theta0, problem.X.shape[1])
    W = to_mp_matrix(params.W)
    jfb = to_mp_matrix(problem.cotangents).T * to_mp_matrix(problem.X)
    exact = mpmath.inverse((mpmath.eye(W.rows) - W).T) * jfb
    inner = mpmath.fsum(jfb[i, j] * exact[i, j] for i in range(jfb.rows) for j in range(jfb.cols))
    square = mpmath.fsum(v ** 2 for v in exact)
    lower = max((1 - spectral_norm(W)) * square, 0)
    return (inner - lower) / square if square > 0 else mpmath.mpf(1)


def jfb_nonlinear_cosine(problem):
    """cos(Γ, ∇_U) in mpmath with the twin's roots and exact adjoints (JFB-NONLINEAR):
    Γ = Σᵢ Dᵢgᵢxᵢᵀ, ∇_U = Σᵢ Dᵢ(I − WᵀDᵢ)⁻¹gᵢxᵢᵀ; the claim ⟨Γ, ∇_U⟩ > 0 holds iff it is > 0."""
    params, X = problem.model.params(problem.theta0, problem.X.shape[1]), problem.X[:ROWS]
    starts = problem.model.solve_offsets(params, X @ params.U.T + params.b).value
    W, U, b = to_mp_matrix(params.W), to_mp_matrix(params.U), to_mp_matrix(params.b)
    k, d = W.rows, X.shape[1]
    jfb, exact = mpmath.zeros(k, d), mpmath.zeros(k, d)
    for root, x, g in zip(_polished(problem, params, X, starts), X, problem.cotangents[:ROWS]):
        xm, gm = to_mp_matrix(x), to_mp_matrix(g)
        u = W * root + U * xm + b
        D = mpmath.diag([problem.model.activation.mp_df(u[i]) for i in range(k)])
        adjoint = mpmath.lu_solve(mpmath.eye(k) - W.T * D, gm)
        jfb += D * gm * xm.T
        exact += D * adjoint * xm.T
    inner = mpmath.fsum(jfb[i, j] * exact[i, j] for i in range(k) for j in range(d))
    norms = mpmath.norm(jfb) * mpmath.norm(exact)
    return inner / norms if norms > 0 else mpmath.mpf(1)
