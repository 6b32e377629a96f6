"""Every clause of every statement can fail on its own.

A statement with several claims (a bound *and* a monotonicity, a sign *and* a floor, an
identity *and* its eigenvalue bounds) is checked clause by clause, and its verdict names the
margin of each (:attr:`Theorem.clauses`). A check whose second clause was made vacuous — a
rise test that keeps the decreases, a sign test that compares a value with itself — still
passes every correct problem and every violation of its first clause, so each clause gets a
planted violation here that must drive *that clause's* margin below zero. Single-clause
statements are covered by ``test_check_sensitivity.py``; ``tox -e properties`` runs both
files, so the property suite alone catches a slackened or vacuous check.
"""

import dataclasses
import inspect

import numpy as np
import pytest
from broken_risks import WrappedRisk
from check_problems import ReluOffBy1e13, linear_problem, single_index_problem

import deqverify as dv
from deqverify.core import phantom
from deqverify.core.activations import Activation, get_activation
from deqverify.core.splitting import monotone_constants
from deqverify.theorems import REGISTRY, Problem

# ---- problems on which every clause holds ------------------------------------------------


def fp2_problem(model=None):
    """Sigmoid, θ₂ = 3 (θ₂L = 0.75): samples reach u ≈ 0, where 1 − θ₂σ'(u) = 0.25."""
    model = model or dv.SingleIndexDEQ("sigmoid")
    rng = np.random.default_rng(4)
    X, targets = rng.standard_normal((12, 2)), rng.standard_normal(12)
    return Problem(model, dv.EmpiricalRisk(model, X, targets), np.array([0.8, -0.5, 3.0]), X=X)


def flow_problem():
    """Single-index gradient flow from inside the RSI ball (T3.8)."""
    return dataclasses.replace(single_index_problem(), points=None, t_max=4.0)


def relu_problem():
    rng = np.random.default_rng(7)
    X = rng.standard_normal((20, 3))
    model = dv.SingleIndexDEQ("relu")
    risk = dv.EmpiricalRisk.from_teacher(model, X, np.array([0.5, -1.0, 0.3]))
    return Problem(model, risk, np.array([0.4, 0.2, -0.7, 0.3]), X=X, step=0.05, steps=10)


def vector_problem(model=None):
    """tanh, k = 3, ‖W‖₂ = 0.5."""
    rng = np.random.default_rng(11)
    model = model or dv.VectorDEQ(3, "tanh")
    W = rng.standard_normal((3, 3))
    params = dv.VectorParams(0.5 * W / np.linalg.norm(W, 2), rng.standard_normal((3, 2)),
                             rng.standard_normal(3) * 0.3, rng.standard_normal(3))
    X = rng.standard_normal((8, 2))
    risk = dv.EmpiricalRisk(model, X, rng.standard_normal(8))
    return Problem(model, risk, params.flat, X=X)


# ---- planted violations, one per clause --------------------------------------------------


class ScaledJacobian(dv.SingleIndexDEQ):
    """The IFT factor 1e-9 relative off (the Jacobian clause allows ~1e-14)."""

    @staticmethod
    def jacobian_factor(result, theta2):
        return result.slope / (1.0 - theta2 * result.slope) * (1 + 1e-9)


class TiltedValue(WrappedRisk):
    """R's value tilted by 1e-4·θ[0] while ∇R is untouched: differences of R no longer match
    the gradient (allowed: truncation + rounding ≈ 1e-9 relative)."""

    def __init__(self, risk):
        super().__init__(risk, lambda _, g: g)

    def value(self, theta):
        return self._risk.value(theta) + 1e-4 * theta[0]

    def value_and_gradient(self, theta):
        return self.value(theta), self._risk.gradient(theta)


def with_tilted_value(problem):
    return dataclasses.replace(problem, risk=TiltedValue(problem.risk))


def fp2_denominator_off():
    """An activation that understates its Lipschitz constant (L = 0.125 for the sigmoid's
    0.25): the floor 1 − |θ₂|L = 0.625 sits above the denominators 1 − θ₂σ'(u) ≥ 0.25 the
    samples reach, while the Jacobian and the gradient stay right."""
    understated = dataclasses.replace(get_activation("sigmoid"))
    object.__setattr__(understated, "lipschitz", 0.125)  # past the constructor's own check
    return fp2_problem(dv.SingleIndexDEQ(understated))


def l32_sign_flipped():
    """θ₂(T) reflected across 1 (|1 − θ₂| unchanged): only the sign clause can see it."""
    def reflected(risk, theta0, t_max, **kwargs):
        run = dv.gradient_flow(risk, theta0, t_max, **kwargs)
        run.theta[-1, -1] = 2.0 - run.theta[-1, -1]
        return run
    return dataclasses.replace(linear_problem([0.3, -0.2, 0.6, 0.4], t_max=2.0), flow=reflected)


def l32_below_beta():
    """|1 − θ₂(T)| pulled to β/2, on the same side of 1."""
    problem = linear_problem([0.3, -0.2, 0.6, 0.4], t_max=2.0)
    beta = REGISTRY["L3.2"].constants(problem)["beta"]

    def squeezed(risk, theta0, t_max, **kwargs):
        run = dv.gradient_flow(risk, theta0, t_max, **kwargs)
        gap = 1.0 - run.theta[-1, -1]
        run.theta[-1, -1] = 1.0 - np.sign(gap) * beta / 2
        return run
    return dataclasses.replace(problem, flow=squeezed)


class MomentScaled(WrappedRisk):
    """The feature moment M scaled (the eigenvalue bounds move, H* and ∇R do not)."""

    def __init__(self, risk, factor):
        super().__init__(risk, lambda _, g: g)
        self._factor = factor

    def feature_moment(self, weight):
        return self._risk.feature_moment(weight) * self._factor


class HessianScaled(WrappedRisk):
    def hessian_at_truth(self):
        return self._risk.hessian_at_truth() * (1 + 1e-6)


def si_hess(risk_class, *args):
    problem = single_index_problem()
    return dataclasses.replace(problem, risk=risk_class(problem.risk, *args))


def t38_path(shape):
    """The flow's start, moved towards θ* along a straight line with r(t) = r(0)·shape(t, λ₁)
    (λ₁ of the real run): points stay in the ball, so the constants do not change."""
    problem = flow_problem()
    lambda1 = REGISTRY["T3.8"].check(problem).constants["lambda1"]

    def path(risk, theta0, t_max, **kwargs):
        run = dv.gradient_flow(risk, theta0, t_max, **kwargs)
        truth = run.truth
        scale = np.sqrt(shape(run.t, lambda1))
        run.theta = truth + (theta0 - truth) * scale[:, None]
        return run
    return dataclasses.replace(problem, flow=path)


def slower_than_the_bound(t, lambda1):
    """r decays at λ₁/4: monotone, above r(0)e^{−λ₁t} for every t > 0."""
    return np.exp(-lambda1 * t / 4)


def rises_once_under_the_bound(t, lambda1):
    """r decays at 2λ₁ (far under the bound) but rises by 2 % at the middle sample."""
    shape = np.exp(-2 * lambda1 * t)
    middle = t.size // 2
    shape[middle] = shape[middle - 1] * 1.02
    return shape


def relu_tilted():
    """∇R tilted by 1e-10 towards θ − e: LIN-ORTH's claim ⟨∇R, θ − e⟩ = 0 breaks."""
    problem = relu_problem()

    def tilt(theta, g):
        offset = np.r_[theta[:-1], theta[-1] - 1.0]
        return g + 1e-10 * np.linalg.norm(g) * offset / np.linalg.norm(offset)
    return dataclasses.replace(problem, risk=WrappedRisk(problem.risk, tilt))


def relu_long_steps():
    """GD steps 1e-8 longer than η: C⁺ − C = η²‖∇R‖² breaks (the risk is untouched)."""
    def longer(risk, theta0, step, steps, record_every=1, **kwargs):
        return dv.gradient_descent(risk, theta0, step * (1 + 1e-8), steps, record_every, **kwargs)
    return dataclasses.replace(relu_problem(), descent=longer)


class OptimisticVectorBound(dv.VectorDEQ):
    """Reports the residual as the error bound (the 1/(1 − ‖W‖₂L) factor forgotten) after a
    loose Picard solve."""

    def __init__(self, width, activation, **kwargs):
        super().__init__(width, activation, "picard", dv.PicardSettings(rtol=0.0, atol=1e-6), **kwargs)

    def solve_offsets(self, params, offsets):
        result = super().solve_offsets(params, offsets)
        return dataclasses.replace(result, error_bound=result.error_bound * (1 - self.contraction(params)) / 100)


def vec_two_roots():
    """W = 2.5·I with tanh (allowed explicitly): z = tanh(2.5z + small) has three roots per
    coordinate, the solver returns one and mpmath from two starts finds two."""
    model = dv.VectorDEQ(2, "tanh", allow_noncontractive=True)
    params = dv.VectorParams(2.5 * np.eye(2), np.full((2, 1), 0.01), np.zeros(2), np.ones(2))
    X = np.array([[0.5], [-0.3], [0.1]])
    return Problem(model, dv.EmpiricalRisk(model, X, np.zeros(3)), params.flat, X=X)


class VectorGradientOff(dv.VectorDEQ):
    def squared_error_sums(self, theta, X, targets, *, with_gradient=True):
        loss, gradient, summary = super().squared_error_sums(theta, X, targets, with_gradient=with_gradient)
        return loss, (None if gradient is None else gradient * (1 + 1e-6)), summary


def with_vector_model(model_class):
    model = model_class(3, "tanh")
    problem = vector_problem(model)
    return dataclasses.replace(problem, risk=dv.EmpiricalRisk(model, problem.risk.X, problem.risk.targets))


def layer_problem(W, activation="tanh", *, seed=5, **fields):
    """A problem about the map z = σ(Wz + Ux + b) alone (no risk), 6 rows of X."""
    W = np.atleast_2d(np.asarray(W, dtype=float))
    k = W.shape[0]
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((6, 2))
    params = dv.VectorParams(W, rng.standard_normal((k, 2)), rng.standard_normal(k) * 0.3, np.ones(k))
    model = dv.VectorDEQ(k, activation, allow_noncontractive=True)
    return Problem(model, None, params.flat, X=X, **fields)


def monotone_problem(activation="tanh", step_fraction=0.5):
    """W = 0.4·I − AᵀA/4 + (B − Bᵀ)/2 (m = 0.6, ‖W‖₂ may exceed 1), α = step_fraction·2m/L²."""
    rng = np.random.default_rng(8)
    A, B = rng.standard_normal((3, 3)), rng.standard_normal((3, 3))
    W = 0.4 * np.eye(3) - A.T @ A / 4 + (B - B.T) / 2
    constants = monotone_constants(W)
    return layer_problem(W, activation, step=step_fraction * constants["alpha_max"])


TANH_TWICE = Activation("tanh", lambda z: 2 * np.tanh(z), lambda z: 2 / np.cosh(z) ** 2,
                        lambda z: -4 * np.tanh(z) / np.cosh(z) ** 2, lipschitz=2.0, monotone=True)
"""2·tanh under tanh's name: the splitting uses tanh's proximal map, the root check uses f."""


def phantom_problem(W=None, damping=0.5, steps=5):
    """tanh, k = 3, ‖W‖₂ = 0.6, cotangents from a seed."""
    rng = np.random.default_rng(12)
    if W is None:
        W = rng.standard_normal((3, 3))
        W = 0.6 * W / np.linalg.norm(W, 2)
    problem = layer_problem(W, "tanh" if np.shape(W)[0] > 1 else "identity")
    return dataclasses.replace(problem, cotangents=rng.standard_normal((6, np.shape(W)[0])),
                               steps=steps, damping=damping)


def phantom_one_step_short(monkeypatch):
    """The shared phantom oracle runs k − 1 steps (a planted off-by-one)."""
    honest = phantom.phantom_adjoint
    monkeypatch.setattr(phantom, "phantom_adjoint", lambda J, g, steps, damping: honest(J, g, steps - 1, damping))
    monkeypatch.setattr("deqverify.theorems.backward.phantom_adjoint", phantom.phantom_adjoint)
    return phantom_problem()


CLAUSE_VIOLATIONS = {
    ("FP-2", "jacobian"): lambda: dataclasses.replace(fp2_problem(), model=ScaledJacobian("sigmoid")),
    ("FP-2", "risk-gradient"): lambda: with_tilted_value(fp2_problem()),
    ("FP-2", "denominator"): fp2_denominator_off,
    ("L3.2", "sign"): l32_sign_flipped,
    ("L3.2", "beta"): l32_below_beta,
    ("SI-HESS", "hessian"): lambda: si_hess(HessianScaled, lambda _, g: g),
    ("SI-HESS", "lower"): lambda: si_hess(MomentScaled, 1e3),
    ("SI-HESS", "upper"): lambda: si_hess(MomentScaled, 1e-3),
    ("T3.8", "bound"): lambda: t38_path(slower_than_the_bound),
    ("T3.8", "monotone"): lambda: t38_path(rises_once_under_the_bound),
    ("RELU", "closed-form"): lambda: dataclasses.replace(relu_problem(), model=ReluOffBy1e13("relu")),
    ("RELU", "LIN-ORTH"): relu_tilted,
    ("RELU", "GD-RADIUS"): relu_long_steps,
    ("VEC-FP-1", "bound"): lambda: with_vector_model(OptimisticVectorBound),
    ("VEC-FP-1", "unique"): vec_two_roots,
    ("VEC-FP-2", "mpmath"): lambda: with_vector_model(VectorGradientOff),
    ("VEC-FP-2", "differences"): lambda: with_tilted_value(vector_problem()),
    # α beyond 2m/L²: the factor is ≥ 1, so no contraction is shown
    ("MON-WP", "contraction"): lambda: monotone_problem(step_fraction=1.5),
    ("MON-WP", "unique"): lambda: monotone_problem(TANH_TWICE),
    # 2·tanh with w = 0.2 (μ∞ = 0.2): slope 0.4 at 0 against the claimed factor 0.2, and
    # dz*/dp = 2/(1 − 0.4) against 1/(1 − 0.2)
    ("LINF-WP", "contraction"): lambda: layer_problem([[0.2]], TANH_TWICE),
    ("LINF-WP", "lipschitz"): lambda: layer_problem([[0.2]], TANH_TWICE),
    # 2·tanh with w = 0.9: z = 2tanh(0.9z + p) has three roots near p = 0, the starts find two
    ("LINF-WP", "unique"): lambda: layer_problem([[0.9]], TANH_TWICE, seed=1),
    ("BWD-PHANTOM", "identity"): phantom_one_step_short,
    # τ = 1.9 with J = −0.5: 1 − τ + τγ = 0.05 is not a bound on ‖B‖₂ = 1.85
    ("BWD-PHANTOM", "bound"): lambda: phantom_problem([[-0.5]], damping=1.9, steps=3),
}

HOLDING = {"FP-2": fp2_problem, "L3.2": lambda: linear_problem([0.3, -0.2, 0.6, 0.4], t_max=2.0),
           "SI-HESS": single_index_problem, "T3.8": flow_problem, "RELU": relu_problem,
           "VEC-FP-1": vector_problem, "VEC-FP-2": vector_problem, "MON-WP": monotone_problem,
           "LINF-WP": lambda: layer_problem([[-1.0, 1.5], [0.3, -2.0]]), "BWD-PHANTOM": phantom_problem}


def test_every_clause_of_every_statement_has_a_planted_violation():
    declared = {(theorem_id, clause) for theorem_id, theorem in REGISTRY.items()
                for clause in theorem.clauses if len(theorem.clauses) > 1}
    assert declared == set(CLAUSE_VIOLATIONS)


@pytest.mark.parametrize("theorem_id", sorted(HOLDING))
def test_every_clause_holds_on_a_correct_problem(theorem_id):
    verdict = REGISTRY[theorem_id].check(HOLDING[theorem_id]())
    assert set(verdict.clauses) == set(REGISTRY[theorem_id].clauses)
    assert verdict.holds and all(margin >= 0 for margin in verdict.clauses.values()), verdict


@pytest.mark.parametrize("theorem_id,clause", sorted(CLAUSE_VIOLATIONS), ids=[
    f"{theorem_id}-{clause}" for theorem_id, clause in sorted(CLAUSE_VIOLATIONS)])
def test_a_planted_violation_flips_its_clause(theorem_id, clause, monkeypatch):
    planted = CLAUSE_VIOLATIONS[theorem_id, clause]
    # a planted bug in shared code (not in the problem) patches it for this test only
    problem = planted(monkeypatch) if "monkeypatch" in inspect.signature(planted).parameters else planted()
    verdict = REGISTRY[theorem_id].check(problem)
    assert not verdict.holds
    assert verdict.clauses[clause] < 0, verdict.clauses
