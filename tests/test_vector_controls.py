"""Negative controls for the VEC-* checks: planted bugs in a vector DEQ (wrong backward,
wrong bound, wrong readout gradient) and dropped assumptions that must break the claims.
Each must be caught by the named statement on problems from the property strategies."""

import dataclasses

import pytest
from hypothesis import HealthCheck, Phase, find, settings
from planted_vector_models import (
    JacobianFree,
    OptimisticBound,
    ReadoutOffByOnePpm,
    TransposedAdjoint,
    with_model,
)

import deqverify as dv
from deqverify.theorems import REGISTRY
from deqverify.theorems.strategies import problems

SEARCH = settings(max_examples=60, deadline=None, database=None,
                  suppress_health_check=list(HealthCheck), derandomize=True,
                  phases=(Phase.explicit, Phase.generate))  # a catch is enough: no shrinking


def violated(theorem_id, violate=None, break_problem=lambda problem: problem):
    """True when some drawn problem (after ``break_problem``) fails the check."""
    def fails(problem):
        try:
            return not REGISTRY[theorem_id].check(break_problem(problem)).holds
        except dv.DEQError:
            return False

    try:
        find(problems(theorem_id, violate), fails, settings=SEARCH)
    except Exception as error:
        if type(error).__name__ == "NoSuchExample":
            return False
        raise
    return True


@pytest.mark.parametrize("model_class, theorem_id", [
    (JacobianFree, "VEC-FP-2"), (TransposedAdjoint, "VEC-FP-2"),
    (JacobianFree, "VEC-SCALE"), (OptimisticBound, "VEC-FP-1"),
    (ReadoutOffByOnePpm, "VEC-BAL"), (ReadoutOffByOnePpm, "VEC-SCALE"),
])
def test_a_planted_vector_bug_is_caught(model_class, theorem_id):
    assert violated(theorem_id, break_problem=lambda problem: with_model(problem, model_class))


@pytest.mark.parametrize("theorem_id, dropped", [
    ("VEC-ORTH", "A-linear"), ("VEC-BAL", "A-homogeneous"), ("VEC-CONS", "A-linear"),
    ("VEC-RADIUS", "A-linear"),
    ("VEC-SCALE", "A-free-readout"), ("VEC-REDUCE", "A-reduce"),
])
def test_dropping_the_symmetry_breaks_the_claim(theorem_id, dropped):
    """Negative controls of the fuzz matrix: smooth σ has neither symmetry, a frozen readout
    cannot follow (αv, αA), and b ≠ 0 or v ≠ 1 is not the scalar DEQ."""
    assert violated(theorem_id, dropped)


def test_orthogonality_is_blind_to_the_backward():
    """VEC-ORTH encodes the forward equation Az = Ux + b, not the adjoint: for any adjoint
    vectors wᵢ, Σ wᵢ(zᵢᵀAᵀ − xᵢᵀUᵀ − bᵀ) = 0. So a JFB backward passes it — the reason the
    battery also runs VEC-SCALE and VEC-FP-2 (documented in docs/theorems.md)."""
    assert not violated("VEC-ORTH", break_problem=lambda problem: with_model(problem, JacobianFree))


def test_correct_model_passes_the_same_searches():
    """The searches above find nothing on the correct model (else they prove nothing)."""
    for theorem_id in ("VEC-FP-1", "VEC-FP-2", "VEC-ORTH", "VEC-BAL"):
        assert not violated(theorem_id)


class TrustsAnyW(dv.VectorDEQ):
    """Skips the well-posedness test: non-contractive W and singular I − W are solved anyway."""

    def check_well_posed(self, params):
        return None


def test_a_model_that_accepts_ill_posed_W_fails_VEC_FP_3():
    assert violated("VEC-FP-3", break_problem=lambda problem: with_model(problem, TrustsAnyW))


def test_VEC_INVERTIBLE_reports_a_flow_that_reaches_a_singular_I_minus_W():
    """The open-question check can fail: a flow that stops at the singular set is a
    violation with margin −1 (planted through the problem's flow)."""
    def stops_at_the_singular_set(risk, theta0, t_max, **kwargs):
        run = dv.gradient_flow(risk, theta0, t_max, **kwargs)
        return dataclasses.replace(run, status=dv.RunStatus.SINGULAR_APPROACH)

    assert violated("VEC-INVERTIBLE", break_problem=lambda problem: dataclasses.replace(
        problem, flow=stops_at_the_singular_set))
