"""Basic Hypothesis draws shared by the scalar and vector problem strategies: bounded floats,
contraction factors, data matrices, covariances from eigenvalues and a Haar rotation."""

from __future__ import annotations

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from deqverify.core.activations import SIGMOID, SOFTPLUS, TANH, Activation

SMOOTH_ACTIVATIONS = (SIGMOID, TANH, SOFTPLUS)


def smooth_activations() -> st.SearchStrategy[Activation]:
    """Sigmoid, tanh or softplus: the activations of A-act."""
    return st.sampled_from(SMOOTH_ACTIVATIONS)


def finite_floats(low: float, high: float) -> st.SearchStrategy[float]:
    return st.floats(low, high, allow_nan=False, allow_infinity=False)


def contractions(low: float = -10.0, high: float = 0.99) -> st.SearchStrategy[float]:
    """θ₂·L in [low, high] with high < 1: the well-posed range for a nondecreasing σ."""
    assert high < 1.0
    return finite_floats(low, high)


def far_contractions(high: float = 0.99) -> st.SearchStrategy[float]:
    """θ₂·L in [−10, high], or −10ᵉ with e up to 300: the strongly negative feedback a user
    can reach (the output then shrinks like 1/|θ₂|), not only the comfortable middle."""
    return st.one_of(contractions(-10.0, high), finite_floats(1.0, 300.0).map(lambda e: -10.0 ** e))


def data_matrices(max_rows: int = 40, max_dim: int = 6, scale: float = 3.0):
    """X of shape (n, d) with finite entries in [−scale, scale]."""
    shapes = st.tuples(st.integers(1, max_rows), st.integers(1, max_dim))
    return shapes.flatmap(lambda shape: hnp.arrays(np.float64, shape,
                                                   elements=finite_floats(-scale, scale)))


@st.composite
def fixed_point_problems(draw, low: float = -10.0, high: float = 0.99):
    """(activation, θ, X) with θ₂·L ∈ [low, high] and |θ₁ᵀx| ≲ 30 (FP-1 assumptions)."""
    activation = draw(smooth_activations())
    X = draw(data_matrices())
    theta1 = draw(hnp.arrays(np.float64, X.shape[1], elements=finite_floats(-2.0, 2.0)))
    theta2 = draw(contractions(low, high)) / activation.lipschitz
    theta = np.r_[theta1, theta2]
    assert theta2 * activation.lipschitz < 1.0
    return activation, theta, X


# ---------------------------------------------------------------------------------------
# Theorem problems: problems(theorem_id) satisfies every assumption of the theorem;
# problems(theorem_id, violate=NAME) breaks exactly that one.
# ---------------------------------------------------------------------------------------

SEEDS = st.integers(0, 2 ** 32 - 1)
CONDITION_MAX = 100.0


@st.composite
def covariances(draw, dim: int, condition_max: float = CONDITION_MAX, zero_eigenvalues: int = 0):
    """Σ = Q diag(λ) Qᵀ with λ in [1, κ]·scale (κ ≤ condition_max) and a Haar rotation Q;
    ``zero_eigenvalues`` of the λ are set to 0 (rank-deficient Σ)."""
    scale = draw(finite_floats(0.2, 3.0))
    condition = draw(finite_floats(1.0, condition_max))
    rng = np.random.default_rng(draw(SEEDS))
    eigenvalues = scale * np.r_[1.0, condition, rng.uniform(1.0, condition, max(dim - 2, 0))][:dim]
    eigenvalues[:zero_eigenvalues] = 0.0
    rotation, upper = np.linalg.qr(rng.standard_normal((dim, dim)))
    rotation *= np.sign(np.diag(upper))
    Sigma = rotation @ np.diag(eigenvalues) @ rotation.T
    Sigma = 0.5 * (Sigma + Sigma.T)
    computed = np.linalg.eigvalsh(Sigma)
    if zero_eigenvalues:
        assert computed[zero_eigenvalues - 1] <= 1e-12 * computed[-1]
    else:
        assert computed[0] > 0 and computed[-1] / computed[0] <= condition_max * (1 + 1e-8)
    return Sigma


def _vector(draw, size, low, high, min_norm=0.0):
    vector = draw(hnp.arrays(np.float64, size, elements=finite_floats(low, high)))
    if np.linalg.norm(vector) < min_norm:
        vector = vector + min_norm * np.eye(size)[0]
    return vector
