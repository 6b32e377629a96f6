"""Gradient flow / descent: T3.3 limit, GD-RADIUS, events, statuses, persistence, reproduce."""

import json

import numpy as np
import pytest

import deqverify as dv
from deqverify.app.cli import main
from deqverify.core.dynamics import sphere
from deqverify.core.models import SINGULAR_MARGIN

EPS = np.finfo(float).eps


def t33_limit(theta0, xi):
    """T3.3 (docs/theorems.md): θ^∞ = (s₀√C₀ ξ/c, 1 − s₀√C₀/c), c = √(1 + ‖ξ‖²)."""
    C0 = sphere(theta0)[0]
    c = np.sqrt(1 + xi @ xi)
    s0 = np.sign(1 - theta0[-1])
    return np.r_[s0 * np.sqrt(C0) * xi / c, 1 - s0 * np.sqrt(C0) / c]


@pytest.mark.parametrize("theta0", [[0.02442, 0.06782], [0.5, 1.7], [-1.0, -0.5]])
def test_linear_flow_limit_is_T33_formula_uniform(theta0):
    risk = dv.PopulationRisk(dv.LinearDEQ(), dv.UniformPopulation(0, 1), [2.0])
    flow = dv.gradient_flow(risk, theta0, 400.0)
    assert flow.status is dv.RunStatus.COMPLETED
    np.testing.assert_allclose(flow.final_theta, t33_limit(np.array(theta0), np.array([2.0])),
                               atol=1e-8)


def test_linear_flow_limit_is_T33_formula_gaussian(rng):
    A = rng.normal(size=(3, 3))
    risk = dv.PopulationRisk(dv.LinearDEQ(), dv.GaussianPopulation(A @ A.T + np.eye(3)),
                             rng.normal(size=3))
    theta0 = np.r_[rng.normal(size=3), 0.3]
    flow = dv.gradient_flow(risk, theta0, 200.0)
    np.testing.assert_allclose(flow.final_theta, t33_limit(theta0, risk.xi), atol=1e-8)
    # T3.1 along the way, within the ODE tolerance (rtol 1e-10 on O(1) quantities)
    assert np.max(np.abs(flow.sphere - flow.sphere[0])) <= 1e-8


def test_gd_radius_holds_to_rounding_along_run_a():
    """GD-RADIUS: C(θₖ₊₁) − C(θₖ) = η²‖∇R(θₖ)‖² exactly, up to float64 rounding."""
    X = np.random.default_rng(0).uniform(size=(1000, 1))
    risk = dv.EmpiricalRisk.from_teacher(dv.LinearDEQ(), X, [2.0])
    eta = 0.01
    run = dv.gradient_descent(risk, [0.02442, 0.06782], eta, 200)
    C = run.sphere
    increments = np.diff(C)
    predicted = eta ** 2 * run.grad_norm[:-1] ** 2
    # C is a sum of squares of O(1) numbers: each evaluation rounds by ~4 eps·C
    assert np.all(np.abs(increments - predicted) <= 8 * EPS * C[1:])
    assert np.all(increments >= -8 * EPS * C[1:])  # C never decreases (up to rounding)


def test_flow_stops_before_the_singular_point():
    """A risk whose flow drives θ₂ → 1 must stop by the event, with a status."""

    class PushTowardSingularity:
        model = dv.LinearDEQ()
        dim = 1
        truth = np.array([0.0, 0.0])

        def gradient(self, theta):
            return np.array([0.0, -1.0])  # θ₂' = +1

        def value_and_gradient(self, theta):
            return float(theta[-1]), self.gradient(theta)

    flow = dv.gradient_flow(PushTowardSingularity(), [0.3, 0.5], 10.0)
    assert flow.status is dv.RunStatus.SINGULAR_APPROACH
    assert flow.t[-1] == pytest.approx(0.5 - SINGULAR_MARGIN, abs=1e-9)
    assert 1 - flow.final_theta[-1] == pytest.approx(SINGULAR_MARGIN, rel=1e-3)
    assert np.all(flow.theta[:, -1] < 1)


def test_single_index_flow_event_on_contraction_limit():
    class PushTheta2Up:
        model = dv.SingleIndexDEQ("tanh")
        dim = 1
        truth = np.array([0.0, 0.0])

        def gradient(self, theta):
            return np.array([0.0, -1.0])

        def value_and_gradient(self, theta):
            return 0.0, self.gradient(theta)

    flow = dv.gradient_flow(PushTheta2Up(), [0.0, 0.0], 5.0)
    assert flow.status is dv.RunStatus.SINGULAR_APPROACH
    assert flow.final_theta[-1] * 1.0 == pytest.approx(1 - SINGULAR_MARGIN, abs=1e-9)


def test_gd_reports_ill_posed_when_a_step_leaves_the_well_posed_region():
    X = np.random.default_rng(1).uniform(size=(100, 1))
    risk = dv.EmpiricalRisk.from_teacher(dv.SingleIndexDEQ("sigmoid"), X, [2.0])
    run = dv.gradient_descent(risk, [0.0, 3.9], 500.0, 50)
    assert run.status in (dv.RunStatus.ILL_POSED, dv.RunStatus.DIVERGED)
    assert "step" in run.message


def test_gd_reports_divergence():
    class Quadratic:  # R = ‖θ‖²: GD with η = 50 multiplies θ by −99 each step
        dim = 1
        truth = np.zeros(2)

        def value_and_gradient(self, theta):
            return float(theta @ theta), 2 * theta

    run = dv.gradient_descent(Quadratic(), [0.1, 0.2], 50.0, 1000)
    assert run.status is dv.RunStatus.DIVERGED
    assert run.t[-1] == 2  # R₀ = 0.05, R₁ ≈ 490, R₂ = 0.05·99⁴ ≈ 4.8e6 > 10⁶ = the limit
    assert "R =" in run.message


def test_trajectory_save_load_and_dict(tmp_path):
    risk = dv.PopulationRisk(dv.LinearDEQ(), dv.UniformPopulation(0, 1), [2.0])
    run = dv.gradient_descent(risk, [0.1, 0.2], 0.1, 30, record_every=7)
    assert run.t.tolist() == [0, 7, 14, 21, 28, 30]
    path = tmp_path / "run.npz"
    run.save(path)
    loaded = dv.Trajectory.load(path)
    np.testing.assert_array_equal(loaded.theta, run.theta)
    assert loaded.status is run.status and loaded.kind == "descent"
    as_dict = json.loads(json.dumps(run.to_dict()))
    assert as_dict["sphere"] == pytest.approx(run.sphere.tolist())
    assert set(as_dict) >= {"t", "theta", "risk", "sphere", "distance_to_truth", "singular_gap",
                            "grad_norm", "status"}


def test_bad_dynamics_arguments_raise():
    risk = dv.PopulationRisk(dv.LinearDEQ(), dv.UniformPopulation(0, 1), [2.0])
    with pytest.raises(dv.InvalidInputError):
        dv.gradient_descent(risk, [0.1, 0.2], -0.1, 3)
    with pytest.raises(dv.InvalidInputError):
        dv.gradient_flow(risk, [0.1, 0.2], 0.0)
    with pytest.raises(dv.SingularDEQError):
        risk.value([0.1, 1.0])


def test_reproduce_quick_writes_its_files(tmp_path, capsys):
    assert main(["reproduce", "--quick", "--out", str(tmp_path)]) == 0
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert set(summary) == {"a_linear_gd", "a_linear_gf", "b_linear_near_singular",
                            "c_sigmoid_near", "d_sigmoid_far", "e_gaussian_sigmoid_gf",
                            "e_gaussian_tanh_gf"}
    for record in summary.values():
        assert {"final_theta", "final_risk", "C0", "final_C", "seconds"} <= set(record)
    flow = summary["a_linear_gf"]
    assert flow["final_C"] == pytest.approx(flow["C0"], rel=1e-8)  # T3.1
    pytest.importorskip("matplotlib")
    assert len(list(tmp_path.glob("*.png"))) == 7


def test_reproduce_vector_shows_the_conservation_laws(tmp_path):
    """VEC-CONS: Q flat under the linear flow; VEC-RADIUS: Q grows under GD; VEC-BAL: the
    ReLU balances flat under the flow (to the ODE tolerance)."""
    assert main(["reproduce", "--vector", "--quick", "--out", str(tmp_path)]) == 0
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert set(summary) == {"vector_linear_gf", "vector_linear_gd", "vector_relu_gf"}
    assert all(record["status"] == "completed" for record in summary.values())
    assert summary["vector_linear_gf"]["max_Q_drift"] < 1e-8
    assert summary["vector_linear_gd"]["max_Q_drift"] > 1e-4  # η²GGᵀ accumulates
    assert summary["vector_relu_gf"]["max_balance_drift"] < 1e-5
    assert summary["vector_relu_gf"]["max_Q_drift"] > 1e-3  # Q is a linear-σ law only
    pytest.importorskip("matplotlib")
    assert len(list(tmp_path.glob("*.png"))) == 3


# Found by Hypothesis (L3.2, ci profile): an exactly fitted empirical risk with C₀ = 0.05²
EXACT_FIT_X = np.array([
    [2.1332221709967722, -1.6075710836729018, -0.13655283715462885, -2.580296599063924],
    [7.835330552215741, -0.9353804721471753, -3.4834098180135062, -3.615248707757818],
    [-6.602787528456969, -2.693376699069267, -2.934023148402841, -0.6187282833973472],
    [-7.639401672950701, 4.155977738479281, 1.0876201355598771, 1.670193768444544],
    [2.588312894662902, -2.0146757284187427, -5.669648460558981, -1.3287691966459458],
    [2.927779451240512, 5.448918666638797, -0.3848272567225857, 5.816212462921839]])


def exact_fit_risk():
    xi = np.array([1.2842204170994966, 1.308156805204173, 0.0, 0.0])
    return dv.EmpiricalRisk(dv.LinearDEQ(), EXACT_FIT_X, EXACT_FIT_X @ xi)


def test_a_flow_lsoda_cannot_finish_falls_back_to_bdf():
    """At the exact-fit minimum (R → 0, λ_max(Σ̂)/C₀ ≈ 1.4·10⁴) LSODA stays in Adams mode on
    steps of ~2/λ (6·10⁶ evaluations to t = 20): after the explicit budget it hands over to
    BDF, which finishes and conserves C (T3.1) to its tolerance."""
    flow = dv.gradient_flow(exact_fit_risk(), [0.0, 0.0, 0.0, 0.0, 0.95], 20.0)
    assert flow.status is dv.RunStatus.COMPLETED, flow.message
    assert flow.info["stiff_fallback_from"] == "DOP853, LSODA" and flow.info["method"] == "BDF"
    assert flow.risk[-1] < 1e-20
    # BDF's local error control at rtol 1e-10 over ~1.3k steps: drift ≤ 1e-10·steps ≈ 1e-7·C₀
    assert np.max(np.abs(flow.sphere - flow.sphere[0])) <= 1e-7 * flow.sphere[0]


def test_a_stiff_method_that_runs_out_of_evaluations_says_so():
    flow = dv.gradient_flow(exact_fit_risk(), [0.0, 0.0, 0.0, 0.0, 0.95], 20.0, method="LSODA",
                            max_evaluations=2000)
    assert flow.status is dv.RunStatus.SOLVER_FAILED
    assert "more than 2000 gradient evaluations with LSODA" in flow.message


def test_stiff_flow_falls_back_to_lsoda():
    """θ₀ near e makes C₀ tiny and the rate 4λ/C₀ large: DOP853 would grind; with a small
    evaluation budget the flow reruns with LSODA and still conserves C (T3.1)."""
    risk = dv.PopulationRisk(dv.LinearDEQ(), dv.GaussianPopulation(np.array([[50.0]])), [1.0])
    flow = dv.gradient_flow(risk, [0.0, 0.99], 5.0, max_evaluations=3000)
    assert flow.status is dv.RunStatus.COMPLETED
    assert flow.info["stiff_fallback_from"] == "DOP853" and flow.info["method"] == "LSODA"
    assert np.max(np.abs(flow.sphere - flow.sphere[0])) <= 1e-8 * flow.sphere[0] + 1e-12
