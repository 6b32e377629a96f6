"""Claims decided by proof (ball arithmetic, the [certify] extra) before the mpmath rungs.

* PL, MON-LIP and SI-RSI (inequalities; PL's and MON-LIP's constants from eigenvalues):
  both sides and the eigenvalues enclosed, and the implementation held to the proof's own
  objects first (its gradient within the gap of the enclosure, PL's risk the statement's, the
  roots within their stated bounds of the proved ones): else an implementation error or no
  proof (:mod:`deqverify.reference.proof_inequalities`); CERTIFIED when the
  slack's enclosure is ≥ 0 everywhere, VIOLATION when one is below 0.
* FP-1 / VEC-FP-1 (inequalities): CERTIFIED when every answer is within the claim's allowance
  of *every* point of a proved enclosure of its root; VIOLATION (with the enclosure) when one
  is beyond it from *every* point.
* LIN-ORTH and GD-RADIUS (scalar empirical risks and linear population risks), VEC-ORTH,
  VEC-BAL, VEC-RADIUS and VEC-SCALE (vector empirical risks) — identities: the exact defect
  at the float64 θ (:mod:`deqverify.reference.proof_defects`; the step statements for one
  exact step from θ₀) is enclosed from a proved enclosure of ∇R
  (:mod:`deqverify.certify.risk`, :mod:`deqverify.certify.vector_risk`).
  CERTIFIED when that enclosure holds 0 *and* the implementation's float64 gradient is
  within :data:`GRADIENT_GAP` (relative) of every point of the gradient's enclosure;
  VIOLATION when the defect's enclosure excludes 0, or the float64 gradient is beyond the
  gap from every point (an implementation error, proved).

Anything else — python-flint missing, a sample that cannot be certified, an enclosure
straddling the allowance, a statement without a proof here — is None: the mpmath rungs decide.
"""

from __future__ import annotations

import enum
import importlib.util
import math
from dataclasses import dataclass

import numpy as np

from deqverify.core.errors import DEQError
from deqverify.reference.proof_defects import SCALAR_IDENTITIES, VECTOR_IDENTITIES, scalar_defect, vector_defect
from deqverify.reference.proof_inequalities import (GRADIENT_GAP, implementation_gap, monotone_lipschitz,
                                                      polyak_lojasiewicz, restricted_secant)

INEQUALITIES = {"PL": polyak_lojasiewicz, "MON-LIP": monotone_lipschitz, "SI-RSI": restricted_secant}
CERTIFIABLE = ("FP-1", "VEC-FP-1", *SCALAR_IDENTITIES, *VECTOR_IDENTITIES, *INEQUALITIES)
CERTIFIED_ROWS = 6
"""Samples the ladder certifies (as many as the mpmath rungs rerun); ``rows=None`` takes all."""


class Classification(enum.Enum):
    CERTIFIED = "certified"
    ROUNDING = "rounding"
    VIOLATION = "violation"
    INCONCLUSIVE = "inconclusive"

    def __str__(self):
        return self.value


@dataclass
class LadderResult:
    classification: Classification
    defects: dict
    kind: str
    mp_margin: float
    details: str = ""
    radius: float = math.nan
    """A proof's widest enclosure radius (root or gradient component); NaN for the rungs."""

    def __str__(self):
        if self.kind == "proof":
            return f"{self.classification} (by proof, margin {self.mp_margin:.3g}) {self.details}"
        return (f"{self.classification} (mpmath {self.kind} defect by digits: "
                + ", ".join(f"{d}: {float(v):.3g}" for d, v in self.defects.items())
                + f"; mpmath margin {self.mp_margin:.3g}) {self.details}")


def decide_by_proof(theorem_id: str, problem, rows: int | None = CERTIFIED_ROWS) -> LadderResult | None:
    """The verdict on ``theorem_id`` at ``problem`` by proof, or None (see the module)."""
    if theorem_id not in CERTIFIABLE or importlib.util.find_spec("flint") is None:
        return None
    try:
        if theorem_id in ("FP-1", "VEC-FP-1"):
            return _fixed_point_claim(theorem_id, problem, rows)
        if theorem_id in INEQUALITIES:
            return _inequality_claim(theorem_id, problem)
        return _identity_claim(theorem_id, problem)
    except (DEQError, ValueError):
        return None  # no ball activation, or the float64 solve itself refused


def _fixed_point_claim(theorem_id, problem, rows):
    from deqverify import certify
    model, theta = problem.model, problem.theta0
    X = problem.X[:rows]
    if theorem_id == "FP-1":
        answers = model.fixed_point(theta, X).value
        boxes = [[e] for e in certify.fixed_point(theta, X, model.activation.name, answers)]
        answers, allowed = answers[:, None], [_fp1_allowance(model, theta, x, y) for x, y in zip(X, answers)]
    else:
        params = model.params(theta, problem.risk.dim)
        fp = model.fixed_point(params, X)
        boxes = certify.vector_fixed_point(params, X, model.activation.name, fp.value)
        answers, allowed = fp.value, fp.error_bound
    if not all(e.certified for box in boxes for e in box):
        return None
    radius = max(e.radius for box in boxes for e in box)
    slacks, proofs = [], []
    for z, box, bound in zip(answers, boxes, allowed):
        far = np.hypot.reduce([max(abs(v - e.low), abs(v - e.high)) for v, e in zip(z, box)])
        near = np.hypot.reduce([max(e.low - v, v - e.high, 0.0) for v, e in zip(z, box)])
        slacks.append((bound - far) / bound if bound > 0 else (0.0 if far == 0 else -math.inf))
        proofs.append((near, box))
    if min(slacks) >= 0:
        return LadderResult(Classification.CERTIFIED, {}, "proof", min(slacks),
                            f"every answer within its allowance of a certified enclosure (widest radius "
                            f"{radius:.2g})", radius)
    for (near, box), bound in zip(proofs, allowed):
        if near > bound:
            return LadderResult(Classification.VIOLATION, {}, "proof", (bound - near) / bound,
                                f"the certified enclosure {[(e.low, e.high) for e in box]} is {near:.3g} "
                                f"from the answer, beyond the allowance {bound:.3g}", radius)
    return None


def _fp1_allowance(model, theta, x, y) -> float:
    """FP-1's allowance max(1e-13, 8·eps·cond)·max(1, |y|) at a float64 answer."""
    slope = float(model.activation.df(np.array([x @ theta[:-1] + theta[-1] * y]))[0])
    cond = 1.0 / abs(1.0 - theta[-1] * slope)
    return max(1e-13, 8 * np.finfo(float).eps * cond) * max(1.0, abs(y))


def _risk_enclosure(risk):
    """θ ↦ the proved enclosure of ``risk`` (duck-typed, so a wrapper around a risk is decided
    too): an empirical risk of a built-in activation (scalar or vector), or a linear population
    risk (scalar; vector on a Gaussian law); else None."""
    from flint import arb

    from deqverify.certify.risk import empirical_risk, linear_population_risk
    from deqverify.certify.vector_risk import linear_vector_population_risk, vector_empirical_risk
    model = getattr(risk, "model", None)
    name = getattr(getattr(model, "activation", None), "name", None)
    if not isinstance(name, str):
        return None
    vector = hasattr(model, "width")
    if hasattr(risk, "X") and hasattr(risk, "targets"):
        if vector:
            return lambda theta: vector_empirical_risk(model, model.params(theta, risk.dim), risk.X, risk.targets)
        return lambda theta: empirical_risk(theta, risk.X, risk.targets, name)
    population = getattr(risk, "population", None)
    if vector:
        if name != "identity" or not hasattr(population, "Sigma"):
            return None
        return lambda theta: linear_vector_population_risk(model, model.params(theta, risk.dim), population.Sigma,
                                                           risk.xi)
    if name != "identity" or population is None:
        return None
    if hasattr(population, "low"):  # U[l, h]: E[x²] = (l² + lh + h²)/3, exactly as a ball
        low, high = arb(float(population.low)), arb(float(population.high))
        second_moment = [[(low * low + low * high + high * high) / 3]]
    else:
        second_moment = np.asarray(population.Sigma)
    return lambda theta: linear_population_risk(theta, second_moment, risk.xi)


def _identity_claim(theorem_id, problem):
    """LIN-ORTH, VEC-ORTH and VEC-BAL at every point of the problem; GD-RADIUS, VEC-RADIUS and
    VEC-SCALE for one exact step from θ₀."""
    from flint import ctx

    from deqverify.certify.scalar import PRECISION
    risk = problem.risk
    enclose = _risk_enclosure(risk)
    if enclose is None or (theorem_id in VECTOR_IDENTITIES) != hasattr(risk.model, "width"):
        return None
    pointwise = theorem_id in ("LIN-ORTH", "VEC-ORTH", "VEC-BAL")
    points = problem.all_points() if pointwise else [problem.theta0]

    def defects(theta, balls):
        if theorem_id in SCALAR_IDENTITIES:
            return scalar_defect(theorem_id, theta, balls, problem.step)
        return vector_defect(theorem_id, theta, balls, problem.step, risk.model.width, risk.dim)

    radius, worst, claims = 0.0, math.inf, []
    for theta in points:
        enclosure = enclose(theta)
        if not enclosure.certified:
            return None
        with ctx.workprec(PRECISION):
            balls = defects(theta, enclosure.balls()[1])
        implementation = risk.gradient(theta)
        radius = max(radius, enclosure.gradient_radius)
        for defect in balls:
            if not defect.contains(0):
                return LadderResult(Classification.VIOLATION, {}, "proof", -1.0,
                                    f"the exact defect's enclosure {defect.str(5)} excludes 0 at θ = {theta}", radius)
        reason = implementation_gap(enclosure, implementation)  # not finite, or beyond the gap
        if reason:
            return LadderResult(Classification.VIOLATION, {}, "proof", -math.inf,
                                f"{reason} at θ = {theta}: an implementation error", radius)
        _, far = enclosure.gradient_distance(implementation)
        allowed = max(GRADIENT_GAP * float(np.max(np.abs(enclosure.gradient))), np.finfo(float).tiny)
        worst = min(worst, (allowed - far) / allowed)
        claims.append(max(defect.rad() for defect in balls))
    if worst < 0:
        return None
    return LadderResult(Classification.CERTIFIED, {}, "proof", worst,
                        f"the exact defect's enclosure holds 0 (radius ≤ {float(max(claims)):.2g}) and the "
                        f"float64 gradient is within {GRADIENT_GAP:g} of a certified ∇R (widest radius "
                        f"{radius:.2g})", radius)


def _inequality_claim(theorem_id, problem):
    """PL or MON-LIP: both sides enclosed (:mod:`deqverify.reference.proof_inequalities`)."""
    from flint import ctx

    from deqverify.certify.scalar import PRECISION
    with ctx.workprec(PRECISION):
        outcome = INEQUALITIES[theorem_id](problem)
    if outcome is None or outcome[0] is None:
        return None
    proved, margin, details, radius = outcome
    return LadderResult(Classification.CERTIFIED if proved else Classification.VIOLATION, {}, "proof", margin,
                        details, radius)
