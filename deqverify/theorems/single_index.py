"""Single-index statements: SI-IDENT, SI-HESS, SI-RSI, T3.8, T3.9, and the ReLU DEQ (RELU).

Truth θ* = (ξ, 0); r(θ) = ‖θ − θ*‖². λ₁ and λ₂ of the restricted secant inequality (SI-RSI)

    ⟨∇R(θ), θ − θ*⟩ ≥ (λ₁/2)‖θ − θ*‖²,   ‖∇R(θ)‖² ≤ λ₂‖θ − θ*‖²   on B(θ*, δ)

are *estimated*: the extreme ratios over a deterministic sample of the ball (a fixed seed, 64
points on shells) together with every point of the trajectory being checked. Grönwall on the
trajectory then makes T3.8's bound r(t) ≤ r(0)e^{−λ₁t} a consequence of the sampled λ₁, so
the check tests the dynamics, the gradient and the integration against the RSI mechanism.
"""

from __future__ import annotations

import zlib

import numpy as np

from deqverify.core.dynamics import RunStatus
from deqverify.core.errors import DEQError, UncheckableError
from deqverify.theorems.base import EPS, Problem, Theorem, Verdict, one_sided, verdict_of
from deqverify.theorems.linear import (
    GDRadius,
    LinOrth,
    _ode_drift_allowance,
    require_run,
)

BALL_SAMPLES = 64
SHELLS = (0.25, 0.5, 0.75, 1.0)


def _well_posed(problem: Problem, theta) -> bool:
    try:
        problem.model.check_well_posed(theta[-1])
    except DEQError:
        return False
    return True


def ball_points(problem: Problem, radius: float, count: int = BALL_SAMPLES) -> np.ndarray:
    """Deterministic points of B(θ*, radius): random directions on four shells."""
    truth = problem.risk.truth
    seed = zlib.crc32(np.r_[radius, truth].tobytes())
    rng = np.random.default_rng(seed)
    directions = rng.standard_normal((count, truth.size))
    directions /= np.linalg.norm(directions, axis=1, keepdims=True)
    shells = np.resize(np.array(SHELLS), count)[:, None]
    return truth + radius * shells * directions


def rsi_ratios(problem: Problem, points) -> tuple[np.ndarray, np.ndarray]:
    """⟨∇R, θ−θ*⟩/‖θ−θ*‖² and ‖∇R‖²/‖θ−θ*‖² at each well-posed point ≠ θ*."""
    truth = problem.risk.truth
    secant, growth = [], []
    for theta in points:
        offset = theta - truth
        r = offset @ offset
        if r == 0.0 or not _well_posed(problem, theta):
            continue
        gradient = problem.risk.gradient(theta)
        secant.append(gradient @ offset / r)
        growth.append(gradient @ gradient / r)
    return np.array(secant), np.array(growth)


def rsi_constants(problem: Problem, radius: float, extra_points=None) -> dict:
    """λ₁ = 2·min secant ratio and λ₂ = max growth ratio on B(θ*, radius) (estimated)."""
    points = ball_points(problem, radius)
    if extra_points is not None:
        points = np.vstack([points, extra_points])
    secant, growth = rsi_ratios(problem, points)
    if secant.size == 0:
        raise UncheckableError(f"no well-posed point θ ≠ θ* in B(θ*, {radius:.3g}) to estimate λ₁, λ₂")
    return {"radius": radius, "lambda1": 2.0 * float(secant.min()),
            "lambda2": float(growth.max()), "points": int(secant.size)}


def basin_radius(problem: Problem, largest: float) -> float:
    """The largest tested radius δ (geometric grid up to ``largest``) with λ₁(δ) > 0."""
    best = 0.0
    for radius in largest * np.geomspace(0.05, 1.0, 8):
        secant, _ = rsi_ratios(problem, ball_points(problem, radius, 32))
        if secant.size == 0 or secant.min() <= 0:
            break
        best = float(radius)
    return best


def _start_radius(problem: Problem) -> float:
    return float(np.linalg.norm(problem.theta0 - problem.risk.truth))


class Identifiability(Theorem):
    id = "SI-IDENT"
    statement = "under A-nonlin and injective σ, R(θ) = 0 iff θ = θ*"
    assumptions = ("A-act", "A-nonlin")
    family = "single-index"

    def check(self, problem: Problem) -> Verdict:
        risk = problem.risk
        truth = risk.truth
        at_truth = risk.value(truth)

        def floor(value):
            quadrature = getattr(risk, "quadrature_error", None)
            return 64 * EPS * max(value, 1.0) + (quadrature.value if quadrature else 0.0)

        slack = [(floor(at_truth) - at_truth) / floor(at_truth)]
        for theta in problem.all_points():
            if np.array_equal(theta, truth) or not _well_posed(problem, theta):
                continue
            value = risk.value(theta)
            slack.append((value - floor(value)) / max(value, floor(value)))
        margin = float(min(slack))
        return Verdict(margin >= 0, margin, {"risk_at_truth": at_truth},
                       f"R(θ*) = {at_truth:.3g}; min normalised R off θ*: {margin:.3g}")


class HessianAtTruth(Theorem):
    id = "SI-HESS"
    statement = "H* = 2E[σ'(ξᵀX)²(X,σ)(X,σ)ᵀ] = ∇²R(θ*); 2γ²λ_min(M) ≤ λ(H*) ≤ 2L²λ_max(M)"
    assumptions = ("A-act", "A-data")
    family = "single-index"
    clauses = ("hessian", "lower", "upper")

    def constants(self, problem):
        risk = problem.risk
        activation = problem.model.activation
        hessian = risk.hessian_at_truth()
        M = risk.feature_moment(lambda v: np.ones_like(v))
        gamma = activation.slope_floor(*risk.reached_pre_activations())
        eig_h, eig_m = np.linalg.eigvalsh(hessian), np.linalg.eigvalsh(M)
        return {"lambda_min_H": float(eig_h[0]), "lambda_max_H": float(eig_h[-1]),
                "lambda_min_M": float(eig_m[0]), "lambda_max_M": float(eig_m[-1]),
                "gamma": gamma, "L": activation.lipschitz}

    def check(self, problem: Problem) -> Verdict:
        constants = self.constants(problem)
        risk, truth = problem.risk, problem.risk.truth
        hessian = risk.hessian_at_truth()

        def difference(h):
            return np.column_stack([(risk.gradient(truth + h * e) - risk.gradient(truth - h * e)) / (2 * h)
                                    for e in np.eye(truth.size)])

        coarse, fine = difference(1e-4), difference(5e-5)
        richardson = (4 * fine - coarse) / 3
        scale = np.abs(hessian).max()
        # truncation estimated by |D(h/2) − Richardson|; gradient rounding/quadrature ~ 1e4 eps/h
        allowed = np.abs(fine - richardson) + 1e4 * EPS * scale / 5e-5 + 1e-10 * scale
        match, match_margin = one_sided(np.abs(hessian - richardson), allowed, scale=scale)
        lower = 2 * constants["gamma"] ** 2 * constants["lambda_min_M"]
        upper = 2 * constants["L"] ** 2 * constants["lambda_max_M"]
        slack_eig = 16 * (truth.size + 1) * EPS * scale
        low_ok, low_margin = one_sided(lower - slack_eig, constants["lambda_min_H"], scale=max(scale, 1e-300))
        up_ok, up_margin = one_sided(constants["lambda_max_H"] - slack_eig, upper, scale=max(scale, 1e-300))
        return verdict_of({"hessian": (match, match_margin), "lower": (low_ok, low_margin),
                           "upper": (up_ok, up_margin)}, constants,
                          f"‖H* − ∇²R‖ vs differences margin {match_margin:.3g}; eigen bounds "
                       f"[{lower:.3g}, {upper:.3g}] ∋ [{constants['lambda_min_H']:.3g}, {constants['lambda_max_H']:.3g}]")


class RestrictedSecant(Theorem):
    id = "SI-RSI"
    statement = "on B(θ*, δ): ⟨∇R, θ−θ*⟩ ≥ (λ₁/2)‖θ−θ*‖² and ‖∇R‖² ≤ λ₂‖θ−θ*‖² with λ₁, λ₂ > 0"
    assumptions = ("A-act", "A-data", "A-nonlin", "A-init")
    family = "single-index"

    def constants(self, problem):
        radius = _start_radius(problem)
        constants = rsi_constants(problem, radius, problem.all_points())
        constants["basin_radius"] = basin_radius(problem, 3.0 * max(radius, 1e-3))
        return constants

    def check(self, problem: Problem) -> Verdict:
        radius = _start_radius(problem)
        constants = rsi_constants(problem, radius, problem.all_points())
        scale = max(constants["lambda2"], 1e-300) ** 0.5
        # λ₁ > 0 must beat the rounding of ⟨∇R, θ−θ*⟩/r: ~ (d+2)·eps·√λ₂ relative
        allowed_floor = 8 * (problem.theta0.size + 1) * EPS * scale
        holds = constants["lambda1"] > allowed_floor
        margin = (constants["lambda1"] - allowed_floor) / scale
        return Verdict(holds, margin, constants,
                       f"λ₁ = {constants['lambda1']:.4g}, λ₂ = {constants['lambda2']:.4g} on radius {radius:.3g}")


class FlowContraction(Theorem):
    id = "T3.8"
    statement = "GF from θ(0) ∈ B: r(t) ≤ r(0)·e^{−λ₁t} and r is non-increasing"
    assumptions = ("A-act", "A-contract", "A-data", "A-nonlin", "A-init")
    kind = "trajectory"
    family = "single-index"
    clauses = ("bound", "monotone")

    def check(self, problem: Problem) -> Verdict:
        flow = require_run(problem.flow(problem.risk, problem.theta0, problem.t_max,
                                        rtol=problem.ode_rtol, atol=problem.ode_atol))
        if flow.status is not RunStatus.COMPLETED:
            return Verdict(False, -1.0, {}, f"flow ended early: {flow.message}")
        constants = rsi_constants(problem, _start_radius(problem), flow.theta)
        r = flow.distance_to_truth
        # integration error moves r = ‖θ − θ*‖² like C in T3.1 (same allowance)
        allowance = _ode_drift_allowance(problem, flow, float(r.max()))
        bound = r[0] * np.exp(np.minimum(-constants["lambda1"] * flow.t, 700.0))
        bound_ok, bound_margin = one_sided(r, bound + allowance, scale=np.maximum(bound, allowance))
        rise = np.maximum(np.diff(r), 0.0)
        mono_ok, mono_margin = one_sided(rise, allowance, scale=max(r[0], allowance))
        return verdict_of({"bound": (bound_ok, bound_margin), "monotone": (mono_ok, mono_margin)}, constants,
                          f"r: {r[0]:.3g} → {r[-1]:.3g} at t = {flow.t[-1]:.3g}; λ₁ = {constants['lambda1']:.4g}")


class DescentContraction(Theorem):
    id = "T3.9"
    statement = "GD with η ≤ λ₁/(2λ₂): r(k+1) ≤ (1 − ηλ₁/2)·r(k)"
    assumptions = ("A-act", "A-contract", "A-data", "A-nonlin", "A-init", "step-size")
    kind = "trajectory"
    family = "single-index"

    def constants(self, problem):
        constants = rsi_constants(problem, _start_radius(problem), problem.all_points())
        constants["step_bound"] = (constants["lambda1"] / (2 * constants["lambda2"])
                                   if constants["lambda2"] > 0 else float("nan"))
        return constants

    def check(self, problem: Problem) -> Verdict:
        run = require_run(problem.descent(problem.risk, problem.theta0, problem.step, problem.steps))
        if run.status is not RunStatus.COMPLETED:
            return Verdict(False, -1.0, {}, f"GD ended early: {run.message}")
        constants = rsi_constants(problem, _start_radius(problem), run.theta)
        if not constants["lambda2"] > 0:
            raise UncheckableError("λ₂ = 0 on the ball (∇R vanishes): the step bound λ₁/(2λ₂) is undefined")
        constants["step_bound"] = constants["lambda1"] / (2 * constants["lambda2"])
        eta = problem.step
        r = run.distance_to_truth
        factor = 1.0 - eta * constants["lambda1"] / 2.0
        # r is a sum of d+1 squares of differences: relative rounding ≤ (d+3)eps, plus the
        # absolute floor eps·‖θ*‖ per component once θ sits at θ*
        floor = 4 * (run.theta.shape[1] + 2) * EPS * (r[:-1] + EPS * (run.truth @ run.truth))
        holds, margin = one_sided(r[1:], factor * r[:-1] + floor, scale=np.maximum(r[:-1], 1e-300))
        ratio = eta / constants["step_bound"] if constants["step_bound"] > 0 else float("inf")
        return Verdict(holds, margin, constants,
                       f"η/(λ₁/2λ₂) = {ratio:.3g}; r: {r[0]:.3g} → {r[-1]:.3g}")


class ReluDEQ(Theorem):
    id = "RELU"
    statement = "for θ₂ < 1, y = relu(θ₁ᵀx)/(1−θ₂) = relu(φᵀx); LIN-ORTH and GD-RADIUS hold exactly"
    assumptions = ("A-contract",)
    family = "relu"
    clauses = ("closed-form", "LIN-ORTH", "GD-RADIUS")

    def check(self, problem: Problem) -> Verdict:
        theta, X = problem.theta0, problem.X
        y = problem.model.fixed_point(theta, X).value
        phi = theta[:-1] / (1.0 - theta[-1])
        expected = np.maximum(X @ phi, 0.0)
        # both routes divide by 1 − θ₂ once and sum d products: (d+2) ulps apart at most
        allowed = 2 * (X.shape[1] + 2) * EPS * (np.abs(X) @ np.abs(phi))
        form_ok, form_margin = one_sided(np.abs(y - expected), allowed + np.finfo(float).tiny)
        orth = LinOrth().check(problem)
        radius = GDRadius().check(problem)
        return verdict_of({"closed-form": (form_ok, form_margin), "LIN-ORTH": (orth.holds, orth.margin),
                           "GD-RADIUS": (radius.holds, radius.margin)}, {},
                          f"closed form margin {form_margin:.3g}; LIN-ORTH: {orth.details}; "
                       f"GD-RADIUS: {radius.details}")


SINGLE_INDEX_THEOREMS = (Identifiability(), HessianAtTruth(), RestrictedSecant(),
                         FlowContraction(), DescentContraction(), ReluDEQ())
