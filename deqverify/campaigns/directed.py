"""Directed searches for the open questions: optimise a problem's parameters against the
statement's margin, where random draws (even with Hypothesis' ``target()``) only sample.

Each search maps a flat vector to a problem (a *builder*), minimises an objective read off the
statement's verdict with Nelder–Mead (scipy) from several seeded restarts, and reports how hard
it looked: evaluations, CPU time, the best objective per restart. The best problem of every
restart is kept with its verdict, so a stored search replays like any fuzz record
(``deqverify fuzz --replay``).

* **JFB-NONLINEAR**: tanh, k = 2, d = 1, a batch of two rows; W = q·M/‖M‖₂ (q = 0.9) from the
  vector, then U, b, the two inputs and the two cotangents. Objective: cos(Γ, ∇_U).
* **VEC-INVERTIBLE**: the linear vector DEQ, k = 2, d = 2, Gaussian population Σ = I,
  ξ = (1, −0.5); θ₀ = (A, U, b) scaled to tr Q = ‖A‖_F² + ‖U‖_F² + ‖b‖² = 2 (the conserved
  quadratic of VEC-CONS), W = I − A, and v scaled to ‖v‖ = 1. Objective: the statement's
  margin min_t σ_min(I − W(t)) / σ_min(I − W(0)) over the flow to t = 5 (the ratio, not
  min_t σ_min itself, which a start next to a singular A would win without the flow doing
  anything), −1 where the flow approaches a singular I − W (a counterexample).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import minimize

from deqverify.core.data import GaussianPopulation
from deqverify.core.errors import DEQError, InvalidInputError
from deqverify.core.population import PopulationRisk
from deqverify.core.vector_model import VectorDEQ
from deqverify.core.vector_params import VectorParams
from deqverify.theorems.base import Problem
from deqverify.theorems.registry import REGISTRY
from deqverify.theorems.spec import problem_to_spec

JFB_CONTRACTION = 0.9
INVERTIBLE_RADIUS2 = 2.0
INVERTIBLE_HORIZON = 5.0


def _jfb_problem(x: np.ndarray) -> Problem:
    M = x[:4].reshape(2, 2)
    norm = np.linalg.norm(M, 2)
    W = JFB_CONTRACTION * M / norm if norm > 0 else np.zeros((2, 2))
    params = VectorParams(W, x[4:6].reshape(2, 1), x[6:8], np.ones(2))
    return Problem(VectorDEQ(2, "tanh"), None, params.flat, X=x[8:10].reshape(2, 1),
                   cotangents=x[10:14].reshape(2, 2), label="JFB-NONLINEAR directed")


def _invertible_problem(x: np.ndarray) -> Problem:
    k, d = 2, 2
    A, U, b = x[:4].reshape(k, k), x[4:8].reshape(k, d), x[8:10]
    scale = math.sqrt(INVERTIBLE_RADIUS2 / max(float(np.sum(A * A) + np.sum(U * U) + b @ b), 1e-300))
    v = x[10:12] / max(float(np.linalg.norm(x[10:12])), 1e-300)
    params = VectorParams(np.eye(k) - scale * A, scale * U, scale * b, v)
    model = VectorDEQ(k, "identity")
    risk = PopulationRisk(model, GaussianPopulation(np.eye(d)), np.array([1.0, -0.5]))
    return Problem(model, risk, params.flat, t_max=INVERTIBLE_HORIZON, label="VEC-INVERTIBLE directed")


def _cosine(verdict) -> float:
    """cos(Γ, ∇_U); +inf where the solver found no root (a failed solve is not a counterexample)."""
    return float(verdict.constants.get("cosine", math.inf))


def _singular_value_ratio(verdict) -> float:
    return float(verdict.margin) if verdict.holds else -1.0


SEARCHES = {
    "JFB-NONLINEAR": (14, _jfb_problem, _cosine),
    "VEC-INVERTIBLE": (12, _invertible_problem, _singular_value_ratio),
}
"""theorem id → (dimension of the search vector, builder, objective from the verdict)."""


@dataclass
class SearchReport:
    theorem: str
    restarts: int
    evaluations: int = 0
    refused: int = 0
    empty: int = 0
    """Restarts where every evaluation was refused or infinite (nothing to keep)."""
    cpu_seconds: float = 0.0
    best: list = field(default_factory=list)
    """Per restart: (objective, problem, verdict) at the best point found."""

    @property
    def best_objective(self) -> float:
        return min((objective for objective, _, _ in self.best), default=math.inf)

    def examples(self) -> list:
        """The best problem of each restart as a record example {spec, verdict}."""
        return [{"spec": problem_to_spec(problem), "verdict": "held" if verdict.holds else "violated"}
                for _, problem, verdict in self.best]


def directed_search(theorem_id: str, restarts: int = 4, evaluations: int = 400, seed: int = 0) -> SearchReport:
    """Minimise the objective of ``theorem_id`` (a key of :data:`SEARCHES`) by Nelder–Mead from
    ``restarts`` seeded standard-normal starts, at most ``evaluations`` checks each."""
    if theorem_id not in SEARCHES:
        raise InvalidInputError(f"no directed search for {theorem_id!r}; searchable: {sorted(SEARCHES)}")
    if restarts < 1 or evaluations < 1:
        raise InvalidInputError(f"--restarts and --evaluations must be at least 1, got {restarts}, {evaluations}")
    dimension, build, objective = SEARCHES[theorem_id]
    theorem = REGISTRY[theorem_id]
    report = SearchReport(theorem_id, restarts)
    rng = np.random.default_rng(seed)
    start = time.process_time()
    for _ in range(restarts):
        best = [math.inf, None, None]

        def evaluate(x):
            report.evaluations += 1
            problem = build(np.asarray(x, dtype=float))
            try:
                verdict = theorem.check(problem)
            except DEQError:
                report.refused += 1
                return math.inf
            value = objective(verdict)
            if value < best[0]:
                best[:] = [value, problem, verdict]
            return value

        minimize(evaluate, rng.standard_normal(dimension), method="Nelder-Mead",
                 options={"maxfev": evaluations, "xatol": 1e-12, "fatol": 1e-14})
        if best[1] is None:
            report.empty += 1
        else:
            report.best.append(tuple(best))
    report.cpu_seconds = time.process_time() - start
    return report
