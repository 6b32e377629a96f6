"""Solver-level statements FP-1, FP-2, FP-3 (docs/theorems.md)."""

from __future__ import annotations

import numpy as np

from deqverify import reference as ref
from deqverify.core.errors import IllPosedError
from deqverify.core.solve import NewtonSettings, slope_lower_bound
from deqverify.theorems.base import EPS, Problem, Theorem, Verdict, one_sided, verdict_of

REFERENCE_SAMPLES = 6
"""mpmath reruns a handful of samples per problem: it checks, it is not a hot loop."""
ROUNDING_K = 8
"""The float64 root of g(y) = y − σ(a + θ₂y) is determined only to ≈ 2·eps·scale·cond,
cond = 1/(1 − θ₂σ'(u)); 8 leaves a factor 4 (see tests/test_solvers.py)."""
NEWTON_TOLERANCE = 1e-13
SOLVER = NewtonSettings()


def _condition(activation, offsets, theta2, y):
    return 1.0 / np.abs(1.0 - theta2 * activation.df(offsets + theta2 * y))


CURVATURE_RATIO = {"sigmoid": 1.0, "softplus": 1.0, "tanh": 2.0, "identity": 0.0, "relu": 0.0}
"""ρ = sup |σ''/σ'| per built-in activation; 2 is assumed for user activations."""


def jacobian_allowance(offsets, theta2, y, activation, exact):
    """Derived float64 error bound of the IFT Jacobian c·(x, y), c = σ'/(1 − θ₂σ').

    y carries δy ≤ max(atol + rtol·|y|, k·eps·cond·max(1, |y|)) (the default Newton
    tolerance, or the rounding floor of FP-1); u = a + θ₂y then errs by |θ₂|δy plus
    eps·(|a| + |θ₂y|), which moves c relatively by ≤ ρ·cond·δu (ρ = sup|σ''/σ'|); the
    y-column c·y also takes |c|·δy directly. Returns an (n, 1) absolute allowance.
    """
    cond = _condition(activation, offsets, theta2, y)
    slope = activation.df(offsets + theta2 * y)
    factor = np.abs(slope / (1.0 - theta2 * slope))
    # y is within the solver's tolerance atol + rtol·|y| of its root, or at the rounding floor
    delta_y = np.maximum(SOLVER.atol + SOLVER.rtol * np.abs(y),
                         ROUNDING_K * EPS * cond * np.maximum(1.0, np.abs(y)))
    delta_u = abs(theta2) * delta_y + EPS * (np.abs(offsets) + np.abs(theta2 * y))
    rho = CURVATURE_RATIO.get(activation.name, 2.0)
    scale = np.abs(exact).max(axis=1) + np.finfo(float).tiny
    allowance = 4 * (scale * (ROUNDING_K * EPS + rho * cond * delta_u) + factor * delta_y)
    return allowance[:, None]


class FixedPointExistence(Theorem):
    id = "FP-1"
    statement = "under contraction the fixed point is unique; the solver returns it to tolerance"
    assumptions = ("A-act", "A-contract")
    family = "fixed-point"

    def check(self, problem: Problem) -> Verdict:
        model, theta, X = problem.model, problem.theta0, problem.X
        activation = model.activation
        fp = model.fixed_point(theta, X)
        if not np.all(fp.converged):
            return Verdict(False, -1.0, {}, f"solver status {fp.status}")
        offsets = X @ theta[:-1]
        subsample = slice(0, REFERENCE_SAMPLES)
        with ref.working_precision(40):
            truth = np.array([ref.to_float(ref.fixed_point(a, theta[-1], activation))
                              for a in offsets[subsample]])
        cond = _condition(activation, offsets[subsample], theta[-1], truth)
        allowed = np.maximum(NEWTON_TOLERANCE, ROUNDING_K * EPS * cond) * np.maximum(1.0, np.abs(truth))
        error = np.abs(fp.value[subsample] - truth)
        holds, margin = one_sided(error, allowed)
        return Verdict(holds, margin, {"slope_floor_m": slope_lower_bound(theta[-1], activation)},
                       f"max |y − y*| = {error.max():.3g} (mpmath, {truth.size} samples)")


class ImplicitGradient(Theorem):
    id = "FP-2"
    statement = ("the IFT gradient equals the mpmath gradient and central differences; "
                 "|1 − θ₂σ'(u)| ≥ 1 − |θ₂|L")
    assumptions = ("A-act", "A-contract")
    family = "fixed-point"
    clauses = ("jacobian", "risk-gradient", "denominator")

    def check(self, problem: Problem) -> Verdict:
        model, theta, X = problem.model, problem.theta0, problem.X
        activation = model.activation
        subsample = X[:REFERENCE_SAMPLES]
        jacobian = model.output_jacobian(theta, subsample)
        with ref.working_precision(40):
            exact = np.array([[ref.to_float(v) for v in ref.output_and_jacobian(theta, x, activation)[1]]
                              for x in subsample])
        offsets = subsample @ theta[:-1]
        y = model.fixed_point(theta, subsample).value
        allowed = jacobian_allowance(offsets, theta[-1], y, activation, exact)
        jac_ok, jac_margin = one_sided(np.abs(jacobian - exact), allowed)
        risk_ok, risk_margin, detail = _risk_gradient_vs_differences(problem.risk, theta)
        denominators = np.abs(1.0 - theta[-1] * activation.df(offsets + theta[-1] * y))
        floor = 1.0 - abs(theta[-1]) * activation.lipschitz
        den_ok, den_margin = one_sided(floor * (1 - 4 * EPS), denominators)
        return verdict_of({"jacobian": (jac_ok, jac_margin), "risk-gradient": (risk_ok, risk_margin),
                           "denominator": (den_ok, den_margin) if floor > 0 else (True, np.inf)},
                          {"denominator_floor": floor}, f"Jacobian vs mpmath margin {jac_margin:.3g}; {detail}")


def _risk_gradient_vs_differences(risk, theta, h=1e-4, frozen=None):
    """∇R against Richardson-extrapolated central differences of R (entries flagged in the
    boolean ``frozen`` mask are not trained: their reported gradient must be exactly 0).

    D(h) has error c₂h² + O(h⁴); R(h) = (4D(h/2) − D(h))/3 has O(h⁴), and |D(h/2) − R|
    estimates the h² term. Allowed: that estimate plus the rounding of the quotients,
    ≈ 2·eps·|R|·κ_R/h with κ_R ≤ 10⁴ the evaluation's own relative rounding growth and |R|
    the largest value *subtracted* (R(θ ± h) can exceed R(θ) by far, e.g. R(θ) ≈ 0).
    """
    gradient = risk.gradient(theta)

    frozen = np.zeros(theta.size, dtype=bool) if frozen is None else frozen
    largest = [abs(risk.value(theta))]

    def difference(step):
        out = np.zeros_like(theta)
        for k in np.flatnonzero(~frozen):
            e = np.zeros_like(theta)
            e[k] = step
            plus, minus = risk.value(theta + e), risk.value(theta - e)
            largest.append(max(abs(plus), abs(minus)))
            out[k] = (plus - minus) / (2 * step)
        return out

    coarse, fine = difference(h), difference(h / 2)
    richardson = (4 * fine - coarse) / 3
    quadrature = getattr(risk, "quadrature_error", None)
    noise = (2e4 * EPS * max(max(largest), 1e-300) + (quadrature.value if quadrature else 0.0)) / (h / 2)
    allowed = np.abs(fine - richardson) + noise + 1e-12 * np.abs(richardson)
    error = np.abs(gradient - richardson)
    holds, margin = one_sided(error, allowed, scale=np.maximum(np.abs(richardson).max(), 1e-300))
    return holds, margin, f"risk gradient vs Richardson differences: max error {error.max():.3g}"


class IllPosedInputs(Theorem):
    id = "FP-3"
    statement = "θ₂ = 1 (linear) and θ₂·L ≥ 1 (single-index) raise typed errors, never a silent answer"
    assumptions = ()
    family = "fixed-point"

    def check(self, problem: Problem) -> Verdict:
        model, X, theta = problem.model, problem.X, problem.theta0
        activation = model.activation
        if model.is_linear:
            bad = [1.0]
        else:
            limit = 1.0 / activation.lipschitz
            bad = [limit, limit * (1 + 1e-12), 1.5 * limit, 10 * limit]
        silent = []
        for theta2 in bad:
            try:
                result = model.fixed_point(np.r_[theta[:-1], theta2], X)
            except IllPosedError:
                continue
            silent.append((theta2, str(result.status)))
        holds = not silent
        return Verdict(holds, 1.0 if holds else -1.0, {"ill_posed_theta2": bad},
                       "all raised typed errors" if holds else f"returned silently for {silent}")


FIXED_POINT_THEOREMS = (FixedPointExistence(), ImplicitGradient(), IllPosedInputs())
