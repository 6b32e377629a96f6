"""Linear-DEQ statements of docs/theorems.md: LIN-ORTH, T3.1, GD-RADIUS, SPHERE-ID, L3.2, PL, T3.4,
T3.3, PHI-FLOW, T3.6, NEUMANN.

Notation: Σ = E[XXᵀ] (``risk.second_moment``), φ = θ₁/(1−θ₂), C(θ) = ‖θ₁‖² + (θ₂−1)²,
e = (0, 1). Tolerances are derived next to each check from float64 rounding (k·eps·scale)
or from the ODE tolerances (rtol, atol), never tuned.
"""

from __future__ import annotations

import math

import numpy as np

from deqverify.core.activations import SINGULAR_GAP_TOL
from deqverify.core.data import PSD_TOLERANCE
from deqverify.core.dynamics import RunStatus, sphere
from deqverify.core.errors import SingularDEQError, UncheckableError
from deqverify.theorems.base import EPS, Problem, Theorem, Verdict, one_sided, verdict_of


def _phi(theta):
    """φ = θ₁/(1−θ₂); undefined at θ₂ = 1 (typed error, as the model raises)."""
    if abs(1.0 - theta[-1]) <= SINGULAR_GAP_TOL:
        raise SingularDEQError(f"φ = θ₁/(1−θ₂) is undefined at θ₂ = {theta[-1]!r}")
    return theta[:-1] / (1.0 - theta[-1])


def require_run(trajectory):
    """A run that ended before its first step checked nothing: refuse, do not pass."""
    if trajectory.t.size < 2:
        raise UncheckableError(f"the run ended at its start: {trajectory.message}")
    return trajectory


def _offset_from_singular(theta):
    """θ − e = (θ₁, θ₂ − 1)."""
    return np.r_[theta[:-1], theta[-1] - 1.0]


def spectrum(problem: Problem) -> tuple[float, float]:
    """(λ_min, λ_max) of Σ; λ_min within rounding of zero (≤ 64·eps·λ_max, as in
    :class:`~deqverify.core.data.GaussianPopulation`) counts as 0 (rank-deficient Σ)."""
    eigenvalues = np.linalg.eigvalsh(problem.risk.second_moment)
    lam_min, lam_max = float(eigenvalues[0]), float(eigenvalues[-1])
    return (0.0 if lam_min <= PSD_TOLERANCE * lam_max else lam_min), lam_max


def linear_constants(problem: Problem) -> dict:
    """C₀, R₀, λ_min, λ_max, Φ = ‖ξ‖ + √(R₀/λ_min), β = √C₀/√(1+Φ²) (L3.2) and the
    smoothness bound ℓ and step bound η₀ = 1/ℓ of T3.6."""
    theta0 = problem.theta0
    lam_min, lam_max = spectrum(problem)
    R0 = float(problem.risk.value(theta0))
    C0 = float(sphere(theta0)[0])
    xi = problem.risk.xi
    if lam_min > 0:
        Phi = float(np.linalg.norm(xi) + math.sqrt(R0 / lam_min))
        beta = math.sqrt(C0) / math.sqrt(1.0 + Phi * Phi)
        smoothness = (2.0 * (1.0 + Phi ** 2) / C0) * (
            lam_max * (1.0 + Phi ** 2) + 2.0 * math.sqrt(lam_max * R0) * (1.0 + 2.0 * Phi))
        eta0 = 1.0 / smoothness
    else:
        Phi = beta = smoothness = eta0 = math.nan
    return {"C0": C0, "R0": R0, "lambda_min": lam_min, "lambda_max": lam_max, "Phi": Phi,
            "beta": beta, "smoothness": smoothness, "eta0": eta0}


def _flow(problem: Problem):
    return require_run(problem.flow(problem.risk, problem.theta0, problem.t_max,
                                    rtol=problem.ode_rtol, atol=problem.ode_atol))


def _ode_drift_allowance(problem: Problem, trajectory, scale: float) -> float:
    """Drift a conserved quadratic may show from integration error alone: each accepted step
    errs by ≤ rtol·|θ| + atol per component (the error controller's target), and these add
    up at most linearly over the ≈ nfev/12 steps of DOP853 (12 evaluations a step; for the
    stiff fallback every evaluation is counted as a step), each
    moving C(θ) = ‖θ − e‖² by at most 2‖θ − e‖·‖δθ‖."""
    evaluations = trajectory.info.get("nfev", 12)
    evaluations_per_step = 12 if trajectory.info.get("method", "DOP853") == "DOP853" else 1
    steps = max(1, evaluations // evaluations_per_step)
    theta_scale = float(np.max(np.linalg.norm(trajectory.theta, axis=1)))
    per_step = problem.ode_rtol * theta_scale + problem.ode_atol * math.sqrt(trajectory.theta.shape[1])
    return steps * 2.0 * math.sqrt(scale) * per_step + 8 * EPS * scale


def pointwise_verdict(problem: Problem, evaluate, label: str, constants=None) -> Verdict:
    """Run ``evaluate(θ) -> (observed, allowed)`` at every point of the problem and check
    observed ≤ allowed everywhere."""
    observed, allowed = zip(*(evaluate(theta) for theta in problem.all_points()))
    holds, margin = one_sided(observed, allowed)
    return Verdict(holds, margin, constants or {}, f"max {label} = {max(observed):.3g}")


def orthogonality_rounding(risk, theta) -> float:
    """Float64 bound on |⟨∇R(θ), θ − e⟩|, which is exactly 0 in exact arithmetic (LIN-ORTH).

    Each gradient component is a sum of many terms that may cancel, so its absolute error is
    ≤ γ·Gₖ with Gₖ the sum of the terms' magnitudes and γ = (m + d + 2)·eps (Higham's bound
    for an m-term sum; m = n samples, or d for the closed form), doubled for the rounding of
    the weights. Then |⟨ĝ, θ−e⟩| ≤ Σₖ 2γ·Gₖ|(θ−e)ₖ| + the dot product's own (d+2)·eps.
    """
    offset = np.abs(_offset_from_singular(theta))
    d = theta.size - 1
    if hasattr(risk, "X"):  # empirical: gₖ = (2/n)Σᵢ wᵢ·(xᵢ, yᵢ)ₖ, wᵢ = (yᵢ − tᵢ)·cᵢ
        fp = risk.model.fixed_point(theta, risk.X)
        weights = np.abs(2.0 * (fp.value - risk.targets) * risk.model.jacobian_factor(fp, theta[-1]))
        magnitude = np.r_[weights @ np.abs(risk.X), weights @ np.abs(fp.value)] / risk.n_samples
        terms = risk.n_samples
    else:  # population closed form: (2/(1−θ₂))·(Σr, φᵀΣr), r = φ − ξ
        Sigma = np.abs(risk.second_moment)
        gap = abs(1.0 - theta[-1])
        phi = theta[:-1] / (1.0 - theta[-1])
        residual = Sigma @ (np.abs(phi) + np.abs(risk.xi))
        magnitude = (2.0 / gap) * np.r_[residual, np.abs(phi) @ residual]
        terms = d
    gamma = (terms + d + 2) * EPS
    gradient = np.abs(risk.gradient(theta))
    return float(2 * gamma * magnitude @ offset + (d + 2) * EPS * gradient @ offset) + np.finfo(float).tiny


class LinOrth(Theorem):
    id = "LIN-ORTH"
    statement = "⟨∇R(θ), θ − e⟩ = 0 for every θ with θ₂ ≠ 1 (R depends on θ only through φ)"
    assumptions = ("A-theta2",)
    family = "linear"

    def check(self, problem: Problem) -> Verdict:
        def evaluate(theta):
            gradient = problem.risk.gradient(theta)
            offset = _offset_from_singular(theta)
            return abs(gradient @ offset), orthogonality_rounding(problem.risk, theta)

        return pointwise_verdict(problem, evaluate, "|⟨∇R, θ−e⟩|")


class Conservation(Theorem):
    id = "T3.1"
    statement = "along gradient flow, C(θ(t)) = ‖θ₁‖² + (θ₂−1)² stays equal to C(θ(0))"
    assumptions = ("A-theta2",)
    kind = "trajectory"
    family = "linear"

    def check(self, problem: Problem) -> Verdict:
        flow = _flow(problem)
        C = flow.sphere
        drift = np.abs(C - C[0])
        allowed = _ode_drift_allowance(problem, flow, float(C.max()))
        holds, margin = one_sided(drift.max(), allowed)
        return Verdict(holds, margin, {"C0": float(C[0]), "allowed_drift": allowed},
                       f"max |C(t) − C₀| = {drift.max():.3g} over t ∈ [0, {flow.t[-1]:.3g}] "
                       f"({flow.status})")


class GDRadius(Theorem):
    id = "GD-RADIUS"
    statement = "under GD, C(θₖ₊₁) = C(θₖ) + η²‖∇R(θₖ)‖² exactly"
    assumptions = ("A-theta2",)
    kind = "trajectory"
    family = "linear"

    def check(self, problem: Problem) -> Verdict:
        run = require_run(problem.descent(problem.risk, problem.theta0, problem.step, problem.steps))
        C = run.sphere
        valid = np.isfinite(run.grad_norm[:-1])
        increments = np.diff(C)[valid]
        predicted = problem.step ** 2 * run.grad_norm[:-1][valid] ** 2
        # C and ‖g‖² are sums of d+1 squares (relative error ≤ (d+2)eps each); the identity
        # also needs ⟨g, θ−e⟩ = 0, itself zero only to LIN-ORTH's rounding bound; and the
        # stored θₖ₊₁ = θₖ − ηg is rounded by ≤ eps·|θ| per component, which moves C by
        # ≤ 2eps·Σⱼ|θⱼ − eⱼ|·|θⱼ| (dominant when θ sits close to e).
        d2 = run.theta.shape[1] + 1
        e = _singular_point(run.theta.shape[1])
        stored = run.theta[1:][valid]
        update_rounding = 2 * EPS * np.sum(np.abs(stored - e) * np.abs(stored), axis=1)
        orthogonality = np.array([orthogonality_rounding(problem.risk, theta)
                                  for theta in run.theta[:-1][valid]])
        allowed = (d2 * EPS * (C[1:][valid] + C[:-1][valid] + predicted) + update_rounding
                   + 2 * problem.step * orthogonality)
        holds, margin = one_sided(np.abs(increments - predicted), allowed + np.finfo(float).tiny)
        detail = (f"max |ΔC − η²‖∇R‖²| = {np.abs(increments - predicted).max(initial=0):.3g} "
                  f"over {valid.sum()} steps ({run.status})")
        return Verdict(holds, margin, {"C0": float(C[0]), "C_final": float(C[-1])}, detail)


def _singular_point(width: int) -> np.ndarray:
    """e = (0, …, 0, 1) in ℝ^width."""
    e = np.zeros(width)
    e[-1] = 1.0
    return e


class SphereIdentity(Theorem):
    id = "SPHERE-ID"
    statement = "(1 − θ₂)² = C(θ)/(1 + ‖φ‖²) for every θ"
    assumptions = ("A-theta2",)
    family = "linear"

    def check(self, problem: Problem) -> Verdict:
        def evaluate(theta):
            lhs = (1.0 - theta[-1]) ** 2
            phi = _phi(theta)
            rhs = sphere(theta)[0] / (1.0 + phi @ phi)
            return abs(lhs - rhs), 4 * (theta.size + 3) * EPS * lhs  # a few ulps per operation

        return pointwise_verdict(problem, evaluate, "|(1−θ₂)² − C/(1+‖φ‖²)|")


class WellConditioned(Theorem):
    id = "L3.2"
    statement = "along GF the sign of 1−θ₂ never changes and |1−θ₂(t)| ≥ β = √C₀/√(1+Φ²)"
    assumptions = ("A-data", "A-theta2")
    kind = "trajectory"
    family = "linear"
    clauses = ("sign", "beta")

    def constants(self, problem):
        return linear_constants(problem)

    def check(self, problem: Problem) -> Verdict:
        constants = self.constants(problem)
        flow = _flow(problem)
        gap = 1.0 - flow.theta[:, -1]
        same_side = bool(np.all(np.sign(gap) == np.sign(gap[0])))
        beta = constants["beta"]
        sign = (same_side, 1.0 if same_side else -1.0)
        if math.isnan(beta):  # rank-deficient Σ: only the sign statement is checkable
            if flow.status is not RunStatus.COMPLETED:
                sign = (False, -1.0)
            return verdict_of({"sign": sign, "beta": (True, np.inf)}, constants,
                              f"β undefined (λ_min = 0); sign kept: {same_side}; {flow.status}")
        # β is a bound on the exact flow; the integrated |1−θ₂| errs by the ODE allowance
        allowance = _ode_drift_allowance(problem, flow, 1.0)
        closest = float(flow.singular_gap.min())
        return verdict_of({"sign": sign, "beta": one_sided(beta - allowance, closest, scale=beta)},
                          constants, f"min |1−θ₂| = {closest:.4g} vs β = {beta:.4g}; sign kept: {same_side}")


def _pl_constant(theta, lam_min):
    phi = _phi(theta)
    return 4.0 * lam_min * (1.0 + phi @ phi) / sphere(theta)[0]


class PolyakLojasiewicz(Theorem):
    id = "PL"
    statement = "‖∇R(θ)‖² ≥ μ(θ)R(θ), μ(θ) = 4λ_min(Σ)(1+‖φ‖²)/C(θ)"
    assumptions = ("A-data",)
    family = "linear"

    def constants(self, problem):
        lam_min, lam_max = spectrum(problem)
        return {"lambda_min": lam_min, "mu_theta0": float(_pl_constant(problem.theta0, lam_min))}

    def check(self, problem: Problem) -> Verdict:
        lam_min = spectrum(problem)[0]
        slack = []
        for theta in problem.all_points():
            value, gradient = problem.risk.value_and_gradient(theta)
            mu = _pl_constant(theta, lam_min)
            # both sides are quadratic forms in φ − ξ evaluated with relative error ≤ 4(d+2)eps
            lhs, rhs = gradient @ gradient, mu * value
            slack.append((lhs - rhs * (1 - 8 * (theta.size + 1) * EPS)) / max(lhs, rhs, np.finfo(float).tiny))
        margin = float(min(slack))
        return Verdict(margin >= 0, margin, self.constants(problem),
                       f"min (‖∇R‖² − μR)/scale = {margin:.3g}")


class ExponentialConvergence(Theorem):
    id = "T3.4"
    statement = "along GF, R(θ(t)) ≤ R(θ(0))·exp(−4λ_min(Σ)t/C₀)"
    assumptions = ("A-data",)
    kind = "trajectory"
    family = "linear"

    def constants(self, problem):
        constants = linear_constants(problem)
        constants["rate"] = 4 * constants["lambda_min"] / constants["C0"]
        return constants

    def check(self, problem: Problem) -> Verdict:
        constants = self.constants(problem)
        flow = _flow(problem)
        bound = constants["R0"] * np.exp(-constants["rate"] * flow.t)
        # R along the integrated path errs by ‖∇R‖·|δθ| with |δθ| ≤ the ODE allowance
        allowance = flow.grad_norm * _ode_drift_allowance(problem, flow, 1.0)
        floor = 64 * EPS * constants["R0"]  # R itself is evaluated with ~eps·R₀ absolute error
        holds, margin = one_sided(flow.risk, bound + allowance + floor,
                                  scale=np.maximum(bound, floor))
        return Verdict(holds, margin, constants, f"final R = {flow.risk[-1]:.3g}, bound "
                       f"{bound[-1]:.3g} at t = {flow.t[-1]:.3g}")


def t33_limit(theta0, xi):
    """θ^∞ = (s₀√C₀ξ/c, 1 − s₀√C₀/c), c = √(1+‖ξ‖²), s₀ = sign(1−θ₂(0))  (T3.3)."""
    C0 = float(sphere(theta0)[0])
    c = math.sqrt(1.0 + xi @ xi)
    s0 = 1.0 if theta0[-1] < 1.0 else -1.0
    return np.r_[s0 * math.sqrt(C0) * xi / c, 1.0 - s0 * math.sqrt(C0) / c]


class LaSalleLimit(Theorem):
    id = "T3.3"
    statement = "θ(t) → θ^∞ = (s₀√C₀ξ/c, 1 − s₀√C₀/c), the point of S = {θ₁ = ξ(1−θ₂)} on the sphere"
    assumptions = ("A-data",)
    kind = "trajectory"
    family = "linear"

    def constants(self, problem):
        constants = linear_constants(problem)
        constants["limit"] = t33_limit(problem.theta0, problem.risk.xi).tolist()
        return constants

    def check(self, problem: Problem) -> Verdict:
        constants = self.constants(problem)
        flow = _flow(problem)
        limit = np.asarray(constants["limit"])
        distance = float(np.linalg.norm(flow.final_theta - limit))
        # On the sphere, θ − e = s√C₀(φ, −1)/√(1+‖φ‖²) is √C₀-Lipschitz in φ, and
        # ‖φ − ξ‖ ≤ √(R/λ_min): so ‖θ(T) − θ^∞‖ ≤ √C₀·√(R(T)/λ_min) + drift off the sphere.
        lam_min = constants["lambda_min"]
        if not lam_min > 0:
            raise UncheckableError(
                f"λ_min(Σ) = 0: the distance bound is undefined; measured ‖θ(T) − θ^∞‖ = "
                f"{distance:.3g}, R(T) = {flow.risk[-1]:.3g} at T = {flow.t[-1]:.3g}")
        C0 = constants["C0"]
        drift = abs(flow.sphere[-1] - C0)
        allowed = (math.sqrt(C0) * math.sqrt(max(flow.risk[-1], 0.0) / lam_min)
                   + drift / math.sqrt(C0) + _ode_drift_allowance(problem, flow, C0) / math.sqrt(C0))
        holds, margin = one_sided(distance, allowed, scale=max(allowed, 1e-12))
        constants["allowed_distance"] = allowed
        return Verdict(holds, margin, constants,
                       f"‖θ(T) − θ^∞‖ = {distance:.3g}, allowed {allowed:.3g} at T = {flow.t[-1]:.3g}")


class PhiFlow(Theorem):
    id = "PHI-FLOW"
    statement = "φ' = −((1+‖φ‖²)/C)(I + φφᵀ)∇_φF(φ): GF is a preconditioned flow on φ"
    assumptions = ("A-theta2",)
    family = "linear"

    def check(self, problem: Problem) -> Verdict:
        Sigma, xi = problem.risk.second_moment, problem.risk.xi

        def evaluate(theta):
            gradient = problem.risk.gradient(theta)
            gap = 1.0 - theta[-1]
            phi = _phi(theta)
            velocity = -gradient  # θ' under GF
            phi_dot = velocity[:-1] / gap + theta[:-1] * velocity[-1] / gap ** 2
            grad_F = 2.0 * Sigma @ (phi - xi)  # F(φ) = ‖φ − ξ‖²_Σ
            predicted = -((1 + phi @ phi) / sphere(theta)[0]) * (grad_F + phi * (phi @ grad_F))
            # both sides carry a few ulps of ‖θ'‖/|1−θ₂|², times the condition of the sum
            scale = (np.abs(velocity[:-1]).max() / abs(gap) + np.abs(theta[:-1]).max()
                     * abs(velocity[-1]) / gap ** 2 + np.abs(predicted).max())
            return (float(np.max(np.abs(phi_dot - predicted))),
                    32 * (theta.size + 1) * EPS * scale + np.finfo(float).tiny)

        return pointwise_verdict(problem, evaluate, "|φ' − formula|")


class LinearConvergenceGD(Theorem):
    id = "T3.6"
    statement = "for η ≤ η₀: R(θₖ₊₁) ≤ (1 − 2ηλ_min/C(θₖ))·R(θₖ), R monotone"
    assumptions = ("A-data", "step-size")
    kind = "trajectory"
    family = "linear"

    def constants(self, problem):
        """η₀ = 1/ℓ with ℓ a smoothness bound of R on {R ≤ R₀, C ≥ C₀}.

        Derivation. Write R(θ) = F(φ(θ)), F(φ) = ‖φ − ξ‖²_Σ, φ = θ₁/(1−θ₂). On the region,
        ‖φ‖ ≤ ‖ξ‖ + √(R₀/λ_min) = Φ and, by SPHERE-ID, (1−θ₂)² = C/(1+‖φ‖²) ≥ C₀/(1+Φ²).
        The Jacobian of φ has norm ≤ √(1+Φ²)/|1−θ₂| and its second derivative ≤
        2√(1+Φ²)/(1−θ₂)²; with ‖∇²F‖ = 2λ_max and ‖∇F‖ ≤ 2√(λ_max R₀), the chain rule gives
        ‖∇²R‖ ≤ (2(1+Φ²)/C₀)(λ_max(1+Φ²) + 2√(λ_max R₀)(1+2Φ)) = ℓ (the catalogue's candidate).
        GD keeps the iterates in the region: R decreases (below) and C increases
        (GD-RADIUS). Descent lemma for η ≤ 1/ℓ: R⁺ ≤ R − η‖∇R‖² + (ℓη²/2)‖∇R‖² ≤ R − (η/2)‖∇R‖²,
        and PL (‖∇R‖² ≥ 4λ_min R/C) gives R⁺ ≤ (1 − 2ηλ_min/C)R. tests/test_theorems.py
        checks ‖∇²R‖ ≤ ℓ at sampled points of the region.
        """
        return linear_constants(problem)

    def check(self, problem: Problem) -> Verdict:
        constants = self.constants(problem)
        eta = problem.step
        run = problem.descent(problem.risk, problem.theta0, eta, problem.steps)
        R, C = run.risk, run.sphere
        finite = np.isfinite(R)
        if not finite.all() or run.status is not RunStatus.COMPLETED:
            return Verdict(False, -1.0, constants, f"GD did not complete: {run.message}")
        lam_min = constants["lambda_min"]
        factor = 1.0 - 2.0 * eta * lam_min / C[:-1]
        # risks below the evaluation floor (residuals at rounding level) carry no information
        floor = (16 * EPS) ** 2 * max(1.0, constants["R0"]) * max(1.0, constants["lambda_max"])
        informative = R[:-1] > floor
        bound = factor * R[:-1] * (1 + 16 * (run.theta.shape[1] + 1) * EPS) + floor
        holds, margin = one_sided(R[1:][informative], bound[informative],
                                  scale=np.maximum(R[:-1][informative], floor))
        ratio = eta / constants["eta0"] if constants["eta0"] == constants["eta0"] else math.nan
        return Verdict(holds, margin, constants,
                       f"η/η₀ = {ratio:.3g}; worst step slack {margin:.3g}; final R = {R[-1]:.3g}")


class Neumann(Theorem):
    id = "NEUMANN"
    statement = "the m-term Neumann backward gives (1 − θ₂ᵐ)·∇R (parallel: LIN-ORTH and GD-RADIUS survive)"
    assumptions = ("A-theta2",)
    family = "linear"

    TERMS = (1, 2, 3, 5)

    def check(self, problem: Problem) -> Verdict:
        observed, allowed = [], []
        risk = problem.risk
        for theta in problem.all_points():
            exact = risk.gradient(theta)
            for m in self.TERMS:
                neumann = neumann_gradient(risk, theta, m)
                predicted = (1.0 - theta[-1] ** m) * exact
                observed.append(float(np.max(np.abs(neumann - predicted))))
                scale = np.abs(exact).max() * max(1.0, abs(theta[-1])) ** m
                allowed.append(16 * m * (theta.size + 1) * EPS * scale / max(abs(1 - theta[-1]), 1e-300)
                               + np.finfo(float).tiny)
        holds, margin = one_sided(observed, allowed)
        return Verdict(holds, margin, {"terms": list(self.TERMS)},
                       f"max deviation from (1−θ₂ᵐ)∇R: {max(observed):.3g}")


def neumann_gradient(risk, theta, m: int) -> np.ndarray:
    """∇R with the IFT factor 1/(1−θ₂) replaced by its m-term Neumann sum Σ_{j<m} θ₂ʲ.

    Built from y = θ₁ᵀx/(1−θ₂) on the risk's sample (EmpiricalRisk) or from Σ (population):
    ∇R ≈ 2E[(y − f)·(Σ_{j<m}θ₂ʲ)·(x, y)].
    """
    factor = sum(theta[-1] ** j for j in range(m))
    if hasattr(risk, "X"):
        y = risk.X @ theta[:-1] / (1.0 - theta[-1])
        weights = 2.0 * (y - risk.targets) * factor / risk.n_samples
        return np.r_[weights @ risk.X, weights @ y]
    Sigma, xi = risk.second_moment, risk.xi
    phi = theta[:-1] / (1.0 - theta[-1])
    residual = Sigma @ (phi - xi)
    return 2.0 * factor * np.r_[residual, phi @ residual]


LINEAR_THEOREMS = (LinOrth(), Conservation(), GDRadius(), SphereIdentity(), WellConditioned(),
                   PolyakLojasiewicz(), ExponentialConvergence(), LaSalleLimit(), PhiFlow(),
                   LinearConvergenceGD(), Neumann())
