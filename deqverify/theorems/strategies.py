"""Public Hypothesis strategies for DEQ problems.

Assumptions hold *by construction* (draw Σ from eigenvalues and a random rotation, θ₂ inside
the well-posed range), never by heavy ``assume``; each strategy asserts its postcondition.
Every random choice is drawn through Hypothesis, so each case replays and shrinks.
"""

from __future__ import annotations

import numpy as np
from hypothesis import strategies as st

from deqverify.core.data import GaussianPopulation, UniformPopulation
from deqverify.core.errors import InvalidInputError, UncheckableError
from deqverify.core.models import LinearDEQ, SingleIndexDEQ
from deqverify.core.population import PopulationRisk
from deqverify.core.risk import EmpiricalRisk
from deqverify.theorems.base import Problem
from deqverify.theorems.draws import (  # noqa: F401
    CONDITION_MAX,
    SEEDS,
    SMOOTH_ACTIVATIONS,
    _vector,
    contractions,
    covariances,
    data_matrices,
    finite_floats,
    fixed_point_problems,
    smooth_activations,
)
from deqverify.theorems.linear import linear_constants
from deqverify.theorems.registry import REGISTRY
from deqverify.theorems.single_index import rsi_constants
from deqverify.theorems.spec import SINE
from deqverify.theorems.vector_strategies import vector_problem
from deqverify.theorems.wellposed_strategies import backward_problem, wellposed_problem


@st.composite
def linear_risks(draw, rank_deficient: bool = False, empirical=None):

    dim = draw(st.integers(2 if rank_deficient else 1, 4))
    Sigma = draw(covariances(dim, zero_eigenvalues=draw(st.integers(1, dim - 1)) if rank_deficient else 0))
    xi = _vector(draw, dim, -2.0, 2.0, min_norm=0.1)
    population = GaussianPopulation(Sigma)
    use_sample = draw(st.booleans()) if empirical is None else empirical
    if use_sample:
        n = draw(st.integers(dim + 2, 60))
        X = population.sample(n, np.random.default_rng(draw(SEEDS)))
        return EmpiricalRisk.from_teacher(LinearDEQ(), X, xi)
    return PopulationRisk(LinearDEQ(), population, xi)


def _theta2_away_from_one(draw, gap=0.05):
    side = draw(st.sampled_from((-1.0, 1.0)))
    return 1.0 + side * draw(finite_floats(gap, 2.0))


@st.composite
def _linear_start(draw, dim, near_singular=False):
    if near_singular:  # within 0.1 of e = (0, 1)
        offset = _vector(draw, dim + 1, -1.0, 1.0, min_norm=0.05)
        offset *= draw(finite_floats(0.02, 0.1)) / np.linalg.norm(offset)
        theta = np.r_[np.zeros(dim), 1.0] + offset
        assume_gap = abs(1.0 - theta[-1]) >= 1e-3
        if not assume_gap:
            theta[-1] = 1.0 - 1e-3 * np.sign(offset[-1] or 1.0)
        return theta
    return np.r_[_vector(draw, dim, -2.0, 2.0), _theta2_away_from_one(draw)]


LINEAR_TRAJECTORY = {"T3.1": 5.0, "L3.2": 20.0, "T3.4": 10.0}


@st.composite
def _linear_problem(draw, theorem_id: str, violate: str | None):

    risk = draw(linear_risks(rank_deficient=violate == "A-data"))
    dim = risk.dim
    near = theorem_id == "T3.6" and violate == "step-size" and draw(st.booleans())
    theta0 = draw(_linear_start(dim, near_singular=near))
    if violate == "A-theta2":
        theta0[-1] = 1.0
    points = np.array([draw(_linear_start(dim)) for _ in range(3)])
    problem = Problem(model=risk.model, risk=risk, theta0=theta0, points=points,
                      label=f"{theorem_id} violate={violate}")
    if theorem_id in LINEAR_TRAJECTORY:
        problem.t_max = LINEAR_TRAJECTORY[theorem_id]
    elif theorem_id == "T3.3":
        constants = linear_constants(problem) if violate != "A-theta2" else {"lambda_min": 0.0}
        lam = constants["lambda_min"]
        C0 = float(np.sum(theta0[:-1] ** 2) + (theta0[-1] - 1) ** 2)
        # R(t) ≤ R₀e^{−4λt/C₀}: run until the bound is 1e-12·R₀ (capped)
        problem.t_max = float(min(2000.0, 28.0 * C0 / (4.0 * lam))) if lam > 0 else 50.0
    elif theorem_id in ("GD-RADIUS", "NEUMANN"):
        problem.step, problem.steps = draw(finite_floats(1e-3, 0.5)), 20
    elif theorem_id == "T3.6":
        eta0 = linear_constants(problem)["eta0"] if violate not in ("A-data", "A-theta2") else 0.01
        if violate == "step-size":
            problem.step = 0.01 if near else eta0 * draw(finite_floats(2.0, 1000.0))
        else:
            problem.step = eta0 * draw(finite_floats(0.05, 1.0))
        problem.steps = 50
    return problem


SMOOTH_NAMES = ("sigmoid", "tanh", "softplus")


@st.composite
def single_index_risks(draw, activation: str, rank_deficient: bool = False, empirical: bool = False):

    model = SingleIndexDEQ(activation)
    kind = "empirical" if empirical else draw(st.sampled_from(("gaussian", "uniform", "empirical")))
    if rank_deficient:
        kind = "gaussian"
    if kind == "uniform":
        xi = np.array([draw(finite_floats(0.5, 2.0)) * draw(st.sampled_from((-1.0, 1.0)))])
        return PopulationRisk(model, UniformPopulation(0.0, 1.0), xi)
    dim = draw(st.integers(2 if rank_deficient else 1, 3))
    Sigma = draw(covariances(dim, condition_max=10.0, zero_eigenvalues=1 if rank_deficient else 0))
    xi = _vector(draw, dim, -1.5, 1.5, min_norm=0.5)
    population = GaussianPopulation(Sigma)
    if kind == "gaussian":
        return PopulationRisk(model, population, xi)
    X = population.sample(draw(st.integers(50, 200)), np.random.default_rng(draw(SEEDS)))
    return EmpiricalRisk.from_teacher(model, X, xi)


@st.composite
def _single_index_problem(draw, theorem_id: str, violate: str | None):

    activation = ("identity" if violate == "A-nonlin" else "relu" if violate == "A-act"
                  else draw(st.sampled_from(SMOOTH_NAMES)))
    risk = draw(single_index_risks(activation, rank_deficient=violate == "A-data",
                                   empirical=activation == "relu"))
    lip = risk.model.activation.lipschitz
    truth = risk.truth
    xi_norm = float(np.linalg.norm(risk.xi))
    direction = _vector(draw, truth.size, -1.0, 1.0, min_norm=0.1)
    direction /= np.linalg.norm(direction)
    if violate == "A-init":  # outside the ball: 1.5 to 4 times ‖ξ‖ away
        radius = xi_norm * draw(finite_floats(1.5, 4.0))
    else:  # A-init: ‖θ(0) − θ*‖ ≤ min{(1+δ₁)‖ξ‖, δ₂}; here δ₂ = 0.25·min(‖ξ‖, 1/L)
        radius = draw(finite_floats(0.02, 0.25)) * min(xi_norm, 1.0 / lip)
    theta0 = truth + radius * direction
    if violate == "A-contract":
        theta0[-1] = draw(finite_floats(1.0, 1.5)) / lip
    elif violate == "A-nonlin":  # start on the zero-risk line (αξ, 1−α) of the identity DEQ
        alpha = draw(finite_floats(0.5, 2.0))
        theta0 = np.r_[alpha * risk.xi, 1.0 - alpha]
    else:  # A-contract along the run: |θ₂|·L ≤ 0.9
        theta0[-1] = float(np.clip(theta0[-1], -0.9 / lip, 0.9 / lip))
    points = truth + radius * np.array([_unit(draw, truth.size) for _ in range(3)])
    points[:, -1] = np.clip(points[:, -1], -0.9 / lip, 0.9 / lip)
    problem = Problem(model=risk.model, risk=risk, theta0=theta0, points=points,
                      label=f"{theorem_id} violate={violate}")
    if theorem_id == "T3.8":
        problem.t_max = 10.0
    elif theorem_id == "T3.9":
        if violate == "A-contract":
            problem.step, problem.steps = 0.1, 30
        else:
            try:
                constants = rsi_constants(problem, max(radius, 1e-3))
            except UncheckableError:
                constants = {"lambda1": 0.0, "lambda2": 0.0}
            bound = (constants["lambda1"] / (2 * constants["lambda2"])
                     if constants["lambda2"] > 0 else 0.0)
            if not bound > 0:  # no RSI step bound (A-nonlin dropped): a small fixed step
                bound = 0.01
            factor = draw(finite_floats(2.0, 50.0)) if violate == "step-size" else draw(finite_floats(0.1, 1.0))
            problem.step, problem.steps = factor * bound, 30
    return problem


def _unit(draw, size):
    vector = _vector(draw, size, -1.0, 1.0, min_norm=0.1)
    return vector / np.linalg.norm(vector)


@st.composite
def _fixed_point_problem(draw, theorem_id: str, violate: str | None):

    if theorem_id == "FP-3" and draw(st.booleans()):
        model = LinearDEQ()
        X = draw(data_matrices(max_rows=20, max_dim=4))
        theta = np.r_[_vector(draw, X.shape[1], -2, 2), _theta2_away_from_one(draw)]
    elif violate == "A-act":  # σ not monotone (sine), |θ₂|·L < 1: contraction alone
        X = draw(data_matrices())
        theta = np.r_[_vector(draw, X.shape[1], -2.0, 2.0), draw(finite_floats(-0.95, 0.95))]
        model = SingleIndexDEQ(SINE)
    else:
        activation, theta, X = draw(fixed_point_problems(high=0.9))
        model = SingleIndexDEQ(activation)
        if violate == "A-contract":
            theta[-1] = draw(finite_floats(1.0, 3.0)) / activation.lipschitz
    targets = np.random.default_rng(draw(SEEDS)).normal(size=X.shape[0])
    risk = EmpiricalRisk(model, X, targets)
    return Problem(model=model, risk=risk, theta0=theta, X=X, label=f"{theorem_id} violate={violate}")


@st.composite
def _relu_problem(draw, theorem_id: str, violate: str | None):

    X = draw(data_matrices(max_rows=40, max_dim=4))
    xi = _vector(draw, X.shape[1], -2, 2, min_norm=0.1)
    model = SingleIndexDEQ("relu")
    risk = EmpiricalRisk.from_teacher(model, X, xi)
    theta2 = draw(finite_floats(1.0, 2.0)) if violate == "A-contract" else draw(finite_floats(-2.0, 0.95))
    theta = np.r_[_vector(draw, X.shape[1], -2, 2), theta2]
    points = np.array([np.r_[_vector(draw, X.shape[1], -2, 2), draw(finite_floats(-2.0, 0.95))]
                       for _ in range(2)])
    return Problem(model=model, risk=risk, theta0=theta, points=points, X=X,
                   step=draw(finite_floats(1e-3, 0.1)), steps=10, label=f"RELU violate={violate}")


FAMILIES = {
    "fixed-point": _fixed_point_problem, "linear": _linear_problem,
    "single-index": _single_index_problem, "relu": _relu_problem, "vector": vector_problem,
    "monotone": wellposed_problem, "backward": backward_problem,
}


def problems(theorem_id: str, violate: str | None = None):
    """Problems satisfying every assumption of ``theorem_id``, or breaking exactly ``violate``.

    >>> from deqverify.theorems.strategies import problems
    >>> problems("T3.1")              # doctest: +SKIP
    >>> problems("T3.9", violate="step-size")  # doctest: +SKIP
    """

    if theorem_id not in REGISTRY:
        raise InvalidInputError(f"unknown theorem id {theorem_id!r}; known: {sorted(REGISTRY)}")
    theorem = REGISTRY[theorem_id]
    if violate is not None and violate not in theorem.assumptions:
        raise InvalidInputError(
            f"{theorem_id} has no assumption {violate!r}; its assumptions are {theorem.assumptions}")
    return FAMILIES[theorem.family](theorem_id, violate)
