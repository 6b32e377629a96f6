"""The checks themselves: a theorem check whose tolerance is 1000× too loose, or whose rate
constant lost a factor, still passes on correct code — only a test of the check can see it.

* Sensitivity: a perturbation sized from first principles (a few hundred ulps, or 100× the
  ODE tolerance), far below what a loosened tolerance would admit, must flip the verdict.
* Tightness: where a bound is attained on a known problem (θ₁ = 0 for PL and T3.4, a start
  on the solution set for L3.2), the check's constant must match the observed quantity.
"""

import dataclasses

import numpy as np
import pytest
from broken_risks import WrappedRisk
from check_problems import SIGMA, XI, ReluOffBy1e13, linear_problem, single_index_problem

import deqverify as dv
from deqverify.theorems import REGISTRY, Problem
from deqverify.theorems.single_index import ball_points, rsi_ratios

def holds(theorem_id, problem):
    return REGISTRY[theorem_id].check(problem).holds


THETA0 = np.array([0.3, -0.2, 0.6, 0.4])


def test_LIN_ORTH_fails_a_gradient_tilted_by_1e_minus_12():
    """The rounding bound is ~(d + 2)·eps relative; a tilt of 1e-12 (≈ 4500 ulps) towards
    θ − e must fail, which a 1000× looser tolerance would not."""
    def tilt(theta, g):
        offset = np.r_[theta[:-1], theta[-1] - 1.0]
        return g + 1e-12 * np.linalg.norm(g) * offset / np.linalg.norm(offset)

    problem = linear_problem(THETA0)
    assert holds("LIN-ORTH", problem)
    assert not holds("LIN-ORTH", dataclasses.replace(problem, risk=WrappedRisk(problem.risk, tilt)))


def test_GD_RADIUS_fails_a_step_longer_by_one_part_in_1e10():
    """C⁺ − C = η²‖∇R‖² exactly; taking η(1 + 1e-10) changes the increment by 2e-10·η²‖∇R‖²
    (about 1e-13·C here) against a rounding allowance of a few eps·C."""
    def longer(risk, theta0, step, steps, record_every=1, **kwargs):
        return dv.gradient_descent(risk, theta0, step * (1 + 1e-10), steps, record_every, **kwargs)

    problem = linear_problem(THETA0, step=0.05, steps=30)
    assert holds("GD-RADIUS", problem)
    assert not holds("GD-RADIUS", dataclasses.replace(problem, descent=longer))


def nudged_flow(relative_drift):
    """A gradient flow whose path is scaled about e = (0, 1) by 1 + drift·t/T, so that
    C(θ(t)) = ‖θ − e‖² drifts by about 2·drift·C₀ at t = T."""
    def flow(risk, theta0, t_max, **kwargs):
        run = dv.gradient_flow(risk, theta0, t_max, **kwargs)
        e = np.r_[np.zeros(run.theta.shape[1] - 1), 1.0]
        scale = 1.0 + relative_drift * run.t / t_max
        run.theta = e + (run.theta - e) * scale[:, None]
        return run
    return flow


def test_T3_1_fails_a_drift_100_times_the_integration_tolerance():
    """At rtol = 1e-10 the derived allowance is ≤ ~1e-7·C₀ on this run; a drift of 1e-6·C₀
    must fail (a 1000× looser allowance would admit it), and the allowance itself must stay
    below 1e-6·C₀ (the ceiling an honest rtol = 1e-10 integration justifies)."""
    problem = linear_problem(THETA0, t_max=2.0)
    verdict = REGISTRY["T3.1"].check(problem)
    assert verdict.holds
    assert verdict.constants["allowed_drift"] <= 1e-6 * verdict.constants["C0"]
    assert not holds("T3.1", dataclasses.replace(problem, flow=nudged_flow(5e-7)))


def test_PL_constant_is_attained_at_theta1_zero():
    """At θ₁ = 0 (φ = 0) with ξ an eigenvector of λ_min, ‖∇R‖² = μ(θ)R exactly: the margin
    is ~0. A μ that lost a factor (4λ_min → λ_min) would leave a margin of 0.75."""
    xi = np.array([1.0, 0.0, 0.0])  # eigenvector of λ_min = 0.7: ‖Σr‖² = λ_min·rᵀΣr
    risk = dv.PopulationRisk(dv.LinearDEQ(), dv.GaussianPopulation(SIGMA), xi)
    verdict = REGISTRY["PL"].check(Problem(dv.LinearDEQ(), risk, np.array([0.0, 0.0, 0.0, 0.4])))
    assert verdict.holds and verdict.margin < 1e-9


def test_T3_4_rate_equals_the_initial_decay_rate_at_theta1_zero():
    """d/dt log R = −‖∇R‖²/R = −4λ_min/C₀ at t = 0 when θ₁ = 0 and ξ lies along the
    λ_min eigenvector: the bound's rate is attained there."""
    xi = np.array([1.0, 0.0, 0.0])  # eigenvector of λ_min = 0.7
    risk = dv.PopulationRisk(dv.LinearDEQ(), dv.GaussianPopulation(SIGMA), xi)
    theta0 = np.array([0.0, 0.0, 0.0, 0.4])
    problem = Problem(dv.LinearDEQ(), risk, theta0, t_max=1.0)
    constants = REGISTRY["T3.4"].constants(problem)
    value, gradient = risk.value_and_gradient(theta0)
    assert constants["rate"] == pytest.approx(gradient @ gradient / value, rel=1e-12)
    assert REGISTRY["T3.4"].check(problem).holds


def test_T3_6_margin_pins_the_factor_two_at_theta1_zero():
    """For small η at θ₁ = 0 (ξ along λ_min) one step gives R⁺/R ≈ 1 − 4a, a = ηλ_min/C₀,
    against the bound 1 − 2a: the check's margin (slack over R) must be ≈ 2a. A factor that
    lost its 2 (1 − a) would report a margin of 3a."""
    xi = np.array([1.0, 0.0, 0.0])
    risk = dv.PopulationRisk(dv.LinearDEQ(), dv.GaussianPopulation(SIGMA), xi)
    theta0, eta = np.array([0.0, 0.0, 0.0, 0.4]), 1e-4
    verdict = REGISTRY["T3.6"].check(Problem(dv.LinearDEQ(), risk, theta0, step=eta, steps=1))
    a = eta * 0.7 / (1 - 0.4) ** 2
    assert verdict.holds
    assert 1.9 * a <= verdict.margin <= 2.1 * a


def test_L3_2_beta_is_attained_on_the_solution_set():
    """Started on the solution set (φ = ξ, R₀ = 0) the flow stays put and |1 − θ₂| equals
    β = √C₀/√(1 + ‖ξ‖²) exactly; β without its square roots would differ."""
    theta2 = 0.4
    theta0 = np.r_[XI * (1 - theta2), theta2]
    problem = linear_problem(theta0, t_max=1.0)
    verdict = REGISTRY["L3.2"].check(problem)
    assert verdict.holds
    assert abs(1 - theta2) == pytest.approx(verdict.constants["beta"], rel=1e-12)


class RootOffBy1e12(dv.SingleIndexDEQ):
    """Returns y* + 1e-12·max(1, |y*|) as converged: 10× FP-1's 1e-13 allowance (the
    rounding term 8·eps·cond is ~1e-15 here), 100× below a 1000× looser one."""

    def fixed_point(self, theta, X, *, throw=False):
        result = super().fixed_point(theta, X, throw=throw)
        result.value = result.value + 1e-12 * np.maximum(1.0, np.abs(result.value))
        return result


def test_FP_1_fails_a_root_ten_tolerances_off():
    X = np.random.default_rng(3).standard_normal((12, 2)) * 2
    theta = np.array([0.8, -0.5, 3.0])  # sigmoid, θ₂L = 0.75
    problem = Problem(dv.SingleIndexDEQ("sigmoid"), None, theta, X=X)
    assert holds("FP-1", problem)
    assert not holds("FP-1", dataclasses.replace(problem, model=RootOffBy1e12("sigmoid")))


class ScaledJacobian(dv.SingleIndexDEQ):
    """IFT factor c scaled by 1 + 3e-12: ~6× the derived allowance here (≈ 4·cond·|θ₂|·1e-14
    relative with cond ≤ 4), 100× below a 1000× looser one."""

    @staticmethod
    def jacobian_factor(result, theta2):
        return result.slope / (1.0 - theta2 * result.slope) * (1 + 3e-12)


def test_FP_2_fails_a_jacobian_off_by_3e_minus_12():
    X = np.random.default_rng(4).standard_normal((12, 2))
    theta = np.array([0.8, -0.5, 3.0])
    targets = np.random.default_rng(5).standard_normal(12)
    good = dv.EmpiricalRisk(dv.SingleIndexDEQ("sigmoid"), X, targets)
    problem = Problem(dv.SingleIndexDEQ("sigmoid"), good, theta, X=X)
    assert holds("FP-2", problem)
    bad_model = ScaledJacobian("sigmoid")
    bad = dataclasses.replace(problem, model=bad_model, risk=dv.EmpiricalRisk(bad_model, X, targets))
    assert not holds("FP-2", bad)


def test_PHI_FLOW_and_NEUMANN_fail_a_gradient_scaled_by_1_plus_1e_minus_12():
    """Both compare the risk's gradient with an algebraic prediction to ~32(d + 2)·eps
    (≈ 4e-14 relative); a gradient 1e-12 off must fail both."""
    problem = linear_problem(THETA0)
    scaled = dataclasses.replace(problem, risk=WrappedRisk(problem.risk, lambda _, g: g * (1 + 1e-12)))
    for theorem_id in ("PHI-FLOW", "NEUMANN"):
        assert holds(theorem_id, problem)
        assert not holds(theorem_id, scaled), theorem_id


def test_T3_3_fails_an_end_point_rotated_20_allowances_off_the_limit():
    """Rotating θ(T) − e about e by an angle δ keeps C and moves θ(T) by ≈ δ√C₀; with
    δ√C₀ = 20× the check's allowance it must fail. The allowance itself (distance bound
    √C₀·√(R(T)/λ_min) plus the ODE drift at rtol = 1e-10) must stay below 1e-6·√C₀."""
    problem = linear_problem(THETA0, t_max=40.0)
    verdict = REGISTRY["T3.3"].check(problem)
    assert verdict.holds
    C0, allowed = verdict.constants["C0"], verdict.constants["allowed_distance"]
    assert allowed <= 1e-6 * np.sqrt(C0)
    angle = 20 * allowed / np.sqrt(C0)

    def rotated(risk, theta0, t_max, **kwargs):
        out = dv.gradient_flow(risk, theta0, t_max, **kwargs)
        offset = out.theta[-1] - np.r_[0.0, 0.0, 0.0, 1.0]
        c, s = np.cos(angle), np.sin(angle)
        offset[0], offset[1] = c * offset[0] - s * offset[1], s * offset[0] + c * offset[1]
        out.theta[-1] = np.r_[0.0, 0.0, 0.0, 1.0] + offset
        return out

    assert not holds("T3.3", dataclasses.replace(problem, flow=rotated))


class SilentJustPastTheEdge(dv.SingleIndexDEQ):
    """Answers silently for 1 ≤ θ₂L < 1 + 1e-9 (an off-by-rounding well-posedness test)."""

    def fixed_point(self, theta, X, *, throw=False):
        lip = self.activation.lipschitz
        if 1.0 <= theta[-1] * lip < 1.0 + 1e-9:
            return super().fixed_point(np.r_[theta[:-1], (1 - 1e-9) / lip], X)
        return super().fixed_point(theta, X, throw=throw)


def test_FP_3_fails_a_model_silent_just_past_the_edge():
    X = np.random.default_rng(6).standard_normal((5, 2))
    problem = Problem(dv.SingleIndexDEQ("sigmoid"), None, np.array([0.3, -0.4, 1.0]), X=X)
    assert holds("FP-3", problem)
    assert not holds("FP-3", dataclasses.replace(problem, model=SilentJustPastTheEdge("sigmoid")))


def test_RELU_fails_a_closed_form_off_by_1e_minus_13():
    """The closed form is exact to 2(d + 2) ulps (≈ 3e-15 relative); 1e-13 must fail."""
    rng = np.random.default_rng(7)
    X = rng.standard_normal((20, 3))
    model = dv.SingleIndexDEQ("relu")
    risk = dv.EmpiricalRisk.from_teacher(model, X, np.array([0.5, -1.0, 0.3]))
    problem = Problem(model, risk, np.array([0.4, 0.2, -0.7, 0.3]), X=X, step=0.05, steps=10)
    assert holds("RELU", problem)
    bad = ReluOffBy1e13("relu")
    assert not holds("RELU", dataclasses.replace(problem, model=bad))


def test_SI_IDENT_fails_a_risk_of_1e_minus_13_at_the_truth():
    """R(θ*) must vanish to 64·eps; targets scaled by 1 + 1e-6 leave R(θ*) = 1e-12·mean(t²)
    ≈ 3e-13, 20× that floor (a 1000× looser floor would call it zero)."""
    assert holds("SI-IDENT", single_index_problem())
    assert not holds("SI-IDENT", single_index_problem(1 + 1e-6))


class ScaledHessianRisk(WrappedRisk):
    def hessian_at_truth(self):
        return self._risk.hessian_at_truth() * (1 + 1e-6)


def test_SI_HESS_fails_a_hessian_off_by_one_part_in_1e6():
    """H* is compared with Richardson differences of ∇R to ≈ 1e4·eps/h ≈ 4e-8 relative; a
    closed form 1e-6 off must fail."""
    problem = single_index_problem()
    assert holds("SI-HESS", problem)
    assert not holds("SI-HESS", dataclasses.replace(problem, risk=ScaledHessianRisk(problem.risk, lambda _, g: g)))


def test_SI_RSI_fails_a_gradient_whose_secant_turns_slightly_negative():
    """Subtract (λ₁/2)(1 + 1e-9)(θ − θ*) from ∇R: the smallest secant ratio becomes
    −1e-9·λ₁/2 < 0, so no λ₁ > 0 exists on the ball."""
    problem = single_index_problem()
    assert holds("SI-RSI", problem)
    truth = problem.risk.truth
    radius = float(np.linalg.norm(problem.theta0 - truth))
    points = np.vstack([ball_points(problem, radius), problem.all_points()])
    half = float(rsi_ratios(problem, points)[0].min()) * (1 + 1e-9)  # the smallest secant ratio
    bent = WrappedRisk(problem.risk, lambda theta, g: g - half * (theta - truth))
    assert not holds("SI-RSI", dataclasses.replace(problem, risk=bent))


def test_T3_9_margin_is_the_contraction_slack_of_one_step():
    """One small GD step from θ₀: r₁/r₀ = 1 − 2ηρ₀ + O(η²) with ρ₀ the secant ratio
    ⟨∇R(θ₀), θ₀ − θ*⟩/r₀, against the bound 1 − ηλ₁/2, so the margin must be 2ηρ₀ − ηλ₁/2.
    A factor that lost its 1/2 (or gained one) moves the margin by ηλ₁/4 or more."""
    problem = dataclasses.replace(single_index_problem(), step=1e-4, steps=1)
    verdict = REGISTRY["T3.9"].check(problem)
    assert verdict.holds
    truth = problem.risk.truth
    offset = problem.theta0 - truth
    rho0 = problem.risk.gradient(problem.theta0) @ offset / (offset @ offset)
    lambda1, eta = verdict.constants["lambda1"], 1e-4
    assert verdict.margin == pytest.approx(2 * eta * rho0 - eta * lambda1 / 2, abs=0.02 * eta * lambda1)


# ---- beyond the paper: the bounds of MON-*, LINF-WP and BWD-JFB are attained ----------------
def linear_layer_problem(W, U, X, **fields):
    """z = Wz + Ux (σ the identity, b = 0): every root is (I − W)⁻¹Ux in closed form."""
    W = np.atleast_2d(np.asarray(W, dtype=float))
    model = dv.VectorDEQ(W.shape[0], "identity", allow_noncontractive=True)
    params = dv.VectorParams(W, np.asarray(U, dtype=float), np.zeros(W.shape[0]), np.ones(W.shape[0]))
    return Problem(model, None, params.flat, X=np.asarray(X, dtype=float), **fields)


def test_MON_LIP_bound_is_attained_along_the_top_singular_direction_of_U():
    """W = 0.4·I (m = 0.6), U = diag(2, 0.5), Δx along e₁: ‖Δz*‖ = 2‖Δx‖/0.6 = (‖U‖₂/m)‖Δx‖."""
    problem = linear_layer_problem(0.4 * np.eye(2), np.diag([2.0, 0.5]), [[1.0, 0.3], [1.5, 0.3]])
    verdict = REGISTRY["MON-LIP"].check(problem)
    assert verdict.holds and abs(verdict.constants["tightest"] - 1.0) <= 1e-9, verdict


def test_MON_WP_factor_is_attained_when_I_minus_W_is_a_multiple_of_I():
    """A = I − W = mI: the forward–backward map is z ↦ (1 − αm)z + αp, whose ratio |1 − αm| is
    the factor √(1 − 2αm + α²m²): the contraction margin is rounding, not slack."""
    problem = linear_layer_problem(0.4 * np.eye(2), np.eye(2), [[1.0, -2.0], [0.5, 3.0]], step=0.9)
    verdict = REGISTRY["MON-WP"].check(problem)
    assert verdict.holds and 0 <= verdict.clauses["contraction"] <= 1e-8, verdict


def test_LINF_WP_lipschitz_constant_is_attained_by_a_diagonal_layer():
    """W = 0.5·I (μ∞ = 0.5, α = 1): z* = 2p, so ‖Δz*‖∞ = ‖Δp‖∞/(1 − μ)."""
    problem = linear_layer_problem(0.5 * np.eye(2), np.eye(2), [[1.0, 0.0], [1.0, 0.7]])
    verdict = REGISTRY["LINF-WP"].check(problem)
    assert verdict.holds and abs(verdict.constants["tightest"] - 1.0) <= 1e-9, verdict


def test_BWD_JFB_bound_is_attained_for_a_scalar_layer():
    """k = 1, W = 0.5: ∇_U = 2Γ, so ⟨Γ, ∇_U⟩ = 2Γ² = (1 − 0.5)·(2Γ)²: the margin is rounding."""
    problem = linear_layer_problem([[0.5]], [[1.0]], [[0.7], [-1.3]], cotangents=np.array([[0.4], [0.9]]))
    verdict = REGISTRY["BWD-JFB"].check(problem)
    assert verdict.holds and verdict.margin <= 1e-12, verdict
