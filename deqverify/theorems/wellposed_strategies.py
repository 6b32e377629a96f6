"""Hypothesis problems for MON-WP, MON-LIP, LINF-WP, BWD-PHANTOM and BWD-JFB: well-posed by
construction, or breaking exactly one named assumption.

Matrices are built with numpy from a drawn seed and a few drawn scalars (scale, m, μ), not
element by element: a 16×16 matrix drawn entry-wise costs Hypothesis ≥ 2× more here, and the
statements are about the scalars.

* Monotone W = (1 − m)I − s_A·P + s_B·S with P = A₀ᵀA₀ and S = B₀ − B₀ᵀ, each normalised to
  ‖·‖₂ = 1: the symmetric part of I − W is mI + s_A·P ⪰ mI, and ‖I − W‖₂ ≤ m + s_A + s_B ≤ 5m
  (s_A, s_B ≤ 2m), so forward–backward contracts with factor ≤ √(1 − 4f(1 − f)/25) at
  α = f·2m/L², f ∈ [0.2, 0.8]: at most ~3300 steps to 1e-18. m ranges up to 4, so ‖W‖₂ ≥ 1
  (where plain iteration need not converge) is common: W = (1 − m)I alone has ‖W‖₂ = m − 1.
  A-monotone: m ∈ [−1, −0.05] and s_A ≤ |m|/2 (so λ_min ≤ m/2 < 0); A-splitting-step:
  f ∈ [1.05, 3].
* ℓ∞: off-diagonal entries R₀·s with ‖R₀‖ free (so ‖W‖∞ reaches 4 and beyond), diagonal
  wᵢᵢ = μ − Σ_{j≠i}|wᵢⱼ| − slackᵢ with slack₀ = 0: μ∞(W) = μ exactly, μ ∈ [−2, 0.95];
  A-mu-inf: μ ∈ [1, 1.5].
* Backward: W with ‖W‖₂L = q ∈ [0, 0.95] (A-contract: q ∈ [1, 3], solved where a root
  exists), τ ∈ [0.05, 1] (A-damping: τ ∈ [1.05, 2]), k ∈ [1, 40], cotangents from the seed.
"""

from __future__ import annotations

import numpy as np
from hypothesis import strategies as st

from deqverify.core.splitting import PROX_ACTIVATIONS, linf_constants, monotone_constants
from deqverify.core.vector_model import VectorDEQ
from deqverify.core.vector_params import VectorParams
from deqverify.theorems.base import Problem
from deqverify.theorems.draws import SEEDS, finite_floats
from deqverify.theorems.spec import STEEP_TANH
from deqverify.theorems.vector_strategies import contractive_matrix

MAX_WIDTH = 8
MAX_MONOTONICITY = 4.0
UNIT_SLOPES = ("relu", "tanh", "sigmoid", "softplus", "identity")
SMOOTH = ("tanh", "sigmoid", "softplus")
SMOOTH_OR_LINEAR = SMOOTH + ("identity",)


def _unit(matrix: np.ndarray) -> np.ndarray:
    norm = np.linalg.norm(matrix, 2)
    return matrix / norm if norm > 0 else matrix


def monotone_matrix(draw, k: int, broken: bool) -> np.ndarray:
    """W = (1 − m)I − s_A·P + s_B·S with λ_min(sym(I − W)) ≥ m > 0 (or < 0 when ``broken``)."""
    rng = np.random.default_rng(draw(SEEDS))
    A0, B0 = rng.standard_normal((k, k)), rng.standard_normal((k, k))
    P, S = _unit(A0.T @ A0), _unit(B0 - B0.T)
    if broken:
        m = -draw(finite_floats(0.05, 1.0))
        s_A, s_B = draw(finite_floats(0.0, 0.5)) * abs(m), draw(finite_floats(0.0, 2.0)) * abs(m)
    else:
        m = draw(finite_floats(0.05, MAX_MONOTONICITY))
        s_A, s_B = draw(finite_floats(0.0, 2.0)) * m, draw(finite_floats(0.0, 2.0)) * m
    W = (1 - m) * np.eye(k) - s_A * P + s_B * S
    computed = monotone_constants(W)["m"]
    assert (computed <= m / 2 < 0) if broken else (computed >= m * (1 - 1e-9))
    return W


def linf_matrix(draw, k: int, broken: bool) -> np.ndarray:
    """W with μ∞(W) = μ exactly, μ ∈ [−2, 0.95] (or [1, 1.5] when ``broken``)."""
    rng = np.random.default_rng(draw(SEEDS))
    mu = draw(finite_floats(1.0, 1.5)) if broken else draw(finite_floats(-2.0, 0.95))
    W = rng.standard_normal((k, k)) * draw(finite_floats(0.0, 2.0))
    off = np.sum(np.abs(W), axis=1) - np.abs(np.diag(W))
    slack = rng.uniform(0.0, 1.0, k) * draw(finite_floats(0.0, 2.0))
    slack[rng.integers(k)] = 0.0
    np.fill_diagonal(W, mu - off - slack)
    assert abs(linf_constants(W)["mu"] - mu) <= 1e-12 * (1 + np.abs(W).sum())
    return W


def _inputs(draw, rng, dim: int, pairs: int) -> np.ndarray:
    """2·pairs rows: x and a partner x′ = x + ε·direction with ε ∈ [1e-3, 3] (near pairs probe how
    tight a Lipschitz bound gets)."""
    X = rng.standard_normal((pairs, dim)) * draw(finite_floats(0.1, 3.0))
    partners = X + rng.standard_normal((pairs, dim)) * draw(st.sampled_from((1e-3, 0.1, 1.0, 3.0)))
    return np.stack([X, partners], axis=1).reshape(2 * pairs, dim)


def _problem(draw, theorem_id, violate, model, W, *, step=None, steps=0, damping=None, cotangents=False):
    k = W.shape[0]
    dim = draw(st.integers(1, 4))
    rng = np.random.default_rng(draw(SEEDS))
    X = _inputs(draw, rng, dim, draw(st.integers(1, 6)))
    params = VectorParams(W, rng.standard_normal((k, dim)) * draw(finite_floats(0.1, 2.0)),
                          rng.standard_normal(k) * draw(finite_floats(0.0, 1.0)), np.ones(k))
    g = rng.standard_normal((X.shape[0], k)) if cotangents else None
    return Problem(model=model, risk=None, theta0=params.flat, X=X, step=step, steps=steps,
                   damping=damping, cotangents=g, label=f"{theorem_id} violate={violate}")


@st.composite
def wellposed_problem(draw, theorem_id: str, violate: str | None):
    """A problem for MON-WP, MON-LIP or LINF-WP, breaking ``violate`` if given."""
    k = draw(st.integers(1, MAX_WIDTH))
    if theorem_id == "LINF-WP":
        activation = STEEP_TANH if violate == "A-slopes" else draw(st.sampled_from(UNIT_SLOPES))
        W = linf_matrix(draw, k, broken=violate == "A-mu-inf")
        return _problem(draw, theorem_id, violate, VectorDEQ(k, activation, allow_noncontractive=True), W)
    activation = STEEP_TANH if violate == "A-prox" else draw(st.sampled_from(PROX_ACTIVATIONS))
    W = monotone_matrix(draw, k, broken=violate == "A-monotone")
    model = VectorDEQ(k, activation, allow_noncontractive=True)
    if theorem_id == "MON-LIP":
        return _problem(draw, theorem_id, violate, model, W)
    constants = monotone_constants(W)
    limit = 2 * abs(constants["m"]) / constants["L"] ** 2
    fraction = draw(finite_floats(1.05, 3.0)) if violate == "A-splitting-step" else draw(finite_floats(0.2, 0.8))
    return _problem(draw, theorem_id, violate, model, W, step=fraction * limit)


@st.composite
def backward_problem(draw, theorem_id: str, violate: str | None):
    """A problem for BWD-PHANTOM, BWD-JFB or JFB-NONLINEAR, breaking ``violate`` if given."""
    k = draw(st.integers(1, MAX_WIDTH))
    activation = ("identity" if theorem_id == "BWD-JFB" else
                  draw(st.sampled_from(SMOOTH)) if theorem_id == "JFB-NONLINEAR" else
                  draw(st.sampled_from(SMOOTH_OR_LINEAR)))
    model = VectorDEQ(k, activation, allow_noncontractive=violate == "A-contract")
    lipschitz = model.activation.lipschitz
    W = (contractive_matrix(draw, k, lipschitz, 1.0, 3.0) if violate == "A-contract"
         else contractive_matrix(draw, k, lipschitz, 0.0, 0.95))
    if theorem_id in ("BWD-JFB", "JFB-NONLINEAR"):
        return _problem(draw, theorem_id, violate, model, W, cotangents=True)
    damping = draw(finite_floats(1.05, 2.0)) if violate == "A-damping" else draw(finite_floats(0.05, 1.0))
    return _problem(draw, theorem_id, violate, model, W, steps=draw(st.integers(1, 40)), damping=damping,
                    cotangents=True)
