"""The precision ladder on MON-WP, MON-LIP, LINF-WP, BWD-PHANTOM and BWD-JFB: a generated
problem meeting every assumption is classed as rounding (the claim holds in mpmath), and a
planted slack — the dropped assumption that breaks the claim — as a violation, stable across
30, 60 and 120 digits (a ladder that cannot say "violation" proves nothing)."""

import pytest
from hypothesis import HealthCheck, Phase, find, settings

from deqverify.core.errors import DEQError
from deqverify.reference.ladder import Classification, classify
from deqverify.reference.proofs import CERTIFIABLE
from deqverify.theorems import REGISTRY
from deqverify.theorems.strategies import problems

SEARCH = settings(database=None, derandomize=True, suppress_health_check=list(HealthCheck),
                  max_examples=200, phases=(Phase.generate,))
STATEMENTS = ("MON-WP", "MON-LIP", "LINF-WP", "BWD-PHANTOM", "BWD-JFB")


@pytest.mark.parametrize("theorem_id", STATEMENTS)
def test_a_problem_meeting_every_assumption_is_classed_as_rounding(theorem_id):
    """Held in mpmath; with the [certify] extra the statements with a proof (MON-LIP) are
    decided by it instead."""
    problem = find(problems(theorem_id), lambda p: p.X.shape[0] >= 4, settings=SEARCH)
    held = (Classification.ROUNDING, Classification.CERTIFIED) if theorem_id in CERTIFIABLE else (
        Classification.ROUNDING,)
    assert classify(theorem_id, problem).classification in held


@pytest.mark.parametrize("theorem_id, dropped", [
    ("MON-WP", "A-splitting-step"), ("MON-WP", "A-monotone"), ("MON-LIP", "A-prox"),
    ("LINF-WP", "A-mu-inf"), ("LINF-WP", "A-slopes"), ("BWD-PHANTOM", "A-damping"),
    ("BWD-JFB", "A-contract"),
])
def test_a_planted_slack_is_a_violation_in_mpmath(theorem_id, dropped):
    """The float64 check fails beyond rounding (margin < −1e-9: not μ∞ = 1 to the last bit)
    and with an answer (margin ≥ −1: not a NaN) on a problem without ``dropped``; mpmath
    agrees at every rung."""
    def slack(problem):
        try:
            verdict = REGISTRY[theorem_id].check(problem)
        except DEQError:  # a typed refusal (I − W singular) is not a slack
            return False
        return -1 <= verdict.margin < -1e-9

    problem = find(problems(theorem_id, dropped), slack, settings=SEARCH)
    result = classify(theorem_id, problem)
    assert result.classification is Classification.VIOLATION, result
