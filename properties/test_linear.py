"""Linear-DEQ theorems: LIN-ORTH, T3.1, GD-RADIUS, SPHERE-ID, L3.2, PL, T3.4, T3.3, PHI-FLOW,
T3.6, NEUMANN — population and empirical risks alike."""

from deqverify.theorems.checking import theorem_property

test_LIN_ORTH = theorem_property("LIN-ORTH")
test_T3_1 = theorem_property("T3.1")
test_GD_RADIUS = theorem_property("GD-RADIUS")
test_SPHERE_ID = theorem_property("SPHERE-ID")
test_L3_2 = theorem_property("L3.2")
test_PL = theorem_property("PL")
test_T3_4 = theorem_property("T3.4")
test_T3_3 = theorem_property("T3.3")
test_PHI_FLOW = theorem_property("PHI-FLOW")
test_T3_6 = theorem_property("T3.6")
test_NEUMANN = theorem_property("NEUMANN")


# Ablation expected to survive (docs/theorems.md): with a rank-deficient Σ the algebraic
# statements still hold. These draw the same problems with Σ rank-deficient.
from hypothesis import given, settings  # noqa: E402

from deqverify.strategies import FAMILIES  # noqa: E402
from deqverify.theorems.checking import assert_holds, examples_for  # noqa: E402


def _rank_deficient(theorem_id):
    @settings(max_examples=examples_for("pointwise" if theorem_id == "LIN-ORTH" else "trajectory"))
    @given(problem=FAMILIES["linear"](theorem_id, "A-data"))
    def run(problem):
        assert problem.risk.second_moment.shape[0] >= 2
        assert_holds(theorem_id, problem)

    run.hypothesis.inner_test._hypothesis_internal_add_digest = f"{theorem_id}|rank-deficient".encode()
    return run


test_LIN_ORTH_rank_deficient_sigma = _rank_deficient("LIN-ORTH")
test_T3_1_rank_deficient_sigma = _rank_deficient("T3.1")
test_GD_RADIUS_rank_deficient_sigma = _rank_deficient("GD-RADIUS")
