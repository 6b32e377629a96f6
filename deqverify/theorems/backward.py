"""Approximate backward passes held to exact statements: BWD-PHANTOM and BWD-JFB
(docs/theorems.md, "The layer battery's oracles").

At a root z* of z = σ(Wz + Ux + b) the state Jacobian is J = diag(σ′(Wz* + Ux + b))·W, taken
here from the core solver's answer (its slopes). A loss with ∂ℓ/∂z* = g has the implicit
adjoint u = (I − J)⁻ᵀg; a k-step phantom gradient with damping τ uses
u_k = τΣ_{i<k}(Bᵀ)ⁱg, B = τJ + (1 − τ)I, computed by :func:`~deqverify.core.phantom.phantom_adjoint`,
the layer battery's oracle for a declared phantom(k, τ) backward: BWD-PHANTOM checks that
oracle against the closed form. Tolerances: each step rounds by ≤ (k + 2)·eps of ‖B‖₂ⁱ‖g‖ (a k-term sum), the closed
form adds one solve, ≤ 4k·eps·κ with κ = ‖(I − J)⁻¹‖₂; 8× covers the norms' √k.
"""

from __future__ import annotations

import numpy as np

from deqverify.core.errors import SingularDEQError, UncheckableError
from deqverify.core.phantom import phantom_adjoint
from deqverify.theorems.base import EPS, Problem, Theorem, Verdict, one_sided, verdict_of


def root_slopes(problem: Problem) -> tuple[np.ndarray | None, str]:
    """(σ′(Wz* + Ux + b) per row of X (n, k) at the core solver's root, ""), or (None, why) where
    the solver found no root (outside A-contract a root need not exist: that is a failed claim).
    The state Jacobian of row i is Jᵢ = diag(slopeᵢ)·W."""
    if problem.X is None or problem.cotangents is None:
        raise UncheckableError("the backward statements need inputs X and cotangents ∂ℓ/∂z*")
    params = problem.model.params(problem.theta0, problem.X.shape[1])
    try:
        result = problem.model.solve_offsets(params, problem.X @ params.U.T + params.b)
    except np.linalg.LinAlgError:
        raise SingularDEQError("I − W is singular: the linear layer has no unique root; "
                               "keep ‖W‖₂ < 1 (A-contract)") from None
    if not result.converged.all():
        return None, f"no root to differentiate: the solver reported {result.status}"
    return result.slope, ""


def _weights(problem: Problem) -> np.ndarray:
    return problem.model.params(problem.theta0, problem.X.shape[1]).W


class PhantomGradient(Theorem):
    id = "BWD-PHANTOM"
    statement = ("k-step damped phantom gradient, B = τJ + (1−τ)I, 0 < τ ≤ 1: "
                 "τΣ_{i<k}Bⁱ = (I − J)⁻¹(I − Bᵏ) exactly, and if ‖J‖₂ ≤ γ < 1 then "
                 "‖τΣ_{i<k}Bⁱ − (I − J)⁻¹‖₂ ≤ (1 − τ + τγ)ᵏ/(1 − γ); the phantom adjoint "
                 "τΣ_{i<k}(Bᵀ)ⁱg equals (I − Jᵀ)⁻¹(I − (Bᵀ)ᵏ)g")
    assumptions = ("A-contract", "A-damping")
    family = "backward"
    clauses = ("identity", "bound")

    def check(self, problem: Problem) -> Verdict:
        slope, why = root_slopes(problem)
        if slope is None:
            return verdict_of({"identity": (False, -1.0), "bound": (False, -1.0)}, {}, why)
        J = slope[:, :, None] * _weights(problem)[None, :, :]
        k, tau, g = problem.steps, problem.damping, problem.cotangents
        if tau is None or k < 1:
            raise UncheckableError(f"BWD-PHANTOM needs the damping τ and k ≥ 1 phantom steps (Problem.damping, "
                                   f"Problem.steps); got τ = {tau}, k = {k}")
        with np.errstate(over="ignore", invalid="ignore"):  # τ > 1 (A-damping): Bᵏ may overflow
            return self._verdict(J, k, tau, g)

    @staticmethod
    def _verdict(J, k, tau, g) -> Verdict:
        identity = np.eye(J.shape[-1])
        B = tau * J + (1 - tau) * identity
        # the adjoint as the layer battery's oracle computes it: k steps of w ← Bᵀw
        adjoint = phantom_adjoint(J, g, k, tau)
        closed = np.linalg.solve(np.swapaxes(identity - J, 1, 2),
                                 (g - np.einsum("nji,nj->ni", np.linalg.matrix_power(B, k), g))[..., None])[..., 0]
        singular = np.linalg.svd(identity - J, compute_uv=False)
        kappa = 1.0 / singular[:, -1]
        growth = np.maximum(1.0, np.linalg.norm(B, 2, axis=(1, 2))) ** k
        size = J.shape[-1]
        rounding = 8 * (k + 4 * size) * EPS * kappa * growth
        identity_ok, identity_margin = one_sided(np.linalg.norm(adjoint - closed, axis=1),
                                                 rounding * np.linalg.norm(g, axis=1) + np.finfo(float).tiny)
        gamma = np.linalg.norm(J, 2, axis=(1, 2))
        # (τΣBⁱ)ᵀ column by column: the oracle applied to each basis vector
        transposed = np.stack([phantom_adjoint(J, np.broadcast_to(e, g.shape), k, tau) for e in identity], axis=-1)
        gap = np.linalg.norm(transposed - np.linalg.inv(identity - J).swapaxes(1, 2), 2, axis=(1, 2))
        with np.errstate(divide="ignore", over="ignore"):
            bound = np.where(gamma < 1, (1 - tau + tau * gamma) ** k / (1 - gamma), -np.inf)
        scale = np.maximum(np.abs(bound), rounding)
        bound_ok, bound_margin = one_sided(gap, bound + rounding, scale=scale)
        return verdict_of(
            {"identity": (identity_ok, identity_margin), "bound": (bound_ok, bound_margin)},
            {"gamma": float(gamma.max()), "k": k, "tau": tau},
            f"max ‖u_phantom − closed form‖ = {np.max(np.linalg.norm(adjoint - closed, axis=1)):.3g}; "
            f"max ‖τΣBⁱ − (I − J)⁻¹‖₂ / (|bound| + rounding) = {np.max(gap / scale):.3g} "
            f"(k = {k}, τ = {tau:.3g}, ‖J‖₂ up to {gamma.max():.3g})")


class JacobianFreeDescent(Theorem):
    id = "BWD-JFB"
    statement = ("linear layer z = Wz + Ux + b with ‖W‖₂ < 1: the Jacobian-free gradient "
                 "Γ = Σᵢ gᵢxᵢᵀ and the exact ∇_U = (I − W)⁻ᵀΓ satisfy "
                 "⟨Γ, ∇_U⟩ ≥ (1 − ‖W‖₂)‖∇_U‖_F² > 0 for any loss (a descent direction)")
    assumptions = ("A-contract",)
    family = "backward"

    def check(self, problem: Problem) -> Verdict:
        if not problem.model.is_linear:
            raise UncheckableError("BWD-JFB is a statement about linear layers (σ = identity)")
        if problem.X is None or problem.cotangents is None:
            raise UncheckableError("BWD-JFB needs inputs X and cotangents ∂ℓ/∂z*")
        params = problem.model.params(problem.theta0, problem.X.shape[1])
        W, g, X = params.W, problem.cotangents, problem.X
        jfb = g.T @ X
        try:
            exact = np.linalg.solve((np.eye(W.shape[0]) - W).T, jfb)
        except np.linalg.LinAlgError:
            raise SingularDEQError("I − W is singular: the exact gradient (I − W)⁻ᵀΓ does not "
                                   "exist; keep ‖W‖₂ < 1 (A-contract)") from None
        norm_W = float(np.linalg.norm(W, 2))
        inner, square = float(np.sum(jfb * exact)), float(np.sum(exact * exact))
        lower = (1 - norm_W) * square
        # the bound is attained (k = 1, W ≥ 0): the allowance is rounding, ≈ k·eps relative in
        # the sums of products, and ‖W‖₂ (an SVD: ≈ k·eps·‖W‖₂) inside 1 − ‖W‖₂, times ‖∇_U‖²
        k = W.shape[0]
        allowance = 16 * k * EPS * (float(np.sum(np.abs(jfb * exact))) + norm_W * square) + np.finfo(float).tiny
        # under A-contract lower > 0; without it the descent claim ⟨Γ, ∇_U⟩ > 0 is what is left
        holds, margin = one_sided(max(lower, 0.0) - inner, allowance, scale=max(square, np.finfo(float).tiny))
        cosine = inner / max(float(np.linalg.norm(jfb) * np.sqrt(square)), np.finfo(float).tiny)
        return Verdict(holds, margin, {"norm_W": norm_W, "cosine": cosine},
                       f"⟨Γ, ∇_U⟩ = {inner:.4g} against (1 − ‖W‖₂)‖∇_U‖² = {lower:.4g} "
                       f"(‖W‖₂ = {norm_W:.3g}, cosine {cosine:.3g})")


class JacobianFreeNonlinear(Theorem):
    id = "JFB-NONLINEAR"
    statement = ("[open] z = σ(Wz + Ux + b) with ‖W‖₂L < 1 and a batch: is the Jacobian-free "
                 "gradient Γ = Σᵢ Dᵢgᵢxᵢᵀ (Dᵢ = diag σ′ at row i) a descent direction of the exact "
                 "∇_U = Σᵢ Dᵢ(I − WᵀDᵢ)⁻¹gᵢxᵢᵀ, ⟨Γ, ∇_U⟩ > 0? (one row: yes, ⟨Γ, ∇_U⟩ ≥ "
                 "(1 − ‖W‖₂L)‖Dᵢuᵢ‖²‖xᵢ‖²); margin = cos(Γ, ∇_U)")
    assumptions = ("A-contract",)
    family = "backward"
    open_question = True

    def check(self, problem: Problem) -> Verdict:
        slope, why = root_slopes(problem)
        if slope is None:
            return Verdict(False, -1.0, {}, why)
        W, g, X = _weights(problem), problem.cotangents, problem.X
        adjoint = np.linalg.solve(np.eye(W.shape[0]) - W.T[None, :, :] * slope[:, None, :], g[..., None])[..., 0]
        jfb, exact = (slope * g).T @ X, (slope * adjoint).T @ X
        inner = float(np.sum(jfb * exact))
        norms = float(np.linalg.norm(jfb) * np.linalg.norm(exact))
        cosine = inner / norms if norms > 0 else 1.0
        # ⟨Γ, ∇_U⟩ sums n·k·d products of magnitude ≤ |Γ||∇_U| entrywise: rounding ≤ 2n·k·d·eps
        # of Σ|Γ·∇_U|, and the adjoint solve adds ≤ 4k·eps·κ relative, κ ≤ 1/(1 − ‖W‖₂L)
        allowance = (2 * X.shape[0] * W.size * X.shape[1] * EPS
                     + 4 * W.shape[0] * EPS / max(1 - float(np.linalg.norm(W, 2)) * problem.model.activation.lipschitz, EPS)
                     ) * float(np.sum(np.abs(jfb * exact)))
        holds = inner > -allowance
        return Verdict(holds, cosine if holds else min(cosine, -EPS), {"cosine": cosine, "inner": inner},
                       f"⟨Γ, ∇_U⟩ = {inner:.4g} (cosine {cosine:.4g}; rounding allowance {allowance:.2g}) "
                       f"over {X.shape[0]} rows")


BACKWARD_THEOREMS = (PhantomGradient(), JacobianFreeDescent(), JacobianFreeNonlinear())
