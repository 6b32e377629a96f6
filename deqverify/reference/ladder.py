"""Precision ladder and rounding-vs-violation classification (issue: high precision).

A float64 check that fails near an edge (θ₂ → 1, |θ₂|L → 1, saturated σ) is either rounding
or a real violation. :func:`classify` reruns the claim's *defect* — the quantity that is
zero (equalities) or non-negative (inequalities) when the claim holds — in mpmath at 30, 60
and 120 digits (:data:`RUNGS`) and decides:

* ROUNDING: the claim holds in mpmath (equality defects shrink with the precision, or the
  inequality slack is ≥ 0 and stable across rungs) and, for gradient claims, the float64
  gradient under test is within :data:`GRADIENT_GAP` of the mpmath one. The float64 failure
  came from rounding, so the tolerance of the check is wrong — a failing test still fails,
  but says so.
* VIOLATION: the defect is stable across rungs and breaks the claim — or the claim holds in
  mpmath but the implementation's float64 values are off beyond rounding.
* INCONCLUSIVE: the rungs disagree, or no mpmath rerun exists for the statement.
* CERTIFIED (FP-1, VEC-FP-1, LIN-ORTH and GD-RADIUS, with the [certify] extra): held, with a
  proof (:mod:`deqverify.reference.proofs`) — every answer within the claim's allowance of
  every point of a ball-arithmetic enclosure of its root, or an identity's exact defect
  enclosed around 0 with the float64 gradient proved close to the exact one; a VIOLATION
  found this way carries the enclosure that excludes the claim.

Flows are not rerun: `mp.odefun` takes ~1 s at 30 digits and ~12 s at 60 for a 3-parameter
linear flow, so T3.1 is cross-checked once, at 30 digits, in the tests
(:func:`~deqverify.reference.population.linear_flow`). A trajectory statement gets a ladder
where its claim has an exact instantaneous form: GD-RADIUS, VEC-RADIUS and VEC-SCALE by exact
GD steps in mpmath, VEC-CONS by dQ/dt (zero at every θ) at θ₀.
"""

from __future__ import annotations

import mpmath
import numpy as np

from deqverify.core.risk import EmpiricalRisk
from deqverify.reference import vector_defects, wellposed_defects
from deqverify.reference.population import linear_population_risk
from deqverify.reference.precision import to_float, to_mp, working_precision
from deqverify.reference.proofs import GRADIENT_GAP, Classification, LadderResult, decide_by_proof
from deqverify.reference.twin import fixed_point, risk_and_gradient

RUNGS = (30, 60, 120)
GRADIENT_CLAIMS = ("LIN-ORTH", "PL", "PHI-FLOW", "GD-RADIUS", "VEC-REDUCE", "VEC-FP-2",
                   "VEC-ORTH", "VEC-BAL", "VEC-CONS", "VEC-RADIUS", "VEC-SCALE")


def _risk_mp(problem, theta):
    """(R, ∇R) of the problem's risk in mpmath (empirical: the twin; linear population:
    the closed form). Raises NotImplementedError for single-index population risks."""
    risk = problem.risk
    if isinstance(risk, EmpiricalRisk):
        return risk_and_gradient(theta, risk.X, risk.targets, risk.model.activation)
    if risk.model.is_linear:
        return linear_population_risk(theta, risk.second_moment, risk.xi)
    raise NotImplementedError("no mpmath rerun of a single-index population risk on the ladder "
                              "(mp.quad per rung is minutes); use an empirical problem")


def _dot(u, v):
    return mpmath.fsum(a * b for a, b in zip(u, v))


def _lin_orth(problem):
    worst = mpmath.mpf(0)
    for theta in problem.all_points():
        _, gradient = _risk_mp(problem, theta)
        offset = [to_mp(v) for v in theta[:-1]] + [to_mp(theta[-1]) - 1]
        scale = mpmath.sqrt(_dot(gradient, gradient) * _dot(offset, offset)) or 1
        worst = max(worst, abs(_dot(gradient, offset)) / scale)
    return worst


def _pl(problem):
    Sigma = np.asarray(problem.risk.second_moment)
    lam_min = to_mp(max(float(np.linalg.eigvalsh(Sigma)[0]), 0.0))
    worst = mpmath.inf
    for theta in problem.all_points():
        value, gradient = _risk_mp(problem, theta)
        t = [to_mp(v) for v in theta]
        phi = [v / (1 - t[-1]) for v in t[:-1]]
        C = _dot(t[:-1], t[:-1]) + (t[-1] - 1) ** 2
        mu = 4 * lam_min * (1 + _dot(phi, phi)) / C
        lhs, rhs = _dot(gradient, gradient), mu * value
        worst = min(worst, (lhs - rhs) / max(lhs, rhs, mpmath.mpf(10) ** -300))
    return worst


def _gd_radius(problem, steps=3):
    """One to three exact GD steps in mpmath: max |ΔC − η²‖∇R‖²| / C."""
    eta = to_mp(problem.step)
    theta = [to_mp(v) for v in problem.theta0]
    worst = mpmath.mpf(0)
    for _ in range(steps):
        _, gradient = _risk_mp_exact(problem, theta)
        C0 = _dot(theta[:-1], theta[:-1]) + (theta[-1] - 1) ** 2
        theta = [a - eta * g for a, g in zip(theta, gradient)]
        C1 = _dot(theta[:-1], theta[:-1]) + (theta[-1] - 1) ** 2
        worst = max(worst, abs(C1 - C0 - eta ** 2 * _dot(gradient, gradient)) / C1)
    return worst


def _risk_mp_exact(problem, theta_mp):
    """Linear risks at an mpf θ (no rounding to float64 between exact GD steps)."""
    risk = problem.risk
    t = theta_mp
    gap = 1 - t[-1]
    if isinstance(risk, EmpiricalRisk):
        n = risk.n_samples
        gradient = [mpmath.mpf(0)] * len(t)
        for x, target in zip(risk.X, risk.targets):
            xm = [to_mp(v) for v in x]
            y = _dot(t[:-1], xm) / gap
            w = 2 * (y - to_mp(target)) / gap / n
            gradient = [g + w * v for g, v in zip(gradient, xm + [y])]
        return None, gradient
    S = mpmath.matrix([[to_mp(v) for v in row] for row in np.asarray(risk.second_moment)])
    phi = mpmath.matrix([v / gap for v in t[:-1]])
    residual = S * (phi - mpmath.matrix([to_mp(v) for v in risk.xi]))
    return None, [2 * v / gap for v in residual] + [2 * (phi.T * residual)[0] / gap]


def _sphere_identity(problem):
    """max |(1−θ₂)² − C/(1+‖φ‖²)| / (1−θ₂)² (SPHERE-ID) in mpmath."""
    worst = mpmath.mpf(0)
    for theta in problem.all_points():
        t = [to_mp(v) for v in theta]
        phi = [v / (1 - t[-1]) for v in t[:-1]]
        C = _dot(t[:-1], t[:-1]) + (t[-1] - 1) ** 2
        lhs = (1 - t[-1]) ** 2
        worst = max(worst, abs(lhs - C / (1 + _dot(phi, phi))) / lhs)
    return worst


def _phi_flow(problem):
    """max |φ' − formula| / |φ'| (PHI-FLOW) with the exact mpmath gradient."""
    S = mpmath.matrix([[to_mp(v) for v in row] for row in np.asarray(problem.risk.second_moment)])
    xi = mpmath.matrix([to_mp(v) for v in problem.risk.xi])
    worst = mpmath.mpf(0)
    for theta in problem.all_points():
        t = [to_mp(v) for v in theta]
        _, gradient = _risk_mp_exact(problem, t)
        gap = 1 - t[-1]
        phi = mpmath.matrix([v / gap for v in t[:-1]])
        velocity = [-g for g in gradient]
        phi_dot = [v / gap + p * velocity[-1] / gap for v, p in zip(velocity[:-1], phi)]
        grad_F = 2 * S * (phi - xi)
        C = _dot(t[:-1], t[:-1]) + (t[-1] - 1) ** 2
        scale = (1 + (phi.T * phi)[0]) / C
        inner = (phi.T * grad_F)[0]
        predicted = [-scale * (g + p * inner) for g, p in zip(grad_F, phi)]
        size = max(abs(v) for v in phi_dot) or 1
        worst = max(worst, max(abs(a - b) for a, b in zip(phi_dot, predicted)) / size)
    return worst


def _fixed_point_slack(problem):
    """FP-1 in mpmath: min over a subsample of (allowed − |y_float − y*|)/allowed, with the
    check's own allowance max(1e-13, 8·eps·cond)·max(1, |y*|)."""
    model, theta = problem.model, problem.theta0
    activation, theta2 = model.activation, to_mp(theta[-1])
    y = model.fixed_point(theta, problem.X[:6]).value
    offsets = problem.X[:6] @ theta[:-1]
    worst = mpmath.inf
    for value, offset in zip(y, offsets):
        root = fixed_point(offset, theta[-1], activation)
        cond = 1 / abs(1 - theta2 * activation.mp_df(to_mp(offset) + theta2 * root))
        allowed = max(mpmath.mpf("1e-13"), 8 * mpmath.mpf(2) ** -52 * cond) * max(1, abs(root))
        worst = min(worst, (allowed - abs(to_mp(value) - root)) / allowed)
    return worst


DEFECTS = {
    # id: (kind, defect function); "equality" defects are ≥ 0 and zero iff the claim holds,
    # "inequality" defects are slacks (claim holds iff ≥ 0); "float-gap" compares the float64
    # output with the mpmath truth (its size is the float64 error itself).
    "LIN-ORTH": ("equality", _lin_orth),
    "GD-RADIUS": ("equality", _gd_radius),
    "PL": ("inequality", _pl),
    "SPHERE-ID": ("equality", _sphere_identity),
    "PHI-FLOW": ("equality", _phi_flow),
    "FP-1": ("inequality", _fixed_point_slack),
    "VEC-ORTH": ("equality", vector_defects.orthogonality),
    "VEC-BAL": ("equality", vector_defects.balance),
    "VEC-FP-1": ("inequality", vector_defects.certified_bound_slack),
    "VEC-REDUCE": ("equality", vector_defects.reduction_gap),
    "VEC-FP-2": ("equality", vector_defects.adjoint_vs_derivative),
    "VEC-CONS": ("equality", vector_defects.conservation_rate),
    "VEC-RADIUS": ("equality", vector_defects.radius_identity),
    "VEC-SCALE": ("equality", vector_defects.scale_identity),
    "MON-WP": ("inequality", wellposed_defects.monotone_contraction),
    "MON-LIP": ("inequality", wellposed_defects.monotone_lipschitz),
    "LINF-WP": ("inequality", wellposed_defects.linf_lipschitz),
    "BWD-PHANTOM": ("inequality", wellposed_defects.phantom_bound),
    "BWD-JFB": ("inequality", wellposed_defects.jfb_descent),
    "JFB-NONLINEAR": ("inequality", wellposed_defects.jfb_nonlinear_cosine),
}


def _gradient_gap(problem) -> float:
    """max |∇R_float − ∇R_mp| / max |∇R_mp| at θ₀: the implementation against the twin."""
    theta = problem.theta0
    if problem.theta0.size != problem.risk.dim + 1:  # a vector model
        with working_precision(RUNGS[0]):
            return vector_defects.gradient_gap(problem)
    with working_precision(RUNGS[0]):
        _, exact = _risk_mp(problem, theta)
        exact = np.array([to_float(v) for v in exact])
    return float(np.max(np.abs(np.asarray(problem.risk.gradient(theta)) - exact)) / np.max(np.abs(exact)))


def classify(theorem_id: str, problem) -> LadderResult:
    """Rerun the claim of ``theorem_id`` on ``problem`` at 30, 60, 120 digits and classify;
    FP-1 and VEC-FP-1 are decided by proof first where python-flint is installed."""
    certified = decide_by_proof(theorem_id, problem)
    if certified is not None:
        return certified
    if theorem_id not in DEFECTS:
        return LadderResult(Classification.INCONCLUSIVE, {}, "none", float("nan"),
                            f"no mpmath rerun is implemented for {theorem_id}")
    kind, defect = DEFECTS[theorem_id]
    defects = {}
    try:
        for digits in RUNGS:
            with working_precision(digits):
                defects[digits] = +defect(problem)
    except NotImplementedError as error:
        return LadderResult(Classification.INCONCLUSIVE, defects, kind, float("nan"), str(error))
    d30, d60, d120 = (defects[d] for d in RUNGS)
    if kind == "equality":
        # exact claims: the defect must fall with the precision (≈ 10^-digits)
        shrinking = d60 <= mpmath.mpf(10) ** -45 and d120 <= mpmath.mpf(10) ** -95
        stable = abs(d120 - d60) <= mpmath.mpf(10) ** -20 * d120 and d120 > mpmath.mpf(10) ** -25
        margin = -to_float(d120) if not shrinking else 1.0
        classification = (Classification.ROUNDING if shrinking else
                          Classification.VIOLATION if stable else Classification.INCONCLUSIVE)
    elif kind == "inequality":
        # 30 digits resolve a slack built from float64 data to ≈ 10⁻³⁰/(its scale, ≥ 10⁻¹⁵
        # for a float64 bound): agreement to 10⁻¹⁵ between the first rungs decides it
        stable = (abs(d30 - d60) <= mpmath.mpf(10) ** -15 * (1 + abs(d60))
                  and abs(d60 - d120) <= mpmath.mpf(10) ** -45 * (1 + abs(d120)))
        margin = to_float(d120)
        holds = d120 >= -(mpmath.mpf(10) ** -100)
        classification = (Classification.INCONCLUSIVE if not stable else
                          Classification.ROUNDING if holds else Classification.VIOLATION)
    else:
        raise ValueError(kind)
    if classification is Classification.ROUNDING and theorem_id in GRADIENT_CLAIMS:
        gap = _gradient_gap(problem)
        if gap > GRADIENT_GAP:
            return LadderResult(Classification.VIOLATION, defects, kind, margin,
                                f"the claim holds in mpmath, but the implementation's float64 "
                                f"gradient is off by {gap:.3g} (relative) — beyond rounding "
                                f"({GRADIENT_GAP:g}): an implementation error")
    return LadderResult(classification, defects, kind, margin)
