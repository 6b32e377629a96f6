"""``deqverify verify --certify``: the pointwise statements decided by proof on generated problems.

For each statement with a proof (:data:`deqverify.reference.proofs.CERTIFIABLE`: FP-1,
VEC-FP-1, LIN-ORTH, GD-RADIUS, VEC-ORTH, VEC-BAL, VEC-RADIUS, VEC-SCALE, PL, MON-LIP, SI-RSI), Hypothesis draws problems that satisfy every assumption
(the same strategies as ``verify``) and :func:`~deqverify.reference.proofs.decide_by_proof`
decides each one on *all* its samples: CERTIFIED (held, with a proof), VIOLATION (a proved
counterexample: the enclosure excludes the claim) or uncertified (the proof could not be
completed — a statement outside the proof's reach, such as a population risk, or a sample
whose box did not contract; never a false certificate). Trajectory statements other than
the one exact step of GD-RADIUS, VEC-RADIUS and VEC-SCALE are not proved: a flow's error is not enclosed.
"""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass

from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import seed as hypothesis_seed

from deqverify.core.errors import InvalidInputError
from deqverify.reference.proofs import CERTIFIABLE, Classification, decide_by_proof
from deqverify.theorems import REGISTRY
from deqverify.theorems.strategies import problems


@dataclass
class CertifiedOutcome:
    """Per statement: how many generated problems were proved to hold, proved violated, or
    left uncertified, and the widest enclosure radius among the proofs."""

    theorem: str
    statement: str
    problems: int = 0
    certified: int = 0
    violated: int = 0
    uncertified: int = 0
    widest_radius: float = 0.0
    seconds: float = 0.0
    violation: str = ""

    @property
    def passed(self) -> bool:
        return self.violated == 0

    def to_dict(self) -> dict:
        return asdict(self)


def certifiable(theorem_ids) -> list[str]:
    """The ids among ``theorem_ids`` that have a proof; a typed error if none has one."""
    chosen = [i for i in theorem_ids if i in CERTIFIABLE]
    if not chosen:
        raise InvalidInputError(f"--certify proves {list(CERTIFIABLE)}; none of {list(theorem_ids)} "
                                "has a proof (the others are checked in float64 by plain verify)")
    return chosen


def certify_statement(theorem_id: str, examples: int, seed: int) -> CertifiedOutcome:
    """Decide ``examples`` generated problems of ``theorem_id`` by proof."""
    outcome = CertifiedOutcome(theorem_id, REGISTRY[theorem_id].statement)
    start = time.perf_counter()

    @hypothesis_seed(seed)
    @settings(max_examples=examples, database=None, deadline=None, phases=[Phase.generate],
              suppress_health_check=list(HealthCheck))
    @given(problems(theorem_id))
    def run(problem):
        result = decide_by_proof(theorem_id, problem, rows=None)
        outcome.problems += 1
        if result is None:
            outcome.uncertified += 1
            return
        if not math.isnan(result.radius):
            outcome.widest_radius = max(outcome.widest_radius, result.radius)
        if result.classification is Classification.CERTIFIED:
            outcome.certified += 1
        else:
            outcome.violated += 1
            outcome.violation = outcome.violation or result.details

    run()
    outcome.seconds = time.perf_counter() - start
    return outcome
