"""Well-posedness beyond contraction: monotone DEQs (MON-WP, MON-LIP) and ℓ∞ well-posed DEQs
(LINF-WP), docs/theorems.md "Monotone and ℓ∞ well-posed DEQs".

Model z = σ(Wz + Ux + b) with W allowed to have ‖W‖₂ ≥ 1. The roots are computed by the
splitting iterations of :mod:`deqverify.core.splitting`, each answer with a certified bound
β = (‖T(z) − z‖ + 2δ)/(1 − c); every tolerance below is built from β and the rounding δ of one
evaluation of the map.
"""

from __future__ import annotations

import numpy as np

from deqverify.core.errors import UncheckableError
from deqverify.core.splitting import (
    PROX_ACTIVATIONS,
    averaged_map,
    evaluation_rounding,
    forward_backward_factor,
    forward_backward_map,
    linf_constants,
    monotone_constants,
    monotone_roots,
    run_map,
)
from deqverify.theorems.base import Problem, Theorem, Verdict, one_sided, verdict_of

FAR_START_SCALE = 10.0
"""The second start of a uniqueness check: −10·(1 + |p|) per entry, far from the first (0)."""


def batch(problem: Problem):
    """(params, offsets p = Ux + b per row) of a problem whose X holds the inputs."""
    if problem.X is None:
        raise UncheckableError("this statement needs inputs X in the problem")
    params = problem.model.params(problem.theta0, problem.X.shape[1])
    return params, problem.X @ params.U.T + params.b


def _starts(offsets):
    return np.zeros_like(offsets), -FAR_START_SCALE * (1.0 + np.abs(offsets))


def _contraction(W, offsets, alpha, step, factor, norm):
    """Run ``step`` from 0 and from a far start; the contraction clause ``(held, margin)``, the
    runs, and the largest observed ratio / allowance. Checked: every step of both runs,
    ‖z_{t+2} − z_{t+1}‖ ≤ c‖z_{t+1} − z_t‖ + δ_t + δ_{t+1}, and the map on pairs from different
    runs (the two starts; each run's answer with the other start),
    ‖T(z) − T(z′)‖ ≤ c‖z − z′‖ + δ(z) + δ(z′); and c < 1 itself, which is the claim."""
    starts = _starts(offsets)
    runs = [run_map(W, offsets, alpha, step, factor, norm, start) for start in starts]
    observed, allowed = [], []
    with np.errstate(over="ignore", invalid="ignore"):
        for run in runs:
            finite = np.isfinite(run.step_norms[1:]) & np.isfinite(run.step_norms[:-1])
            observed.append(np.where(finite, run.step_norms[1:], 0.0).ravel())
            allowed.append(np.where(finite, factor * run.step_norms[:-1] + run.step_rounding[:-1]
                                    + run.step_rounding[1:], 0.0).ravel())
        for z, z_other in ((starts[0], starts[1]), (runs[0].value, starts[1]), (runs[1].value, starts[0])):
            finite = np.all(np.isfinite(z), axis=1)
            z = np.where(finite[:, None], z, 0.0)
            delta = evaluation_rounding(W, offsets, alpha, z) + evaluation_rounding(W, offsets, alpha, z_other)
            observed.append(np.where(finite, np.linalg.norm(step(z) - step(z_other), ord=norm, axis=1), 0.0))
            allowed.append(np.where(finite, factor * np.linalg.norm(z - z_other, ord=norm, axis=1) + delta, 0.0))
        observed, allowed = np.concatenate(observed), np.concatenate(allowed)
        held, margin = one_sided(observed, allowed + np.finfo(float).tiny)
        worst = float(np.nanmax(np.where(allowed > 0, observed / np.maximum(allowed, np.finfo(float).tiny), 0.0),
                                initial=0.0))
    if not factor < 1.0:
        held, margin = False, min(margin, 1.0 - factor)
    return (held, margin), runs, worst


def _uniqueness(runs, W, offsets, activation, norm) -> tuple[bool, float, str]:
    """Both runs converged to the same point, within their certified bounds, and that point is
    a root of z = σ(Wz + p): σ is L-Lipschitz, so ‖z − σ(Wz + p)‖ ≤ (1 + L‖W‖)β + δ."""
    first, second = runs
    if not (first.converged.all() and second.converged.all()):
        bad = np.flatnonzero(~(first.converged & second.converged))
        return False, -1.0, (f"the iteration did not converge for rows {bad[:5].tolist()} "
                             f"(status {first.status} / {second.status})")
    with np.errstate(over="ignore", invalid="ignore"):  # answers near overflow: NaN fails the check
        apart = np.linalg.norm(first.value - second.value, ord=norm, axis=1)
        residual = np.linalg.norm(first.value - activation.f(first.value @ W.T + offsets), ord=norm, axis=1)
        scale = 1.0 + activation.lipschitz * np.linalg.norm(W, ord=norm)
        delta = evaluation_rounding(W, offsets, 1.0, first.value)
        holds, margin = one_sided(np.r_[apart, residual],
                                  np.r_[first.error_bound + second.error_bound, scale * first.error_bound + delta])
    return holds, margin, (f"two starts agree to {apart.max():.3g} (bounds {first.error_bound.max():.3g}), "
                           f"root residual {residual.max():.3g}")


class MonotoneWellPosed(Theorem):
    id = "MON-WP"
    statement = ("W = (1−m)I − AᵀA + B − Bᵀ with m > 0 and σ = prox_φ (ReLU, tanh, linear): the "
                 "root of z = σ(Wz + Ux + b) exists and is unique, and forward–backward "
                 "z ↦ prox_{αφ}(z − α((I − W)z − Ux − b)) contracts with factor "
                 "√(1 − 2αm + α²‖I − W‖₂²) < 1 for 0 < α < 2m/‖I − W‖₂²")
    assumptions = ("A-monotone", "A-splitting-step")
    family = "monotone"
    clauses = ("contraction", "unique")

    def constants(self, problem: Problem) -> dict:
        params, _ = batch(problem)
        return self._constants(params.W, problem.step)

    @staticmethod
    def _constants(W, alpha) -> dict:
        if alpha is None:
            raise UncheckableError("MON-WP needs the forward–backward step α (Problem.step)")
        constants = monotone_constants(W)
        constants["factor"] = forward_backward_factor(constants["m"], constants["L"], alpha)
        return constants

    def check(self, problem: Problem) -> Verdict:
        params, offsets = batch(problem)
        activation = problem.model.activation
        if activation.name not in PROX_ACTIVATIONS:
            raise UncheckableError(f"MON-WP's splitting needs a closed-form proximal map of σ, one of "
                                   f"{PROX_ACTIVATIONS}; got {activation.name}")
        constants = self._constants(params.W, problem.step)
        factor = constants["factor"]
        step = forward_backward_map(params.W, offsets, activation, problem.step)
        contraction, runs, worst = _contraction(params.W, offsets, problem.step, step, factor, 2)
        unique_ok, unique_margin, detail = _uniqueness(runs, params.W, offsets, activation, 2)
        return verdict_of(
            {"contraction": contraction, "unique": (unique_ok, unique_margin)}, constants,
            f"m = {constants['m']:.3g}, ‖I − W‖₂ = {constants['L']:.3g}, α = {problem.step:.3g} "
            f"(limit {constants['alpha_max']:.3g}), factor {factor:.4g}; largest step ratio / "
            f"allowance {worst:.3g} over {runs[0].iterations} + {runs[1].iterations} steps; {detail}")


def _pairs(values):
    """(rows 0, 2, 4, …; rows 1, 3, 5, …): each input paired with the next."""
    if values.shape[0] < 2:
        raise UncheckableError("a Lipschitz statement compares inputs in pairs: give X at least 2 rows")
    return values[0::2][: values.shape[0] // 2], values[1::2]


def lipschitz_verdict(apart, inputs_apart, constant, bounds, label, constants) -> Verdict:
    """‖z*(x) − z*(x′)‖ ≤ constant·‖x − x′‖ + β + β′ over the pairs; NaN bounds (no root) fail."""
    holds, margin = one_sided(apart, constant * inputs_apart + bounds)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(inputs_apart > 0, apart / (constant * inputs_apart), 0.0)
    constants = dict(constants, tightest=float(np.nanmax(ratio, initial=0.0)))
    return Verdict(holds, margin, constants,
                   f"largest ‖Δz*‖ / ({label}·‖Δx‖) = {constants['tightest']:.4g} over {apart.size} pairs "
                   f"(constant {constant:.4g})")


class MonotoneLipschitz(Theorem):
    id = "MON-LIP"
    statement = ("under MON-WP's assumptions, ‖z*(x) − z*(x′)‖₂ ≤ (‖U‖₂/m)·‖x − x′‖₂, "
                 "m = λ_min of the symmetric part of I − W")
    assumptions = ("A-monotone", "A-prox")
    family = "monotone"

    def check(self, problem: Problem) -> Verdict:
        params, offsets = batch(problem)
        constants = monotone_constants(params.W)
        if constants["m"] <= 0:
            return Verdict(False, -1.0, constants, f"m = {constants['m']:.3g} ≤ 0: I − W is not "
                           "strongly monotone and the statement gives no bound")
        Z, bounds = monotone_roots(problem.model, params, offsets)
        (z, z_other), (x, x_other) = _pairs(Z), _pairs(problem.X)
        (beta, beta_other) = _pairs(bounds)
        constant = np.linalg.norm(params.U, 2) / constants["m"]
        return lipschitz_verdict(np.linalg.norm(z - z_other, axis=1), np.linalg.norm(x - x_other, axis=1),
                                 constant, beta + beta_other, "‖U‖₂/m", constants)


class LinfWellPosed(Theorem):
    id = "LINF-WP"
    statement = ("σ entrywise with slopes in [0, 1] and μ = μ∞(W) = maxᵢ(wᵢᵢ + Σ_{j≠i}|wᵢⱼ|) < 1 "
                 "(‖W‖∞ may exceed 1): z* is unique, z ↦ (1−α)z + ασ(Wz + Ux + b) with "
                 "α = 1/(1 − min(minᵢ wᵢᵢ, 0)) contracts in ℓ∞ with factor 1 − α(1 − μ⁺), and "
                 "‖z*(x) − z*(x′)‖∞ ≤ ‖U(x − x′)‖∞/(1 − μ⁺) ≤ ‖U‖∞‖x − x′‖∞/(1 − μ⁺)")
    assumptions = ("A-mu-inf", "A-slopes")
    family = "monotone"
    clauses = ("contraction", "unique", "lipschitz")

    def check(self, problem: Problem) -> Verdict:
        params, offsets = batch(problem)
        activation = problem.model.activation
        constants = linf_constants(params.W)
        factor = constants["factor"]
        step = averaged_map(params.W, offsets, activation, constants["alpha"])
        contraction, runs, worst = _contraction(params.W, offsets, constants["alpha"], step, factor, np.inf)
        unique_ok, unique_margin, detail = _uniqueness(runs, params.W, offsets, activation, np.inf)
        z, z_other = _pairs(runs[0].value)
        beta, beta_other = _pairs(np.where(runs[0].converged, runs[0].error_bound, np.nan))
        u, u_other = _pairs(offsets)
        if constants["mu"] < 1:
            lipschitz = lipschitz_verdict(np.max(np.abs(z - z_other), axis=1), np.max(np.abs(u - u_other), axis=1),
                                          1.0 / (1.0 - max(constants["mu"], 0.0)), beta + beta_other,
                                          "1/(1 − μ⁺)", constants)
        else:
            lipschitz = Verdict(False, -1.0, constants, "μ∞ ≥ 1: the statement gives no bound")
        return verdict_of(
            {"contraction": contraction, "unique": (unique_ok, unique_margin),
             "lipschitz": (lipschitz.holds, lipschitz.margin)}, lipschitz.constants,
            f"μ∞ = {constants['mu']:.3g}, α = {constants['alpha']:.3g}, factor {factor:.4g}; largest ratio / "
            f"allowance {worst:.3g}; {detail}; "
            f"{lipschitz.details}")


WELL_POSED_THEOREMS = (MonotoneWellPosed(), MonotoneLipschitz(), LinfWellPosed())
