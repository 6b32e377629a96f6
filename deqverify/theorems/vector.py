"""Vector (multi-neuron) DEQ statements VEC-* (docs/theorems.md, "Vector DEQs").

Model: z = σ(Wz + Ux + b), ŷ = vᵀz, A = I − W. The identities come from symmetries of ŷ:
VEC-ORTH from (A, U, b) → (GA, GU, Gb) (linear σ), VEC-SCALE from (v, A) → (αv, αA)
(linear σ), VEC-BAL from (W, U, b, v) → (DWD⁻¹, DU, Db, D⁻¹v) with D positive diagonal
(positively homogeneous σ). Differentiating each at the identity gives a gradient identity;
along gradient flow each gives a conserved quadratic, and along gradient descent that
quadratic grows by exactly η² times a square of the gradient.

Tolerances: every gradient entry is a sum of terms whose magnitudes are recomputed here
(:func:`gradient_magnitudes`); its float64 error is at most ρ times that magnitude, with
ρ = 8·(m + 2k + d)·eps·κ² + 4κ·δ — an m-term sum (Higham), two solves each amplifying by
κ = ‖(I − SW)⁻¹‖ ≤ 1/(1 − ‖W‖₂L) (or cond(A) for the linear model), and the certified
forward error δ (relative) propagated once more by κ.
"""

from __future__ import annotations

import math

import numpy as np

from deqverify import reference as ref
from deqverify.core.activations import IDENTITY
from deqverify.core.dynamics import RunStatus
from deqverify.core.errors import NonContractiveError, SingularDEQError
from deqverify.core.models import LinearDEQ, SingleIndexDEQ
from deqverify.core.population import PopulationRisk
from deqverify.core.risk import EmpiricalRisk
from deqverify.core.vector_params import split_flat
from deqverify.reference import vector_twin
from deqverify.theorems.base import EPS, Problem, Theorem, Verdict, one_sided, verdict_of
from deqverify.theorems.fixed_point import _risk_gradient_vs_differences
from deqverify.theorems.linear import _ode_drift_allowance, require_run

REFERENCE_SAMPLES = 4
"""mpmath reruns a few samples per problem (k-dimensional findroot at 40 digits)."""
UNIQUENESS_TOLERANCE = 1e-25
"""Two mpmath roots from different starts agree to this (40 digits; 15 left for Newton)."""


def _dims(problem: Problem) -> tuple[int, int]:
    return problem.model.width, problem.risk.dim


def _params(problem: Problem, theta):
    return problem.model.params(theta, problem.risk.dim)


def gradient_parts(problem: Problem, theta) -> dict:
    """∇R(θ) split into W, U, b, v (NaN kept: a check must see it)."""
    return split_flat(problem.risk.gradient(theta), *_dims(problem))


def conditioning(problem: Problem, params) -> float:
    """κ: 1/(1 − ‖W‖₂L) for a contraction, cond₂(A) for the linear model."""
    if problem.model.is_linear:
        singular = np.linalg.svd(params.A, compute_uv=False)
        return float(singular[0] / singular[-1])
    return 1.0 / (1.0 - problem.model.contraction(params))


def _sample_magnitudes(weights_scale, Z, X, slope, adjoint, n) -> dict:
    """Σ|terms| of each gradient entry for per-sample |2e| = ``weights_scale`` and |z| = Z."""
    weights = weights_scale[:, None] * slope * adjoint
    return {"W": weights.T @ Z / n, "U": weights.T @ X / n, "b": weights.sum(axis=0) / n,
            "v": weights_scale @ Z / n}


def gradient_magnitudes(problem: Problem, theta) -> tuple[dict, float]:
    """(error allowance of every gradient entry as parts W, U, b, v; ρ).

    Rounding: ρ·Σ|terms| with ρ = 8·(m + 2k + d)·eps·κ² (an m-term sum; two solves each
    amplifying by κ). Forward error: z is only certified to ‖z − z*‖ ≤ β per sample, so each
    term is re-bounded with |z| + β and |e| + ‖v‖β; the difference, amplified by κ through
    the adjoint, is added (it dominates when z is within the solver's absolute tolerance of 0).
    """
    params, risk = _params(problem, theta), problem.risk
    k, d = _dims(problem)
    kappa = conditioning(problem, params)
    if isinstance(risk, EmpiricalRisk):
        fp = problem.model.fixed_point(params, risk.X)
        Z, slope, beta = fp.value, np.abs(fp.slope), fp.error_bound
        error2 = np.abs(2.0 * (Z @ params.v - risk.targets))
        transposed = np.eye(k) - params.W.T[None, :, :] * fp.slope[:, None, :]
        adjoint = np.abs(np.linalg.solve(transposed, np.broadcast_to(params.v, Z.shape)[..., None])[..., 0])
        n, X = risk.n_samples, np.abs(risk.X)
        exact = _sample_magnitudes(error2, np.abs(Z), X, slope, adjoint, n)
        perturbed = _sample_magnitudes(error2 + 2.0 * np.linalg.norm(params.v) * beta,
                                       np.abs(Z) + beta[:, None], X, slope, adjoint, n)
        terms = n
    else:  # linear population, closed form (core/vector_population.py)
        inverse = np.linalg.inv(params.A)
        a = np.abs(inverse.T @ params.v)
        p = params.U.T @ (inverse.T @ params.v)
        c = abs(float((inverse.T @ params.v) @ params.b))
        grad_p = 2.0 * np.abs(risk.second_moment) @ (np.abs(p) + np.abs(risk.xi))
        h = np.abs(params.U) @ grad_p + 2.0 * c * np.abs(params.b)
        solved = np.abs(inverse) @ h
        exact = {"W": np.outer(a, solved), "U": np.outer(a, grad_p), "b": 2.0 * c * a, "v": solved}
        perturbed, terms = exact, d
    rho = 8.0 * (terms + 2 * k + d) * EPS * kappa ** 2
    return {name: rho * exact[name] + 4.0 * kappa * (perturbed[name] - exact[name])
            for name in exact}, rho


# -- VEC-REDUCE ---------------------------------------------------------------------------
def _scalar_twin(problem: Problem):
    """The scalar model and risk that VEC-REDUCE compares against."""
    activation = problem.model.activation
    scalar = LinearDEQ() if activation is IDENTITY else SingleIndexDEQ(activation)
    risk = problem.risk
    if isinstance(risk, EmpiricalRisk):
        return scalar, EmpiricalRisk(scalar, risk.X, risk.targets)
    return scalar, PopulationRisk(scalar, risk.population, risk.xi)


class VecReduce(Theorem):
    id = "VEC-REDUCE"
    statement = ("with k = 1, v = 1 and b = 0 frozen, the vector DEQ's fixed points, risk and "
                 "gradient equal the scalar DEQ's at θ = (U, W), to rounding")
    assumptions = ("A-contract", "A-reduce")
    family = "vector"

    def check(self, problem: Problem) -> Verdict:
        params = _params(problem, problem.theta0)
        scalar, scalar_risk = _scalar_twin(problem)
        theta = np.r_[params.U[0], params.W[0, 0]]
        theta2, activation = float(theta[-1]), problem.model.activation
        gap = (abs(1.0 - theta2) if problem.model.is_linear
               else 1.0 - abs(theta2) * activation.lipschitz)
        observed, allowed = [], []
        if problem.X is not None:
            vector_fp = problem.model.fixed_point(params, problem.X)
            y = scalar.fixed_point(theta, problem.X).value
            offsets = problem.X @ theta[:-1]
            # the scalar root's residual certifies |y − y*| ≤ (r + noise)/gap, as the vector
            # result's error_bound certifies ‖z − z*‖: the two may differ by both bounds
            residual = np.abs(y - activation.f(offsets + theta2 * y))
            noise = 4 * EPS * (np.abs(y) + activation.lipschitz * (np.abs(offsets) + np.abs(theta2 * y)))
            observed.append(np.abs(vector_fp.value[:, 0] - y))
            allowed.append(vector_fp.error_bound + (residual + noise) / gap)
        value, gradient = problem.risk.value_and_gradient(params.flat)
        scalar_value, scalar_gradient = scalar_risk.value_and_gradient(theta)
        parts = split_flat(gradient, 1, problem.risk.dim)
        errors, rho = gradient_magnitudes(problem, params.flat)
        mapped = np.r_[parts["U"][0], parts["W"][0, 0]]
        # both sides carry their own error: twice the vector side's allowance
        mapped_allowed = 2 * np.r_[errors["U"][0], errors["W"][0, 0]]
        value_magnitude = max(abs(value), abs(scalar_value))
        value_allowed = 2 * (rho * value_magnitude + float(np.sum(errors["v"] * np.abs(params.v))))
        observed += [abs(value - scalar_value), np.abs(mapped - scalar_gradient),
                     np.abs(np.r_[parts["b"], parts["v"]])]
        allowed += [value_allowed, mapped_allowed, np.zeros(2)]
        holds, margin = one_sided(np.concatenate([np.ravel(o) for o in observed]),
                                  np.concatenate([np.ravel(a) for a in allowed]))
        return Verdict(holds, margin, {"gap": gap},
                       f"|R − R_scalar| = {abs(value - scalar_value):.3g}, max gradient "
                       f"difference {np.max(np.abs(mapped - scalar_gradient)):.3g}")


# -- VEC-FP-1, VEC-FP-2 -----------------------------------------------------------------------
def _reference_points(problem: Problem):
    return problem.X[:REFERENCE_SAMPLES]


class VecFixedPoint(Theorem):
    id = "VEC-FP-1"
    statement = ("if ‖W‖₂L < 1 the fixed point is unique and the solver's certified bound "
                 "‖z − z*‖ ≤ ‖z − σ(Wz+Ux+b)‖/(1 − ‖W‖₂L) holds (against mpmath)")
    assumptions = ("A-contract",)
    family = "vector"
    clauses = ("bound", "unique")

    def check(self, problem: Problem) -> Verdict:
        params = _params(problem, problem.theta0)
        X = _reference_points(problem)
        fp = problem.model.fixed_point(params, X)
        if not fp.converged.all():
            return Verdict(False, -1.0, {}, f"solver status {fp.status}")
        activation = problem.model.activation
        with ref.working_precision(40):
            roots, spread = [], []
            for x in X:
                first = vector_twin.fixed_point(params.W, params.U, params.b, x, activation)
                second = vector_twin.fixed_point(params.W, params.U, params.b, x, activation,
                                                 start=[-3 * value - 1 for value in first])
                roots.append([ref.to_float(value) for value in first])
                spread.append(ref.to_float(max(abs(a - b) for a, b in zip(first, second))))
        errors = np.linalg.norm(fp.value - np.array(roots), axis=1)
        bound_ok, bound_margin = one_sided(errors, fp.error_bound)
        unique_ok, unique_margin = one_sided(spread, UNIQUENESS_TOLERANCE)
        return verdict_of({"bound": (bound_ok, bound_margin), "unique": (unique_ok, unique_margin)},
                          {"q": problem.model.contraction(params)},
                       f"max ‖z − z*‖ = {errors.max():.3g} against bounds down to "
                       f"{fp.error_bound.min():.3g}; two mpmath starts differ by "
                       f"{max(spread):.3g}")


class VecImplicitGradient(Theorem):
    id = "VEC-FP-2"
    statement = ("the adjoint gradient ((I − SW)ᵀw = ∂ℓ/∂z; ∇_W = (Sw)zᵀ, ∇_U = (Sw)xᵀ, "
                 "∇_b = Sw) equals mpmath's and central differences")
    assumptions = ("A-contract",)
    family = "vector"
    clauses = ("mpmath", "differences")

    def check(self, problem: Problem) -> Verdict:
        params = _params(problem, problem.theta0)
        risk = problem.risk
        sub = Problem(model=problem.model, risk=EmpiricalRisk(
            problem.model, risk.X[:REFERENCE_SAMPLES], risk.targets[:REFERENCE_SAMPLES]),
            theta0=problem.theta0)
        gradient = sub.risk.gradient(params.flat)
        with ref.working_precision(40):
            _, parts = vector_twin.risk_and_gradient(
                params.W, params.U, params.b, params.v, sub.risk.X, sub.risk.targets,
                problem.model.activation)
            exact = problem.model.flat_gradient(**{
                name: np.array([[ref.to_float(value) for value in row] for row in parts[name].tolist()])
                for name in ("W", "U", "b", "v")})
        errors, _ = gradient_magnitudes(sub, params.flat)
        allowed = np.concatenate([np.ravel(errors[name]) for name in ("W", "U", "b", "v")])
        mp_ok, mp_margin = one_sided(np.abs(gradient - exact), allowed + np.finfo(float).tiny)
        frozen = problem.model.flat_gradient(**{name: np.ones(np.shape(getattr(params, name)))
                                                for name in ("W", "U", "b", "v")}) == 0
        fd_ok, fd_margin, detail = _risk_gradient_vs_differences(risk, params.flat, frozen=frozen)
        return verdict_of({"mpmath": (mp_ok, mp_margin), "differences": (fd_ok, fd_margin)}, {},
                          f"max |∇ − ∇_mpmath| = {np.max(np.abs(gradient - exact)):.3g}; {detail}")


class VecIllPosedInputs(Theorem):
    id = "VEC-FP-3"
    statement = ("‖W‖₂L ≥ 1 raises NonContractiveError unless allow_noncontractive is set (then the "
                 "status is honest); a singular I − W (linear) raises SingularDEQError: never a "
                 "silent answer")
    assumptions = ()
    family = "vector"

    def check(self, problem: Problem) -> Verdict:
        params = _params(problem, problem.theta0)
        model, X = problem.model, problem.X
        silent = []
        if model.is_linear:
            k = model.width
            direction = np.ones(k) / np.sqrt(k)
            A = params.A - (params.A @ direction)[:, None] * direction[None, :]  # A·(I − ddᵀ)
            cases = [("singular I − W", params.with_parts(W=np.eye(k) - A), SingularDEQError)]
        else:
            norm = np.linalg.norm(params.W, 2)
            base = params.W / norm if norm > 0 else np.eye(model.width)
            cases = [(f"‖W‖₂L = {scale:g}", params.with_parts(
                W=base * scale * (1 + 4 * EPS) / model.activation.lipschitz), NonContractiveError)
                for scale in (1.0, 1.0 + 1e-9, 1.5, 10.0)]
        for label, bad, error in cases:
            try:
                result = model.fixed_point(bad, X)
            except error:
                continue
            silent.append(f"{label}: returned status {result.status}")
        holds = not silent
        return Verdict(holds, 1.0 if holds else -1.0, {},
                       "every ill-posed case raised its typed error" if holds else "; ".join(silent))


# -- identities ----------------------------------------------------------------------------
def orthogonality_defect(problem: Problem, theta) -> tuple[np.ndarray, np.ndarray]:
    """(|∇_W R Aᵀ − ∇_U R Uᵀ − ∇_b R bᵀ|, its float64 allowance), both k×k (VEC-ORTH)."""
    params = _params(problem, theta)
    G = gradient_parts(problem, params.flat)
    err, _ = gradient_magnitudes(problem, params.flat)
    k, d = _dims(problem)
    A, U, b = params.A, params.U, params.b
    defect = G["W"] @ A.T - G["U"] @ U.T - np.outer(G["b"], b)
    sizes = np.abs(G["W"]) @ np.abs(A).T + np.abs(G["U"]) @ np.abs(U).T + np.outer(np.abs(G["b"]), np.abs(b))
    allowed = (err["W"] @ np.abs(A).T + err["U"] @ np.abs(U).T + np.outer(err["b"], np.abs(b))
               + 2 * (2 * k + d + 1) * EPS * sizes)
    return np.abs(defect), allowed


def balance_defect(problem: Problem, theta) -> tuple[np.ndarray, np.ndarray]:
    """(|per-neuron balance|, allowance), each (k,) (VEC-BAL):
    (∇_W Wᵀ − Wᵀ∇_W)ᵢᵢ + (∇_U Uᵀ)ᵢᵢ + (∇_b)ᵢbᵢ − (∇_v)ᵢvᵢ."""
    params = _params(problem, theta)
    G = gradient_parts(problem, params.flat)
    err, _ = gradient_magnitudes(problem, params.flat)
    k, d = _dims(problem)
    W, U, b, v = params.W, params.U, params.b, params.v
    defect = (np.sum(G["W"] * W, axis=1) - np.sum(G["W"] * W, axis=0)
              + np.sum(G["U"] * U, axis=1) + G["b"] * b - G["v"] * v)
    sizes = (np.sum(np.abs(G["W"] * W), axis=1) + np.sum(np.abs(G["W"] * W), axis=0)
             + np.sum(np.abs(G["U"] * U), axis=1) + np.abs(G["b"] * b) + np.abs(G["v"] * v))
    allowed = (np.sum(err["W"] * np.abs(W), axis=1) + np.sum(err["W"] * np.abs(W), axis=0)
               + np.sum(err["U"] * np.abs(U), axis=1) + err["b"] * np.abs(b) + err["v"] * np.abs(v)
               + 2 * (k + d + 2) * EPS * sizes)
    return np.abs(defect), allowed


def _pointwise(problem: Problem, defect, label) -> Verdict:
    observed, allowed = zip(*(defect(problem, theta) for theta in problem.all_points()))
    observed = np.concatenate([np.ravel(o) for o in observed])
    allowed = np.concatenate([np.ravel(a) for a in allowed])
    holds, margin = one_sided(observed, allowed + np.finfo(float).tiny)
    return Verdict(holds, margin, {}, f"max |{label}| = {np.max(observed):.3g}")


class VecOrth(Theorem):
    id = "VEC-ORTH"
    statement = ("linear σ: ∇_W R·Aᵀ = ∇_U R·Uᵀ + ∇_b R·bᵀ for every risk and readout "
                 "(from (A, U, b) → (GA, GU, Gb); k = 1 is LIN-ORTH)")
    assumptions = ("A-linear", "A-invertible", "A-data")
    family = "vector"

    def check(self, problem: Problem) -> Verdict:
        return _pointwise(problem, orthogonality_defect, "∇_W Aᵀ − ∇_U Uᵀ − ∇_b bᵀ")


class VecBalance(Theorem):
    id = "VEC-BAL"
    statement = ("positively homogeneous σ (ReLU, linear): per neuron, (∇_W Wᵀ − Wᵀ∇_W)ᵢᵢ + "
                 "(∇_U Uᵀ)ᵢᵢ + (∇_b)ᵢbᵢ = (∇_v)ᵢvᵢ (from (W, U, b, v) → (DWD⁻¹, DU, Db, D⁻¹v))")
    assumptions = ("A-homogeneous",)
    family = "vector"

    def check(self, problem: Problem) -> Verdict:
        return _pointwise(problem, balance_defect, "per-neuron balance")


# -- dynamics -------------------------------------------------------------------------------
def quadratic_Q(theta, width, dim) -> np.ndarray:
    """Q = AAᵀ + UUᵀ + bbᵀ (k×k), A = I − W."""
    parts = split_flat(theta, width, dim)
    A = np.eye(width) - parts["W"]
    return A @ A.T + parts["U"] @ parts["U"].T + np.outer(parts["b"], parts["b"])


def _Q_magnitude(theta, width, dim) -> np.ndarray:
    parts = split_flat(theta, width, dim)
    A = np.abs(np.eye(width) - parts["W"])
    U, b = np.abs(parts["U"]), np.abs(parts["b"])
    return A @ A.T + U @ U.T + np.outer(b, b)


def scale_quantity(theta, width, dim) -> float:
    """‖v‖² + ‖A‖_F² (VEC-SCALE)."""
    parts = split_flat(theta, width, dim)
    return float(parts["v"] @ parts["v"] + np.sum((np.eye(width) - parts["W"]) ** 2))


class VecConservation(Theorem):
    id = "VEC-CONS"
    statement = ("linear σ, gradient flow: Q = AAᵀ + UUᵀ + bbᵀ is constant (k×k; k = 1 is "
                 "T3.1)")
    assumptions = ("A-linear", "A-invertible", "A-data")
    kind = "trajectory"
    family = "vector"

    def check(self, problem: Problem) -> Verdict:
        run = require_run(problem.flow(problem.risk, problem.theta0, problem.t_max,
                                       rtol=problem.ode_rtol, atol=problem.ode_atol))
        k, d = _dims(problem)
        Q = np.array([quadratic_Q(theta, k, d) for theta in run.theta])
        drift = np.abs(Q - Q[0]).max(axis=(1, 2))
        # each entry of Q moves by ≤ 2·‖row‖·‖δθ‖ ≤ 2·√(tr Q)·‖δθ‖ per ODE step error
        scale = float(max(np.trace(q) for q in Q))
        allowed = _ode_drift_allowance(problem, run, scale)
        holds, margin = one_sided(drift, allowed)
        return Verdict(holds, margin, {"trace_Q0": float(np.trace(Q[0]))},
                       f"max |Q(t) − Q(0)| = {drift.max():.3g} over t ≤ {run.t[-1]:.3g} "
                       f"({run.status})")


def _per_step_verdict(problem: Problem, step_check, label: str) -> Verdict:
    """Run GD and check every finite step: ``step_check(G, before, after)`` returns
    (observed, allowed) for one step with gradient parts G from θ = before to θ = after."""
    run = require_run(problem.descent(problem.risk, problem.theta0, problem.step, problem.steps))
    k, d = _dims(problem)
    valid = np.flatnonzero(np.isfinite(run.grad_norm[:-1]))
    pairs = [step_check(split_flat(problem.risk.gradient(run.theta[i]), k, d), run.theta[i], run.theta[i + 1])
             for i in valid]
    if not pairs:
        return Verdict(True, math.inf, {}, f"no finite step ({run.status})")
    observed = np.concatenate([np.ravel(o) for o, _ in pairs])
    allowed = np.concatenate([np.ravel(a) for _, a in pairs])
    holds, margin = one_sided(observed, allowed + np.finfo(float).tiny)
    return Verdict(holds, margin, {}, f"max |{label}| = {observed.max():.3g} over {len(pairs)} "
                   f"steps ({run.status})")


def _update_rounding_Q(theta, width, dim) -> np.ndarray:
    """Storing θₖ₊₁ = θₖ − ηg rounds each entry by ≤ eps·|θ|: Q moves by ≤ 2eps·|·||·|ᵀ."""
    return 2 * EPS * _Q_magnitude(theta, width, dim)


class VecRadius(Theorem):
    id = "VEC-RADIUS"
    statement = ("linear σ, gradient descent: Qₖ₊₁ = Qₖ + η²(G_W G_Wᵀ + G_U G_Uᵀ + g_b g_bᵀ) "
                 "exactly (k = 1 is GD-RADIUS)")
    assumptions = ("A-linear", "A-invertible", "A-data")
    kind = "trajectory"
    family = "vector"

    def check(self, problem: Problem) -> Verdict:
        k, d = _dims(problem)
        eta = problem.step

        def step(G, before, after):
            predicted = eta ** 2 * (G["W"] @ G["W"].T + G["U"] @ G["U"].T + np.outer(G["b"], G["b"]))
            increment = quadratic_Q(after, k, d) - quadratic_Q(before, k, d)
            # the cross term η(M + Mᵀ) cancels by VEC-ORTH: allow 2η times its defect bound,
            # the rounding of both Q's and of the predicted square, and the stored update
            _, orth = orthogonality_defect(problem, before)
            sums = (k + d + 2) * EPS * (_Q_magnitude(before, k, d) + _Q_magnitude(after, k, d)
                                        + np.abs(predicted))
            return (np.abs(increment - predicted),
                    2 * eta * (orth + orth.T) + sums + _update_rounding_Q(after, k, d))

        return _per_step_verdict(problem, step, "ΔQ − η²GGᵀ")


class VecScale(Theorem):
    id = "VEC-SCALE"
    statement = ("linear σ: ⟨∇_v R, v⟩ = ⟨∇_W R, A⟩ (from (v, A) → (αv, αA)), so under GD "
                 "‖v‖² + ‖A‖_F² grows by exactly η²(‖G_v‖² + ‖G_W‖_F²) per step "
                 "(constant under gradient flow)")
    assumptions = ("A-linear", "A-invertible", "A-free-readout", "A-data")
    kind = "trajectory"
    family = "vector"

    def check(self, problem: Problem) -> Verdict:
        k, d = _dims(problem)
        eta = problem.step

        def step(G, before, after):
            predicted = eta ** 2 * float(G["v"] @ G["v"] + np.sum(G["W"] ** 2))
            start, end = scale_quantity(before, k, d), scale_quantity(after, k, d)
            params = _params(problem, before)
            errors, _ = gradient_magnitudes(problem, before)
            # cross term 2η(⟨A, G_W⟩ − ⟨v, G_v⟩) vanishes to its rounding; both quantities are
            # sums of k² + k squares; the stored update rounds each entry by eps·|θ|
            cross = np.sum(errors["W"] * np.abs(params.A)) + errors["v"] @ np.abs(params.v)
            cross += (k * k + k) * EPS * (np.sum(np.abs(G["W"] * params.A)) + np.abs(G["v"]) @ np.abs(params.v))
            sums = (k * k + k + 2) * EPS * (start + end + predicted)
            return abs(end - start - predicted), 2 * eta * cross + sums + 2 * EPS * end

        return _per_step_verdict(problem, step, "Δ(‖v‖² + ‖A‖²) − η²(‖G_v‖² + ‖G_W‖²)")


class VecInvertible(Theorem):
    id = "VEC-INVERTIBLE"
    statement = ("[open] along gradient flow of the linear vector DEQ, σ_min(I − W(t)) stays "
                 "away from 0 (as |1 − θ₂| ≥ β does for k = 1, L3.2); margin = "
                 "min_t σ_min(I − W(t)) / σ_min(I − W(0))")
    assumptions = ("A-linear", "A-data")
    kind = "trajectory"
    family = "vector"
    open_question = True

    def check(self, problem: Problem) -> Verdict:
        run = require_run(problem.flow(problem.risk, problem.theta0, problem.t_max,
                                       rtol=problem.ode_rtol, atol=problem.ode_atol))
        k, d = _dims(problem)
        smallest = np.array([np.linalg.svd(np.eye(k) - split_flat(theta, k, d)["W"],
                                           compute_uv=False)[-1] for theta in run.theta])
        ratio = float(smallest.min() / smallest[0])
        holds = run.status is not RunStatus.SINGULAR_APPROACH
        return Verdict(holds, ratio if holds else -1.0,
                       {"sigma_min_0": float(smallest[0]), "sigma_min_min": float(smallest.min()),
                        "risk_final": float(run.risk[-1])},
                       f"σ_min(I − W) from {smallest[0]:.3g} down to {smallest.min():.3g} "
                       f"(ratio {ratio:.3g}); R from {run.risk[0]:.3g} to {run.risk[-1]:.3g} "
                       f"({run.status})")


VECTOR_THEOREMS = (VecReduce(), VecFixedPoint(), VecImplicitGradient(), VecIllPosedInputs(), VecOrth(),
                   VecConservation(), VecRadius(), VecScale(), VecBalance(), VecInvertible())

