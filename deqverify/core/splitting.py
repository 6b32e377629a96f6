"""Operator-splitting solvers for DEQs z = σ(Wz + p) that need not be contractions.

Two well-posedness theories give an iteration that contracts where plain z ← σ(Wz + p) may not:

* **Monotone DEQs (MON-WP).** If the symmetric part of I − W is ⪰ mI (m > 0) and σ = prox_φ
  for a convex φ, the root solves the inclusion 0 ∈ F(z) + ∂φ(z), F(z) = (I − W)z − p, and the
  forward–backward map T(z) = prox_{αφ}(z − αF(z)) contracts in ℓ₂ with factor
  √(1 − 2αm + α²L²), L = ‖I − W‖₂, for 0 < α < 2m/L². The proximal maps are known in closed
  form for ReLU (φ = indicator of z ≥ 0: prox_{αφ} = ReLU for every α) and the identity
  (φ = 0); for tanh, φ′(w) = artanh(w) − w, so prox_{αφ}(v) = w solves
  (1 − α)w + α·artanh(w) = v (:func:`proximal_map`).
* **ℓ∞ well-posed DEQs (LINF-WP).** With σ's slopes in [0, 1] and μ = μ∞(W) =
  maxᵢ(wᵢᵢ + Σ_{j≠i}|wᵢⱼ|) < 1, the averaged map T(z) = (1 − α)z + ασ(Wz + p),
  α = 1/(1 − min(minᵢ wᵢᵢ, 0)), contracts in ℓ∞ with factor 1 − α(1 − max(μ, 0)).

:func:`iterate_contraction` runs either map on a batch and certifies each answer a posteriori:
for a c-contraction, ‖z − z*‖ ≤ (‖T(z) − z‖ + 2δ)/(1 − c), δ the rounding of one evaluation.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import numpy as np

from deqverify.core.activations import Activation
from deqverify.core.errors import UncheckableError
from deqverify.core.solve import Status

EPS = float(np.finfo(np.float64).eps)
PROX_ACTIVATIONS = ("relu", "identity", "tanh")
"""σ with a known proximal form prox_{αφ} for every α > 0 (MON-WP)."""
PROX_NEWTON_STEPS = 60
"""Safeguarded Newton on a bracket of width 2|1 − α|/α: halving alone reaches eps in 60."""


def monotone_constants(W: np.ndarray) -> dict:
    """{"m": λ_min((A + Aᵀ)/2), "L": ‖A‖₂, "alpha_max": 2m/L²} with A = I − W (MON-WP)."""
    A = np.eye(W.shape[0]) - W
    m = float(np.linalg.eigvalsh((A + A.T) / 2)[0])
    L = float(np.linalg.norm(A, 2))
    return {"m": m, "L": L, "alpha_max": 2 * m / L ** 2 if L > 0 else math.inf}


def forward_backward_factor(m: float, L: float, alpha: float) -> float:
    """√(1 − 2αm + α²L²): ‖(I − αA)Δ‖² = ‖Δ‖² − 2αΔᵀAΔ + α²‖AΔ‖² ≤ (1 − 2αm + α²L²)‖Δ‖²."""
    return math.sqrt(max(1.0 - 2.0 * alpha * m + alpha ** 2 * L ** 2, 0.0))


def linf_constants(W: np.ndarray) -> dict:
    """{"mu": μ∞(W), "alpha": 1/(1 − min(minᵢ wᵢᵢ, 0)), "factor": 1 − α(1 − μ⁺)} (LINF-WP)."""
    diagonal = np.diag(W)
    mu = float(np.max(diagonal + np.sum(np.abs(W), axis=1) - np.abs(diagonal)))
    alpha = 1.0 / (1.0 - min(float(diagonal.min()), 0.0))
    return {"mu": mu, "alpha": alpha, "factor": 1.0 - alpha * (1.0 - max(mu, 0.0))}


def proximal_map(activation: Activation, v: np.ndarray, alpha: float) -> np.ndarray:
    """prox_{αφ}(v) for σ = prox_φ: ReLU and the identity in closed form; tanh by solving
    (1 − α)tanh(s) + αs = v for s (strictly increasing: slope ≥ min(α, 1) > 0) with Newton
    safeguarded on the bracket s ∈ [(v − |1 − α|)/α, (v + |1 − α|)/α], then w = tanh(s)."""
    if activation.name == "relu":
        return np.maximum(v, 0.0)
    if activation.name == "identity":
        return np.array(v, dtype=float)
    if activation.name != "tanh":
        raise UncheckableError(
            f"no proximal form is known for σ = {activation.name!r}; forward–backward splitting "
            f"needs σ = prox_φ with φ convex: use one of {PROX_ACTIVATIONS}")
    spread = abs(1.0 - alpha) / alpha
    with np.errstate(over="ignore", invalid="ignore"):  # v/α beyond float range: w = sign(v)
        low, high = v / alpha - spread, v / alpha + spread
        s = np.clip(v, low, high)
        for _ in range(PROX_NEWTON_STEPS):
            t = np.tanh(s)
            h = (1.0 - alpha) * t + alpha * s - v
            low, high = np.where(h < 0, s, low), np.where(h > 0, s, high)
            newton = s - h / ((1.0 - alpha) * (1.0 - t * t) + alpha)
            outside = (newton <= low) | (newton >= high)
            step = np.where(outside, 0.5 * (low + high), newton)
            if np.all((np.abs(step - s) <= 2 * EPS * np.abs(s)) | ~np.isfinite(s)):
                break
            s = step
    return np.where(np.isfinite(s), np.tanh(s), np.sign(v))


def forward_backward_map(W: np.ndarray, offsets: np.ndarray, activation: Activation,
                         alpha: float) -> Callable[[np.ndarray], np.ndarray]:
    """T(z) = prox_{αφ}((1 − α)z + α(Wz + p)) = prox_{αφ}(z − αF(z)) per row (MON-WP)."""
    def step(z):
        return proximal_map(activation, (1.0 - alpha) * z + alpha * (z @ W.T + offsets), alpha)
    return step


def averaged_map(W: np.ndarray, offsets: np.ndarray, activation: Activation,
                 alpha: float) -> Callable[[np.ndarray], np.ndarray]:
    """T(z) = (1 − α)z + α·σ(Wz + p) per row (LINF-WP)."""
    def step(z):
        return (1.0 - alpha) * z + alpha * activation.f(z @ W.T + offsets)
    return step


def evaluation_rounding(W: np.ndarray, offsets: np.ndarray, alpha: float, z: np.ndarray) -> np.ndarray:
    """δ per row: one evaluation of either map sums k + 2 products per entry (Higham: ≤ (k + 2)·eps
    times the sum of their magnitudes), and σ or its prox adds a few eps of its output, which is
    at most that magnitude; 4× covers both, in the 2-norm of the row (≤ √k·max)."""
    k = W.shape[0]
    size = abs(1.0 - alpha) * np.abs(z) + alpha * (np.abs(z) @ np.abs(W).T + np.abs(offsets)) + np.abs(z)
    return 4.0 * (k + 2) * EPS * np.sqrt(k) * np.max(size, axis=1)


@dataclass
class SplittingResult:
    """Answers of a contraction iteration on a batch.

    value (n, k); converged (n,) per sample; status (worst); residual = max ‖T(z) − z‖;
    iterations; error_bound (n,) = (‖T(z) − z‖ + 2δ)/(1 − c), certified for a c-contraction;
    step_norms (iterations, n): ‖z_{t+1} − z_t‖ at every step, and step_rounding (iterations,
    n) the δ of the evaluation that made it: for a c-contraction,
    ‖z_{t+2} − z_{t+1}‖ ≤ c‖z_{t+1} − z_t‖ + δ_t + δ_{t+1}."""

    value: np.ndarray
    converged: np.ndarray
    status: Status
    residual: float
    iterations: int
    error_bound: np.ndarray
    step_norms: np.ndarray
    step_rounding: np.ndarray


def steps_needed(factor: float) -> int:
    """Steps for a c-contraction to shrink any start's distance by 1e-18 (cᵗ ≤ 1e-18), plus 100;
    at most 20000; 1000 where c ≥ 1 (no contraction is claimed: the run shows what happens)."""
    if not factor < 1:
        return 1000
    return int(min(20000, 100 + math.ceil(-41.5 / math.log(max(factor, 1e-300)))))


def iterate_contraction(step: Callable[[np.ndarray], np.ndarray], start: np.ndarray,
                        factor: float, rounding: Callable[[np.ndarray], np.ndarray], *,
                        norm: float = 2, tolerance: float = 1e-13) -> SplittingResult:
    """z ← T(z) from ``start`` until ‖T(z) − z‖ ≤ tolerance·(1 + ‖z‖) + 2δ for every row.

    ``factor`` is the contraction factor c of T in the ``norm`` (2 or inf); ``rounding(z)``
    is δ per row; at most :func:`steps_needed` (c) steps. The error bound is only a certificate
    where c < 1 (else it is inf)."""
    z = np.array(start, dtype=float)
    norms, deltas = [], []
    with np.errstate(over="ignore", invalid="ignore"):
        for _ in range(steps_needed(factor)):
            nxt = step(z)
            difference = np.linalg.norm(nxt - z, ord=norm, axis=1)
            delta = rounding(z)
            norms.append(difference)
            deltas.append(delta)
            z = nxt
            finite = np.isfinite(difference) & np.all(np.isfinite(z), axis=1)
            done = difference <= tolerance * (1.0 + np.linalg.norm(z, ord=norm, axis=1)) + 2 * delta
            if np.all(done | ~finite):
                break
        last = np.linalg.norm(step(z) - z, ord=norm, axis=1)
        delta = rounding(z)
        finite = np.isfinite(last) & np.all(np.isfinite(z), axis=1)
        converged = finite & (last <= tolerance * (1.0 + np.linalg.norm(z, ord=norm, axis=1)) + 2 * delta)
        bound = (last + 2 * delta) / (1.0 - factor) if factor < 1 else np.full(z.shape[0], np.inf)
    status = (Status.NON_FINITE if not finite.all() else
              Status.CONVERGED if converged.all() else Status.MAX_ITERATIONS)
    return SplittingResult(z, converged, status, float(np.max(np.where(finite, last, np.inf))),
                           len(norms), np.where(finite, bound, np.inf), np.array(norms),
                           np.array(deltas))


def run_map(W, offsets, alpha, step, factor, norm, start) -> SplittingResult:
    """:func:`iterate_contraction` of a map of step α with :func:`evaluation_rounding` as δ."""
    def rounding(z):
        return evaluation_rounding(W, offsets, alpha, z)
    return iterate_contraction(step, start, factor, rounding, norm=norm)


def monotone_roots(model, params, offsets) -> tuple[np.ndarray, np.ndarray]:
    """(z*, bound) per row of ``offsets`` for the DEQ ``model`` at ``params``: forward–backward at
    α = m/L² (factor √(1 − m²/L²)) when σ has a proximal form and m > 0, with its certified
    bound; otherwise the model's own solver, with the first-order bound ‖F(z)‖·‖(I − SW)⁻¹‖₂
    (no certificate: the assumptions that give one are broken). NaN bounds mark failed rows."""
    constants = monotone_constants(params.W)
    activation = model.activation
    if activation.name in PROX_ACTIVATIONS and constants["m"] > 0:
        alpha = constants["m"] / constants["L"] ** 2
        factor = forward_backward_factor(constants["m"], constants["L"], alpha)
        run = run_map(params.W, offsets, alpha, forward_backward_map(params.W, offsets, activation, alpha),
                      factor, 2, np.zeros_like(offsets))
        return run.value, np.where(run.converged, run.error_bound, np.nan)
    result = model.solve_offsets(params, offsets)
    jacobians = np.eye(params.W.shape[0]) - result.slope[:, :, None] * params.W[None, :, :]
    with np.errstate(divide="ignore", invalid="ignore"):
        inverse_norms = 1.0 / np.linalg.svd(jacobians, compute_uv=False)[:, -1]
        residual = np.linalg.norm(result.value - activation.f(result.value @ params.W.T + offsets), axis=1)
    return result.value, np.where(result.converged, residual * inverse_norms, np.nan)
