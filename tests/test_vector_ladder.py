"""The precision ladder on the vector statements: a correct model's float64 result is classed
as rounding, a planted bug or a dropped assumption as a violation (each ladder must be able
to say "violation", else it proves nothing)."""

import numpy as np
import pytest
from hypothesis import HealthCheck, Phase, find, settings
from planted_vector_models import JacobianFree, ReadoutOffByOnePpm, with_model

from deqverify.core.risk import EmpiricalRisk
from deqverify.core.vector_params import split_flat
from deqverify.reference.ladder import Classification, classify
from deqverify.reference.proofs import CERTIFIABLE
from deqverify.theorems.strategies import problems

SEARCH = settings(database=None, derandomize=True, suppress_health_check=list(HealthCheck),
                  max_examples=60, phases=(Phase.generate,))  # any match will do: no shrinking


def _problem(theorem_id, violate=None, *, empirical=False):
    """A drawn problem with at least two neurons (one for VEC-REDUCE), feedback W ≠ 0 and a
    gradient non-zero in every trained part, so that no defect vanishes trivially;
    ``empirical``: an empirical risk (the planted models change the per-sample backward,
    not the population closed form)."""
    def rich(problem):
        if problem.model.width < 2 and theorem_id != "VEC-REDUCE":
            return False
        if empirical and not isinstance(problem.risk, EmpiricalRisk):
            return False
        gradient = split_flat(problem.risk.gradient(problem.theta0), problem.model.width,
                              problem.risk.dim)
        scale = max(np.abs(part).max() for part in gradient.values())
        trained = [name for name in gradient if name not in problem.model.frozen]
        W = split_flat(problem.theta0, problem.model.width, problem.risk.dim)["W"]
        return (np.abs(W).max() > 0.1  # W = 0 makes even a Jacobian-free backward exact
                and all(np.abs(gradient[name]).max() > 1e-3 * scale > 0 for name in trained))

    return find(problems(theorem_id, violate), rich, settings=SEARCH)


LADDERED = ("VEC-REDUCE", "VEC-FP-1", "VEC-FP-2", "VEC-ORTH", "VEC-CONS", "VEC-RADIUS",
            "VEC-SCALE", "VEC-BAL")


@pytest.mark.parametrize("theorem_id", LADDERED)
def test_a_correct_vector_model_is_classed_as_rounding(theorem_id):
    """Held in mpmath; with the [certify] extra the statements with a proof are decided by it."""
    result = classify(theorem_id, _problem(theorem_id))
    held = (Classification.ROUNDING, Classification.CERTIFIED) if theorem_id in CERTIFIABLE else (
        Classification.ROUNDING,)
    assert result.classification in held, result


@pytest.mark.parametrize("theorem_id, dropped", [
    ("VEC-REDUCE", "A-reduce"), ("VEC-ORTH", "A-linear"), ("VEC-CONS", "A-linear"),
    ("VEC-RADIUS", "A-linear"), ("VEC-SCALE", "A-free-readout"), ("VEC-BAL", "A-homogeneous"),
])
def test_a_dropped_symmetry_is_a_violation_in_mpmath(theorem_id, dropped):
    """Without its assumption the identity fails in exact arithmetic: the mpmath defect is
    stable across 30, 60 and 120 digits."""
    result = classify(theorem_id, _problem(theorem_id, dropped))
    assert result.classification is Classification.VIOLATION, result
    assert "off by" not in result.details  # the claim itself failed, not the float64 gradient


@pytest.mark.parametrize("theorem_id, model_class", [
    ("VEC-FP-2", JacobianFree), ("VEC-REDUCE", JacobianFree), ("VEC-CONS", JacobianFree),
    ("VEC-RADIUS", ReadoutOffByOnePpm), ("VEC-SCALE", ReadoutOffByOnePpm),
])
def test_a_wrong_float64_gradient_is_a_violation_though_the_claim_holds(theorem_id, model_class):
    """The exact defect holds (the twin's, or a proved enclosure's), but the implementation's
    gradient is off beyond rounding: an implementation error — said by the mpmath rung ("off
    by") or, for the identities with a proof and the [certify] extra, by the proof."""
    result = classify(theorem_id, with_model(_problem(theorem_id, empirical=True), model_class))
    assert result.classification is Classification.VIOLATION, result
    if result.kind == "proof":
        assert theorem_id in CERTIFIABLE and "implementation error" in result.details, result
    else:
        assert "off by" in result.details, result


def test_the_open_question_has_no_ladder():
    result = classify("VEC-INVERTIBLE", _problem("VEC-INVERTIBLE"))
    assert result.classification is Classification.INCONCLUSIVE
