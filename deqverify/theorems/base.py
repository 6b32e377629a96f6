"""A theorem is an object: statement, named assumptions, constants from a problem, a check.

Every check returns a :class:`Verdict` whose ``margin`` is the normalised slack of the
claim — (allowed − observed)/scale, ≥ 0 exactly when the claim held — so that Hypothesis can
``target()`` it and reports can rank the worst case.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from deqverify.core.dynamics import gradient_descent, gradient_flow
from deqverify.core.errors import InvalidInputError
from deqverify.core.validation import (
    _as_float_array,
    _require_finite,
    as_count,
    as_data,
    as_positive,
)

EPS = float(np.finfo(np.float64).eps)


def _finite_array(value, name: str, ndim: int) -> np.ndarray:
    array = _as_float_array(value, name)
    if array.ndim != ndim or array.size == 0:
        raise InvalidInputError(f"{name} must be a non-empty {ndim}-D array, got shape {array.shape}")
    _require_finite(array, name)
    return array


@dataclass
class Problem:
    """Everything a theorem needs: the implementation under test and the scenario.

    Attributes
    ----------
    model : DEQModel
        Forward solve and IFT Jacobian under test.
    risk : EmpiricalRisk | PopulationRisk
        ``value_and_gradient`` under test; carries ``xi`` (teacher) and its data.
    theta0 : ndarray (d+1,)
        Start of the dynamics, and the first point of pointwise statements.
    points : ndarray (k, d+1), optional
        More points for pointwise statements.
    X : ndarray (n, d), optional
        Inputs for fixed-point statements (FP-1, FP-2).
    step, steps : GD step η and number of steps; for MON-WP the forward–backward step α, for
        BWD-PHANTOM ``steps`` is the number k of phantom steps.
    t_max : gradient-flow horizon.
    cotangents : ndarray (n, k), optional
        ∂ℓ/∂z* per row of X, for the backward statements (BWD-PHANTOM, BWD-JFB).
    damping : float, optional
        The phantom gradient's damping τ (BWD-PHANTOM).
    descent, flow : the dynamics under test (defaults: deqverify's own).
    """

    model: object
    risk: object
    theta0: np.ndarray
    points: np.ndarray | None = None
    X: np.ndarray | None = None
    step: float | None = None
    steps: int = 0
    t_max: float | None = None
    ode_rtol: float = 1e-10
    ode_atol: float = 1e-12
    descent: Callable = gradient_descent
    flow: Callable = gradient_flow
    label: str = ""
    cotangents: np.ndarray | None = None
    damping: float | None = None

    def __post_init__(self):
        """Validate every field (typed errors): a NaN or a wrong type in a problem is a
        mistake in the problem, never a verdict about the theorem."""
        if (self.risk is not None and not hasattr(self.risk, "value_and_gradient")) \
                or not hasattr(self.model, "activation"):
            raise InvalidInputError(
                f"Problem needs a deqverify model and a risk with value_and_gradient, got "
                f"model={self.model!r}, risk={self.risk!r}")
        self.theta0 = _finite_array(self.theta0, "theta0", ndim=1)
        if self.points is not None:
            self.points = _finite_array(np.atleast_2d(self.points), "points", ndim=2)
            if self.points.shape[1] != self.theta0.size:
                raise InvalidInputError(f"points must have rows of length {self.theta0.size} "
                                        f"like theta0, got shape {self.points.shape}")
        if self.X is not None:
            self.X = as_data(self.X)
        if self.step is not None:
            self.step = as_positive(self.step, "step")
        self.steps = as_count(self.steps, "steps")
        if self.t_max is not None:
            self.t_max = as_positive(self.t_max, "t_max")
        if self.cotangents is not None:
            self.cotangents = _finite_array(self.cotangents, "cotangents", ndim=2)
            if self.X is None or self.cotangents.shape[0] != self.X.shape[0]:
                raise InvalidInputError(f"cotangents need one row per row of X, got shape "
                                        f"{self.cotangents.shape} for X of shape "
                                        f"{None if self.X is None else self.X.shape}")
        if self.damping is not None:
            self.damping = float(_finite_array([self.damping], "damping", ndim=1)[0])
        self.ode_rtol = as_positive(self.ode_rtol, "ode_rtol")
        self.ode_atol = as_positive(self.ode_atol, "ode_atol")

    @property
    def dim(self) -> int:
        return self.theta0.size - 1

    def all_points(self) -> np.ndarray:
        points = [self.theta0[None, :]]
        if self.points is not None:
            points.append(np.atleast_2d(self.points))
        return np.vstack(points)

    def describe(self) -> dict:
        """A JSON-friendly summary used in counterexample reports."""
        return {
            "label": self.label, "model": repr(self.model),
            "risk": type(self.risk).__name__, "theta0": self.theta0.tolist(),
            "step": self.step, "steps": self.steps, "t_max": self.t_max,
            "damping": self.damping,
        }


@dataclass
class Verdict:
    """Outcome of one theorem check on one problem."""

    holds: bool
    margin: float
    constants: dict = field(default_factory=dict)
    details: str = ""
    clauses: dict = field(default_factory=dict)
    """Margin of each clause of the statement, by the names in :attr:`Theorem.clauses`
    (≥ 0 exactly when that clause held); a statement with one claim has the clause "claim"."""

    def __post_init__(self):
        if not self.clauses:
            self.clauses = {"claim": _clause_margin(self.holds, self.margin)}

    def __bool__(self):
        return bool(self.holds)


def _clause_margin(held: bool, margin: float) -> float:
    """A failed clause's margin is negative even where its check reported 0 (or NaN)."""
    margin = float(margin)
    return margin if held else (margin if margin < 0 else -np.finfo(float).tiny)


def verdict_of(clauses: dict, constants: dict, details: str) -> Verdict:
    """The verdict of a statement with several clauses, ``{name: (held, margin)}``: it holds
    when every clause does, its margin is the smallest, and each clause's margin is kept (a
    failed clause is recorded with a negative margin, so a test can name the one that failed)."""
    margins = {name: _clause_margin(held, margin) for name, (held, margin) in clauses.items()}
    held = all(bool(held) for held, _ in clauses.values())
    return Verdict(held, min(margins.values()), constants, details, margins)


def one_sided(observed, allowed, scale=None) -> tuple[bool, float]:
    """Check observed ≤ allowed elementwise; margin = min (allowed − observed)/scale."""
    observed, allowed = np.broadcast_arrays(np.atleast_1d(np.asarray(observed, dtype=float)),
                                            np.asarray(allowed, dtype=float))
    if scale is None:
        scale = np.maximum(np.abs(allowed), np.finfo(float).tiny)
    with np.errstate(invalid="ignore"):
        slack = (allowed - observed) / scale
    # an infinite allowance admits every finite observation (inf/inf would read as NaN)
    slack = np.where(np.isposinf(allowed) & (observed < np.inf), np.inf, slack)
    slack = np.where(np.isnan(slack), -np.inf, slack)
    margin = float(slack.min()) if slack.size else np.inf
    return margin >= 0.0, margin


def finite_score(margin: float) -> float:
    """−margin clipped to a finite float, for ``hypothesis.target`` (which rejects ±inf/NaN)."""
    score = -float(margin)
    return 1e300 if score != score else float(np.clip(score, -1e300, 1e300))


class Theorem:
    """Base class: subclasses set ``id``, ``statement``, ``assumptions``, ``kind`` and
    implement :meth:`check` (and :meth:`constants` where the statement has constants)."""

    id: str = ""
    statement: str = ""
    assumptions: tuple[str, ...] = ()
    kind: str = "pointwise"  # or "trajectory"
    family: str = ""
    clauses: tuple[str, ...] = ("claim",)
    """The parts of the statement, each checked apart (a bound, a monotonicity, a sign, an
    identity): every verdict names each, and each has a planted violation that flips it."""
    open_question: bool = False
    """An open question (fuzzed, never asserted): ``verify`` and the properties skip it."""

    def constants(self, problem: Problem) -> dict:
        return {}

    def check(self, problem: Problem) -> Verdict:  # pragma: no cover - abstract
        raise NotImplementedError

    def __repr__(self):
        return f"<{self.id}: {self.statement}>"
