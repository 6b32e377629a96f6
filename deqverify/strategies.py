"""Public Hypothesis strategies for DEQ problems.

Assumptions hold *by construction* (draw Σ from eigenvalues and a random rotation, θ₂ inside
the well-posed range), never by heavy ``assume``; each strategy asserts its postcondition.
Every random choice is drawn through Hypothesis, so each case replays and shrinks.
"""

from __future__ import annotations

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from .activations import SIGMOID, SOFTPLUS, TANH, Activation

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
