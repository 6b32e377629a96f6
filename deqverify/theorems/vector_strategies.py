"""Hypothesis problems for the VEC-* statements: every assumption holds by construction, or
exactly one named assumption is broken.

W is drawn as a scaled random matrix with ‖W‖₂·L = q exactly (contraction), or as I − A with
A = P·diag(s)·Qᵀ, Haar rotations P, Q and singular values s in [0.3, 2] (linear model: I − W
invertible with σ_min ≥ 0.3); an ablation sets one s to 0 (singular) or draws q ≥ 1.
"""

from __future__ import annotations

import numpy as np
from hypothesis import strategies as st

from deqverify.core.data import GaussianPopulation
from deqverify.core.population import PopulationRisk
from deqverify.core.risk import EmpiricalRisk
from deqverify.core.solve import DEFAULT_SETTINGS
from deqverify.core.vector_model import VectorDEQ
from deqverify.core.vector_params import VectorParams
from deqverify.theorems.base import Problem
from deqverify.theorems.draws import SEEDS, _vector, covariances, finite_floats

NONLINEAR = ("tanh", "sigmoid", "softplus", "relu")
SMOOTH = ("tanh", "sigmoid", "softplus")
MAX_WIDTH = 8
TRAJECTORY_MAX_WIDTH = 4
"""Flows integrate k² + kd + 2k parameters: k ≤ 4 keeps one flow well under a second."""
LINEAR_STATEMENTS = ("VEC-ORTH", "VEC-CONS", "VEC-RADIUS", "VEC-SCALE", "VEC-INVERTIBLE")
FLOW_HORIZON = {"VEC-CONS": 1.0, "VEC-INVERTIBLE": 5.0}


def _rotation(rng, k):
    rotation, upper = np.linalg.qr(rng.standard_normal((k, k)))
    return rotation * np.sign(np.diag(upper))


def contractive_matrix(draw, k: int, lipschitz: float, low: float, high: float) -> np.ndarray:
    """W with ‖W‖₂·L = q drawn in [low, high]."""
    rng = np.random.default_rng(draw(SEEDS))
    matrix = rng.standard_normal((k, k))
    q = draw(finite_floats(low, high))
    W = matrix * (q / (lipschitz * np.linalg.norm(matrix, 2)))
    if low >= 1.0 and np.linalg.norm(W, 2) * lipschitz < 1.0:  # q = 1 may round to 1 − eps
        W *= 1.0 + 4 * np.finfo(float).eps
    computed = np.linalg.norm(W, 2) * lipschitz
    assert abs(computed - q) <= 1e-12 * max(1.0, q) and (computed >= 1.0) == (low >= 1.0)
    return W


def invertible_complement(draw, k: int, singular: bool = False, smallest: float = 0.3) -> np.ndarray:
    """W = I − A with σ(A) in [smallest, 2] (or one σ = 0 when ``singular``)."""
    rng = np.random.default_rng(draw(SEEDS))
    values = np.sort(np.array([draw(finite_floats(smallest, 2.0)) for _ in range(k)]))
    if singular:
        values[0] = 0.0
    A = _rotation(rng, k) @ np.diag(values) @ _rotation(rng, k).T
    computed = np.linalg.svd(A, compute_uv=False)[-1]
    assert (computed <= 1e-12) if singular else (computed >= smallest * (1 - 1e-9))
    return np.eye(k) - A


VECTOR_CONDITION_MAX = 10.0
"""Σ's condition bound for vector problems: the identities do not depend on it, while the
flow's stiffness (and the cost of an explicit integration) grows with λ_max(Σ)."""


def _risk(draw, model, dim, *, rank_deficient=False, population_allowed=True, rows=(None, 30)):
    Sigma = draw(covariances(dim, condition_max=VECTOR_CONDITION_MAX,
                             zero_eigenvalues=draw(st.integers(1, dim - 1)) if rank_deficient else 0))
    xi = _vector(draw, dim, -2.0, 2.0, min_norm=0.1)
    population = GaussianPopulation(Sigma)
    if population_allowed and model.is_linear and draw(st.booleans()):
        return PopulationRisk(model, population, xi)
    n = draw(st.integers(rows[0] or dim + 2, rows[1]))
    X = population.sample(n, np.random.default_rng(draw(SEEDS)))
    return EmpiricalRisk.from_teacher(model, X, xi)


def _readout(draw, k, dim, W, bias: bool):
    U = np.array([_vector(draw, dim, -1.5, 1.5) for _ in range(k)])
    b = _vector(draw, k, -1.0, 1.0) if bias else np.zeros(k)
    v = _vector(draw, k, -1.5, 1.5, min_norm=0.1)
    return VectorParams(W, U, b, v)


@st.composite
def vector_problem(draw, theorem_id: str, violate: str | None):
    """A problem for ``theorem_id`` (a VEC-* id), breaking ``violate`` if given."""
    if theorem_id == "VEC-REDUCE":
        return draw(_reduce_problem(violate))
    trajectory = theorem_id in ("VEC-CONS", "VEC-RADIUS", "VEC-SCALE", "VEC-INVERTIBLE")
    k = draw(st.integers(2 if theorem_id == "VEC-INVERTIBLE" else 1,
                         TRAJECTORY_MAX_WIDTH if trajectory else MAX_WIDTH))
    dim = draw(st.integers(2 if violate == "A-data" else 1, 4))
    bias = draw(st.booleans())
    frozen = () if bias else ("b",)
    if theorem_id in LINEAR_STATEMENTS:
        activation = draw(st.sampled_from(SMOOTH)) if violate == "A-linear" else "identity"
        if violate == "A-free-readout":
            frozen += ("v",)
    elif theorem_id == "VEC-BAL":
        activation = (draw(st.sampled_from(SMOOTH)) if violate == "A-homogeneous"
                      else draw(st.sampled_from(("relu", "identity"))))
    else:  # VEC-FP-1/2/3; the IFT (FP-2) needs σ ∈ C¹ at every pre-activation: no ReLU
        choices = NONLINEAR if theorem_id == "VEC-FP-1" else SMOOTH
        activation = draw(st.sampled_from(choices if violate == "A-contract" else choices + ("identity",)))
    if theorem_id == "VEC-FP-1":
        # the certified bound matters when a solver stops early: draw the method and a loose
        # tolerance too (quadratic Newton steps leave errors far below any residual bound)
        method = draw(st.sampled_from(("newton", "anderson", "picard")))
        tolerance = draw(st.sampled_from((None, 1e-6, 1e-9)))
        settings = None if tolerance is None else DEFAULT_SETTINGS[method].__class__(rtol=0.0, atol=tolerance)
        model = VectorDEQ(k, activation, method, settings, frozen=frozen)
    else:
        model = VectorDEQ(k, activation, frozen=frozen)
    if activation == "identity":
        smallest = 0.05 if theorem_id == "VEC-INVERTIBLE" else 0.3
        W = invertible_complement(draw, k, singular=violate == "A-invertible", smallest=smallest)
        if theorem_id in ("VEC-FP-1", "VEC-FP-2", "VEC-FP-3", "VEC-BAL") and np.linalg.norm(W, 2) >= 1:
            W = contractive_matrix(draw, k, 1.0, 0.0, 0.95)
    elif violate == "A-contract":
        W = contractive_matrix(draw, k, model.activation.lipschitz, 1.0, 3.0)
    else:
        W = contractive_matrix(draw, k, model.activation.lipschitz, 0.0, 0.95)
    fixed_point = theorem_id in ("VEC-FP-1", "VEC-FP-2", "VEC-FP-3")
    risk = _risk(draw, model, dim, rank_deficient=violate == "A-data",
                 population_allowed=not fixed_point, rows=(2, 20) if fixed_point else (None, 30))
    params = _readout(draw, k, dim, W, bias)
    points = None
    if not trajectory:
        points = np.array([_readout(draw, k, dim, W, bias).flat])
    return Problem(model=model, risk=risk, theta0=params.flat, points=points,
                   X=getattr(risk, "X", None), step=draw(finite_floats(1e-3, 0.05)), steps=10,
                   t_max=FLOW_HORIZON.get(theorem_id), label=f"{theorem_id} violate={violate}")


@st.composite
def _reduce_problem(draw, violate):
    """k = 1, b = 0 and v = 1 frozen; ``A-reduce`` broken: b ≠ 0 or v ≠ 1 (still frozen)."""
    activation = draw(st.sampled_from(NONLINEAR if violate == "A-contract" else NONLINEAR + ("identity",)))
    model = VectorDEQ(1, activation, frozen=("b", "v"))
    lipschitz = model.activation.lipschitz
    if activation == "identity":
        side = draw(st.sampled_from((-1.0, 1.0)))
        theta2 = 1.0 + side * draw(finite_floats(0.05, 2.0))
    elif violate == "A-contract":
        theta2 = draw(finite_floats(1.0, 2.0)) / lipschitz
    else:
        theta2 = draw(finite_floats(-0.95, 0.95)) / lipschitz
    dim = draw(st.integers(1, 4))
    risk = _risk(draw, model, dim)
    b, v = 0.0, 1.0
    if violate == "A-reduce":
        if draw(st.booleans()):
            b = draw(st.sampled_from((-1.0, 1.0))) * draw(finite_floats(0.1, 1.0))
        else:
            v = 1.0 + draw(st.sampled_from((-1.0, 1.0))) * draw(finite_floats(0.1, 0.9))
    params = VectorParams([[theta2]], _vector(draw, dim, -2.0, 2.0)[None, :], [b], [v])
    X = getattr(risk, "X", None)
    if X is None:
        X = risk.population.sample(8, np.random.default_rng(draw(SEEDS)))
    return Problem(model=model, risk=risk, theta0=params.flat, X=X,
                   label=f"VEC-REDUCE violate={violate}")
